package desk

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/coordbot/coordbot/mailbot/notice"
	"github.com/coordbot/coordbot/mailbot/process"
	"github.com/coordbot/coordbot/mailbot/schedule"
	"github.com/coordbot/coordbot/store"
)

// Scheduler notice and event kinds.
const (
	KindReminder          = "reminder"
	KindUnreachableNotice = "unreachable"
	KindYearNotice        = "one-year"

	EvReminderSent        = "reminder-sent"
	EvUnreachableProposed = "unreachable-proposed"
	EvUnreachableStage    = "unreachable-stage"
	EvUnreachableAnswered = "unreachable-answered"
	EvOneYear             = "one-year"
)

func (d *Desk) schedulePolicy() schedule.Policy {
	p := schedule.DefaultPolicy(d.Cfg.Location())
	p.FirstReminder = d.Cfg.Policy.FirstReminder.Duration
	p.ReminderEvery = d.Cfg.Policy.ReminderEvery.Duration
	p.UnreachableAfterMonths = d.Cfg.Policy.UnreachableAfterMonths
	p.StageMonths = d.Cfg.Policy.StageMonths
	return p
}

// TickResult counts what one scheduler pass did.
type TickResult struct {
	Cases   int
	Actions int
}

// Tick runs one scheduler pass as of now (DESIGN §5). Each case is one
// transaction: its due actions, their notices, events and idempotency keys
// commit together, so a second pass at the same instant, or a pass after a
// crash in the middle of one, sends nothing twice.
func (d *Desk) Tick(now time.Time) (TickResult, error) {
	// One read-only look at every open case; a write transaction (and its
	// fsync) only for the cases with something due.
	var ids, due []string
	if err := d.Store.View(func(tx *store.Tx) error {
		ids = tx.CaseIDs(store.CaseActive, store.CaseScheduled, store.CasePublished)
		slices.Sort(ids)
		vendors := map[string]*store.Vendor{}
		for _, id := range ids {
			_, _, acts, err := d.dueActions(tx, now, id, vendors, false)
			if err != nil {
				return fmt.Errorf("tick %s: %w", id, err)
			}
			if len(acts) > 0 {
				due = append(due, id)
			}
		}
		return nil
	}); err != nil {
		return TickResult{}, err
	}
	res := TickResult{Cases: len(ids)}
	for _, id := range due {
		n, err := d.tickCase(now, id)
		if err != nil {
			return res, fmt.Errorf("tick %s: %w", id, err)
		}
		res.Actions += n
	}
	if res.Actions > 0 {
		d.queued()
	}
	d.pruneRecent(now)
	d.Health.Ticked(d.Now())
	d.Log.Info("scheduler pass", "now", now.Format(time.RFC3339), "cases", res.Cases, "actions", res.Actions)
	return res, nil
}

// pruneRecent drops, at most once an hour, the rate-limit index keys older
// than the limit's hour (with a margin): the index would otherwise grow
// with every notice ever sent.
func (d *Desk) pruneRecent(now time.Time) {
	d.pruneMu.Lock()
	defer d.pruneMu.Unlock()
	if !d.lastPrune.IsZero() && now.Sub(d.lastPrune) < time.Hour {
		return
	}
	d.lastPrune = now
	var n int
	if err := d.Store.Update(func(tx *store.Tx) (err error) {
		n, err = tx.PruneRecent(now.Add(-store.RecentWindow))
		return err
	}); err != nil {
		d.Log.Warn("pruning the rate-limit index failed", "err", err)
		return
	}
	if n > 0 {
		d.Log.Info("rate-limit index pruned", "keys", n)
	}
}

// dueActions reads a case and what the scheduler owes it as of now.
// vendors caches vendor records across the cases of one pass; full reads
// the whole case (texts and attachments), which only acting needs.
func (d *Desk) dueActions(tx *store.Tx, now time.Time, id string, vendors map[string]*store.Vendor, full bool) (*store.Case, []*store.Participation, []schedule.Action, error) {
	var c *store.Case
	var err error
	if full {
		c, err = tx.Case(id)
	} else {
		c, err = tx.CaseHead(id)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	parts, err := tx.Participations(id)
	if err != nil {
		return nil, nil, nil, err
	}
	var states []schedule.VendorState
	for _, p := range parts {
		v := vendors[p.Vendor]
		if v == nil {
			if v, err = tx.Vendor(p.Vendor); err != nil {
				return nil, nil, nil, err
			}
			vendors[p.Vendor] = v
		}
		states = append(states, schedule.VendorState{Vendor: v, Part: p, AnsweredAt: p.LastInbound,
			// Every notice goes to all of a vendor's usable contacts at once.
			AllContactsTried: p.State != store.PartNew,
			StageAppliedAt:   p.StageApplied, RegistrationRequestedAt: p.RegistrationRequested})
	}
	return c, parts, schedule.Due(now, d.schedulePolicy(), c, states, tx.Keyed), nil
}

// tickCase applies the due actions of one case in one transaction. The
// pass found some in a read-only look; they are computed again here, under
// the write lock, so what commits is what is due.
func (d *Desk) tickCase(now time.Time, id string) (int, error) {
	n := 0
	err := d.Store.Update(func(tx *store.Tx) error {
		n = 0
		c, parts, acts, err := d.dueActions(tx, now, id, map[string]*store.Vendor{}, true)
		if err != nil {
			return err
		}
		byVendor := map[string]*store.Participation{}
		for _, p := range parts {
			byVendor[p.Vendor] = p
		}
		var eff process.Effect
		for _, a := range acts {
			ev := store.Event{Time: now, Actor: "scheduler", Vendor: a.Vendor, Summary: a.Reason}
			fields := map[string]string{"vendor": a.Vendor, "stage": strconv.Itoa(a.Stage), "kind": a.Kind, "reason": a.Reason}
			switch a.Kind {
			case schedule.KindReminder, schedule.KindBeforePublication:
				ev.Kind = EvReminderSent
				p := byVendor[a.Vendor]
				p.RemindersSent++
				fields["state"] = p.State
				eff.Notices = append(eff.Notices, process.Notice{Kind: KindReminder, Case: id, Vendor: a.Vendor, Fields: fields})
			case schedule.KindUnreachableProposed, schedule.KindUnreachableStageDue:
				ev.Kind = EvUnreachableProposed
				eff.Notices = append(eff.Notices, process.Notice{Kind: KindUnreachableNotice, Case: id, ToCoordinators: true, Fields: fields})
			case schedule.KindUnreachableAnswered:
				ev.Kind = EvUnreachableAnswered
				eff.Notices = append(eff.Notices, process.Notice{Kind: KindUnreachableNotice, Case: id, ToCoordinators: true, Fields: fields})
			case schedule.KindElevenMonths, schedule.KindOneYear:
				ev.Kind = EvOneYear
				eff.Notices = append(eff.Notices, process.Notice{Kind: KindYearNotice, Case: id, ToCoordinators: true, Fields: fields})
			default:
				continue
			}
			eff.Events = append(eff.Events, ev)
			if err := tx.PutKeyed(a.Key, now); err != nil {
				return err
			}
			n++
		}
		if n == 0 {
			return nil
		}
		for _, p := range parts {
			if err := tx.PutParticipation(p); err != nil {
				return err
			}
		}
		return d.apply(tx, now, c, eff)
	})
	return n, err
}

// AdvanceUnreachable applies the next unreachable stage to a vendor (§7);
// only a coordinator does this. Stage 1 gives the vendor a DID number.
func (d *Desk) AdvanceUnreachable(caseID, vendorID string, products ...string) (int, error) {
	stage := 0
	err := d.cli("unreachable", caseID, func(o *Op) (err error) {
		stage, err = o.AdvanceUnreachable(caseID, vendorID, products...)
		return
	})
	return stage, err
}

// AdvanceUnreachable applies the next unreachable stage.
func (o *Op) AdvanceUnreachable(caseID, vendorID string, products ...string) (int, error) {
	stage := 0
	err := o.caseRule(caseID, func(tx *store.Tx, now time.Time, c *store.Case, parts []*store.Participation) (process.Effect, error) {
		var eff process.Effect
		for _, p := range parts {
			if p.Vendor != vendorID {
				continue
			}
			if p.UnreachableStage >= schedule.LastStage {
				return eff, fmt.Errorf("vendor %s is at the last stage (%d)", vendorID, p.UnreachableStage)
			}
			p.UnreachableStage++
			p.StageApplied = now
			stage = p.UnreachableStage
			if len(products) > 0 {
				p.Products = products
			}
			if stage == 1 {
				p.State = store.PartUnreachable
				if p.DID == "" {
					// §7-1: the list entry's inquiry number.
					n, err := tx.NextNumber("did")
					if err != nil {
						return eff, err
					}
					p.DID = fmt.Sprintf("DID#%s%04d", now.In(o.d.Cfg.Location()).Format("2006"), n)
				}
			}
			eff.Events = append(eff.Events, store.Event{Time: now, Actor: o.actor, Kind: EvUnreachableStage, Vendor: vendorID,
				Summary: fmt.Sprintf("stage %d: %s", stage, schedule.StageDescription(stage))})
			return eff, nil
		}
		return eff, fmt.Errorf("vendor %s on case %s: %w", vendorID, caseID, store.ErrNotFound)
	})
	return stage, err
}

// schedFields fills the template data of a scheduler notice: the stage in
// words and the exact command lines that apply it (DESIGN §11).
func schedFields(data *notice.Data, n process.Notice) {
	kind, vendor := n.Fields["kind"], n.Fields["vendor"]
	data.VendorID = vendor
	data.Before = kind == schedule.KindBeforePublication
	switch kind {
	case schedule.KindElevenMonths:
		data.Months = "11"
	case schedule.KindOneYear:
		data.Months = "12"
	case schedule.KindUnreachableProposed, schedule.KindUnreachableStageDue:
		st, _ := strconv.Atoi(n.Fields["stage"])
		data.StageText = schedule.StageDescription(st)
		data.Commands = []string{
			"coordbot case unreachable " + n.Case + " " + vendor + " advance",
			"#coordbot case " + n.Case,
			"#coordbot unreachable " + vendor + " advance",
		}
	}
}
