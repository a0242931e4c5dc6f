package desk

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/emersion/go-message/mail"

	"github.com/coordbot/coordbot/mailbot/keys"
	"github.com/coordbot/coordbot/mailbot/seal"
	"github.com/coordbot/coordbot/store"
)

func genKey(t *testing.T, addr string) (*openpgp.Entity, *keys.Public) {
	t.Helper()
	e, err := keys.Generate(addr, addr, keys.GenOptions{}, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	arm, _ := keys.ArmoredPublic(e)
	pub, err := keys.ParsePublic(arm, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return e, pub
}

func vendorMail(from, subject, body string) *seal.Message {
	var h mail.Header
	h.SetAddressList("From", []*mail.Address{{Address: from}})
	h.SetAddressList("To", []*mail.Address{{Address: botAddr}})
	h.SetSubject(subject)
	h.SetDate(time.Now())
	h.SetMessageID(fmt.Sprintf("%d@vendor.test", time.Now().UnixNano()))
	return &seal.Message{Header: h, Body: body}
}

// TestVendorSignatures: who signed an answer decides whether it counts.
func TestVendorSignatures(t *testing.T) {
	f := newFixture(t)
	robot, _ := f.d.RobotKey()
	acmeKey, acmePub := genKey(t, acmeAddr)
	betaKey, betaPub := genKey(t, betaAddr)
	strangerKey, _ := genKey(t, "stranger@example.org")
	for v, pub := range map[string]*keys.Public{"acme": acmePub, "beta": betaPub} {
		if _, err := f.d.ImportVendorKey(v, pub); err != nil {
			t.Fatal(err)
		}
	}
	yes := "Request detail: yes\n"
	subj := "Re: [" + f.caseID + "] overview"
	encrypt := func(signer *openpgp.Entity, m *seal.Message) []byte {
		raw, err := seal.Encrypt(m, signer, []*openpgp.Entity{robot}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	sign := func(signer *openpgp.Entity, m *seal.Message) []byte {
		raw, err := seal.Sign(m, signer, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	tests := []struct {
		name    string
		raw     func() []byte
		require bool
		outcome string
		reason  string
		auth    bool
	}{
		{"encrypted and signed by the vendor's key", func() []byte { return encrypt(acmeKey, vendorMail(acmeAddr, subj, yes)) }, false, store.OutcomeApplied, "", true},
		{"signed only by the vendor's key", func() []byte { return sign(acmeKey, vendorMail(acmeAddr, subj, yes)) }, false, store.OutcomeApplied, "", true},
		{"protected subject only inside", func() []byte {
			m := vendorMail(acmeAddr, "...", yes)
			m.ProtectedSubject = subj
			return encrypt(acmeKey, m)
		}, false, store.OutcomeApplied, "", true},
		{"signed by another vendor's key", func() []byte { return encrypt(betaKey, vendorMail(acmeAddr, subj, yes)) }, false, store.OutcomeQuarantine, "not the vendor's", false},
		{"signed by an unknown key", func() []byte { return encrypt(strangerKey, vendorMail(acmeAddr, subj, yes)) }, false, store.OutcomeQuarantine, "unknown key", false},
		{"signed by the robot's own key", func() []byte { return sign(robot, vendorMail(acmeAddr, subj, yes)) }, false, store.OutcomeQuarantine, "", false},
		{"unsigned, allowed", func() []byte { return mailFrom(acmeAddr, subj, "", yes) }, false, store.OutcomeApplied, "", false},
		{"unsigned, signatures required", func() []byte { return mailFrom(acmeAddr, subj, "", yes) }, true, store.OutcomeQuarantine, "unsigned", false},
		{"tampered signed body", func() []byte {
			return []byte(strings.Replace(string(sign(acmeKey, vendorMail(acmeAddr, subj, yes))), "Request detail: yes", "Request detail: no ", 1))
		}, false, store.OutcomeQuarantine, "", false},
	}
	base := snapshot(f)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			restore(f, base)
			f.d.keysChanged()
			f.d.Cfg.PGP.RequireSignedVendorAnswers = tt.require
			defer func() { f.d.Cfg.PGP.RequireSignedVendorAnswers = false }()
			res := f.handle(tt.raw())
			if res.Outcome != tt.outcome || !strings.Contains(res.Reason, tt.reason) {
				t.Fatalf("outcome %s (%s), want %s (%s)", res.Outcome, res.Reason, tt.outcome, tt.reason)
			}
			var e *store.LedgerEntry
			f.d.Store.View(func(tx *store.Tx) (err error) { e, err = tx.LedgerByUID("INBOX", 1, f.uid); return })
			if e.Authenticated != tt.auth {
				t.Fatalf("authenticated %v, want %v", e.Authenticated, tt.auth)
			}
			if tt.outcome == store.OutcomeApplied {
				var evs []store.Event
				f.d.Store.View(func(tx *store.Tx) (err error) { evs, err = tx.Events(f.caseID); return })
				last := evs[len(evs)-1]
				for _, ev := range evs {
					if ev.Kind == "detail-requested" {
						last = ev
					}
				}
				if last.Authenticated != tt.auth {
					t.Fatalf("event %+v", last)
				}
				if p := f.part("acme"); p.State != store.PartDetailSent {
					t.Fatalf("acme %s: a vendor with a key gets the detail at once", p.State)
				}
			}
		})
	}
}

// TestKeyByMail: a key pasted into an answer is pending until confirmed,
// unless the answer is signed by the vendor's current key.
func TestKeyByMail(t *testing.T) {
	f := newFixture(t)
	_, newPub := genKey(t, acmeAddr)
	body := "Request detail: yes\n\nOur key:\n" + newPub.Armored
	res := f.handle(mailFrom(acmeAddr, "Re: ["+f.caseID+"]", "", body))
	if res.Outcome != store.OutcomeApplied {
		t.Fatalf("%+v", res)
	}
	var v *store.Vendor
	f.d.Store.View(func(tx *store.Tx) (err error) { v, err = tx.Vendor("acme"); return })
	if len(v.Keys) != 1 || !v.Keys[0].Pending || v.Keys[0].Fingerprint != newPub.Fingerprint {
		t.Fatalf("keys %+v", v.Keys)
	}
	if f.part("acme").State != store.PartDetailHeld {
		t.Fatal("a pending key was used")
	}
	released, err := f.d.ConfirmVendorKey("acme", newPub.Fingerprint)
	if err != nil || len(released) != 1 || f.part("acme").State != store.PartDetailSent {
		t.Fatalf("confirm: %v %v %s", released, err, f.part("acme").State)
	}
	notes := 0
	for _, e := range f.queued() {
		if e.To[0] == coordAddr && strings.Contains(string(e.Raw), "multipart/signed") {
			notes++
		}
	}
	if notes < 2 { // detail held + key pending
		t.Fatalf("coordinator notices %d", notes)
	}
}
