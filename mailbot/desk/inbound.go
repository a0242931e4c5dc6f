package desk

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/coordbot/coordbot/mailbot/caseid"
	"github.com/coordbot/coordbot/mailbot/command"
	"github.com/coordbot/coordbot/mailbot/forms"
	"github.com/coordbot/coordbot/mailbot/health"
	"github.com/coordbot/coordbot/mailbot/notice"
	"github.com/coordbot/coordbot/mailbot/open"
	"github.com/coordbot/coordbot/mailbot/process"
	"github.com/coordbot/coordbot/store"
)

// Inbound is one message taken from the mailbox.
type Inbound struct {
	Mailbox     string
	UIDValidity uint32
	UID         uint32
	Raw         []byte

	// rawChunks is set when Raw was stored in pieces before the record.
	rawChunks int
}

// rawInline is the largest raw message stored with its ledger entry;
// larger ones are stored in pieces first (store.PutRawChunks).
const rawInline = 2 << 20

// Result is what became of an inbound message: where it must be moved and why.
type Result struct {
	Dest      string
	Outcome   string
	Reason    string
	Case      string
	Vendor    string
	MessageID string
	// Again is set when the ledger already knew the message.
	Again bool
}

// verdict is the outcome of classifying and applying one message inside a
// transaction.
type verdict struct {
	outcome, reason, caseID, vendor string
	auth                            bool
}

func quarantine(reason, caseID, vendor string) verdict {
	return verdict{outcome: store.OutcomeQuarantine, reason: reason, caseID: caseID, vendor: vendor}
}

// Hash identifies a message by what its sender wrote: trace fields that
// servers add on the way (Received, Delivered-To, ...) are left out, so the
// same message delivered twice has one hash.
func Hash(raw []byte) string {
	h := sha256.New()
	head, body := raw, []byte(nil)
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		head, body = raw[:i+2], raw[i+4:]
	} else if i := bytes.Index(raw, []byte("\n\n")); i >= 0 {
		head, body = raw[:i+1], raw[i+2:]
	}
	lines := strings.Split(strings.ReplaceAll(string(head), "\r\n", "\n"), "\n")
	skip := false
	for _, l := range lines {
		if l == "" {
			continue
		}
		if l[0] == ' ' || l[0] == '\t' {
			if !skip {
				h.Write([]byte(l + "\n"))
			}
			continue
		}
		name, _, _ := strings.Cut(l, ":")
		skip = isTraceField(strings.ToLower(strings.TrimSpace(name)))
		if !skip {
			h.Write([]byte(l + "\n"))
		}
	}
	h.Write([]byte("\n"))
	// The body with CRLF as LF, written piecewise: a large message is not
	// copied.
	for len(body) > 0 {
		i := bytes.Index(body, []byte("\r\n"))
		if i < 0 {
			h.Write(body)
			break
		}
		h.Write(body[:i])
		h.Write([]byte("\n"))
		body = body[i+2:]
	}
	return hex.EncodeToString(h.Sum(nil))
}

func isTraceField(name string) bool {
	switch name {
	case "received", "return-path", "delivered-to", "x-original-to", "x-delivered-to", "authentication-results",
		"received-spf", "status", "x-status", "x-keywords", "x-uid", "content-length", "lines", "x-mozilla-status", "x-mozilla-status2":
		return true
	}
	return strings.HasPrefix(name, "arc-") || strings.HasPrefix(name, "x-spam-") || strings.HasPrefix(name, "x-virus-")
}

// Handle classifies one inbound message and applies its effect together
// with its ledger entry in one transaction. It never panics: a message that
// makes the handling panic is quarantined. An error means nothing was
// recorded (e.g. the store could not be written): leave the message where
// it is and try again later.
func (d *Desk) Handle(in Inbound) (res Result, err error) {
	defer tightenMemory(len(in.Raw))()
	start := d.Now()
	hash := Hash(in.Raw)
	defer func() {
		if r := recover(); r != nil {
			d.Log.Error("panic while handling a message: quarantined", "uid", in.UID, "hash", hash[:16], "panic", fmt.Sprint(r),
				"stack", string(debug.Stack()))
			res, err = d.record(in, hash, nil, quarantine("internal error while reading the message", "", ""))
		}
		if err == nil {
			d.noteInbound(in, res, d.Now().Sub(start))
		}
	}()
	var ok *open.Keys
	var seen *store.LedgerEntry
	if err := d.Store.View(func(tx *store.Tx) (err error) {
		if e, lerr := tx.LedgerByUID(in.Mailbox, in.UIDValidity, in.UID); lerr == nil {
			// Recorded before (a crash before the MOVE): no need to parse again.
			seen = e
			return nil
		}
		ok, err = d.openKeys(tx, start)
		return
	}); err != nil {
		return Result{}, fmt.Errorf("handle uid %d: %w", in.UID, err)
	}
	if seen != nil {
		return Result{Dest: seen.Dest, Outcome: seen.Outcome, Reason: seen.Reason, Case: seen.Case, Vendor: seen.Vendor,
			MessageID: seen.MessageID, Again: true}, nil
	}
	msg, perr := open.ParseWith(in.Raw, open.Limits{MaxSize: d.Cfg.Limits.MaxMessageBytes, MaxDepth: d.Cfg.Limits.MaxMIMEDepth, MaxParts: d.Cfg.Limits.MaxMIMEParts,
		MaxAttachment: d.Cfg.Limits.MaxAttachmentBytes}, ok)
	if perr != nil {
		return d.record(in, hash, nil, quarantine("unreadable message: "+reasonOf(perr), "", ""))
	}
	return d.record(in, hash, msg, verdict{})
}

// noteInbound counts and logs what became of one message: one line per
// message, identifiers only.
func (d *Desk) noteInbound(in Inbound, res Result, took time.Duration, attrs ...any) {
	health.Inbound.WithLabelValues(res.Outcome).Inc()
	d.Log.Info("inbound", append([]any{"uid", in.UID, "case", res.Case, "vendor", res.Vendor, "message_id", res.MessageID,
		"outcome", res.Outcome, "reason", res.Reason, "dest", res.Dest, "again", res.Again,
		"duration", took.Round(time.Microsecond)}, attrs...)...)
}

func reasonOf(err error) string {
	switch {
	case errors.Is(err, open.ErrTooLarge):
		return "too large"
	case errors.Is(err, open.ErrTooDeep):
		return "MIME nesting too deep"
	case errors.Is(err, open.ErrTooManyParts):
		return "too many MIME parts"
	case errors.Is(err, open.ErrUndecryptable):
		return "encrypted to a key the robot does not hold"
	case errors.Is(err, open.ErrNoIntegrity):
		return "encrypted without integrity protection, or altered"
	}
	return "malformed"
}

// record runs the transaction: ledger lookup, classification (when msg is
// given and v is empty), effects, ledger entry.
func (d *Desk) record(in Inbound, hash string, msg *open.Message, v verdict) (Result, error) {
	now := d.Now()
	var res Result
	if len(in.Raw) > rawInline {
		n, err := d.Store.PutRawChunks(hash, in.Raw)
		if err != nil {
			return Result{}, fmt.Errorf("record inbound uid %d: %w", in.UID, err)
		}
		in.Raw, in.rawChunks = nil, n
	}
	err := d.Store.Update(func(tx *store.Tx) (err error) {
		res, err = d.recordTx(tx, now, in, hash, msg, v)
		return err
	})
	var rb *errRollback
	if errors.As(err, &rb) {
		// A command mail with an error, or a preview: its effects are
		// rolled back; its ledger entry and transcript are recorded now.
		err = d.Store.Update(func(tx *store.Tx) error {
			entry := &store.LedgerEntry{Hash: hash, Mailbox: in.Mailbox, UIDValid: in.UIDValidity, UID: in.UID, Time: now,
				MessageID: msg.MessageID, From: msg.From.Addr, Encrypted: msg.Encrypted, SignedBy: msg.SignedBy,
				Outcome: rb.v.outcome, Reason: rb.v.reason, Case: rb.caseID, Authenticated: true, Dest: d.Cfg.IMAP.ProcessedMailbox}
			if msg.SignatureID != "" {
				if err := tx.PutKeyed("cmdsig/"+msg.SignatureID, now); err != nil {
					return err
				}
			}
			var c *store.Case
			if rb.caseID != "" {
				c, _ = tx.Case(rb.caseID)
			}
			if c == nil {
				rb.transcript.Case = ""
			}
			if err := d.queue(tx, now, c, rb.transcript); err != nil {
				return err
			}
			res = Result{Dest: entry.Dest, Outcome: entry.Outcome, Reason: entry.Reason, Case: entry.Case, MessageID: entry.MessageID}
			entry.RawChunks = in.rawChunks
			return tx.PutLedger(entry, in.Raw)
		})
	}
	if err != nil {
		return Result{}, fmt.Errorf("record inbound uid %d: %w", in.UID, err)
	}
	if !res.Again {
		// Acknowledgements and triage go out now, not at the next timer.
		d.queued()
	}
	return res, nil
}

// recordTx is record's work inside tx: ledger lookup, classification (when
// msg is given and v is empty), effects, ledger entry.
func (d *Desk) recordTx(tx *store.Tx, now time.Time, in Inbound, hash string, msg *open.Message, v verdict) (Result, error) {
	var res Result
	if e, err := tx.LedgerByUID(in.Mailbox, in.UIDValidity, in.UID); err == nil {
		res = Result{Dest: e.Dest, Outcome: e.Outcome, Reason: e.Reason, Case: e.Case, Vendor: e.Vendor, MessageID: e.MessageID, Again: true}
		return res, nil
	}
	if e, err := tx.Ledger(hash); err == nil {
		// A second copy of a message already handled: one effect only.
		dup := &store.LedgerEntry{Hash: hash, Mailbox: in.Mailbox, UIDValid: in.UIDValidity, UID: in.UID, Time: now,
			Outcome: store.OutcomeDuplicate, Dest: d.Cfg.IMAP.ProcessedMailbox, MessageID: e.MessageID}
		if err := tx.PutLedger(dup, nil); err != nil {
			return Result{}, err
		}
		res = Result{Dest: dup.Dest, Outcome: store.OutcomeDuplicate, Reason: "copy of a message already handled (" + e.Outcome + ")",
			Case: e.Case, Vendor: e.Vendor, MessageID: e.MessageID, Again: true}
		return res, nil
	}
	entry := &store.LedgerEntry{Hash: hash, Mailbox: in.Mailbox, UIDValid: in.UIDValidity, UID: in.UID, Time: now}
	if msg != nil {
		entry.MessageID, entry.From = msg.MessageID, msg.From.Addr
		entry.Encrypted, entry.SignedBy = msg.Encrypted, msg.SignedBy
		if v.outcome == "" {
			var err error
			v, err = d.classify(tx, now, msg)
			if err != nil {
				return Result{}, err
			}
		}
	}
	entry.Outcome, entry.Reason, entry.Case, entry.Vendor, entry.Authenticated = v.outcome, v.reason, v.caseID, v.vendor, v.auth
	entry.Dest = d.Cfg.IMAP.ProcessedMailbox
	if v.outcome == store.OutcomeQuarantine {
		entry.Dest = d.Cfg.IMAP.QuarantineMailbox
		if err := d.triage(tx, now, entry); err != nil {
			return Result{}, err
		}
	}
	entry.RawChunks = in.rawChunks
	if err := tx.PutLedger(entry, in.Raw); err != nil {
		return Result{}, err
	}
	return Result{Dest: entry.Dest, Outcome: entry.Outcome, Reason: entry.Reason, Case: entry.Case, Vendor: entry.Vendor, MessageID: entry.MessageID}, nil
}

// triage tells the coordinators about a quarantined message. Nothing goes
// to the sender: an unknown sender must learn nothing (SECURITY T8, T12).
func (d *Desk) triage(tx *store.Tx, now time.Time, e *store.LedgerEntry) error {
	var c *store.Case
	if e.Case != "" {
		if got, err := tx.Case(e.Case); err == nil {
			c = got
			if _, err := tx.AddEvent(c.ID, store.Event{Time: now, Actor: process.ActorRobot, Kind: process.EvQuarantined,
				Vendor: e.Vendor, MessageID: e.MessageID, Summary: e.Reason}); err != nil {
				return err
			}
		}
	}
	n := process.Notice{Kind: process.KindTriage, Case: e.Case, ToCoordinators: true,
		Fields: map[string]string{"reason": e.Reason, "from": e.From, "message_id": e.MessageID, "vendor": e.Vendor}}
	return d.queue(tx, now, c, n)
}

// classify decides what an inbound message is and applies its effect.
func (d *Desk) classify(tx *store.Tx, now time.Time, msg *open.Message) (verdict, error) {
	from := msg.From.Addr
	// Our own mail coming back (a copy, a loop): record, never answer.
	if strings.EqualFold(from, d.Cfg.Bot.Address) {
		return verdict{outcome: store.OutcomeOwn, reason: "sent by the robot's own address"}, nil
	}
	if _, err := tx.MessageRef(msg.MessageID); err == nil && msg.MessageID != "" {
		// One of our own notices coming back (a forward, a loop).
		return verdict{outcome: store.OutcomeOwn, reason: "carries the robot's own Message-ID"}, nil
	}
	caseID := d.placeCase(tx, msg)
	if msg.IsBounce {
		if msg.Bounce != nil && msg.Bounce.OriginalMessageID != "" {
			// The returned notice names the case better than any Subject.
			if r, err := tx.MessageRef(msg.Bounce.OriginalMessageID); err == nil {
				caseID = r.Case
			}
		}
		return d.bounce(tx, now, msg, caseID)
	}
	if msg.ListMail {
		// List mail is never answered. But a vendor answering through a list
		// (§2-3: it should not) must not be lost: a person looks at it.
		_, isAnswer := forms.OverviewAnswer(msg.Text)
		_, isReport := forms.StatusReport(msg.Text)
		if _, err := tx.VendorByAddr(from); err == nil && (isAnswer || isReport) {
			return quarantine("vendor answer through a mailing list", caseID, ""), nil
		}
	}
	if msg.IsAutoReply {
		// RFC 3834: recorded, never answered, not the vendor's answer.
		vendor := ""
		if v, err := tx.VendorByAddr(from); err == nil {
			vendor = v.ID
		}
		if caseID != "" && vendor != "" {
			if _, err := tx.AddEvent(caseID, store.Event{Time: now, Actor: vendor, Kind: process.EvAutoReply, Vendor: vendor,
				MessageID: msg.MessageID, Summary: "automatic reply"}); err != nil {
				return verdict{}, err
			}
		}
		return verdict{outcome: store.OutcomeAutoReply, reason: "automatic reply", caseID: caseID, vendor: vendor}, nil
	}
	if msg.FromCount != 1 {
		return quarantine("several or no From addresses", caseID, ""), nil
	}
	cm := command.Parse(msg.Text, d.Cfg.Bot.CaseIDPrefix)
	if co, ok := d.Cfg.Coordinator(from); ok {
		if len(cm.Lines) > 0 {
			return d.commandMail(tx, now, msg, co, cm)
		}
		return verdict{outcome: store.OutcomeApplied, reason: "coordinator mail recorded", caseID: caseID}, nil
	}
	if len(cm.Lines) > 0 {
		// T8: commands from anyone but a coordinator run nothing; the
		// coordinators are told, the sender learns nothing.
		return quarantine("command lines from a sender who is not a coordinator", caseID, ""), nil
	}
	v, err := tx.VendorByAddr(from)
	if err != nil {
		if c, cerr := tx.Case(caseID); cerr == nil {
			// §8-2: a related organisation quoting the case ID. It gets no
			// answer; the coordinators approve.
			if eff, ok := process.ShareContact(now, c, from, msg.Keys, process.Inbound{MessageID: msg.MessageID, From: from}); ok {
				if err := tx.PutCase(c); err != nil {
					return verdict{}, err
				}
				if err := d.apply(tx, now, c, eff); err != nil {
					return verdict{}, err
				}
				return verdict{outcome: store.OutcomeApplied, reason: "related organisation wrote (share request)", caseID: c.ID}, nil
			}
		}
		return quarantine("unknown sender", caseID, ""), nil
	}
	if caseID == "" {
		return quarantine("no case named in the Subject or the references", "", v.ID), nil
	}
	c, err := tx.Case(caseID)
	if err != nil {
		return quarantine("case not found", "", v.ID), nil
	}
	p, err := tx.Participation(c.ID, v.ID)
	if err != nil {
		return quarantine("vendor is not on this case", c.ID, v.ID), nil
	}
	auth, refusal := authenticate(v, msg)
	if refusal != "" {
		return quarantine(refusal, c.ID, v.ID), nil
	}
	if !auth && d.Cfg.PGP.RequireSignedVendorAnswers && hasPinnedKey(v) {
		return quarantine("unsigned answer from a vendor with a key (require_signed_vendor_answers)", c.ID, v.ID), nil
	}
	in := process.Inbound{MessageID: msg.MessageID, From: from, Authenticated: auth, CanEncrypt: d.CanEncrypt(v)}
	if len(msg.Keys) > 0 {
		if err := d.offeredKeys(tx, now, msg, v, c, auth); err != nil {
			return verdict{}, err
		}
	}
	if p.State == store.PartRegistrationRequested {
		return d.registration(tx, now, msg, v, c, in)
	}
	var eff process.Effect
	var reason string
	rep, isReport := forms.StatusReport(msg.Text)
	ans, isAnswer := forms.OverviewAnswer(msg.Text)
	reqs := forms.VendorRequests(msg.Text)
	switch {
	case isReport && (p.State == store.PartDetailSent || !isAnswer):
		// A vendor that has the detail answers with the status form (§6-2).
		eff, err = process.StatusReport(now, c, v, p, process.Report{Status: rep.Status, Comment: rep.Comment, URL: rep.URL,
			FixPlan: rep.FixPlan, Schedule: rep.Schedule}, in)
		reason = "status report: " + p.Status
	case isAnswer:
		pa := process.AnswerYes
		reason = "overview answer: yes"
		if ans == forms.AnswerNo {
			pa, reason = process.AnswerNo, "overview answer: no"
		}
		eff, err = process.OverviewAnswer(now, d.policy(), c, v, p, pa, in)
	case reqs.Any():
		reason = "vendor request"
	default:
		return quarantine("answer not understood", c.ID, v.ID), nil
	}
	if err != nil {
		return quarantine("answer does not fit: "+err.Error(), c.ID, v.ID), nil
	}
	if reqs.Any() {
		pr := process.Requests{DateChange: reqs.DateChange != "", CustomerNotice: reqs.CustomerNotice, OtherVendors: reqs.OtherVendors != ""}
		if reqs.Share != nil {
			pr.Share = &store.Share{Org: notice.OneLine(reqs.Share.Org), Person: notice.OneLine(reqs.Share.Person), Addr: reqs.Share.Addr}
		}
		more, err := process.VendorRequests(now, c, v, p, pr, in)
		if err != nil {
			return quarantine("request does not fit: "+err.Error(), c.ID, v.ID), nil
		}
		eff.Events = append(eff.Events, more.Events...)
		eff.Notices = append(eff.Notices, more.Notices...)
		reason += " (+ requests)"
	}
	if err := tx.PutParticipation(p); err != nil {
		return verdict{}, err
	}
	c.Updated = now
	if err := tx.PutCase(c); err != nil {
		return verdict{}, err
	}
	if err := d.apply(tx, now, c, eff); err != nil {
		return verdict{}, err
	}
	if len(eff.Notices) == 0 {
		reason += " (repeated)"
	}
	return verdict{outcome: store.OutcomeApplied, reason: reason, caseID: c.ID, vendor: v.ID, auth: in.Authenticated}, nil
}

// placeCase finds the case of a message: the case ID in its Subject, or a
// robot Message-ID it replies to.
func (d *Desk) placeCase(tx *store.Tx, msg *open.Message) string {
	if id, ok := caseid.Find(msg.Subject, d.Cfg.Bot.CaseIDPrefix); ok && tx.HasCase(id) {
		return id
	}
	refs := append(append([]string{}, msg.InReplyTo...), msg.References...)
	for i := len(refs) - 1; i >= 0; i-- {
		if r, err := tx.MessageRef(refs[i]); err == nil && r.Case != "" {
			return r.Case
		}
	}
	// A case ID that does not exist is still reported (triage), never confirmed to the sender.
	if id, ok := caseid.Find(msg.Subject, d.Cfg.Bot.CaseIDPrefix); ok {
		return id
	}
	return ""
}

// bounce marks the failed contact addresses and tells the coordinators
// (RFC 3464). A bounce is never answered and is not a vendor's answer.
func (d *Desk) bounce(tx *store.Tx, now time.Time, msg *open.Message, caseID string) (verdict, error) {
	var failed []string
	if msg.Bounce != nil {
		failed = msg.Bounce.FailedRecipients
	}
	vendor := ""
	for _, addr := range failed {
		v, err := tx.VendorByAddr(addr)
		if err != nil {
			continue
		}
		vendor = v.ID
		for i := range v.Contacts {
			if strings.EqualFold(v.Contacts[i].Addr, addr) {
				v.Contacts[i].Failing = true
				v.Contacts[i].FailingAt = now
				if msg.Bounce != nil {
					v.Contacts[i].FailingNote = strings.TrimSpace(msg.Bounce.Status + " " + msg.Bounce.Diagnostic)
				}
			}
		}
		v.Updated = now
		if err := tx.PutVendor(v); err != nil {
			return verdict{}, err
		}
		if caseID != "" && tx.HasCase(caseID) {
			if _, err := tx.AddEvent(caseID, store.Event{Time: now, Actor: process.ActorRobot, Kind: process.EvBounce, Vendor: v.ID,
				MessageID: msg.MessageID, Summary: "delivery to " + addr + " failed"}); err != nil {
				return verdict{}, err
			}
		}
	}
	reason := "delivery status notification: " + strings.Join(failed, ", ")
	if len(failed) > 0 {
		var c *store.Case
		if caseID != "" {
			c, _ = tx.Case(caseID)
		}
		n := process.Notice{Kind: process.KindBounceNotice, Case: caseID, ToCoordinators: true,
			Fields: map[string]string{"reason": reason, "from": msg.From.Addr, "message_id": msg.MessageID, "vendor": vendor}}
		if err := d.queue(tx, now, c, n); err != nil {
			return verdict{}, err
		}
	}
	return verdict{outcome: store.OutcomeBounce, reason: reason, caseID: caseID, vendor: vendor}, nil
}

// registration applies an answer to the registration request (§2-3): a
// complete form from the contacted address registers the vendor as
// individual and releases the overview of every case waiting for it.
func (d *Desk) registration(tx *store.Tx, now time.Time, msg *open.Message, v *store.Vendor, c *store.Case, in process.Inbound) (verdict, error) {
	reg, ok := forms.RegistrationForm(msg.Text)
	if !ok {
		return quarantine("registration form not understood", c.ID, v.ID), nil
	}
	if !reg.Consent {
		return quarantine("vendor declined to register", c.ID, v.ID), nil
	}
	if reg.Contact != "" && !strings.EqualFold(reg.Contact, in.From) {
		// The vendor names another contact: added, unless it belongs to someone else.
		if other, err := tx.VendorByAddr(reg.Contact); err == nil && other.ID != v.ID {
			return quarantine("registration names a contact address of another vendor", c.ID, v.ID), nil
		}
		found := false
		for _, ct := range v.Contacts {
			found = found || strings.EqualFold(ct.Addr, reg.Contact)
		}
		if !found {
			v.Contacts = append(v.Contacts, store.Contact{Addr: reg.Contact})
		}
	}
	cases, err := tx.Cases()
	if err != nil {
		return verdict{}, err
	}
	var waiting []*store.Case
	var parts []*store.Participation
	for _, wc := range cases {
		if p, err := tx.Participation(wc.ID, v.ID); err == nil && p.State == store.PartRegistrationRequested {
			waiting, parts = append(waiting, wc), append(parts, p)
		}
	}
	effs, err := process.Registered(now, d.policy(), v, notice.OneLine(reg.Manager), waiting, parts, in)
	if err != nil {
		return quarantine("registration does not fit: "+err.Error(), c.ID, v.ID), nil
	}
	if err := tx.PutVendor(v); err != nil {
		return verdict{}, err
	}
	for i, wc := range waiting {
		if err := tx.PutParticipation(parts[i]); err != nil {
			return verdict{}, err
		}
		if err := tx.PutCase(wc); err != nil {
			return verdict{}, err
		}
		if err := d.apply(tx, now, wc, effs[i]); err != nil {
			return verdict{}, err
		}
	}
	return verdict{outcome: store.OutcomeApplied, reason: "registered as individual", caseID: c.ID, vendor: v.ID}, nil
}
