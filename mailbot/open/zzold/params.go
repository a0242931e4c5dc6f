package zzold

import (
	"mime"
	"sort"
	"strconv"
	"strings"
)

// mediaType parses a Content-Type or Content-Disposition value. Real mail
// carries broken parameters (unclosed quotes, duplicates, RFC 2231 values in
// charsets the standard library skips), so a strict parse is completed by a
// lenient one instead of losing the boundary, charset or filename.
func (p *parser) mediaType(v string) (string, map[string]string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", map[string]string{}
	}
	mt, params, err := mime.ParseMediaType(v)
	lmt, lparams := p.lenientParams(v)
	if err != nil || mt == "" {
		mt, params = lmt, lparams
	} else {
		for k, val := range lparams {
			if _, ok := params[k]; !ok {
				params[k] = val
			}
		}
	}
	mt = strings.ToLower(mt)
	if params == nil {
		params = map[string]string{}
	}
	return mt, params
}

// lenientParams splits "type; k=v; k*=charset'lang'%xx; k*0=..." by hand.
func (p *parser) lenientParams(v string) (string, map[string]string) {
	segs := splitParams(v)
	mt := strings.ToLower(strings.TrimSpace(segs[0]))
	if strings.ContainsAny(mt, " \t\"=") {
		mt = ""
	}
	params := map[string]string{}
	type piece struct {
		idx int
		enc bool
		val string
	}
	cont := map[string][]piece{}
	for _, s := range segs[1:] {
		k, val, ok := strings.Cut(s, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		val = unquote(strings.TrimSpace(val))
		if k == "" {
			continue
		}
		// RFC 2231: name*=..., name*N=..., name*N*=...
		if base, rest, ok := strings.Cut(k, "*"); ok {
			pc := piece{val: val}
			switch {
			case rest == "":
				pc.enc = true
			case strings.HasSuffix(rest, "*"):
				pc.enc = true
				rest = strings.TrimSuffix(rest, "*")
				fallthrough
			default:
				n, err := strconv.Atoi(rest)
				if err != nil || n < 0 || n > 1000 {
					continue
				}
				pc.idx = n
			}
			cont[base] = append(cont[base], pc)
			continue
		}
		if _, dup := params[k]; !dup {
			params[k] = val
		}
	}
	for base, pcs := range cont {
		sort.SliceStable(pcs, func(i, j int) bool { return pcs[i].idx < pcs[j].idx })
		var cs string
		var b []byte
		for i, pc := range pcs {
			val := pc.val
			if pc.enc {
				if i == 0 {
					// charset'language'value
					if c, rest, ok := strings.Cut(val, "'"); ok {
						if _, rest2, ok := strings.Cut(rest, "'"); ok {
							cs, val = c, rest2
						}
					}
				}
				b = append(b, percentDecode(val)...)
			} else {
				b = append(b, val...)
			}
		}
		params[base] = p.convertHeaderBytes(b, cs)
	}
	return mt, params
}

// splitParams splits on semicolons outside double quotes.
func splitParams(v string) []string {
	var out []string
	inQuote, esc := false, false
	start := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case esc:
			esc = false
		case c == '\\' && inQuote:
			esc = true
		case c == '"':
			inQuote = !inQuote
		case c == ';' && !inQuote:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

func unquote(s string) string {
	if len(s) < 2 || s[0] != '"' {
		return strings.Trim(s, `"`)
	}
	s = strings.TrimSuffix(s[1:], `"`)
	var b strings.Builder
	esc := false
	for i := 0; i < len(s); i++ {
		if !esc && s[i] == '\\' {
			esc = true
			continue
		}
		esc = false
		b.WriteByte(s[i])
	}
	return b.String()
}

func percentDecode(s string) []byte {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if h, ok := unhex(s[i+1]); ok {
				if l, ok := unhex(s[i+2]); ok {
					b = append(b, h<<4|l)
					i += 2
					continue
				}
			}
		}
		b = append(b, s[i])
	}
	return b
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
