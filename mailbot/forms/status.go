package forms

import (
	"strings"
)

// Public statuses a vendor reports (§6-2, DESIGN 2).
const (
	StatusAffected                 = "affected"
	StatusAffectedInvestigating    = "affected-investigating"
	StatusNotAffected              = "not-affected"
	StatusNotAffectedInvestigating = "not-affected-investigating"
)

// Report is a filled-in status report form (DESIGN 4.3). Empty fields were
// not filled in.
type Report struct {
	Status   string // one of the Status constants, or ""
	Comment  string // public comment, as written
	URL      string // advisory page
	FixPlan  string
	Schedule string
}

// The status report form (DESIGN 4.3):
//
//	該当状況 / Status: 該当製品あり | 該当製品あり：調査中 | 該当製品なし | 該当製品なし：調査中
//	                   affected | affected-investigating | not-affected | not-affected-investigating
//	公表用コメント / Public comment:
//	告知ページ / Advisory URL:
//	対策方針 / Fix plan:
//	対応スケジュール / Schedule:
var statusForm = []field{
	// ステータス is the guideline's own word on the JVN vendor page (§6-4).
	{key: "status", labels: []string{"該当状況", "ステータス", "status"}, read: readStatus},
	{key: "comment", labels: []string{"公表用コメント", "public comment"}, text: true},
	{key: "url", labels: []string{"告知ページ", "advisory url", "advisory page"}, text: true, clean: urls},
	{key: "fixplan", labels: []string{"対策方針", "fix plan"}, text: true},
	{key: "schedule", labels: []string{"対応スケジュール", "schedule"}, text: true},
}

// statusWords: the longest match wins, so "該当製品あり：調査中" is not read
// as "該当製品あり" and "not-affected" not as "affected".
var statusWords = vocabulary{
	phrases: map[string]string{
		"該当製品あり:調査中":                  StatusAffectedInvestigating,
		"該当製品あり(調査中)":                 StatusAffectedInvestigating,
		"該当製品なし:調査中":                  StatusNotAffectedInvestigating,
		"該当製品なし(調査中)":                 StatusNotAffectedInvestigating,
		"該当製品あり":                      StatusAffected,
		"該当製品なし":                      StatusNotAffected,
		"affected-investigating":      StatusAffectedInvestigating,
		"affected(investigating)":     StatusAffectedInvestigating,
		"not-affected-investigating":  StatusNotAffectedInvestigating,
		"not-affected(investigating)": StatusNotAffectedInvestigating,
		"affected":                    StatusAffected,
		"not-affected":                StatusNotAffected,
		"unaffected":                  StatusNotAffected,
	},
}

// statusNorm makes the spellings of one status alike: full-width folded,
// "_" and spaces between words as "-", no spaces around ":" and brackets
// ("Not affected", "not_affected", "該当製品あり ： 調査中").
func statusNorm(v string) string {
	v = strings.Join(strings.Fields(foldString(v)), " ")
	v = strings.ReplaceAll(v, "_", "-")
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != ' ' {
			b.WriteByte(c)
			continue
		}
		prev, next := byte(0), byte(0)
		if i > 0 {
			prev = v[i-1]
		}
		if i+1 < len(v) {
			next = v[i+1]
		}
		switch {
		case strings.IndexByte(":()-", prev) >= 0 || strings.IndexByte(":()-", next) >= 0:
			// drop
		case isWordByte(prev) && isWordByte(next):
			b.WriteByte('-')
		default:
			b.WriteByte(' ')
		}
	}
	return b.String()
}

func readStatus(v string, next bool) reading {
	if strings.TrimSpace(v) == "" {
		return reading{out: unfilled}
	}
	choices, rest := statusWords.read(statusNorm(v))
	switch {
	case len(choices) == 0:
		if rest != "" && !next {
			return reading{out: ambiguous}
		}
		return reading{out: unfilled}
	case len(choices) >= 3:
		// The list of choices left as offered.
		return reading{out: unfilled, offered: true}
	case len(choices) == 2:
		return reading{out: ambiguous}
	}
	if next && rest != "" {
		return reading{out: unfilled}
	}
	if statusDoubted(choices[0], rest) {
		return reading{out: ambiguous}
	}
	return reading{out: chosen, value: choices[0]}
}

// statusDoubted reports words beside a status that hedge a final status or
// say the opposite: "affected? not sure", "not affected (still investigating)",
// "該当製品なし（一部製品は調査中）". The status is published (§6-4), so
// such an answer goes to triage rather than being read as the status
// alone.
func statusDoubted(status, rest string) bool {
	if rest == "" {
		return false
	}
	switch status {
	case StatusAffected, StatusNotAffected:
		// A hedge suits a status under investigation ("影響範囲は不明"),
		// not a final one.
		if uncertain.in(rest) {
			return true
		}
	}
	switch status {
	case StatusAffected:
		return investigating.in(rest) || negative.in(rest)
	case StatusAffectedInvestigating:
		return negative.in(rest)
	case StatusNotAffected:
		return investigating.in(rest) || positive.in(rest)
	case StatusNotAffectedInvestigating:
		return positive.in(rest)
	}
	return false
}

// StatusReport reads the status report form. It is false when nothing was
// filled in outside quoted text, or when the status is ambiguous or not one
// of the four (a wrong status must go to triage, not be published).
func StatusReport(text string) (Report, bool) {
	var rep Report
	found := false
	for _, e := range scan(text, statusForm) {
		switch e.r.out {
		case ambiguous:
			return Report{}, false
		case unfilled:
			continue
		}
		found = true
		v := e.r.value
		switch e.key {
		case "status":
			if rep.Status != "" && rep.Status != v {
				return Report{}, false
			}
			rep.Status = v
		case "comment":
			rep.Comment = first(rep.Comment, v)
		case "url":
			rep.URL = first(rep.URL, v)
		case "fixplan":
			rep.FixPlan = first(rep.FixPlan, v)
		case "schedule":
			rep.Schedule = first(rep.Schedule, v)
		}
	}
	return rep, found
}

func first(old, v string) string {
	if old != "" {
		return old
	}
	return v
}

// urls keeps the http(s) URLs of an advisory URL value, one a line: the
// field is published as a link (§6-4), so "未定", "TBD" or a sentence
// around the address must not become one. Without a URL the field reads
// as unfilled.
func urls(v string) string {
	var out []string
	seen := map[string]bool{}
	for i := 0; i < len(v); {
		j := indexURL(v[i:])
		if j < 0 {
			break
		}
		start := i + j
		end := start + 1
		// Two addresses run together ("https://a,https://b") are two.
		for end < len(v) && isURLByte(v[end]) && !isURLStart(v[end:]) {
			end++
		}
		u := v[start:end]
		// Sentence punctuation and a closing bracket around the address
		// are not part of it; a bracket opened inside it is.
		opens, closes := strings.Count(u, "("), strings.Count(u, ")")
		for len(u) > 0 && strings.IndexByte(".,;:!?'\")]>", u[len(u)-1]) >= 0 {
			if u[len(u)-1] == ')' {
				if opens >= closes {
					break
				}
				closes--
			}
			u = u[:len(u)-1]
		}
		if i := strings.Index(u, "://"); len(u) > i+3 && !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
		i = end
	}
	return strings.Join(out, "\n")
}

// indexURL finds the next "http://" or "https://", any case.
func indexURL(s string) int {
	for i := range len(s) {
		if isURLStart(s[i:]) {
			return i
		}
	}
	return -1
}

func isURLStart(s string) bool {
	if len(s) < 7 || s[0] != 'h' && s[0] != 'H' {
		return false
	}
	return strings.EqualFold(s[:7], "http://") || len(s) >= 8 && strings.EqualFold(s[:8], "https://")
}

// isURLByte reports the characters RFC 3986 allows in a URL.
func isURLByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("-._~:/?#[]@!$&'()*+,;=%", c) >= 0
}
