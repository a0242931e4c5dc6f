package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coordbot/coordbot/internal/realmail"
	"github.com/coordbot/coordbot/mailbot/process"
	"github.com/coordbot/coordbot/store"
)

// outageDesk is a robot with a case, three vendors on it, and overviews
// sent (poll --once) to acme and beta.
type outageDesk struct {
	srv *realmail.Servers
	b   *bot
	dir string
	id  string
	log string
}

func newOutageDesk(t *testing.T) *outageDesk {
	t.Helper()
	srv := realmail.Start(t)
	dir := t.TempDir()
	b := &bot{t: t, bin: binary(t), cfg: writeConfig(t, dir, srv.IMAPAddr, srv.SMTPAddr)}
	b.must("init")
	b.must("vendor", "add", "--id", "acme", "--name", "ACME", "--email", "psirt@acme.example", "--lang", "en")
	b.must("vendor", "add", "--id", "beta", "--name", "Beta", "--email", "security@beta.example", "--lang", "en")
	b.must("vendor", "add", "--id", "gamma", "--name", "Gamma", "--email", "secteam@gamma.example", "--lang", "en")
	ov := filepath.Join(dir, "ov.txt")
	os.WriteFile(ov, []byte("A crafted request crashes the server.\n"), 0o600)
	id := strings.TrimSpace(b.must("case", "new", "--title", "Crash", "--overview-file", ov))
	b.must("case", "vendors", "add", id, "acme", "beta", "gamma")
	b.must("case", "notify", id, "overview", "acme", "beta")
	b.must("poll", "--once")
	srv.WaitMessages(t, "psirt@acme.example", "INBOX", 1, 30*time.Second)
	srv.WaitMessages(t, "security@beta.example", "INBOX", 1, 30*time.Second)
	o := &outageDesk{srv: srv, b: b, dir: dir, id: id, log: filepath.Join(dir, "serve.log")}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log((&daemon{log: o.log}).tail(60))
		}
	})
	return o
}

// serve starts the daemon and waits until it has a working IMAP session.
func (o *outageDesk) serve(t *testing.T) *daemon {
	t.Helper()
	d := startServe(t, o.b, o.log)
	d.waitSocket(o.b, 30*time.Second)
	d.waitLog(`"msg":"IMAP connected"`, 1, 30*time.Second)
	return d
}

// logLines returns the JSON log records, of every run, whose msg is msg.
func (d *daemon) logLines(msg string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(d.logText()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// waitLog waits until this run's log holds at least n lines containing s.
func (d *daemon) waitLog(s string, n int, timeout time.Duration) string {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		text := d.ownLog()
		if strings.Count(text, s) >= n {
			return text
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("waited %v for %d log lines with %s\n%s", timeout, n, s, d.tail(40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestOutages: the daemon rides out an IMAP outage, an SMTP outage, a
// mailbox recreated with a new UIDVALIDITY, and a real bounce, on real
// Dovecot and Postfix. Each part has its own servers and runs in parallel.
func TestOutages(t *testing.T) {
	// (a) Dovecot's IMAP server goes away while serve idles; Postfix keeps
	// delivering through LMTP. The answer that arrived meanwhile is applied
	// soon after IMAP is back.
	t.Run("imap", func(t *testing.T) {
		t.Parallel()
		o := newOutageDesk(t)
		reply := replyTo(t, o.srv, "psirt@acme.example", "Message-Id", "Request detail: yes\n")
		d := o.serve(t)
		ended := strings.Count(d.ownLog(), "IMAP session ended")
		down := time.Now()
		o.srv.StopIMAP()
		o.srv.Send(t, "psirt@acme.example", []string{"vultures@cert.example"}, reply)
		deadline := time.Now().Add(30 * time.Second)
		for o.srv.OnDisk(t, "vultures@cert.example", "INBOX") < 1 {
			if time.Now().After(deadline) {
				t.Fatal("the answer was not delivered to the maildir while IMAP was down")
			}
			time.Sleep(50 * time.Millisecond)
		}
		// The robot noticed (IDLE broke) and has failed to reconnect a few times,
		// so its reconnection backoff has grown.
		d.waitLog("IMAP session ended", ended+4, 30*time.Second)
		if c := o.b.caseJSON(o.id); c.Vendors[0].Vendor != "acme" || c.Vendors[0].State != store.PartOverviewSent {
			t.Fatalf("applied while IMAP was down? %+v", c.Vendors)
		}
		if n := o.srv.OnDisk(t, "vultures@cert.example", "INBOX"); n != 1 {
			t.Fatalf("%d messages in the INBOX maildir during the outage", n)
		}
		upStart := time.Now()
		o.srv.StartIMAP()
		up := time.Now()
		o.srv.WaitMessages(t, "psirt@acme.example", "INBOX", 2, 60*time.Second)
		recovered := time.Since(up)
		if c := o.b.caseJSON(o.id); c.Vendors[0].Vendor != "acme" || c.Vendors[0].State != store.PartDetailRequested {
			t.Fatalf("after the outage: %+v", c.Vendors)
		}
		for _, r := range d.logLines("inbound") {
			if at, _ := time.Parse(time.RFC3339Nano, r["time"].(string)); at.Before(upStart) {
				t.Fatalf("the answer was handled at %v, before IMAP came back at %v", at, upStart)
			}
		}
		if recovered > 60*time.Second {
			t.Fatalf("answer applied %v after IMAP came back, want within 60s", recovered)
		}
		t.Logf("IMAP down %v (%d failed sessions); answer acknowledged %v after IMAP came back",
			up.Sub(down).Round(time.Millisecond), strings.Count(d.ownLog(), "IMAP session ended")-ended, recovered.Round(time.Millisecond))
		d.stop()
		if n := o.srv.Count(t, "vultures@cert.example", "Processed"); n != 1 {
			t.Fatalf("Processed holds %d", n)
		}
		if n := o.srv.Count(t, "vultures@cert.example", "INBOX"); n != 0 {
			t.Fatalf("INBOX holds %d", n)
		}
	})

	// (b) Postfix is down: a notice queued meanwhile stays in the outbox
	// (across a restart of the daemon) and goes out after Postfix is back,
	// at its retry time (smtpout.Backoff).
	t.Run("smtp", func(t *testing.T) {
		t.Parallel()
		o := newOutageDesk(t)
		d := o.serve(t)
		o.srv.StopSMTP()
		down := time.Now()
		o.b.must("case", "notify", o.id, "overview", "gamma") // through the admin socket
		d.waitLog(`"msg":"notice deferred"`, 1, 30*time.Second)
		// lastDeferral is the newest retry time the log gives for gamma's overview.
		lastDeferral := func() (failedAt, next time.Time) {
			for _, r := range d.logLines("notice deferred") {
				if r["vendor"] == "gamma" && r["kind"] == process.KindOverview {
					failedAt, _ = time.Parse(time.RFC3339Nano, r["time"].(string))
					next, _ = time.Parse(time.RFC3339Nano, r["next"].(string))
				}
			}
			return
		}
		failedAt, next := lastDeferral()
		if next.IsZero() {
			t.Fatalf("no deferral of gamma's overview in the log\n%s", d.tail(20))
		}
		d.stop()
		if n := o.srv.Count(t, "secteam@gamma.example", "INBOX"); n != 0 {
			t.Fatalf("gamma got %d messages while Postfix was down", n)
		}
		var entry *store.OutboxEntry
		for _, e := range readStore(t, o.dir).outbox {
			if e.Vendor == "gamma" {
				entry = e
			}
		}
		if entry == nil || entry.State != store.OutQueued || entry.Attempts != 1 || entry.LastError == "" || !entry.NextAttempt.Equal(next) {
			t.Fatalf("gamma's overview while Postfix is down: %+v, want queued after 1 attempt, next %v", entry, next)
		}

		o.srv.StartSMTP()
		up := time.Now()
		d = o.serve(t)
		// The retry is due at next; the outbox is looked at every 15 s. Should
		// a retry fail again, the wait follows the new retry time (bounded).
		hardStop := time.Now().Add(170 * time.Second)
		for o.srv.Count(t, "secteam@gamma.example", "INBOX") == 0 {
			_, last := lastDeferral()
			if time.Now().After(last.Add(35*time.Second)) || time.Now().After(hardStop) {
				t.Fatalf("gamma's overview not delivered %v after Postfix came back (retry due %v)", time.Since(up).Round(time.Second), last)
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("Postfix down %v; first retry scheduled %v after the failure (smtpout.Backoff); delivered %v after Postfix came back",
			up.Sub(down).Round(time.Millisecond), next.Sub(failedAt).Round(time.Millisecond), time.Since(up).Round(time.Millisecond))
		if next.Sub(failedAt) > 31*time.Second {
			t.Logf("note: the first retry came %v after the failure, past the 30s that smtpout.Backoff documents for attempt 0: "+
				"desk.Drain passes the attempt count after incrementing it", next.Sub(failedAt).Round(time.Second))
		}
		d.stop()
		n := 0
		for _, e := range readStore(t, o.dir).outbox {
			if e.Vendor == "gamma" {
				n++
				if e.State != store.OutSent || e.Attempts < 2 || e.MessageID != entry.MessageID {
					t.Fatalf("gamma's overview: %s after %d attempts (%s)", e.State, e.Attempts, e.LastError)
				}
			}
		}
		if n != 1 {
			t.Fatalf("%d notices to gamma in the outbox", n)
		}
		if got := o.srv.Headers(t, "secteam@gamma.example", "INBOX"); len(got) != 1 || strings.Trim(got[0].Get("Message-Id"), "<> ") != entry.MessageID {
			t.Fatalf("gamma got %d messages", len(got))
		}
	})

	// (c) The robot's INBOX is recreated (new UIDVALIDITY, UIDs from 1)
	// holding an already processed answer again, and a new answer that
	// takes the UID the old one had: the new one is applied, the old one
	// is recognised and moved to Processed without a second effect.
	t.Run("uidvalidity", func(t *testing.T) {
		t.Parallel()
		o := newOutageDesk(t)
		acmeReply := replyTo(t, o.srv, "psirt@acme.example", "Message-Id", "Request detail: yes\n")
		betaReply := replyTo(t, o.srv, "security@beta.example", "Message-Id", "Request detail: no\n")
		acmeID, betaID := headerMsgID(t, acmeReply), headerMsgID(t, betaReply)
		d := o.serve(t)
		o.srv.Send(t, "psirt@acme.example", []string{"vultures@cert.example"}, acmeReply)
		o.srv.WaitMessages(t, "psirt@acme.example", "INBOX", 2, 30*time.Second)
		processed := o.srv.WaitMessages(t, "vultures@cert.example", "Processed", 1, 30*time.Second)
		uv := o.srv.UIDValidity(t, "vultures@cert.example", "INBOX")

		// The copy from Processed, with the trace fields Postfix and
		// Dovecot added, goes back in behind beta's new answer.
		start := time.Now()
		o.srv.RecreateMailbox(t, "vultures@cert.example", "INBOX", betaReply, processed[0])
		if now := o.srv.UIDValidity(t, "vultures@cert.example", "INBOX"); now == uv {
			t.Fatalf("UIDVALIDITY still %d", uv)
		}
		o.srv.WaitMessages(t, "security@beta.example", "INBOX", 2, 60*time.Second)
		deadline := time.Now().Add(30 * time.Second)
		for o.srv.Count(t, "vultures@cert.example", "INBOX") != 0 || o.srv.Count(t, "vultures@cert.example", "Processed") != 3 {
			if time.Now().After(deadline) {
				t.Fatalf("INBOX %d, Processed %d", o.srv.Count(t, "vultures@cert.example", "INBOX"), o.srv.Count(t, "vultures@cert.example", "Processed"))
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("recreated INBOX handled %v after the recreation began", time.Since(start).Round(time.Millisecond))
		c := o.b.caseJSON(o.id)
		d.stop()
		if !strings.Contains(d.logText(), "UIDVALIDITY changed") {
			t.Fatalf("the daemon did not notice the new UIDVALIDITY\n%s", d.tail(20))
		}
		// The new answer took the UID the old one had and was applied; the
		// old one came again and was recognised.
		var saw []string
		uids := map[string]float64{}
		for _, r := range d.logLines("inbound") {
			rec := r["message_id"].(string) + "=" + r["outcome"].(string)
			if !slices.Contains(saw, rec) {
				saw = append(saw, rec)
				uids[rec] = r["uid"].(float64)
			}
		}
		if len(saw) != 3 || saw[0] != acmeID+"=applied" || saw[1] != betaID+"=applied" || saw[2] != acmeID+"=duplicate" {
			t.Fatalf("inbound records %v, want %s applied, then %s applied and %s duplicate", saw, acmeID, betaID, acmeID)
		}
		if uids[saw[1]] != uids[saw[0]] {
			t.Fatalf("beta's answer had UID %v in the new INBOX, acme's had %v in the old one", uids[saw[1]], uids[saw[0]])
		}
		states := map[string]string{}
		for _, p := range c.Vendors {
			states[p.Vendor] = p.State
		}
		if states["acme"] != store.PartDetailRequested || states["beta"] != store.PartNoProduct {
			t.Fatalf("states %v", states)
		}
		kinds := map[string]int{}
		for _, e := range c.Events {
			kinds[e.Kind]++
		}
		if kinds[process.EvDetailRequested] != 1 || kinds[process.EvNoProduct] != 1 || kinds[process.EvAnswerRepeated] != 0 {
			t.Fatalf("events %v", kinds)
		}
		acks := map[string]int{}
		for _, e := range readStore(t, o.dir).outbox {
			if e.State != store.OutSent {
				t.Fatalf("outbox %s to %s: %s", e.Kind, e.Vendor, e.State)
			}
			if e.Kind == process.KindAck {
				acks[e.Vendor]++
			}
		}
		if acks["acme"] != 1 || acks["beta"] != 1 {
			t.Fatalf("acknowledgements %v, want one each", acks)
		}
		if n := o.srv.Count(t, "psirt@acme.example", "INBOX"); n != 2 {
			t.Fatalf("acme has %d messages, want the overview and one acknowledgement", n)
		}
	})

	// (d) A notice to an address Dovecot does not know: Postfix returns a
	// DSN to the robot, which marks the contact failing, tells the
	// coordinator, files the DSN in Processed and answers nothing.
	t.Run("bounce", func(t *testing.T) {
		t.Parallel()
		o := newOutageDesk(t)
		b, srv := o.b, o.srv
		b.must("vendor", "add", "--id", "ghost", "--name", "Ghost", "--email", "nobody-here@acme.example", "--lang", "en")
		b.must("case", "vendors", "add", o.id, "ghost")
		b.must("case", "notify", o.id, "overview", "ghost")
		sent := time.Now()
		b.must("poll", "--once")
		dsn := srv.WaitMessages(t, "vultures@cert.example", "INBOX", 1, 60*time.Second)[0]
		t.Logf("DSN in the robot's INBOX %v after the overview went out", time.Since(sent).Round(time.Millisecond))
		dsnFrom := strings.ToLower(parseAll(t, [][]byte{dsn})[0].From.Addr)
		b.must("poll", "--once")

		var v vendorJSON
		if err := json.Unmarshal([]byte(b.must("vendor", "show", "ghost")), &v); err != nil {
			t.Fatal(err)
		}
		if len(v.Contacts) != 1 || !v.Contacts[0].Failing || v.Contacts[0].FailingNote == "" {
			t.Fatalf("ghost's contact after the bounce: %+v", v.Contacts)
		}
		raw, _ := json.Marshal(v)
		if !strings.Contains(string(raw), `"failing":true`) {
			t.Fatalf("vendor show: %s", raw)
		}
		coord := parseAll(t, srv.WaitMessages(t, "coord@cert.example", "INBOX", 1, 30*time.Second))
		if !strings.Contains(coord[0].Text, "nobody-here@acme.example") {
			t.Fatalf("coordinator notice does not name the failing address:\n%s", coord[0].Text)
		}
		if n := srv.Count(t, "vultures@cert.example", "Processed"); n != 1 {
			t.Fatalf("Processed holds %d, want the DSN", n)
		}
		if n := srv.Count(t, "vultures@cert.example", "Quarantine") + srv.Count(t, "vultures@cert.example", "INBOX"); n != 0 {
			t.Fatalf("%d messages in Quarantine or INBOX", n)
		}
		c := b.caseJSON(o.id)
		bounces := 0
		for _, e := range c.Events {
			if e.Kind == process.EvBounce && e.Vendor == "ghost" {
				bounces++
			}
		}
		if bounces != 1 {
			t.Fatalf("%d bounce events for ghost: %+v", bounces, c.Events)
		}
		// Nothing answered the DSN: the outbox holds the three overviews and
		// the coordinator's notice, nothing to the DSN's sender.
		kinds := map[string]int{}
		for _, e := range readStore(t, o.dir).outbox {
			kinds[e.Kind]++
			for _, to := range e.To {
				if strings.EqualFold(to, dsnFrom) || strings.Contains(strings.ToLower(to), "mailer-daemon") {
					t.Fatalf("the robot answered the DSN: %s to %v", e.Kind, e.To)
				}
			}
		}
		if len(kinds) != 2 || kinds[process.KindOverview] != 3 || kinds[process.KindBounceNotice] != 1 {
			t.Fatalf("outbox %v, want 3 overviews and 1 bounce notice", kinds)
		}
		// Another pass changes nothing.
		before := b.must("case", "show", o.id, "--json")
		b.must("poll", "--once")
		if after := b.must("case", "show", o.id, "--json"); after != before {
			t.Fatalf("a second pass changed the case")
		}
		if n := len(readStore(t, o.dir).outbox); n != 4 {
			t.Fatalf("a second pass queued more: %d notices", n)
		}
	})
}
