package command

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func utf8Valid(s string) bool { return utf8.ValidString(s) }

// FuzzParse checks, for any text: no panic; line numbers are within the
// text, increasing, and point at an unquoted #coordbot line; the bounds
// hold; and the same text quoted as a reply quotes it yields no line.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"",
		commands,
		"Hi\r\n" + commands + "\r\n-- \r\nsig",
		"#coordbot preview\n#coordbot case new T\nOverview: o\nDetail: d\n#coordbot publish",
		"＃ｃｏｏｒｄｂｏｔ　ｃａｓｅ　ＪＶＮＶＵ＃１２３４５６７８\n#coordbot date 2027-01-15T11:00",
		"```\n#coordbot publish\n```\n#coordbot note \"x\" y",
		"#coordbot vendor add \"a\n#coordbot status a affected “c”\n#coordbot share approve a <b@c.d>",
		"OK\n-----Original Message-----\n#coordbot close",
		"\uFEFF#coordbot remind all\n\xff#coordbot remind x,y",
		"#coordbot case new T\n概要：o\n詳細：d\n#coordbot close",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		m := Parse(text, prefix)
		orig := splitLines(text)
		if len(m.Lines) > MaxLines+2 {
			t.Fatalf("%d lines", len(m.Lines))
		}
		last, errs := 0, 0
		for _, l := range m.Lines {
			if l.No < 1 || l.No > len(orig) || l.No < last {
				t.Fatalf("line number %d out of 1..%d or before %d", l.No, len(orig), last)
			}
			last = l.No
			if l.Err != "" {
				errs++
			} else if l.Verb == "" {
				t.Fatalf("line %d without verb or error", l.No)
			}
			if strings.ContainsAny(l.Raw, "\r\n") || !utf8Valid(l.Raw) || !utf8Valid(l.Text) {
				t.Fatalf("line %d: raw %q text %q", l.No, l.Raw, l.Text)
			}
			if l.Raw == "" {
				continue // the text-limit line
			}
			src := strings.ToValidUTF8(orig[l.No-1], "\uFFFD")
			if !isCommandLine(src) || isQuotedLine(src) {
				t.Fatalf("line %d is no unquoted command line: %q", l.No, src)
			}
		}
		if errs != m.Errors() {
			t.Fatalf("Errors() = %d, counted %d", m.Errors(), errs)
		}
		if !utf8Valid(m.Overview) || !utf8Valid(m.Detail) {
			t.Fatalf("invalid UTF-8 in sections")
		}
		for _, marker := range []string{"> ", ">", "＞"} {
			q := quote(text, marker)
			if len(q) > MaxText {
				continue
			}
			if qm := Parse(q, prefix); len(qm.Lines) != 0 || qm.Overview != "" || qm.Detail != "" {
				t.Fatalf("quoted text %q gave %+v", q, qm)
			}
		}
	})
}

// isQuotedLine is forms' notion of a quoted line.
func isQuotedLine(s string) bool {
	t := strings.TrimLeft(s, " \t\u3000")
	return strings.HasPrefix(t, ">") || strings.HasPrefix(t, "＞")
}
