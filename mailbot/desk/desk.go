// Package desk is the robot itself: it ties the pure rules (process) to the
// store, the notice templates and the mail edges. Every operation runs in
// one store transaction with its events, ledger entry and outbox entries.
package desk

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coordbot/coordbot/mailbot/config"
	"github.com/coordbot/coordbot/mailbot/health"
	"github.com/coordbot/coordbot/mailbot/keys"
	"github.com/coordbot/coordbot/mailbot/notice"
	"github.com/coordbot/coordbot/mailbot/process"
	"github.com/coordbot/coordbot/store"
)

// Desk is the robot's core, shared by the daemon and the CLI.
type Desk struct {
	Store  *store.Store
	Cfg    *config.Config
	Log    *slog.Logger
	Now    func() time.Time
	Render *notice.Renderer

	keys keyring

	// Health is updated by the daemon's loops.
	Health *health.State

	// kick, when set, is called after something was queued, so a running
	// daemon sends it without waiting for its timer.
	kick func()

	// sending counts Drain passes under way (Sent copies wait for none).
	sending atomic.Int32
	// opening counts Poll passes working through messages: the warm-up
	// of sealing keys waits for them (their workers ready those keys
	// more cheaply, see readySealKey).
	opening atomic.Int32
	// afterPoll, when set (by Serve), is called after each inbound pass.
	afterPoll func()

	pruneMu   sync.Mutex
	lastPrune time.Time // of the rate-limit index
}

// New makes a desk over an open store.
func New(st *store.Store, cfg *config.Config, log *slog.Logger) *Desk {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Desk{Store: st, Cfg: cfg, Log: log, Now: time.Now, Render: notice.NewRenderer(cfg.Bot.TemplateDir), Health: health.New(time.Now())}
}

// OnQueued registers fn to run after notices were queued.
func (d *Desk) OnQueued(fn func()) { d.kick = fn }

func (d *Desk) queued() {
	if d.kick != nil {
		d.kick()
	}
}

func (d *Desk) policy() process.Policy {
	return process.Policy{
		PublicationDays:        d.Cfg.Policy.PublicationDays,
		Location:               d.Cfg.Location(),
		AutoSendDetail:         d.Cfg.Policy.AutoDetail(),
		RequireEncryptedDetail: d.Cfg.PGP.EncryptedDetail(),
	}
}

func (d *Desk) domain() string { return botDomain(d.Cfg) }

// botDomain is the domain of bot.address: Message-IDs, EHLO, CSAF namespace.
func botDomain(cfg *config.Config) string {
	if i := strings.LastIndexByte(cfg.Bot.Address, '@'); i >= 0 {
		return cfg.Bot.Address[i+1:]
	}
	return "coordbot.invalid"
}

// --- vendors ---

// VendorInput is what `vendor add` and `vendor import` give.
type VendorInput struct {
	ID, Name, Registration, Manager, Lang string
	Emails, Keywords                      []string
	// PublicEmails are lists or forums: recorded, never sent anything
	// confidential (§2-3).
	PublicEmails  []string
	Postal, Phone string
	Community     bool
	Key           *store.Key
}

// AddVendor registers a vendor. An existing id is refused.
func (d *Desk) AddVendor(in VendorInput) (*store.Vendor, error) {
	var v *store.Vendor
	err := d.Run(process.ActorCLI, func(o *Op) (err error) { v, err = o.AddVendor(in); return })
	if err != nil {
		return nil, err
	}
	d.keysChanged()
	d.Log.Info("vendor added", "vendor", v.ID, "contacts", len(v.Contacts), "key", in.Key != nil)
	return v, nil
}

// ImportVendors registers every vendor of an import file, all or none.
func (d *Desk) ImportVendors(ins []VendorInput) error {
	err := d.Run(process.ActorCLI, func(o *Op) error {
		for _, in := range ins {
			if _, err := o.AddVendor(in); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		d.keysChanged()
		d.Log.Info("vendors imported", "count", len(ins))
	}
	return err
}

// AddVendor registers a vendor.
func (o *Op) AddVendor(in VendorInput) (*store.Vendor, error) {
	d := o.d
	if err := validSlug(in.ID); err != nil {
		return nil, fmt.Errorf("vendor id: %w", err)
	}
	if strings.TrimSpace(in.Name) == "" {
		in.Name = in.ID
	}
	if len(in.Emails) == 0 {
		return nil, fmt.Errorf("vendor %s needs at least one private contact address", in.ID)
	}
	if in.Registration == "" {
		in.Registration = store.RegGeneral
	}
	if !slices.Contains([]string{store.RegGeneral, store.RegIndividual, store.RegPending}, in.Registration) {
		return nil, fmt.Errorf("registration %q is not one of general, individual, pending", in.Registration)
	}
	if in.Lang == "" {
		in.Lang = d.Cfg.Bot.Language
	}
	if in.Lang != "ja" && in.Lang != "en" {
		return nil, fmt.Errorf("lang %q is not one of ja, en", in.Lang)
	}
	now := o.now
	v := &store.Vendor{ID: in.ID, Name: notice.OneLine(in.Name), Registration: in.Registration, Manager: notice.OneLine(in.Manager),
		Lang: in.Lang, Postal: in.Postal, Phone: notice.OneLine(in.Phone), Community: in.Community, Created: now, Updated: now}
	for i, list := range [][]string{in.Emails, in.PublicEmails} {
		for _, e := range list {
			a, err := mail.ParseAddress(e)
			if err != nil {
				return nil, fmt.Errorf("email %q: not a mail address", e)
			}
			addr := strings.ToLower(a.Address)
			if d.isCoordinatorOrSelf(addr) {
				return nil, fmt.Errorf("email %s is the robot's or a coordinator's address", addr)
			}
			v.Contacts = append(v.Contacts, store.Contact{Addr: addr, Public: i == 1})
		}
	}
	for _, k := range in.Keywords {
		if k = strings.ToLower(strings.TrimSpace(k)); k != "" {
			v.Keywords = append(v.Keywords, k)
		}
	}
	if in.Key != nil {
		v.Keys = []store.Key{*in.Key}
	}
	if _, err := o.tx.Vendor(v.ID); err == nil {
		return nil, fmt.Errorf("vendor %s: %w", v.ID, store.ErrExists)
	}
	if err := o.tx.PutVendor(v); err != nil {
		return nil, err
	}
	return v, nil
}

func (d *Desk) isCoordinatorOrSelf(addr string) bool {
	if strings.EqualFold(addr, d.Cfg.Bot.Address) {
		return true
	}
	_, ok := d.Cfg.Coordinator(addr)
	return ok
}

func validSlug(s string) error {
	if s == "" || len(s) > 64 {
		return fmt.Errorf("%q must be 1 to 64 characters", s)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("%q may hold only a-z, 0-9, '-', '_' and '.'", s)
		}
	}
	return nil
}

// --- cases ---

// CaseInput is what `case new` gives.
type CaseInput struct {
	Title, Overview, Detail, Lead, Reporter string
	Keywords                                []string
	Attach                                  []store.Attach
}

// Op is one operation inside a transaction, on behalf of an actor (the
// CLI or a coordinator's command mail): both run the same code, so a
// command mail can run several operations all or nothing.
type Op struct {
	d     *Desk
	tx    *store.Tx
	now   time.Time
	actor string
	// coordinator: the actor speaks for the desk (CLI, signed command).
	coordinator bool
	queued      bool
	// current is the case a command mail acts on; sent lists the notices
	// queued, for the transcript.
	current string
	sent    []string
}

// Run runs fn in one transaction as actor; nothing of it commits if fn fails.
func (d *Desk) Run(actor string, fn func(o *Op) error) error {
	var queued bool
	err := d.Store.Update(func(tx *store.Tx) error {
		o := &Op{d: d, tx: tx, now: d.Now(), actor: actor, coordinator: true}
		if err := fn(o); err != nil {
			return err
		}
		queued = o.queued
		return nil
	})
	if err == nil && queued {
		d.queued()
	}
	return err
}

// NewCase opens a draft case and returns it with its new ID.
func (d *Desk) NewCase(in CaseInput) (*store.Case, error) {
	var c *store.Case
	err := d.Run(process.ActorCLI, func(o *Op) (err error) { c, err = o.NewCase(in); return })
	if err != nil {
		return nil, fmt.Errorf("new case: %w", err)
	}
	return c, nil
}

// NewCase opens a draft case.
func (o *Op) NewCase(in CaseInput) (*store.Case, error) {
	if strings.TrimSpace(in.Title) == "" {
		return nil, errors.New("case needs a title")
	}
	if strings.TrimSpace(in.Overview) == "" {
		return nil, errors.New("case needs an overview")
	}
	now, tx := o.now, o.tx
	c := &store.Case{Title: notice.OneLine(in.Title), Overview: in.Overview, Detail: in.Detail, Attach: in.Attach,
		Lead: notice.OneLine(in.Lead), Reporter: in.Reporter, State: store.CaseDraft, Created: now, Updated: now}
	for _, k := range in.Keywords {
		if k = strings.ToLower(strings.TrimSpace(k)); k != "" {
			c.Keywords = append(c.Keywords, k)
		}
	}
	for range 100 {
		n, err := rand.Int(rand.Reader, big.NewInt(90000000))
		if err != nil {
			return nil, err
		}
		c.ID = fmt.Sprintf("%s%08d", o.d.Cfg.Bot.CaseIDPrefix, n.Int64()+10000000)
		if !tx.HasCase(c.ID) {
			break
		}
	}
	if tx.HasCase(c.ID) {
		return nil, errors.New("no free case ID")
	}
	if err := tx.PutCase(c); err != nil {
		return nil, err
	}
	if _, err := tx.AddEvent(c.ID, store.Event{Time: now, Actor: o.actor, Kind: process.EvCaseCreated, Summary: "case created"}); err != nil {
		return nil, err
	}
	o.d.Log.Info("case created", "case", c.ID, "actor", o.actor)
	return c, nil
}

// AttachVendors puts vendors on a case without notifying them. Vendors
// already on it are left as they are.
func (d *Desk) AttachVendors(caseID string, vendorIDs []string) error {
	err := d.Run(process.ActorCLI, func(o *Op) error { return o.AttachVendors(caseID, vendorIDs) })
	if err != nil {
		return fmt.Errorf("attach vendors to %s: %w", caseID, err)
	}
	return nil
}

// AttachVendors puts vendors on a case without notifying them.
func (o *Op) AttachVendors(caseID string, vendorIDs []string) error {
	c, err := o.tx.Case(caseID)
	if err != nil {
		return err
	}
	for _, id := range vendorIDs {
		if err := o.attach(c, id); err != nil {
			return err
		}
	}
	return o.tx.PutCase(c)
}

func (o *Op) attach(c *store.Case, vendorID string) error {
	v, err := o.tx.Vendor(vendorID)
	if err != nil {
		return err
	}
	if _, err := o.tx.Participation(c.ID, v.ID); err == nil {
		return nil
	}
	p, eff, err := process.AddVendor(o.now, c, v, o.actor)
	if err != nil {
		return err
	}
	if err := o.tx.PutParticipation(p); err != nil {
		return err
	}
	return o.apply(c, eff)
}

// apply records a rule's effect in the operation's transaction.
func (o *Op) apply(c *store.Case, eff process.Effect) error {
	if len(eff.Notices) > 0 {
		o.queued = true
	}
	for _, n := range eff.Notices {
		to := n.Vendor
		if n.ToCoordinators {
			to = "coordinators"
		}
		o.sent = append(o.sent, n.Kind+" to "+to)
	}
	return o.d.apply(o.tx, o.now, c, eff)
}

// NotifyResult says what `case notify` did per vendor.
type NotifyResult struct {
	Vendor string
	Queued bool
	Reason string
}

// Notify queues the overview or detail for vendors (attaching them when
// needed); "all" means every vendor on the case not yet sent it. Named
// vendors that cannot get it make the whole call fail and nothing is queued.
func (d *Desk) Notify(caseID, kind string, vendorIDs []string) ([]NotifyResult, error) {
	var res []NotifyResult
	err := d.Run(process.ActorCLI, func(o *Op) (err error) { res, err = o.Notify(caseID, kind, vendorIDs); return })
	if err != nil {
		return nil, fmt.Errorf("notify %s on %s: %w", kind, caseID, err)
	}
	return res, nil
}

// Notify queues a notice kind for vendors.
func (o *Op) Notify(caseID, kind string, vendorIDs []string) ([]NotifyResult, error) {
	if kind != process.KindOverview && kind != process.KindDetail {
		return nil, fmt.Errorf("notify %s: not a notice kind (overview, detail)", kind)
	}
	d, tx, now := o.d, o.tx, o.now
	var res []NotifyResult
	c, err := tx.Case(caseID)
	if err != nil {
		return nil, err
	}
	all := len(vendorIDs) == 1 && vendorIDs[0] == "all"
	if all {
		parts, err := tx.Participations(caseID)
		if err != nil {
			return nil, err
		}
		vendorIDs = nil
		for _, p := range parts {
			if wantsNotice(kind, p.State) {
				vendorIDs = append(vendorIDs, p.Vendor)
			}
		}
	}
	for _, id := range vendorIDs {
		if err := o.attach(c, id); err != nil {
			return nil, err
		}
		v, err := tx.Vendor(id)
		if err != nil {
			return nil, err
		}
		p, err := tx.Participation(caseID, id)
		if err != nil {
			return nil, err
		}
		var eff process.Effect
		switch {
		case kind == process.KindDetail:
			eff, err = process.NotifyDetail(now, d.policy(), c, v, p, d.CanEncrypt(v), o.actor)
		case v.Registration == store.RegPending:
			// §2-3: an unregistered vendor is first asked to register.
			eff, err = process.RequestRegistration(now, d.policy(), c, v, p, o.actor)
		default:
			eff, err = process.NotifyOverview(now, d.policy(), c, v, p, o.actor)
		}
		if err != nil {
			if all && (errors.Is(err, process.ErrNotRegistered) || errors.Is(err, process.ErrNoKey)) {
				res = append(res, NotifyResult{Vendor: id, Reason: err.Error()})
				continue
			}
			return nil, err
		}
		if err := tx.PutParticipation(p); err != nil {
			return nil, err
		}
		if err := o.apply(c, eff); err != nil {
			return nil, err
		}
		r := NotifyResult{Vendor: id, Queued: true}
		switch p.State {
		case store.PartRegistrationRequested:
			r.Reason = "not registered: registration request sent instead"
		case store.PartDetailHeld:
			r = NotifyResult{Vendor: id, Reason: "no usable OpenPGP key: detail held, coordinators told"}
		}
		res = append(res, r)
		d.Log.Info("notice queued", "case", caseID, "vendor", r.Vendor, "kind", kind, "queued", r.Queued, "reason", r.Reason, "actor", o.actor)
	}
	return res, tx.PutCase(c)
}

// wantsNotice: which vendors "all" means for a notice kind.
func wantsNotice(kind, state string) bool {
	if kind == process.KindOverview {
		return state == store.PartNew
	}
	switch state {
	case store.PartNew, store.PartOverviewSent, store.PartDetailRequested, store.PartDetailHeld:
		return true
	}
	return false
}

// apply records a rule's events and queues its notices in tx.
func (d *Desk) apply(tx *store.Tx, now time.Time, c *store.Case, eff process.Effect) error {
	for _, e := range eff.Events {
		if _, err := tx.AddEvent(c.ID, e); err != nil {
			return err
		}
	}
	for _, n := range eff.Notices {
		if err := d.queue(tx, now, c, n); err != nil {
			return err
		}
	}
	return nil
}

// ImportVendorKey pins a checked public key for a vendor (confirmed: a
// coordinator or operator gave it) and releases every detail held for the
// vendor for want of a key. It returns the cases whose detail was queued.
func (d *Desk) ImportVendorKey(vendorID string, pub *keys.Public) ([]string, error) {
	now := d.Now()
	var released []string
	err := d.Store.Update(func(tx *store.Tx) error {
		released = nil
		v, err := tx.Vendor(vendorID)
		if err != nil {
			return err
		}
		kept := v.Keys[:0]
		for _, k := range v.Keys {
			if k.Fingerprint != pub.Fingerprint {
				kept = append(kept, k)
			}
		}
		v.Keys = append(kept, store.Key{Fingerprint: pub.Fingerprint, Armored: pub.Armored, Added: now})
		v.Updated = now
		if err := tx.PutVendor(v); err != nil {
			return err
		}
		cases, err := tx.Cases()
		if err != nil {
			return err
		}
		for _, c := range cases {
			p, err := tx.Participation(c.ID, v.ID)
			if err != nil || p.State != store.PartDetailHeld || !process.Open(c) {
				continue
			}
			eff, err := process.NotifyDetail(now, d.policy(), c, v, p, true, process.ActorCLI)
			if err != nil {
				return err
			}
			if err := tx.PutParticipation(p); err != nil {
				return err
			}
			if err := d.apply(tx, now, c, eff); err != nil {
				return err
			}
			if err := tx.PutCase(c); err != nil {
				return err
			}
			released = append(released, c.ID)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("import key for %s: %w", vendorID, err)
	}
	d.keysChanged()
	d.Log.Info("vendor key imported", "vendor", vendorID, "fingerprint", pub.Fingerprint, "released", len(released))
	if len(released) > 0 {
		d.queued()
	}
	return released, nil
}

// RemoveVendorKey unpins a key.
func (d *Desk) RemoveVendorKey(vendorID, fpr string) error {
	fpr = strings.ToUpper(strings.ReplaceAll(fpr, " ", ""))
	return d.Store.Update(func(tx *store.Tx) error {
		v, err := tx.Vendor(vendorID)
		if err != nil {
			return err
		}
		kept := v.Keys[:0]
		for _, k := range v.Keys {
			if k.Fingerprint != fpr {
				kept = append(kept, k)
			}
		}
		if len(kept) == len(v.Keys) {
			return fmt.Errorf("vendor %s has no key %s: %w", vendorID, fpr, store.ErrNotFound)
		}
		v.Keys = kept
		v.Updated = d.Now()
		d.keysChanged()
		return tx.PutVendor(v)
	})
}

// ConfirmVendorKey trusts a key that arrived by mail and waits as pending,
// then releases held details like ImportVendorKey.
func (d *Desk) ConfirmVendorKey(vendorID, fpr string) ([]string, error) {
	fpr = strings.ToUpper(strings.ReplaceAll(fpr, " ", ""))
	var armored string
	err := d.Store.View(func(tx *store.Tx) error {
		v, err := tx.Vendor(vendorID)
		if err != nil {
			return err
		}
		for _, k := range v.Keys {
			if k.Fingerprint == fpr && k.Pending {
				armored = k.Armored
			}
		}
		if armored == "" {
			return fmt.Errorf("vendor %s has no pending key %s: %w", vendorID, fpr, store.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	pub, err := keys.ParsePublic([]byte(armored), d.Now())
	if err != nil {
		return nil, fmt.Errorf("pending key %s: %w", fpr, err)
	}
	return d.ImportVendorKey(vendorID, pub)
}
