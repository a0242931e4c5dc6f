package schedule

import (
	"fmt"
	"time"

	"github.com/coordbot/coordbot/store"
)

// StageDescription says what an unreachable stage does (§7, Figs. 3–6).
func StageDescription(stage int) string {
	switch stage {
	case 1:
		return "list the vendor name with a DID number on the unreachable developers list (§7-1, Fig. 3)"
	case 2:
		return "publish the product name and version (§7-1, Fig. 4)"
	case 3:
		return "append a contact deadline to the product information (§7-2, Fig. 5)"
	case 4:
		return "the disclosure committee may decide to publish with the vendor name (§7-2, Fig. 6)"
	}
	return ""
}

// firstAttempt is the vendor's 起算日 (§2-3: 連絡を開始した日): the first
// notice to that vendor on this case, never before the case start. For a
// vendor notified when the case started it is the case start; a vendor
// added later gets its own full UnreachableAfterMonths.
func firstAttempt(c *store.Case, vs VendorState) time.Time {
	p := vs.Part
	first := time.Time{}
	for _, t := range []time.Time{vs.RegistrationRequestedAt, p.OverviewSent, p.DetailSent} {
		if !t.IsZero() && (first.IsZero() || t.Before(first)) {
			first = t
		}
	}
	return later(c.Start, first)
}

// stageApplied is when the vendor's current stage was applied; see
// VendorState.StageAppliedAt for the fallback.
func stageApplied(pol Policy, c *store.Case, vs VendorState) time.Time {
	if !vs.StageAppliedAt.IsZero() {
		return vs.StageAppliedAt
	}
	months := pol.UnreachableAfterMonths + (vs.Part.UnreachableStage-1)*pol.StageMonths
	return AddMonths(firstAttempt(c, vs), months, pol.Location)
}

// trackRef is the instant since which an answer counts for the unreachable
// track: the first attempt before stage 1, then the instant the current
// stage was applied (a coordinator may advance a vendor that answered
// long ago; only a later answer stops the track).
func trackRef(pol Policy, c *store.Case, vs VendorState) time.Time {
	if vs.Part.UnreachableStage > 0 {
		return stageApplied(pol, c, vs)
	}
	return firstAttempt(c, vs)
}

func answeredSince(vs VendorState, ref time.Time) bool {
	return !vs.AnsweredAt.IsZero() && !vs.AnsweredAt.Before(ref)
}

func proposeKey(c *store.Case, vendor string, stage int) string {
	return fmt.Sprintf("unreachable-propose/%s/%s/stage-%d", c.ID, vendor, stage)
}

func answeredKey(c *store.Case, vendor string, stage int) string {
	return fmt.Sprintf("unreachable-answered/%s/%s/stage-%d", c.ID, vendor, stage)
}

// answeredTold: the coordinators were told of an answer at some stage.
func answeredTold(c *store.Case, vendor string, done func(string) bool) bool {
	for s := 0; s <= LastStage; s++ {
		if done(answeredKey(c, vendor, s)) {
			return true
		}
	}
	return false
}

// unreachable returns the §7 track's actions for one vendor: the proposal
// of the next stage when it is due, or, when the vendor answered while on
// the track, one notice to the coordinators.
func unreachable(now time.Time, pol Policy, c *store.Case, vs VendorState, done func(string) bool) []Action {
	p := vs.Part
	stage := p.UnreachableStage
	ref := trackRef(pol, c, vs)
	if answeredSince(vs, ref) {
		// An answer at any stage stops the track (§7-1: 連絡を呼びかけます).
		// The coordinators hear it once per stage; before stage 1 only if
		// it was already proposed.
		if stage == 0 && (!done(proposeKey(c, p.Vendor, 1)) || answeredTold(c, p.Vendor, done)) {
			// Never proposed, or told already at a stage the desk has
			// since reset.
			return nil
		}
		key := answeredKey(c, p.Vendor, stage)
		if done(key) {
			return nil
		}
		reason := fmt.Sprintf("vendor answered on %s while at unreachable stage %d: no further stage", dateIn(vs.AnsweredAt, pol.Location), stage)
		if stage == 0 {
			reason = fmt.Sprintf("vendor answered on %s after stage 1 was proposed: do not apply it", dateIn(vs.AnsweredAt, pol.Location))
		}
		return []Action{{Key: key, Kind: KindUnreachableAnswered, Vendor: p.Vendor, Stage: stage, Due: vs.AnsweredAt, Reason: reason}}
	}
	if !coordinating(c) || stage >= LastStage {
		return nil
	}
	if stage == 0 {
		return proposeFirstStage(now, pol, c, vs, ref, done)
	}
	// §7-1: about 3 months' grace after the name is listed, then the
	// product; §7-2: 3 more months, a contact deadline; 3 more, the
	// disclosure committee.
	due := AddMonths(ref, pol.StageMonths, pol.Location)
	key := proposeKey(c, p.Vendor, stage+1)
	if now.Before(due) || done(key) {
		return nil
	}
	return []Action{{
		Key: key, Kind: KindUnreachableStageDue, Vendor: p.Vendor, Stage: stage + 1, Due: due,
		Reason: fmt.Sprintf("no answer %d months after stage %d was applied on %s: propose stage %d: %s",
			pol.StageMonths, stage, dateIn(ref, pol.Location), stage+1, StageDescription(stage+1)),
	}}
}

// proposeFirstStage (§2-3, §4-5): no answer for UnreachableAfterMonths
// calendar months since the vendor's 起算日, though every contact address
// was tried (a bounce counts as tried) → "連絡がとれない": stage 1 is
// proposed. Only a vendor the desk is waiting on can be unreachable: one
// asked to register, sent the overview or sent the detail (or already put
// in the unreachable state). detail-requested, detail-held and no-product
// answered.
func proposeFirstStage(now time.Time, pol Policy, c *store.Case, vs VendorState, since time.Time, done func(string) bool) []Action {
	p := vs.Part
	switch p.State {
	case store.PartRegistrationRequested, store.PartOverviewSent, store.PartDetailSent, store.PartUnreachable:
	default:
		return nil
	}
	if !vs.AllContactsTried {
		return nil
	}
	due := AddMonths(since, pol.UnreachableAfterMonths, pol.Location)
	key := proposeKey(c, p.Vendor, 1)
	if now.Before(due) || done(key) {
		return nil
	}
	return []Action{{
		Key: key, Kind: KindUnreachableProposed, Vendor: p.Vendor, Stage: 1, Due: due,
		Reason: fmt.Sprintf("no answer %d months since %s, all contacts tried (§2-3, §4-5): propose stage 1: %s",
			pol.UnreachableAfterMonths, dateIn(since, pol.Location), StageDescription(1)),
	}}
}

// oneYear (§4-5): the reporter may ask to lift non-disclosure one year
// after the start (起算日). The coordinators hear it at 11 months (a month
// ahead) and at 12, once each, while the case is open and unpublished.
// After an outage spanning both, only the one-year notice is returned.
func oneYear(now time.Time, pol Policy, c *store.Case, done func(string) bool) []Action {
	if !coordinating(c) {
		return nil
	}
	year := AddMonths(c.Start, 12, pol.Location)
	if !now.Before(year) {
		key := "one-year/" + c.ID
		if done(key) {
			return nil
		}
		return []Action{{Key: key, Kind: KindOneYear, Due: year,
			Reason: fmt.Sprintf("one year since the start %s, unpublished: the reporter may ask to lift non-disclosure (§4-5)", dateIn(c.Start, pol.Location))}}
	}
	eleven := AddMonths(c.Start, 11, pol.Location)
	key := "eleven-months/" + c.ID
	if now.Before(eleven) || done(key) {
		return nil
	}
	return []Action{{Key: key, Kind: KindElevenMonths, Due: eleven,
		Reason: fmt.Sprintf("11 months since the start %s, unpublished: one year is reached on %s (§4-5)", dateIn(c.Start, pol.Location), dateIn(year, pol.Location))}}
}
