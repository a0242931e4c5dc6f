package desk

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/coordbot/coordbot/mailbot/keys"
	"github.com/coordbot/coordbot/mailbot/open"
	"github.com/coordbot/coordbot/mailbot/seal"
	"github.com/coordbot/coordbot/store"
)

// withCoordinatorKey gives the fixture's coordinator a configured key.
func withCoordinatorKey(t *testing.T, f *fixture) *openpgp.Entity {
	t.Helper()
	k, pub := genKey(t, coordAddr)
	path := filepath.Join(t.TempDir(), "coord.asc")
	if err := os.WriteFile(path, []byte(pub.Armored), 0o600); err != nil {
		t.Fatal(err)
	}
	f.d.Cfg.Coordinators[0].KeyFile = path
	f.d.Cfg.Coordinators[0].Fingerprint = pub.Fingerprint
	f.d.keysChanged()
	return k
}

func (f *fixture) caseOf() *store.Case {
	var c *store.Case
	f.d.Store.View(func(tx *store.Tx) (err error) { c, err = tx.Case(f.caseID); return })
	return c
}

func (f *fixture) transcripts(since int) []*open.Message {
	var out []*open.Message
	robot, _ := f.d.RobotKey()
	dec, _ := keys.SecretV2(robot)
	for _, e := range f.outbox()[since:] {
		if e.Kind != KindTranscript {
			continue
		}
		m, err := open.ParseWith(e.Raw, open.Limits{}, &open.Keys{Decrypt: dec})
		if err != nil {
			f.t.Fatal(err)
		}
		if !strings.HasPrefix(m.OuterSubject+m.Subject, "Processed") {
			f.t.Fatalf("transcript subject %q / %q", m.OuterSubject, m.Subject)
		}
		out = append(out, m)
	}
	return out
}

func TestCommandMails(t *testing.T) {
	f := newFixture(t)
	coord := withCoordinatorKey(t, f)
	robot, _ := f.d.RobotKey()
	acmeKey, _ := genKey(t, acmeAddr)
	subj := "Re: [" + f.caseID + "] coordination"
	signedEnc := func(signer *openpgp.Entity, from, subject, body string) []byte {
		m := vendorMail(from, "...", body)
		m.ProtectedSubject = subject
		raw, err := seal.Encrypt(m, signer, []*openpgp.Entity{robot}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	signedOnly := func(signer *openpgp.Entity, from, subject, body string) []byte {
		raw, err := seal.Sign(vendorMail(from, subject, body), signer, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	good := "Hello ACME, we coordinate with CERT/CC.\n\n#coordbot lead CERT/CC VU#123456\n#coordbot note talked to ACME by phone\n"
	tests := []struct {
		name       string
		raw        func() []byte
		outcome    string
		reason     string
		lead       string // the case's lead afterwards
		transcript string // "" = none; else text it must contain
	}{
		{"signed and encrypted, case in the protected subject", func() []byte { return signedEnc(coord, coordAddr, subj, good) },
			store.OutcomeApplied, "command mail", "CERT/CC VU#123456", "ok: lead CERT/CC VU#123456"},
		{"signed only, case line", func() []byte {
			return signedOnly(coord, coordAddr, "whatever", "#coordbot case "+f.caseID+"\n"+good)
		}, store.OutcomeApplied, "command mail", "CERT/CC VU#123456", "ok: noted"},
		{"case only in the outer subject", func() []byte { return signedOnly(coord, coordAddr, subj, good) },
			store.OutcomeApplied, "nothing run", "", "error: no case"},
		{"one bad line: nothing runs", func() []byte { return signedEnc(coord, coordAddr, subj, good+"#coordbot frobnicate acme\n") },
			store.OutcomeApplied, "nothing run", "", "Processed (with 1 errors)"},
		{"preview", func() []byte { return signedEnc(coord, coordAddr, subj, "#coordbot preview\n"+good) },
			store.OutcomeApplied, "preview", "", "lead CERT/CC"},
		{"unsigned", func() []byte { return mailFrom(coordAddr, subj, "", good) }, store.OutcomeQuarantine, "not signed", "", ""},
		{"signed by a vendor's key", func() []byte { return signedEnc(acmeKey, coordAddr, subj, good) }, store.OutcomeQuarantine, "", "", ""},
		{"commands from a vendor", func() []byte { return mailFrom(acmeAddr, subj, "", "#coordbot publish\n") }, store.OutcomeQuarantine, "not a coordinator", "", ""},
		{"quoted commands in a reply-all", func() []byte {
			return mailFrom(acmeAddr, subj, "", "Request detail: yes\n\n> #coordbot publish\n> #coordbot close\n")
		}, store.OutcomeApplied, "overview answer", "", ""},
	}
	base := snapshot(f)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			restore(f, base)
			f.d.keysChanged()
			n := len(f.outbox())
			res := f.handle(tt.raw())
			if res.Outcome != tt.outcome || !strings.Contains(res.Reason, tt.reason) {
				t.Fatalf("outcome %s (%s), want %s (%s)", res.Outcome, res.Reason, tt.outcome, tt.reason)
			}
			if c := f.caseOf(); c.Lead != tt.lead || c.State != store.CaseActive {
				t.Fatalf("lead %q state %s, want %q", c.Lead, c.State, tt.lead)
			}
			ts := f.transcripts(n)
			if tt.transcript == "" {
				if len(ts) != 0 {
					t.Fatalf("unexpected transcript:\n%s", ts[0].Text)
				}
				return
			}
			if len(ts) != 1 || !strings.Contains(ts[0].Subject+"\n"+ts[0].Text, tt.transcript) {
				t.Fatalf("transcript lacks %q: %+v", tt.transcript, ts)
			}
			if !strings.Contains(ts[0].Text, "> #coordbot note talked to ACME by phone") {
				t.Fatalf("lines not echoed:\n%s", ts[0].Text)
			}
		})
	}
}

func TestCommandReplay(t *testing.T) {
	f := newFixture(t)
	coord := withCoordinatorKey(t, f)
	raw, err := seal.Sign(vendorMail(coordAddr, "x", "#coordbot case "+f.caseID+"\n#coordbot note once\n"), coord, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if res := f.handle(raw); res.Outcome != store.OutcomeApplied {
		t.Fatalf("first: %+v", res)
	}
	// The same signed mail with a new outer Message-ID: a replay.
	i := strings.Index(string(raw), "Message-Id: <")
	replayed := []byte(string(raw[:i]) + "Message-Id: <replay." + string(raw[i+len("Message-Id: <"):]))
	res := f.handle(replayed)
	if res.Outcome != store.OutcomeQuarantine || !strings.Contains(res.Reason, "replayed") {
		t.Fatalf("replay: %+v", res)
	}
	notes := 0
	f.d.Store.View(func(tx *store.Tx) error {
		evs, _ := tx.Events(f.caseID)
		for _, e := range evs {
			if e.Kind == EvNote {
				notes++
			}
		}
		return nil
	})
	if notes != 1 {
		t.Fatalf("%d notes", notes)
	}
	// A stale signature is refused.
	f.d.Cfg.PGP.CommandSignatureMaxAge.Duration = time.Nanosecond
	raw2, _ := seal.Sign(vendorMail(coordAddr, "x", "#coordbot case "+f.caseID+"\n#coordbot note later\n"), coord, time.Now().Add(-time.Hour))
	if res := f.handle(raw2); res.Outcome != store.OutcomeQuarantine || !strings.Contains(res.Reason, "older") {
		t.Fatalf("stale: %+v", res)
	}
}
