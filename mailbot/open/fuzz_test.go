package open

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// fuzzLimits keep single inputs cheap while still exercising every limit.
var fuzzLimits = Limits{MaxSize: 1 << 20, MaxDepth: 8, MaxParts: 64}

func addCorpus(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "mail", "*.eml"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"From: a@b\r\nSubject: =?ISO-2022-JP?B?GyRCJTUlJCVIGyhC?=\r\n\r\nbody",
		"From: a@b\nContent-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: multipart/alternative; boundary=y\n\n--y\nContent-Type: text/html\n\n<p>a<blockquote>b</p>\n--y--\n--x--\n",
		"From: a@b\nContent-Type: multipart/report; report-type=delivery-status; boundary=r\n\n--r\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; x\n\nFinal-Recipient: rfc822; a@b\nAction: failed\nStatus: 5.0.0\n\n--r\nContent-Type: message/rfc822\n\nMessage-ID: <a@b>\n\n--r--\n",
		"From: a@b\nContent-Type: text/plain; charset=shift_jis; format=flowed; delsp=yes\nContent-Transfer-Encoding: quoted-printable\n\n=82=A0 \n> q=\n",
		"From: a@b\nContent-Type: application/x; name*0*=utf-8''%E5; name*1*=%A0%B1\nContent-Transfer-Encoding: base64\n\nAAA=\n",
	} {
		f.Add([]byte(s))
	}
}

// FuzzParse feeds Parse what a stranger could send. Panics are not recovered
// here, so a bug shows where it is instead of as ErrMalformed.
func FuzzParse(f *testing.F) {
	addCorpus(f)
	recoverPanics = false
	f.Cleanup(func() { recoverPanics = true })
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Parse(raw, fuzzLimits)
		checkParsed(t, raw, m, err)
	})
}

// checkParsed holds what any result of Parse or ParseWith must satisfy.
func checkParsed(t *testing.T, raw []byte, m *Message, err error) {
	t.Helper()
	{
		if err != nil {
			if m != nil {
				t.Fatalf("message and error %v", err)
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) &&
				!errors.Is(err, ErrTooDeep) && !errors.Is(err, ErrTooManyParts) &&
				!errors.Is(err, ErrUndecryptable) && !errors.Is(err, ErrNoIntegrity) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		for what, s := range map[string]string{"text": m.Text, "subject": m.Subject, "from name": m.From.Name, "from": m.From.Addr} {
			if !utf8.ValidString(s) {
				t.Fatalf("%s is not UTF-8: %q", what, s)
			}
		}
		if strings.ContainsAny(m.Subject, "\r\n\x00") || strings.ContainsAny(m.From.Name, "\r\n\x00") {
			t.Fatalf("control characters in subject %q or name %q", m.Subject, m.From.Name)
		}
		if strings.ContainsAny(m.Text, "\r\x00\x1b") {
			t.Fatalf("control characters in text %q", m.Text)
		}
		if len(m.Attachments) > fuzzLimits.MaxParts {
			t.Fatalf("%d attachments", len(m.Attachments))
		}
		for _, a := range m.Attachments {
			if !utf8.ValidString(a.Filename) || strings.ContainsAny(a.Filename, "/\\\x00") || len(a.Filename) > 255 {
				t.Fatalf("bad filename %q", a.Filename)
			}
		}
		if m.IsBounce != (m.Bounce != nil) {
			t.Fatalf("IsBounce %v with Bounce %+v", m.IsBounce, m.Bounce)
		}
		if m.FromCount == 0 && m.From.Addr != "" {
			t.Fatalf("From %q with count 0", m.From.Addr)
		}
		if int64(len(m.Text)) > 4*fuzzLimits.MaxSize+4096 {
			t.Fatalf("text of %d bytes from %d", len(m.Text), len(raw))
		}
		// OpenPGP: identity only from a valid signature (T4), decrypted
		// content always says which key opened it.
		if (m.SignedBy != "") != (m.Signature == SigValid) || (m.SignatureID != "") != (m.Signature == SigValid) ||
			m.SignedAt.IsZero() == (m.Signature == SigValid) {
			t.Fatalf("signature %v by %q id %q at %v", m.Signature, m.SignedBy, m.SignatureID, m.SignedAt)
		}
		if m.SignedBy != "" && m.SignedBy != fprAcme && m.SignedBy != fprBeta && m.SignedBy != fprCoord {
			t.Fatalf("signed by %s, which is not pinned", m.SignedBy)
		}
		if m.Encrypted != (m.DecryptedWith != "") || (m.DecryptedWith != "" && m.DecryptedWith != fprRobot) {
			t.Fatalf("encrypted %v with %q", m.Encrypted, m.DecryptedWith)
		}
		if m.OuterSubject != "" && !m.Encrypted {
			t.Fatalf("outer subject %q without encryption", m.OuterSubject)
		}
		total := 0
		for _, k := range m.Keys {
			total += len(k)
			if !strings.HasPrefix(k, "-----BEGIN PGP PUBLIC KEY BLOCK-----") {
				t.Fatalf("key %q", k)
			}
		}
		if len(m.Keys) > maxKeys || total > maxKeyBytes {
			t.Fatalf("%d keys, %d bytes", len(m.Keys), total)
		}
	}
}

// addPGPCorpus seeds with the gpg-made OpenPGP corpus and a few small
// hand-made shapes.
func addPGPCorpus(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "mail", "pgp", "*.eml"))
	for _, name := range files {
		if strings.Contains(name, "bomb") {
			continue // a megabyte of zeros per run teaches the fuzzer nothing
		}
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"From: a@b\n\n-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n- -x\n-----BEGIN PGP SIGNATURE-----\n\niQ==\n-----END PGP SIGNATURE-----\n",
		"From: a@b\n\nx\n-----BEGIN PGP MESSAGE-----\n\nhQ==\n-----END PGP MESSAGE-----\ny\n-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQ==\n-----END PGP PUBLIC KEY BLOCK-----\n",
		"From: a@b\nContent-Type: multipart/encrypted; boundary=E\n\n--E\nContent-Type: application/octet-stream\n\n\xc1\x0e\x03\n--E--\n",
		"From: a@b\nContent-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=S\n\n--S\n\nx\n--S\n\n\x88\x00\n--S--\n",
	} {
		f.Add([]byte(s))
	}
}

// FuzzParseWith feeds ParseWith, holding the robot's test keys, what a
// stranger could send: mutated gpg messages, armor and structure.
func FuzzParseWith(f *testing.F) {
	addPGPCorpus(f)
	keys := RobotKeyring(f)
	recoverPanics = false
	f.Cleanup(func() { recoverPanics = true })
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := ParseWith(raw, fuzzLimits, keys)
		checkParsed(t, raw, m, err)
	})
}

// FuzzDecrypted encrypts a fuzzed MIME entity to the robot and signs it,
// reaching what the byte mutator of FuzzParseWith cannot: the walk of
// decrypted content, protected headers, signatures inside.
func FuzzDecrypted(f *testing.F) {
	for _, s := range []string{
		textEntity,
		"Content-Type: multipart/mixed; boundary=L; protected-headers=v1\nSubject: =?UTF-8?B?UmU6IFtKVk5WVSMxMjM0NTY3OF0g6Kmz57Sw?=\nFrom: x@y\n\n--L\nContent-Type: text/plain; protected-headers=v1\n\nSubject: y\n\n--L\nContent-Type: text/plain\n\nbody\n--L--\n",
		"Content-Type: multipart/mixed; boundary=L\n\n--L\nContent-Type: text/rfc822-headers; protected-headers=\"v1\"\n\nSubject: s\nReferences: <a@b>\n\n--L\nContent-Type: application/pgp-keys\n\n-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQ==\n-----END PGP PUBLIC KEY BLOCK-----\n--L--\n",
		"Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=S\n\n--S\nContent-Type: text/plain\n\nx\n--S\nContent-Type: application/pgp-signature\n\n-----BEGIN PGP SIGNATURE-----\n\niQ==\n-----END PGP SIGNATURE-----\n--S--\n",
		"Content-Type: text/plain\n\n-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nx\n-----BEGIN PGP SIGNATURE-----\n\niQ==\n-----END PGP SIGNATURE-----\n",
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	keys := RobotKeyring(f)
	to, signer := ReadTestKey(f, "robot.pub"), ReadTestKey(f, "vendor-acme.sec")
	recoverPanics = false
	f.Cleanup(func() { recoverPanics = true })
	f.Fuzz(func(t *testing.T, payload []byte, sign bool) {
		var signers openpgp.EntityList
		if sign {
			signers = signer
		}
		raw := pgpMIME(vendorHeader, sealTo(t, to, signers, payload, nil))
		m, err := ParseWith(raw, fuzzLimits, keys)
		checkParsed(t, raw, m, err)
		if err == nil && !m.Encrypted {
			t.Fatalf("decrypted message not marked encrypted")
		}
	})
}

func FuzzHTMLToText(f *testing.F) {
	for _, s := range []string{
		"<p>Request detail: <b>yes</b></p>", "<blockquote type=cite>a<br>b</blockquote>",
		"<a href='>'>x</a>&amp;&#x3042;&nbsp;", "<pre>\n x\n</pre>", "<!-- x", "<script>a</scrip", "<p<p>",
		"<o:p>&nbsp;</o:p>", "</blockquote></pre>x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := htmlToText(s)
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("htmlToText(%q) = %q: invalid UTF-8", s, out)
		}
		if len(out) > 2*len(s)+4096+maxQuotePrefix*2+8 {
			t.Fatalf("htmlToText(%q): %d bytes out of %d", s, len(out), len(s))
		}
	})
}

func FuzzUnflow(f *testing.F) {
	for _, s := range []string{"a \nb", "> a \n> b\n>> c \nd", " stuffed \n-- \nsig", "x \n\n"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, delsp bool) {
		out := unflow(s, delsp)
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("unflow(%q) = %q: invalid UTF-8", s, out)
		}
		if len(out) > 2*len(s)+2 {
			t.Fatalf("unflow(%q) grew to %q", s, out)
		}
	})
}

// FuzzParseFields puts fuzzed header values and body into a fixed MIME
// skeleton, which the byte mutator of FuzzParse rarely reaches.
func FuzzParseFields(f *testing.F) {
	f.Add("text/plain; charset=iso-2022-jp; format=flowed", "7bit", "inline", "\x1b$B>\\:Y\x1b(B \n> a", "=?ISO-2022-JP?B?GyRCJTUlJCVIGyhC?=", "A <a@b>")
	f.Add("text/html; charset=x-sjis", "quoted-printable", "", "<p>=82=A0</p><blockquote>x", "Re: [JVNVU#12345678]", "a@b, c@d")
	f.Add("multipart/alternative; boundary=z", "base64", "attachment; filename*=utf-8''%E5", "--z\n\nx\n--z--", "=?x?q?a?=", "\"broken")
	f.Add("message/delivery-status", "8bit", "", "Final-Recipient: rfc822; a@b\nAction: failed\nStatus: 5.1.1\n", "Undelivered", "MAILER-DAEMON@x")
	recoverPanics = false
	f.Cleanup(func() { recoverPanics = true })
	f.Fuzz(func(t *testing.T, ct, cte, disp, body, subject, from string) {
		clean := func(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }
		raw := "From: " + clean(from) + "\r\nSubject: " + clean(subject) +
			"\r\nContent-Type: multipart/mixed; boundary=OUTER\r\n\r\n--OUTER\r\nContent-Type: " + clean(ct) +
			"\r\nContent-Transfer-Encoding: " + clean(cte) + "\r\nContent-Disposition: " + clean(disp) +
			"\r\n\r\n" + body + "\r\n--OUTER\r\nContent-Type: " + clean(ct) + "\r\n\r\n" + body + "\r\n--OUTER--\r\n"
		m, err := Parse([]byte(raw), fuzzLimits)
		if err != nil {
			if !errors.Is(err, ErrTooDeep) && !errors.Is(err, ErrTooManyParts) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if !utf8.ValidString(m.Text) || !utf8.ValidString(m.Subject) || strings.ContainsAny(m.Subject, "\r\n") {
			t.Fatalf("text %q subject %q", m.Text, m.Subject)
		}
	})
}

func FuzzDecodeBytes(f *testing.F) {
	for _, cs := range []string{"", "utf-8", "iso-2022-jp", "shift_jis", "cp932", "euc-jp", "x-unknown", "utf-16", "gb18030"} {
		f.Add([]byte("\x1b$B$3\x82\xa0\xa4\xa2\xff"), cs)
	}
	f.Fuzz(func(t *testing.T, b []byte, cs string) {
		s, _ := decodeBytes(b, cs)
		if !utf8.ValidString(s) {
			t.Fatalf("decodeBytes(%q, %q) = %q: invalid UTF-8", b, cs, s)
		}
		if len(s) > 4*len(b)+16 {
			t.Fatalf("decodeBytes(%q, %q): %d bytes out", b, cs, len(s))
		}
	})
}

func FuzzMediaType(f *testing.F) {
	for _, s := range []string{`text/plain; charset="iso-2022-jp`, `attachment; filename*0*=iso-2022-jp''%1B; filename*1=x`,
		`multipart/mixed; boundary="a;b"; boundary=c`, `text/html; name="=?utf-8?b?5aCx?="`, ";;=;*=\\\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		p := &parser{m: &Message{}}
		mt, params := p.mediaType(v)
		if mt != strings.ToLower(mt) || params == nil {
			t.Fatalf("mediaType(%q) = %q, %v", v, mt, params)
		}
	})
}
