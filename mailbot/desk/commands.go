package desk

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/coordbot/coordbot/mailbot/caseid"
	"github.com/coordbot/coordbot/mailbot/command"
	"github.com/coordbot/coordbot/mailbot/config"
	"github.com/coordbot/coordbot/mailbot/open"
	"github.com/coordbot/coordbot/mailbot/process"
	"github.com/coordbot/coordbot/mailbot/registry"
	"github.com/coordbot/coordbot/store"
)

// Command mail kinds.
const (
	KindTranscript = "transcript"
	EvCommand      = "command"
	EvRefused      = "refused"
	EvNote         = "note"
)

// errRollback carries what a command mail that must not take effect
// (an error on any line, or a preview) still records: its ledger entry
// and its transcript, written in a second transaction.
type errRollback struct {
	v          verdict
	transcript process.Notice
	caseID     string
}

func (e *errRollback) Error() string { return "command mail rolled back" }

// commandMail authenticates and runs a coordinator's command mail
// (DESIGN §6). Anything short of a valid, fresh, first-seen signature by
// the coordinator's configured key over the whole body runs nothing and is
// reported to all coordinators, never to the sender.
func (d *Desk) commandMail(tx *store.Tx, now time.Time, msg *open.Message, co *config.Coordinator, cm command.Mail) (verdict, error) {
	refuse := func(why, caseID string) (verdict, error) {
		if caseID != "" && tx.HasCase(caseID) {
			if _, err := tx.AddEvent(caseID, store.Event{Time: now, Actor: process.ActorRobot, Kind: EvRefused,
				MessageID: msg.MessageID, Summary: "command mail refused: " + why}); err != nil {
				return verdict{}, err
			}
		}
		return quarantine("refused command mail: "+why, caseID, ""), nil
	}
	subjectCase := d.placeCase(tx, msg)
	switch {
	case co.Fingerprint == "":
		return refuse("no key fingerprint is configured for this coordinator", subjectCase)
	case msg.Signature != open.SigValid:
		return refuse("not signed by the coordinator's key ("+msg.Signature.String()+")", subjectCase)
	case msg.SignedBy != co.Fingerprint:
		return refuse("signed by a key that is not this coordinator's", subjectCase)
	case now.Sub(msg.SignedAt) > d.Cfg.PGP.CommandSignatureMaxAge.Duration:
		return refuse("signature older than command_signature_max_age", subjectCase)
	case msg.SignedAt.Sub(now) > 10*time.Minute:
		return refuse("signature dated in the future", subjectCase)
	case msg.SignatureID == "" || tx.Keyed("cmdsig/"+msg.SignatureID):
		// T7: the same signature again, whatever its Message-ID or Subject.
		return refuse("replayed signature", subjectCase)
	}
	if err := tx.PutKeyed("cmdsig/"+msg.SignatureID, now); err != nil {
		return verdict{}, err
	}
	// The case must be named inside the signed content (T7): a protected
	// Subject, or a "#coordbot case ID" line.
	signedCase := cm.CaseID
	if msg.Encrypted && msg.OuterSubject != "" {
		if id, ok := caseid.Find(msg.Subject, d.Cfg.Bot.CaseIDPrefix); ok {
			if signedCase != "" && signedCase != id {
				return d.transcriptOnly(tx, now, msg, co, cm, "", []string{"error: the protected Subject names " + id + ", the case line " + signedCase})
			}
			signedCase = id
		}
	}
	o := &Op{d: d, tx: tx, now: now, actor: co.Address, coordinator: true}
	out, nerr := o.runCommands(cm, signedCase, msg)
	caseID := o.current
	n := process.Notice{Kind: KindTranscript, Case: caseID, ToCoordinators: true, InReplyTo: msg.MessageID,
		References: append(append([]string{}, msg.References...), msg.MessageID),
		Fields:     map[string]string{"to": co.Address, "subject": msg.Subject, "errors": fmt.Sprint(nerr), "transcript": strings.Join(out, "\n")}}
	if cm.Preview {
		n.Fields["preview"] = "yes"
	}
	v := verdict{outcome: store.OutcomeApplied, reason: fmt.Sprintf("command mail: %d lines, %d errors", len(cm.Lines), nerr), caseID: caseID, auth: true}
	if nerr > 0 || cm.Preview {
		if nerr > 0 {
			v.reason = fmt.Sprintf("command mail: %d errors, nothing run", nerr)
		} else {
			v.reason = "command mail: preview, nothing run"
		}
		return verdict{}, &errRollback{v: v, transcript: n, caseID: caseID}
	}
	if caseID != "" {
		if _, err := tx.AddEvent(caseID, store.Event{Time: now, Actor: co.Address, Kind: EvCommand, MessageID: msg.MessageID,
			Summary: fmt.Sprintf("%d command lines run", len(cm.Lines)), Authenticated: true}); err != nil {
			return verdict{}, err
		}
	}
	var c *store.Case
	if caseID != "" {
		c, _ = tx.Case(caseID)
	}
	if err := d.queue(tx, now, c, n); err != nil {
		return verdict{}, err
	}
	return v, nil
}

// transcriptOnly answers an authenticated coordinator whose mail cannot run
// at all, with nothing run.
func (d *Desk) transcriptOnly(tx *store.Tx, now time.Time, msg *open.Message, co *config.Coordinator, cm command.Mail, caseID string, lines []string) (verdict, error) {
	n := process.Notice{Kind: KindTranscript, Case: caseID, ToCoordinators: true, InReplyTo: msg.MessageID, References: []string{msg.MessageID},
		Fields: map[string]string{"to": co.Address, "subject": msg.Subject, "errors": "1", "transcript": strings.Join(lines, "\n")}}
	return verdict{}, &errRollback{v: verdict{outcome: store.OutcomeApplied, reason: "command mail: nothing run", auth: true}, transcript: n, caseID: caseID}
}

// runCommands runs every line in order inside the operation's transaction
// and returns the transcript lines and the number of errors. The caller
// rolls everything back when there is one error (all or nothing).
func (o *Op) runCommands(cm command.Mail, signedCase string, msg *open.Message) ([]string, int) {
	var out []string
	nerr := 0
	o.current = signedCase
	for _, l := range cm.Lines {
		out = append(out, "> "+l.Raw)
		if l.Err != "" {
			out = append(out, "error: "+l.Err)
			nerr++
			continue
		}
		res, err := o.runLine(l, cm, msg)
		if err != nil {
			out = append(out, "error: "+err.Error())
			nerr++
			continue
		}
		out = append(out, "ok: "+res)
	}
	if nerr == 0 && len(o.sent) > 0 {
		sort.Strings(o.sent)
		out = append(out, "", "notices: "+strings.Join(o.sent, ", "))
	}
	return out, nerr
}

var errNoCase = errors.New("no case: name it inside the signed content with \"#coordbot case ID\" (an outer Subject proves nothing)")

func (o *Op) runLine(l command.Line, cm command.Mail, msg *open.Message) (string, error) {
	needCase := func() (string, error) {
		if o.current == "" {
			return "", errNoCase
		}
		if !o.tx.HasCase(o.current) {
			return "", fmt.Errorf("case %s: %w", o.current, store.ErrNotFound)
		}
		return o.current, nil
	}
	arg := func(i int) string {
		if i < len(l.Args) {
			return l.Args[i]
		}
		return ""
	}
	switch l.Verb {
	case "preview":
		return "preview: everything is checked, nothing is done or sent", nil
	case "case":
		o.current = arg(0)
		if !o.tx.HasCase(o.current) {
			return "", fmt.Errorf("case %s: %w", o.current, store.ErrNotFound)
		}
		return "case " + o.current, nil
	case "case new":
		in := CaseInput{Title: l.Text, Overview: cm.Overview, Detail: cm.Detail, Reporter: o.actor}
		for _, a := range msg.Attachments {
			if a.Dropped {
				return "", fmt.Errorf("attachment %q has %d bytes: more than the desk keeps in a case (limits.max_attachment_bytes)", a.Filename, a.Size)
			}
			in.Attach = append(in.Attach, store.Attach{Name: a.Filename, ContentType: a.ContentType, Data: a.Data})
		}
		c, err := o.NewCase(in)
		if err != nil {
			return "", err
		}
		o.current = c.ID
		return "created " + c.ID, nil
	}
	id, err := needCase()
	if err != nil {
		return "", err
	}
	switch l.Verb {
	case "keywords":
		return "keywords " + strings.Join(l.Args, ", "), o.SetKeywords(id, l.Args)
	case "vendors suggest":
		cands, err := o.Suggest(id)
		if err != nil {
			return "", err
		}
		var parts []string
		for _, c := range cands {
			parts = append(parts, c.ID+" ("+c.Reason+")")
		}
		if len(parts) == 0 {
			return "no vendor matches the case keywords", nil
		}
		return "suggested: " + strings.Join(parts, "; "), nil
	case "vendor add":
		return "added " + strings.Join(l.Args, ", "), o.AttachVendors(id, l.Args)
	case "notify overview", "notify detail":
		kind := strings.TrimPrefix(l.Verb, "notify ")
		res, err := o.Notify(id, kind, l.Args)
		if err != nil {
			return "", err
		}
		var parts []string
		for _, r := range res {
			s := r.Vendor + " " + kind + " queued"
			if r.Reason != "" {
				s = r.Vendor + ": " + r.Reason
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, "; "), nil
	case "status":
		return "status of " + arg(0) + ": " + arg(1), o.SetStatus(id, arg(0), arg(1), l.Text)
	case "date":
		when := l.Time
		if l.NeedsZone {
			when = time.Date(when.Year(), when.Month(), when.Day(), when.Hour(), when.Minute(), when.Second(), 0, o.d.Cfg.Location())
		}
		return "publication date " + when.In(o.d.Cfg.Location()).Format(time.RFC3339), o.SetDate(id, when)
	case "lead":
		return "lead " + l.Text, o.SetLead(id, l.Text)
	case "customer-notice approve":
		return "customer notice of " + arg(0) + " approved", o.ApproveCustomerNotice(id, arg(0))
	case "priority-notify":
		return "early notice queued", o.PriorityNotify(id)
	case "unreachable advance":
		st, err := o.AdvanceUnreachable(id, arg(0))
		return fmt.Sprintf("%s: unreachable stage %d applied", arg(0), st), err
	case "remind":
		n, err := o.Remind(id, l.Args)
		return fmt.Sprintf("%d reminders queued", n), err
	case "publish":
		return "published", o.Publish(id)
	case "cancel":
		return "cancelled: " + arg(0), o.Cancel(id, arg(0))
	case "close":
		return "closed", o.Close(id)
	case "note":
		_, err := o.tx.AddEvent(id, store.Event{Time: o.now, Actor: o.actor, Kind: EvNote, Summary: l.Text})
		return "noted", err
	case "share approve":
		vid, err := o.ShareApprove(id, arg(0), arg(1))
		return "share approved: " + arg(1) + " registered as vendor " + vid + ", detail queued", err
	}
	return "", fmt.Errorf("verb %q is not implemented", l.Verb)
}

// SetKeywords replaces a case's technology keywords.
func (o *Op) SetKeywords(caseID string, kws []string) error {
	c, err := o.tx.Case(caseID)
	if err != nil {
		return err
	}
	c.Keywords = nil
	for _, k := range kws {
		if k = registry.NormalizeKeyword(k); k != "" {
			c.Keywords = append(c.Keywords, k)
		}
	}
	c.Updated = o.now
	return o.tx.PutCase(c)
}

// Suggest ranks registered vendors by the case keywords (§2).
func (o *Op) Suggest(caseID string) ([]registry.Candidate, error) {
	c, err := o.tx.Case(caseID)
	if err != nil {
		return nil, err
	}
	vs, err := o.tx.Vendors()
	if err != nil {
		return nil, err
	}
	var rv []registry.Vendor
	for _, v := range vs {
		rv = append(rv, registry.Vendor{ID: v.ID, Registration: v.Registration, Keywords: v.Keywords})
	}
	return registry.Suggest(c.Keywords, rv, nil), nil
}

// SetStatus records a status a coordinator reports for a vendor (e.g. from
// a phone call), like a vendor's own status report.
func (o *Op) SetStatus(caseID, vendorID, status, comment string) error {
	return o.rule(caseID, func(now time.Time, c *store.Case, parts []*store.Participation) (process.Effect, error) {
		for _, p := range parts {
			if p.Vendor != vendorID {
				continue
			}
			if p.State != store.PartDetailSent {
				return process.Effect{}, fmt.Errorf("vendor %s has not received the detail (%s)", vendorID, p.State)
			}
			p.Status = status
			if comment != "" {
				p.Comment = comment
			}
			var eff process.Effect
			eff.Events = append(eff.Events, store.Event{Time: now, Actor: o.actor, Kind: process.EvStatusReported, Vendor: vendorID,
				Summary: "status set by coordinator: " + status})
			return eff, nil
		}
		return process.Effect{}, fmt.Errorf("vendor %s on case %s: %w", vendorID, caseID, store.ErrNotFound)
	})
}

// Remind queues a reminder now to vendors that owe an answer.
func (o *Op) Remind(caseID string, vendorIDs []string) (int, error) {
	n := 0
	err := o.rule(caseID, func(now time.Time, c *store.Case, parts []*store.Participation) (process.Effect, error) {
		var eff process.Effect
		all := len(vendorIDs) == 1 && vendorIDs[0] == "all"
		for _, p := range parts {
			named := all
			for _, v := range vendorIDs {
				named = named || v == p.Vendor
			}
			if !named {
				continue
			}
			switch p.State {
			case store.PartRegistrationRequested, store.PartOverviewSent, store.PartDetailSent:
			default:
				if !all {
					return eff, fmt.Errorf("vendor %s owes no answer (%s)", p.Vendor, p.State)
				}
				continue
			}
			p.RemindersSent++
			eff.Events = append(eff.Events, store.Event{Time: now, Actor: o.actor, Kind: EvReminderSent, Vendor: p.Vendor, Summary: "reminder by coordinator"})
			eff.Notices = append(eff.Notices, process.Notice{Kind: KindReminder, Case: c.ID, Vendor: p.Vendor,
				Fields: map[string]string{"state": p.State, "kind": "reminder", "vendor": p.Vendor}})
			n++
		}
		return eff, nil
	})
	return n, err
}
