package main

import (
	"bytes"
	"fmt"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coordbot/coordbot/internal/gpgtest"
	"github.com/coordbot/coordbot/internal/realmail"
	"github.com/coordbot/coordbot/mailbot/open"
)

func repoFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func headerMsgID(t *testing.T, raw []byte) string {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Trim(m.Header.Get("Message-Id"), "<> ")
}

// encryptedPart returns the application/octet-stream part of a PGP/MIME
// encrypted message.
func encryptedPart(t *testing.T, raw []byte) []byte {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || params["protocol"] != "application/pgp-encrypted" {
		t.Fatalf("not PGP/MIME encrypted: %q", m.Header.Get("Content-Type"))
	}
	body := raw[bytes.Index(raw, []byte("\r\n\r\n"))+4:]
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("no encrypted part: %v", err)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "application/octet-stream") {
			var b bytes.Buffer
			b.ReadFrom(p)
			return b.Bytes()
		}
	}
}

// thunderbirdEncrypted builds what Thunderbird sends: the real Subject only
// inside, "..." outside, the inner entity signed and encrypted by gpg.
func thunderbirdEncrypted(t *testing.T, g *gpgtest.Home, from, to, subject, inReplyTo, body, robotFpr string) []byte {
	t.Helper()
	msgID := fmt.Sprintf("<%d.tb@%s>", time.Now().UnixNano(), from[strings.IndexByte(from, '@')+1:])
	inner := "Content-Type: text/plain; charset=UTF-8; protected-headers=\"v1\"\r\n" +
		"Subject: " + mime.QEncoding.Encode("utf-8", subject) + "\r\nFrom: " + from + "\r\nTo: " + to + "\r\n" +
		"Message-ID: " + msgID + "\r\nIn-Reply-To: <" + inReplyTo + ">\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
		strings.ReplaceAll(body, "\n", "\r\n")
	out, status, stderr, err := g.RunOut([]byte(inner), "--armor", "--sign", "--encrypt", "--trust-model", "always", "-r", robotFpr)
	if err != nil {
		t.Fatalf("gpg --sign --encrypt: %v\n%s\n%s", err, status, stderr)
	}
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	fmt.Fprintf(&b, "") // boundary chosen by the writer
	hdr := "From: " + from + "\r\nTo: " + to + "\r\nSubject: ...\r\nMessage-ID: " + msgID + "\r\nIn-Reply-To: <" + inReplyTo + ">\r\n" +
		"Date: " + time.Now().Format(time.RFC1123Z) + "\r\nMIME-Version: 1.0\r\nUser-Agent: Mozilla Thunderbird\r\n" +
		"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"" + w.Boundary() + "\"\r\n\r\n" +
		"This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n"
	p1, _ := w.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/pgp-encrypted"}, "Content-Description": {"PGP/MIME version identification"}})
	p1.Write([]byte("Version: 1\r\n"))
	p2, _ := w.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/octet-stream; name=\"encrypted.asc\""},
		"Content-Description": {"OpenPGP encrypted message"}, "Content-Disposition": {"inline; filename=\"encrypted.asc\""}})
	p2.Write(bytes.ReplaceAll(out, []byte("\n"), []byte("\r\n")))
	w.Close()
	return append([]byte(hdr), b.Bytes()...)
}

// pgpSetup starts real servers and a robot that sends the detail at once,
// and gives ACME's gpg (its secret key, the robot's public key) and the
// path of ACME's public key file.
func pgpSetup(t *testing.T) (srv *realmail.Servers, b *bot, dir string, acme *gpgtest.Home, robotFpr, acmePub string) {
	t.Helper()
	srv = realmail.Start(t)
	acme = gpgtest.New(t)
	dir = t.TempDir()
	b = &bot{t: t, bin: binary(t), cfg: writeConfig(t, dir, srv.IMAPAddr, srv.SMTPAddr)}
	cfgText, _ := os.ReadFile(b.cfg)
	os.WriteFile(b.cfg, bytes.Replace(cfgText, []byte("auto_send_detail = false"), []byte("auto_send_detail = true"), 1), 0o600)
	robotFpr = lastLine(b.must("init"))
	acme.Import("robot", []byte(b.must("key", "export")))
	acme.Import("acme-secret", repoFile(t, "testdata/keys/vendor-acme.sec.asc"))
	acmePub = filepath.Join(dir, "acme.asc")
	os.WriteFile(acmePub, repoFile(t, "testdata/keys/vendor-acme.pub.asc"), 0o600)
	return
}

// TestPGPRealServers: a vendor with a gpg key asks for the detail, gets it
// PGP/MIME encrypted through Postfix and Dovecot, opens it in real gpg
// (good signature by the robot, protected Subject with the title inside,
// none outside), and answers with a Thunderbird-style encrypted and signed
// status report that coordbot opens and records as authenticated.
func TestPGPRealServers(t *testing.T) {
	srv, b, dir, vendor, robotFpr, acmePub := pgpSetup(t)
	b.must("vendor", "add", "--id", "acme", "--name", "ACME", "--email", "psirt@acme.example", "--lang", "ja", "--key", acmePub)
	ov := filepath.Join(dir, "ov.txt")
	dt := filepath.Join(dir, "dt.txt")
	os.WriteFile(ov, []byte("overview\n"), 0o600)
	os.WriteFile(dt, []byte("DETAIL-MARKER: the bug is in handshake.c line 42\n"), 0o600)
	att := filepath.Join(dir, "poc.py")
	os.WriteFile(att, []byte("print('proof of concept')\n"), 0o600)
	id := strings.TrimSpace(b.must("case", "new", "--title", "TITLE-MARKER overflow", "--overview-file", ov, "--detail-file", dt, "--attach", att))
	b.must("case", "notify", id, "overview", "acme")
	b.must("poll", "--once")
	ovRaw := srv.WaitMessages(t, "psirt@acme.example", "INBOX", 1, 30*time.Second)[0]
	// The overview to a vendor with a key is encrypted too; the vendor's gpg opens it.
	if _, status, _, err := vendor.RunOut(encryptedPart(t, ovRaw), "--decrypt"); err != nil || !gpgtest.GoodSigBy(status, robotFpr) {
		t.Fatalf("overview does not open in gpg: %v\n%s", err, status)
	}
	ovMsg := &open.Message{MessageID: headerMsgID(t, ovRaw), Subject: "[" + id + "] 脆弱性概要情報 / Vulnerability overview"}
	srv.Send(t, "psirt@acme.example", []string{"vultures@cert.example"},
		plainReply("psirt@acme.example", "vultures@cert.example", ovMsg, "詳細情報の請求: はい\n"))
	srv.WaitMessages(t, "vultures@cert.example", "INBOX", 1, 30*time.Second)
	b.must("poll", "--once")

	msgs := srv.WaitMessages(t, "psirt@acme.example", "INBOX", 3, 30*time.Second) // overview, ack, detail
	var detail []byte
	for _, raw := range msgs {
		// The ack is encrypted too, and notices of one pass arrive in any
		// order: the Message-ID names the kind.
		if bytes.Contains(raw, []byte("multipart/encrypted")) && strings.HasPrefix(headerMsgID(t, raw), "coordbot.detail.") {
			detail = raw
		}
	}
	if detail == nil {
		t.Fatal("no encrypted detail in the vendor's mailbox")
	}
	if bytes.Contains(detail, []byte("TITLE-MARKER")) || bytes.Contains(detail, []byte("DETAIL-MARKER")) {
		t.Fatal("title or detail readable outside the encryption")
	}
	plain, status, stderr, err := vendor.RunOut(encryptedPart(t, detail), "--decrypt")
	if err != nil || !gpgtest.GoodSigBy(status, robotFpr) {
		t.Fatalf("gpg --decrypt: %v\n%s\n%s", err, status, stderr)
	}
	if _, ok := gpgtest.StatusLine(status, "GOODMDC"); !ok {
		t.Fatalf("no MDC:\n%s", status)
	}
	inner, err := open.Parse(bytes.ReplaceAll(plain, []byte("\n"), []byte("\r\n")), open.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(plain, []byte(`protected-headers="v1"`)) || !strings.Contains(inner.Subject, "TITLE-MARKER") {
		t.Fatalf("no protected Subject with the title: %q", inner.Subject)
	}
	for _, want := range []string{"DETAIL-MARKER", "該当状況 / Status"} {
		if !strings.Contains(inner.Text, want) {
			t.Fatalf("decrypted detail lacks %q:\n%s\n--- raw:\n%s", want, inner.Text, plain)
		}
	}
	if len(inner.Attachments) != 1 || inner.Attachments[0].Filename != "poc.py" || !bytes.Contains(inner.Attachments[0].Data, []byte("proof of concept")) {
		t.Fatalf("attachment %+v", inner.Attachments)
	}
	c := b.caseJSON(id)
	if c.Vendors[0].State != "detail-sent" || c.Vendors[0].Status != "info-provided" {
		t.Fatalf("after the detail: %+v", c.Vendors[0])
	}

	// The vendor answers from "Thunderbird": encrypted and signed by gpg.
	reply := thunderbirdEncrypted(t, vendor, "psirt@acme.example", "vultures@cert.example",
		"Re: ["+id+"] 脆弱性詳細情報 / Vulnerability detail", headerMsgID(t, detail),
		"該当状況 / Status: 該当製品あり\n公表用コメント / Public comment: fixed in 2.1\n告知ページ / Advisory URL: https://acme.example/sa/1\n", robotFpr)
	srv.Send(t, "psirt@acme.example", []string{"vultures@cert.example"}, reply)
	srv.WaitMessages(t, "vultures@cert.example", "INBOX", 1, 30*time.Second)
	b.must("poll", "--once")
	c = b.caseJSON(id)
	if v := c.Vendors[0]; v.Status != "affected" || v.Comment != "fixed in 2.1" || v.URL != "https://acme.example/sa/1" {
		t.Fatalf("status not applied: %+v\nevents %+v", v, c.Events)
	}
	authenticated := false
	for _, e := range c.Events {
		if e.Kind == "status-reported" && e.Authenticated {
			authenticated = true
		}
	}
	if !authenticated {
		t.Fatalf("status report not recorded as authenticated: %+v", c.Events)
	}
	if n := len(srv.Messages(t, "vultures@cert.example", "Quarantine")); n != 0 {
		t.Fatalf("quarantine holds %d", n)
	}
}
