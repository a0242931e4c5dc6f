package open

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	"github.com/emersion/go-message/textproto"
)

// isPGPEncrypted reports an RFC 3156 encrypted multipart. A missing
// protocol is accepted: some clients drop it, and the content decides.
func isPGPEncrypted(mt string, params map[string]string) bool {
	proto := strings.ToLower(strings.TrimSpace(params["protocol"]))
	return mt == "multipart/encrypted" && (proto == "" || proto == "application/pgp-encrypted")
}

// isPGPSigned reports an RFC 3156 signed multipart (S/MIME is not ours).
func isPGPSigned(mt string, params map[string]string) bool {
	return mt == "multipart/signed" &&
		strings.EqualFold(strings.TrimSpace(params["protocol"]), "application/pgp-signature")
}

// entity reads the root of the message or of a decrypted payload: the only
// entities whose PGP/MIME structure is honoured. Below the root, an
// encrypted part is never decrypted (T2) and a signed part proves nothing
// about the message (T3); walk deals with those.
func (p *parser) entity(h textproto.Header, body []byte, depth int) error {
	if err := p.count(depth); err != nil {
		return err
	}
	mt, params := p.mediaType(h.Get("Content-Type"))
	switch {
	case isPGPEncrypted(mt, params) && !p.decrypted:
		return p.encryptedRoot(body, params, depth)
	case isPGPSigned(mt, params):
		return p.signedRoot(h, body, params, depth)
	}
	return p.visit(h, bytes.NewReader(body), depth, nil)
}

// encryptedRoot decrypts a top-level multipart/encrypted (RFC 3156 §4) and
// reads the plaintext as the message. Nothing outside the ciphertext is
// kept: text next to it could be anyone's (T2).
func (p *parser) encryptedRoot(body []byte, params map[string]string, depth int) error {
	b := params["boundary"]
	if b == "" || len(b) > maxBoundary {
		return fmt.Errorf("open: %w: encrypted message without usable boundary", ErrMalformed)
	}
	// The parts are slices of body, not copies: the ciphertext of a large
	// message is not held twice.
	parts, closed := rawParts(body, b, p.lim.MaxParts+1)
	if !closed {
		p.defect("truncated or broken multipart")
	}
	var ciphertext []byte
	found := false
	for _, raw := range parts {
		if err := p.count(depth + 1); err != nil {
			return err
		}
		ph, pbody, err := splitHeader(raw)
		if err != nil {
			p.defect("truncated or broken multipart")
			continue
		}
		mt, _ := p.mediaType(ph.Get("Content-Type"))
		if err := p.spend(len(pbody)); err != nil {
			return err
		}
		data := p.transferDecode(ph.Get("Content-Transfer-Encoding"), pbody)
		switch {
		case mt == "application/pgp-encrypted":
			// The control part ("Version: 1") carries nothing we need.
		case !found && (mt == "application/octet-stream" || bytes.Contains(data, []byte("-----BEGIN PGP MESSAGE-----"))):
			ciphertext, found = data, true
		default:
			p.defect("unprotected part outside the encryption dropped")
		}
	}
	if !found {
		return fmt.Errorf("open: %w: encrypted message without ciphertext", ErrMalformed)
	}
	o, err := p.openMessage(ciphertext)
	if err != nil {
		return err
	}
	if !o.encrypted {
		// Signed-only data dressed as encrypted: it must not pass for
		// content that came out of decryption.
		return fmt.Errorf("open: %w: encrypted part is not encrypted", ErrMalformed)
	}
	if err := p.spend(len(o.plain)); err != nil {
		return err
	}
	p.m.Encrypted, p.m.DecryptedWith = true, o.decryptedWith
	p.decrypted = true
	// A signature inside the OpenPGP message (gpg --sign --encrypt,
	// Thunderbird) covers the whole plaintext: the root.
	p.setSig(o.sig)

	h, inner, err := splitHeader(o.plain)
	if err != nil {
		// RFC 3156 wants a MIME entity; a bare text is read as one.
		h, inner = textproto.Header{}, o.plain
		p.defect("decrypted content without mime header")
	}
	p.protectedCandidate(h, true)
	return p.entity(h, inner, depth+1)
}

// signedRoot verifies a multipart/signed at the root (RFC 3156 §5) over the
// exact bytes of its first part, then reads that part as the message.
func (p *parser) signedRoot(h textproto.Header, body []byte, params map[string]string, depth int) error {
	b := params["boundary"]
	parts := [][]byte(nil)
	if b != "" && len(b) <= maxBoundary {
		parts, _ = rawParts(body, b, 3)
	}
	if len(parts) < 2 {
		p.defect("unreadable signed structure")
		p.setSig(sigResult{status: SigBad})
		return p.visit(h, bytes.NewReader(body), depth, nil)
	}
	if len(parts) > 2 {
		// RFC 3156 has exactly two; more would be text the signature
		// does not cover.
		p.defect("unsigned part dropped")
	}
	if err := p.count(depth + 1); err != nil { // the signature part
		return err
	}
	sh, sbody, err := splitHeader(parts[1])
	sigData := []byte(nil)
	if err == nil {
		sigData = p.transferDecode(sh.Get("Content-Transfer-Encoding"), sbody)
	}
	res := sigResult{status: SigBad}
	if in, err := p.dearmor(sigData, "PGP SIGNATURE"); err == nil && len(sigData) > 0 {
		res = p.verifyDetached(canonicalCRLF(parts[0]), in)
	}
	p.setSig(res)

	fh, fbody, err := splitHeader(parts[0])
	if err != nil {
		fh, fbody = textproto.Header{}, parts[0]
		p.defect("unreadable header in signed part")
	}
	if p.decrypted {
		p.protectedCandidate(fh, true)
	}
	return p.walk(fh, bytes.NewReader(fbody), depth+1, &container{subtype: "signed"})
}

// rawParts returns the raw bytes of up to max parts of a multipart body.
// RFC 2046 §5.1.1: the line break before a delimiter belongs to the
// delimiter, and a delimiter line may end in white space.
func rawParts(body []byte, boundary string, max int) (parts [][]byte, closed bool) {
	delim := []byte("--" + boundary)
	start := -1
	for pos := 0; pos < len(body); {
		next := len(body)
		line := body[pos:]
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line, next = line[:i], pos+i+1
		}
		if bytes.HasPrefix(line, delim) {
			rest := bytes.TrimRight(line[len(delim):], " \t\r")
			isClose := bytes.Equal(rest, []byte("--"))
			if len(rest) == 0 || isClose {
				if start >= 0 {
					end := pos
					if end > start && body[end-1] == '\n' {
						end--
						if end > start && body[end-1] == '\r' {
							end--
						}
					}
					parts = append(parts, body[start:end])
					if len(parts) >= max {
						return parts, false
					}
				}
				if isClose {
					return parts, true
				}
				start = next
			}
		}
		pos = next
	}
	if start >= 0 {
		parts = append(parts, body[start:])
	}
	return parts, false
}

// canonicalCRLF gives every line a CRLF end, as the signer hashed it: mail
// stored with bare LF (Maildir, mbox) must still verify.
func canonicalCRLF(b []byte) []byte {
	if bytes.Count(b, []byte("\n")) == bytes.Count(b, []byte("\r\n")) {
		return b // already canonical: no copy
	}
	out := make([]byte, 0, len(b)+bytes.Count(b, []byte("\n")))
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

// protectedHeaders are header fields found inside the encryption
// (draft-autocrypt-lamps-protected-headers, as Thunderbird and Enigmail
// write them).
type protectedHeaders struct {
	h      textproto.Header
	legacy bool // from a "legacy display" part: used only if nothing better
}

// protectedCandidate considers the header of an entity inside the
// encryption. root is set for the decrypted root and the signed part just
// below it: those carry protected fields even without the parameter.
func (p *parser) protectedCandidate(h textproto.Header, root bool) {
	if p.protected != nil && !p.protected.legacy {
		return
	}
	_, params := p.mediaType(h.Get("Content-Type"))
	if (root || strings.EqualFold(params["protected-headers"], "v1")) && hasProtected(h) {
		p.protected = &protectedHeaders{h: h}
	}
}

func hasProtected(h textproto.Header) bool {
	return h.Has("Subject") || h.Has("In-Reply-To") || h.Has("References") || h.Has("From")
}

// protectedLegacy reads a text/rfc822-headers (or text/plain) part marked
// protected-headers="v1": a copy of the protected fields for old clients.
// It reports whether the part was such a copy.
func (p *parser) protectedLegacy(data []byte) bool {
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(append(bytes.TrimLeft(data, "\r\n"), "\r\n\r\n"...))))
	if err != nil || !hasProtected(h) {
		return false
	}
	if p.protected == nil {
		p.protected = &protectedHeaders{h: h, legacy: true}
	}
	return true
}

// finishPGP applies what the whole walk found: protected headers (only
// from inside the encryption) and a signature below an unsigned root.
func (p *parser) finishPGP() {
	m := p.m
	if ph := p.protected; ph != nil && m.Encrypted {
		h := ph.h
		// Subject, In-Reply-To and References are what clients hide;
		// From stays the envelope's, which the server authenticated.
		if h.Has("Subject") {
			if s := p.headerText(h.Get("Subject")); s != m.Subject {
				m.OuterSubject, m.Subject = m.Subject, s
			}
		}
		if h.Has("In-Reply-To") {
			m.InReplyTo = nil
			for _, v := range h.Values("In-Reply-To") {
				m.InReplyTo = append(m.InReplyTo, msgIDs(v)...)
			}
			if len(m.InReplyTo) > maxIDs {
				m.InReplyTo = m.InReplyTo[:maxIDs]
			}
		}
		if h.Has("References") {
			m.References = msgIDs(h.Get("References"))
		}
		if from, _ := p.addressList(h.Values("From")); len(from) > 0 && from[0].Addr != m.From.Addr {
			p.defect("protected from differs from envelope from")
		}
	}
	if p.nestedSig && m.Signature == SigNone {
		m.Signature = SigPartial
	}
}
