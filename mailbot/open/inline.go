package open

import (
	"bytes"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
)

// Armor lines of inline PGP. They count only at the start of a line: a
// quoted block ("> -----BEGIN ...") is someone else's text.
var (
	beginMessage = []byte("-----BEGIN PGP MESSAGE-----")
	endMessage   = []byte("-----END PGP MESSAGE-----")
	beginSigned  = []byte("-----BEGIN PGP SIGNED MESSAGE-----")
	beginKey     = []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----")
	endKey       = []byte("-----END PGP PUBLIC KEY BLOCK-----")
)

// Bounds on Message.Keys.
const (
	maxKeys     = 8
	maxKeyBytes = 1 << 20
)

// lineIndex finds marker at the start of a line of b, from offset from.
func lineIndex(b, marker []byte, from int) int {
	for from <= len(b) {
		i := bytes.Index(b[from:], marker)
		if i < 0 {
			return -1
		}
		i += from
		if i == 0 || b[i-1] == '\n' {
			return i
		}
		from = i + 1
	}
	return -1
}

// lineEnd returns the offset just past the line break of the line at i.
func lineEnd(b []byte, i int) int {
	if j := bytes.IndexByte(b[i:], '\n'); j >= 0 {
		return i + j + 1
	}
	return len(b)
}

func blank(b []byte) bool {
	return len(bytes.TrimSpace(b)) == 0
}

// bodyText turns the body text part into UTF-8. In the part that is the
// whole (decrypted) message, inline PGP is opened: a clearsigned block is
// verified over its bytes in the part's own charset (signers sign what
// they send, ISO-2022-JP or Shift_JIS included) and an armored message is
// decrypted and/or verified.
func (p *parser) bodyText(data []byte, params map[string]string, root bool) (string, error) {
	cs := params["charset"]
	plain := func(b []byte) string {
		s := p.decodeText(b, cs)
		if strings.EqualFold(params["format"], "flowed") {
			s = unflow(s, strings.EqualFold(params["delsp"], "yes"))
		}
		return s
	}
	msg, signed := lineIndex(data, beginMessage, 0), lineIndex(data, beginSigned, 0)
	switch {
	case msg < 0 && signed < 0:
		return plain(data), nil
	case msg >= 0 && (signed < 0 || msg < signed):
		if !root || p.decrypted {
			p.defect("nested encrypted part ignored")
			return plain(data), nil
		}
		return p.inlineMessage(data, msg, cs)
	}
	if !root {
		p.nestedSig = true
		return plain(data), nil
	}
	s, ok := p.clearsigned(data, signed, plain)
	if !ok {
		return plain(data), nil
	}
	return s, nil
}

// clearsigned verifies the clearsigned block at start. Text around it means
// the signature covers only part of what the reader sees: SigPartial, and
// the body is read as plain text.
func (p *parser) clearsigned(data []byte, start int, plain func([]byte) string) (string, bool) {
	var b *clearsign.Block
	var rest []byte
	_ = guard(func() error {
		b, rest = clearsign.Decode(data[start:])
		return nil
	})
	if b == nil || b.ArmoredSignature == nil {
		p.defect("unreadable clearsigned block")
		p.setSig(sigResult{status: SigBad})
		return "", false
	}
	if !blank(data[:start]) || !blank(rest) {
		p.setSig(sigResult{status: SigPartial})
		return "", false
	}
	p.setSig(p.verifyDetached(b.Bytes, b.ArmoredSignature.Body))
	return plain(b.Plaintext), true
}

// inlineMessage opens an armored OpenPGP message in the body. Only what
// came out of it is kept (never mix, T2): text around the block is dropped,
// and a signature inside it no longer covers all the sender wrote.
func (p *parser) inlineMessage(data []byte, start int, cs string) (string, error) {
	end := len(data)
	if i := lineIndex(data, endMessage, start); i >= 0 {
		end = lineEnd(data, i)
	}
	o, err := p.openMessage(data[start:end])
	if err != nil {
		return "", err
	}
	outside := !blank(data[:start]) || !blank(data[end:])
	if o.encrypted {
		p.m.Encrypted, p.m.DecryptedWith = true, o.decryptedWith
		if outside {
			p.defect("unprotected text outside the encrypted block dropped")
		}
	} else if outside {
		p.defect("unsigned text outside the signed block dropped")
	}
	var s string
	if i := lineIndex(o.plain, beginSigned, 0); i >= 0 && o.sig.status == SigNone {
		// Clearsigned, then encrypted: the signature is inside.
		var ok bool
		s, ok = p.clearsigned(o.plain, i, func(b []byte) string { return p.decodePlain(b, cs) })
		if !ok {
			s = p.decodePlain(o.plain, cs)
		}
	} else {
		s = p.decodePlain(o.plain, cs)
		p.setSig(o.sig)
	}
	if outside && p.m.Signature != SigNone {
		p.m.Signature = SigPartial
		p.m.SignedBy, p.m.SignatureID, p.m.SignedAt = "", "", time.Time{}
	}
	return s, nil
}

// decodePlain decodes decrypted inline text: the part's charset was chosen
// for the armor, so it is a hint only, and the sender's tool may have
// encrypted UTF-8 or ISO-2022-JP whatever the label.
func (p *parser) decodePlain(b []byte, cs string) string {
	if hasJISEscape(b) {
		cs = "iso-2022-jp"
	}
	s, ok := decodeBytes(b, cs)
	if ok {
		return s
	}
	if s2, ok := decodeBytes(b, ""); ok {
		return s2
	}
	p.m.CharsetProblem = true
	return s
}

// findKeys collects armored public keys from key attachments and text, so
// that a vendor can send its key by mail for a coordinator to confirm.
// mayHoldKeys tells which parts findKeys reads.
func mayHoldKeys(mt, filename string) bool {
	return mt == "application/pgp-keys" || strings.HasPrefix(mt, "text/") ||
		(mt == "application/octet-stream" && strings.HasSuffix(strings.ToLower(filename), ".asc"))
}

func (p *parser) findKeys(mt, filename string, data []byte) {
	if !mayHoldKeys(mt, filename) {
		return
	}
	found := false
	for from := 0; ; {
		i := lineIndex(data, beginKey, from)
		if i < 0 {
			break
		}
		j := lineIndex(data, endKey, i)
		if j < 0 {
			break
		}
		end := j + len(endKey)
		p.addKey(data[i:end])
		found, from = true, end
	}
	if !found && mt == "application/pgp-keys" && isPublicKeyPacket(data) {
		// A binary key (some clients attach it so): armor it like the rest.
		if len(data) > maxKeyBytes {
			p.defect("keys beyond the limit ignored")
			return
		}
		var buf bytes.Buffer
		w, err := armor.Encode(&buf, "PGP PUBLIC KEY BLOCK", nil)
		if err == nil {
			w.Write(data)
			if w.Close() == nil {
				p.addKey(buf.Bytes())
			}
		}
	}
}

// isPublicKeyPacket reports data starting with a public-key packet (tag 6),
// never a secret key someone attached by mistake.
func isPublicKeyPacket(data []byte) bool {
	if len(data) == 0 || data[0]&0x80 == 0 {
		return false
	}
	if data[0]&0x40 != 0 {
		return data[0]&0x3f == 6
	}
	return (data[0]&0x3c)>>2 == 6
}

func (p *parser) addKey(block []byte) {
	k := strings.TrimSpace(strings.ReplaceAll(string(block), "\r\n", "\n")) + "\n"
	for _, x := range p.m.Keys {
		if x == k {
			return
		}
	}
	if len(p.m.Keys) >= maxKeys || p.keyBytes+len(k) > maxKeyBytes {
		p.defect("keys beyond the limit ignored")
		return
	}
	p.m.Keys = append(p.m.Keys, k)
	p.keyBytes += len(k)
}
