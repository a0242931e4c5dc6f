package seal

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/emersion/go-message/mail"

	"github.com/coordbot/coordbot/mailbot/keys"
	"github.com/coordbot/coordbot/mailbot/notice"
)

// party is one key holder: the secret entity (to sign or decrypt), the
// public entity as the robot would pin it, and both armored.
type party struct {
	name      string
	sec       *openpgp.Entity
	pub       *openpgp.Entity
	secArmor  []byte
	pubArmor  []byte
	gpgMade   bool
	fpr       string
	signKeyID string // long key ID of the signing key, as gpg's GOODSIG prints it
}

var (
	fixOnce sync.Once
	fixErr  error
	fix     struct {
		goRobot25519, goRobotRSA, goVendor25519, goVendorRSA *party
		robot, acme, beta, coord                             *party // gpg-made, testdata/keys
	}
)

// fixtures generates the Go keys once per test binary (RSA-3072 takes a
// while, more so under -race, so they are made in parallel) and loads the
// gpg-made ones.
func fixtures(t *testing.T) {
	t.Helper()
	fixOnce.Do(func() {
		now := time.Now()
		jobs := []struct {
			dst        **party
			name, addr string
			opt        keys.GenOptions
		}{
			{&fix.goRobot25519, "coordbot go 25519", "robot25519@cert.test.invalid", keys.GenOptions{}},
			{&fix.goRobotRSA, "coordbot go rsa", "robotrsa@cert.test.invalid", keys.GenOptions{RSABits: 3072}},
			{&fix.goVendor25519, "vendor go 25519", "psirt25519@vendor.test.invalid", keys.GenOptions{}},
			{&fix.goVendorRSA, "vendor go rsa", "psirtrsa@vendor.test.invalid", keys.GenOptions{RSABits: 3072}},
		}
		errs := make([]error, len(jobs))
		var wg sync.WaitGroup
		for i, j := range jobs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e, err := keys.Generate(j.name, j.addr, j.opt, now)
				if err == nil {
					*j.dst, err = partyFromEntity(j.name, e, now)
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		fixErr = errors.Join(errs...)
		for _, l := range []struct {
			dst  **party
			name string
		}{{&fix.robot, "robot"}, {&fix.acme, "vendor-acme"}, {&fix.beta, "vendor-beta-rsa"}, {&fix.coord, "coord"}} {
			if fixErr == nil {
				*l.dst, fixErr = loadParty(l.name, now)
			}
		}
	})
	if fixErr != nil {
		t.Fatalf("test keys: %v", fixErr)
	}
}

func partyFromEntity(name string, e *openpgp.Entity, now time.Time) (*party, error) {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
	if err != nil {
		return nil, err
	}
	if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	pubArmor, err := keys.ArmoredPublic(e)
	if err != nil {
		return nil, err
	}
	pub, err := keys.ParsePublic(pubArmor, now)
	if err != nil {
		return nil, err
	}
	return newParty(name, e, pub.Entity, buf.Bytes(), pubArmor, false, now)
}

func loadParty(name string, now time.Time) (*party, error) {
	dir := filepath.Join("..", "..", "testdata", "keys")
	secArmor, err := os.ReadFile(filepath.Join(dir, name+".sec.asc"))
	if err != nil {
		return nil, err
	}
	pubArmor, err := os.ReadFile(filepath.Join(dir, name+".pub.asc"))
	if err != nil {
		return nil, err
	}
	sec, err := keys.LoadPrivate(filepath.Join(dir, name+".sec.asc"), nil)
	if err != nil {
		return nil, err
	}
	pub, err := keys.ParsePublic(pubArmor, now)
	if err != nil {
		return nil, err
	}
	return newParty(name, sec, pub.Entity, secArmor, pubArmor, true, now)
}

func newParty(name string, sec, pub *openpgp.Entity, secArmor, pubArmor []byte, gpgMade bool, now time.Time) (*party, error) {
	k, ok := sec.SigningKey(now)
	if !ok {
		return nil, io.ErrUnexpectedEOF
	}
	return &party{
		name: name, sec: sec, pub: pub, secArmor: secArmor, pubArmor: pubArmor,
		gpgMade: gpgMade, fpr: keys.Fingerprint(sec), signKeyID: k.PublicKey.KeyIdString(),
	}, nil
}

// The title and the body's CVE must never show outside the encryption.
const (
	outerSubject   = "[JVNVU#12345678] 脆弱性詳細情報 / Vulnerability detail"
	protectedTitle = "[JVNVU#12345678] AcmeRouter X100 における認証回避の脆弱性 / Authentication bypass in AcmeRouter X100"
	secretWord     = "AcmeRouter"
	secretCVE      = "CVE-2026-0001"
)

// sampleBody exercises what breaks naive writers: Japanese, trailing
// spaces, a leading dot, "=" and a line longer than 76 characters.
var sampleBody = "Acme PSIRT 御中\n\n" +
	"JVNVU#12345678 の脆弱性詳細情報をお送りします。 " + secretCVE + "\n" +
	"trailing spaces here   \n" +
	".leading dot\n" +
	"a=b and 100% ok\n" +
	strings.Repeat("long line ", 12) + "end\n" +
	// Mostly ASCII, so the text goes quoted-printable (see bodyEncoding).
	strings.Repeat("Please tell us whether your products are affected.\n", 3) +
	"-- \nJPCERT/CC coordbot\n"

type sampleAttachment struct {
	name, ctype string
	data        []byte
}

func sampleMessage(t *testing.T, now time.Time, withAttachments bool) (*Message, []sampleAttachment) {
	t.Helper()
	nm := notice.Mail{
		From:       mail.Address{Name: "JPCERT/CC 脆弱性調整", Address: "vultures@cert.test.invalid"},
		To:         []string{"psirt@acme.test.invalid"},
		Subject:    outerSubject,
		Date:       now,
		MessageID:  "coordbot.detail.JVNVU12345678.00aa11bb@cert.test.invalid",
		InReplyTo:  "reply1@acme.test.invalid",
		References: []string{"coordbot.overview.JVNVU12345678.0001@cert.test.invalid", "reply1@acme.test.invalid"},
		LoopHeader: "coordbot",
	}
	m := &Message{Header: nm.Header(), ProtectedSubject: protectedTitle, Body: sampleBody}
	if !withAttachments {
		return m, nil
	}
	bin := make([]byte, 3000)
	rand.Read(bin)
	copy(bin, "\r\n\n\r\x00") // line-ending bytes must survive as data
	atts := []sampleAttachment{
		{"poc.py", "text/x-python", []byte("print('poc')\r\nprint(\"" + secretCVE + "\")\n")},
		{"詳細報告書 v1.pdf", "application/pdf", bin},
	}
	for _, a := range atts {
		m.Attachments = append(m.Attachments, Attachment{Filename: a.name, ContentType: a.ctype, Data: a.data})
	}
	return m, atts
}

// inner is a parsed protected entity.
type inner struct {
	contentType string
	params      map[string]string
	header      mail.Header
	subject     string
	text        string
	files       map[string][]byte
}

// parseInner reads a MIME entity (CRLF or, as gpg outputs it, LF).
func parseInner(t *testing.T, raw []byte) inner {
	t.Helper()
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse inner entity: %v\n%s", err, raw)
	}
	defer mr.Close()
	in := inner{header: mr.Header, files: map[string][]byte{}}
	in.contentType, in.params, err = mime.ParseMediaType(mr.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("inner content type: %v", err)
	}
	if in.subject, err = mr.Header.Subject(); err != nil {
		t.Fatalf("inner subject: %v", err)
	}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("inner part: %v", err)
		}
		data, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatalf("inner part body: %v", err)
		}
		switch h := p.Header.(type) {
		case *mail.InlineHeader:
			in.text += string(data)
		case *mail.AttachmentHeader:
			name, err := h.Filename()
			if err != nil {
				t.Fatalf("attachment filename: %v", err)
			}
			in.files[name] = data
		}
	}
	return in
}

// checkInner asserts what every reader must find in the protected entity.
func checkInner(t *testing.T, in inner, m *Message, atts []sampleAttachment) {
	t.Helper()
	if in.params["protected-headers"] != "v1" {
		t.Errorf("inner Content-Type %s %v: no protected-headers=\"v1\"", in.contentType, in.params)
	}
	want := "text/plain"
	if len(atts) > 0 {
		want = "multipart/mixed"
	}
	if in.contentType != want {
		t.Errorf("inner Content-Type %s, want %s", in.contentType, want)
	}
	if in.subject != protectedTitle {
		t.Errorf("protected Subject %q, want %q", in.subject, protectedTitle)
	}
	for _, k := range []string{"From", "To", "Date", "Message-Id", "In-Reply-To", "References"} {
		if got, want := in.header.Get(k), m.Header.Get(k); got != want || got == "" {
			t.Errorf("protected %s %q, want %q", k, got, want)
		}
	}
	if got, want := norm(in.text), norm(sampleBody); got != want {
		t.Errorf("body:\n%q\nwant\n%q", got, want)
	}
	if len(in.files) != len(atts) {
		t.Errorf("%d attachments, want %d", len(in.files), len(atts))
	}
	for _, a := range atts {
		if got, ok := in.files[a.name]; !ok || !bytes.Equal(got, a.data) {
			t.Errorf("attachment %q missing or changed (%d bytes, want %d)", a.name, len(got), len(a.data))
		}
	}
}

func norm(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

// outerParts splits a top-level multipart message into its header and the
// exact bytes of each body part (between "--b CRLF" and "CRLF --b"), as RFC
// 3156 wants the signed part taken.
func outerParts(t *testing.T, raw []byte) (mail.Header, string, map[string]string, [][]byte) {
	t.Helper()
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse outer: %v", err)
	}
	h := mr.Header
	mr.Close()
	ct, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		t.Fatalf("outer content type: %v", err)
	}
	i := bytes.Index(raw, []byte("\r\n\r\n"))
	if i < 0 {
		t.Fatal("outer: no end of header")
	}
	body := raw[i+2:] // keep the CRLF that belongs to the first delimiter
	delim := []byte("\r\n--" + params["boundary"])
	chunks := bytes.Split(body, delim)
	if len(chunks) < 3 {
		t.Fatalf("outer: %d chunks", len(chunks))
	}
	last := chunks[len(chunks)-1]
	if !bytes.HasPrefix(last, []byte("--")) {
		t.Fatalf("outer: no close delimiter")
	}
	var parts [][]byte
	for _, c := range chunks[1 : len(chunks)-1] {
		if !bytes.HasPrefix(c, []byte("\r\n")) {
			t.Fatalf("outer: delimiter not followed by CRLF")
		}
		parts = append(parts, c[2:])
	}
	return h, ct, params, parts
}

// splitPart separates a part's header from its body.
func splitPart(t *testing.T, part []byte) (mail.Header, []byte) {
	t.Helper()
	mr, err := mail.CreateReader(bytes.NewReader(part))
	if err != nil {
		t.Fatalf("parse part: %v", err)
	}
	h := mr.Header
	mr.Close()
	i := bytes.Index(part, []byte("\r\n\r\n"))
	if i < 0 {
		t.Fatal("part: no end of header")
	}
	return h, part[i+4:]
}
