package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coordbot/coordbot/internal/realmail"
)

// TestTickRealServers: scheduler passes as of chosen times send reminders
// and propose the unreachable track through Postfix and Dovecot, once.
func TestTickRealServers(t *testing.T) {
	srv := realmail.Start(t)
	dir := t.TempDir()
	b := &bot{t: t, bin: binary(t), cfg: writeConfig(t, dir, srv.IMAPAddr, srv.SMTPAddr)}
	b.must("init")
	b.must("vendor", "add", "--id", "acme", "--name", "ACME", "--email", "psirt@acme.example", "--lang", "en")
	b.must("vendor", "add", "--id", "beta", "--name", "Beta", "--email", "security@beta.example", "--lang", "en")
	ov := filepath.Join(dir, "ov.txt")
	os.WriteFile(ov, []byte("overview\n"), 0o600)
	id := strings.TrimSpace(b.must("case", "new", "--title", "T", "--overview-file", ov))
	b.must("case", "notify", id, "overview", "acme", "beta")
	b.must("poll", "--once")
	srv.WaitMessages(t, "security@beta.example", "INBOX", 1, 30*time.Second)
	// beta answers; acme never does.
	srv.Send(t, "security@beta.example", []string{"vultures@cert.example"},
		replyTo(t, srv, "security@beta.example", "Message-Id", "Request detail: no\n"))
	srv.WaitMessages(t, "vultures@cert.example", "INBOX", 1, 30*time.Second)
	b.must("poll", "--once")
	start, err := time.Parse(time.RFC3339, b.caseJSON(id).Start)
	if err != nil {
		t.Fatal(err)
	}
	at := func(d time.Duration) string { return start.Add(d).Format(time.RFC3339) }

	if out := b.must("tick", "--now", at(8*24*time.Hour)); !strings.Contains(out, "1 actions") {
		t.Fatalf("first tick: %s", out)
	}
	// The same instant again: nothing.
	if out := b.must("tick", "--now", at(8*24*time.Hour)); !strings.Contains(out, "0 actions") {
		t.Fatalf("second tick: %s", out)
	}
	b.must("poll", "--once")
	acme := srv.WaitMessages(t, "psirt@acme.example", "INBOX", 2, 30*time.Second)
	if s := headerSubject(t, acme[1]); s != "["+id+"] Reminder" {
		t.Fatalf("reminder subject %q", s)
	}
	// Three months on: the coordinators are asked to apply stage 1.
	b.must("tick", "--now", start.AddDate(0, 3, 2).Format(time.RFC3339))
	b.must("poll", "--once")
	coord := parseAll(t, srv.WaitMessages(t, "coord@cert.example", "INBOX", 1, 30*time.Second))
	if !strings.Contains(coord[0].Text, "#coordbot unreachable acme advance") || !strings.Contains(coord[0].Text, "coordbot case unreachable "+id+" acme advance") {
		t.Fatalf("proposal:\n%s", coord[0].Text)
	}
	if n := len(srv.Messages(t, "security@beta.example", "INBOX")); n != 2 { // overview + ack, no reminder
		t.Fatalf("beta, which answered, has %d messages", n)
	}
	b.must("case", "unreachable", id, "acme", "advance")
	md := b.must("unreachable", "list", "--format", "md")
	if !strings.Contains(md, "DID#") || !strings.Contains(md, "ACME") {
		t.Fatalf("list:\n%s", md)
	}
	if c := b.caseJSON(id); c.Vendors[0].UnreachableStage != 1 || c.Vendors[0].State != "unreachable" {
		t.Fatalf("acme %+v", c.Vendors[0])
	}
}
