// Package export renders the public advisory of a case (guideline §6-4,
// Fig. 1 and Fig. 2) as JVN-style Markdown and HTML, as a CSAF 2.0 document
// and as plain JSON.
//
// It is pure: no I/O and no clock; every time comes in the Advisory, so the
// same input always gives the same bytes (golden files rely on it).
//
// Only vendors that received the detail are public (§6-4: the vendor table
// lists "「脆弱性詳細情報」を通知した製品開発者"); the others are left out of
// every format, the JSON one included, because even their names are not
// meant to be published.
//
// Vendor text (name, comment, URL) is untrusted: it is cleaned of control
// and bidi characters, escaped for each format, never parsed as a template,
// and a URL becomes a link only when it is a well-formed http(s) URL.
package export

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Advisory is what a case publishes.
type Advisory struct {
	// ID is required; an empty Title falls back to the ID.
	ID, Title string
	// Overview is the public overview text (plain, may be multi-line).
	Overview string
	// Impact is the optional public impact text (想定される影響).
	Impact string
	// Lead is the foreign coordinator leading the case (§4-6), e.g.
	// "CERT/CC VU#123456", or "".
	Lead string
	// State is the case state: draft|active|scheduled|published|closed|
	// cancelled; "" means published when Published is set, else draft.
	State string
	// Published and Updated are zero while the case is unpublished.
	Published, Updated time.Time
	// Location is the zone dates are shown in; nil means Asia/Tokyo.
	Location *time.Location
	// Vendors in the order to show them.
	Vendors []Vendor
	// Timeline is an optional history (Fig. 6 style "YYYY/MM/DD：text").
	Timeline []Entry
	// Generator names the program, e.g. "coordbot dev".
	Generator string
	// Publisher and Namespace identify the issuing desk in CSAF
	// (document.publisher.name and .namespace, a URL it controls).
	// Defaults: "coordbot" and "https://coordbot.invalid/": set them from
	// the configuration for anything that leaves the desk.
	Publisher, Namespace string
}

// Vendor is one vendor's public part in the case.
type Vendor struct {
	ID, Name string
	// ReceivedDetail: only vendors that received the detail are public (§6-4).
	ReceivedDetail bool
	// Status is info-provided | affected | affected-investigating |
	// not-affected | not-affected-investigating; "" means info-provided,
	// the guideline's default display.
	Status string
	// Comment and URL are vendor-supplied: untrusted text.
	Comment, URL string
	// Updated is the last status change.
	Updated time.Time
}

// Entry is one line of the timeline.
type Entry struct {
	Time time.Time
	Text string
}

// Public statuses (§6-2, §6-4); the same strings as the store's.
const (
	StatusInfoProvided             = "info-provided"
	StatusAffected                 = "affected"
	StatusAffectedInvestigating    = "affected-investigating"
	StatusNotAffected              = "not-affected"
	StatusNotAffectedInvestigating = "not-affected-investigating"
)

// StatusJA is the guideline's wording of each status (§6-4 table).
var StatusJA = map[string]string{
	StatusInfoProvided:             "脆弱性情報提供済み",
	StatusAffected:                 "該当製品あり",
	StatusAffectedInvestigating:    "該当製品あり：調査中",
	StatusNotAffected:              "該当製品なし",
	StatusNotAffectedInvestigating: "該当製品なし：調査中",
}

// Case states (DESIGN §2).
const (
	stateDraft     = "draft"
	stateActive    = "active"
	stateScheduled = "scheduled"
	statePublished = "published"
	stateClosed    = "closed"
	stateCancelled = "cancelled"
)

var knownStates = map[string]bool{
	stateDraft: true, stateActive: true, stateScheduled: true,
	statePublished: true, stateClosed: true, stateCancelled: true,
}

// jst is Asia/Tokyo without reading the zoneinfo database (no I/O): Japan
// has kept UTC+9 without daylight saving since 1951.
var jst = time.FixedZone("JST", 9*60*60)

const (
	defaultPublisher = "coordbot"
	defaultNamespace = "https://coordbot.invalid/"
)

// doc is the advisory after validation and cleaning: what every format
// renders, so that they all agree on which vendors and which text.
type doc struct {
	id, title, overview, impact, lead, state, generator string
	publisher, namespace                                string
	loc                                                 *time.Location
	published                                           time.Time
	// lastUpdate is the latest change after publication (advisory,
	// timeline or vendor status, §6-5); equal to published when nothing
	// changed since, zero while unpublished.
	lastUpdate time.Time
	vendors    []vendor
	timeline   []Entry
	// all holds every time in the input, for a draft CSAF's only date.
	all []time.Time
}

type vendor struct {
	id, name, status, comment, url string
	// anchor is the id made safe for HTML ids, fragments and CSAF.
	anchor string
	// href is the link target, "" when url is not a well-formed http(s) URL.
	href    string
	updated time.Time
}

func (v vendor) statusJA() string  { return StatusJA[v.status] }
func (v vendor) productID() string { return "CSAFPID-" + v.anchor }

// isPublic reports whether the advisory has been published: only then are
// dates shown and CSAF revisions numbered from 1.
func (d *doc) isPublic() bool { return d.state == statePublished || d.state == stateClosed }

func prepare(a *Advisory) (*doc, error) {
	if a == nil {
		return nil, errors.New("export: no advisory")
	}
	d := &doc{
		id:        oneLine(a.ID),
		title:     oneLine(a.Title),
		overview:  cleanText(a.Overview),
		impact:    cleanText(a.Impact),
		lead:      oneLine(a.Lead),
		state:     strings.TrimSpace(a.State),
		generator: oneLine(a.Generator),
		publisher: oneLine(a.Publisher),
		namespace: strings.TrimSpace(a.Namespace),
		loc:       a.Location,
		published: a.Published,
	}
	if d.id == "" {
		return nil, errors.New("export: advisory has no ID")
	}
	if d.title == "" {
		d.title = d.id // CSAF needs a title; the ID is the next best name
	}
	if d.state == "" {
		// Infer from the date: Published is zero exactly while unpublished.
		d.state = stateDraft
		if !d.published.IsZero() {
			d.state = statePublished
		}
	}
	if !knownStates[d.state] {
		return nil, fmt.Errorf("export: %s: unknown state %q", d.id, a.State)
	}
	if d.loc == nil {
		d.loc = jst
	}
	if d.publisher == "" {
		d.publisher = defaultPublisher
	}
	if d.namespace == "" {
		d.namespace = defaultNamespace
	}
	if u, err := url.Parse(d.namespace); err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("export: %s: publisher namespace %q is not an absolute URL", d.id, a.Namespace)
	}
	if d.isPublic() && d.published.IsZero() {
		return nil, fmt.Errorf("export: %s: state %s without a publication date", d.id, d.state)
	}

	seen := map[string]bool{}
	for _, in := range a.Vendors {
		if !in.ReceivedDetail {
			continue // §6-4: not public
		}
		v := vendor{
			id:      strings.TrimSpace(in.ID),
			name:    oneLine(in.Name),
			status:  strings.TrimSpace(in.Status),
			comment: cleanText(in.Comment),
			url:     oneLine(in.URL),
			updated: in.Updated,
		}
		if v.id == "" {
			return nil, fmt.Errorf("export: %s: vendor %q has no ID", d.id, v.name)
		}
		if seen[v.id] {
			return nil, fmt.Errorf("export: %s: vendor %q listed twice", d.id, v.id)
		}
		seen[v.id] = true
		if v.status == "" {
			v.status = StatusInfoProvided // §6-4: the default display
		}
		if _, ok := StatusJA[v.status]; !ok {
			// Publishing a guess would misstate a vendor's position.
			return nil, fmt.Errorf("export: %s: vendor %q: unknown status %q", d.id, v.id, in.Status)
		}
		if v.name == "" {
			v.name = v.id
		}
		v.anchor = anchor(v.id)
		v.href, _ = linkURL(v.url)
		d.vendors = append(d.vendors, v)
		d.all = append(d.all, v.updated)
	}

	for _, e := range a.Timeline {
		d.timeline = append(d.timeline, Entry{Time: e.Time, Text: oneLine(e.Text)})
		d.all = append(d.all, e.Time)
	}
	// History reads oldest first whatever order the caller kept.
	sort.SliceStable(d.timeline, func(i, j int) bool { return d.timeline[i].Time.Before(d.timeline[j].Time) })
	d.all = append(d.all, a.Published, a.Updated)

	if !d.published.IsZero() {
		d.lastUpdate = d.published
		later := func(t time.Time) {
			if t.After(d.lastUpdate) {
				d.lastUpdate = t
			}
		}
		later(a.Updated)
		for _, e := range d.timeline {
			later(e.Time)
		}
		for _, v := range d.vendors {
			later(v.updated) // §6-5: a status change updates the page
		}
	}
	return d, nil
}

// latest is the newest time in the input, zero when there is none.
func (d *doc) latest() time.Time {
	var t time.Time
	for _, x := range d.all {
		if x.After(t) {
			t = x
		}
	}
	return t
}

// date is the display form of a day, as in Fig. 6 ("YYYY/MM/DD").
func (d *doc) date(t time.Time) string { return t.In(d.loc).Format("2006/01/02") }

// stamp is RFC 3339 in the advisory's zone.
func (d *doc) stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(d.loc).Format(time.RFC3339)
}

// stateNoteJA says, for an unpublished export, that it is not the public
// page, so that a preview is never mistaken for it.
func (d *doc) stateNoteJA() string {
	switch d.state {
	case stateDraft, stateActive, stateScheduled:
		return "未公表：この文書は公表前の確認用です（公表日時まで第三者に開示しないでください）。"
	case stateCancelled:
		return "公表は中止されました。"
	}
	return ""
}

// cleanText makes untrusted text safe to measure and show: valid UTF-8,
// "\n" line ends, no control characters (tab becomes a space), no bidi
// embedding/override/isolate controls (they can make a comment display as
// something else, "Trojan Source"), no trailing blanks.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case r == '\r':
			if i < len(s) && s[i] == '\n' {
				i++
			}
			b.WriteByte('\n')
		case r == '\n', r == '\v', r == '\f', r == 0x85, r == 0x2028, r == 0x2029:
			b.WriteByte('\n')
		case r == '\t':
			b.WriteByte(' ')
		case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0xfeff:
		default:
			b.WriteRune(r)
		}
	}
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \u3000")
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// oneLine is cleanText for fields that are a single line (names, titles).
func oneLine(s string) string {
	return strings.Join(strings.Fields(cleanText(s)), " ")
}

// lines splits cleaned text; no text gives no lines.
func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// paragraphs splits cleaned text at blank lines.
func paragraphs(s string) [][]string {
	var out [][]string
	var cur []string
	for _, l := range lines(s) {
		if strings.TrimSpace(l) == "" {
			if cur != nil {
				out = append(out, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, l)
	}
	if cur != nil {
		out = append(out, cur)
	}
	return out
}

// anchor maps a vendor ID to [A-Za-z0-9.-] with every other byte written as
// _XX. The mapping is one-to-one, so distinct vendors never share an HTML
// id or a CSAF product ID, and it depends on the ID alone, so product IDs
// stay the same from one export to the next.
func anchor(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "_%02X", c)
	}
	return b.String()
}

// linkURL returns the address to link to when raw is a well-formed absolute
// http or https URL, rewritten to plain ASCII with every character that any
// output format could read as syntax ('|', '(', ')', '<', '"', '\',
// non-ASCII...) percent-encoded. Anything else (javascript:, data:, relative
// or malformed addresses, blanks inside, user:password@ tricks) gives
// ok == false and is shown as text only.
func linkURL(raw string) (href string, ok bool) {
	s := strings.TrimSpace(raw)
	var scheme, rest string
	switch {
	case hasPrefixFold(s, "http://"):
		scheme, rest = "http", s[len("http://"):]
	case hasPrefixFold(s, "https://"):
		scheme, rest = "https", s[len("https://"):]
	default:
		return "", false
	}
	for _, r := range s {
		// A blank inside means text around the URL, not part of it.
		if r <= ' ' || r == 0x7f || r >= 0x80 && r < 0xa0 || r == utf8.RuneError || unicode.IsSpace(r) {
			return "", false
		}
	}
	if _, err := url.Parse(s); err != nil {
		return "", false // e.g. a bad port or IPv6 literal
	}
	auth := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		auth, rest = rest[:i], rest[i:]
	} else {
		rest = ""
	}
	host := auth
	if strings.HasPrefix(host, "[") {
		if i := strings.IndexByte(host, ']'); i > 0 {
			host = host[:i+1]
		}
	} else if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	if host == "" || host == "[]" {
		return "", false
	}
	if port := auth[len(host):]; port != "" {
		// url.Parse checks the digits, not the range.
		n, err := strconv.Atoi(strings.TrimPrefix(port, ":"))
		if err != nil || n < 1 || n > 65535 {
			return "", false
		}
	}
	for _, r := range auth {
		// No '@': a userinfo part lets "https://jvn.jp@evil.example/"
		// read as one site and lead to another.
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '-' || r == '.' || r == ':' || r == '[' || r == ']' || r == '%' || r >= 0x80) {
			return "", false
		}
	}
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteString("://")
	pctEncode(&b, auth, "-.:[]", false)
	pctEncode(&b, rest, "-._~:/?#@!$&'*+,;=", true)
	return b.String(), true
}

// pctEncode writes s with bytes outside ASCII letters, digits and keep
// percent-encoded; a '%' that starts a valid escape is kept as it is. With
// oneHash, only the first '#' (the fragment delimiter) is kept.
func pctEncode(b *strings.Builder, s, keep string, oneHash bool) {
	const hex = "0123456789ABCDEF"
	hashSeen := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '#' && oneHash && !hashSeen:
			hashSeen = true
			b.WriteByte(c)
		case c == '#':
			b.WriteString("%23")
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(keep, c) >= 0:
			b.WriteByte(c)
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
