package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-smtp"

	"github.com/coordbot/coordbot/mailbot/config"
	"github.com/coordbot/coordbot/mailbot/desk"
	"github.com/coordbot/coordbot/mailbot/inbox"
)

// devWait polls cond until it holds or the time is up.
func devWait(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// devMailbox reads a mailbox of the embedded IMAP server as a client would.
func devMailbox(t *testing.T, addr, user, password, mailbox string) [][]byte {
	t.Helper()
	c, err := inbox.Dial(context.Background(), inbox.Config{Address: addr, Security: "none", Username: user, Password: password}, nil)
	if err != nil {
		t.Fatalf("imap login as %s: %v", user, err)
	}
	defer c.Close()
	if _, err := c.Select(mailbox); err != nil {
		t.Fatal(err)
	}
	uids, err := c.NewUIDs(0)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	err = c.Fetch(uids, func(_ imap.UID, raw []byte, err error) error {
		out = append(out, raw)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDevServesAndProcesses(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb lockedBuffer
	e := &env{ctx: ctx, stdin: strings.NewReader(""), stdout: &out, stderr: &errb, cwd: dir}
	done := make(chan int, 1)
	go func() { done <- run(e, []string{"dev", "--config-out", "dev.toml"}) }()
	stopped := false
	defer func() {
		if !stopped {
			cancel()
			<-done
		}
	}()

	devWait(t, "dev to print its servers", 30*time.Second, func() bool {
		select {
		case code := <-done:
			t.Fatalf("dev exited %d early\n%s\n%s", code, out.String(), errb.String())
		default:
		}
		return strings.Contains(out.String(), "Ctrl-C stops")
	})
	report := out.String()
	find := func(re string) string {
		m := regexp.MustCompile(re).FindStringSubmatch(report)
		if m == nil {
			t.Fatalf("no %s in\n%s", re, report)
		}
		return m[1]
	}
	imapAddr := find(`(?m)^  IMAP  (127\.0\.0\.1:\d+) `)
	smtpAddr := find(`(?m)^  SMTP  (127\.0\.0\.1:\d+) `)
	betaPW := find(`(?m)^  vendor beta +` + regexp.QuoteMeta(devBeta) + ` +password (\S+)$`)
	robotPW := find(`(?m)^  robot +` + regexp.QuoteMeta(devBot) + ` +password (\S+)$`)
	find(`(?m)^  coordinator +` + regexp.QuoteMeta(devCoord) + ` +password (\S+)$`)
	find(`(?m)^  vendor acme +` + regexp.QuoteMeta(devAcme) + ` +password (\S+)$`)
	caseID := find(`(?m)^case (\S+) opened`)
	cfgPath := find(`(?m)^  config +(\S+)$`)
	if cfgPath != filepath.Join(dir, "dev.toml") {
		t.Errorf("config at %s, want --config-out", cfgPath)
	}
	coordKey := find(`(?m)^  coordinator key +(\S+) `)
	if b, err := os.ReadFile(coordKey); err != nil || !bytes.Contains(b, []byte("PRIVATE KEY BLOCK")) {
		t.Errorf("coordinator secret key %s: %v", coordKey, err)
	}
	// The generated config is valid and names the printed servers.
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.IMAP.Address != imapAddr || cfg.SMTP.Address != smtpAddr {
		t.Errorf("config servers %s %s, printed %s %s", cfg.IMAP.Address, cfg.SMTP.Address, imapAddr, smtpAddr)
	}
	if ic, err := desk.IMAPConfig(cfg); err != nil || ic.Password != robotPW {
		t.Errorf("robot password in the config: %v", err)
	}

	// The daemon sends the overview to Beta, who answers it by mail.
	var overview []byte
	devWait(t, "the overview in beta's INBOX", 30*time.Second, func() bool {
		if msgs := devMailbox(t, imapAddr, devBeta, betaPW, "INBOX"); len(msgs) > 0 {
			overview = msgs[0]
			return true
		}
		return false
	})
	if !bytes.Contains(overview, []byte("["+caseID+"]")) {
		t.Fatalf("overview without the case ID:\n%s", overview)
	}
	reply := fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: Re: [%s] Vulnerability overview\r\nDate: %s\r\n"+
		"Message-ID: <%d.reply@beta.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
		"Hello,\r\n\r\nWe do not ship any TLS stack.\r\n\r\nRequest detail: no\r\n",
		devBeta, devBot, caseID, time.Now().Format(time.RFC1123Z), time.Now().UnixNano())
	c, err := smtp.Dial(smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail(devBeta, []string{devBot}, strings.NewReader(reply)); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	devWait(t, "the answer in the robot's Processed mailbox", 60*time.Second, func() bool {
		return len(devMailbox(t, imapAddr, devBot, robotPW, "Processed")) == 1
	})

	// Other verbs work meanwhile, through the daemon's admin socket.
	js, errs, code := runCmd(t, context.Background(), dir, "case", "show", caseID, "--json", "--config", cfgPath)
	if code != 0 {
		t.Fatalf("case show: exit %d %s", code, errs)
	}
	var cj struct {
		Vendors []struct{ Vendor, State string }
	}
	if err := json.Unmarshal([]byte(js), &cj); err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, v := range cj.Vendors {
		states[v.Vendor] = v.State
	}
	if states["beta"] != "no-product" || states["acme"] != "overview-sent" {
		t.Errorf("vendor states %v", states)
	}
	// And check is happy with the generated config.
	chk, _, code := runCmd(t, context.Background(), dir, "check", "--config", cfgPath)
	if code != 0 || strings.Contains(chk, "FAIL") {
		t.Errorf("check of the dev config: exit %d\n%s", code, chk)
	}

	// SIGINT/SIGTERM (the context) stops it cleanly.
	cancel()
	stopped = true
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("dev exited %d\n%s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("dev did not stop")
	}
	if !strings.Contains(errb.String(), "msg=stopped") {
		t.Errorf("daemon log:\n%s", errb.String())
	}
	// Its temporary folder (keys, store, socket) is gone.
	tmp := find(`(?m)mail lives in memory only, (\S+) is removed$`)
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("%s left behind: %v", tmp, err)
	}
}

func TestDevRefusesForeignConfig(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "coordbot.toml")
	os.WriteFile(real, []byte("[bot]\naddress = \"x@y.example\"\n"), 0o600)
	_, errs, code := runCmd(t, context.Background(), dir, "dev", "--config-out", "coordbot.toml")
	if code != 1 || !strings.Contains(errs, "was not written by coordbot dev") {
		t.Fatalf("exit %d %q", code, errs)
	}
	if b, _ := os.ReadFile(real); string(b) != "[bot]\naddress = \"x@y.example\"\n" {
		t.Fatalf("overwritten: %q", b)
	}
	if _, errs, code := runCmd(t, context.Background(), dir, "dev", "extra"); code != 2 {
		t.Fatalf("usage: exit %d %q", code, errs)
	}
}
