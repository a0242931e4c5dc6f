package schedule

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coordbot/coordbot/store"
)

const caseID = "JVNVU#12345678"

var (
	tokyo = func() *time.Location {
		loc, err := time.LoadLocation("Asia/Tokyo")
		if err != nil {
			panic(err)
		}
		return loc
	}()
	// t0 is the case start (起算日): 2027-01-10 09:00 JST = 00:00 UTC.
	t0  = time.Date(2027, 1, 10, 9, 0, 0, 0, tokyo)
	day = 24 * time.Hour
)

// at is t0 plus whole days and hours.
func at(days int, hours ...time.Duration) time.Time {
	t := t0.Add(time.Duration(days) * day)
	for _, h := range hours {
		t = t.Add(h)
	}
	return t
}

func month(n int) time.Time { return AddMonths(t0, n, tokyo) }

func newCase(state string) *store.Case {
	return &store.Case{ID: caseID, State: state, Start: t0, Target: t0.AddDate(0, 0, 45)}
}

func contact(addr string) store.Contact { return store.Contact{Addr: addr} }

func failing(addr string) store.Contact {
	return store.Contact{Addr: addr, Failing: true, FailingNote: "550 5.1.1 user unknown", FailingAt: t0.Add(time.Minute)}
}

// vendor is acme in the given participation state, overview sent at t0,
// one working contact, every contact tried.
func vendor(state string, mods ...func(*VendorState)) VendorState {
	vs := VendorState{
		Vendor: &store.Vendor{ID: "acme", Name: "ACME Corp", Registration: store.RegGeneral,
			Contacts: []store.Contact{contact("psirt@acme.example")}},
		Part:             &store.Participation{Case: caseID, Vendor: "acme", State: state, Added: t0, OverviewSent: t0},
		AllContactsTried: true,
	}
	if state == store.PartDetailSent {
		vs.Part.DetailSent = t0
		vs.Part.Status = store.StatusInfoProvided
	}
	for _, m := range mods {
		m(&vs)
	}
	return vs
}

func answered(t time.Time) func(*VendorState) { return func(vs *VendorState) { vs.AnsweredAt = t } }
func status(s string) func(*VendorState)      { return func(vs *VendorState) { vs.Part.Status = s } }
func contacts(cs ...store.Contact) func(*VendorState) {
	return func(vs *VendorState) { vs.Vendor.Contacts = cs }
}
func stage(n int, applied time.Time) func(*VendorState) {
	return func(vs *VendorState) {
		vs.Part.UnreachableStage = n
		vs.Part.State = store.PartUnreachable
		vs.StageAppliedAt = applied
	}
}

func scheduled(pub time.Time) func(*store.Case) {
	return func(c *store.Case) { c.State = store.CaseScheduled; c.Publication = pub }
}

// show renders an action for comparison: kind, key, due (JST).
func show(a Action) string {
	return a.Kind + " " + a.Key + " @" + a.Due.In(tokyo).Format("2006-01-02T15:04")
}

func keySet(keys ...string) func(string) bool {
	m := map[string]bool{}
	for _, k := range keys {
		m[k] = true
	}
	return func(k string) bool { return m[k] }
}

const (
	remindOverview1 = "remind/JVNVU#12345678/acme/overview/20270110T000000Z/1"
	remindDetail1   = "remind/JVNVU#12345678/acme/detail/20270110T000000Z/1"
	propose1        = "unreachable-propose/JVNVU#12345678/acme/stage-1"
)

func TestDue(t *testing.T) {
	pub := at(60, 1*time.Hour) // 2027-03-11 10:00 JST = 01:00 UTC
	pubStamp := "20270311T010000Z"
	tests := []struct {
		name    string
		caseMod func(*store.Case)
		caseSt  string // default active
		vendors []VendorState
		now     time.Time
		done    []string
		kind    string // compare only actions of this kind; "" = all
		want    []string
	}{
		// --- periodic reminders (DESIGN §5, §11) ---
		{name: "overview-sent: not yet 7 days", vendors: []VendorState{vendor(store.PartOverviewSent)},
			now: at(7).Add(-time.Second), kind: KindReminder},
		{name: "overview-sent: first reminder at 7 days", vendors: []VendorState{vendor(store.PartOverviewSent)},
			now: at(7), want: []string{"reminder " + remindOverview1 + " @2027-01-17T09:00"}},
		{name: "second reminder 14 days later", vendors: []VendorState{vendor(store.PartOverviewSent)},
			now: at(21, time.Hour), done: []string{remindOverview1}, kind: KindReminder,
			want: []string{"reminder remind/JVNVU#12345678/acme/overview/20270110T000000Z/2 @2027-01-31T09:00"}},
		{name: "first reminder done: nothing until the second", vendors: []VendorState{vendor(store.PartOverviewSent)},
			now: at(20), done: []string{remindOverview1}, kind: KindReminder},
		{name: "missed passes (daemon down 2 months): one reminder, the latest", vendors: []VendorState{vendor(store.PartOverviewSent)},
			now: at(60), done: []string{remindOverview1}, kind: KindReminder,
			want: []string{"reminder remind/JVNVU#12345678/acme/overview/20270110T000000Z/4 @2027-02-28T09:00"}},
		{name: "missed passes, none sent yet: still one", vendors: []VendorState{vendor(store.PartOverviewSent)},
			now: at(60), kind: KindReminder,
			want: []string{"reminder remind/JVNVU#12345678/acme/overview/20270110T000000Z/4 @2027-02-28T09:00"}},
		{name: "latest done: earlier missed ones are not sent", vendors: []VendorState{vendor(store.PartOverviewSent)},
			now: at(60), done: []string{"remind/JVNVU#12345678/acme/overview/20270110T000000Z/4"}, kind: KindReminder},
		{name: "an answer resets the clock", vendors: []VendorState{vendor(store.PartOverviewSent, answered(at(5)))},
			now: at(11), kind: KindReminder},
		{name: "an answer resets the clock: first reminder 7 days after it", vendors: []VendorState{vendor(store.PartOverviewSent, answered(at(5)))},
			now: at(12), done: []string{remindOverview1}, kind: KindReminder,
			want: []string{"reminder remind/JVNVU#12345678/acme/overview/20270115T000000Z/1 @2027-01-22T09:00"}},
		{name: "auto-reply does not reset (LastInbound is ignored, AnsweredAt zero)",
			vendors: []VendorState{vendor(store.PartOverviewSent, func(vs *VendorState) { vs.Part.LastInbound = at(5) })},
			now:     at(7), want: []string{"reminder " + remindOverview1 + " @2027-01-17T09:00"}},
		{name: "detail-sent, info-provided: owes a status", vendors: []VendorState{vendor(store.PartDetailSent)},
			now: at(7), want: []string{"reminder " + remindDetail1 + " @2027-01-17T09:00"}},
		{name: "detail-sent, no status: owes a status", vendors: []VendorState{vendor(store.PartDetailSent, status(""))},
			now: at(7), want: []string{"reminder " + remindDetail1 + " @2027-01-17T09:00"}},
		{name: "detail-sent, investigating reported: answered", vendors: []VendorState{vendor(store.PartDetailSent, status(store.StatusAffectedInvestigating))},
			now: at(30), kind: KindReminder},
		{name: "detail-sent, affected: answered", vendors: []VendorState{vendor(store.PartDetailSent, status(store.StatusAffected))},
			now: at(30), kind: KindReminder},
		{name: "detail-requested waits on the desk", vendors: []VendorState{vendor(store.PartDetailRequested, answered(at(1)))},
			now: at(30)},
		{name: "detail-held waits on the desk", vendors: []VendorState{vendor(store.PartDetailHeld, answered(at(1)))},
			now: at(30)},
		{name: "no-product answered", vendors: []VendorState{vendor(store.PartNoProduct, answered(at(1)))},
			now: at(30)},
		{name: "new: never notified", vendors: []VendorState{vendor(store.PartNew, func(vs *VendorState) { vs.Part.OverviewSent = time.Time{} })},
			now: at(200), kind: KindReminder},
		{name: "registration-requested: reminded on the same schedule (§2-3)",
			vendors: []VendorState{vendor(store.PartRegistrationRequested, func(vs *VendorState) {
				vs.Part.OverviewSent = time.Time{}
				vs.RegistrationRequestedAt = at(1)
			})},
			now: at(8), want: []string{"reminder remind/JVNVU#12345678/acme/registration/20270111T000000Z/1 @2027-01-18T09:00"}},
		{name: "registration-requested without the request time: from the later of start and added",
			vendors: []VendorState{vendor(store.PartRegistrationRequested, func(vs *VendorState) {
				vs.Part.OverviewSent = time.Time{}
				vs.Part.Added = at(2)
			})},
			now: at(9), want: []string{"reminder remind/JVNVU#12345678/acme/registration/20270112T000000Z/1 @2027-01-19T09:00"}},
		{name: "every contact failing: nobody to remind", vendors: []VendorState{vendor(store.PartOverviewSent, contacts(failing("psirt@acme.example")))},
			now: at(7), kind: KindReminder},
		{name: "public list only: never used (§2-3)", vendors: []VendorState{vendor(store.PartOverviewSent, contacts(store.Contact{Addr: "list@acme.example", Public: true}))},
			now: at(7), kind: KindReminder},
		{name: "one failing, one working: reminded", vendors: []VendorState{vendor(store.PartOverviewSent, contacts(failing("old@acme.example"), contact("new@acme.example")))},
			now: at(7), want: []string{"reminder " + remindOverview1 + " @2027-01-17T09:00"}},
		{name: "published: no periodic reminders", caseSt: store.CasePublished, vendors: []VendorState{vendor(store.PartOverviewSent)}, now: at(7)},
		{name: "closed", caseSt: store.CaseClosed, vendors: []VendorState{vendor(store.PartOverviewSent)}, now: at(400)},
		{name: "cancelled", caseSt: store.CaseCancelled, vendors: []VendorState{vendor(store.PartOverviewSent)}, now: at(400)},
		{name: "draft", caseSt: store.CaseDraft, vendors: []VendorState{vendor(store.PartOverviewSent)}, now: at(7)},
		{name: "unreachable stage applied: no reminders", vendors: []VendorState{vendor(store.PartOverviewSent, stage(1, month(3)))},
			now: month(3).Add(10 * day), kind: KindReminder},
		{name: "stage applied but state left as overview-sent: no reminders",
			vendors: []VendorState{vendor(store.PartOverviewSent, func(vs *VendorState) { vs.Part.UnreachableStage = 1; vs.StageAppliedAt = month(3) })},
			now:     month(3).Add(10 * day), kind: KindReminder},

		// --- before publication (§4-1) ---
		{name: "T-7d to a vendor investigating", caseMod: scheduled(pub),
			vendors: []VendorState{vendor(store.PartDetailSent, status(store.StatusNotAffectedInvestigating), answered(at(3)))},
			now:     pub.Add(-7 * day),
			want:    []string{"reminder-before-publication remind-before-publication/JVNVU#12345678/acme/" + pubStamp + "/t-7d @2027-03-04T10:00"}},
		{name: "T-7d and T-1d both missed: only T-1d", caseMod: scheduled(pub),
			vendors: []VendorState{vendor(store.PartDetailSent, status(store.StatusAffectedInvestigating), answered(at(3)))},
			now:     pub.Add(-day + time.Hour),
			want:    []string{"reminder-before-publication remind-before-publication/JVNVU#12345678/acme/" + pubStamp + "/t-1d @2027-03-10T10:00"}},
		{name: "T-1d done: the missed T-7d is not sent", caseMod: scheduled(pub),
			vendors: []VendorState{vendor(store.PartDetailSent, status(store.StatusAffectedInvestigating), answered(at(3)))},
			now:     pub.Add(-time.Hour), done: []string{"remind-before-publication/JVNVU#12345678/acme/" + pubStamp + "/t-1d"}},
		{name: "at publication: none", caseMod: scheduled(pub),
			vendors: []VendorState{vendor(store.PartDetailSent, status(store.StatusAffectedInvestigating), answered(at(3)))},
			now:     pub},
		{name: "final status (affected): none", caseMod: scheduled(pub),
			vendors: []VendorState{vendor(store.PartDetailSent, status(store.StatusAffected), answered(at(3)))},
			now:     pub.Add(-day)},
		{name: "final status (not-affected): none", caseMod: scheduled(pub),
			vendors: []VendorState{vendor(store.PartDetailSent, status(store.StatusNotAffected), answered(at(3)))},
			now:     pub.Add(-day)},
		{name: "case active with a date (not scheduled): none", caseMod: func(c *store.Case) { c.Publication = pub },
			vendors: []VendorState{vendor(store.PartDetailSent, status(store.StatusAffectedInvestigating), answered(at(3)))},
			now:     pub.Add(-day)},
		{name: "overview only: no detail, no before-publication reminder", caseMod: scheduled(pub),
			vendors: []VendorState{vendor(store.PartOverviewSent, answered(at(59)))},
			now:     pub.Add(-day)},
		{name: "detail sent after T-7d: no T-7d", caseMod: scheduled(pub),
			vendors: []VendorState{vendor(store.PartDetailSent, func(vs *VendorState) { vs.Part.DetailSent = pub.Add(-3 * day) }, answered(pub.Add(-3*day)))},
			now:     pub.Add(-2 * day)},
		{name: "detail sent after T-7d: T-1d", caseMod: scheduled(pub),
			vendors: []VendorState{vendor(store.PartDetailSent, func(vs *VendorState) { vs.Part.DetailSent = pub.Add(-3 * day) }, answered(pub.Add(-3*day)))},
			now:     pub.Add(-day),
			want:    []string{"reminder-before-publication remind-before-publication/JVNVU#12345678/acme/" + pubStamp + "/t-1d @2027-03-10T10:00"}},
		{name: "periodic and T-7d due together: one reminder, the T-7d", caseMod: scheduled(pub),
			vendors: []VendorState{vendor(store.PartDetailSent, answered(pub.Add(-7*day-7*day)))},
			now:     pub.Add(-7 * day),
			want:    []string{"reminder-before-publication remind-before-publication/JVNVU#12345678/acme/" + pubStamp + "/t-7d @2027-03-04T10:00"}},
		{name: "T-7d done: the periodic clock restarts from it", caseMod: scheduled(pub),
			vendors: []VendorState{vendor(store.PartDetailSent, answered(pub.Add(-7*day-7*day)))},
			now:     pub.Add(-7*day + time.Hour), done: []string{"remind-before-publication/JVNVU#12345678/acme/" + pubStamp + "/t-7d"}},
		{name: "moved date: its own T-7d", caseMod: scheduled(pub.Add(14 * day)),
			vendors: []VendorState{vendor(store.PartDetailSent, status(store.StatusAffectedInvestigating), answered(at(3)))},
			now:     pub.Add(7 * day), done: []string{"remind-before-publication/JVNVU#12345678/acme/" + pubStamp + "/t-7d"},
			want: []string{"reminder-before-publication remind-before-publication/JVNVU#12345678/acme/20270325T010000Z/t-7d @2027-03-18T10:00"}},
		{name: "vendor whose contacts all fail: none", caseMod: scheduled(pub),
			vendors: []VendorState{vendor(store.PartDetailSent, status(store.StatusAffectedInvestigating), answered(at(3)), contacts(failing("psirt@acme.example")))},
			now:     pub.Add(-day)},

		// --- unreachable (§2-3, §4-5, §7) ---
		{name: "no answer, not yet 3 months", vendors: []VendorState{vendor(store.PartOverviewSent)},
			now: month(3).Add(-time.Second), kind: KindUnreachableProposed},
		{name: "no answer for 3 calendar months, all tried: propose stage 1", vendors: []VendorState{vendor(store.PartOverviewSent)},
			now: month(3), kind: KindUnreachableProposed,
			want: []string{"unreachable-proposed " + propose1 + " @2027-04-10T09:00"}},
		{name: "proposal keeps its key later", vendors: []VendorState{vendor(store.PartOverviewSent)},
			now: month(4), kind: KindUnreachableProposed,
			want: []string{"unreachable-proposed " + propose1 + " @2027-04-10T09:00"}},
		{name: "proposed once", vendors: []VendorState{vendor(store.PartOverviewSent)},
			now: month(5), done: []string{propose1}, kind: KindUnreachableProposed},
		{name: "bounce counts as tried: failing-only vendor is proposed, not reminded",
			vendors: []VendorState{vendor(store.PartOverviewSent, contacts(failing("psirt@acme.example")))},
			now:     month(3),
			want:    []string{"unreachable-proposed " + propose1 + " @2027-04-10T09:00"}},
		{name: "not every contact tried: no proposal", vendors: []VendorState{vendor(store.PartOverviewSent, func(vs *VendorState) { vs.AllContactsTried = false })},
			now: month(6), kind: KindUnreachableProposed},
		{name: "answered once: never unreachable by the clock", vendors: []VendorState{vendor(store.PartOverviewSent, answered(at(80)))},
			now: month(6), kind: KindUnreachableProposed},
		{name: "auto-replies only: unreachable", vendors: []VendorState{vendor(store.PartOverviewSent, func(vs *VendorState) { vs.Part.LastInbound = at(1) })},
			now: month(3), kind: KindUnreachableProposed,
			want: []string{"unreachable-proposed " + propose1 + " @2027-04-10T09:00"}},
		{name: "registration-requested: 3 months from the request (§2-3)",
			vendors: []VendorState{vendor(store.PartRegistrationRequested, func(vs *VendorState) {
				vs.Part.OverviewSent = time.Time{}
				vs.RegistrationRequestedAt = t0
			})},
			now: month(3), kind: KindUnreachableProposed,
			want: []string{"unreachable-proposed " + propose1 + " @2027-04-10T09:00"}},
		{name: "detail sent straight away, never answered: unreachable", vendors: []VendorState{vendor(store.PartDetailSent)},
			now: month(3), kind: KindUnreachableProposed,
			want: []string{"unreachable-proposed " + propose1 + " @2027-04-10T09:00"}},
		{name: "detail-held waits on the desk: not unreachable", vendors: []VendorState{vendor(store.PartDetailHeld)},
			now: month(6)},
		{name: "vendor first notified a month after the start: its own 3 months",
			vendors: []VendorState{vendor(store.PartOverviewSent, func(vs *VendorState) { vs.Part.OverviewSent = month(1) })},
			now:     month(3).Add(day), kind: KindUnreachableProposed},
		{name: "vendor first notified a month after the start: proposed at 4 months",
			vendors: []VendorState{vendor(store.PartOverviewSent, func(vs *VendorState) { vs.Part.OverviewSent = month(1) })},
			now:     month(4), kind: KindUnreachableProposed,
			want: []string{"unreachable-proposed " + propose1 + " @2027-05-10T09:00"}},
		{name: "published case: no proposal", caseSt: store.CasePublished, vendors: []VendorState{vendor(store.PartOverviewSent)},
			now: month(4)},
		{name: "stage 1 applied: stage 2 not before 3 months", vendors: []VendorState{vendor(store.PartOverviewSent, stage(1, month(3).Add(day)))},
			now: AddMonths(month(3).Add(day), 3, tokyo).Add(-time.Second)},
		{name: "stage 1 applied: stage 2 due 3 months after (§7-1)", vendors: []VendorState{vendor(store.PartOverviewSent, stage(1, month(3).Add(day)))},
			now:  AddMonths(month(3).Add(day), 3, tokyo),
			want: []string{"unreachable-stage-due unreachable-propose/JVNVU#12345678/acme/stage-2 @2027-07-11T09:00"}},
		{name: "stage 2 applied: stage 3 (§7-2 deadline)", vendors: []VendorState{vendor(store.PartOverviewSent, stage(2, time.Date(2027, 7, 12, 9, 0, 0, 0, tokyo)))},
			now:  time.Date(2027, 10, 12, 9, 0, 0, 0, tokyo),
			want: []string{"unreachable-stage-due unreachable-propose/JVNVU#12345678/acme/stage-3 @2027-10-12T09:00"}},
		{name: "stage 3 applied: stage 4 (§7-2 committee)", vendors: []VendorState{vendor(store.PartOverviewSent, stage(3, time.Date(2027, 10, 13, 9, 0, 0, 0, tokyo)))},
			now: time.Date(2028, 1, 13, 9, 0, 0, 0, tokyo), kind: KindUnreachableStageDue,
			want: []string{"unreachable-stage-due unreachable-propose/JVNVU#12345678/acme/stage-4 @2028-01-13T09:00"}},
		{name: "stage 4 is the last", vendors: []VendorState{vendor(store.PartOverviewSent, stage(4, time.Date(2028, 1, 14, 9, 0, 0, 0, tokyo)))},
			now: time.Date(2029, 1, 1, 9, 0, 0, 0, tokyo), kind: KindUnreachableStageDue},
		{name: "stage applied time unknown: nominal (start + 3 + 3 months)", vendors: []VendorState{vendor(store.PartOverviewSent, stage(1, time.Time{}))},
			now:  month(6),
			want: []string{"unreachable-stage-due unreachable-propose/JVNVU#12345678/acme/stage-2 @2027-07-10T09:00"}},
		{name: "answer at stage 1 stops the track, coordinators told once",
			vendors: []VendorState{vendor(store.PartOverviewSent, stage(1, month(3)), answered(month(4)))},
			now:     month(7),
			want:    []string{"unreachable-answered unreachable-answered/JVNVU#12345678/acme/stage-1 @2027-05-10T09:00"}},
		{name: "answer at stage 1 told: nothing more",
			vendors: []VendorState{vendor(store.PartOverviewSent, stage(1, month(3)), answered(month(4)))},
			now:     month(9), done: []string{"unreachable-answered/JVNVU#12345678/acme/stage-1"}},
		{name: "answer before the stage was applied (coordinator advanced anyway): track goes on",
			vendors: []VendorState{vendor(store.PartOverviewSent, stage(1, month(3)), answered(at(20)))},
			now:     month(6),
			want:    []string{"unreachable-stage-due unreachable-propose/JVNVU#12345678/acme/stage-2 @2027-07-10T09:00"}},
		{name: "answer after stage 1 was proposed, not applied: told (stage 0)",
			vendors: []VendorState{vendor(store.PartOverviewSent, answered(month(3).Add(time.Hour)))},
			now:     month(3).Add(2 * time.Hour), done: []string{propose1}, kind: KindUnreachableAnswered,
			want: []string{"unreachable-answered unreachable-answered/JVNVU#12345678/acme/stage-0 @2027-04-10T10:00"}},
		{name: "answer, never proposed: nothing to tell",
			vendors: []VendorState{vendor(store.PartDetailRequested, answered(at(80)))},
			now:     month(4)},
		{name: "answer told at stage 2, desk reset the stage: not told again",
			vendors: []VendorState{vendor(store.PartDetailRequested, answered(month(8)))},
			now:     month(9), done: []string{propose1, "unreachable-answered/JVNVU#12345678/acme/stage-2"}},

		// --- one year (§4-5) ---
		{name: "11 months", now: month(11), want: []string{"eleven-months eleven-months/JVNVU#12345678 @2027-12-10T09:00"}},
		{name: "11 months done", now: month(11).Add(day), done: []string{"eleven-months/JVNVU#12345678"}},
		{name: "one year", now: month(12), done: []string{"eleven-months/JVNVU#12345678"},
			want: []string{"one-year one-year/JVNVU#12345678 @2028-01-10T09:00"}},
		{name: "outage over both: only the one-year", now: month(12).Add(day),
			want: []string{"one-year one-year/JVNVU#12345678 @2028-01-10T09:00"}},
		{name: "one year done", now: month(13), done: []string{"one-year/JVNVU#12345678"}},
		{name: "scheduled counts as unpublished", caseMod: scheduled(month(14)), now: month(12),
			want: []string{"one-year one-year/JVNVU#12345678 @2028-01-10T09:00"}},
		{name: "published: no one-year", caseSt: store.CasePublished, now: month(12)},
		{name: "cancelled: no one-year", caseSt: store.CaseCancelled, now: month(12)},
		{name: "no start: nothing", caseMod: func(c *store.Case) { c.Start = time.Time{} }, now: month(12)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tt.caseSt
			if st == "" {
				st = store.CaseActive
			}
			c := newCase(st)
			if tt.caseMod != nil {
				tt.caseMod(c)
			}
			got := []string{}
			for _, a := range Due(tt.now, DefaultPolicy(tokyo), c, tt.vendors, keySet(tt.done...)) {
				if tt.kind == "" || a.Kind == tt.kind {
					got = append(got, show(a))
				}
				if a.Reason == "" {
					t.Errorf("%s: empty reason", a.Key)
				}
			}
			want := tt.want
			if want == nil {
				want = []string{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}

// Stages and vendor fields the actions carry.
func TestActionFields(t *testing.T) {
	vs := vendor(store.PartOverviewSent, stage(2, time.Date(2027, 7, 12, 9, 0, 0, 0, tokyo)))
	got := Due(time.Date(2027, 10, 12, 9, 0, 0, 0, tokyo), DefaultPolicy(tokyo), newCase(store.CaseActive), []VendorState{vs}, nil)
	if len(got) != 1 || got[0].Vendor != "acme" || got[0].Stage != 3 || !strings.Contains(got[0].Reason, "§7-2") {
		t.Fatalf("%+v", got)
	}
	got = Due(month(12), DefaultPolicy(tokyo), newCase(store.CaseActive), nil, nil)
	if len(got) != 1 || got[0].Vendor != "" || got[0].Stage != 0 {
		t.Fatalf("%+v", got)
	}
}

// A key stays the same at every later instant until it is done.
func TestKeysStable(t *testing.T) {
	vs := []VendorState{vendor(store.PartOverviewSent)}
	c := newCase(store.CaseActive)
	k1 := Due(at(7), DefaultPolicy(tokyo), c, vs, nil)
	k2 := Due(at(7).Add(23*time.Hour), DefaultPolicy(tokyo), c, vs, nil)
	if len(k1) != 1 || len(k2) != 1 || k1[0].Key != k2[0].Key || !k1[0].Due.Equal(k2[0].Due) {
		t.Fatalf("%+v\n%+v", k1, k2)
	}
}

// Five vendors, every rule at once: the same instant twice with the keys
// recorded gives nothing; a crash after recording some keys gives exactly
// the rest.
func TestIdempotentPass(t *testing.T) {
	c := newCase(store.CaseScheduled)
	c.Publication = month(3).Add(5 * day)
	mk := func(id string, state string, mods ...func(*VendorState)) VendorState {
		vs := vendor(state, mods...)
		vs.Vendor.ID, vs.Part.Vendor = id, id
		return vs
	}
	vendors := []VendorState{
		mk("a", store.PartOverviewSent),
		mk("b", store.PartDetailSent, status(store.StatusAffectedInvestigating), answered(at(3))),
		mk("c", store.PartOverviewSent, contacts(failing("c@c.example"))),
		mk("d", store.PartDetailSent),
		mk("e", store.PartDetailRequested, answered(at(2))),
	}
	now := month(12) // long outage: everything at once
	c.Publication = now.Add(12 * time.Hour)
	recorded := map[string]bool{}
	done := func(k string) bool { return recorded[k] }

	first := Due(now, DefaultPolicy(tokyo), c, vendors, done)
	var kinds []string
	for _, a := range first {
		kinds = append(kinds, a.Kind+":"+a.Vendor)
	}
	wantKinds := []string{"unreachable-proposed:a", "unreachable-proposed:c", "unreachable-proposed:d",
		"reminder:a", "reminder-before-publication:b", "reminder-before-publication:d", "one-year:"}
	if !reflect.DeepEqual(kinds, wantKinds) {
		t.Fatalf("first pass %v\nwant %v", kinds, wantKinds)
	}
	// Crash after the first three were recorded.
	for _, a := range first[:3] {
		recorded[a.Key] = true
	}
	rest := Due(now, DefaultPolicy(tokyo), c, vendors, done)
	if !reflect.DeepEqual(rest, first[3:]) {
		t.Fatalf("after a crash\n%+v\nwant\n%+v", rest, first[3:])
	}
	for _, a := range rest {
		recorded[a.Key] = true
	}
	if again := Due(now, DefaultPolicy(tokyo), c, vendors, done); len(again) != 0 {
		t.Fatalf("second pass at the same instant: %+v", again)
	}
}

// Sorted by Due, then Key; a vendor listed twice counts once.
func TestOrder(t *testing.T) {
	a := vendor(store.PartOverviewSent)
	b := vendor(store.PartOverviewSent)
	b.Vendor.ID, b.Part.Vendor = "beta", "beta"
	z := vendor(store.PartOverviewSent, func(vs *VendorState) { vs.Part.OverviewSent = at(-1) })
	z.Vendor.ID, z.Part.Vendor = "zulu", "zulu"
	got := Due(at(7), DefaultPolicy(tokyo), newCase(store.CaseActive), []VendorState{b, a, z, a}, nil)
	var ids []string
	for _, x := range got {
		ids = append(ids, fmt.Sprintf("%s@%s", x.Vendor, x.Due.In(tokyo).Format("01-02")))
	}
	// zulu's overview predates the start: its clock runs from the notice
	// (01-09 + 7 days = 01-16), so it sorts first.
	if want := []string{"zulu@01-16", "acme@01-17", "beta@01-17"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("%v, want %v", ids, want)
	}
}

// Policy defaults (DESIGN §5, §9) and overrides.
func TestPolicy(t *testing.T) {
	p := DefaultPolicy(nil)
	if p.Location != time.UTC || p.FirstReminder != 168*time.Hour || p.ReminderEvery != 336*time.Hour ||
		p.UnreachableAfterMonths != 3 || p.StageMonths != 3 ||
		!reflect.DeepEqual(p.BeforePublication, []time.Duration{7 * 24 * time.Hour, 24 * time.Hour}) {
		t.Fatalf("%+v", p)
	}
	// Custom periods; an empty BeforePublication disables those reminders.
	pol := Policy{Location: tokyo, FirstReminder: 48 * time.Hour, ReminderEvery: 24 * time.Hour,
		UnreachableAfterMonths: 1, BeforePublication: []time.Duration{}}
	c := newCase(store.CaseScheduled)
	c.Publication = at(10)
	vs := []VendorState{vendor(store.PartDetailSent, status(store.StatusAffectedInvestigating), answered(at(1)))}
	if got := Due(at(9, 12*time.Hour), pol, c, vs, nil); len(got) != 0 {
		t.Fatalf("before-publication disabled: %+v", got)
	}
	vs = []VendorState{vendor(store.PartOverviewSent)}
	got := Due(month(1), pol, newCase(store.CaseActive), vs, nil)
	var s []string
	for _, a := range got {
		s = append(s, show(a))
	}
	want := []string{
		"reminder remind/JVNVU#12345678/acme/overview/20270110T000000Z/30 @2027-02-10T09:00",
		"unreachable-proposed " + propose1 + " @2027-02-10T09:00",
	}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("got %v\nwant %v", s, want)
	}
}
