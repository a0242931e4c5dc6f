package zzold

import (
	"bytes"
	"encoding/base64"
	"strings"
)

// transferDecode undoes a Content-Transfer-Encoding. The decoders are
// lenient and total: damaged input yields the readable part and a defect,
// never an error, because the answer the robot needs is usually intact.
func (p *parser) transferDecode(cte string, b []byte) []byte {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		out, clean := decodeBase64(b)
		if !clean {
			p.defect("damaged base64")
		}
		return out
	case "quoted-printable":
		return decodeQP(b)
	case "", "7bit", "8bit", "binary":
		return b
	default:
		p.defect("unknown transfer encoding")
		return b
	}
}

// decodeBase64 decodes every run of base64 alphabet between padding or the
// end: this also reads concatenated padded chunks and missing padding. Other
// bytes are skipped; clean is false if there were any besides whitespace.
func decodeBase64(b []byte) (out []byte, clean bool) {
	out = make([]byte, 0, len(b)/4*3+3)
	seg := make([]byte, 0, 1024)
	clean = true
	flush := func() {
		if len(seg)%4 == 1 {
			// A single leftover character carries no whole byte.
			seg = seg[:len(seg)-1]
			clean = false
		}
		n := len(out)
		out = out[:n+base64.RawStdEncoding.DecodedLen(len(seg))]
		if _, err := base64.RawStdEncoding.Decode(out[n:], seg); err != nil {
			clean = false
			out = out[:n]
		}
		seg = seg[:0]
	}
	for _, c := range b {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '+', c == '/':
			seg = append(seg, c)
		case c == '=':
			if len(seg) > 0 {
				flush()
			}
		case c == ' ', c == '\t', c == '\r', c == '\n':
		default:
			clean = false
		}
	}
	if len(seg) > 0 {
		flush()
	}
	return out, clean
}

// decodeQP decodes quoted-printable (RFC 2045 §6.7): "=XX" escapes, "="
// soft line breaks, transport padding removed; an "=" that starts no valid
// escape is kept as is, like most clients do.
func decodeQP(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		line := b
		eol := []byte(nil)
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
			eol = []byte("\n")
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
				eol = []byte("\r\n")
			}
		} else {
			b = nil
		}
		line = bytes.TrimRight(line, " \t")
		if len(line) > 0 && line[len(line)-1] == '=' {
			line = line[:len(line)-1]
			eol = nil
		}
		for i := 0; i < len(line); i++ {
			c := line[i]
			if c == '=' && i+2 < len(line) {
				if h, ok := unhex(line[i+1]); ok {
					if l, ok := unhex(line[i+2]); ok {
						out = append(out, h<<4|l)
						i += 2
						continue
					}
				}
			}
			out = append(out, c)
		}
		out = append(out, eol...)
	}
	return out
}
