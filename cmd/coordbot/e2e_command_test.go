package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coordbot/coordbot/internal/gpgtest"
	"github.com/coordbot/coordbot/internal/realmail"
	"github.com/coordbot/coordbot/mailbot/open"
)

// gpgSigned builds a PGP/MIME signed mail (RFC 3156) the way Enigmail does,
// signed by real gpg over the exact CRLF bytes of the first part.
func gpgSigned(t *testing.T, g *gpgtest.Home, from, subject, body string) []byte {
	t.Helper()
	part := "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + strings.ReplaceAll(body, "\n", "\r\n")
	sig, status, stderr, err := g.RunOut([]byte(part), "--armor", "--detach-sign", "--digest-algo", "SHA256")
	if err != nil {
		t.Fatalf("gpg --detach-sign: %v\n%s\n%s", err, status, stderr)
	}
	b := fmt.Sprintf("sig%d", time.Now().UnixNano())
	return []byte("From: " + from + "\r\nTo: vultures@cert.example\r\nSubject: " + subject + "\r\n" +
		fmt.Sprintf("Message-ID: <%d.pgpmime@cert.example>\r\nDate: %s\r\n", time.Now().UnixNano(), time.Now().Format(time.RFC1123Z)) +
		"MIME-Version: 1.0\r\nContent-Type: multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\"; boundary=\"" + b + "\"\r\n\r\n" +
		"--" + b + "\r\n" + part + "\r\n--" + b + "\r\nContent-Type: application/pgp-signature; name=\"signature.asc\"\r\n\r\n" +
		strings.ReplaceAll(string(sig), "\n", "\r\n") + "\r\n--" + b + "--\r\n")
}

// gpgClearsigned builds an inline clearsigned mail.
func gpgClearsigned(t *testing.T, g *gpgtest.Home, from, subject, body string) []byte {
	t.Helper()
	out, status, stderr, err := g.RunOut([]byte(body), "--clearsign", "--digest-algo", "SHA256")
	if err != nil {
		t.Fatalf("gpg --clearsign: %v\n%s\n%s", err, status, stderr)
	}
	return []byte("From: " + from + "\r\nTo: vultures@cert.example\r\nSubject: " + subject + "\r\n" +
		fmt.Sprintf("Message-ID: <%d.clear@cert.example>\r\nDate: %s\r\n", time.Now().UnixNano(), time.Now().Format(time.RFC1123Z)) +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + strings.ReplaceAll(string(out), "\n", "\r\n"))
}

// TestCommandsRealServers runs a case from a mail client alone: every
// verb in gpg-signed mail (PGP/MIME and clearsigned) through Postfix and
// Dovecot, transcripts opened in gpg, and the refusals.
func TestCommandsRealServers(t *testing.T) {
	srv := realmail.Start(t)
	coord := gpgtest.New(t)
	dir := t.TempDir()
	b := &bot{t: t, bin: binary(t), cfg: writeConfig(t, dir, srv.IMAPAddr, srv.SMTPAddr)}
	coordPub := filepath.Join(dir, "coord.asc")
	prioPub := filepath.Join(dir, "prio.asc")
	os.WriteFile(coordPub, repoFile(t, "testdata/keys/coord.pub.asc"), 0o600)
	os.WriteFile(prioPub, repoFile(t, "testdata/keys/vendor-beta-rsa.pub.asc"), 0o600)
	coord.Import("coord", repoFile(t, "testdata/keys/coord.sec.asc"))
	status, _, _ := coord.Run("--with-colons", "--list-keys", "coord@cert.example")
	_ = status
	out, _, _, _ := coord.RunOut(nil, "--with-colons", "--fingerprint", "--list-keys")
	coordFpr := ""
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "fpr:") && coordFpr == "" {
			coordFpr = strings.Split(l, ":")[9]
		}
	}
	cfgText, _ := os.ReadFile(b.cfg)
	cfgText = bytes.Replace(cfgText, []byte("[[coordinator]]\naddress = \"coord@cert.example\"\n"),
		[]byte(fmt.Sprintf("[[coordinator]]\naddress = \"coord@cert.example\"\nfingerprint = %q\nkey_file = %q\n[[priority]]\nname = \"ISAC\"\naddress = \"reporter@example.com\"\nkey_file = %q\n", coordFpr, coordPub, prioPub)), 1)
	cfgText = bytes.Replace(cfgText, []byte("auto_send_detail = false"), []byte("auto_send_detail = true"), 1)
	os.WriteFile(b.cfg, cfgText, 0o600)
	robotFpr := lastLine(b.must("init"))
	coord.Import("robot", []byte(b.must("key", "export")))
	acmeKey := filepath.Join(dir, "acme.asc")
	os.WriteFile(acmeKey, repoFile(t, "testdata/keys/vendor-acme.pub.asc"), 0o600)
	b.must("vendor", "add", "--id", "acme", "--name", "ACME", "--email", "psirt@acme.example", "--key", acmeKey, "--keywords", "tls")
	b.must("vendor", "add", "--id", "beta", "--name", "Beta", "--email", "security@beta.example", "--lang", "en", "--keywords", "tls")

	transcripts := 0
	send := func(raw []byte) string {
		t.Helper()
		srv.Send(t, "coord@cert.example", []string{"vultures@cert.example"}, raw)
		srv.WaitMessages(t, "vultures@cert.example", "INBOX", 1, 30*time.Second)
		b.must("poll", "--once")
		transcripts++
		// The transcript and other notices of the same pass are sent in
		// parallel: find it by its Subject, not by its place.
		var last []byte
		deadline := time.Now().Add(30 * time.Second)
		for last == nil && time.Now().Before(deadline) {
			msgs := srv.WaitMessages(t, "coord@cert.example", "INBOX", transcripts, 30*time.Second)
			for _, m := range msgs[transcripts-1:] {
				if strings.HasPrefix(headerSubject(t, m), "Processed") {
					last = m
				}
			}
			if last == nil {
				time.Sleep(100 * time.Millisecond)
			}
		}
		if last == nil {
			t.Fatal("no transcript arrived")
		}
		plain, status, stderr, err := coord.RunOut(encryptedPart(t, last), "--decrypt")
		if err != nil || !gpgtest.GoodSigBy(status, robotFpr) {
			t.Fatalf("transcript does not open in gpg: %v\n%s\n%s", err, status, stderr)
		}
		// What the coordinator reads: the protected Subject and the
		// decoded text (a Japanese transcript travels base64).
		inner, err := open.Parse(bytes.ReplaceAll(plain, []byte("\n"), []byte("\r\n")), open.Limits{})
		if err != nil {
			t.Fatalf("transcript does not parse: %v\n%s", err, plain)
		}
		return "Subject: " + inner.Subject + "\n" + inner.Text
	}
	ok := func(tr string, lines int) {
		t.Helper()
		if !strings.Contains(tr, "Processed:") || strings.Contains(tr, "error:") || strings.Count(tr, "\nok: ") < lines {
			t.Fatalf("transcript:\n%s", tr)
		}
	}

	var tr string
	tr = send(gpgSigned(t, coord, "coord@cert.example", "new case", "Dear all,\n\n#coordbot case new TLS handshake overflow\n"+
		"#coordbot keywords tls\n#coordbot vendors suggest\n#coordbot vendor add acme beta\n#coordbot notify overview all\n\n"+
		"Overview:\nA crafted ClientHello crashes the server.\n\nDetail:\nDETAIL-MARKER in handshake.c\n"))
	ok(tr, 5)
	i := strings.Index(tr, "created JVNVU#")
	if i < 0 {
		t.Fatalf("no case ID in the transcript:\n%s", tr)
	}
	id := tr[i+len("created ") : i+len("created ")+14]
	if !strings.Contains(tr, "acme") || !strings.Contains(tr, "suggested") {
		t.Fatalf("suggest output:\n%s", tr)
	}
	date := time.Now().Add(40 * 24 * time.Hour).Format("2006-01-02T15:04-07:00")
	clear := gpgClearsigned(t, coord, "coord@cert.example", "Re: ["+id+"]", "#coordbot case "+id+"\n#coordbot lead CERT/CC VU#123456\n"+
		"#coordbot note spoke with ACME\n#coordbot date "+date+"\n#coordbot notify detail acme\n")
	ok(send(clear), 5)
	c := b.caseJSON(id)
	if c.Lead != "CERT/CC VU#123456" || c.State != "scheduled" || c.Vendors[0].State != "detail-sent" {
		t.Fatalf("after the clearsigned mail: %+v", c)
	}
	ok(send(gpgSigned(t, coord, "coord@cert.example", "x", "#coordbot case "+id+"\n#coordbot status acme affected fixed in 2.1\n"+
		"#coordbot customer-notice approve acme\n#coordbot priority-notify\n#coordbot remind beta\n#coordbot unreachable beta advance\n")), 6)
	if n := len(srv.WaitMessages(t, "reporter@example.com", "INBOX", 1, 30*time.Second)); n != 1 {
		t.Fatalf("priority recipient got %d", n)
	}
	// §8-2: ACME asks to share with a related organisation, which writes
	// quoting the case ID; the coordinator approves by signed mail.
	srv.AddUser("psirt@delta.example")
	srv.Send(t, "psirt@acme.example", []string{"vultures@cert.example"}, []byte("From: psirt@acme.example\r\nTo: vultures@cert.example\r\n"+
		"Subject: Re: ["+id+"]\r\nMessage-ID: <share.1@acme.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
		"関係組織への共有 / Share with organisation: Delta Systems / Sato / psirt@delta.example\r\n"))
	srv.WaitMessages(t, "vultures@cert.example", "INBOX", 1, 30*time.Second)
	b.must("poll", "--once")
	srv.Send(t, "psirt@delta.example", []string{"vultures@cert.example"}, []byte("From: psirt@delta.example\r\nTo: vultures@cert.example\r\n"+
		"Subject: "+id+"\r\nMessage-ID: <hello.1@delta.example>\r\n\r\nACME asked us to contact you about "+id+".\r\n"))
	srv.WaitMessages(t, "vultures@cert.example", "INBOX", 1, 30*time.Second)
	b.must("poll", "--once")
	if n := len(srv.Messages(t, "psirt@delta.example", "INBOX")); n != 0 {
		t.Fatalf("the organisation got %d messages before approval", n)
	}
	coordBefore := len(srv.Messages(t, "coord@cert.example", "INBOX"))
	transcripts = coordBefore // request notices arrived in between
	tr = send(gpgSigned(t, coord, "coord@cert.example", "x", "#coordbot case "+id+"\n#coordbot share approve acme psirt@delta.example\n"))
	ok(tr, 2)
	held := false
	for _, v := range b.caseJSON(id).Vendors {
		// Registered and on the case; no key, so the detail is held, never sent in clear.
		held = held || (v.Vendor == "delta.example" && v.State == "detail-held")
	}
	if !held || len(srv.Messages(t, "psirt@delta.example", "INBOX")) != 0 {
		t.Fatalf("after approval: %+v", b.caseJSON(id).Vendors)
	}
	// One bad line: nothing runs, the transcript says which.
	tr = send(gpgSigned(t, coord, "coord@cert.example", "x", "#coordbot case "+id+"\n#coordbot publish\n#coordbot cancel bored\n"))
	if !strings.Contains(tr, "Processed (with 1 errors)") || b.caseJSON(id).State != "scheduled" {
		t.Fatalf("all or nothing:\n%s", tr)
	}
	// Preview runs nothing.
	tr = send(gpgSigned(t, coord, "coord@cert.example", "x", "#coordbot preview\n#coordbot case "+id+"\n#coordbot publish\n"))
	if !strings.Contains(tr, "Preview") || b.caseJSON(id).State != "scheduled" {
		t.Fatalf("preview:\n%s", tr)
	}
	ok(send(gpgSigned(t, coord, "coord@cert.example", "x", "#coordbot case "+id+"\n#coordbot publish\n#coordbot close\n")), 3)
	if st := b.caseJSON(id).State; st != "closed" {
		t.Fatalf("state %s", st)
	}
	// A second case, cancelled.
	tr = send(gpgSigned(t, coord, "coord@cert.example", "x", "#coordbot case new Other\n#coordbot vendor add beta\n#coordbot notify overview beta\n"+
		"#coordbot cancel no-impact\n\nOverview:\nsomething\n"))
	ok(tr, 4)

	// Refusals: unsigned, and a replay of a signed mail with a new Message-ID.
	quarantined := len(srv.Messages(t, "vultures@cert.example", "Quarantine"))
	srv.Send(t, "coord@cert.example", []string{"vultures@cert.example"},
		[]byte("From: coord@cert.example\r\nTo: vultures@cert.example\r\nSubject: ["+id+"]\r\nMessage-ID: <forged@x>\r\n\r\n#coordbot case "+id+"\r\n#coordbot note forged\r\n"))
	replay := bytes.Replace(clear, []byte("Message-ID: <"), []byte("Message-ID: <replayed."), 1)
	srv.Send(t, "coord@cert.example", []string{"vultures@cert.example"}, replay)
	srv.WaitMessages(t, "vultures@cert.example", "INBOX", 2, 30*time.Second)
	b.must("poll", "--once")
	if n := len(srv.Messages(t, "vultures@cert.example", "Quarantine")); n != quarantined+2 {
		t.Fatalf("quarantine %d, want %d", n, quarantined+2)
	}
	notes := 0
	for _, e := range b.caseJSON(id).Events {
		if e.Kind == "note" {
			notes++
		}
	}
	if notes != 1 {
		t.Fatalf("notes %d: a refused mail ran", notes)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
