package registry

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// tomlKeys are the keys of a [[vendor]] table.
var tomlKeys = []string{"id", "name", "registration", "manager", "lang", "emails", "public_emails",
	"key_file", "keywords", "postal", "phone"}

// ParseTOML reads [[vendor]] tables:
//
//	[[vendor]]
//	id = "acme"
//	name = "ACME 株式会社"
//	emails = ["psirt@acme.example"]
//	keywords = ["tls", "http"]     # or "tls, http"
//
// emails and public_emails take an array or a string; keywords too. A
// string is read like a CSV cell (addresses separated by ';', keywords by
// ',' or ';'). Other keys take a string. Unknown keys are errors. Records
// are normalised (see Normalize) and validated; on any problem the result
// is nil and the error lists every problem.
func ParseTOML(data []byte) ([]Record, error) {
	data = trimBOM(data)
	var file map[string]any
	_, err := toml.Decode(string(data), &file)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) && pe.Position.Line > 0 {
			return nil, fmt.Errorf("line %d: %s", pe.Position.Line, pe.Message)
		}
		return nil, fmt.Errorf("toml: %w", err)
	}
	lines := tomlScan(string(data))

	var errs []*FieldError
	for k := range file {
		if k != "vendor" {
			e := fieldErr("", "", "unknown key %q: the file holds [[vendor]] tables only", k)
			e.place(lines.top[k], "toml")
			errs = append(errs, e)
		}
	}
	var tables []map[string]any
	switch v := file["vendor"].(type) {
	case nil:
	case []map[string]any:
		tables = v
	case []any:
		for _, t := range v {
			m, ok := t.(map[string]any)
			if !ok {
				e := fieldErr("", "", "vendor must be [[vendor]] tables")
				e.place(lines.top["vendor"], "toml")
				return nil, e
			}
			tables = append(tables, m)
		}
	default:
		e := fieldErr("", "", "vendor must be [[vendor]] tables, with two brackets")
		e.place(lines.top["vendor"], "toml")
		return nil, e
	}

	// Line numbers come from our own scan of the file: the toml package
	// keeps key positions private. If the scan and the decoder disagree on
	// the number of tables, errors name the table by its index instead.
	blocks := lines.vendors
	if len(blocks) != len(tables) {
		blocks = nil
	}
	recs := make([]Record, len(tables))
	srcs := make([]source, len(tables))
	for i, t := range tables {
		src := source{label: fmt.Sprintf("vendor %d", i+1)}
		if blocks != nil {
			b := blocks[i]
			src.line = b.line
			src.field = b.find
		}
		srcs[i] = src
		r, perr := tomlRecord(t)
		for _, e := range perr {
			line := 0
			if src.field != nil {
				line = src.field(e.Field, e.value)
			}
			if line == 0 {
				line = src.line
			}
			e.place(line, src.label)
			errs = append(errs, e)
		}
		recs[i] = r
	}
	return checkAll(recs, srcs, errs)
}

func tomlRecord(t map[string]any) (Record, []*FieldError) {
	var r Record
	var errs []*FieldError
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := t[k]
		str := func() string {
			s, ok := v.(string)
			if !ok {
				errs = append(errs, fieldErr(k, "", "%s: must be a string", k))
			}
			return s
		}
		list := func(seps string) []string {
			switch v := v.(type) {
			case string:
				return splitCell(v, seps)
			case []any:
				var out []string
				for _, x := range v {
					s, ok := x.(string)
					if !ok {
						errs = append(errs, fieldErr(k, "", "%s: must be strings", k))
						return nil
					}
					out = append(out, splitCell(s, seps)...)
				}
				return out
			}
			errs = append(errs, fieldErr(k, "", "%s: must be an array of strings or a string", k))
			return nil
		}
		switch k {
		case "id":
			r.ID = str()
		case "name":
			r.Name = str()
		case "registration":
			r.Registration = str()
		case "manager":
			r.Manager = str()
		case "lang":
			r.Lang = str()
		case "postal":
			r.Postal = str()
		case "phone":
			r.Phone = str()
		case "key_file":
			r.KeyFile = str()
		case "emails":
			r.Emails = list(emailSeps)
		case "public_emails":
			r.PublicEmails = list(emailSeps)
		case "keywords":
			r.Keywords = list(keywordSeps)
		default:
			errs = append(errs, fieldErr(k, "", "unknown key %q (known: %s)", k, strings.Join(tomlKeys, ", ")))
		}
	}
	return r, errs
}

func trimBOM(b []byte) []byte {
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		return b[3:]
	}
	return b
}

// tomlLines is what tomlScan found: the line of each top-level key and of
// each [[vendor]] table with its keys.
type tomlLines struct {
	top     map[string]int
	vendors []*tomlBlock
}

type tomlBlock struct {
	line int
	keys map[string]int // key -> line
	text []string       // the table's lines, indexed from line
}

// find returns the line of a key of the table, or of the line within that
// key's value that holds value (an address in a multi-line array), or 0.
func (b *tomlBlock) find(key, value string) int {
	at, ok := b.keys[key]
	if !ok {
		return 0
	}
	if value == "" {
		return at
	}
	end := b.line + len(b.text)
	for _, l := range b.keys {
		if l > at && l < end {
			end = l
		}
	}
	// Values were normalised (addresses lower-cased): compare likewise.
	value = strings.ToLower(value)
	for l := at; l < end; l++ {
		if strings.Contains(strings.ToLower(b.text[l-b.line]), value) {
			return l
		}
	}
	return at
}

// tomlScan finds table headers and keys in a file the toml package has
// already accepted, so it only needs to skip strings, comments and the
// inside of arrays and inline tables. It never fails; what it does not
// understand simply has no line.
func tomlScan(src string) tomlLines {
	out := tomlLines{top: map[string]int{}}
	var cur *tomlBlock
	inTop := true
	sealed := false // inside a sub-table of the current [[vendor]]
	const (
		normal = iota
		mlBasic
		mlLiteral
	)
	state, depth := normal, 0
	all := strings.Split(src, "\n")
	for n, line := range all {
		lineNo := n + 1
		if cur != nil {
			cur.text = append(cur.text, line)
		}
		i := 0
		if state == normal && depth == 0 {
			t := strings.TrimLeft(line, " \t")
			switch {
			case strings.HasPrefix(t, "[["):
				name := tableName(t[2:], "]]")
				inTop = false
				cur = nil
				sealed = false
				if name == "vendor" {
					cur = &tomlBlock{line: lineNo, keys: map[string]int{}, text: []string{line}}
					out.vendors = append(out.vendors, cur)
				} else if k := strings.SplitN(name, ".", 2)[0]; k != "" && out.top[k] == 0 {
					out.top[k] = lineNo
				}
				continue
			case strings.HasPrefix(t, "["):
				inTop = false
				name := tableName(t[1:], "]")
				if sub, ok := strings.CutPrefix(name, "vendor."); ok && cur != nil {
					// [vendor.x] belongs to the last [[vendor]]: x is one of
					// its keys; the keys under it are not.
					if k := strings.SplitN(sub, ".", 2)[0]; cur.keys[k] == 0 {
						cur.keys[k] = lineNo
					}
					sealed = true
					continue
				}
				cur = nil
				if k := strings.SplitN(name, ".", 2)[0]; k != "" && out.top[k] == 0 {
					out.top[k] = lineNo
				}
				continue
			default:
				if k, rest := keyOf(t); k != "" {
					switch {
					case sealed:
					case cur != nil:
						if cur.keys[k] == 0 {
							cur.keys[k] = lineNo
						}
					case inTop:
						if out.top[k] == 0 {
							out.top[k] = lineNo
						}
					}
					i = len(line) - len(rest)
				}
			}
		}
		state, depth = scanLine(line[i:], state, depth)
	}
	return out
}

// scanLine follows strings, comments and brackets through one line.
func scanLine(s string, state, depth int) (int, int) {
	const (
		normal = iota
		mlBasic
		mlLiteral
	)
	for i := 0; i < len(s); i++ {
		switch state {
		case mlBasic:
			if s[i] == '\\' {
				i++
			} else if strings.HasPrefix(s[i:], `"""`) {
				state = normal
				i += 2
				for i+1 < len(s) && s[i+1] == '"' { // up to two quotes may end the content
					i++
				}
			}
			continue
		case mlLiteral:
			if strings.HasPrefix(s[i:], "'''") {
				state = normal
				i += 2
				for i+1 < len(s) && s[i+1] == '\'' {
					i++
				}
			}
			continue
		}
		switch c := s[i]; c {
		case '#':
			return state, depth
		case '"', '\'':
			if strings.HasPrefix(s[i:], strings.Repeat(string(c), 3)) {
				if c == '"' {
					state = mlBasic
				} else {
					state = mlLiteral
				}
				i += 2
				continue
			}
			for i++; i < len(s) && s[i] != c; i++ {
				if c == '"' && s[i] == '\\' {
					i++
				}
			}
		case '[', '{':
			depth++
		case ']', '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return state, depth
}

// tableName reads a header's name up to end: `vendor]]`, ` "vendor" ]]`.
func tableName(s, end string) string {
	i := strings.Index(s, end)
	if i < 0 {
		return ""
	}
	var parts []string
	for _, p := range strings.Split(s[:i], ".") {
		parts = append(parts, strings.Trim(strings.TrimSpace(p), `"'`))
	}
	return strings.Join(parts, ".")
}

// keyOf returns the first part of the key of a "key = value" line, and the
// text after the "=".
func keyOf(t string) (string, string) {
	var key string
	i := 0
	switch {
	case t == "":
		return "", ""
	case t[0] == '"' || t[0] == '\'':
		j := strings.IndexByte(t[1:], t[0])
		if j < 0 {
			return "", ""
		}
		key, i = t[1:1+j], j+2
	default:
		for i < len(t) && (isAlnum(t[i]) || 'A' <= t[i] && t[i] <= 'Z' || t[i] == '_' || t[i] == '-') {
			i++
		}
		key = t[:i]
	}
	if key == "" {
		return "", ""
	}
	// A dotted key: its first part is what the table holds.
	for i < len(t) && t[i] != '=' {
		i++
	}
	if i == len(t) {
		return "", ""
	}
	return key, t[i+1:]
}
