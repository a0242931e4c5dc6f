// Package command reads the "#coordbot VERB ARGS..." lines of a coordinator's
// command mail (DESIGN 6, 11) and checks their syntax. It knows nothing of
// the store: whether a vendor exists or a transition is allowed is the
// desk's business. It only decides, without guessing, which lines are
// commands and whether each one is well formed, so that the desk can run all
// of them or none.
//
// Only what the sender wrote counts: quoted lines and quoted originals (see
// forms.Unquoted), fenced blocks and everything after a signature separator
// are never commands, so a vendor's reply-all quoting a command cannot run
// it again. In a "case new" mail the Overview:/Detail: sections below the
// commands are content; a command line there is an error rather than a
// command, so pasted text (a reporter's report) cannot run anything and a
// command written in the wrong place is not dropped silently.
package command

import (
	"fmt"
	"strings"
	"time"

	"github.com/coordbot/coordbot/mailbot/forms"
)

// Limits on the work one mail can cause; beyond them Parse adds one error
// line and reads no further.
const (
	MaxLines     = 100     // command lines
	MaxText      = 1 << 20 // bytes of mail text
	MaxLineBytes = 8 << 10 // bytes of one command line
)

// Line is one command line.
type Line struct {
	No   int    // 1-based line number in the text
	Raw  string // the line as written (trimmed), for echoing "> #coordbot ..."; "" for the text-limit error
	Verb string // canonical verb ("case", "case new", "notify overview", ...); "" when not recognised
	// Args are the arguments after the verb, canonical: vendor ids folded to
	// lower-case ASCII, the case ID as caseid.Find gives it, each keyword of
	// "keywords" separately, the date as written (width-folded).
	Args []string
	// Text is the free-text argument of "case new" (title), "note", "lead"
	// and "status" (comment), as written; one pair of enclosing quotes is
	// removed.
	Text string
	// Time is the instant of "date". When NeedsZone is set the date was
	// written without a zone: Time holds the wall clock in UTC and the desk
	// re-reads it in bot.timezone.
	Time      time.Time
	NeedsZone bool
	Err       string // syntax error of this line; "" when the line is fine
}

// Mail is what the command lines of one mail say.
type Mail struct {
	Lines   []Line
	Preview bool   // the first command line is "#coordbot preview"
	CaseID  string // from the first "#coordbot case ID"
	// Overview and Detail are the "Overview:" and "Detail:" sections of a
	// mail with "case new" (trimmed of blank lines around them).
	Overview, Detail string
}

// Errors returns the number of lines with an error. The desk runs nothing
// unless it is zero.
func (m Mail) Errors() int {
	n := 0
	for _, l := range m.Lines {
		if l.Err != "" {
			n++
		}
	}
	return n
}

// srcLine is one line the sender wrote, with its number in the text.
type srcLine struct {
	no int
	s  string
}

// Parse finds and checks the command lines in the text of a mail (the signed
// content, already decoded). prefix is the case-ID prefix, e.g. "JVNVU#".
func Parse(text, prefix string) Mail {
	var m Mail
	truncated := false
	if len(text) > MaxText {
		text, truncated = cutText(text), true
	}
	// Invalid bytes never contain line breaks, so numbering is unchanged;
	// the transcript and the store get valid UTF-8.
	text = strings.ToValidUTF8(text, "\uFFFD")
	orig := splitLines(text)
	src := ownLines(orig, forms.Unquoted(text))
	for i, l := range src {
		if isSignature(l.s) {
			src = src[:i]
			break
		}
	}

	// Which lines look like commands, and where the first section label is.
	var cands []int // indexes into src
	firstLabel := len(src)
	var fence fenceState
	for i, l := range src {
		fenced := fence.feed(l.s)
		if firstLabel == len(src) {
			if k, _ := sectionLabel(l.s); k != noSection {
				firstLabel = i
			}
		}
		if !fenced && isCommandLine(l.s) {
			cands = append(cands, i)
		}
	}

	limited := false
	for _, i := range cands {
		if len(m.Lines) == MaxLines {
			m.Lines = append(m.Lines, Line{No: src[i].no, Raw: clip(trim(src[i].s)),
				Err: fmt.Sprintf("more than %d command lines: nothing read beyond this line", MaxLines)})
			limited = true
			break
		}
		m.Lines = append(m.Lines, parseLine(src[i], prefix))
	}

	// Sections count only in a mail that creates a case with a "case new"
	// above them; there everything from the first label on is content.
	sections := false
	for k, i := range cands {
		if k < len(m.Lines) && i < firstLabel && m.Lines[k].Verb == "case new" {
			sections = true
			break
		}
	}
	var sectionErr string
	if sections {
		m.Overview, m.Detail, sectionErr = readSections(src[firstLabel:])
		for k := range m.Lines {
			if cands[k] >= firstLabel && !(limited && k == MaxLines) {
				// Pasted text must not run; a command the coordinator meant
				// must not be dropped silently either: refuse the mail.
				m.Lines[k] = Line{No: m.Lines[k].No, Raw: m.Lines[k].Raw,
					Err: "command line inside the Overview:/Detail: sections: put commands above them, fence pasted text with ```"}
			}
		}
	}
	labelNo := 0
	if firstLabel < len(src) {
		labelNo = src[firstLabel].no
	}
	m.checkMail(sections, sectionErr, labelNo)

	if truncated && !limited {
		m.Lines = append(m.Lines, Line{No: len(orig),
			Err: "mail text over 1 MiB: nothing read beyond this line"})
	}
	return m
}

// checkMail applies the rules that concern several lines.
// labelNo is the line number of the first section label, 0 if none.
func (m *Mail) checkMail(sections bool, sectionErr string, labelNo int) {
	caseNew := -1
	for k := range m.Lines {
		l := &m.Lines[k]
		if l.Err != "" {
			if k == 0 && l.Verb == "preview" {
				m.Preview = true
			}
			continue
		}
		switch l.Verb {
		case "preview":
			if k == 0 {
				m.Preview = true
			} else {
				l.Err = "preview must be the first command line"
			}
		case "case":
			switch {
			case caseNew >= 0:
				l.Err = "case ID and case new in one mail"
			case m.CaseID == "":
				m.CaseID = l.Args[0]
			case m.CaseID != l.Args[0]:
				l.Err = "a second case ID (" + l.Args[0] + ") differs from " + m.CaseID
			}
		case "case new":
			switch {
			case caseNew >= 0:
				l.Err = "a second case new"
			case m.CaseID != "":
				l.Err = "case ID and case new in one mail"
			case !sections && labelNo > 0:
				l.Err = fmt.Sprintf("case new needs an \"Overview:\" section below the command lines; line %d above already starts a section", labelNo)
			case !sections:
				l.Err = "case new needs an \"Overview:\" section below the command lines"
			case sectionErr != "":
				l.Err = sectionErr
			}
			caseNew = k
		}
	}
}

// cutText returns text cut to at most MaxText bytes at a line break.
func cutText(text string) string {
	i := strings.LastIndexAny(text[:MaxText], "\r\n")
	return text[:i+1]
}

// splitLines splits as forms.Unquoted does, so lines compare equal.
func splitLines(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	return strings.Split(text, "\n")
}

// ownLines numbers the lines of unq (the text without its quotes) by their
// place in orig (all lines). unq's lines are a subsequence of orig's, and a
// quoted line never equals an unquoted one, so matching in order is exact.
// If a line cannot be placed the rest is dropped: fail closed.
func ownLines(orig []string, unq string) []srcLine {
	if unq == "" {
		return nil
	}
	var out []srcLine
	j := 0
	for _, u := range strings.Split(unq, "\n") {
		for j < len(orig) && orig[j] != u {
			j++
		}
		if j == len(orig) {
			break
		}
		out = append(out, srcLine{no: j + 1, s: u})
		j++
	}
	return out
}

// isSignature reports the "-- " signature separator.
func isSignature(s string) bool {
	return strings.TrimRight(s, " \t") == "--"
}

// fenceState follows ``` and ~~~ fenced blocks.
type fenceState struct {
	char byte // 0 outside a fence
	n    int  // length of the opening run
}

// feed reports whether line is part of a fenced block (markers included).
func (f *fenceState) feed(line string) bool {
	t := strings.TrimSpace(line)
	run := func(c byte) int {
		n := 0
		for n < len(t) && t[n] == c {
			n++
		}
		return n
	}
	if f.char != 0 {
		if n := run(f.char); n >= f.n && strings.TrimSpace(t[n:]) == "" {
			f.char = 0
		}
		return true
	}
	for _, c := range []byte{'`', '~'} {
		if n := run(c); n >= 3 {
			f.char, f.n = c, n
			return true
		}
	}
	return false
}
