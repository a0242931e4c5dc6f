package main

import (
	"bytes"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coordbot/coordbot/internal/realmail"
	"github.com/coordbot/coordbot/mailbot/open"
)

// replyTo writes a plain reply to the last message in a vendor's inbox
// whose raw bytes contain marker, threaded by its Message-ID.
func replyTo(t *testing.T, srv *realmail.Servers, from, marker, body string) []byte {
	t.Helper()
	msgs := srv.Messages(t, from, "INBOX")
	for i := len(msgs) - 1; i >= 0; i-- {
		if bytes.Contains(msgs[i], []byte(marker)) {
			orig := &open.Message{MessageID: headerMsgID(t, msgs[i]), Subject: headerSubject(t, msgs[i])}
			return plainReply(from, "vultures@cert.example", orig, body)
		}
	}
	t.Fatalf("no message with %q for %s", marker, from)
	return nil
}

// headerSubject decodes the outer Subject (all a mail client shows
// before decrypting).
func headerSubject(t *testing.T, raw []byte) string {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	s, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestThreeVendorCase runs a whole case on Dovecot, Postfix and gpg: a
// registered vendor with a key, one without, and an unregistered one that
// registers by mail; detail, status reports, date, publication, and the
// Fig. 1 table of the jvn-md export.
func TestThreeVendorCase(t *testing.T) {
	srv, b, dir, acme, robotFpr, acmePub := pgpSetup(t)
	gammaPub := filepath.Join(dir, "gamma.asc")
	os.WriteFile(gammaPub, repoFile(t, "testdata/keys/vendor-beta-rsa.pub.asc"), 0o600)

	b.must("vendor", "add", "--id", "acme", "--name", "ACME株式会社", "--email", "psirt@acme.example", "--lang", "ja", "--key", acmePub)
	b.must("vendor", "add", "--id", "beta", "--name", "Beta Networks", "--email", "security@beta.example", "--lang", "en")
	b.must("vendor", "add", "--id", "gamma", "--name", "Gamma OSS", "--email", "secteam@gamma.example", "--lang", "en", "--registration", "pending")
	ov := filepath.Join(dir, "ov.txt")
	dt := filepath.Join(dir, "dt.txt")
	os.WriteFile(ov, []byte("A crafted request crashes the server.\n"), 0o600)
	os.WriteFile(dt, []byte("DETAIL-MARKER\n"), 0o600)
	id := strings.TrimSpace(b.must("case", "new", "--title", "Crash", "--overview-file", ov, "--detail-file", dt))
	b.must("case", "vendors", "add", id, "acme", "beta", "gamma")
	if out := b.must("case", "notify", id, "overview", "all"); !strings.Contains(out, "gamma: not registered") {
		t.Fatalf("notify output:\n%s", out)
	}
	b.must("poll", "--once")
	srv.WaitMessages(t, "psirt@acme.example", "INBOX", 1, 30*time.Second)
	srv.WaitMessages(t, "security@beta.example", "INBOX", 1, 30*time.Second)
	srv.WaitMessages(t, "secteam@gamma.example", "INBOX", 1, 30*time.Second)

	srv.Send(t, "psirt@acme.example", []string{"vultures@cert.example"}, replyTo(t, srv, "psirt@acme.example", "Message-Id", "詳細情報の請求：はい\n"))
	srv.Send(t, "security@beta.example", []string{"vultures@cert.example"}, replyTo(t, srv, "security@beta.example", "Message-Id", "Request detail: no\n"))
	srv.Send(t, "secteam@gamma.example", []string{"vultures@cert.example"}, replyTo(t, srv, "secteam@gamma.example", "Message-Id",
		"Consent to register: yes\nManager name: Gina Maintainer\nContact address: secteam@gamma.example\n"))
	srv.WaitMessages(t, "vultures@cert.example", "INBOX", 3, 30*time.Second)
	b.must("poll", "--once")
	states := func() map[string]string {
		m := map[string]string{}
		for _, v := range b.caseJSON(id).Vendors {
			m[v.Vendor] = v.State
		}
		return m
	}
	if s := states(); s["acme"] != "detail-sent" || s["beta"] != "no-product" || s["gamma"] != "overview-sent" {
		t.Fatalf("after the first answers: %v", s)
	}
	// gamma, now registered, got its overview; it asks for the detail but has no key.
	srv.WaitMessages(t, "secteam@gamma.example", "INBOX", 2, 30*time.Second)
	srv.Send(t, "secteam@gamma.example", []string{"vultures@cert.example"}, replyTo(t, srv, "secteam@gamma.example", "overview", "Request detail: yes\n"))
	srv.WaitMessages(t, "vultures@cert.example", "INBOX", 1, 30*time.Second)
	b.must("poll", "--once")
	if s := states(); s["gamma"] != "detail-held" {
		t.Fatalf("gamma without a key: %v", s)
	}
	if out := b.must("vendor", "key", "gamma", "import", gammaPub); !strings.Contains(out, "held detail of "+id+" queued") {
		t.Fatalf("key import did not release the detail:\n%s", out)
	}
	b.must("poll", "--once")
	if s := states(); s["gamma"] != "detail-sent" {
		t.Fatalf("gamma after its key: %v", s)
	}

	// Status reports: acme encrypted and signed from "Thunderbird", gamma plain.
	var detail []byte
	for _, raw := range srv.WaitMessages(t, "psirt@acme.example", "INBOX", 3, 30*time.Second) {
		// Notices of one pass arrive in any order: the Message-ID names the kind.
		if bytes.Contains(raw, []byte("multipart/encrypted")) && strings.HasPrefix(headerMsgID(t, raw), "coordbot.detail.") {
			detail = raw
		}
	}
	srv.Send(t, "psirt@acme.example", []string{"vultures@cert.example"}, thunderbirdEncrypted(t, acme, "psirt@acme.example", "vultures@cert.example",
		"Re: ["+id+"] 脆弱性詳細情報", headerMsgID(t, detail),
		"該当状況：該当製品あり\n公表用コメント：バージョン 2.1 で修正しました | fixed in 2.1\n告知ページ：https://acme.example/sa/2027-01\n", robotFpr))
	srv.Send(t, "secteam@gamma.example", []string{"vultures@cert.example"}, replyTo(t, srv, "secteam@gamma.example", "Message-Id",
		"Status: not-affected\nPublic comment: Gamma does not use the component.\n"))
	srv.WaitMessages(t, "vultures@cert.example", "INBOX", 2, 30*time.Second)
	b.must("poll", "--once")

	b.must("case", "date", id, time.Now().Add(30*24*time.Hour).Format("2006-01-02T15:04-07:00"))
	b.must("poll", "--once")
	b.must("case", "publish", id)
	b.must("poll", "--once")
	c := b.caseJSON(id)
	if c.State != "published" || c.PublicationDate == "" {
		t.Fatalf("case %+v", c)
	}
	md := b.must("case", "export", id, "--format", "jvn-md")
	for _, want := range []string{"| ベンダ | ステータス | ベンダからのコメント | ベンダの告知ページ |", "ACME株式会社", "該当製品あり", "fixed in 2.1",
		"https://acme.example/sa/2027-01", "Gamma OSS", "該当製品なし"} {
		if !strings.Contains(md, want) {
			t.Fatalf("jvn-md lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "Beta Networks") || strings.Contains(md, "DETAIL-MARKER") {
		t.Fatalf("jvn-md shows a vendor without the detail, or the detail:\n%s", md)
	}
	// Date notices went to the two vendors with the detail, encrypted; beta got none.
	for _, who := range []string{"psirt@acme.example", "secteam@gamma.example", "security@beta.example"} {
		n := 0
		for _, raw := range srv.Messages(t, who, "INBOX") {
			if bytes.Contains(raw, []byte("Publication date")) || bytes.Contains(raw, []byte("=E5=85=AC=E8=A1=A8=E6=97=A5")) {
				n++
			}
		}
		if who == "security@beta.example" && n != 0 {
			t.Fatalf("beta learnt the date")
		}
	}
	if n := len(srv.Messages(t, "vultures@cert.example", "Quarantine")); n != 0 {
		t.Fatalf("quarantine holds %d", n)
	}
	// The operator log of the whole case: one line per action, never a
	// body, the detail, a comment or key material.
	logs := b.logs.String()
	if !strings.Contains(logs, `"msg":"inbound"`) || !strings.Contains(logs, `"msg":"notice sent"`) {
		t.Fatalf("log lacks inbound or notice lines:\n%.2000s", logs)
	}
	for _, secret := range []string{"DETAIL-MARKER", "fixed in 2.1", "BEGIN PGP", "Gina Maintainer", "A crafted request"} {
		if strings.Contains(logs, secret) {
			t.Fatalf("the log carries %q", secret)
		}
	}
}
