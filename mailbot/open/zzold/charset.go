package zzold

import (
	"bytes"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/unicode"
)

// japaneseAliases completes go-message's charset table (IANA + WHATWG names)
// with the labels Japanese mailers really send and it does not know: cp932,
// eucjp, the ISO-2022-JP-* variants. Variants decode with the base table; a
// character outside it becomes U+FFFD rather than losing the message.
var japaneseAliases = map[string]encoding.Encoding{
	"cp932":          japanese.ShiftJIS,
	"ms932":          japanese.ShiftJIS,
	"windows-31j":    japanese.ShiftJIS,
	"cswindows31j":   japanese.ShiftJIS,
	"x-ms-cp932":     japanese.ShiftJIS,
	"x-sjis":         japanese.ShiftJIS,
	"sjis":           japanese.ShiftJIS,
	"shift-jis":      japanese.ShiftJIS,
	"shift_jis":      japanese.ShiftJIS,
	"x-shift_jis":    japanese.ShiftJIS,
	"sjis-win":       japanese.ShiftJIS,
	"sjis-open":      japanese.ShiftJIS,
	"shift_jisx0213": japanese.ShiftJIS,
	"shift_jis-2004": japanese.ShiftJIS,
	"csshiftjis":     japanese.ShiftJIS,
	"ms_kanji":       japanese.ShiftJIS,

	"euc-jp":              japanese.EUCJP,
	"eucjp":               japanese.EUCJP,
	"x-euc-jp":            japanese.EUCJP,
	"euc_jp":              japanese.EUCJP,
	"ujis":                japanese.EUCJP,
	"euc-jp-ms":           japanese.EUCJP,
	"eucjp-ms":            japanese.EUCJP,
	"eucjp-win":           japanese.EUCJP,
	"eucjp-open":          japanese.EUCJP,
	"euc-jisx0213":        japanese.EUCJP,
	"euc-jis-2004":        japanese.EUCJP,
	"cseucpkdfmtjapanese": japanese.EUCJP,
	"extended_unix_code_packed_format_for_japanese": japanese.EUCJP,

	"iso-2022-jp":         japanese.ISO2022JP,
	"iso2022jp":           japanese.ISO2022JP,
	"iso-2022-jp-1":       japanese.ISO2022JP,
	"iso-2022-jp-2":       japanese.ISO2022JP,
	"iso-2022-jp-3":       japanese.ISO2022JP,
	"iso-2022-jp-2004":    japanese.ISO2022JP,
	"iso-2022-jp-ms":      japanese.ISO2022JP,
	"csiso2022jp":         japanese.ISO2022JP,
	"csiso2022jp2":        japanese.ISO2022JP,
	"cp50220":             japanese.ISO2022JP,
	"cp50221":             japanese.ISO2022JP,
	"cp50222":             japanese.ISO2022JP,
	"x-windows-iso2022jp": japanese.ISO2022JP,

	"utf8":              unicode.UTF8,
	"x-utf_8j":          unicode.UTF8,
	"unicode-1-1-utf-8": unicode.UTF8,
}

// isASCIILabel reports labels that promise plain ASCII (or say nothing).
func isASCIILabel(cs string) bool {
	switch cs {
	case "", "us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us", "us", "csascii":
		return true
	}
	return false
}

// convert decodes b from the named charset to UTF-8. known is false when the
// label is not one we can decode.
func convert(cs string, b []byte) (out []byte, known bool) {
	cs = strings.ToLower(strings.Trim(strings.TrimSpace(cs), `"'`))
	if cs == "utf-8" {
		return b, true
	}
	if enc, ok := japaneseAliases[cs]; ok {
		out, err := enc.NewDecoder().Bytes(b)
		return out, err == nil
	}
	r, err := charset.Reader(cs, bytes.NewReader(b))
	if err != nil {
		return nil, false
	}
	out, err = io.ReadAll(r)
	return out, err == nil
}

// hasJISEscape reports ISO-2022-JP escape sequences: Japanese text that
// arrives unlabelled or mislabelled is still recognisable by them.
func hasJISEscape(b []byte) bool {
	return bytes.Contains(b, []byte("\x1b$B")) || bytes.Contains(b, []byte("\x1b$@")) ||
		bytes.Contains(b, []byte("\x1b(J")) || bytes.Contains(b, []byte("\x1b(I"))
}

// decodeText turns a text part into UTF-8 and records when it had to guess.
func (p *parser) decodeText(b []byte, cs string) string {
	s, ok := decodeBytes(b, cs)
	if !ok {
		p.m.CharsetProblem = true
	}
	return s
}

// decodeBytes is decodeText without the bookkeeping; ok is false when the
// result is a guess or lost characters.
func decodeBytes(b []byte, cs string) (string, bool) {
	lc := strings.ToLower(strings.Trim(strings.TrimSpace(cs), `"'`))
	if isASCIILabel(lc) {
		if hasJISEscape(b) {
			out, _ := japanese.ISO2022JP.NewDecoder().Bytes(b)
			return checked(out)
		}
		if utf8.Valid(b) {
			// 8-bit UTF-8 labelled as ASCII is common and harmless.
			return string(b), true
		}
		return guessJapanese(b), false
	}
	out, known := convert(lc, b)
	if known {
		return checked(out)
	}
	// Unknown label: keep the message readable rather than refuse it.
	switch {
	case hasJISEscape(b):
		out, _ = japanese.ISO2022JP.NewDecoder().Bytes(b)
		s, _ := checked(out)
		return s, false
	case utf8.Valid(b):
		return string(b), false
	}
	return guessJapanese(b), false
}

// checked makes out valid UTF-8; ok is false when anything was replaced.
func checked(out []byte) (string, bool) {
	if !utf8.Valid(out) {
		return strings.ToValidUTF8(string(out), "\uFFFD"), false
	}
	return string(out), !bytes.Contains(out, []byte("\uFFFD"))
}

// guessJapanese decodes unlabelled 8-bit text as Shift_JIS or EUC-JP when one
// of them reads it without error (the usual culprits in Japanese mail), and
// otherwise keeps the bytes with U+FFFD for what is not UTF-8.
func guessJapanese(b []byte) string {
	best, bestScore := "", -1
	for _, enc := range []encoding.Encoding{japanese.ShiftJIS, japanese.EUCJP} {
		out, err := enc.NewDecoder().Bytes(b)
		if err != nil || !utf8.Valid(out) || bytes.Contains(out, []byte("\uFFFD")) {
			continue
		}
		// Half-width katakana is rare in real text and is what the wrong
		// one of the two usually produces.
		score := 0
		for _, r := range string(out) {
			if r >= 0xFF61 && r <= 0xFF9F {
				score++
			}
		}
		if bestScore < 0 || score < bestScore {
			best, bestScore = string(out), score
		}
	}
	if bestScore >= 0 {
		return best
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// wordCharset is the CharsetReader for RFC 2047 words: an unknown charset
// yields the raw bytes (fixed up later) instead of failing the whole field.
func (p *parser) wordCharset(cs string, input io.Reader) (io.Reader, error) {
	b, err := io.ReadAll(input)
	if err != nil {
		return nil, err
	}
	s, ok := decodeBytes(b, cs)
	if !ok {
		p.m.CharsetProblem = true
	}
	return strings.NewReader(s), nil
}

// convertHeaderBytes decodes an RFC 2231 parameter value.
func (p *parser) convertHeaderBytes(b []byte, cs string) string {
	if cs == "" {
		cs = "utf-8"
	}
	s, ok := decodeBytes(b, cs)
	if !ok {
		p.m.CharsetProblem = true
	}
	return s
}

// headerText decodes an unstructured header value (Subject, display names,
// filenames) to one line of UTF-8: RFC 2047 words, raw ISO-2022-JP or raw
// 8-bit Japanese left unencoded by old clients, no control characters (a CR
// or LF from a stranger must never reach a header we write, SECURITY T11).
func (p *parser) headerText(v string) string {
	if v == "" {
		return ""
	}
	dec := mime.WordDecoder{CharsetReader: p.wordCharset}
	s, err := dec.DecodeHeader(v)
	if err != nil {
		s = v
		p.m.CharsetProblem = true
	}
	// Raw ISO-2022-JP is only decoded when the field is otherwise ASCII: mixed
	// with decoded words it would turn their UTF-8 into U+FFFD.
	if (hasJISEscape([]byte(s)) && isASCII(s)) || !utf8.ValidString(s) {
		var ok bool
		s, ok = decodeBytes([]byte(s), "")
		if !ok {
			p.m.CharsetProblem = true
		}
	}
	return oneLine(s)
}

// oneLine drops control characters and turns tabs into spaces.
func oneLine(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		switch {
		case r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029:
			return -1
		}
		return r
	}, s))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
