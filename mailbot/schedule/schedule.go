package schedule

import (
	"cmp"
	"slices"
	"time"

	"github.com/coordbot/coordbot/store"
)

// Action kinds.
const (
	// KindReminder: the periodic reminder to a vendor that owes an answer.
	KindReminder = "reminder"
	// KindBeforePublication: the T-7d / T-1d reminder to a vendor with the
	// detail and no final status (§4-1).
	KindBeforePublication = "reminder-before-publication"
	// KindUnreachableProposed: stage 1 (the vendor is unreachable, list its
	// name with a DID number, §7-1) is proposed to the coordinators.
	KindUnreachableProposed = "unreachable-proposed"
	// KindUnreachableStageDue: stage 2, 3 or 4 is due and proposed to the
	// coordinators (§7-1, §7-2).
	KindUnreachableStageDue = "unreachable-stage-due"
	// KindUnreachableAnswered: a vendor on the unreachable track (a stage
	// proposed or applied) answered: the coordinators are told, once per
	// stage, and no further stage is proposed.
	KindUnreachableAnswered = "unreachable-answered"
	// KindElevenMonths: the case reached 11 months without publication: one
	// month before the reporter may ask to lift non-disclosure (§4-5).
	KindElevenMonths = "eleven-months"
	// KindOneYear: the case reached one year without publication (§4-5).
	KindOneYear = "one-year"
)

// LastStage is the last unreachable stage (§7-2: the disclosure committee
// may decide to publish with the vendor name).
const LastStage = 4

// Policy is the part of the configuration the scheduler needs ([policy],
// bot.timezone). Zero fields take the defaults of DESIGN §5.
type Policy struct {
	// Location is the zone calendar months are counted in (bot.timezone);
	// nil means UTC.
	Location *time.Location
	// FirstReminder (default 168h) after the notice that created the debt,
	// then every ReminderEvery (default 336h).
	FirstReminder, ReminderEvery time.Duration
	// UnreachableAfterMonths (default 3, §2-3, §4-5) and StageMonths
	// (default 3, §7-1, §7-2) are calendar months in Location.
	UnreachableAfterMonths, StageMonths int
	// BeforePublication are the offsets before the publication date at
	// which vendors without a final status are reminded. nil means the
	// default {7*24h, 24h}; an empty non-nil slice disables them.
	BeforePublication []time.Duration
}

// DefaultPolicy is the policy of DESIGN §5 with calendar months in loc.
func DefaultPolicy(loc *time.Location) Policy {
	return Policy{Location: loc}.normalized()
}

func (p Policy) normalized() Policy {
	if p.Location == nil {
		p.Location = time.UTC
	}
	if p.FirstReminder <= 0 {
		p.FirstReminder = 168 * time.Hour
	}
	if p.ReminderEvery <= 0 {
		p.ReminderEvery = 336 * time.Hour
	}
	if p.UnreachableAfterMonths <= 0 {
		p.UnreachableAfterMonths = 3
	}
	if p.StageMonths <= 0 {
		p.StageMonths = 3
	}
	if p.BeforePublication == nil {
		p.BeforePublication = []time.Duration{7 * 24 * time.Hour, 24 * time.Hour}
	}
	return p
}

// VendorState is one vendor's part in the case, with what the desk knows
// from the event trail and the inbound ledger.
type VendorState struct {
	Vendor *store.Vendor
	Part   *store.Participation
	// AnsweredAt is the last genuine answer of the vendor on this case:
	// an answer form, a status report, a registration, any mail the desk
	// applied as the vendor's. Auto-replies and bounces are NOT answers
	// (DESIGN §3). Zero: never answered. (Participation.LastInbound is not
	// used: a desk may touch it for other messages.)
	AnsweredAt time.Time
	// AllContactsTried: every registered contact address has been tried
	// (sent to, or bounced: a bounce counts as tried). §2-3: 有効なすべての
	// 方法により連絡を試みても.
	AllContactsTried bool
	// StageAppliedAt is when the coordinators applied Part.UnreachableStage
	// (the time of the latest "unreachable-stage" event). The next stage is
	// due StageMonths after it. Zero with a stage set: the stage is taken as
	// applied at its nominal time (first attempt + UnreachableAfterMonths +
	// (stage-1)*StageMonths), the earliest it could have been.
	StageAppliedAt time.Time
	// RegistrationRequestedAt is when the registration request was queued
	// (the "registration-requested" event; the Participation has no field
	// for it). Zero: the later of the case start and Part.Added, the
	// earliest the request can have been.
	RegistrationRequestedAt time.Time
}

// Action is one thing due. The desk sends it and records Key as done.
type Action struct {
	// Key is the stable idempotency key: the same due action has the same
	// key at any later instant until it is done.
	Key  string
	Kind string
	// Vendor is the vendor id; "" for case-level actions.
	Vendor string
	// Stage is the stage proposed (unreachable-proposed, unreachable-stage-due)
	// or the stage the vendor was at (unreachable-answered; 0 = stage 1 was
	// proposed, not applied).
	Stage int
	// Due is when the action became due.
	Due time.Time
	// Reason is short English for logs and events.
	Reason string
}

// Due returns the actions due at now for case c, sorted by Due then Key.
// done reports whether an action key is already recorded for the case (nil:
// nothing is). vendors are the case's participations; the order does not
// matter. Nothing is due on closed and cancelled cases.
func Due(now time.Time, pol Policy, c *store.Case, vendors []VendorState, done func(key string) bool) []Action {
	if c == nil || !caseOpen(c) {
		return nil
	}
	pol = pol.normalized()
	if done == nil {
		done = func(string) bool { return false }
	}
	var out []Action
	out = append(out, oneYear(now, pol, c, done)...)
	for _, vs := range vendors {
		if vs.Part == nil {
			continue
		}
		if a, ok := reminder(now, pol, c, vs, done); ok {
			out = append(out, a)
		}
		out = append(out, unreachable(now, pol, c, vs, done)...)
	}
	slices.SortFunc(out, func(a, b Action) int {
		if d := a.Due.Compare(b.Due); d != 0 {
			return d
		}
		return cmp.Compare(a.Key, b.Key)
	})
	// The same vendor listed twice yields the same keys: keep one.
	return slices.CompactFunc(out, func(a, b Action) bool { return a.Key == b.Key })
}

// caseOpen: closed and cancelled cases get nothing.
func caseOpen(c *store.Case) bool {
	return c.State != store.CaseClosed && c.State != store.CaseCancelled
}

// coordinating: the case is under coordination and unpublished (a start,
// not yet published). Reminders, stage proposals and the one-year notices
// are for such cases only.
func coordinating(c *store.Case) bool {
	return (c.State == store.CaseActive || c.State == store.CaseScheduled) && !c.Start.IsZero()
}

// stamp is the compact UTC form of an instant used in keys.
func stamp(t time.Time) string {
	return t.UTC().Format("20060102T150405Z")
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// dateIn formats an instant as a date in the policy's zone, for reasons.
func dateIn(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02")
}
