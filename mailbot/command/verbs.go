package command

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/coordbot/coordbot/mailbot/caseid"
)

// statuses a coordinator may set (guideline §6-2, §6-4).
var statuses = []string{
	"info-provided", "affected", "affected-investigating", "not-affected", "not-affected-investigating",
}

// cancelReasons are the arguments of "cancel".
var cancelReasons = []string{"known", "no-impact", "users-notified"}

// usage is the synopsis of each verb, given with argument errors.
var usage = map[string]string{
	"case":                    "case ID",
	"case new":                "case new TITLE...",
	"preview":                 "preview",
	"keywords":                "keywords K1,K2...",
	"vendors suggest":         "vendors suggest",
	"vendor add":              "vendor add VENDOR...",
	"notify overview":         "notify overview VENDOR...|all",
	"notify detail":           "notify detail VENDOR...|all",
	"status":                  "status VENDOR STATUS [COMMENT...]",
	"date":                    "date 2027-01-15T11:00+09:00",
	"lead":                    "lead TEXT...",
	"share approve":           "share approve VENDOR ADDRESS",
	"customer-notice approve": "customer-notice approve VENDOR",
	"priority-notify":         "priority-notify",
	"unreachable advance":     "unreachable VENDOR advance",
	"remind":                  "remind VENDOR...|all",
	"publish":                 "publish",
	"cancel":                  "cancel known|no-impact|users-notified",
	"close":                   "close",
	"note":                    "note TEXT...",
}

func usageErr(verb string) string { return "usage: #coordbot " + usage[verb] }

// parseLine reads one command line.
func parseLine(src srcLine, prefix string) Line {
	raw := trim(src.s)
	l := Line{No: src.no, Raw: clip(raw)}
	if len(raw) > MaxLineBytes {
		l.Err = fmt.Sprintf("command line longer than %d bytes", MaxLineBytes)
		return l
	}
	// Skip the #coordbot token.
	sc := scanner{s: raw}
	if _, _, err := sc.next(); err != nil {
		l.Err = err.Error() // not reached: the token is #coordbot
		return l
	}
	w, ok, err := sc.next()
	switch {
	case err != nil:
		l.Err = err.Error()
		return l
	case !ok:
		l.Err = "no verb after #coordbot"
		return l
	}
	p := &lineParser{l: &l, sc: &sc, prefix: prefix}
	p.verb(fold(w))
	return l
}

type lineParser struct {
	l      *Line
	sc     *scanner
	prefix string
}

func (p *lineParser) fail(format string, a ...any) {
	if p.l.Err == "" {
		p.l.Err = fmt.Sprintf(format, a...)
	}
}

// second reads the second word of a two-word verb.
func (p *lineParser) second(first string, want ...string) (string, bool) {
	w, _, err := p.sc.next()
	if err != nil {
		p.fail("%v", err)
		return "", false
	}
	w = fold(w) // "" at the end of the line: no match
	for _, x := range want {
		if w == x {
			return w, true
		}
	}
	p.fail("%s: expected %s", first, strings.Join(want, " or "))
	return "", false
}

// args reads all remaining tokens.
func (p *lineParser) args() ([]string, bool) {
	a, err := p.sc.all()
	if err != nil {
		p.fail("%v", err)
		return nil, false
	}
	return a, true
}

// exactly reads n more tokens and nothing else.
func (p *lineParser) exactly(n int) ([]string, bool) {
	a, ok := p.args()
	if ok && len(a) != n {
		p.fail("%s", usageErr(p.l.Verb))
		return nil, false
	}
	return a, ok
}

func (p *lineParser) verb(w string) {
	l := p.l
	switch w {
	case "case":
		l.Verb = "case"
		id, ok, err := p.sc.next()
		switch {
		case err != nil:
			p.fail("%v", err)
		case !ok:
			p.fail("usage: #coordbot case ID | #coordbot case new TITLE...")
		case fold(id) == "new":
			l.Verb = "case new"
			if l.Text = p.sc.text(); l.Text == "" {
				p.fail("case new needs a title")
			}
		default:
			if _, ok := p.exactly(0); !ok {
				return
			}
			if c, ok := p.caseID(id); ok {
				l.Args = []string{c}
			}
		}
	case "preview", "priority-notify", "publish", "close":
		l.Verb = w
		p.exactly(0)
	case "keywords":
		l.Verb = w
		if l.Args = keywords(p.sc.text()); l.Args == nil {
			p.fail("%s", usageErr(w))
		}
	case "vendors":
		if _, ok := p.second(w, "suggest"); ok {
			l.Verb = "vendors suggest"
			p.exactly(0)
		}
	case "vendor":
		if _, ok := p.second(w, "add"); ok {
			l.Verb = "vendor add"
			l.Args, _ = p.vendors(false)
		}
	case "notify":
		if s, ok := p.second(w, "overview", "detail"); ok {
			l.Verb = "notify " + s
			l.Args, _ = p.vendors(true)
		}
	case "remind":
		l.Verb = w
		l.Args, _ = p.vendors(true)
	case "status":
		l.Verb = w
		v, ok1 := p.token()
		s, ok2 := p.token()
		if !ok1 || !ok2 {
			return
		}
		l.Text = p.sc.text()
		vendor, ok1 := p.vendor(v)
		status, ok2 := p.oneOf("status", s, statuses)
		if ok1 && ok2 {
			l.Args = []string{vendor, status}
		}
	case "date":
		l.Verb = w
		a, ok := p.exactly(1)
		if !ok {
			return
		}
		d := foldWidth(a[0])
		t, needsZone, err := parseDate(d)
		if err != nil {
			p.fail("bad date %s: want RFC 3339, e.g. 2027-01-15T11:00+09:00", show(a[0]))
			return
		}
		l.Args, l.Time, l.NeedsZone = []string{d}, t, needsZone
	case "lead", "note":
		l.Verb = w
		if l.Text = p.sc.text(); l.Text == "" {
			p.fail("%s", usageErr(w))
		}
	case "share":
		if _, ok := p.second(w, "approve"); ok {
			l.Verb = "share approve"
			a, ok := p.exactly(2)
			if !ok {
				return
			}
			vendor, ok1 := p.vendor(a[0])
			addr, ok2 := p.address(a[1])
			if ok1 && ok2 {
				l.Args = []string{vendor, addr}
			}
		}
	case "customer-notice":
		if _, ok := p.second(w, "approve"); ok {
			l.Verb = "customer-notice approve"
			if a, ok := p.exactly(1); ok {
				if vendor, ok := p.vendor(a[0]); ok {
					l.Args = []string{vendor}
				}
			}
		}
	case "unreachable":
		l.Verb = "unreachable advance"
		a, ok := p.exactly(2)
		if !ok {
			return
		}
		if fold(a[1]) != "advance" {
			p.fail("%s", usageErr(l.Verb))
			return
		}
		if vendor, ok := p.vendor(a[0]); ok {
			l.Args = []string{vendor}
		}
	case "cancel":
		l.Verb = w
		if a, ok := p.exactly(1); ok {
			if r, ok := p.oneOf("reason", a[0], cancelReasons); ok {
				l.Args = []string{r}
			}
		}
	default:
		p.fail("unknown verb %s", show(w))
	}
	if l.Err != "" {
		l.Args, l.Text = nil, ""
	}
}

// token reads one required token.
func (p *lineParser) token() (string, bool) {
	t, ok, err := p.sc.next()
	switch {
	case err != nil:
		p.fail("%v", err)
	case !ok:
		p.fail("%s", usageErr(p.l.Verb))
	}
	return t, ok && err == nil
}

func (p *lineParser) oneOf(what, s string, list []string) (string, bool) {
	f := fold(s)
	for _, x := range list {
		if f == x {
			return x, true
		}
	}
	p.fail("bad %s %s: want %s", what, show(s), strings.Join(list, " | "))
	return "", false
}

func (p *lineParser) caseID(s string) (string, bool) {
	s = strings.TrimFunc(s, func(r rune) bool { return strings.ContainsRune("[]【】()（）<>〈〉「」", r) })
	id, ok := caseid.Find(s, p.prefix)
	// Find looks inside a subject; here the token must be the ID and no more.
	if !ok || utf8Len(s) != utf8Len(p.prefix)+caseid.Digits {
		p.fail("bad case ID %s: want %s followed by %d digits", show(s), p.prefix, caseid.Digits)
		return "", false
	}
	return id, true
}

func utf8Len(s string) int { return utf8.RuneCountInString(s) }

// vendor checks one vendor id (a slug, as the desk stores them).
func (p *lineParser) vendor(s string) (string, bool) {
	v := fold(s)
	if v == "all" {
		p.fail("name one vendor here, not all")
		return "", false
	}
	if !isSlug(v) {
		p.fail("bad vendor id %s: 1 to 64 of a-z 0-9 . _ -", show(s))
		return "", false
	}
	return v, true
}

// vendors reads a list of vendor ids (spaces or commas between them), or
// "all" alone when all is allowed.
func (p *lineParser) vendors(all bool) ([]string, bool) {
	a, ok := p.args()
	if !ok {
		return nil, false
	}
	var out []string
	seen := map[string]bool{}
	for _, t := range a {
		for _, s := range strings.Split(foldWidth(t), ",") {
			if s == "" {
				continue
			}
			if all && fold(s) == "all" {
				out = append(out, "all")
				continue
			}
			v, ok := p.vendor(s)
			if !ok {
				return nil, false
			}
			if seen[v] {
				p.fail("vendor %s named twice", v)
				return nil, false
			}
			seen[v] = true
			out = append(out, v)
		}
	}
	switch {
	case len(out) == 0:
		p.fail("%s", usageErr(p.l.Verb))
		return nil, false
	case len(out) > 1 && containsAll(out):
		p.fail("all stands alone")
		return nil, false
	}
	return out, true
}

func containsAll(list []string) bool {
	for _, s := range list {
		if s == "all" {
			return true
		}
	}
	return false
}

func isSlug(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// keywords splits a comma list (ASCII, full-width or ideographic commas;
// a keyword may hold spaces or be quoted); it returns nil if any keyword is
// empty.
func keywords(s string) []string {
	s = strings.NewReplacer("，", ",", "、", ",").Replace(s)
	var out []string
	for _, k := range strings.Split(s, ",") {
		sc := scanner{s: k}
		if k = sc.text(); k == "" {
			return nil
		}
		out = append(out, k)
	}
	return out
}

// address checks a bare mail address (no display name, a dotted domain:
// the detail goes there, a typo must not pass).
func (p *lineParser) address(s string) (string, bool) {
	a := strings.TrimSuffix(strings.TrimPrefix(foldWidth(s), "<"), ">")
	parsed, err := mail.ParseAddress(a)
	at := strings.LastIndexByte(a, '@')
	if err != nil || parsed.Name != "" || parsed.Address != a || at < 1 ||
		!strings.Contains(a[at+1:], ".") || strings.HasSuffix(a, ".") {
		p.fail("bad mail address %s", show(s))
		return "", false
	}
	return a, true
}

// dateRE is RFC 3339 with optional seconds and optional zone; time.Parse
// alone would take one-digit hours.
var dateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-](\d{2}):(\d{2}))?$`)

// parseDate reads a date; without a zone the wall clock is returned in UTC
// and needsZone is set.
func parseDate(s string) (t time.Time, needsZone bool, err error) {
	m := dateRE.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, false, fmt.Errorf("not RFC 3339")
	}
	if m[4] != "" && (m[4] > "23" || m[5] > "59") {
		return time.Time{}, false, fmt.Errorf("bad zone offset")
	}
	layout := "2006-01-02T15:04"
	if m[1] != "" {
		layout += ":05"
	}
	s = strings.ToUpper(s)
	if m[3] == "" {
		t, err = time.ParseInLocation(layout, s, time.UTC)
		return t, true, err
	}
	t, err = time.Parse(layout+"Z07:00", s)
	return t, false, err
}
