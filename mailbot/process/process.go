// Package process holds the guideline's rules as pure functions: they take
// the current records and an instant, change the records in place and
// return the events to record and the notices to send. No clock, no I/O:
// the caller persists everything in one transaction.
package process

import (
	"errors"
	"fmt"
	"time"

	"github.com/coordbot/coordbot/store"
)

// Policy is the part of the configuration the rules need.
type Policy struct {
	PublicationDays        int
	Location               *time.Location
	AutoSendDetail         bool
	RequireEncryptedDetail bool
}

// Notice asks the edge to render, seal and queue one message.
type Notice struct {
	Kind string
	Case string
	// Vendor is the recipient vendor; empty with ToCoordinators.
	Vendor         string
	ToCoordinators bool
	// InReplyTo threads the notice to an inbound message.
	InReplyTo  string
	References []string
	// Fields are extra template data (answer wording, reasons).
	Fields map[string]string
}

// Effect is what a rule produced.
type Effect struct {
	Events  []store.Event
	Notices []Notice
}

func (e *Effect) event(now time.Time, actor, kind, vendor, msgID, summary string, auth bool) {
	e.Events = append(e.Events, store.Event{Time: now, Actor: actor, Kind: kind, Vendor: vendor, MessageID: msgID, Summary: summary, Authenticated: auth})
}

// Refusals: the rule does not apply; nothing changes.
var (
	ErrCaseClosed      = errors.New("case is closed")
	ErrAlreadySent     = errors.New("notice already sent")
	ErrNotRegistered   = errors.New("vendor is not registered")
	ErrNoContact       = errors.New("vendor has no usable contact address")
	ErrUnexpectedReply = errors.New("answer does not fit the vendor's state on the case")
)

// Event kinds (DESIGN §11).
const (
	EvOverviewSent     = "overview-sent"
	EvDetailRequested  = "detail-requested"
	EvNoProduct        = "no-product"
	EvDetailSent       = "detail-sent"
	EvDetailHeld       = "detail-held"
	EvStatusReported   = "status-reported"
	EvDateSet          = "date-set"
	EvVendorAdded      = "vendor-added"
	EvCaseCreated      = "case-created"
	EvRefused          = "refused"
	EvAutoReply        = "auto-reply"
	EvBounce           = "bounce"
	EvQuarantined      = "quarantined"
	EvAnswerRepeated   = "answer-repeated"
	ActorRobot         = "robot"
	ActorCLI           = "cli"
	KindOverview       = "overview"
	KindAck            = "ack"
	KindTriage         = "triage"
	KindBounceNotice   = "bounce"
	KindDetailHeldNote = "detail-held"
	KindDetail         = "detail"
)

// Open reports whether the case still accepts notices and answers.
func Open(c *store.Case) bool {
	switch c.State {
	case store.CaseClosed, store.CaseCancelled:
		return false
	}
	return true
}

// AddVendor puts a vendor on a case without notifying it.
func AddVendor(now time.Time, c *store.Case, v *store.Vendor, actor string) (*store.Participation, Effect, error) {
	var eff Effect
	if !Open(c) {
		return nil, eff, fmt.Errorf("add %s to %s: %w", v.ID, c.ID, ErrCaseClosed)
	}
	p := &store.Participation{Case: c.ID, Vendor: v.ID, State: store.PartNew, Added: now}
	eff.event(now, actor, EvVendorAdded, v.ID, "", "vendor "+v.ID+" added", false)
	return p, eff, nil
}

// start sets the 起算日 on the first notice of a case (§4-1: the target
// date is publication_days after the first notification, same clock time).
func start(now time.Time, pol Policy, c *store.Case) {
	if !c.Start.IsZero() {
		return
	}
	loc := pol.Location
	if loc == nil {
		loc = time.UTC
	}
	c.Start = now
	c.Target = now.In(loc).AddDate(0, 0, pol.PublicationDays)
	if c.State == store.CaseDraft || c.State == "" {
		c.State = store.CaseActive
	}
}

// usableContacts lists where confidential notices may go: not public
// lists or forums (§2-3).
func usableContacts(v *store.Vendor) []string {
	var out []string
	for _, ct := range v.Contacts {
		if !ct.Public {
			out = append(out, ct.Addr)
		}
	}
	return out
}

// NotifyOverview sends the overview (§2) to a registered vendor on the case.
func NotifyOverview(now time.Time, pol Policy, c *store.Case, v *store.Vendor, p *store.Participation, actor string) (Effect, error) {
	var eff Effect
	switch {
	case !Open(c):
		return eff, fmt.Errorf("overview to %s: %w", v.ID, ErrCaseClosed)
	case p.State != store.PartNew:
		return eff, fmt.Errorf("overview to %s (%s): %w", v.ID, p.State, ErrAlreadySent)
	case v.Registration == store.RegPending:
		// §2-3: information is disclosed only after registration.
		return eff, fmt.Errorf("overview to %s: %w", v.ID, ErrNotRegistered)
	case len(usableContacts(v)) == 0:
		return eff, fmt.Errorf("overview to %s: %w", v.ID, ErrNoContact)
	}
	start(now, pol, c)
	c.Updated = now
	p.State = store.PartOverviewSent
	p.OverviewSent = now
	eff.event(now, actor, EvOverviewSent, v.ID, "", "overview queued", false)
	eff.Notices = append(eff.Notices, Notice{Kind: KindOverview, Case: c.ID, Vendor: v.ID})
	return eff, nil
}

// Answer is a vendor's answer to the overview (§2-2).
type Answer int

// Overview answers.
const (
	AnswerYes Answer = iota + 1
	AnswerNo
)

// Inbound describes the message behind an answer.
type Inbound struct {
	MessageID     string
	From          string
	Authenticated bool
	// CanEncrypt tells whether the vendor has a usable key (for an
	// automatic detail notice).
	CanEncrypt bool
}

// NotifyDetail sends the technical detail (§3) to a vendor that asked for
// it, or straight away when a coordinator says the vendor is obvious (§2).
// The detail is confidential (§8-1): without a usable key and with
// RequireEncryptedDetail the vendor is put on detail-held and the
// coordinators are told; nothing is sent.
func NotifyDetail(now time.Time, pol Policy, c *store.Case, v *store.Vendor, p *store.Participation, canEncrypt bool, actor string) (Effect, error) {
	var eff Effect
	switch {
	case !Open(c):
		return eff, fmt.Errorf("detail to %s: %w", v.ID, ErrCaseClosed)
	case p.State == store.PartDetailSent:
		return eff, fmt.Errorf("detail to %s: %w", v.ID, ErrAlreadySent)
	case p.State == store.PartDetailHeld && !canEncrypt && pol.RequireEncryptedDetail:
		return eff, fmt.Errorf("detail to %s: still no usable key: %w", v.ID, ErrNoKey)
	case v.Registration == store.RegPending:
		return eff, fmt.Errorf("detail to %s: %w", v.ID, ErrNotRegistered)
	case len(usableContacts(v)) == 0:
		return eff, fmt.Errorf("detail to %s: %w", v.ID, ErrNoContact)
	}
	c.Updated = now
	if !canEncrypt && pol.RequireEncryptedDetail {
		p.State = store.PartDetailHeld
		eff.event(now, actor, EvDetailHeld, v.ID, "", "no usable OpenPGP key: detail held", false)
		eff.Notices = append(eff.Notices, Notice{Kind: KindDetailHeldNote, Case: c.ID, ToCoordinators: true,
			Fields: map[string]string{"vendor": v.ID, "reason": "vendor " + v.ID + " has no usable OpenPGP key; the detail is held until one is imported"}})
		return eff, nil
	}
	start(now, pol, c)
	p.State = store.PartDetailSent
	p.DetailSent = now
	if p.Status == "" {
		// §6-4: the default public status of a vendor that received the detail.
		p.Status = store.StatusInfoProvided
	}
	eff.event(now, actor, EvDetailSent, v.ID, "", "detail queued", false)
	eff.Notices = append(eff.Notices, Notice{Kind: KindDetail, Case: c.ID, Vendor: v.ID})
	return eff, nil
}

// ErrNoKey: the detail cannot go out encrypted.
var ErrNoKey = errors.New("vendor has no usable OpenPGP key")

// Report is a vendor's status report (§3-3, §6-2); empty fields were not given.
type Report struct {
	Status, Comment, URL, FixPlan, Schedule string
}

// StatusReport records a vendor's status report. It only applies once the
// vendor has the detail: before that its status would be a guess.
func StatusReport(now time.Time, c *store.Case, v *store.Vendor, p *store.Participation, r Report, in Inbound) (Effect, error) {
	var eff Effect
	if !Open(c) && c.State != store.CaseClosed {
		return eff, fmt.Errorf("status from %s: %w", v.ID, ErrCaseClosed)
	}
	if p.State != store.PartDetailSent {
		return eff, fmt.Errorf("status from %s in state %q: %w", v.ID, p.State, ErrUnexpectedReply)
	}
	switch r.Status {
	case "", store.StatusAffected, store.StatusAffectedInvestigating, store.StatusNotAffected, store.StatusNotAffectedInvestigating:
	default:
		return eff, fmt.Errorf("status %q: %w", r.Status, ErrUnexpectedReply)
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&p.Status, r.Status)
	set(&p.Comment, r.Comment)
	set(&p.URL, r.URL)
	set(&p.FixPlan, r.FixPlan)
	set(&p.Schedule, r.Schedule)
	p.LastInbound = now
	c.Updated = now
	eff.event(now, v.ID, EvStatusReported, v.ID, in.MessageID, "status: "+p.Status, in.Authenticated)
	eff.Notices = append(eff.Notices, Notice{Kind: KindAck, Case: c.ID, Vendor: v.ID, InReplyTo: in.MessageID, References: []string{in.MessageID},
		Fields: map[string]string{"status": p.Status, "comment": p.Comment, "url": p.URL, "fixplan": p.FixPlan, "schedule": p.Schedule,
			"from": in.From, "message_id": in.MessageID}})
	return eff, nil
}

// OverviewAnswer applies "send the detail" (yes) or "no such product" (no).
// Every applied answer is acknowledged to all registered contacts, so a
// forged answer is noticed by the real vendor. With AutoSendDetail a "yes"
// from a registered vendor queues the detail at once (or holds it).
func OverviewAnswer(now time.Time, pol Policy, c *store.Case, v *store.Vendor, p *store.Participation, ans Answer, in Inbound) (Effect, error) {
	var eff Effect
	if !Open(c) {
		return eff, fmt.Errorf("answer from %s: %w", v.ID, ErrCaseClosed)
	}
	want := store.PartDetailRequested
	kind := EvDetailRequested
	if ans == AnswerNo {
		want, kind = store.PartNoProduct, EvNoProduct
	}
	switch p.State {
	case store.PartOverviewSent:
	case want:
		// The same answer again (a vendor resending): recorded, nothing changes.
		p.LastInbound = now
		eff.event(now, v.ID, EvAnswerRepeated, v.ID, in.MessageID, "same answer again: "+kind, in.Authenticated)
		return eff, nil
	default:
		return eff, fmt.Errorf("answer %s from %s in state %q: %w", kind, v.ID, p.State, ErrUnexpectedReply)
	}
	p.State = want
	p.LastInbound = now
	summary := "vendor asks for the detail"
	if ans == AnswerNo {
		summary = "vendor has no such product"
	}
	eff.event(now, v.ID, kind, v.ID, in.MessageID, summary, in.Authenticated)
	fields := map[string]string{"answer": "yes", "from": in.From, "message_id": in.MessageID}
	if ans == AnswerNo {
		fields["answer"] = "no"
	}
	eff.Notices = append(eff.Notices, Notice{Kind: KindAck, Case: c.ID, Vendor: v.ID, InReplyTo: in.MessageID, References: []string{in.MessageID}, Fields: fields})
	if ans == AnswerYes && pol.AutoSendDetail && v.Registration != store.RegPending {
		more, err := NotifyDetail(now, pol, c, v, p, in.CanEncrypt, ActorRobot)
		if err != nil {
			return eff, err
		}
		eff.Events = append(eff.Events, more.Events...)
		eff.Notices = append(eff.Notices, more.Notices...)
	}
	return eff, nil
}
