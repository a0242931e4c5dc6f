package open

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

const statusForm = "該当状況 / Status: 該当製品あり\n公表用コメント / Public comment: fixed in 2.1\n"

func armored(t testing.TB, typ string, write func(w io.Writer) error) []byte {
	t.Helper()
	var buf bytes.Buffer
	aw, err := armor.Encode(&buf, typ, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := write(aw); err != nil {
		t.Fatal(err)
	}
	if err := aw.Close(); err != nil {
		t.Fatal(err)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

// sealTo encrypts plain to the given keys, signed by signers (may be nil).
func sealTo(t testing.TB, to, signers openpgp.EntityList, plain []byte, cfg *packet.Config) []byte {
	t.Helper()
	return armored(t, "PGP MESSAGE", func(w io.Writer) error {
		pw, err := openpgp.Encrypt(w, to, nil, signers, nil, cfg)
		if err != nil {
			return err
		}
		pw.Write(plain)
		return pw.Close()
	})
}

// signOpaque makes an armored signed-only OpenPGP message (gpg --sign -a).
func signOpaque(t testing.TB, signers openpgp.EntityList, plain []byte) []byte {
	t.Helper()
	return armored(t, "PGP MESSAGE", func(w io.Writer) error {
		pw, err := openpgp.Sign(w, signers, nil, nil)
		if err != nil {
			return err
		}
		pw.Write(plain)
		return pw.Close()
	})
}

func detachSign(t testing.TB, signers openpgp.EntityList, content []byte) []byte {
	t.Helper()
	return armored(t, "PGP SIGNATURE", func(w io.Writer) error {
		return openpgp.DetachSign(w, signers, bytes.NewReader(content), nil)
	})
}

var vendorHeader = []string{"From: Acme PSIRT <psirt@acme.test.invalid>", "To: robot <coordbot-robot@test.invalid>",
	"Subject: Re: [JVNVU#12345678] detail", "Message-ID: <x@acme.test.invalid>", "MIME-Version: 1.0"}

// pgpMIME wraps armored ciphertext in an RFC 3156 multipart/encrypted.
func pgpMIME(header []string, ciphertext []byte) []byte {
	h := append(slices.Clone(header), `Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="E"`)
	return msg(h, "--E\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n--E\nContent-Type: application/octet-stream\n\n"+
		string(ciphertext)+"\n--E--\n")
}

// signedMIME builds a multipart/signed over part (LF or CRLF ends), signing
// its CRLF form as RFC 3156 asks.
func signedMIME(t testing.TB, header []string, signers openpgp.EntityList, part string) []byte {
	t.Helper()
	part = strings.ReplaceAll(part, "\n", "\r\n")
	sig := detachSign(t, signers, []byte(part))
	h := append(slices.Clone(header), `Content-Type: multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature"; boundary="S"`)
	body := "--S\r\n" + part + "\r\n--S\r\nContent-Type: application/pgp-signature\r\n\r\n" +
		strings.ReplaceAll(string(sig), "\n", "\r\n") + "--S--\r\n"
	return []byte(strings.Join(h, "\r\n") + "\r\n\r\n" + body)
}

const textEntity = "Content-Type: text/plain; charset=UTF-8\n\n" + statusForm

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

func mustParseWith(t *testing.T, raw []byte, k *Keys) *Message {
	t.Helper()
	m, err := ParseWith(raw, DefaultLimits, k)
	if err != nil {
		t.Fatalf("ParseWith: %v", err)
	}
	return m
}

// TestPlainUnchanged: plain mail reads the same with and without keys.
func TestPlainUnchanged(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "mail", "*.eml"))
	if len(files) == 0 {
		t.Fatal("no corpus")
	}
	k := RobotKeyring(t)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		a, errA := Parse(raw, DefaultLimits)
		b, errB := ParseWith(raw, DefaultLimits, k)
		if fmt.Sprint(errA) != fmt.Sprint(errB) || !reflect.DeepEqual(a, b) {
			t.Errorf("%s: Parse and ParseWith differ", filepath.Base(f))
		}
		if a != nil && (a.Signature != SigNone || a.Encrypted || a.Keys != nil || a.OuterSubject != "") {
			t.Errorf("%s: OpenPGP fields set on plain mail", filepath.Base(f))
		}
	}
}

func TestSigners(t *testing.T) {
	k := RobotKeyring(t)
	robot, acme, coord := ReadTestKey(t, "robot.sec"), ReadTestKey(t, "vendor-acme.sec"), ReadTestKey(t, "coord.sec")
	robotPub := ReadTestKey(t, "robot.pub")
	tests := []struct {
		name   string
		raw    []byte
		status SigStatus
		signer string
	}{
		{"coordinator pinned", signedMIME(t, vendorHeader, coord, textEntity), SigValid, fprCoord},
		{"robot key signs: held, not pinned", signedMIME(t, vendorHeader, robot, textEntity), SigUnknownSigner, ""},
		{"robot key signs inside encryption", pgpMIME(vendorHeader, sealTo(t, robotPub, robot, crlf(textEntity), nil)), SigUnknownSigner, ""},
		{"vendor signs inside encryption", pgpMIME(vendorHeader, sealTo(t, robotPub, acme, crlf(textEntity), nil)), SigValid, fprAcme},
		{"two signers, one unknown", pgpMIME(vendorHeader, sealTo(t, robotPub, append(slices.Clone(acme), robot...), crlf(textEntity), nil)), SigUnknownSigner, ""},
		{"inline signed, not encrypted", msg(vendorHeader, string(signOpaque(t, acme, []byte(statusForm)))), SigValid, fprAcme},
		{"signed part in a stranger's mixed", msg(append(slices.Clone(vendorHeader), "Content-Type: multipart/mixed; boundary=M"),
			"--M\nContent-Type: text/plain\n\nmine\n--M\n"+strings.ReplaceAll(string(signedMIME(t, []string{"X-A: b"}, acme, textEntity)), "\r\n", "\n")+"\n--M--\n"), SigPartial, ""},
		{"clearsigned part in a stranger's mixed", msg(append(slices.Clone(vendorHeader), "Content-Type: multipart/mixed; boundary=M"),
			"--M\nContent-Type: text/plain\n\nmine\n--M\nContent-Type: text/plain\n\n-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nx\n--M--\n"), SigPartial, ""},
		{"plain", msg(vendorHeader, statusForm), SigNone, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustParseWith(t, tt.raw, k)
			if m.Signature != tt.status || m.SignedBy != tt.signer {
				t.Fatalf("signature %v by %q; want %v by %q (defects %q)", m.Signature, m.SignedBy, tt.status, tt.signer, m.Defects)
			}
			if tt.status == SigValid && !strings.Contains(m.Text, "該当製品あり") {
				t.Fatalf("text %q", m.Text)
			}
		})
	}
}

// TestKeyValidityNow shows the corpus's revoked and expired signers fail for
// that reason: without the revocation, or at a time the key was valid,
// the same signatures verify.
func TestKeyValidityNow(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "mail", "pgp")
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	k := RobotKeyring(t)
	if m := mustParseWith(t, read("signed-expired-key.eml"), k); m.Signature != SigExpiredKey {
		t.Fatalf("expired: %v", m.Signature)
	}
	then := *k
	then.Now = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	if m := mustParseWith(t, read("signed-expired-key.eml"), &then); m.Signature != SigValid {
		t.Fatalf("expired key, verified while valid: %v", m.Signature)
	}

	f, err := os.Open(filepath.Join(dir, "vendor-revoked.pub.asc"))
	if err != nil {
		t.Fatal(err)
	}
	unrevoked, err := openpgp.ReadArmoredKeyRing(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(unrevoked[0].Revocations) == 0 {
		t.Fatal("the revoked key carries no revocation")
	}
	unrevoked[0].Revocations = nil
	k2 := &Keys{Decrypt: k.Decrypt, Verify: unrevoked}
	if m := mustParseWith(t, read("signed-revoked-key.eml"), k2); m.Signature != SigValid {
		t.Fatalf("without its revocation: %v", m.Signature)
	}
}

// TestRetiredKeyAndAEAD: mail to a retired robot key still opens, and an
// AEAD (SEIPD v2) message opens while a cut tag does not.
func TestRetiredKeyAndAEAD(t *testing.T) {
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519, AEADConfig: &packet.AEADConfig{}}
	fresh, err := openpgp.NewEntity("new robot", "", "coordbot-robot@test.invalid", cfg)
	if err != nil {
		t.Fatal(err)
	}
	k := RobotKeyring(t)
	k.Decrypt = append(openpgp.EntityList{fresh}, k.Decrypt...)
	acme := ReadTestKey(t, "vendor-acme.sec")

	old := pgpMIME(vendorHeader, sealTo(t, ReadTestKey(t, "robot.pub"), acme, crlf(textEntity), nil))
	m := mustParseWith(t, old, k)
	if m.DecryptedWith != fprRobot || m.Signature != SigValid {
		t.Fatalf("retired key: decrypted with %q, %v", m.DecryptedWith, m.Signature)
	}

	var bin bytes.Buffer
	w, err := openpgp.Encrypt(&bin, openpgp.EntityList{fresh}, nil, acme, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(crlf(textEntity))
	w.Close()
	if !isSEIPDv2(bin.Bytes()) {
		t.Fatal("not an AEAD message")
	}
	arm := func(b []byte) []byte {
		return armored(t, "PGP MESSAGE", func(w io.Writer) error { _, err := w.Write(b); return err })
	}
	m = mustParseWith(t, pgpMIME(vendorHeader, arm(bin.Bytes())), k)
	if m.DecryptedWith != fingerprint(fresh) || m.Signature != SigValid || !strings.Contains(m.Text, "該当製品あり") {
		t.Fatalf("aead: %q %v %q", m.DecryptedWith, m.Signature, m.Text)
	}
	for _, cut := range []int{1, 8, 16, 17, 40} {
		_, err := ParseWith(pgpMIME(vendorHeader, arm(bin.Bytes()[:bin.Len()-cut])), DefaultLimits, k)
		if !errors.Is(err, ErrNoIntegrity) && !errors.Is(err, ErrMalformed) {
			t.Errorf("aead cut by %d: %v", cut, err)
		}
	}
	flipped := bytes.Clone(bin.Bytes())
	flipped[len(flipped)-20] ^= 0x40
	if _, err := ParseWith(pgpMIME(vendorHeader, arm(flipped)), DefaultLimits, k); !errors.Is(err, ErrNoIntegrity) {
		t.Errorf("aead flipped: %v", err)
	}
}

// isSEIPDv2 reports a message whose encrypted packet is SEIPD version 2.
func isSEIPDv2(b []byte) bool {
	r := packet.NewReader(bytes.NewReader(b))
	for {
		p, err := r.Next()
		if err != nil {
			return false
		}
		if se, ok := p.(*packet.SymmetricallyEncrypted); ok {
			return se.Version == 2
		}
	}
}

// TestCutAndFlipped: no prefix of a ciphertext and no single flipped byte
// gives a message (T1).
func TestCutAndFlipped(t *testing.T) {
	k := RobotKeyring(t)
	var bin bytes.Buffer
	w, err := openpgp.Encrypt(&bin, ReadTestKey(t, "robot.pub"), nil, ReadTestKey(t, "vendor-acme.sec"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(crlf(textEntity))
	w.Close()
	full := bin.Bytes()
	arm := func(b []byte) []byte {
		return armored(t, "PGP MESSAGE", func(w io.Writer) error { _, err := w.Write(b); return err })
	}
	for n := 0; n < len(full); n++ {
		_, err := ParseWith(pgpMIME(vendorHeader, arm(full[:n])), DefaultLimits, k)
		if err == nil {
			t.Fatalf("cut at %d of %d: parsed", n, len(full))
		}
	}
	for i := 0; i < len(full); i++ {
		b := bytes.Clone(full)
		b[i] ^= 0x01
		m, err := ParseWith(pgpMIME(vendorHeader, arm(b)), DefaultLimits, k)
		if err == nil && m.Encrypted {
			// Only bytes outside the encrypted data (the recipient key
			// ID, say) may change without harm; the content must not.
			if !strings.Contains(m.Text, "該当製品あり") {
				t.Fatalf("flip at %d: altered text %q", i, m.Text)
			}
		}
	}
}

func TestProtectedHeaders(t *testing.T) {
	k := RobotKeyring(t)
	robotPub, acme := ReadTestKey(t, "robot.pub"), ReadTestKey(t, "vendor-acme.sec")
	outer := []string{"From: Acme PSIRT <psirt@acme.test.invalid>", "Subject: ...", "In-Reply-To: <outer@x>", "MIME-Version: 1.0"}
	real := "Re: [JVNVU#12345678] 詳細"
	enc := "=?UTF-8?B?UmU6IFtKVk5WVSMxMjM0NTY3OF0g6Kmz57Sw?="
	tests := []struct {
		name, inner   string
		subject       string
		outerSubject  string
		inReplyTo     string
		defect        string
		textExcludes  string
		sig           SigStatus
		signInnerMIME bool
	}{
		{name: "root header", inner: "Content-Type: text/plain; charset=UTF-8; protected-headers=\"v1\"\nSubject: " + enc +
			"\nIn-Reply-To: <dt@cert.example>\nFrom: Acme PSIRT <psirt@acme.test.invalid>\n\n" + statusForm,
			subject: real, outerSubject: "...", inReplyTo: "dt@cert.example"},
		{name: "root without parameter", inner: "Subject: " + enc + "\nContent-Type: text/plain; charset=UTF-8\n\n" + statusForm,
			subject: real, outerSubject: "...", inReplyTo: "outer@x"},
		{name: "inner From differs", inner: "Content-Type: text/plain; protected-headers=v1\nSubject: x\nFrom: someone@else.example\n\n" + statusForm,
			subject: "x", outerSubject: "...", inReplyTo: "outer@x", defect: "protected from differs from envelope from"},
		{name: "legacy rfc822-headers part", inner: "Content-Type: multipart/mixed; boundary=L\n\n--L\nContent-Type: text/rfc822-headers; protected-headers=\"v1\"\n\nSubject: " +
			enc + "\nReferences: <dt@cert.example>\n\n--L\nContent-Type: text/plain; charset=UTF-8\n\n" + statusForm + "\n--L--\n",
			subject: real, outerSubject: "...", inReplyTo: "outer@x", textExcludes: "Subject:"},
		{name: "legacy display text/plain part", inner: "Content-Type: multipart/mixed; boundary=L; protected-headers=v1\nSubject: " + enc +
			"\n\n--L\nContent-Type: text/plain; charset=UTF-8; protected-headers=\"v1\"\nContent-Disposition: inline\n\nSubject: other\n\n--L\nContent-Type: text/plain; charset=UTF-8\n\n" + statusForm + "\n--L--\n",
			subject: real, outerSubject: "...", inReplyTo: "outer@x", textExcludes: "Subject:"},
		{name: "first part of a mixed", inner: "Content-Type: multipart/mixed; boundary=L\n\n--L\nContent-Type: multipart/mixed; boundary=K; protected-headers=v1\nSubject: " +
			enc + "\n\n--K\nContent-Type: text/plain; charset=UTF-8\n\n" + statusForm + "\n--K--\n--L--\n",
			subject: real, outerSubject: "...", inReplyTo: "outer@x"},
		{name: "signed inner entity (Enigmail)", inner: "Content-Type: text/plain; charset=UTF-8; protected-headers=v1\nSubject: " + enc + "\n\n" + statusForm,
			subject: real, outerSubject: "...", inReplyTo: "outer@x", sig: SigValid, signInnerMIME: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := crlf(tt.inner)
			if tt.signInnerMIME {
				payload = signedMIME(t, nil, acme, tt.inner)
			}
			m := mustParseWith(t, pgpMIME(outer, sealTo(t, robotPub, nil, payload, nil)), k)
			if m.Subject != tt.subject || m.OuterSubject != tt.outerSubject {
				t.Errorf("subject %q outer %q; want %q, %q", m.Subject, m.OuterSubject, tt.subject, tt.outerSubject)
			}
			if !slices.Contains(m.InReplyTo, tt.inReplyTo) {
				t.Errorf("in-reply-to %q; want %q", m.InReplyTo, tt.inReplyTo)
			}
			if m.From.Addr != "psirt@acme.test.invalid" {
				t.Errorf("from %q", m.From.Addr)
			}
			if tt.defect != "" && !slices.Contains(m.Defects, tt.defect) {
				t.Errorf("defects %q", m.Defects)
			}
			if tt.textExcludes != "" && strings.Contains(m.Text, tt.textExcludes) {
				t.Errorf("text %q", m.Text)
			}
			if !strings.Contains(m.Text, "該当製品あり") || m.Signature != tt.sig {
				t.Errorf("text %q, signature %v", m.Text, m.Signature)
			}
		})
	}
	// Outside encryption, protected headers prove nothing and are not used.
	plain := msg(append(slices.Clone(outer), "Content-Type: text/plain; protected-headers=v1", "Subject: [JVNVU#99999999]"), statusForm)
	if m := mustParseWith(t, plain, k); m.Subject != "..." || m.OuterSubject != "" {
		t.Errorf("plain mail: subject %q outer %q", m.Subject, m.OuterSubject)
	}
}

// TestInnerLimits: the decrypted entity is held to the same limits.
func TestInnerLimits(t *testing.T) {
	k := RobotKeyring(t)
	robotPub := ReadTestKey(t, "robot.pub")
	lim := Limits{MaxSize: 1 << 20, MaxDepth: 4, MaxParts: 10}
	deep := ""
	for i := 0; i < 6; i++ {
		deep += fmt.Sprintf("Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i)
	}
	deep += "Content-Type: text/plain\n\nx\n"
	many := "Content-Type: multipart/mixed; boundary=m\n\n" + strings.Repeat("--m\nContent-Type: text/plain\n\nx\n", 12) + "--m--\n"
	big := "Content-Type: text/plain\n\n" + strings.Repeat("x", 2<<20)
	for _, tt := range []struct {
		name, inner string
		want        error
	}{
		{"deep", deep, ErrTooDeep},
		{"many parts", many, ErrTooManyParts},
		{"large plaintext", big, ErrTooLarge},
	} {
		raw := pgpMIME(vendorHeader, sealTo(t, robotPub, nil, crlf(tt.inner), &packet.Config{DefaultCompressionAlgo: packet.CompressionZLIB}))
		if _, err := ParseWith(raw, lim, k); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v; want %v", tt.name, err, tt.want)
		}
	}
	// An inline-encrypted body is bounded by MaxDecompressed as well.
	k2 := *k
	k2.MaxDecompressed = 1000
	raw := msg(vendorHeader, string(sealTo(t, robotPub, nil, bytes.Repeat([]byte("x"), 5000), nil)))
	if _, err := ParseWith(raw, DefaultLimits, &k2); !errors.Is(err, ErrTooLarge) {
		t.Errorf("inline over MaxDecompressed: %v", err)
	}
}

func TestStructure(t *testing.T) {
	k := RobotKeyring(t)
	robotPub, acme := ReadTestKey(t, "robot.pub"), ReadTestKey(t, "vendor-acme.sec")
	ct := string(sealTo(t, robotPub, nil, crlf(textEntity), nil))
	mixed := append(slices.Clone(vendorHeader), "Content-Type: multipart/mixed; boundary=M")
	tests := []struct {
		name      string
		raw       []byte
		err       error
		encrypted bool
		sig       SigStatus
		defect    string
		text      string
	}{
		{name: "no keys", raw: pgpMIME(vendorHeader, []byte(ct)), err: ErrUndecryptable},
		{name: "signed-only data as multipart/encrypted", raw: pgpMIME(vendorHeader, signOpaque(t, acme, crlf(textEntity))), err: ErrMalformed},
		{name: "encrypted without ciphertext", raw: msg(append(slices.Clone(vendorHeader), `Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary=E`),
			"--E\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n--E--\n"), err: ErrMalformed},
		{name: "extra part next to the ciphertext", raw: msg(append(slices.Clone(vendorHeader), `Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary=E`),
			"preamble OUTSIDE\n--E\nContent-Type: application/pgp-encrypted\n\nVersion: 1 OUTSIDE\n--E\nContent-Type: application/octet-stream\n\n"+ct+
				"\n--E\nContent-Type: text/plain\n\nOUTSIDE\n--E--\nepilogue OUTSIDE\n"),
			encrypted: true, defect: "unprotected part outside the encryption dropped", text: "該当製品あり"},
		{name: "encrypted inside encrypted", raw: pgpMIME(vendorHeader, sealTo(t, robotPub, nil,
			crlf("Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=F\n\n--F\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n--F\nContent-Type: application/octet-stream\n\n"+ct+"\n--F--\n"), nil)),
			encrypted: true, defect: "nested encrypted part ignored"},
		{name: "inline block in a stranger's mixed", raw: msg(mixed, "--M\nContent-Type: text/plain\n\nOUTSIDE\n--M\nContent-Type: text/plain\n\n"+ct+"\n--M--\n"),
			defect: "nested encrypted part ignored", text: "OUTSIDE"},
		{name: "signed with a third part", raw: func() []byte {
			raw := signedMIME(t, vendorHeader, acme, textEntity)
			return bytes.Replace(raw, []byte("--S--"), []byte("--S\r\nContent-Type: text/plain\r\n\r\nOUTSIDE\r\n--S--"), 1)
		}(), sig: SigValid, defect: "unsigned part dropped", text: "該当製品あり"},
		{name: "signed, bad boundary", raw: msg(append(slices.Clone(vendorHeader), `Content-Type: multipart/signed; protocol="application/pgp-signature"`), statusForm),
			sig: SigBad, defect: "unreadable signed structure"},
		{name: "signed, signature part not a signature", raw: msg(append(slices.Clone(vendorHeader), `Content-Type: multipart/signed; protocol="application/pgp-signature"; boundary=S`),
			"--S\nContent-Type: text/plain\n\n"+statusForm+"\n--S\nContent-Type: application/pgp-signature\n\nnot armor\n--S--\n"), sig: SigBad, text: "該当製品あり"},
		{name: "clearsigned, truncated", raw: msg(vendorHeader, "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n"+statusForm),
			sig: SigBad, defect: "unreadable clearsigned block"},
		{name: "inline, truncated armor", raw: msg(vendorHeader, ct[:len(ct)/2]), err: ErrNoIntegrity},
		{name: "s/mime signed is not ours", raw: msg(append(slices.Clone(vendorHeader), `Content-Type: multipart/signed; protocol="application/pkcs7-signature"; boundary=S`),
			"--S\nContent-Type: text/plain\n\n"+statusForm+"\n--S\nContent-Type: application/pkcs7-signature\n\nAAAA\n--S--\n"), text: "該当製品あり"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := k
			if tt.name == "no keys" {
				keys = nil
			}
			m, err := ParseWith(tt.raw, DefaultLimits, keys)
			if tt.err != nil || err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err %v; want %v", err, tt.err)
				}
				return
			}
			if m.Encrypted != tt.encrypted || m.Signature != tt.sig {
				t.Errorf("encrypted %v signature %v", m.Encrypted, m.Signature)
			}
			if tt.defect != "" && !slices.Contains(m.Defects, tt.defect) {
				t.Errorf("defects %q", m.Defects)
			}
			if !strings.Contains(m.Text, tt.text) {
				t.Errorf("text %q lacks %q", m.Text, tt.text)
			}
			if m.Encrypted {
				checkNoOutside(t, m, "OUTSIDE")
			}
		})
	}
}

// checkNoOutside fails if text from outside the encryption reached m.
func checkNoOutside(t *testing.T, m *Message, marker string) {
	t.Helper()
	if strings.Contains(m.Text, marker) {
		t.Fatalf("decrypted message has outside text: %q", m.Text)
	}
	for _, a := range m.Attachments {
		if bytes.Contains(a.Data, []byte(marker)) {
			t.Fatalf("decrypted message has an outside attachment %q", a.Filename)
		}
	}
}

// TestNeverMix is the property of T2: whatever a stranger adds around a
// ciphertext, a message whose text came from decryption carries none of
// it. Marker lines go at random line starts of each encrypted corpus
// message and of wrappers built here.
func TestNeverMix(t *testing.T) {
	k := RobotKeyring(t)
	const marker = "OUTSIDE-MARKER"
	var seeds [][]byte
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "mail", "pgp", "*.eml"))
	for _, f := range files {
		if strings.Contains(f, "bomb") {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if m, err := ParseWith(raw, DefaultLimits, k); err == nil && m.Encrypted {
			seeds = append(seeds, raw)
		}
	}
	if len(seeds) < 5 {
		t.Fatalf("%d encrypted seeds", len(seeds))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	runs, encrypted := 0, 0
	for _, raw := range seeds {
		lines := bytes.SplitAfter(raw, []byte("\n"))
		for i := 0; i < 150; i++ {
			out := make([][]byte, 0, len(lines)+3)
			out = append(out, lines...)
			for n := 1 + rng.IntN(3); n > 0; n-- {
				at := rng.IntN(len(out) + 1)
				ins := []byte(marker + "\r\n")
				if rng.IntN(2) == 0 {
					ins = []byte("\r\n" + marker + " " + statusForm + "\r\n")
				}
				out = slices.Insert(out, at, ins)
			}
			m, err := ParseWith(bytes.Join(out, nil), DefaultLimits, k)
			runs++
			if err == nil && m.Encrypted {
				encrypted++
				checkNoOutside(t, m, marker)
			}
		}
	}
	if encrypted < runs/10 {
		t.Fatalf("only %d of %d mutated messages still decrypted: the property was barely tested", encrypted, runs)
	}
	t.Logf("%d mutated messages, %d decrypted", runs, encrypted)
}

func TestKeysFound(t *testing.T) {
	k := RobotKeyring(t)
	pub, err := os.ReadFile(filepath.Join("..", "..", "testdata", "keys", "vendor-acme.pub.asc"))
	if err != nil {
		t.Fatal(err)
	}
	sec, err := os.ReadFile(filepath.Join("..", "..", "testdata", "keys", "coord.sec.asc"))
	if err != nil {
		t.Fatal(err)
	}
	beta, err := os.ReadFile(filepath.Join("..", "..", "testdata", "keys", "vendor-beta-rsa.pub.asc"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := armor.Decode(bytes.NewReader(beta))
	bin, _ := io.ReadAll(block.Body)
	mixed := append(slices.Clone(vendorHeader), "Content-Type: multipart/mixed; boundary=M")

	m := mustParseWith(t, msg(mixed, "--M\nContent-Type: text/plain\n\nMy key:\n"+string(pub)+"\n> "+strings.ReplaceAll(string(pub), "\n", "\n> ")+
		"\n"+string(sec)+"\n--M\nContent-Type: application/pgp-keys\nContent-Transfer-Encoding: base64\n\n"+
		base64.StdEncoding.EncodeToString(bin)+"\n--M--\n"), k)
	if len(m.Keys) != 2 {
		t.Fatalf("%d keys: %q", len(m.Keys), m.Keys)
	}
	for i, want := range []string{fprAcme, fprBeta} {
		el, err := openpgp.ReadArmoredKeyRing(strings.NewReader(m.Keys[i]))
		if err != nil || len(el) != 1 || fingerprint(el[0]) != want || el[0].PrivateKey != nil {
			t.Fatalf("key %q: %v", m.Keys[i], err)
		}
	}

	var many strings.Builder
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&many, "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nkey%d\n-----END PGP PUBLIC KEY BLOCK-----\n", i)
	}
	m = mustParseWith(t, msg(vendorHeader, many.String()), k)
	if len(m.Keys) != maxKeys || !slices.Contains(m.Defects, "keys beyond the limit ignored") {
		t.Fatalf("%d keys, defects %q", len(m.Keys), m.Defects)
	}
}

// TestSignatureID: the same signature has the same ID however the mail is
// stored; other signatures have other IDs.
func TestSignatureID(t *testing.T) {
	k := RobotKeyring(t)
	ids := map[string]string{}
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "mail", "pgp", "*.eml"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ParseWith(raw, DefaultLimits, k)
		if err != nil || m.Signature != SigValid {
			continue
		}
		if len(m.SignatureID) != 64 {
			t.Fatalf("%s: id %q", f, m.SignatureID)
		}
		if other, dup := ids[m.SignatureID]; dup {
			t.Fatalf("%s and %s share a signature id", f, other)
		}
		ids[m.SignatureID] = f
		// Stored with LF (or with CRLF when it came with LF).
		alt := bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
		if bytes.Equal(alt, raw) {
			alt = bytes.ReplaceAll(raw, []byte("\n"), []byte("\r\n"))
		}
		m2, err := ParseWith(alt, DefaultLimits, k)
		if err != nil || m2.Signature != SigValid || m2.SignatureID != m.SignatureID || m2.SignedBy != m.SignedBy {
			t.Fatalf("%s with other line ends: %v %v, id %q vs %q", f, err, m2.Signature, m2.SignatureID, m.SignatureID)
		}
	}
	if len(ids) < 8 {
		t.Fatalf("only %d valid signatures", len(ids))
	}
}

// TestManySignaturePackets: a detached signature repeated a thousand times
// costs no more than lookupBudget checks (T5).
func TestManySignaturePackets(t *testing.T) {
	k := RobotKeyring(t)
	acme := ReadTestKey(t, "vendor-acme.sec")
	part := "Content-Type: text/plain\r\n\r\n" + strings.Repeat(statusForm, 20000)
	var one bytes.Buffer
	if err := openpgp.DetachSign(&one, acme, strings.NewReader(strings.ReplaceAll(part, "\n", "\r\n")), nil); err != nil {
		t.Fatal(err)
	}
	sig := armored(t, "PGP SIGNATURE", func(w io.Writer) error {
		_, err := w.Write(bytes.Repeat(one.Bytes(), 1000))
		return err
	})
	raw := msg(append(slices.Clone(vendorHeader), `Content-Type: multipart/signed; protocol="application/pgp-signature"; boundary=S`),
		"--S\n"+part+"\n--S\nContent-Type: application/pgp-signature\n\n"+string(sig)+"--S--\n")
	start := time.Now()
	m := mustParseWith(t, raw, k)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	if m.Signature != SigValid {
		t.Errorf("signature %v", m.Signature)
	}
}

// TestCompressionBomb: gpg's 200 MB of zeros stops at the bound, fast, with
// memory in proportion to the bound and not to the bomb (T5).
func TestCompressionBomb(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "mail", "pgp", "compression-bomb.eml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, bound := range []int64{1 << 20, DefaultMaxDecompressed} {
		k := RobotKeyring(t)
		k.MaxDecompressed = bound
		limit := min(bound, DefaultLimits.MaxSize)
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		_, err := ParseWith(raw, DefaultLimits, k)
		d := time.Since(start)
		runtime.ReadMemStats(&after)
		alloc := after.TotalAlloc - before.TotalAlloc
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("bound %d: %v", bound, err)
		}
		// io.ReadAll doubles its buffer: about 2x the bound, plus the
		// decompressor's windows.
		if alloc > uint64(3*limit+16<<20) {
			t.Errorf("bound %d: %d bytes allocated", bound, alloc)
		}
		if d > 10*time.Second {
			t.Errorf("bound %d: took %v", bound, d)
		}
		t.Logf("bound %d: %v after %v, %d MiB allocated", bound, err, d.Round(time.Millisecond), alloc>>20)
	}
}

func TestGuard(t *testing.T) {
	err := guard(func() error { panic("crafted input") })
	if !errors.Is(err, ErrMalformed) || strings.Contains(err.Error(), "crafted") {
		t.Fatalf("guard: %v", err)
	}
}

func TestRawParts(t *testing.T) {
	for _, tt := range []struct {
		body   string
		want   []string
		closed bool
	}{
		{"--b\r\nA\r\n--b\r\nB\r\n--b--\r\n", []string{"A", "B"}, true},
		{"pre\n--b\nA\n\n--b \t\nB\n--b--", []string{"A\n", "B"}, true},
		{"--b\nA\n--bx\nA2\n--b\nB", []string{"A\n--bx\nA2", "B"}, false},
		{"--b\n--b\n--b--\n", []string{"", ""}, true},
		{"no delimiter", nil, false},
	} {
		got, closed := rawParts([]byte(tt.body), "b", 5)
		var s []string
		for _, g := range got {
			s = append(s, string(g))
		}
		if !slices.Equal(s, tt.want) || closed != tt.closed {
			t.Errorf("rawParts(%q) = %q, %v; want %q, %v", tt.body, s, closed, tt.want, tt.closed)
		}
	}
}

// TestConcurrentKeys: one Keys shared by concurrent calls (run with -race).
func TestConcurrentKeys(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "mail", "pgp", "*.eml"))
	k := RobotKeyring(t)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, f := range files {
				if strings.Contains(f, "bomb") {
					continue
				}
				raw, err := os.ReadFile(f)
				if err != nil {
					t.Error(err)
					return
				}
				ParseWith(raw, DefaultLimits, k)
			}
		}()
	}
	wg.Wait()
}

// TestPacketNesting: compressed packets nested deeper than go-crypto allows
// fail cleanly (T5).
func TestPacketNesting(t *testing.T) {
	var inner bytes.Buffer
	lw, err := packet.SerializeLiteral(noClose{&inner}, true, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	lw.Write([]byte(statusForm))
	lw.Close()
	data := inner.Bytes()
	for i := 0; i < 64; i++ {
		var out bytes.Buffer
		cw, err := packet.SerializeCompressed(noClose{&out}, packet.CompressionZIP, nil)
		if err != nil {
			t.Fatal(err)
		}
		cw.Write(data)
		cw.Close()
		data = out.Bytes()
	}
	raw := msg(vendorHeader, string(armored(t, "PGP MESSAGE", func(w io.Writer) error { _, err := w.Write(data); return err })))
	if _, err := ParseWith(raw, DefaultLimits, RobotKeyring(t)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("64 nested compressed packets: %v", err)
	}
}

type noClose struct{ io.Writer }

func (noClose) Close() error { return nil }

type errReader struct {
	data []byte
	err  error
}

func (r *errReader) Read(b []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(b, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestReadBounded(t *testing.T) {
	for _, tt := range []struct {
		n, max int
		err    error
		ok     bool
	}{
		{0, 10, io.EOF, true},
		{10, 10, io.EOF, true},
		{11, 10, io.EOF, false}, // over: errOverBound, nothing kept
		{600 << 10, 1 << 20, io.EOF, true},
		{(1 << 20) + 1, 1 << 20, io.EOF, false},
		{5, 10, io.ErrUnexpectedEOF, false},
		{5, 10, errors.New("mdc"), false},
	} {
		// The size hint (exact, short, long) never changes the result.
		for _, hint := range []int64{0, int64(tt.n), int64(tt.n / 2), int64(tt.n*2 + 1)} {
			r := &errReader{bytes.Repeat([]byte("x"), tt.n), tt.err}
			b, err := readBounded(r, int64(tt.max), hint)
			over := tt.n > tt.max && tt.err == io.EOF
			if (err == nil) != tt.ok || (tt.ok && len(b) != tt.n) || errors.Is(err, errOverBound) != over || (over && b != nil) {
				t.Errorf("%d bytes, max %d, hint %d, end %v: %d bytes, %v", tt.n, tt.max, hint, tt.err, len(b), err)
			}
			if over && len(r.data) != tt.n-tt.max-1 {
				t.Errorf("%d bytes, max %d, hint %d: read %d, want max+1", tt.n, tt.max, hint, tt.n-len(r.data))
			}
		}
	}
}
