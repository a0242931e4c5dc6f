// Package forms reads the reply forms of the robot's notices (DESIGN 4.1,
// 4.3) out of the text a vendor wrote: labels in Japanese and/or English,
// full-width colons and letters, values on the label line or the next one,
// top- or bottom-posted, with quoted text ignored so that the robot's own
// unfilled template is never read as an answer. When in doubt a form reads
// as not understood: the message then goes to triage instead of guessing.
package forms

import (
	"strings"
	"unicode/utf8"
)

// field is one labelled line of a form.
type field struct {
	key    string
	labels []string // folded; a label line may join several with "/"
	// free text: the value may continue over the following lines up to a
	// blank line, the next label or a signature separator.
	text bool
	// read interprets a choice value; next is true when the value stands
	// alone on the line after an empty label (then nothing else may be on
	// it, so prose such as "No problem, ..." is not an answer).
	read func(v string, next bool) reading
}

// outcome of reading one value.
type outcome int

const (
	unfilled  outcome = iota // empty, or the template left as it was
	chosen                   // exactly one choice
	ambiguous                // several choices, or words that are no choice
)

type reading struct {
	out   outcome
	value string
}

// entry is one label line found in a text.
type entry struct {
	key string
	r   reading
}

// maxLabel bounds the bytes before the colon of a label line: the longest
// bilingual label with decoration is far shorter, and prose is not folded.
const maxLabel = 256

// labelLine splits a line into a field of form and the raw value after the
// first colon (ASCII or full-width), if the part before the colon consists
// of labels of that one field, e.g. "詳細情報の請求 / Request detail".
func labelLine(line string, form []field) (*field, string, bool) {
	colon, size := firstColon(line)
	if colon < 0 || colon > maxLabel {
		return nil, "", false
	}
	label, value := line[:colon], line[colon+size:]
	// Bullets, bold markers and invisible characters around a label are
	// decoration (Gmail's "*Request detail:*", a BOM from a quoting client).
	label = strings.TrimLeft(foldString(label), " \t*-・■□●○◆◇\uFEFF\u200B")
	pieces := strings.Split(label, "/")
	for i := range form {
		f := &form[i]
		all := true
		for _, p := range pieces {
			p = strings.Trim(p, " \t*_\uFEFF\u200B")
			if !isOneOf(strings.Join(strings.Fields(p), " "), f.labels) {
				all = false
				break
			}
		}
		if all {
			return f, strings.TrimSpace(value), true
		}
	}
	return nil, "", false
}

func isLabelLine(line string, form []field) bool {
	_, _, ok := labelLine(line, form)
	return ok
}

func isSignature(line string) bool {
	t := strings.TrimRight(line, " \t")
	return t == "--" || t == "__"
}

// scan finds every label line of form in the unquoted text and reads it.
func scan(text string, form []field) []entry {
	ls := lines(Unquoted(text))
	var out []entry
	for i := 0; i < len(ls); i++ {
		f, v, ok := labelLine(ls[i], form)
		if !ok {
			continue
		}
		if f.text {
			var b []string
			if v != "" {
				b = append(b, v)
			}
			j := i + 1
			if v == "" && j < len(ls) && strings.TrimSpace(ls[j]) == "" {
				j++ // one blank line may separate a label from its value
			}
			for ; j < len(ls); j++ {
				t := strings.TrimSpace(ls[j])
				if t == "" || isSignature(t) || isLabelLine(ls[j], form) {
					break
				}
				b = append(b, t)
			}
			r := reading{out: unfilled}
			if len(b) > 0 {
				r = reading{out: chosen, value: strings.Join(b, "\n")}
			}
			out = append(out, entry{key: f.key, r: r})
			continue
		}
		r := f.read(v, false)
		if r.out == unfilled {
			// The value may stand on the next line (after one blank line at
			// most), or under a template left unfilled on the label line.
			for j := i + 1; j < len(ls) && j <= i+2; j++ {
				t := strings.TrimSpace(ls[j])
				if t == "" {
					continue
				}
				if !isLabelLine(ls[j], form) && !isSignature(t) {
					r = f.read(t, true)
				}
				break
			}
		}
		out = append(out, entry{key: f.key, r: r})
	}
	return out
}

// vocabulary lists the words of a choice field.
type vocabulary struct {
	phrases map[string]string // folded phrase -> choice, matched as substrings, longest first
	words   map[string]string // folded ASCII word -> choice, whole words
	exact   map[string]string // folded whole value -> choice
	hints   []string          // folded template hints removed before reading
}

// read finds the choices in a value: phrases match at any word start
// (Japanese has no spaces), words only whole. It returns the distinct
// choices in order and whether anything besides choices, hints, separators
// and punctuation was left.
func (voc *vocabulary) read(v string) (choices []string, rest bool) {
	v = foldString(v)
	v = strings.Join(strings.Fields(v), " ")
	for _, h := range voc.hints {
		v = strings.ReplaceAll(v, h, " ")
	}
	trimmed := strings.Trim(v, " .。!！、,")
	if c, ok := voc.exact[trimmed]; ok {
		return []string{c}, false
	}
	seen := map[string]bool{}
	add := func(c string) {
		if !seen[c] {
			seen[c] = true
			choices = append(choices, c)
		}
	}
	var leftover strings.Builder
	for i := 0; i < len(v); {
		if n, c := voc.longestPhrase(v[i:]); n > 0 {
			add(c)
			i += n
			continue
		}
		if isWordByte(v[i]) {
			j := i
			for j < len(v) && isWordByte(v[j]) {
				j++
			}
			if c, ok := voc.words[v[i:j]]; ok {
				add(c)
			} else {
				leftover.WriteString(v[i:j])
			}
			i = j
			continue
		}
		r, size := utf8.DecodeRuneInString(v[i:])
		if !strings.ContainsRune(" \t|/,.;:()[]{}!?<>「」『』（）、。！？・=~-_'\"*", r) {
			leftover.WriteRune(r)
		}
		i += size
	}
	return choices, leftover.Len() > 0
}

// longestPhrase returns the longest phrase at the start of s; one ending in
// a letter must not continue a word ("affected" is not in "affectedness").
func (voc *vocabulary) longestPhrase(s string) (int, string) {
	best, choice := 0, ""
	for p, c := range voc.phrases {
		if len(p) <= best || !strings.HasPrefix(s, p) {
			continue
		}
		if isWordByte(p[len(p)-1]) && len(s) > len(p) && isWordByte(s[len(p)]) {
			continue
		}
		best, choice = len(p), c
	}
	return best, choice
}

func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
}
