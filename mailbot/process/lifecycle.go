package process

import (
	"errors"
	"fmt"
	"time"

	"github.com/coordbot/coordbot/store"
)

// More notice and event kinds.
const (
	KindRegistration   = "registration"
	KindDate           = "date"
	KindPublication    = "publication"
	KindCancellation   = "cancellation"
	KindPriority       = "priority"
	KindCoordinatorFYI = "coordinator-note"

	EvRegistrationRequested = "registration-requested"
	EvRegistered            = "registered"
	EvPublished             = "published"
	EvCancelled             = "cancelled"
	EvClosed                = "closed"
	EvPriorityNotified      = "priority-notified"
	EvCustomerNoticeOK      = "customer-notice-approved"
	EvLeadSet               = "lead-set"
)

// More refusals.
var (
	ErrLeadSetsDate   = errors.New("a case led by a foreign coordinator takes its date from the coordinators only (§4-6)")
	ErrDateInPast     = errors.New("the publication date is in the past")
	ErrBadState       = errors.New("not allowed in the case's state")
	ErrNoImpactSingle = errors.New("cancelling for no impact is for single-vendor cases only (§4-2)")
	ErrBadReason      = errors.New("reason is not one of known, no-impact, users-notified")
)

// informed tells whether a vendor has heard of the case (and so must hear
// of its end): anything past the registration request.
func informed(p *store.Participation) bool {
	switch p.State {
	case store.PartOverviewSent, store.PartDetailRequested, store.PartDetailHeld, store.PartDetailSent, store.PartNoProduct:
		return true
	}
	return false
}

// RequestRegistration asks an unregistered vendor to register (§2-3).
// Nothing about the case beyond the request reaches it until it does.
func RequestRegistration(now time.Time, pol Policy, c *store.Case, v *store.Vendor, p *store.Participation, actor string) (Effect, error) {
	var eff Effect
	switch {
	case !Open(c):
		return eff, fmt.Errorf("registration request to %s: %w", v.ID, ErrCaseClosed)
	case v.Registration != store.RegPending:
		return eff, fmt.Errorf("registration request to %s: already registered: %w", v.ID, ErrBadState)
	case p.State != store.PartNew:
		return eff, fmt.Errorf("registration request to %s (%s): %w", v.ID, p.State, ErrAlreadySent)
	case len(usableContacts(v)) == 0:
		return eff, fmt.Errorf("registration request to %s: %w", v.ID, ErrNoContact)
	}
	p.State = store.PartRegistrationRequested
	p.RegistrationRequested = now
	// The request is the first notice to this vendor: the start (起算日) and
	// so the three months of §2-3 run from it.
	start(now, pol, c)
	c.Updated = now
	eff.event(now, actor, EvRegistrationRequested, v.ID, "", "registration requested", false)
	eff.Notices = append(eff.Notices, Notice{Kind: KindRegistration, Case: c.ID, Vendor: v.ID})
	return eff, nil
}

// Registered completes an individual registration by mail (§1-1, §2-3)
// and releases what was held: the overview of every case waiting for it.
// The effects are per case, in the order of waiting.
func Registered(now time.Time, pol Policy, v *store.Vendor, manager string, waiting []*store.Case, parts []*store.Participation, in Inbound) ([]Effect, error) {
	if v.Registration != store.RegPending {
		return nil, fmt.Errorf("registration of %s: already registered: %w", v.ID, ErrBadState)
	}
	v.Registration = store.RegIndividual
	if manager != "" {
		v.Manager = manager
	}
	v.Updated = now
	effs := make([]Effect, len(waiting))
	for i, c := range waiting {
		p := parts[i]
		if p.State != store.PartRegistrationRequested || !Open(c) {
			continue
		}
		effs[i].event(now, v.ID, EvRegistered, v.ID, in.MessageID, "registered as individual", in.Authenticated)
		p.State = store.PartNew
		p.LastInbound = now
		more, err := NotifyOverview(now, pol, c, v, p, ActorRobot)
		if err != nil {
			return nil, err
		}
		effs[i].Events = append(effs[i].Events, more.Events...)
		effs[i].Notices = append(effs[i].Notices, more.Notices...)
	}
	return effs, nil
}

// SetDate sets or moves the publication date (§4-1, §8-5) and tells every
// vendor that has the detail; the date itself is confidential (§8-1).
func SetDate(now time.Time, c *store.Case, when time.Time, parts []*store.Participation, actor string, coordinator bool) (Effect, error) {
	var eff Effect
	switch {
	case !Open(c) || c.State == store.CasePublished:
		return eff, fmt.Errorf("date of %s (%s): %w", c.ID, c.State, ErrBadState)
	case c.Lead != "" && !coordinator:
		return eff, ErrLeadSetsDate
	case !when.After(now):
		return eff, fmt.Errorf("date %s: %w", when.Format(time.RFC3339), ErrDateInPast)
	}
	moved := !c.Publication.IsZero()
	c.Publication = when
	c.State = store.CaseScheduled
	c.Updated = now
	summary := "publication date set"
	if moved {
		summary = "publication date moved"
	}
	eff.event(now, actor, EvDateSet, "", "", summary, false)
	for _, p := range parts {
		if p.State == store.PartDetailSent {
			eff.Notices = append(eff.Notices, Notice{Kind: KindDate, Case: c.ID, Vendor: p.Vendor})
		}
	}
	return eff, nil
}

// SetLead records a foreign coordinator leading the case (§4-6).
func SetLead(now time.Time, c *store.Case, lead, actor string) (Effect, error) {
	var eff Effect
	if !Open(c) {
		return eff, ErrCaseClosed
	}
	c.Lead = lead
	c.Updated = now
	eff.event(now, actor, EvLeadSet, "", "", "lead: "+lead, false)
	return eff, nil
}

// Publish marks the case published (§6-4) and tells every vendor that
// heard of it.
func Publish(now time.Time, c *store.Case, parts []*store.Participation, actor string) (Effect, error) {
	var eff Effect
	if c.State != store.CaseActive && c.State != store.CaseScheduled {
		return eff, fmt.Errorf("publish %s (%s): %w", c.ID, c.State, ErrBadState)
	}
	c.State = store.CasePublished
	if c.Publication.IsZero() || c.Publication.After(now) {
		c.Publication = now
	}
	c.Updated = now
	eff.event(now, actor, EvPublished, "", "", "published", false)
	for _, p := range parts {
		if informed(p) {
			eff.Notices = append(eff.Notices, Notice{Kind: KindPublication, Case: c.ID, Vendor: p.Vendor})
		}
	}
	return eff, nil
}

// Cancel ends a case without publication (§4-2).
func Cancel(now time.Time, c *store.Case, reason string, parts []*store.Participation, actor string) (Effect, error) {
	var eff Effect
	switch reason {
	case "known", "no-impact", "users-notified":
	default:
		return eff, ErrBadReason
	}
	if !Open(c) || c.State == store.CasePublished {
		return eff, fmt.Errorf("cancel %s (%s): %w", c.ID, c.State, ErrBadState)
	}
	if reason == "no-impact" && len(parts) > 1 {
		return eff, ErrNoImpactSingle
	}
	c.State = store.CaseCancelled
	c.CancelReason = reason
	c.Updated = now
	eff.event(now, actor, EvCancelled, "", "", "cancelled: "+reason, false)
	for _, p := range parts {
		if informed(p) {
			eff.Notices = append(eff.Notices, Notice{Kind: KindCancellation, Case: c.ID, Vendor: p.Vendor, Fields: map[string]string{"reason": reason}})
		}
	}
	return eff, nil
}

// Close files a published or cancelled case away.
func Close(now time.Time, c *store.Case, actor string) (Effect, error) {
	var eff Effect
	if c.State != store.CasePublished && c.State != store.CaseCancelled {
		return eff, fmt.Errorf("close %s (%s): %w", c.ID, c.State, ErrBadState)
	}
	c.State = store.CaseClosed
	c.Updated = now
	eff.event(now, actor, EvClosed, "", "", "closed", false)
	return eff, nil
}

// ApproveCustomerNotice records the desk's consent to a vendor telling its
// customers before publication (§6-3).
func ApproveCustomerNotice(now time.Time, c *store.Case, p *store.Participation, actor string) (Effect, error) {
	var eff Effect
	if !Open(c) || p.State != store.PartDetailSent {
		return eff, fmt.Errorf("customer notice for %s: %w", p.Vendor, ErrBadState)
	}
	eff.event(now, actor, EvCustomerNoticeOK, p.Vendor, "", "pre-publication customer notice approved", false)
	eff.Notices = append(eff.Notices, Notice{Kind: KindAck, Case: c.ID, Vendor: p.Vendor,
		Fields: map[string]string{"customer_notice": "approved"}})
	return eff, nil
}

// PriorityNotify sends the early notice to critical-infrastructure
// operators (§4-4): only once the case is scheduled, encrypted.
func PriorityNotify(now time.Time, c *store.Case, recipients int, actor string) (Effect, error) {
	var eff Effect
	if c.State != store.CaseScheduled && c.State != store.CaseActive {
		return eff, fmt.Errorf("priority notice for %s (%s): %w", c.ID, c.State, ErrBadState)
	}
	if recipients == 0 {
		return eff, errors.New("no priority recipients configured ([[priority]] in the config)")
	}
	eff.event(now, actor, EvPriorityNotified, "", "", fmt.Sprintf("early notice to %d critical-infrastructure recipients", recipients), false)
	eff.Notices = append(eff.Notices, Notice{Kind: KindPriority, Case: c.ID})
	return eff, nil
}
