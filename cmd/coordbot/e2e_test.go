package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coordbot/coordbot/internal/realmail"
	"github.com/coordbot/coordbot/mailbot/open"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the real coordbot once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "coordbot-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "coordbot")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// bot drives the built binary with one config.
type bot struct {
	t   *testing.T
	bin string
	cfg string
	// logs collects everything the commands wrote to stderr (the operator log).
	logs bytes.Buffer
}

func (b *bot) run(args ...string) (string, string, int) {
	b.t.Helper()
	cmd := exec.Command(b.bin, append(args, "--config", b.cfg)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	b.logs.Write(errb.Bytes())
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		b.t.Fatalf("run %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

func (b *bot) must(args ...string) string {
	b.t.Helper()
	out, errs, code := b.run(args...)
	if code != 0 {
		b.t.Fatalf("coordbot %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func (b *bot) caseJSON(id string) caseOut {
	b.t.Helper()
	var c caseOut
	if err := json.Unmarshal([]byte(b.must("case", "show", id, "--json")), &c); err != nil {
		b.t.Fatal(err)
	}
	return c
}

func writeConfig(t *testing.T, dir, imapAddr, smtpAddr string) string {
	t.Helper()
	pw := filepath.Join(dir, "imap.pw")
	if err := os.WriteFile(pw, []byte(realmail.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "coordbot.toml")
	text := fmt.Sprintf(`[bot]
address = "vultures@cert.example"
data_dir = %q
[imap]
address = %q
security = "none"
password_file = %q
[smtp]
address = %q
security = "none"
username = ""
sent_mailbox = "Sent"
[[coordinator]]
address = "coord@cert.example"
[policy]
auto_send_detail = false
[admin]
socket = %q
`, filepath.Join(dir, "data"), imapAddr, pw, smtpAddr, filepath.Join(dir, "admin.sock"))
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func parseAll(t *testing.T, raws [][]byte) []*open.Message {
	t.Helper()
	var out []*open.Message
	for _, r := range raws {
		m, err := open.Parse(r, open.Limits{})
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		out = append(out, m)
	}
	return out
}

// TestSpineRealServers runs the spine against real Dovecot and Postfix:
// two vendors, a case, overviews, replies (one ISO-2022-JP) through
// Postfix, poll --once, acknowledgements, folders, and an idempotent
// second pass.
func TestSpineRealServers(t *testing.T) {
	srv := realmail.Start(t)
	dir := t.TempDir()
	b := &bot{t: t, bin: binary(t), cfg: writeConfig(t, dir, srv.IMAPAddr, srv.SMTPAddr)}

	out := b.must("init")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if fp := lines[len(lines)-1]; !regexp.MustCompile(`^[0-9A-F]{40}$`).MatchString(fp) {
		t.Fatalf("init's last line %q is not a fingerprint", fp)
	}
	for _, f := range []string{"data/robot.asc", "data/coordbot.db"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: mode %v err %v", f, fi.Mode(), err)
		}
	}
	// check against real Dovecot (password login) and Postfix (no auth).
	if out := b.must("check", "--create"); !strings.Contains(out, "ok   imap") || strings.Contains(out, "FAIL") {
		t.Fatalf("check:\n%s", out)
	}
	pw := filepath.Join(dir, "imap.pw")
	os.WriteFile(pw, []byte("wrong\n"), 0o600)
	if out, _, code := b.run("check"); code != 1 || !strings.Contains(out, "FAIL imap") {
		t.Fatalf("check with a wrong password: exit %d\n%s", code, out)
	}
	os.WriteFile(pw, []byte(realmail.Password+"\n"), 0o600)
	b.must("vendor", "add", "--id", "acme", "--name", "ACME株式会社", "--email", "psirt@acme.example", "--lang", "ja", "--keywords", "tls,http")
	b.must("vendor", "add", "--id", "beta", "--name", "Beta Networks", "--email", "security@beta.example", "--lang", "en")
	if _, errs, code := b.run("vendor", "add", "--id", "acme", "--email", "x@acme.example"); code != 1 || !strings.Contains(errs, "exists") {
		t.Fatalf("duplicate vendor: exit %d %s", code, errs)
	}
	if _, _, code := b.run("vendor", "add", "--name", "no id"); code != 2 {
		t.Fatalf("usage error exit %d, want 2", code)
	}
	ov := filepath.Join(dir, "overview.txt")
	dt := filepath.Join(dir, "detail.txt")
	os.WriteFile(ov, []byte("A crafted ClientHello crashes the server.\n"), 0o600)
	os.WriteFile(dt, []byte("SECRET-DETAIL-MARKER: off-by-one in handshake.c\n"), 0o600)
	id := strings.TrimSpace(b.must("case", "new", "--title", "TLS handshake overflow", "--overview-file", ov, "--detail-file", dt, "--keywords", "tls"))
	if !regexp.MustCompile(`^JVNVU#\d{8}$`).MatchString(id) {
		t.Fatalf("case new printed %q", id)
	}
	b.must("case", "vendors", "add", id, "acme", "beta")
	b.must("case", "notify", id, "overview", "all")
	b.must("poll", "--once")

	acmeOv := parseAll(t, srv.WaitMessages(t, "psirt@acme.example", "INBOX", 1, 30*time.Second))[0]
	betaOv := parseAll(t, srv.WaitMessages(t, "security@beta.example", "INBOX", 1, 30*time.Second))[0]
	for _, m := range []*open.Message{acmeOv, betaOv} {
		if !strings.HasPrefix(m.Subject, "["+id+"] ") || strings.Contains(m.Subject, "TLS handshake") {
			t.Fatalf("overview subject %q: want [ID] and no title", m.Subject)
		}
		if strings.Contains(m.Text, "SECRET-DETAIL-MARKER") {
			t.Fatal("the detail leaked into an overview")
		}
	}
	if acmeOv.Header.Get("Auto-Submitted") != "auto-generated" {
		t.Fatalf("Auto-Submitted %q", acmeOv.Header.Get("Auto-Submitted"))
	}
	if !strings.Contains(acmeOv.Text, "詳細情報の請求") || strings.Contains(betaOv.Text, "詳細情報の請求") {
		t.Fatal("overview language does not follow the vendor's")
	}

	jaReply, err := iso2022jpReply("psirt@acme.example", "vultures@cert.example", acmeOv,
		"ACME PSIRT です。\n\n詳細情報の請求：はい\n")
	if err != nil {
		t.Fatal(err)
	}
	enReply := plainReply("security@beta.example", "vultures@cert.example", betaOv, "We have no such product.\n\nRequest detail: no\n")
	// A stranger naming the case: quarantined, coordinators told, nothing back.
	stranger := []byte("From: someone@example.org\r\nTo: vultures@cert.example\r\nSubject: Re: [" + id + "] tell me more\r\n" +
		"Message-ID: <probe.1@example.org>\r\n\r\nRequest detail: yes\r\n")
	srv.AddUser("someone@example.org")
	srv.Send(t, "psirt@acme.example", []string{"vultures@cert.example"}, jaReply)
	srv.Send(t, "security@beta.example", []string{"vultures@cert.example"}, enReply)
	srv.Send(t, "someone@example.org", []string{"vultures@cert.example"}, stranger)
	srv.WaitMessages(t, "vultures@cert.example", "INBOX", 3, 30*time.Second)

	b.must("poll", "--once")
	c := b.caseJSON(id)
	if c.State != "active" || c.Start == "" || c.TargetDate == "" {
		t.Fatalf("case %+v", c)
	}
	got := map[string]string{}
	for _, v := range c.Vendors {
		got[v.Vendor] = v.State
		if v.LastInbound == "" {
			t.Errorf("vendor %s has no last_inbound", v.Vendor)
		}
	}
	if got["acme"] != "detail-requested" || got["beta"] != "no-product" {
		t.Fatalf("vendor states %v", got)
	}
	kinds := map[string]int{}
	for _, e := range c.Events {
		kinds[e.Kind]++
	}
	if kinds["overview-sent"] != 2 || kinds["detail-requested"] != 1 || kinds["no-product"] != 1 {
		t.Fatalf("events %v", kinds)
	}

	acmeMail := parseAll(t, srv.WaitMessages(t, "psirt@acme.example", "INBOX", 2, 30*time.Second))
	betaMail := parseAll(t, srv.WaitMessages(t, "security@beta.example", "INBOX", 2, 30*time.Second))
	jaID := parseAll(t, [][]byte{jaReply})[0].MessageID
	if ack := acmeMail[1]; len(ack.InReplyTo) != 1 || ack.InReplyTo[0] != jaID || !strings.HasPrefix(ack.Subject, "["+id+"]") {
		t.Fatalf("acme ack: subject %q in-reply-to %v, want %s", ack.Subject, ack.InReplyTo, jaID)
	}
	if !strings.Contains(betaMail[1].Text, "Request detail: no") {
		t.Fatalf("beta ack does not say what was recorded:\n%s", betaMail[1].Text)
	}
	triage := parseAll(t, srv.WaitMessages(t, "coord@cert.example", "INBOX", 1, 30*time.Second))
	if !strings.Contains(triage[0].Text, "unknown sender") {
		t.Fatalf("triage text:\n%s", triage[0].Text)
	}
	if n := len(srv.Messages(t, "someone@example.org", "INBOX")); n != 0 {
		t.Fatalf("the stranger got %d messages", n)
	}
	if n := len(srv.Messages(t, "vultures@cert.example", "Processed")); n != 2 {
		t.Fatalf("Processed holds %d, want 2", n)
	}
	if n := len(srv.Messages(t, "vultures@cert.example", "Quarantine")); n != 1 {
		t.Fatalf("Quarantine holds %d, want 1", n)
	}
	if n := len(srv.Messages(t, "vultures@cert.example", "INBOX")); n != 0 {
		t.Fatalf("INBOX still holds %d", n)
	}
	if n := len(srv.Messages(t, "vultures@cert.example", "Sent")); n != 5 {
		t.Fatalf("Sent holds %d, want 5 (2 overviews, 2 acks, 1 triage)", n)
	}

	// A second pass changes nothing and sends nothing.
	before := b.must("case", "show", id, "--json")
	b.must("poll", "--once")
	if after := b.must("case", "show", id, "--json"); after != before {
		t.Fatalf("second poll changed the case:\n%s\n%s", before, after)
	}
	time.Sleep(time.Second)
	if n := len(srv.Messages(t, "psirt@acme.example", "INBOX")); n != 2 {
		t.Fatalf("acme has %d messages after the second pass", n)
	}
	if n := len(srv.Messages(t, "coord@cert.example", "INBOX")); n != 1 {
		t.Fatalf("coordinator has %d messages after the second pass", n)
	}
}

// TestServeRealServers: the daemon picks up an answer by IDLE, the CLI
// works through the admin socket while it holds the store, and SIGTERM
// stops it cleanly.
func TestServeRealServers(t *testing.T) {
	srv := realmail.Start(t)
	dir := t.TempDir()
	b := &bot{t: t, bin: binary(t), cfg: writeConfig(t, dir, srv.IMAPAddr, srv.SMTPAddr)}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	healthAddr := hl.Addr().String()
	hl.Close()
	cfgText, _ := os.ReadFile(b.cfg)
	os.WriteFile(b.cfg, bytes.Replace(cfgText, []byte("[admin]\n"), []byte("[admin]\nlisten = \""+healthAddr+"\"\n"), 1), 0o600)
	b.must("init")
	b.must("vendor", "add", "--id", "acme", "--name", "ACME", "--email", "psirt@acme.example", "--lang", "en")
	ov := filepath.Join(dir, "ov.txt")
	os.WriteFile(ov, []byte("overview\n"), 0o600)
	id := strings.TrimSpace(b.must("case", "new", "--title", "T", "--overview-file", ov))

	var logs bytes.Buffer
	serve := exec.Command(b.bin, "serve", "--config", b.cfg)
	serve.Stdout, serve.Stderr = &logs, &logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- serve.Wait() }()
	defer func() {
		if serve.ProcessState == nil {
			serve.Process.Kill()
		}
	}()
	// Wait for the admin socket.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "admin.sock")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not open its socket:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// CLI verbs while serve holds the store go through the socket.
	b.must("vendor", "add", "--id", "beta", "--name", "Beta", "--email", "security@beta.example", "--lang", "en")
	if out := b.must("vendor", "list"); !strings.Contains(out, "beta") {
		t.Fatalf("vendor list through the socket:\n%s", out)
	}
	if _, errs, code := b.run("case", "show", "JVNVU#00000000"); code != 1 || errs == "" {
		t.Fatalf("error through the socket: exit %d %q", code, errs)
	}
	b.must("case", "notify", id, "overview", "acme", "beta")
	// The daemon sends at once (no poll needed).
	ovs := parseAll(t, srv.WaitMessages(t, "psirt@acme.example", "INBOX", 1, 30*time.Second))
	reply := plainReply("psirt@acme.example", "vultures@cert.example", ovs[0], "Request detail: no\n")
	sent := time.Now()
	srv.Send(t, "psirt@acme.example", []string{"vultures@cert.example"}, reply)
	// The answer is applied and acknowledged well within the poll interval (1m): IDLE woke the daemon.
	srv.WaitMessages(t, "psirt@acme.example", "INBOX", 2, 30*time.Second)
	t.Logf("answer to acknowledgement: %v", time.Since(sent).Round(time.Millisecond))
	if os.Getenv("COORDBOT_SHOW_LOGS") != "" {
		t.Log(logs.String())
	}
	c := b.caseJSON(id)
	if c.Vendors[0].State != "no-product" {
		t.Fatalf("state %+v", c.Vendors)
	}
	// The admin listener: /healthz and the metrics.
	resp, err := http.Get("http://" + healthAddr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Healthy bool
		IMAP    struct{ Connected bool }
		Outbox  struct{ Depth int }
	}
	json.NewDecoder(resp.Body).Decode(&rep)
	resp.Body.Close()
	if resp.StatusCode != 200 || !rep.Healthy || !rep.IMAP.Connected {
		t.Fatalf("healthz %d %+v", resp.StatusCode, rep)
	}
	resp, err = http.Get("http://" + healthAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{`coordbot_inbound_total{outcome="applied"} 1`, `coordbot_notices_total{kind="ack",result="sent"} 1`, "coordbot_outbox_depth 0"} {
		if !strings.Contains(string(metrics), m) {
			t.Fatalf("metrics lack %q:\n%s", m, metrics)
		}
	}

	// A consistent copy while serve runs (through the socket).
	restored := filepath.Join(dir, "restored")
	os.MkdirAll(restored, 0o700)
	b.must("backup", filepath.Join(restored, "coordbot.db"))

	serve.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM\n%s", err, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not stop after SIGTERM\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "stopped") {
		t.Fatalf("no clean stop in the log:\n%s", logs.String())
	}
	// Logs carry no bodies.
	if strings.Contains(logs.String(), "Request detail") {
		t.Fatal("a message body reached the log")
	}
	// After the daemon is gone the CLI opens the store itself again.
	b.must("case", "show", id, "--json")
	// A robot started on the copy resumes: same case, same state, polls.
	cfgText, _ = os.ReadFile(b.cfg)
	cfg2 := filepath.Join(dir, "restored.toml")
	os.WriteFile(cfg2, bytes.Replace(bytes.Replace(cfgText, []byte(filepath.Join(dir, "data")), []byte(restored), 1),
		[]byte("[pgp]\n"), nil, 1), 0o600)
	os.WriteFile(cfg2, append(mustRead(t, cfg2), []byte("[pgp]\nkey_file = \""+filepath.Join(dir, "data", "robot.asc")+"\"\n")...), 0o600)
	b2 := &bot{t: t, bin: b.bin, cfg: cfg2}
	if c2 := b2.caseJSON(id); c2.Vendors[0].State != "no-product" || len(c2.Events) != len(b.caseJSON(id).Events) {
		t.Fatalf("the copy differs: %+v", c2)
	}
	b2.must("poll", "--once")
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
