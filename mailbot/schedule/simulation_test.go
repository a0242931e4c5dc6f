package schedule

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coordbot/coordbot/store"
)

// The simulation drives Due over a fake clock through a year of one case
// with five vendors, the way the desk would: every action returned is
// recorded as done, a coordinator applies each proposed unreachable stage
// one day after it was proposed, and the vendors behave as follows.
//
//	a answers within days: asks for the detail on day 2, reports affected on day 5.
//	b answers late: asks for the detail on day 40, reports
//	  not-affected-investigating on day 60 (not a final status).
//	c's only address bounces at once (failing: counts as tried, gets no reminders).
//	d sends only auto-replies, to every notice (never an answer).
//	e never answers.
//
// The coordinators set the publication date on day 30 (2027-04-20 10:00,
// the case is scheduled) and, on the publication morning, postpone it to
// 2028-02-01 10:00 while the §7 track of c, d and e runs.

// simRow is one action as the desk saw it: the pass (JST) and what.
type simRow struct {
	Pass   string // "2006-01-02 15:04" JST
	Kind   string
	Vendor string
	Stage  int
}

func (r simRow) String() string {
	return fmt.Sprintf("{%q, %q, %q, %d}", r.Pass, r.Kind, r.Vendor, r.Stage)
}

type worldEvent struct {
	at    time.Time
	what  string
	apply func(w *world, at time.Time)
}

type world struct {
	c        *store.Case
	vendors  []*VendorState
	byID     map[string]*VendorState
	recorded map[string]bool
	events   []worldEvent
	log      []string // what the world did, for failure messages
}

func jst(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, tokyo)
}

func newWorld() *world {
	w := &world{
		c:        &store.Case{ID: caseID, Title: "five vendors", State: store.CaseActive, Created: t0},
		byID:     map[string]*VendorState{},
		recorded: map[string]bool{},
	}
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		vs := &VendorState{
			Vendor: &store.Vendor{ID: id, Name: strings.ToUpper(id) + " Corp", Registration: store.RegGeneral,
				Contacts: []store.Contact{contact("psirt@" + id + ".example")}, Lang: "ja"},
			Part: &store.Participation{Case: caseID, Vendor: id, State: store.PartNew, Added: t0},
		}
		w.vendors = append(w.vendors, vs)
		w.byID[id] = vs
	}
	// §2: the overview to all five at t0 (the start, 起算日). Every
	// registered address was sent to: all tried.
	w.c.Start, w.c.Target = t0, t0.AddDate(0, 0, 45)
	for _, vs := range w.vendors {
		vs.Part.State, vs.Part.OverviewSent = store.PartOverviewSent, t0
		vs.AllContactsTried = true
	}
	answer := func(id string, f func(p *store.Participation, at time.Time)) func(*world, time.Time) {
		return func(w *world, at time.Time) {
			vs := w.byID[id]
			vs.AnsweredAt, vs.Part.LastInbound = at, at
			f(vs.Part, at)
		}
	}
	yes := func(p *store.Participation, at time.Time) {
		// "yes" with auto_send_detail: the detail goes out at once.
		p.State, p.DetailSent, p.Status = store.PartDetailSent, at, store.StatusInfoProvided
	}
	report := func(s string) func(p *store.Participation, at time.Time) {
		return func(p *store.Participation, _ time.Time) { p.Status = s }
	}
	w.events = []worldEvent{
		{t0.Add(5 * time.Minute), "c bounces", func(w *world, at time.Time) {
			ct := &w.byID["c"].Vendor.Contacts[0]
			ct.Failing, ct.FailingNote, ct.FailingAt = true, "550 5.1.1 user unknown", at
		}},
		{t0.Add(10 * time.Minute), "d auto-replies", autoReply},
		{jst(2027, 1, 12, 10, 0), "a: yes", answer("a", yes)},
		{jst(2027, 1, 15, 10, 0), "a: affected", answer("a", report(store.StatusAffected))},
		{jst(2027, 2, 9, 10, 0), "date 2027-04-20 10:00", func(w *world, _ time.Time) {
			w.c.State, w.c.Publication = store.CaseScheduled, jst(2027, 4, 20, 10, 0)
		}},
		{jst(2027, 2, 19, 10, 0), "b: yes", answer("b", yes)},
		{jst(2027, 3, 11, 10, 0), "b: not-affected-investigating", answer("b", report(store.StatusNotAffectedInvestigating))},
		{jst(2027, 4, 20, 9, 30), "date postponed to 2028-02-01 10:00", func(w *world, _ time.Time) {
			w.c.Publication = jst(2028, 2, 1, 10, 0)
		}},
	}
	return w
}

// autoReply: d's out-of-office. A careless desk may touch LastInbound; it
// is not an answer, so AnsweredAt stays zero.
func autoReply(w *world, at time.Time) { w.byID["d"].Part.LastInbound = at }

// applyUntil applies every world event due by now, in time order.
func (w *world) applyUntil(now time.Time) {
	sort.SliceStable(w.events, func(i, j int) bool { return w.events[i].at.Before(w.events[j].at) })
	n := 0
	for n < len(w.events) && !w.events[n].at.After(now) {
		e := w.events[n]
		e.apply(w, e.at)
		w.log = append(w.log, e.at.In(tokyo).Format("2006-01-02 15:04")+" "+e.what)
		n++
	}
	w.events = w.events[n:]
}

func (w *world) states() []VendorState {
	out := make([]VendorState, len(w.vendors))
	for i, vs := range w.vendors {
		out[i] = *vs
	}
	return out
}

// deliver is the desk sending an action: d auto-replies to what it gets;
// a coordinator applies a proposed stage one day later.
func (w *world) deliver(now time.Time, a Action) {
	switch a.Kind {
	case KindReminder, KindBeforePublication:
		if a.Vendor == "d" {
			w.events = append(w.events, worldEvent{now.Add(10 * time.Minute), "d auto-replies", autoReply})
		}
	case KindUnreachableProposed, KindUnreachableStageDue:
		vendor, stage := a.Vendor, a.Stage
		w.events = append(w.events, worldEvent{now.Add(day), fmt.Sprintf("#coordbot unreachable %s advance (stage %d)", vendor, stage),
			func(w *world, at time.Time) {
				vs := w.byID[vendor]
				vs.Part.UnreachableStage, vs.Part.State, vs.StageAppliedAt = stage, store.PartUnreachable, at
				if vs.Part.DID == "" {
					vs.Part.DID = "DID#" + strings.ToUpper(vendor)
				}
			}})
	}
}

type simResult struct {
	rows   []simRow
	passes map[string][]Action // pass (JST) → actions of that pass
}

// run steps the clock from t0 to end (exclusive) by step, skipping passes
// inside [outFrom, outTo).
func (w *world) run(t *testing.T, step time.Duration, end, outFrom, outTo time.Time) simResult {
	t.Helper()
	pol := DefaultPolicy(tokyo)
	done := func(k string) bool { return w.recorded[k] }
	res := simResult{passes: map[string][]Action{}}
	for now := t0; now.Before(end); now = now.Add(step) {
		if !now.Before(outFrom) && now.Before(outTo) {
			continue // the daemon is down
		}
		w.applyUntil(now)
		acts := Due(now, pol, w.c, w.states(), done)
		pass := now.In(tokyo).Format("2006-01-02 15:04")
		reminded := map[string]int{}
		for _, a := range acts {
			if w.recorded[a.Key] {
				t.Fatalf("%s: %s returned again after it was done", pass, a.Key)
			}
			w.recorded[a.Key] = true
			res.rows = append(res.rows, simRow{pass, a.Kind, a.Vendor, a.Stage})
			if a.Kind == KindReminder || a.Kind == KindBeforePublication {
				reminded[a.Vendor]++
			}
			w.deliver(now, a)
		}
		for v, n := range reminded {
			if n > 1 {
				t.Fatalf("%s: %d reminders to %s in one pass: %+v", pass, n, v, acts)
			}
		}
		if len(acts) > 0 {
			res.passes[pass] = acts
		}
		// The same instant twice sends nothing twice.
		if again := Due(now, pol, w.c, w.states(), done); len(again) != 0 {
			t.Fatalf("%s: second pass at the same instant: %+v", pass, again)
		}
	}
	return res
}

// goldenHourly is every action of the hourly run, on its pass.
var goldenHourly = []simRow{
	// Reminders to the vendors that owe the overview answer (7 days, then
	// every 14). a answered on day 2 and reported on day 5: none. c's only
	// address fails: none.
	{"2027-01-17 09:00", "reminder", "b", 0},
	{"2027-01-17 09:00", "reminder", "d", 0},
	{"2027-01-17 09:00", "reminder", "e", 0},
	{"2027-01-31 09:00", "reminder", "b", 0},
	{"2027-01-31 09:00", "reminder", "d", 0},
	{"2027-01-31 09:00", "reminder", "e", 0},
	{"2027-02-14 09:00", "reminder", "b", 0},
	{"2027-02-14 09:00", "reminder", "d", 0},
	{"2027-02-14 09:00", "reminder", "e", 0},
	// b asked for the detail on 02-19 10:00: 7 days later it owes a status.
	{"2027-02-26 10:00", "reminder", "b", 0},
	{"2027-02-28 09:00", "reminder", "d", 0},
	{"2027-02-28 09:00", "reminder", "e", 0},
	// b reported on 03-11: no more periodic reminders to it.
	{"2027-03-14 09:00", "reminder", "d", 0},
	{"2027-03-14 09:00", "reminder", "e", 0},
	{"2027-03-28 09:00", "reminder", "d", 0},
	{"2027-03-28 09:00", "reminder", "e", 0},
	// §2-3, §4-5: three calendar months without an answer, all tried.
	{"2027-04-10 09:00", "unreachable-proposed", "c", 1},
	{"2027-04-10 09:00", "unreachable-proposed", "d", 1},
	{"2027-04-10 09:00", "unreachable-proposed", "e", 1},
	// Stage 1 applied 04-11 09:00, before that pass: d's and e's 04-11
	// reminder is not sent, nor any later one.
	// §4-1: b has the detail and no final status (publication 04-20 10:00).
	{"2027-04-13 10:00", "reminder-before-publication", "b", 0},
	{"2027-04-19 10:00", "reminder-before-publication", "b", 0},
	// §7-1: three months after stage 1 was applied (04-11), product published.
	{"2027-07-11 09:00", "unreachable-stage-due", "c", 2},
	{"2027-07-11 09:00", "unreachable-stage-due", "d", 2},
	{"2027-07-11 09:00", "unreachable-stage-due", "e", 2},
	// §7-2: contact deadline appended.
	{"2027-10-12 09:00", "unreachable-stage-due", "c", 3},
	{"2027-10-12 09:00", "unreachable-stage-due", "d", 3},
	{"2027-10-12 09:00", "unreachable-stage-due", "e", 3},
	// §4-5: 11 and 12 months from the start, unpublished.
	{"2027-12-10 09:00", "eleven-months", "", 0},
	{"2028-01-10 09:00", "one-year", "", 0},
	// §7-2: the disclosure committee may decide.
	{"2028-01-13 09:00", "unreachable-stage-due", "c", 4},
	{"2028-01-13 09:00", "unreachable-stage-due", "d", 4},
	{"2028-01-13 09:00", "unreachable-stage-due", "e", 4},
	// The postponed date (2028-02-01 10:00) gets its own T-7d and T-1d.
	{"2028-01-25 10:00", "reminder-before-publication", "b", 0},
	{"2028-01-31 10:00", "reminder-before-publication", "b", 0},
}

func TestSimulationYear(t *testing.T) {
	end := jst(2028, 2, 1, 0, 0)
	never := time.Time{}
	outFrom, outTo := jst(2027, 3, 31, 9, 0), jst(2027, 4, 20, 9, 0) // 20 days down
	tests := []struct {
		name           string
		step           time.Duration
		outFrom, outTo time.Time
		golden         []simRow
		// recovery is the first pass after the outage: what it must send.
		recovery []string
	}{
		{name: "hourly", step: time.Hour, outFrom: never, outTo: never, golden: goldenHourly},
		{name: "daily", step: day, outFrom: never, outTo: never},
		{name: "daily with a 20-day outage", step: day, outFrom: outFrom, outTo: outTo,
			// One reminder per vendor: d and e their latest periodic one,
			// b the T-1d only (T-7d was missed); the stage-1 proposals.
			recovery: []string{
				"unreachable-proposed c 1", "unreachable-proposed d 1", "unreachable-proposed e 1",
				"reminder d 0", "reminder e 0", "reminder-before-publication b 0",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld()
			res := w.run(t, tt.step, end, tt.outFrom, tt.outTo)
			rows := res.rows
			if tt.golden != nil && !reflect.DeepEqual(rows, tt.golden) {
				var b strings.Builder
				for _, r := range rows {
					b.WriteString("\t" + r.String() + ",\n")
				}
				t.Fatalf("actions differ from the golden table; got:\n%s\nworld:\n\t%s", b.String(), strings.Join(w.log, "\n\t"))
			}

			// Every key at most once (checked per pass in run), and every
			// case-level notice and stage exactly once per vendor.
			seen := map[string]int{}
			for _, r := range rows {
				if r.Kind != KindReminder && r.Kind != KindBeforePublication {
					seen[fmt.Sprintf("%s %s %d", r.Kind, r.Vendor, r.Stage)]++
				}
			}
			want := map[string]int{"eleven-months  0": 1, "one-year  0": 1}
			for _, v := range []string{"c", "d", "e"} {
				want["unreachable-proposed "+v+" 1"] = 1
				for s := 2; s <= LastStage; s++ {
					want[fmt.Sprintf("unreachable-stage-due %s %d", v, s)] = 1
				}
			}
			if !reflect.DeepEqual(seen, want) {
				t.Fatalf("notices and stages %v\nwant %v", seen, want)
			}

			// a and c are never reminded; d (auto-replies only) is treated
			// exactly as e (never answers).
			var d, e []string
			for _, r := range rows {
				switch r.Vendor {
				case "a", "c":
					if r.Kind == KindReminder || r.Kind == KindBeforePublication {
						t.Fatalf("reminder to %s: %+v", r.Vendor, r)
					}
				case "d":
					d = append(d, r.Pass+" "+r.Kind+fmt.Sprint(r.Stage))
				case "e":
					e = append(e, r.Pass+" "+r.Kind+fmt.Sprint(r.Stage))
				}
			}
			if !slices.Equal(d, e) {
				t.Fatalf("auto-replies counted as answers:\nd %v\ne %v", d, e)
			}
			// b: no periodic reminder after its status report of 03-11.
			for _, r := range rows {
				if r.Vendor == "b" && r.Kind == KindReminder && r.Pass > "2027-03-11" {
					t.Fatalf("periodic reminder to b after it reported: %+v", r)
				}
			}

			if tt.recovery != nil {
				pass := tt.outTo.In(tokyo).Format("2006-01-02 15:04")
				var got []string
				for _, a := range res.passes[pass] {
					got = append(got, fmt.Sprintf("%s %s %d", a.Kind, a.Vendor, a.Stage))
				}
				if !slices.Equal(got, tt.recovery) {
					t.Fatalf("recovery pass %s:\n%v\nwant\n%v", pass, got, tt.recovery)
				}
				// Nothing was sent during the outage.
				for _, r := range rows {
					if p := r.Pass; p >= tt.outFrom.In(tokyo).Format("2006-01-02 15:04") && p < pass {
						t.Fatalf("sent while down: %+v", r)
					}
				}
			}
		})
	}
}
