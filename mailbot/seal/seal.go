// Package seal writes outgoing mail as RFC 3156 PGP/MIME: signed and
// encrypted for the embargoed detail, signed only for notices that are never
// confidential.
//
// The real Subject travels inside the encryption as a protected header
// (draft-autocrypt-lamps-protected-headers, as Thunderbird writes it); the
// outer Subject is whatever the caller put in Message.Header, which must be
// the case ID and a neutral label only (SECURITY.md T9).
package seal

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-pgpmail"

	"github.com/coordbot/coordbot/mailbot/keys"
	"github.com/coordbot/coordbot/mailbot/notice"
)

// Attachment is a file carried inside the protected entity.
type Attachment struct {
	Filename    string
	ContentType string // "" = application/octet-stream
	Data        []byte
}

// Message is one notice to seal.
type Message struct {
	// Header holds the outer fields (From, To, Date, Message-ID,
	// In-Reply-To, References, Auto-Submitted, ...). Its Subject is the
	// outer one: "[CASE-ID] label", never the case title.
	Header mail.Header
	// ProtectedSubject is the real subject, shown by clients that read
	// protected headers; "" means the same as the outer Subject.
	ProtectedSubject string
	// Body is text/plain UTF-8, LF or CRLF line endings.
	Body string
	// Attachments go inside the encryption (or the signed part).
	Attachments []Attachment
}

// protectedFields are copied from the outer header into the inner one, in
// the order they are written. Subject is handled apart.
var protectedFields = []string{"From", "To", "Cc", "Reply-To", "Date", "Message-Id", "In-Reply-To", "References"}

// config is what every operation signs and encrypts with: SHA-256, AES-256,
// no compression, and no AEADConfig, so go-crypto writes a v3 PKESK and a
// SEIPD v1 packet with MDC, which gpg 2.2 reads (it rejects SEIPD v2).
// go-crypto still honours the recipients' cipher preferences, so a key that
// does not list AES-256 gets AES-128 (the RFC 4880 rule).
func config(now time.Time) *packet.Config {
	return &packet.Config{
		DefaultHash:            crypto.SHA256,
		DefaultCipher:          packet.CipherAES256,
		DefaultCompressionAlgo: packet.CompressionNone,
		Time:                   func() time.Time { return now },
	}
}

// Encrypt signs m with signer and encrypts it to every entity in to, as
// multipart/encrypted (RFC 3156 §4). Every recipient key is checked at now:
// a revoked or expired key, or one without an encryption subkey, is an
// error, never skipped. On error nothing is returned.
//
// The caller passes one vendor's keys (plus, if it wants its Sent copy
// readable, the robot's own key): several vendors in one message would tell
// each who else is on the case (T9).
func Encrypt(m *Message, signer *openpgp.Entity, to []*openpgp.Entity, now time.Time) ([]byte, error) {
	if m == nil {
		return nil, errors.New("seal: encrypt: no message")
	}
	if err := checkSigner(signer, now); err != nil {
		return nil, err
	}
	if len(to) == 0 {
		return nil, errors.New("seal: encrypt: no recipient key")
	}
	for i, e := range to {
		if e == nil || e.PrimaryKey == nil {
			return nil, fmt.Errorf("seal: encrypt: recipient key %d is empty", i)
		}
		if err := keys.Usable(e, now); err != nil {
			return nil, fmt.Errorf("seal: encrypt to %s: %w", keys.Fingerprint(e), err)
		}
	}
	inner, err := protectedEntity(m, true)
	if err != nil {
		return nil, err
	}

	// go-pgpmail writes the RFC 3156 framing (control part, armored
	// ciphertext with CRLF) and signs+encrypts with go-crypto. It knows
	// nothing of protected headers, so the inner entity, header and all, is
	// built here and passed through as the plaintext.
	var buf bytes.Buffer
	w, err := pgpmail.Encrypt(&buf, outerHeader(m.Header), to, signer, config(now))
	if err != nil {
		return nil, fmt.Errorf("seal: encrypt: %w", err)
	}
	if _, err := w.Write(inner); err != nil {
		w.Close()
		return nil, fmt.Errorf("seal: encrypt: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("seal: encrypt: %w", err)
	}
	return buf.Bytes(), nil
}

// Sign writes m as multipart/signed (RFC 3156 §5) with a detached
// signature over the exact CRLF bytes of the first part. It is for notices
// that are never confidential: the protected header block is written inside
// the signed part as well (so Subject, From, Date and Message-ID are covered
// by the signature), but nothing is hidden, ProtectedSubject included.
//
// This does not use pgpmail.Sign: v0.2.2 armors the signature as
// "PGP MESSAGE" instead of "PGP SIGNATURE", signs in text mode whatever it
// is given without canonicalising the part (a TODO in its writer), and takes
// micalg from the config rather than from the signature it made. Here the
// part is built in canonical form first, those exact bytes are signed
// (binary signature), and micalg is read back from the signature packet.
func Sign(m *Message, signer *openpgp.Entity, now time.Time) ([]byte, error) {
	if m == nil {
		return nil, errors.New("seal: sign: no message")
	}
	if err := checkSigner(signer, now); err != nil {
		return nil, err
	}
	part, err := protectedEntity(m, false)
	if err != nil {
		return nil, err
	}

	var sig bytes.Buffer
	if err := openpgp.DetachSign(&sig, signer, bytes.NewReader(part), config(now)); err != nil {
		return nil, fmt.Errorf("seal: sign: %w", err)
	}
	micalg, err := micalgOf(sig.Bytes())
	if err != nil {
		return nil, err
	}
	var arm bytes.Buffer
	aw, err := armor.Encode(&arm, openpgp.SignatureType, nil)
	if err != nil {
		return nil, fmt.Errorf("seal: sign: %w", err)
	}
	if _, err := aw.Write(sig.Bytes()); err != nil {
		return nil, fmt.Errorf("seal: sign: %w", err)
	}
	if err := aw.Close(); err != nil {
		return nil, fmt.Errorf("seal: sign: %w", err)
	}
	armored := toCRLF(arm.String()) + "\r\n"

	boundary, err := newBoundary(part)
	if err != nil {
		return nil, err
	}
	h := outerHeader(m.Header)
	h.Set("Content-Type", mime.FormatMediaType("multipart/signed", map[string]string{
		"boundary": boundary,
		"micalg":   micalg,
		"protocol": "application/pgp-signature",
	}))
	h.Set("Mime-Version", "1.0")

	// The framing is written by hand: the signed bytes must go out exactly
	// as signed, and the CRLF before each delimiter belongs to the delimiter
	// (RFC 2046 §5.1.1), not to the part.
	var out bytes.Buffer
	if err := textproto.WriteHeader(&out, h); err != nil {
		return nil, fmt.Errorf("seal: sign: header: %w", err)
	}
	out.WriteString("This is an OpenPGP/MIME signed message (RFC 3156).\r\n")
	out.WriteString("--" + boundary + "\r\n")
	out.Write(part)
	out.WriteString("\r\n--" + boundary + "\r\n")
	out.WriteString("Content-Type: application/pgp-signature; name=\"signature.asc\"\r\n")
	out.WriteString("Content-Description: OpenPGP digital signature\r\n")
	out.WriteString("Content-Disposition: attachment; filename=\"signature.asc\"\r\n\r\n")
	out.WriteString(armored)
	out.WriteString("\r\n--" + boundary + "--\r\n")
	return out.Bytes(), nil
}

// checkSigner refuses a signer that cannot make a signature at now. go-crypto
// would refuse too, but with a message that does not say which problem.
func checkSigner(e *openpgp.Entity, now time.Time) error {
	if e == nil || e.PrimaryKey == nil {
		return errors.New("seal: no signing key")
	}
	fp := keys.Fingerprint(e)
	if e.Revoked(now) {
		return fmt.Errorf("seal: sign with %s: %w", fp, keys.ErrRevoked)
	}
	if sig, _ := e.PrimarySelfSignature(); sig != nil && e.PrimaryKey.KeyExpired(sig, now) {
		return fmt.Errorf("seal: sign with %s: %w", fp, keys.ErrExpired)
	}
	k, ok := e.SigningKey(now)
	if !ok {
		return fmt.Errorf("seal: sign with %s: no usable signing key", fp)
	}
	if k.PrivateKey == nil {
		return fmt.Errorf("seal: sign with %s: no secret key", fp)
	}
	if k.PrivateKey.Encrypted {
		return fmt.Errorf("seal: sign with %s: secret key is locked", fp)
	}
	return nil
}

// outerHeader copies the caller's header without the fields that the MIME
// structure sets: a stray Content-Transfer-Encoding on a multipart would
// make clients mis-read it.
func outerHeader(h mail.Header) textproto.Header {
	out := h.Header.Header.Copy()
	for _, k := range []string{"Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "Mime-Version"} {
		out.Del(k)
	}
	return out
}

// protectedParam marks the entity's header as protected headers. It is
// quoted, as Thunderbird writes it: mime.FormatMediaType would leave the
// token bare, which a strict reader accepts and a naive matcher may not.
const protectedParam = `; protected-headers="v1"`

// protectedEntity builds the inner MIME entity in canonical form (CRLF, 7
// bit): multipart/mixed with the text and the attachments, or text/plain
// alone, its Content-Type carrying protected-headers="v1" and its header
// the protected fields. encrypted says it goes inside the encryption (see
// bodyEncoding).
func protectedEntity(m *Message, encrypted bool) ([]byte, error) {
	if !utf8.ValidString(m.Body) {
		return nil, errors.New("seal: body is not valid UTF-8")
	}
	subject := notice.OneLine(m.ProtectedSubject)
	if subject == "" {
		s, err := m.Header.Subject()
		if err != nil {
			return nil, fmt.Errorf("seal: outer subject: %w", err)
		}
		subject = notice.OneLine(s)
	}

	var h textproto.Header
	// go-message writes fields in reverse order of adding: add the last
	// first so that Content-Type leads, as Thunderbird writes it.
	for i := len(protectedFields) - 1; i >= 0; i-- {
		vs := m.Header.Values(protectedFields[i])
		for j := len(vs) - 1; j >= 0; j-- {
			h.Add(protectedFields[i], vs[j])
		}
	}
	if subject != "" {
		h.Add("Subject", mime.QEncoding.Encode("utf-8", subject))
	}

	enc := bodyEncoding(m.Body, encrypted)
	var buf bytes.Buffer
	if len(m.Attachments) == 0 {
		textHeader(&h, enc, true)
		if err := textproto.WriteHeader(&buf, h); err != nil {
			return nil, fmt.Errorf("seal: protected header: %w", err)
		}
		if err := encodeBody(&buf, enc, m.Body); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}

	mw := textproto.NewMultipartWriter(&buf)
	h.Add("Content-Type", mime.FormatMediaType("multipart/mixed", map[string]string{
		"boundary": mw.Boundary(),
	})+protectedParam)
	if err := textproto.WriteHeader(&buf, h); err != nil {
		return nil, fmt.Errorf("seal: protected header: %w", err)
	}
	var th textproto.Header
	textHeader(&th, enc, false)
	pw, err := mw.CreatePart(th)
	if err != nil {
		return nil, fmt.Errorf("seal: body: %w", err)
	}
	if err := encodeBody(pw, enc, m.Body); err != nil {
		return nil, err
	}
	for _, a := range m.Attachments {
		ah, err := attachmentHeader(a)
		if err != nil {
			return nil, err
		}
		pw, err := mw.CreatePart(ah)
		if err != nil {
			return nil, fmt.Errorf("seal: attachment %q: %w", a.Filename, err)
		}
		if _, err := io.WriteString(pw, base64Lines(a.Data)); err != nil {
			return nil, fmt.Errorf("seal: attachment %q: %w", a.Filename, err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("seal: body: %w", err)
	}
	return buf.Bytes(), nil
}

// textHeader adds the text part's type and encoding (Content-Type ends up
// written first).
func textHeader(h *textproto.Header, enc string, protected bool) {
	ct := mime.FormatMediaType("text/plain", map[string]string{"charset": "utf-8"})
	if protected {
		ct += protectedParam
	}
	h.Add("Content-Transfer-Encoding", enc)
	h.Add("Content-Type", ct)
}

// bodyEncoding picks quoted-printable, readable in any client and in the
// raw message, unless a line starts with "From ": mbox-style transports
// rewrite that to ">From " and break the signature (RFC 3156 §3), and Go's
// quoted-printable writer does not escape it, so such bodies go as base64.
// Inside the encryption, where nothing is read raw, base64 is also taken
// where quoted-printable would be the longer: it turns every byte of a
// kana or kanji into three, so a Japanese notice grows by half again, and
// every byte more is hashed, encrypted, armored and carried. A signed-only
// notice keeps quoted-printable: its text stays legible, and searchable,
// in the message as it travels.
func bodyEncoding(body string, encrypted bool) string {
	if strings.HasPrefix(body, "From ") || strings.Contains(body, "\nFrom ") {
		return "base64"
	}
	if !encrypted {
		return "quoted-printable"
	}
	escaped := 0
	for i := 0; i < len(body); i++ {
		if c := body[i]; c >= 0x80 || c == '=' || c < ' ' && c != '\n' && c != '\r' && c != '\t' {
			escaped++
		}
	}
	// An escaped byte takes three characters; base64 takes 4/3 for any.
	if 3*2*escaped > len(body) {
		return "base64"
	}
	return "quoted-printable"
}

func encodeBody(w io.Writer, enc, body string) error {
	body = toCRLF(body)
	if enc == "base64" {
		if _, err := io.WriteString(w, base64Lines([]byte(body))); err != nil {
			return fmt.Errorf("seal: body: %w", err)
		}
		return nil
	}
	qw := quotedprintable.NewWriter(w)
	if _, err := io.WriteString(qw, body); err != nil {
		return fmt.Errorf("seal: body: %w", err)
	}
	if err := qw.Close(); err != nil {
		return fmt.Errorf("seal: body: %w", err)
	}
	return nil
}

func attachmentHeader(a Attachment) (textproto.Header, error) {
	var h textproto.Header
	name := notice.OneLine(a.Filename)
	ct := a.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return h, fmt.Errorf("seal: attachment %q: content type %q: %w", name, ct, err)
	}
	if strings.HasPrefix(mt, "multipart/") || strings.HasPrefix(mt, "message/") {
		// These cannot be base64 encoded (RFC 2045 §6.4).
		return h, fmt.Errorf("seal: attachment %q: content type %s not allowed", name, mt)
	}
	delete(params, "name")
	if name != "" {
		params["name"] = name
	}
	disp := "attachment"
	if name != "" {
		disp = mime.FormatMediaType("attachment", map[string]string{"filename": name})
	}
	h.Add("Content-Transfer-Encoding", "base64")
	h.Add("Content-Disposition", disp)
	h.Add("Content-Type", mime.FormatMediaType(mt, params))
	if h.Get("Content-Type") == "" || h.Get("Content-Disposition") == "" {
		return h, fmt.Errorf("seal: attachment %q: cannot format its header", name)
	}
	return h, nil
}

// base64Lines encodes data as base64 in 76-character CRLF lines.
func base64Lines(data []byte) string {
	s := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	b.Grow(len(s) + len(s)/76*2 + 2)
	for len(s) > 76 {
		b.WriteString(s[:76])
		b.WriteString("\r\n")
		s = s[76:]
	}
	if s != "" {
		b.WriteString(s)
		b.WriteString("\r\n")
	}
	return b.String()
}

func toCRLF(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

// micalgOf names the hash of a detached signature for the micalg
// parameter (RFC 3156 §5), from the packet itself.
func micalgOf(sig []byte) (string, error) {
	p, err := packet.Read(bytes.NewReader(sig))
	if err != nil {
		return "", fmt.Errorf("seal: sign: read back signature: %w", err)
	}
	s, ok := p.(*packet.Signature)
	if !ok {
		return "", fmt.Errorf("seal: sign: read back %T, want a signature", p)
	}
	switch s.Hash {
	case crypto.SHA256:
		return "pgp-sha256", nil
	case crypto.SHA384:
		return "pgp-sha384", nil
	case crypto.SHA512:
		return "pgp-sha512", nil
	case crypto.SHA3_256:
		return "pgp-sha3-256", nil
	case crypto.SHA3_512:
		return "pgp-sha3-512", nil
	}
	return "", fmt.Errorf("seal: sign: no micalg for hash %v", s.Hash)
}

// newBoundary returns a multipart boundary that does not occur in part.
func newBoundary(part []byte) (string, error) {
	for range 8 {
		var b [15]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("seal: boundary: %w", err)
		}
		s := "=_coordbot_" + hex.EncodeToString(b[:])
		if !bytes.Contains(part, []byte(s)) {
			return s, nil
		}
	}
	return "", errors.New("seal: no free multipart boundary")
}
