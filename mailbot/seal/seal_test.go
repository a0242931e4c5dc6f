package seal

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp2 "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/coordbot/coordbot/mailbot/keys"
)

// pairs is every robot key kind against every vendor key kind, Go-made and
// gpg-made.
func pairs(t *testing.T) []struct{ robot, vendor *party } {
	fixtures(t)
	var out []struct{ robot, vendor *party }
	for _, r := range []*party{fix.goRobot25519, fix.goRobotRSA, fix.robot} {
		for _, v := range []*party{fix.goVendor25519, fix.goVendorRSA, fix.acme, fix.beta} {
			out = append(out, struct{ robot, vendor *party }{r, v})
		}
	}
	return out
}

// ringV2 turns v1 entities into an openpgp/v2 key ring, as the robot's
// reader (and a recipient) would hold them.
func ringV2(t *testing.T, armored ...[]byte) openpgp2.EntityList {
	t.Helper()
	var el openpgp2.EntityList
	for _, a := range armored {
		l, err := openpgp2.ReadArmoredKeyRing(bytes.NewReader(a))
		if err != nil {
			t.Fatalf("v2 key ring: %v", err)
		}
		el = append(el, l...)
	}
	return el
}

// ciphertext checks the RFC 3156 §4 structure and returns the armored
// OpenPGP message.
func ciphertext(t *testing.T, out []byte) []byte {
	t.Helper()
	h, ct, params, parts := outerParts(t, out)
	if ct != "multipart/encrypted" || params["protocol"] != "application/pgp-encrypted" {
		t.Fatalf("outer Content-Type %s %v", ct, params)
	}
	if h.Get("Mime-Version") != "1.0" {
		t.Errorf("outer MIME-Version %q", h.Get("Mime-Version"))
	}
	if len(parts) != 2 {
		t.Fatalf("%d parts, want 2", len(parts))
	}
	ch, cb := splitPart(t, parts[0])
	if ch.Get("Content-Type") != "application/pgp-encrypted" || !strings.Contains(string(cb), "Version: 1") {
		t.Errorf("control part %q %q", ch.Get("Content-Type"), cb)
	}
	eh, eb := splitPart(t, parts[1])
	if eh.Get("Content-Type") != "application/octet-stream" || !bytes.HasPrefix(eb, []byte("-----BEGIN PGP MESSAGE-----")) {
		t.Fatalf("encrypted part %q %.40q", eh.Get("Content-Type"), eb)
	}
	return eb
}

// checkOuter asserts that nothing confidential is outside the encryption.
func checkOuter(t *testing.T, out []byte) {
	t.Helper()
	h, _, _, _ := outerParts(t, out)
	s, err := h.Subject()
	if err != nil || s != outerSubject {
		t.Errorf("outer Subject %q (%v), want %q", s, err, outerSubject)
	}
	if len(h.Values("Subject")) != 1 {
		t.Errorf("%d Subject fields", len(h.Values("Subject")))
	}
	for _, secret := range []string{secretWord, secretCVE, "poc.py"} {
		if bytes.Contains(out, []byte(secret)) {
			t.Errorf("%q readable outside the encryption", secret)
		}
	}
	if h.Get("Auto-Submitted") != "auto-generated" || h.Get("Message-Id") == "" {
		t.Errorf("outer header lost fields: %v", h.Map())
	}
	if bytes.Contains(bytes.ReplaceAll(out, []byte("\r\n"), nil), []byte("\n")) {
		t.Error("bare LF in the message")
	}
}

// decryptV2 decrypts with openpgp/v2 and requires an MDC-checked plaintext
// signed by signer.
func decryptV2(t *testing.T, armored []byte, ring openpgp2.EntityList, signer *party, cipher packet.CipherFunction) []byte {
	t.Helper()
	blk, err := armor.Decode(bytes.NewReader(armored))
	if err != nil {
		t.Fatalf("armor: %v", err)
	}
	md, err := openpgp2.ReadMessage(blk.Body, ring, nil, nil)
	if err != nil {
		t.Fatalf("v2 ReadMessage: %v", err)
	}
	plain, err := io.ReadAll(md.UnverifiedBody) // to EOF: the MDC is checked here
	if err != nil {
		t.Fatalf("v2 read to EOF (MDC or signature): %v", err)
	}
	if !md.IsEncrypted || !md.IsSigned {
		t.Fatalf("encrypted %v signed %v", md.IsEncrypted, md.IsSigned)
	}
	if !md.IsVerified || md.SignatureError != nil || md.SignedBy == nil {
		t.Fatalf("signature not verified: verified %v err %v", md.IsVerified, md.SignatureError)
	}
	if got := strings.ToUpper(hex.EncodeToString(md.SignedBy.Entity.PrimaryKey.Fingerprint)); got != signer.fpr {
		t.Fatalf("signed by %s, want %s", got, signer.fpr)
	}
	if md.DecryptedWithAlgorithm != cipher {
		t.Errorf("cipher %v, want %v", md.DecryptedWithAlgorithm, cipher)
	}
	return plain
}

// wantCipher is what go-crypto must pick: AES-256 when every recipient
// lists it (gpg keys do), else AES-128, the cipher every implementation
// has (RFC 4880 §13.2: never one outside the recipients' preferences).
func wantCipher(to []*openpgp.Entity) packet.CipherFunction {
	for _, e := range to {
		sig, _ := e.PrimarySelfSignature()
		if !bytes.Contains(sig.PreferredSymmetric, []byte{uint8(packet.CipherAES256)}) {
			return packet.CipherAES128
		}
	}
	return packet.CipherAES256
}

func TestEncryptRoundTrip(t *testing.T) {
	for _, pr := range pairs(t) {
		t.Run(pr.robot.name+"→"+pr.vendor.name, func(t *testing.T) {
			t.Parallel()
			now := time.Now()
			for _, withAtt := range []bool{true, false} {
				m, atts := sampleMessage(t, now, withAtt)
				to := []*openpgp.Entity{pr.vendor.pub, pr.robot.pub}
				out, err := Encrypt(m, pr.robot.sec, to, now)
				if err != nil {
					t.Fatalf("Encrypt: %v", err)
				}
				checkOuter(t, out)
				msg := ciphertext(t, out)
				// The vendor reads it with its secret key and the robot's
				// pinned public key.
				plain := decryptV2(t, msg, ringV2(t, pr.vendor.secArmor, pr.robot.pubArmor), pr.robot, wantCipher(to))
				checkInner(t, parseInner(t, plain), m, atts)
				// The robot's Sent copy stays readable.
				plain = decryptV2(t, msg, ringV2(t, pr.robot.secArmor), pr.robot, wantCipher(to))
				checkInner(t, parseInner(t, plain), m, atts)
			}
		})
	}
}

// TestEncryptPacketShape opens the packets by hand: what gpg 2.2 needs is
// v3 PKESKs, a SEIPD v1 packet with MDC (no AEAD), AES-256, and (our
// choice) no compression, with a SHA-256 signature inside.
func TestEncryptPacketShape(t *testing.T) {
	fixtures(t)
	now := time.Now()
	m, _ := sampleMessage(t, now, true)
	vendor, robot := fix.beta, fix.robot
	out, err := Encrypt(m, robot.sec, []*openpgp.Entity{vendor.pub, robot.pub}, now)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := armor.Decode(bytes.NewReader(ciphertext(t, out)))
	if err != nil {
		t.Fatal(err)
	}
	encKey, ok := vendor.sec.EncryptionKey(now)
	if !ok {
		t.Fatal("vendor has no encryption key")
	}
	robotEnc, _ := robot.pub.EncryptionKey(now)
	r := packet.NewReader(blk.Body)
	var eks []*packet.EncryptedKey
	var se *packet.SymmetricallyEncrypted
	for se == nil {
		p, err := r.Next()
		if err != nil {
			t.Fatalf("packets: %v", err)
		}
		switch p := p.(type) {
		case *packet.EncryptedKey:
			eks = append(eks, p)
		case *packet.SymmetricallyEncrypted:
			se = p
		default:
			t.Fatalf("unexpected packet %T", p)
		}
	}
	if se.Version != 1 || !se.IntegrityProtected {
		t.Fatalf("SEIPD version %d integrity %v, want v1 with MDC", se.Version, se.IntegrityProtected)
	}
	ids := map[uint64]bool{}
	var mine *packet.EncryptedKey
	for _, ek := range eks {
		if ek.Version != 3 {
			t.Errorf("PKESK version %d, want 3", ek.Version)
		}
		ids[ek.KeyId] = true
		if ek.KeyId == encKey.PublicKey.KeyId {
			mine = ek
		}
	}
	if len(eks) != 2 || !ids[encKey.PublicKey.KeyId] || !ids[robotEnc.PublicKey.KeyId] {
		t.Fatalf("PKESKs for %v, want the vendor's and the robot's encryption subkeys", ids)
	}
	if err := mine.Decrypt(encKey.PrivateKey, nil); err != nil {
		t.Fatal(err)
	}
	if mine.CipherFunc != packet.CipherAES256 {
		t.Fatalf("cipher %v, want AES-256", mine.CipherFunc)
	}
	dec, err := se.Decrypt(mine.CipherFunc, mine.Key)
	if err != nil {
		t.Fatal(err)
	}
	first, err := packet.Read(dec)
	if err != nil {
		t.Fatal(err)
	}
	ops, ok := first.(*packet.OnePassSignature)
	if !ok {
		t.Fatalf("first inner packet %T, want a one-pass signature (no compression)", first)
	}
	if ops.Hash != crypto.SHA256 {
		t.Errorf("signature hash %v, want SHA-256", ops.Hash)
	}
}

// signVariants cover both text encodings and both shapes of the part.
var signVariants = []struct{ attachments, fromLine bool }{
	{true, false}, {false, false}, {false, true}, {true, true},
}

// fromLine makes the body go base64 (see bodyEncoding).
const fromLine = "From here on, mbox would mangle this line.\n"

func TestSignRoundTrip(t *testing.T) {
	fixtures(t)
	for _, robot := range []*party{fix.goRobot25519, fix.goRobotRSA, fix.robot} {
		for _, v := range signVariants {
			now := time.Now()
			m, atts := sampleMessage(t, now, v.attachments)
			m.ProtectedSubject = "" // signed-only: nothing to hide
			if v.fromLine {
				m.Body += fromLine
			}
			out, err := Sign(m, robot.sec, now)
			if err != nil {
				t.Fatalf("%s: Sign: %v", robot.name, err)
			}
			signed, sig := checkSigned(t, out)
			ring := openpgp.EntityList{robot.pub}
			signer, err := openpgp.CheckDetachedSignature(ring, bytes.NewReader(signed), bytes.NewReader(sig), nil)
			if err != nil || keys.Fingerprint(signer) != robot.fpr {
				t.Fatalf("%s: v1 verify: %v", robot.name, err)
			}
			if _, _, err := openpgp2.VerifyDetachedSignature(ringV2(t, robot.pubArmor), bytes.NewReader(signed), bytes.NewReader(sig), nil); err != nil {
				t.Fatalf("%s: v2 verify: %v", robot.name, err)
			}
			// One byte changed anywhere in the part breaks it.
			bad := bytes.Replace(signed, []byte("Message-Id"), []byte("Message-ID"), 1)
			if _, err := openpgp.CheckDetachedSignature(ring, bytes.NewReader(bad), bytes.NewReader(sig), nil); err == nil {
				t.Fatalf("%s: tampered part verified", robot.name)
			}
			if !bytes.Contains(signed, []byte(`protected-headers="v1"`)) {
				t.Error(`signed part has no protected-headers="v1"`)
			}
			in := parseInner(t, signed)
			if in.subject != outerSubject {
				t.Errorf("signed Subject %q", in.subject)
			}
			in.subject = protectedTitle // checkInner's expectation for Encrypt
			in.text = strings.TrimSuffix(norm(in.text), fromLine)
			m.Body = sampleBody
			checkInner(t, in, m, atts)
			want := "quoted-printable"
			if v.fromLine {
				want = "base64"
			}
			if enc := in.header.Get("Content-Transfer-Encoding"); !v.attachments && enc != want {
				t.Errorf("body encoding %s, want %s", enc, want)
			}
			if bytes.Contains(signed, []byte("\r\nFrom ")) {
				t.Error(`a line starts with "From " in the signed part`)
			}
		}
	}
}

// checkSigned checks the RFC 3156 §5 structure and returns the signed
// bytes and the binary signature.
func checkSigned(t *testing.T, out []byte) (signed, sig []byte) {
	t.Helper()
	if bytes.Contains(bytes.ReplaceAll(out, []byte("\r\n"), nil), []byte("\n")) {
		t.Error("bare LF in the message")
	}
	h, ct, params, parts := outerParts(t, out)
	if ct != "multipart/signed" || params["protocol"] != "application/pgp-signature" || params["micalg"] != "pgp-sha256" {
		t.Fatalf("outer Content-Type %s %v", ct, params)
	}
	if s, _ := h.Subject(); s != outerSubject {
		t.Errorf("outer Subject %q", s)
	}
	if len(parts) != 2 {
		t.Fatalf("%d parts, want 2", len(parts))
	}
	sh, sb := splitPart(t, parts[1])
	if !strings.HasPrefix(sh.Get("Content-Type"), "application/pgp-signature") {
		t.Fatalf("signature part %q", sh.Get("Content-Type"))
	}
	blk, err := armor.Decode(bytes.NewReader(sb))
	if err != nil || blk.Type != openpgp.SignatureType {
		t.Fatalf("signature armor %v %v", blk, err)
	}
	sig, err = io.ReadAll(blk.Body)
	if err != nil {
		t.Fatal(err)
	}
	p, err := packet.Read(bytes.NewReader(sig))
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := p.(*packet.Signature); !ok || s.SigType != packet.SigTypeBinary || s.Hash != crypto.SHA256 {
		t.Fatalf("signature packet %T %+v", p, p)
	}
	return parts[0], sig
}

func TestRefusals(t *testing.T) {
	now := time.Now()
	robot, err := keys.Generate("robot", "robot@cert.test.invalid", keys.GenOptions{}, now)
	if err != nil {
		t.Fatal(err)
	}
	fresh := func() *openpgp.Entity {
		e, err := keys.Generate("v", "v@vendor.test.invalid", keys.GenOptions{}, now)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	shortLived, err := openpgp.NewEntity("short", "", "short@vendor.test.invalid", &packet.Config{
		Algorithm:       packet.PubKeyAlgoEdDSA,
		Curve:           packet.Curve25519,
		KeyLifetimeSecs: 3600,
		Time:            func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	revoked := fresh()
	if err := revoked.RevokeKey(packet.KeyRetired, "retired", &packet.Config{Time: func() time.Time { return now }}); err != nil {
		t.Fatal(err)
	}
	signOnly := fresh()
	signOnly.Subkeys = nil
	good := fresh()
	m, _ := sampleMessage(t, now, true)

	// The short-lived key is fine within its hour: the refusal below is
	// about expiry, not about the key.
	if _, err := Encrypt(m, robot, []*openpgp.Entity{shortLived}, now); err != nil {
		t.Fatalf("short-lived key refused while valid: %v", err)
	}
	cases := []struct {
		name  string
		to    []*openpgp.Entity
		at    time.Time
		want  error
		words string
	}{
		{"expired", []*openpgp.Entity{shortLived}, now.Add(2 * time.Hour), keys.ErrExpired, "expired"},
		{"revoked", []*openpgp.Entity{revoked}, now, keys.ErrRevoked, "revoked"},
		{"sign-only", []*openpgp.Entity{signOnly}, now, keys.ErrNoEncrypt, "encryption subkey"},
		{"one bad among good", []*openpgp.Entity{good, revoked, robot}, now, keys.ErrRevoked, "revoked"},
	}
	for _, c := range cases {
		out, err := Encrypt(m, robot, c.to, c.at)
		if !errors.Is(err, c.want) || out != nil {
			t.Errorf("%s: out %d bytes, err %v; want nothing and %v", c.name, len(out), err, c.want)
			continue
		}
		bad := c.to[0]
		if c.name == "one bad among good" {
			bad = revoked
		}
		if msg := err.Error(); !strings.Contains(msg, c.words) || !strings.Contains(msg, keys.Fingerprint(bad)) || !strings.HasPrefix(msg, "seal: encrypt to ") {
			t.Errorf("%s: error %q does not name the key and the problem", c.name, msg)
		}
	}
	if out, err := Encrypt(m, robot, nil, now); err == nil || out != nil {
		t.Error("no recipients accepted")
	}

	// The signer is checked too.
	pubOnly, err := keys.ParsePublic(mustArmor(t, robot), now)
	if err != nil {
		t.Fatal(err)
	}
	revokedRobot := fresh()
	if err := revokedRobot.RevokeKey(packet.KeyCompromised, "", nil); err != nil {
		t.Fatal(err)
	}
	for name, signer := range map[string]*openpgp.Entity{"nil": nil, "public only": pubOnly.Entity, "revoked": revokedRobot} {
		if out, err := Encrypt(m, signer, []*openpgp.Entity{good}, now); err == nil || out != nil {
			t.Errorf("Encrypt with %s signer: %v", name, err)
		}
		if out, err := Sign(m, signer, now); err == nil || out != nil {
			t.Errorf("Sign with %s signer: %v", name, err)
		}
	}
	if _, err := Sign(m, shortLived, now.Add(2*time.Hour)); !errors.Is(err, keys.ErrExpired) {
		t.Errorf("Sign with an expired signer: %v", err)
	}

	// Bad input is refused, not written half.
	bad := *m
	bad.Body = "\xff\xfe"
	if out, err := Encrypt(&bad, robot, []*openpgp.Entity{good}, now); err == nil || out != nil {
		t.Error("invalid UTF-8 body accepted")
	}
	bad = *m
	bad.Attachments = []Attachment{{Filename: "x", ContentType: "multipart/mixed", Data: []byte("x")}}
	if out, err := Sign(&bad, robot, now); err == nil || out != nil {
		t.Error("multipart attachment type accepted")
	}
	bad.Attachments = []Attachment{{Filename: "x", ContentType: "text/plain; =", Data: []byte("x")}}
	if out, err := Encrypt(&bad, robot, []*openpgp.Entity{good}, now); err == nil || out != nil {
		t.Error("malformed attachment type accepted")
	}
}

func mustArmor(t *testing.T, e *openpgp.Entity) []byte {
	t.Helper()
	a, err := keys.ArmoredPublic(e)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestHeaderInjection: a protected subject or filename with CR/LF must not
// add header fields.
func TestHeaderInjection(t *testing.T) {
	fixtures(t)
	now := time.Now()
	m, _ := sampleMessage(t, now, false)
	m.ProtectedSubject = "title\r\nBcc: evil@example.com"
	m.Attachments = []Attachment{{Filename: "a\r\nX-Evil: 1\r\n\r\n.txt", ContentType: "text/plain", Data: []byte("x")}}
	out, err := Sign(m, fix.robot.sec, now)
	if err != nil {
		t.Fatal(err)
	}
	signed, _ := checkSigned(t, out)
	in := parseInner(t, signed)
	if in.header.Has("Bcc") || bytes.Contains(signed, []byte("\r\nX-Evil")) || bytes.Contains(signed, []byte("\r\nBcc")) {
		t.Fatalf("header injected:\n%s", signed)
	}
}

// TestCipherPreference: AES-256 whenever the recipients allow it (gpg keys
// and keys.Generate keys both prefer it).
func TestCipherPreference(t *testing.T) {
	fixtures(t)
	now := time.Now()
	aes256, err := openpgp.NewEntity("v", "", "v@vendor.test.invalid", &packet.Config{
		Algorithm:     packet.PubKeyAlgoEdDSA,
		Curve:         packet.Curve25519,
		DefaultCipher: packet.CipherAES256,
		Time:          func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := partyFromEntity("aes256", aes256, now)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := sampleMessage(t, now, false)
	for _, c := range []struct {
		name   string
		to     []*party
		cipher packet.CipherFunction
	}{
		{"gpg keys", []*party{fix.beta, fix.robot}, packet.CipherAES256},
		{"go key preferring AES-256", []*party{p, fix.robot}, packet.CipherAES256},
		{"keys.Generate key (prefers AES-256)", []*party{fix.acme, fix.goRobot25519}, packet.CipherAES256},
	} {
		var to []*openpgp.Entity
		for _, r := range c.to {
			to = append(to, r.pub)
		}
		out, err := Encrypt(m, fix.robot.sec, to, now)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		decryptV2(t, ciphertext(t, out), ringV2(t, c.to[0].secArmor, fix.robot.pubArmor), fix.robot, c.cipher)
	}
}

func TestBodyEncoding(t *testing.T) {
	ja := "Acme PSIRT 御中\n\nJVNVU#12345678 の脆弱性について、製品への影響の有無をご回答ください。\n"
	en := "Please tell us whether your products are affected.\n"
	for _, tc := range []struct {
		name, body      string
		encrypted, sign string
	}{
		{"ascii", "Dear Acme PSIRT,\nplease answer by 2026-12-01.\n", "quoted-printable", "quoted-printable"},
		{"some japanese", sampleBody, "quoted-printable", "quoted-printable"},
		{"japanese", ja, "base64", "quoted-printable"},
		{"japanese then english", ja + strings.Repeat(en, 2), "base64", "quoted-printable"},
		{"english then a little japanese", strings.Repeat(en, 10) + ja, "quoted-printable", "quoted-printable"},
		{"from line", "From here on\n", "base64", "base64"},
		{"from line later", "Hello\nFrom here on\n", "base64", "base64"},
		{"equals signs", strings.Repeat("a=b ", 10), "base64", "quoted-printable"},
		{"empty", "", "quoted-printable", "quoted-printable"},
	} {
		if got := bodyEncoding(tc.body, true); got != tc.encrypted {
			t.Errorf("%s, encrypted: %s, want %s", tc.name, got, tc.encrypted)
		}
		if got := bodyEncoding(tc.body, false); got != tc.sign {
			t.Errorf("%s, signed only: %s, want %s", tc.name, got, tc.sign)
		}
	}
}

// A Japanese notice goes base64 inside the encryption, quoted-printable
// when only signed, and reads back the same either way.
func TestJapaneseBodyEncodings(t *testing.T) {
	fixtures(t)
	now := time.Now()
	m, _ := sampleMessage(t, now, false)
	m.Body = strings.Repeat("JVNVU#12345678 の脆弱性について、製品への影響の有無をご回答ください。\n", 5)
	robot, vendor := fix.goRobot25519, fix.beta
	out, err := Encrypt(m, robot.sec, []*openpgp.Entity{vendor.pub, robot.pub}, now)
	if err != nil {
		t.Fatal(err)
	}
	to := []*openpgp.Entity{vendor.pub, robot.pub}
	in := parseInner(t, decryptV2(t, ciphertext(t, out), ringV2(t, vendor.secArmor, robot.pubArmor), robot, wantCipher(to)))
	if enc := in.header.Get("Content-Transfer-Encoding"); enc != "base64" {
		t.Errorf("encrypted body encoding %s, want base64", enc)
	}
	if got := norm(in.text); got != norm(m.Body) {
		t.Errorf("encrypted body %q, want %q", got, m.Body)
	}

	m.ProtectedSubject = ""
	out, err = Sign(m, robot.sec, now)
	if err != nil {
		t.Fatal(err)
	}
	signed, _ := checkSigned(t, out)
	in = parseInner(t, signed)
	if enc := in.header.Get("Content-Transfer-Encoding"); enc != "quoted-printable" {
		t.Errorf("signed body encoding %s, want quoted-printable", enc)
	}
	if got := norm(in.text); got != norm(m.Body) {
		t.Errorf("signed body %q, want %q", got, m.Body)
	}
}
