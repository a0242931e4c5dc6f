// Package forms reads the reply forms of the robot's notices (DESIGN 4.1,
// 4.3) out of the text a vendor wrote: labels in Japanese and/or English,
// full-width colons and letters, values on the label line or the next one,
// top- or bottom-posted, with quoted text ignored so that the robot's own
// unfilled template is never read as an answer. When in doubt a form reads
// as not understood: the message then goes to triage instead of guessing.
//
// A free-text value (a comment, a fix plan) is the rest of its label line
// and the non-blank lines right below it; it ends at a blank line, the
// next label, a quote, a signature or rule line, or the closing of the
// mail, because the comment is published as written. A choice (a status,
// yes/no) with words beside it that hedge it or say the opposite ("not
// affected (still investigating)") is not understood.
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
	// blank line, the next label, a signature separator or the end of what
	// the sender wrote (see endsText).
	text bool
	// clean, for a text field, keeps what the field may hold ("" when
	// nothing: the field reads as unfilled).
	clean func(string) string
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
	// offered marks an unfilled value that is the template's list of
	// choices: the answer may then stand on the line below it.
	offered bool
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

// textLine is one line of a text with whether it is quoted.
type textLine struct {
	s      string
	quoted bool
}

// ownLines returns the lines of text up to the quoted original that
// Unquoted cuts off, each marked quoted or not. Quoted lines are kept so
// that a value never runs on across them.
func ownLines(text string) []textLine {
	all := lines(text)
	var kept []string
	var at []int // index in all of each kept line
	for i, l := range all {
		if !isQuoted(l) {
			kept = append(kept, l)
			at = append(at, i)
		}
	}
	end := len(all)
	if t := quotedTail(kept); t < len(kept) {
		end = at[t]
	}
	out := make([]textLine, end)
	for i, l := range all[:end] {
		out[i] = textLine{s: l, quoted: isQuoted(l)}
	}
	return out
}

// scan finds every label line of form in the unquoted text and reads it.
func scan(text string, form []field) []entry {
	ls := ownLines(text)
	var out []entry
	for i := 0; i < len(ls); i++ {
		if ls[i].quoted {
			continue
		}
		f, v, ok := labelLine(ls[i].s, form)
		if !ok {
			continue
		}
		if f.text {
			out = append(out, entry{key: f.key, r: readText(ls, i, v, f, form)})
			continue
		}
		r := f.read(v, false)
		if r.out == unfilled {
			// The value may stand on the next line (after one blank line at
			// most), or under a template left unfilled on the label line,
			// whose choices may go on over one more line (the status
			// form's English line).
			blanks, offered := 0, 0
			if r.offered {
				offered++
			}
			for j := i + 1; j < len(ls); j++ {
				t := strings.TrimSpace(ls[j].s)
				if ls[j].quoted {
					continue // as if absent: Unquoted(text) reads the same
				}
				if t == "" {
					if blanks++; blanks > 1 {
						break
					}
					continue
				}
				if isLabelLine(ls[j].s, form) || isSignature(t) {
					break
				}
				r = f.read(t, true)
				if r.offered && offered < 2 {
					offered++
					continue
				}
				break
			}
		}
		out = append(out, entry{key: f.key, r: r})
	}
	return out
}

// readText reads a free-text value: the rest of the label line and the
// lines that follow it, up to the end of the paragraph (endsText). A value
// standing alone after a blank line is not taken: that is too often the
// closing of a mail under a field left empty.
func readText(ls []textLine, i int, v string, f *field, form []field) reading {
	var b []string
	if v != "" {
		b = append(b, v)
	}
	for j := i + 1; j < len(ls); j++ {
		if endsText(ls, j, form) {
			break
		}
		b = append(b, strings.TrimSpace(ls[j].s))
	}
	value := strings.Join(b, "\n")
	if f.clean != nil {
		value = f.clean(value)
	}
	if value == "" {
		return reading{out: unfilled}
	}
	return reading{out: chosen, value: value}
}

// endsText reports whether line j no longer belongs to a free-text value:
// a blank line, a quoted line, the next label, a signature separator, a
// rule ("-----", "_____"), the line that introduces a quote ("On ...
// wrote:"), or the closing of the mail ("よろしくお願いします", "Regards,").
// Public comments are published: a greeting must not slip into one.
func endsText(ls []textLine, j int, form []field) bool {
	l := ls[j]
	t := strings.TrimSpace(l.s)
	switch {
	case t == "" || l.quoted || isSignature(t) || isRule(t) || isLabelLine(l.s, form):
		return true
	case j+1 < len(ls) && ls[j+1].quoted, isAttribution(t):
		return true
	}
	return isClosing(t)
}

// isRule reports a line made only of "-", "_", "=", "*" or "~" (at least
// two), as clients put above a quoted original.
func isRule(t string) bool {
	return len(t) >= 2 && strings.Trim(t, "-_=*~ ") == ""
}

// attributions end the lines that introduce a quoted original, folded.
var attributions = []string{"wrote:", "writes:", "書きました:", "書きました。", "のメール:", "schrieb:", "a écrit :", "a écrit:"}

// isAttribution reports a line such as "On Mon, ... JPCERT/CC <x> wrote:",
// "JPCERT/CC さんは書きました:" or Gmail's Japanese "2025年1月6日(月) 10:00
// JPCERT/CC <x>:".
func isAttribution(t string) bool {
	f := strings.TrimSpace(foldString(t))
	for _, a := range attributions {
		if strings.HasSuffix(f, a) {
			return true
		}
	}
	return strings.HasSuffix(f, ">:")
}

// closings are whole lines that end a mail (folded, without trailing
// punctuation); closingParts end it wherever they stand in a line.
var (
	closings = []string{"以上", "以上です", "以上になります", "regards", "best regards", "kind regards",
		"best", "thanks", "thank you", "many thanks", "sincerely", "yours sincerely", "cheers", "br"}
	closingParts = []string{"よろしくお願い", "宜しくお願い", "よろしくおねがい", "よろしく願い"}
)

func isClosing(t string) bool {
	f := strings.TrimRight(strings.TrimSpace(foldString(t)), " .,!。、！")
	if isOneOf(f, closings) {
		return true
	}
	for _, c := range closingParts {
		if strings.Contains(f, c) {
			return true
		}
	}
	return false
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
// choices in order and what was left besides choices, hints, separators
// and punctuation: ASCII words and runs of other text, each followed by a
// space, and question marks (doubt, see doubts).
func (voc *vocabulary) read(v string) (choices []string, rest string) {
	v = foldString(v)
	v = strings.Join(strings.Fields(v), " ")
	for _, h := range voc.hints {
		v = strings.ReplaceAll(v, h, " ")
	}
	trimmed := strings.Trim(v, " .。!！、,")
	if c, ok := voc.exact[trimmed]; ok {
		return []string{c}, ""
	}
	seen := map[string]bool{}
	add := func(c string) {
		if !seen[c] {
			seen[c] = true
			choices = append(choices, c)
		}
	}
	var leftover strings.Builder
	gap := func() { // ends the current run of leftover text
		if leftover.Len() > 0 && !strings.HasSuffix(leftover.String(), " ") {
			leftover.WriteByte(' ')
		}
	}
	for i := 0; i < len(v); {
		if n, c := voc.longestPhrase(v[i:]); n > 0 {
			add(c)
			gap()
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
				gap()
				leftover.WriteString(v[i:j])
				gap()
			}
			i = j
			continue
		}
		r, size := utf8.DecodeRuneInString(v[i:])
		switch {
		case r == '?' || r == '？':
			gap()
			leftover.WriteString("? ")
		case strings.ContainsRune(" \t|/,.;:()[]{}!<>「」『』（）、。！・=~-_'\"*", r):
			gap()
		default:
			leftover.WriteRune(r)
		}
		i += size
	}
	return choices, strings.TrimSpace(leftover.String())
}

// doubts lists what, left beside a choice, puts it in doubt: the reading
// is then ambiguous and the mail goes to triage. Entries ending in "*"
// match ASCII words by prefix, other ASCII entries whole words, the rest
// as substrings.
type doubts []string

func (d doubts) in(rest string) bool {
	words := strings.Fields(rest)
	for _, x := range d {
		if x[0] >= utf8.RuneSelf {
			if strings.Contains(rest, x) {
				return true
			}
			continue
		}
		for _, w := range words {
			if p, ok := strings.CutSuffix(x, "*"); ok && strings.HasPrefix(w, p) || w == x {
				return true
			}
		}
	}
	return false
}

var (
	// uncertain casts doubt on any choice: hedges and questions.
	uncertain = doubts{"?", "maybe", "perhaps", "possibl*", "probabl*", "likely", "unlikely", "unsure",
		"unknown", "unclear", "uncertain", "tbd", "tba", "かも", "可能性", "不明", "未確認", "おそらく", "恐らく",
		"多分", "たぶん", "と思"}
	// investigating contradicts a final status ("not affected (still
	// investigating)"); an investigation that is over ("調査の結果") does not.
	investigating = doubts{"investigating", "ongoing", "still", "checking", "analyzing", "analysing", "reviewing",
		"continuing", "underway", "progress", "調査中", "確認中", "検証中", "解析中", "分析中", "精査中", "継続",
		"引き続き"}
	// negative contradicts a positive choice ("affected: no").
	negative = doubts{"not", "no", "non", "none", "never", "neither", "nor", "without", "cannot", "isn", "aren",
		"don", "doesn", "didn", "wasn", "weren", "hasn", "haven", "ない", "ません", "なし", "無し", "無い", "非該当", "いいえ"}
	// positive contradicts a negative choice ("not affected (some are)",
	// "該当製品なし（RT-100 を除く）").
	positive = doubts{"yes", "vulnerable", "some", "partial*", "partly", "except*", "unless",
		"あり", "有り", "はい", "一部", "除く", "除き", "以外"}
)

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
