package desk

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-smtp"

	"github.com/coordbot/coordbot/mailbot/config"
	"github.com/coordbot/coordbot/mailbot/devmail"
	"github.com/coordbot/coordbot/mailbot/inbox"
	"github.com/coordbot/coordbot/mailbot/keys"
	"github.com/coordbot/coordbot/mailbot/open"
	"github.com/coordbot/coordbot/store"
)

const (
	botAddr   = "vultures@cert.example"
	coordAddr = "coord@cert.example"
	acmeAddr  = "psirt@acme.example"
	betaAddr  = "security@beta.example"
	pw        = "pw"
)

type fixture struct {
	t      *testing.T
	d      *Desk
	srv    *devmail.Servers
	mail   Mail
	caseID string
	// overview Message-IDs per vendor
	ovID map[string]string
	uid  uint32
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	users := map[string]string{botAddr: pw, coordAddr: pw, acmeAddr: pw, betaAddr: pw, "stranger@example.org": pw}
	srv, err := devmail.Start(users, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`[bot]
address = %q
data_dir = %q
[imap]
address = %q
security = "none"
password_env = "COORDBOT_TEST_PW"
[smtp]
address = %q
security = "none"
sent_mailbox = "Sent"
[[coordinator]]
address = %q
`, botAddr, dir, srv.IMAPAddr, srv.SMTPAddr, coordAddr)), filepath.Join(dir, "c.toml"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("COORDBOT_TEST_PW", pw)
	st, err := store.Open(cfg.StorePath(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d := New(st, cfg, nil)
	robot, err := keys.Generate("coordbot", botAddr, keys.GenOptions{}, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	d.SetRobotKey(robot)
	ic, _ := IMAPConfig(cfg)
	sc, _ := SMTPConfig(cfg)
	f := &fixture{t: t, d: d, srv: srv, mail: Mail{IMAP: ic, SMTP: sc}, ovID: map[string]string{}}
	for _, v := range []VendorInput{
		{ID: "acme", Name: "ACME", Emails: []string{acmeAddr}, Lang: "ja"},
		{ID: "beta", Name: "Beta", Emails: []string{betaAddr}, Lang: "en"},
	} {
		if _, err := d.AddVendor(v); err != nil {
			t.Fatal(err)
		}
	}
	c, err := d.NewCase(CaseInput{Title: "Secret title", Overview: "overview text", Detail: "DETAIL-MARKER"})
	if err != nil {
		t.Fatal(err)
	}
	f.caseID = c.ID
	if _, err := d.Notify(c.ID, "overview", []string{"acme", "beta"}); err != nil {
		t.Fatal(err)
	}
	f.poll()
	for v, addr := range map[string]string{"acme": acmeAddr, "beta": betaAddr} {
		msgs := f.messages(addr, "INBOX")
		if len(msgs) != 1 {
			t.Fatalf("%s got %d overviews", v, len(msgs))
		}
		f.ovID[v] = msgs[0].MessageID
	}
	return f
}

func (f *fixture) poll() {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.d.PollOnce(ctx, f.mail); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) messages(user, mbox string) []*open.Message {
	f.t.Helper()
	raws, err := f.srv.Messages(user, mbox)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []*open.Message
	for _, r := range raws {
		m, err := open.Parse(r, open.Limits{})
		if err != nil {
			f.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func (f *fixture) part(vendor string) *store.Participation {
	f.t.Helper()
	var p *store.Participation
	f.d.Store.View(func(tx *store.Tx) (err error) { p, err = tx.Participation(f.caseID, vendor); return })
	return p
}

func (f *fixture) queued() []*store.OutboxEntry {
	var out []*store.OutboxEntry
	f.d.Store.View(func(tx *store.Tx) (err error) {
		out, err = tx.Outbox(func(e *store.OutboxEntry) bool { return e.State == store.OutQueued })
		return
	})
	return out
}

func mailFrom(from, subject, inReplyTo, body string, extra ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%d@test>\r\nDate: %s\r\n", from, botAddr, subject,
		time.Now().UnixNano(), time.Now().Format(time.RFC1123Z))
	if inReplyTo != "" {
		fmt.Fprintf(&b, "In-Reply-To: <%s>\r\n", inReplyTo)
	}
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n\r\n" + strings.ReplaceAll(body, "\n", "\r\n"))
	return []byte(b.String())
}

// TestInbound feeds one message each through the pipeline and checks the
// outcome, the folder, the vendor's state and who gets a notice.
func TestInbound(t *testing.T) {
	dsn := func(f *fixture) []byte {
		return []byte("From: MAILER-DAEMON@cert.example (Mail Delivery System)\r\nTo: " + botAddr + "\r\n" +
			"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn1@cert.example>\r\nAuto-Submitted: auto-replied\r\n" +
			"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n" +
			"--B\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you that your message could not be delivered.\r\n" +
			"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; cert.example\r\n\r\n" +
			"Final-Recipient: rfc822; " + acmeAddr + "\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\r\n" +
			"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: " + botAddr + "\r\nMessage-ID: <" + f.ovID["acme"] + ">\r\nSubject: [" + f.caseID + "] x\r\n" +
			"--B--\r\n")
	}
	tests := []struct {
		name      string
		raw       func(f *fixture) []byte
		outcome   string
		dest      string
		acmeState string
		notices   map[string]int // recipient → count
		check     func(t *testing.T, f *fixture)
	}{
		{
			name: "yes by subject",
			raw: func(f *fixture) []byte {
				return mailFrom(acmeAddr, "Re: ["+f.caseID+"] overview", "", "詳細情報の請求 / Request detail: yes\n")
			},
			outcome: store.OutcomeApplied, dest: "Processed", acmeState: store.PartDetailHeld,
			notices: map[string]int{acmeAddr: 1, coordAddr: 1}, // ack; no key: detail held, coordinators told
		},
		{
			name: "no by In-Reply-To only, full-width subject noise",
			raw: func(f *fixture) []byte {
				return mailFrom(acmeAddr, "返信: お問い合わせ", f.ovID["acme"], "詳細情報の請求：いいえ\n")
			},
			outcome: store.OutcomeApplied, dest: "Processed", acmeState: store.PartNoProduct,
			notices: map[string]int{acmeAddr: 1},
		},
		{
			name: "full-width case id",
			raw: func(f *fixture) []byte {
				return mailFrom(acmeAddr, "RE: "+toFullWidth(f.caseID), "", "Request detail: yes\n")
			},
			outcome: store.OutcomeApplied, dest: "Processed", acmeState: store.PartDetailHeld,
			notices: map[string]int{acmeAddr: 1, coordAddr: 1}, // ack; no key: detail held, coordinators told
		},
		{
			name: "unknown sender naming the case",
			raw: func(f *fixture) []byte {
				return mailFrom("stranger@example.org", "Re: ["+f.caseID+"]", "", "Request detail: yes\n")
			},
			outcome: store.OutcomeQuarantine, dest: "Quarantine", acmeState: store.PartOverviewSent,
			notices: map[string]int{coordAddr: 1},
		},
		{
			name: "forged display name does not help",
			raw: func(f *fixture) []byte {
				return mailFrom("\"psirt@acme.example\" <stranger@example.org>", "Re: ["+f.caseID+"]", "", "Request detail: yes\n")
			},
			outcome: store.OutcomeQuarantine, dest: "Quarantine", acmeState: store.PartOverviewSent,
			notices: map[string]int{coordAddr: 1},
		},
		{
			name: "several From addresses",
			raw: func(f *fixture) []byte {
				return mailFrom(acmeAddr+", stranger@example.org", "Re: ["+f.caseID+"]", "", "Request detail: yes\n")
			},
			outcome: store.OutcomeQuarantine, dest: "Quarantine", acmeState: store.PartOverviewSent,
			notices: map[string]int{coordAddr: 1},
		},
		{
			name:    "no case anywhere",
			raw:     func(f *fixture) []byte { return mailFrom(acmeAddr, "hello", "", "Request detail: yes\n") },
			outcome: store.OutcomeQuarantine, dest: "Quarantine", acmeState: store.PartOverviewSent,
			notices: map[string]int{coordAddr: 1},
		},
		{
			name: "answer not understood",
			raw: func(f *fixture) []byte {
				return mailFrom(acmeAddr, "Re: ["+f.caseID+"]", "", "Thanks, we will look.\n\n> 詳細情報の請求 / Request detail: yes | no\n")
			},
			outcome: store.OutcomeQuarantine, dest: "Quarantine", acmeState: store.PartOverviewSent,
			notices: map[string]int{coordAddr: 1},
		},
		{
			name: "vendor not on the case",
			raw: func(f *fixture) []byte {
				return mailFrom(betaAddr, "Re: [JVNVU#00000001]", "", "Request detail: yes\n")
			},
			outcome: store.OutcomeQuarantine, dest: "Quarantine", acmeState: store.PartOverviewSent,
			notices: map[string]int{coordAddr: 1},
		},
		{
			name: "out of office",
			raw: func(f *fixture) []byte {
				return mailFrom(acmeAddr, "Automatic reply: ["+f.caseID+"]", "", "I am away. Request detail: yes\n", "Auto-Submitted: auto-replied")
			},
			outcome: store.OutcomeAutoReply, dest: "Processed", acmeState: store.PartOverviewSent,
		},
		{
			name:    "our own mail back",
			raw:     func(f *fixture) []byte { return mailFrom(botAddr, "["+f.caseID+"] x", "", "Request detail: yes\n") },
			outcome: store.OutcomeOwn, dest: "Processed", acmeState: store.PartOverviewSent,
		},
		{
			name:    "bounce marks the contact failing",
			raw:     dsn,
			outcome: store.OutcomeBounce, dest: "Processed", acmeState: store.PartOverviewSent,
			notices: map[string]int{coordAddr: 1},
			check: func(t *testing.T, f *fixture) {
				f.d.Store.View(func(tx *store.Tx) error {
					v, _ := tx.Vendor("acme")
					if !v.Contacts[0].Failing || !strings.Contains(v.Contacts[0].FailingNote, "5.1.1") {
						t.Fatalf("contact %+v", v.Contacts[0])
					}
					return nil
				})
			},
		},
		{
			name:    "malformed",
			raw:     func(f *fixture) []byte { return []byte("\x00\x01garbage without header end") },
			outcome: store.OutcomeQuarantine, dest: "Quarantine", acmeState: store.PartOverviewSent,
			notices: map[string]int{coordAddr: 1},
		},
		{
			name: "too large",
			raw: func(f *fixture) []byte {
				return mailFrom(acmeAddr, "Re: ["+f.caseID+"]", "", "Request detail: yes\n"+strings.Repeat("x", 33<<20))
			},
			outcome: store.OutcomeQuarantine, dest: "Quarantine", acmeState: store.PartOverviewSent,
			notices: map[string]int{coordAddr: 1},
		},
	}
	f := newFixture(t)
	base := snapshot(f)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			restore(f, base)
			raw := tt.raw(f)
			res, err := f.d.Handle(Inbound{Mailbox: "INBOX", UIDValidity: 1, UID: uint32(100 + i), Raw: raw})
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != tt.outcome || res.Dest != tt.dest {
				t.Fatalf("outcome %s → %s (%s), want %s → %s", res.Outcome, res.Dest, res.Reason, tt.outcome, tt.dest)
			}
			if st := f.part("acme").State; st != tt.acmeState {
				t.Fatalf("acme state %q, want %q", st, tt.acmeState)
			}
			got := map[string]int{}
			for _, e := range f.queued() {
				for _, to := range e.To {
					got[to]++
				}
				if strings.Contains(string(e.Raw), "DETAIL-MARKER") {
					t.Fatal("detail text in a notice")
				}
				if e.Kind == "triage" && strings.Contains(string(e.Raw), "Request detail") {
					t.Fatal("triage quotes the inbound text to a coordinator without a key")
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(orEmpty(tt.notices)) {
				t.Fatalf("notices to %v, want %v", got, tt.notices)
			}
			if got["stranger@example.org"] > 0 {
				t.Fatal("something went to the stranger")
			}
			// The same bytes again: recorded once, no second effect.
			again, err := f.d.Handle(Inbound{Mailbox: "INBOX", UIDValidity: 1, UID: uint32(200 + i), Raw: raw})
			if err != nil {
				t.Fatal(err)
			}
			if !again.Again || len(f.queued()) != sum(got) {
				t.Fatalf("second copy: %+v, queued %d", again, len(f.queued()))
			}
			if tt.check != nil {
				tt.check(t, f)
			}
		})
	}
}

func orEmpty(m map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return m
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func toFullWidth(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '0' && r <= '9', r >= 'A' && r <= 'Z':
			return r - 0x20 + 0xFF00
		case r == '#':
			return '＃'
		}
		return r
	}, s)
}

// snapshot and restore reset the per-test state (participations, outbox,
// vendors, ledger) by copying the store file.
type snap struct{ path string }

func snapshot(f *fixture) snap {
	p := filepath.Join(f.t.TempDir(), "snap.db")
	if err := f.d.Store.BackupFile(p); err != nil {
		f.t.Fatal(err)
	}
	return snap{p}
}

func restore(f *fixture, s snap) {
	f.t.Helper()
	path := f.d.Store.Path()
	f.d.Store.Close()
	st, err := store.Open(s.path, store.Options{})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := st.BackupFile(path); err != nil {
		f.t.Fatal(err)
	}
	st.Close()
	st, err = store.Open(path, store.Options{})
	if err != nil {
		f.t.Fatal(err)
	}
	f.d.Store = st
	f.t.Cleanup(func() { st.Close() })
}

// TestDeliveredTwice: the same answer delivered twice by SMTP (different
// Received lines) has one effect; both copies end in Processed.
func TestDeliveredTwice(t *testing.T) {
	f := newFixture(t)
	raw := mailFrom(acmeAddr, "Re: ["+f.caseID+"]", "", "Request detail: yes\n")
	for range 2 {
		if err := smtpSendTest(f.srv.SMTPAddr, acmeAddr, raw); err != nil {
			t.Fatal(err)
		}
	}
	f.poll()
	if n := len(f.messages(botAddr, "Processed")); n != 2 {
		t.Fatalf("Processed holds %d", n)
	}
	if n := len(f.messages(acmeAddr, "INBOX")); n != 2 { // overview + one ack
		t.Fatalf("acme got %d messages, want overview and one ack", n)
	}
	var kinds []string
	f.d.Store.View(func(tx *store.Tx) error {
		evs, _ := tx.Events(f.caseID)
		for _, e := range evs {
			kinds = append(kinds, e.Kind)
		}
		return nil
	})
	if strings.Count(strings.Join(kinds, ","), "detail-requested") != 1 {
		t.Fatalf("events %v", kinds)
	}
}

// TestCrashBetweenCommitAndMove: a message recorded but not moved (the
// process died in between) is moved on the next pass, with no second effect.
func TestCrashBetweenCommitAndMove(t *testing.T) {
	f := newFixture(t)
	raw := mailFrom(acmeAddr, "Re: ["+f.caseID+"]", "", "Request detail: yes\n")
	if err := f.srv.Deliver(botAddr, "INBOX", raw); err != nil {
		t.Fatal(err)
	}
	// Record it the way Poll would, without the MOVE.
	ctx := context.Background()
	c, err := dialInbox(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	uv, _ := c.Select("INBOX")
	uids, _ := c.NewUIDs(0)
	c.Fetch(uids, func(uid imap.UID, raw []byte, err error) error {
		_, herr := f.d.Handle(Inbound{Mailbox: "INBOX", UIDValidity: uv, UID: uint32(uid), Raw: raw})
		return herr
	})
	c.Close()
	f.poll()
	if n := len(f.messages(botAddr, "INBOX")); n != 0 {
		t.Fatalf("INBOX still holds %d", n)
	}
	if n := len(f.messages(acmeAddr, "INBOX")); n != 2 {
		t.Fatalf("acme got %d messages, want overview and one ack", n)
	}
}

// TestStoreFailureLeavesMessage: when the store cannot be written, the
// message stays in the mailbox and is handled on a later pass.
func TestStoreFailureLeavesMessage(t *testing.T) {
	f := newFixture(t)
	raw := mailFrom(acmeAddr, "Re: ["+f.caseID+"]", "", "Request detail: yes\n")
	if err := f.srv.Deliver(botAddr, "INBOX", raw); err != nil {
		t.Fatal(err)
	}
	path := f.d.Store.Path()
	f.d.Store.Close() // every write now fails
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.d.PollOnce(ctx, f.mail); err == nil {
		t.Fatal("poll with a broken store reported success")
	}
	if n := len(f.messages(botAddr, "INBOX")); n != 1 {
		t.Fatalf("INBOX holds %d, want the message left in place", n)
	}
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f.d.Store = st
	f.poll()
	if f.part("acme").State != store.PartDetailHeld {
		t.Fatal("answer not applied after recovery")
	}
	if n := len(f.messages(botAddr, "Processed")); n != 1 {
		t.Fatalf("Processed holds %d", n)
	}
}

func dialInbox(ctx context.Context, f *fixture) (*inbox.Client, error) {
	return inbox.Dial(ctx, f.mail.IMAP, nil)
}

func smtpSendTest(addr, from string, raw []byte) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SendMail(from, []string{botAddr}, bytes.NewReader(raw)); err != nil {
		return err
	}
	return c.Quit()
}

func TestRotateKey(t *testing.T) {
	f := newFixture(t)
	// Key files on disk, as init leaves them.
	cur, _ := f.d.RobotKey()
	if err := keys.WritePrivate(f.d.Cfg.PGP.KeyFile, cur, nil); err != nil {
		t.Fatal(err)
	}
	oldFpr, newFpr, err := f.d.RotateKey(keys.GenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if oldFpr != keys.Fingerprint(cur) || newFpr == oldFpr {
		t.Fatalf("old %s new %s", oldFpr, newFpr)
	}
	onDisk, err := keys.LoadPrivate(f.d.Cfg.PGP.KeyFile, nil)
	if err != nil || keys.Fingerprint(onDisk) != newFpr {
		t.Fatalf("key file holds %v (%v)", onDisk, err)
	}
	// The new key carries a certification by the old one.
	certified := false
	for _, id := range onDisk.Identities {
		for _, sig := range id.Signatures {
			if sig.IssuerKeyId != nil && *sig.IssuerKeyId == cur.PrimaryKey.KeyId {
				certified = true
			}
		}
	}
	if !certified {
		t.Fatal("new key not certified by the old one")
	}
	// A fresh desk still finds the old key for reading.
	d2 := New(f.d.Store, f.d.Cfg, nil)
	old, err := d2.RetiredKeys()
	if err != nil || len(old) != 1 || keys.Fingerprint(old[0]) != oldFpr {
		t.Fatalf("retired keys %v %v", old, err)
	}
	var notes int
	for _, e := range f.queued() {
		if e.Kind == KindKeyRotated && e.To[0] == coordAddr && strings.Contains(string(e.Raw), "multipart/signed") {
			notes++
		}
	}
	if notes != 1 {
		t.Fatalf("coordinator notices %d", notes)
	}
}

func (f *fixture) outbox() []*store.OutboxEntry {
	var out []*store.OutboxEntry
	f.d.Store.View(func(tx *store.Tx) (err error) { out, err = tx.Outbox(nil); return })
	return out
}

func (f *fixture) handle(raw []byte) Result {
	f.t.Helper()
	f.uid++
	res, err := f.d.Handle(Inbound{Mailbox: "INBOX", UIDValidity: 1, UID: f.uid, Raw: raw})
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

// TestLifecycle runs detail, date, publication and registration through
// the desk and checks who gets what, and that confidential notices are
// only ever encrypted.
func TestLifecycle(t *testing.T) {
	f := newFixture(t)
	betaKey, err := keys.Generate("beta", betaAddr, keys.GenOptions{}, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	arm, _ := keys.ArmoredPublic(betaKey)
	pub, err := keys.ParsePublic(arm, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// acme answers yes without a key: held.
	f.handle(mailFrom(acmeAddr, "Re: ["+f.caseID+"]", "", "Request detail: yes\n"))
	if f.part("acme").State != store.PartDetailHeld {
		t.Fatal("acme not held")
	}
	// beta gets a key, then answers yes: the detail goes out encrypted.
	if _, err := f.d.ImportVendorKey("beta", pub); err != nil {
		t.Fatal(err)
	}
	f.handle(mailFrom(betaAddr, "Re: ["+f.caseID+"]", "", "Request detail: yes\n"))
	if p := f.part("beta"); p.State != store.PartDetailSent || p.Status != store.StatusInfoProvided {
		t.Fatalf("beta %+v", p)
	}
	when := time.Now().Add(30 * 24 * time.Hour)
	if err := f.d.SetDate(f.caseID, when, true); err != nil {
		t.Fatal(err)
	}
	if err := f.d.Publish(f.caseID); err != nil {
		t.Fatal(err)
	}
	if err := f.d.Close(f.caseID); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, e := range f.outbox() {
		got[e.Kind+":"+e.Vendor]++
		raw := string(e.Raw)
		if strings.Contains(raw, "DETAIL-MARKER") || (confidential(e.Kind) && (!e.Encrypted || !strings.Contains(raw, "multipart/encrypted"))) {
			t.Fatalf("%s notice to %s leaks:\n%.400s", e.Kind, e.Vendor, raw)
		}
		if strings.Contains(raw, "Secret title") && !e.Encrypted && e.Kind != "overview" {
			t.Fatalf("title outside encryption in %s", e.Kind)
		}
	}
	want := map[string]int{"overview:acme": 1, "overview:beta": 1, "ack:acme": 1, "ack:beta": 1, "detail-held:": 1,
		"detail:beta": 1, "date:beta": 1, "publication:acme": 1, "publication:beta": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("notices %v\nwant %v", got, want)
	}
	// The detail opens with beta's key and carries the detail text.
	for _, e := range f.outbox() {
		if e.Kind == "detail" {
			if !strings.Contains(string(e.Raw), "Subject: ["+f.caseID+"]") {
				t.Fatalf("outer subject:\n%.300s", e.Raw)
			}
		}
	}
}

func TestRegistrationByMail(t *testing.T) {
	f := newFixture(t)
	if _, err := f.d.AddVendor(VendorInput{ID: "gamma", Name: "Gamma OSS", Emails: []string{"info@gamma.example"}, Registration: store.RegPending, Lang: "en"}); err != nil {
		t.Fatal(err)
	}
	res, err := f.d.Notify(f.caseID, "overview", []string{"gamma"})
	if err != nil || !res[0].Queued || !strings.Contains(res[0].Reason, "registration") {
		t.Fatalf("notify: %+v %v", res, err)
	}
	if f.part("gamma").State != store.PartRegistrationRequested {
		t.Fatal("no registration request")
	}
	for _, e := range f.queued() {
		if e.Vendor == "gamma" && (e.Kind != "registration" || strings.Contains(string(e.Raw), "Secret title") || strings.Contains(string(e.Raw), "overview text")) {
			t.Fatalf("something about the case reached an unregistered vendor: %s", e.Kind)
		}
	}
	// An answer that is not a registration changes nothing.
	if r := f.handle(mailFrom("info@gamma.example", "Re: ["+f.caseID+"]", "", "Request detail: yes\n")); r.Outcome != store.OutcomeQuarantine {
		t.Fatalf("outcome %+v", r)
	}
	r := f.handle(mailFrom("info@gamma.example", "Re: ["+f.caseID+"] Request to register", "",
		"Consent to register: yes\nManager name: Gina\nContact address: security@gamma.example\n"))
	if r.Outcome != store.OutcomeApplied {
		t.Fatalf("registration: %+v", r)
	}
	if p := f.part("gamma"); p.State != store.PartOverviewSent {
		t.Fatalf("held overview not released: %+v", p)
	}
	f.d.Store.View(func(tx *store.Tx) error {
		v, _ := tx.Vendor("gamma")
		if v.Registration != store.RegIndividual || v.Manager != "Gina" || len(v.Contacts) != 2 {
			t.Fatalf("vendor %+v", v)
		}
		return nil
	})
}

// TestAnswerRateLimit: a flood of answers from one address gets at most
// max_answers_per_hour notices back, and our own notices coming back are
// ignored.
func TestAnswerRateLimit(t *testing.T) {
	f := newFixture(t)
	// The overview already went to acme this hour; with a limit of one,
	// the acknowledgement is held back, the answer still applied.
	f.d.Cfg.Limits.MaxAnswersPerHour = 1
	f.handle(mailFrom(acmeAddr, "Re: ["+f.caseID+"]", "", "Request detail: no\n"))
	n := 0
	for _, e := range f.outbox() {
		if e.To[0] == acmeAddr {
			n++
		}
	}
	if n != 1 || f.part("acme").State != store.PartNoProduct {
		t.Fatalf("%d notices to one address within an hour, state %s", n, f.part("acme").State)
	}
	// Our own overview delivered back to us.
	raws, _ := f.srv.Messages(acmeAddr, "INBOX")
	if res := f.handle(raws[0]); res.Outcome != store.OutcomeOwn {
		t.Fatalf("own notice back: %+v", res)
	}
}
