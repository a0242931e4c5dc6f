package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coordbot/coordbot/internal/gpgtest"
	"github.com/coordbot/coordbot/internal/realmail"
	"github.com/coordbot/coordbot/mailbot/desk"
	"github.com/coordbot/coordbot/mailbot/open"
	"github.com/coordbot/coordbot/mailbot/process"
	"github.com/coordbot/coordbot/store"
)

// daemon is one `coordbot serve` process of a test.
type daemon struct {
	t    *testing.T
	cmd  *exec.Cmd
	done chan error
	err  error
	log  string
	// from is where this run's lines start in log.
	from int64
}

// startServe starts `coordbot serve`; its log is appended to logPath (one
// file for every run of a test).
func startServe(t *testing.T, b *bot, logPath string) *daemon {
	t.Helper()
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(b.bin, "serve", "--config", b.cfg)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemon{t: t, cmd: cmd, done: make(chan error, 1), log: logPath, from: fi.Size()}
	go func() { d.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if !d.exited() {
			cmd.Process.Kill()
			<-d.done
		}
	})
	return d
}

func (d *daemon) exited() bool {
	if d.cmd.ProcessState != nil {
		return true
	}
	select {
	case err := <-d.done:
		d.err = err
		d.done <- err
		return true
	default:
		return false
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (d *daemon) kill() {
	d.t.Helper()
	d.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-d.done:
	case <-time.After(20 * time.Second):
		d.t.Fatal("serve did not die after SIGKILL")
	}
}

// stop sends SIGTERM and wants a clean exit.
func (d *daemon) stop() {
	d.t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		if err != nil {
			d.t.Fatalf("serve exited with %v after SIGTERM\n%s", err, d.tail(40))
		}
	case <-time.After(30 * time.Second):
		d.t.Fatalf("serve did not stop within 30s of SIGTERM\n%s", d.tail(40))
	}
}

// waitSocket waits until the daemon answers on its admin socket.
func (d *daemon) waitSocket(b *bot, timeout time.Duration) {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if d.exited() {
			d.t.Fatalf("serve exited early\n%s", d.tail(40))
		}
		if strings.Contains(d.ownLog(), `"msg":"serving"`) {
			if _, _, code := b.run("vendor", "list"); code == 0 {
				return
			}
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("serve did not open its socket within %v\n%s", timeout, d.tail(40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logText is the whole log file: every run of the test.
func (d *daemon) logText() string {
	data, _ := os.ReadFile(d.log)
	return string(data)
}

// ownLog is what this run wrote.
func (d *daemon) ownLog() string {
	text := d.logText()
	return text[min(int(d.from), len(text)):]
}

func (d *daemon) tail(n int) string {
	lines := strings.Split(strings.TrimRight(d.logText(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "serve log (tail):\n" + strings.Join(lines, "\n")
}

// storeSnapshot is what the store holds, read while no daemon runs.
type storeSnapshot struct {
	ledger []*store.LedgerEntry
	outbox []*store.OutboxEntry
}

func readStore(t *testing.T, dir string) storeSnapshot {
	t.Helper()
	st, err := store.Open(filepath.Join(dir, "data", store.FileName), store.Options{ReadOnly: true, LockTimeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("open the store read-only: %v", err)
	}
	defer st.Close()
	var s storeSnapshot
	err = st.View(func(tx *store.Tx) error {
		var err error
		if s.ledger, err = tx.LedgerEntries(); err != nil {
			return err
		}
		s.outbox, err = tx.Outbox(nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (s storeSnapshot) queued() int {
	n := 0
	for _, e := range s.outbox {
		if e.State == store.OutQueued {
			n++
		}
	}
	return n
}

// withMessageID replaces the first Message-ID field of the header.
func withMessageID(t *testing.T, raw []byte, id string) []byte {
	t.Helper()
	end := bytes.Index(raw, []byte("\r\n\r\n"))
	head := raw[:end]
	i := bytes.Index(head, []byte("\r\nMessage-ID: <"))
	if i < 0 {
		t.Fatalf("no Message-ID in\n%s", head)
	}
	j := bytes.Index(head[i+2:], []byte("\r\n"))
	if j < 0 {
		j = len(head) - i - 2
	}
	out := append([]byte{}, raw[:i+2]...)
	out = append(out, "Message-ID: <"+id+">"...)
	return append(out, raw[i+2+j:]...)
}

// pgpMIME wraps armored OpenPGP data the way Thunderbird does.
func pgpMIME(from, to, subject, msgID string, armored []byte) []byte {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	hdr := "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nMessage-ID: <" + msgID + ">\r\n" +
		"Date: " + time.Now().Format(time.RFC1123Z) + "\r\nMIME-Version: 1.0\r\nUser-Agent: Mozilla Thunderbird\r\n" +
		"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"" + w.Boundary() + "\"\r\n\r\n" +
		"This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n"
	p1, _ := w.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/pgp-encrypted"}})
	p1.Write([]byte("Version: 1\r\n"))
	p2, _ := w.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/octet-stream; name=\"encrypted.asc\""},
		"Content-Disposition": {"inline; filename=\"encrypted.asc\""}})
	p2.Write(bytes.ReplaceAll(armored, []byte("\n"), []byte("\r\n")))
	w.Close()
	return append([]byte(hdr), b.Bytes()...)
}

// killAnswer is one vendor's answer to the overview.
type killAnswer struct {
	vendor, addr, msgID, kind string
	yes                       bool
	raw                       []byte
}

// TestKillNine: hundreds of vendor answers (plain, ISO-2022-JP, gpg
// encrypted and signed, duplicates) and bad mail wait in the robot's INBOX;
// `serve` is SIGKILLed at random moments until everything is handled and
// sent, then stopped cleanly. Every answer takes effect exactly once, every
// message ends in the right folder, every vendor gets its acknowledgement,
// twice only with the same Message-ID (a kill between the server's
// acceptance and the commit).
func TestKillNine(t *testing.T) {
	const (
		numVendors = 300 // v001..v300, plus acme and beta
		numPGP     = 30  // v001..v030 have the acme key and answer encrypted and signed
		minKills   = 20
	)
	testStart := time.Now()
	srv := realmail.Start(t)
	vendorGPG := gpgtest.New(t)
	dir := t.TempDir()
	b := &bot{t: t, bin: binary(t), cfg: writeConfig(t, dir, srv.IMAPAddr, srv.SMTPAddr)}
	initOut := strings.Split(strings.TrimSpace(b.must("init")), "\n")
	robotFpr := initOut[len(initOut)-1]
	vendorGPG.Import("robot", []byte(b.must("key", "export")))
	vendorGPG.Import("acme", repoFile(t, "testdata/keys/vendor-acme.sec.asc"))
	const acmeFpr = "DB239EB6AFEE73FC3BA5E68F905ECEF868655335"
	os.WriteFile(filepath.Join(dir, "acme.asc"), repoFile(t, "testdata/keys/vendor-acme.pub.asc"), 0o600)

	// The registry: acme (key), beta, and v001..v300 from one CSV import.
	type vend struct{ id, addr, lang string }
	vendors := []vend{{"acme", "psirt@acme.example", "ja"}, {"beta", "security@beta.example", "en"}}
	var users []string
	for i := 1; i <= numVendors; i++ {
		v := vend{fmt.Sprintf("v%03d", i), fmt.Sprintf("v%03d@acme.example", i), "en"}
		if i%3 == 0 {
			v.lang = "ja"
		}
		vendors = append(vendors, v)
		users = append(users, v.addr)
	}
	var csvBuf bytes.Buffer
	cw := csv.NewWriter(&csvBuf)
	cw.Write([]string{"id", "name", "lang", "emails", "key_file"})
	for i, v := range vendors {
		key := ""
		if i == 0 || i >= 2 && i-1 <= numPGP {
			key = "acme.asc"
		}
		cw.Write([]string{v.id, "Vendor " + v.id, v.lang, v.addr, key})
	}
	cw.Flush()
	csvPath := filepath.Join(dir, "vendors.csv")
	os.WriteFile(csvPath, csvBuf.Bytes(), 0o600)
	srv.AddUsers(users...)
	if out := b.must("vendor", "import", csvPath); !strings.Contains(out, fmt.Sprintf("%d vendors imported", len(vendors))) {
		t.Fatalf("vendor import: %s", out)
	}
	ov := filepath.Join(dir, "ov.txt")
	dt := filepath.Join(dir, "dt.txt")
	os.WriteFile(ov, []byte("A crafted request crashes the server.\n"), 0o600)
	os.WriteFile(dt, []byte("DETAIL-MARKER\n"), 0o600)
	id := strings.TrimSpace(b.must("case", "new", "--title", "Crash", "--overview-file", ov, "--detail-file", dt))
	addAll := []string{"case", "vendors", "add", id}
	for _, v := range vendors {
		addAll = append(addAll, v.id)
	}
	b.must(addAll...)
	b.must("case", "notify", id, "overview", "all")
	b.must("poll", "--once")
	setupDone := time.Now()

	// The overviews as queued: their Message-IDs and outer Subjects.
	overviewID := map[string]string{}
	overviewSubject := map[string]string{}
	for _, e := range readStore(t, dir).outbox {
		if e.Kind == process.KindOverview {
			if e.State != store.OutSent {
				t.Fatalf("overview to %s: %s %s", e.Vendor, e.State, e.LastError)
			}
			overviewID[e.Vendor] = e.MessageID
			overviewSubject[e.Vendor] = headerSubject(t, e.Raw)
		}
	}
	if len(overviewID) != len(vendors) {
		t.Fatalf("%d overviews sent, want %d", len(overviewID), len(vendors))
	}

	// Every vendor answers once: gpg (encrypted and signed by the vendor's
	// pinned key), ISO-2022-JP, or plain UTF-8; yes or no.
	var answers []killAnswer
	mix := map[string]int{}
	seenID := map[string]bool{}
	gpgStart := time.Now()
	for i, v := range vendors {
		a := killAnswer{vendor: v.id, addr: v.addr, yes: i%2 == 0}
		ovMsg := &open.Message{MessageID: overviewID[v.id], Subject: overviewSubject[v.id], Text: "A crafted request crashes the server."}
		ja, en := "詳細情報の請求：はい\n", "Request detail: yes\n"
		if !a.yes {
			ja, en = "詳細情報の請求：いいえ\n", "Request detail: no\n"
		}
		switch {
		case i == 0 || i >= 2 && i-1 <= numPGP:
			a.kind = "pgp"
			body := en
			if i%3 == 0 {
				body = ja
			}
			a.raw = thunderbirdEncrypted(t, vendorGPG, v.addr, "vultures@cert.example", "Re: "+overviewSubject[v.id], overviewID[v.id], body, robotFpr)
		case i%3 == 0:
			a.kind = "ja"
			raw, err := iso2022jpReply(v.addr, "vultures@cert.example", ovMsg, "お世話になっております。\n\n"+ja)
			if err != nil {
				t.Fatal(err)
			}
			a.raw = raw
		default:
			a.kind = "plain"
			a.raw = plainReply(v.addr, "vultures@cert.example", ovMsg, "Hello,\n\n"+en)
		}
		if a.kind != "pgp" {
			// Unique and recognisable; the gpg ones carry theirs inside the encryption too.
			a.raw = withMessageID(t, a.raw, fmt.Sprintf("answer.%s.%s@acme.example", v.id, a.kind))
		}
		a.msgID = headerMsgID(t, a.raw)
		if seenID[a.msgID] {
			t.Fatalf("two answers with Message-ID %s", a.msgID)
		}
		seenID[a.msgID] = true
		answers = append(answers, a)
	}
	for _, a := range answers {
		mix[a.kind]++
	}
	gpgTime := time.Since(gpgStart)

	// Bad mail: strangers naming the case, mail without a case, and mail
	// the robot cannot read.
	type badMail struct {
		what, msgID string
		namesCase   bool
		raw         []byte
	}
	var bad []badMail
	plain := func(from, subject, msgID, body string) []byte {
		return []byte("From: " + from + "\r\nTo: vultures@cert.example\r\nSubject: " + mime.QEncoding.Encode("utf-8", subject) +
			"\r\nDate: " + time.Now().Format(time.RFC1123Z) + "\r\nMessage-ID: <" + msgID + ">\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + strings.ReplaceAll(body, "\n", "\r\n"))
	}
	for i := range 7 {
		mid := fmt.Sprintf("stranger.%d@example.net", i)
		bad = append(bad, badMail{"unknown sender naming the case", mid, true,
			plain(fmt.Sprintf("stranger%d@example.net", i), "Re: ["+id+"] tell me more", mid, "Request detail: yes\n")})
	}
	for i := range 4 {
		v := vendors[200+i]
		mid := fmt.Sprintf("nocase.%s@acme.example", v.id)
		bad = append(bad, badMail{"vendor mail without a case", mid, false, plain(v.addr, "A question", mid, "Request detail: yes\n")})
	}
	for i := range 3 {
		mid := fmt.Sprintf("nocase.%d@example.org", i)
		bad = append(bad, badMail{"stranger mail without a case", mid, false, plain(fmt.Sprintf("anon%d@example.org", i), "hello", mid, "hi\n")})
	}
	for i := range 2 {
		mid := fmt.Sprintf("notencrypted.%d@example.net", i)
		bad = append(bad, badMail{"PGP/MIME without ciphertext", mid, false,
			pgpMIME("odd@example.net", "vultures@cert.example", "...", mid, []byte("this is not encrypted\n"))})
		mid = fmt.Sprintf("garbage.%d@example.net", i)
		bad = append(bad, badMail{"PGP/MIME with a broken armor", mid, false,
			pgpMIME("odd@example.net", "vultures@cert.example", "...", mid,
				[]byte("-----BEGIN PGP MESSAGE-----\n\nhQEMA3garbage/garbage+garbage==\n=abcd\n-----END PGP MESSAGE-----\n"))})
		mid = fmt.Sprintf("otherkey.%d@example.net", i)
		ct, status, stderr, err := vendorGPG.RunOut([]byte("Subject: Re: ["+id+"]\r\n\r\nRequest detail: yes\r\n"),
			"--armor", "--encrypt", "--trust-model", "always", "-r", acmeFpr)
		if err != nil {
			t.Fatalf("gpg --encrypt: %v\n%s\n%s", err, status, stderr)
		}
		bad = append(bad, badMail{"encrypted to another key", mid, false, pgpMIME("odd@example.net", "vultures@cert.example", "...", mid, ct)})
	}
	for _, m := range bad {
		if strings.Contains(m.what, "PGP") || strings.Contains(m.what, "encrypted") {
			if _, err := open.Parse(m.raw, open.Limits{}); err == nil {
				t.Fatalf("%s: the test's malformed message parses", m.what)
			}
		}
		if seenID[m.msgID] {
			t.Fatalf("Message-ID %s twice", m.msgID)
		}
		seenID[m.msgID] = true
	}
	namingCase := 0
	for _, m := range bad {
		if m.namesCase {
			namingCase++
		}
	}

	// Ten answers arrive twice (a resend, a second route): one effect each.
	var deliveries [][]byte
	dupOf := map[string]bool{}
	twice := []int{3, 17, 40, 45, 90, 99, 150, 151, 222, 300} // two gpg, four ISO-2022-JP, four plain
	for i := range answers {
		deliveries = append(deliveries, answers[i].raw)
		if slices.Contains(twice, i) {
			deliveries = append(deliveries, answers[i].raw)
			dupOf[answers[i].msgID] = true
		}
	}
	for _, m := range bad {
		deliveries = append(deliveries, m.raw)
	}
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	rng.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })
	delivStart := time.Now()
	srv.DeliverAll(t, "vultures@cert.example", "INBOX", deliveries)
	t.Logf("setup %v (%d vendors, %d overviews); %d answers (%d plain, %d ISO-2022-JP, %d gpg) built in %v; "+
		"%d messages (%d second copies, %d bad) delivered in %v; seed %d",
		setupDone.Sub(testStart).Round(time.Millisecond), len(vendors), len(overviewID), len(answers), mix["plain"], mix["ja"], mix["pgp"],
		gpgTime.Round(time.Millisecond), len(deliveries), len(dupOf), len(bad), time.Since(delivStart).Round(time.Millisecond), seed)
	if n := srv.Count(t, "vultures@cert.example", "INBOX"); n != len(deliveries) {
		t.Fatalf("INBOX holds %d, want %d", n, len(deliveries))
	}

	// SIGKILL at random moments until the INBOX is empty and the outbox
	// drained, at least minKills times.
	logPath := filepath.Join(dir, "serve.log")
	t.Cleanup(func() {
		if t.Failed() {
			d := &daemon{log: logPath}
			t.Log(d.tail(60))
		}
	})
	kills := 0
	var progress []string
	killStart := time.Now()
	deadline := killStart.Add(210 * time.Second)
	for {
		d := startServe(t, b, logPath)
		delay := 50*time.Millisecond + time.Duration(rng.Int64N(int64(750*time.Millisecond)+1))
		time.Sleep(delay)
		if d.exited() {
			t.Fatalf("serve exited by itself (%v)\n%s", d.err, d.tail(40))
		}
		d.kill()
		kills++
		inbox := srv.Count(t, "vultures@cert.example", "INBOX")
		queued := readStore(t, dir).queued()
		progress = append(progress, fmt.Sprintf("%dms:%d/%d", delay.Milliseconds(), inbox, queued))
		if kills >= minKills && inbox == 0 && queued == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d kills in %v: INBOX %d, outbox %d queued; progress (delay:inbox/queued) %v",
				kills, time.Since(killStart).Round(time.Second), inbox, queued, progress)
		}
	}
	t.Logf("%d kills in %v; after each (delay:inbox left/outbox queued): %s", kills, time.Since(killStart).Round(time.Millisecond),
		strings.Join(progress, " "))

	// A last clean run: nothing left to do, SIGTERM stops it.
	d := startServe(t, b, logPath)
	d.waitSocket(b, 30*time.Second)
	c := b.caseJSON(id) // through the admin socket
	d.stop()
	if !strings.Contains(d.ownLog(), `"msg":"stopped"`) {
		t.Fatalf("no clean stop in the log\n%s", d.tail(20))
	}

	// Every answer applied exactly once: its state, one event by its Message-ID.
	states := map[string]string{}
	for _, p := range c.Vendors {
		states[p.Vendor] = p.State
	}
	evs := map[string][]eventOut{}
	kinds := map[string]int{}
	for _, e := range c.Events {
		kinds[e.Kind]++
		if e.Kind == process.EvDetailRequested || e.Kind == process.EvNoProduct || e.Kind == process.EvAnswerRepeated {
			evs[e.Vendor] = append(evs[e.Vendor], e)
		}
	}
	for _, a := range answers {
		want, kind := store.PartNoProduct, process.EvNoProduct
		if a.yes {
			want, kind = store.PartDetailRequested, process.EvDetailRequested
		}
		if states[a.vendor] != want {
			t.Errorf("%s (%s answer %s): state %q, want %q", a.vendor, a.kind, a.msgID, states[a.vendor], want)
		}
		if e := evs[a.vendor]; len(e) != 1 || e[0].Kind != kind || e[0].MessageID != a.msgID || e[0].Authenticated != (a.kind == "pgp") {
			t.Errorf("%s (%s answer %s): events %+v, want one %s", a.vendor, a.kind, a.msgID, e, kind)
		}
	}
	if kinds[process.EvQuarantined] != namingCase {
		t.Errorf("%d quarantined events, want %d (the strangers naming the case)", kinds[process.EvQuarantined], namingCase)
	}

	// Each message recorded once: the ledger has one entry per distinct
	// message (by the robot's hash, which is what it keys them by: a
	// message it cannot read has no Message-ID there), each Message-ID
	// once, with the right outcome.
	snap := readStore(t, dir)
	ledger := map[string]*store.LedgerEntry{}
	ledgerIDs := map[string]int{}
	for _, e := range snap.ledger {
		ledger[e.Hash] = e
		if e.MessageID != "" {
			ledgerIDs[e.MessageID]++
		}
	}
	for mid, n := range ledgerIDs {
		if n > 1 {
			t.Errorf("Message-ID %s %d times in the ledger", mid, n)
		}
	}
	if len(snap.ledger) != len(answers)+len(bad) {
		t.Errorf("ledger holds %d entries, want %d", len(snap.ledger), len(answers)+len(bad))
	}
	for _, a := range answers {
		if e := ledger[desk.Hash(a.raw)]; e == nil || e.Outcome != store.OutcomeApplied || e.Vendor != a.vendor || e.MessageID != a.msgID {
			t.Errorf("ledger entry of %s: %+v", a.msgID, e)
		}
	}
	for _, m := range bad {
		if e := ledger[desk.Hash(m.raw)]; e == nil || e.Outcome != store.OutcomeQuarantine {
			t.Errorf("ledger entry of %s (%s): %+v", m.msgID, m.what, e)
		}
	}

	// The outbox: every notice sent, one acknowledgement per vendor, one
	// triage notice per bad message.
	ackID := map[string]string{}
	triage := map[string]bool{}
	for _, e := range snap.outbox {
		if e.State != store.OutSent {
			t.Errorf("outbox %s %s to %v: %s after %d attempts (%s)", e.Kind, e.MessageID, e.To, e.State, e.Attempts, e.LastError)
		}
		switch e.Kind {
		case process.KindAck:
			if ackID[e.Vendor] != "" {
				t.Errorf("two acknowledgements queued for %s", e.Vendor)
			}
			ackID[e.Vendor] = e.MessageID
		case process.KindTriage:
			triage[e.MessageID] = true
		case process.KindOverview:
		default:
			t.Errorf("unexpected %s notice to %v", e.Kind, e.To)
		}
	}
	if len(triage) != len(bad) {
		t.Errorf("%d triage notices queued, want %d", len(triage), len(bad))
	}

	// Folders: Processed every answer and every second copy, Quarantine
	// exactly the bad mail, INBOX nothing.
	folderIDs := func(mbox string) map[string]int {
		m := map[string]int{}
		for _, h := range srv.Headers(t, "vultures@cert.example", mbox) {
			m[strings.Trim(h.Get("Message-Id"), "<> ")]++
		}
		return m
	}
	if n := srv.Count(t, "vultures@cert.example", "INBOX"); n != 0 {
		t.Errorf("INBOX still holds %d", n)
	}
	processed, quarantined := folderIDs("Processed"), folderIDs("Quarantine")
	for _, a := range answers {
		want := 1
		if dupOf[a.msgID] {
			want = 2
		}
		if processed[a.msgID] != want {
			t.Errorf("%s is %d times in Processed, want %d", a.msgID, processed[a.msgID], want)
		}
	}
	for _, m := range bad {
		if quarantined[m.msgID] != 1 || processed[m.msgID] != 0 {
			t.Errorf("%s (%s): %d times in Quarantine, %d in Processed", m.msgID, m.what, quarantined[m.msgID], processed[m.msgID])
		}
	}
	sum := func(m map[string]int) (n int) {
		for _, v := range m {
			n += v
		}
		return
	}
	if sum(processed) != len(answers)+len(dupOf) || sum(quarantined) != len(bad) {
		t.Errorf("Processed holds %d, want %d; Quarantine %d, want %d", sum(processed), len(answers)+len(dupOf), sum(quarantined), len(bad))
	}

	// Every vendor got its overview once and its acknowledgement; a second
	// copy only with the same Message-ID.
	dupAcks := 0
	var dupLines []string
	pending := slices.Clone(vendors)
	ackDeadline := time.Now().Add(60 * time.Second)
	for len(pending) > 0 {
		var still []vend
		for _, v := range pending {
			got := map[string]int{}
			for _, h := range srv.Headers(t, v.addr, "INBOX") {
				got[strings.Trim(h.Get("Message-Id"), "<> ")]++
			}
			if got[ackID[v.id]] == 0 || got[overviewID[v.id]] == 0 {
				still = append(still, v)
				continue
			}
			if got[overviewID[v.id]] != 1 || len(got) != 2 {
				t.Errorf("%s's INBOX: %v, want overview %s once and ack %s", v.id, got, overviewID[v.id], ackID[v.id])
			}
			if n := got[ackID[v.id]]; n > 1 {
				dupAcks += n - 1
				dupLines = append(dupLines, fmt.Sprintf("%s: ack %s ×%d", v.id, ackID[v.id], n))
			}
		}
		pending = still
		if len(pending) > 0 {
			if time.Now().After(ackDeadline) {
				t.Fatalf("after 60s, %d vendors lack their overview or acknowledgement, e.g. %s", len(pending), pending[0].id)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	coordGot := map[string]int{}
	for _, h := range srv.WaitHeaders(t, "coord@cert.example", "INBOX", len(triage), 60*time.Second) {
		coordGot[strings.Trim(h.Get("Message-Id"), "<> ")]++
	}
	dupTriage := 0
	for mid, n := range coordGot {
		if !triage[mid] {
			t.Errorf("coordinator got %s, not a triage notice", mid)
		}
		if n > 1 {
			dupTriage += n - 1
			dupLines = append(dupLines, fmt.Sprintf("coordinator: triage %s ×%d", mid, n))
		}
	}
	if len(coordGot) != len(triage) {
		t.Errorf("coordinator got %d distinct triage notices, want %d", len(coordGot), len(triage))
	}
	for _, l := range dupLines {
		t.Logf("duplicate (kill between the server's acceptance and the commit): %s", l)
	}
	t.Logf("sent copies: %d of %d notices; total %v", srv.Count(t, "vultures@cert.example", "Sent"), len(snap.outbox),
		time.Since(testStart).Round(time.Millisecond))
	runs := strings.Count(d.logText(), `"msg":"serving"`)
	again := 0
	for _, l := range strings.Split(d.logText(), "\n") {
		if strings.Contains(l, `"again":true`) && !strings.Contains(l, `"outcome":"duplicate"`) {
			again++
		}
	}
	problems := map[string]int{}
	for _, l := range strings.Split(d.logText(), "\n") {
		if strings.Contains(l, `"level":"ERROR"`) || strings.Contains(l, `"level":"WARN"`) {
			msg, _, _ := strings.Cut(l[strings.Index(l, `"msg":`)+6:], `,"`)
			problems[msg]++
		}
	}
	if len(problems) > 0 {
		t.Logf("warnings and errors in the serve log: %v", problems)
	}
	t.Logf("%d serve runs; %d inbound passes over a message already recorded (handled before a kill, not yet moved)", runs, again)
	t.Logf("killnine: answers=%d kills=%d dup_acks=%d quarantined=%d", len(answers), kills, dupAcks, sum(quarantined))
	if dupTriage > 0 {
		t.Logf("killnine: dup_triage=%d", dupTriage)
	}
}
