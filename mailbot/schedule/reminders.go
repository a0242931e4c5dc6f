package schedule

import (
	"fmt"
	"time"

	"github.com/coordbot/coordbot/store"
)

// Debt phases: what the vendor owes, part of the reminder key.
const (
	phaseRegistration = "registration"
	phaseOverview     = "overview"
	phaseDetail       = "detail"
)

// reminder returns the one reminder due to a vendor at now, if any: the
// before-publication reminder when one is due, else the periodic one. A
// vendor never gets two reminders in one pass.
func reminder(now time.Time, pol Policy, c *store.Case, vs VendorState, done func(string) bool) (Action, bool) {
	if !coordinating(c) || !reachable(vs.Vendor) || listedUnreachable(pol, c, vs) {
		return Action{}, false
	}
	if a, ok := beforePublication(now, pol, c, vs, done); ok {
		return a, true
	}
	return periodicReminder(now, pol, c, vs, done)
}

// reachable: the vendor has a contact a reminder can go to. §2-3: public
// lists and forums are never used; an address a bounce marked failing
// reaches nobody. A vendor whose every address fails gets no reminders
// (there is no one to remind), yet its addresses count as tried, so it
// still goes unreachable.
func reachable(v *store.Vendor) bool {
	if v == nil {
		return false
	}
	for _, ct := range v.Contacts {
		if !ct.Public && !ct.Failing {
			return true
		}
	}
	return false
}

// listedUnreachable: a vendor in the unreachable state, or with a stage
// applied and no answer since, is not reminded: the coordinators handle it
// through the §7 stages. Once it answers the desk moves it back and the
// reminders it then owes resume.
func listedUnreachable(pol Policy, c *store.Case, vs VendorState) bool {
	p := vs.Part
	if p.State == store.PartUnreachable {
		return true
	}
	return p.UnreachableStage > 0 && !answeredSince(vs, trackRef(pol, c, vs))
}

// owed tells what a vendor owes the desk (DESIGN §11: "reminders go only
// to vendors that owe an answer (overview or status)") and since when.
//
//   - registration-requested: the registration (§2-3: the 3-month clock
//     runs from the request, so it is reminded on the same schedule);
//   - overview-sent: the answer to the overview (§2-2);
//   - detail-sent: a status (§3-3, §6-2), until any status other than
//     info-provided, the default set when the detail is sent, was reported.
//
// detail-requested and detail-held wait on the desk; no-product answered;
// unreachable is handled by the coordinators: none owes anything.
func owed(c *store.Case, vs VendorState) (phase string, since time.Time) {
	p := vs.Part
	switch p.State {
	case store.PartRegistrationRequested:
		since = vs.RegistrationRequestedAt
		if since.IsZero() {
			since = later(c.Start, p.Added)
		}
		return phaseRegistration, since
	case store.PartOverviewSent:
		return phaseOverview, firstSet(p.OverviewSent, c.Start)
	case store.PartDetailSent:
		if p.Status != "" && p.Status != store.StatusInfoProvided {
			return "", time.Time{}
		}
		return phaseDetail, firstSet(p.DetailSent, p.OverviewSent, c.Start)
	}
	return "", time.Time{}
}

func firstSet(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// periodicReminder (DESIGN §5): FirstReminder after the notice that created
// the debt, then every ReminderEvery. A genuine answer after the notice
// restarts the clock, and so does a before-publication reminder already
// sent. Reminder n is due at base + FirstReminder + (n-1)*ReminderEvery;
// the key carries the base and n as computed at now, and only the latest
// due reminder is returned: after missed passes, one reminder, not a burst.
func periodicReminder(now time.Time, pol Policy, c *store.Case, vs VendorState, done func(string) bool) (Action, bool) {
	phase, base := owed(c, vs)
	if phase == "" || base.IsZero() {
		return Action{}, false
	}
	base = later(base, vs.AnsweredAt)
	if phase == phaseDetail {
		// A before-publication reminder counts as a reminder: the periodic
		// clock restarts from the instant it was due.
		for _, off := range pol.BeforePublication {
			if due := c.Publication.Add(-off); c.State == store.CaseScheduled && !c.Publication.IsZero() &&
				!due.After(now) && done(beforePublicationKey(c, vs.Part.Vendor, off)) {
				base = later(base, due)
			}
		}
	}
	first := base.Add(pol.FirstReminder)
	if now.Before(first) {
		return Action{}, false
	}
	n := 1 + int(now.Sub(first)/pol.ReminderEvery)
	due := first.Add(time.Duration(n-1) * pol.ReminderEvery)
	key := fmt.Sprintf("remind/%s/%s/%s/%s/%d", c.ID, vs.Part.Vendor, phase, stamp(base), n)
	if done(key) {
		return Action{}, false
	}
	what := map[string]string{
		phaseRegistration: "registration request (§2-3)",
		phaseOverview:     "overview (§2-2)",
		phaseDetail:       "status report (§3-3, §6-2)",
	}[phase]
	return Action{
		Key: key, Kind: KindReminder, Vendor: vs.Part.Vendor, Due: due,
		Reason: fmt.Sprintf("reminder %d: no answer to the %s since %s", n, what, dateIn(base, pol.Location)),
	}, true
}

// finalStatus: affected and not-affected are final (§6-2); the
// investigating ones, info-provided and none are not.
func finalStatus(s string) bool {
	return s == store.StatusAffected || s == store.StatusNotAffected
}

// beforePublication (§4-1, DESIGN §5): at each offset before the
// publication date of a scheduled case, a reminder to a vendor that has the
// detail and no final status. Only while now is before the publication;
// only offsets reached after the vendor got the detail; after missed passes
// only the latest due offset. The key names the publication instant and
// the offset, so a moved date gets its own reminders.
func beforePublication(now time.Time, pol Policy, c *store.Case, vs VendorState, done func(string) bool) (Action, bool) {
	p := vs.Part
	if c.State != store.CaseScheduled || c.Publication.IsZero() || !now.Before(c.Publication) ||
		p.State != store.PartDetailSent || finalStatus(p.Status) {
		return Action{}, false
	}
	var best time.Duration
	var bestDue time.Time
	for _, off := range pol.BeforePublication {
		due := c.Publication.Add(-off)
		if off <= 0 || due.After(now) || (!p.DetailSent.IsZero() && p.DetailSent.After(due)) {
			continue
		}
		if bestDue.IsZero() || due.After(bestDue) {
			best, bestDue = off, due
		}
	}
	if bestDue.IsZero() {
		return Action{}, false
	}
	key := beforePublicationKey(c, p.Vendor, best)
	if done(key) {
		return Action{}, false
	}
	status := p.Status
	if status == "" {
		status = "none"
	}
	return Action{
		Key: key, Kind: KindBeforePublication, Vendor: p.Vendor, Due: bestDue,
		Reason: fmt.Sprintf("publication %s is %s away; status %s is not final (§4-1)",
			c.Publication.In(pol.Location).Format("2006-01-02 15:04"), offsetLabel(best), status),
	}, true
}

func beforePublicationKey(c *store.Case, vendor string, off time.Duration) string {
	return fmt.Sprintf("remind-before-publication/%s/%s/%s/t-%s", c.ID, vendor, stamp(c.Publication), offsetLabel(off))
}

// offsetLabel: "7d", "1d", "36h", else Go's duration form.
func offsetLabel(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}
