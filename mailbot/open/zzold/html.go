package zzold

import (
	"html"
	"strings"
	"unicode"
)

// maxQuotePrefix bounds the "> " prefix of one line so deeply nested
// blockquotes cannot multiply the output.
const maxQuotePrefix = 8

// blockTags start and end a line of text.
var blockTags = map[string]bool{
	"address": true, "article": true, "aside": true, "caption": true, "center": true,
	"dd": true, "details": true, "div": true, "dl": true, "dt": true, "fieldset": true,
	"figcaption": true, "figure": true, "footer": true, "form": true, "h1": true, "h2": true,
	"h3": true, "h4": true, "h5": true, "h6": true, "header": true, "hr": true, "li": true,
	"main": true, "nav": true, "ol": true, "p": true, "section": true, "summary": true,
	"table": true, "tr": true, "ul": true,
}

// rawTextTags hold text that is not shown (or not part of the message).
var rawTextTags = map[string]bool{
	"script": true, "style": true, "title": true, "template": true, "noscript": true,
	"textarea": true, "xmp": true, "iframe": true, "noembed": true, "noframes": true,
}

// htmlToText renders an HTML body as the text a reader sees, for form
// parsing: tags dropped, entities decoded, block elements on their own
// lines, blockquotes (how Gmail, Thunderbird and Apple Mail quote) as "> "
// lines so quoted text stays recognisable. It is a small scanner rather than
// a full HTML5 parser: the output only has to be readable, and it is total,
// linear, and bounded to about twice the input.
func htmlToText(s string) string {
	w := textWriter{limit: 2*len(s) + 4096}
	i := 0
	for i < len(s) && !w.full() {
		lt := strings.IndexByte(s[i:], '<')
		if lt < 0 {
			w.text(s[i:])
			break
		}
		w.text(s[i : i+lt])
		i += lt
		rest := s[i:]
		switch {
		case strings.HasPrefix(rest, "<!--"):
			end := strings.Index(rest[4:], "-->")
			if end < 0 {
				return w.String()
			}
			i += 4 + end + 3
		case len(rest) > 1 && (rest[1] == '!' || rest[1] == '?'):
			end := strings.IndexByte(rest, '>')
			if end < 0 {
				return w.String()
			}
			i += end + 1
		case len(rest) > 1 && isLetter(rest[1]), len(rest) > 2 && rest[1] == '/' && isLetter(rest[2]):
			name, closing, n := scanTag(rest)
			i += n
			w.tag(name, closing)
			if !closing && rawTextTags[name] {
				end := indexFold(s[i:], "</"+name)
				if end < 0 {
					return w.String()
				}
				i += end
			}
		default:
			w.text("<")
			i++
		}
	}
	return w.String()
}

func isLetter(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// scanTag reads "<name attrs>" or "</name>", honouring quoted attribute
// values; n is the bytes consumed (all of s when the tag is unterminated).
func scanTag(s string) (name string, closing bool, n int) {
	i := 1
	if s[i] == '/' {
		closing = true
		i++
	}
	start := i
	for i < len(s) && (isLetter(s[i]) || '0' <= s[i] && s[i] <= '9' || s[i] == ':' || s[i] == '-') {
		i++
	}
	name = strings.ToLower(s[start:i])
	for i < len(s) {
		switch s[i] {
		case '>':
			return name, closing, i + 1
		case '=':
			i++
			for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
				i++
			}
			if i < len(s) && (s[i] == '"' || s[i] == '\'') {
				end := strings.IndexByte(s[i+1:], s[i])
				if end < 0 {
					return name, closing, len(s)
				}
				i += end + 2
			}
			continue
		}
		i++
	}
	return name, closing, len(s)
}

// indexFold is strings.Index with ASCII case folding of the needle's letters.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			return -1
		}
		i += j
		if i+len(sub) <= len(s) && strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

type textWriter struct {
	out     strings.Builder
	line    strings.Builder
	quote   int
	pre     int
	space   bool // a collapsed space is pending
	touched bool // the line held a non-breaking space: keep it even if blank
	blanks  int  // blank lines in a row
	limit   int
}

func (w *textWriter) full() bool { return w.out.Len() > w.limit }

func (w *textWriter) text(raw string) {
	if raw == "" {
		return
	}
	for _, r := range html.UnescapeString(raw) {
		if w.pre > 0 {
			switch r {
			case '\n':
				w.flush(true)
			case '\r':
			default:
				w.line.WriteRune(r)
			}
			continue
		}
		if r == '\u00a0' {
			w.touched = true
		}
		if unicode.IsSpace(r) {
			if w.line.Len() > 0 {
				w.space = true
			}
			continue
		}
		if w.space {
			w.line.WriteByte(' ')
			w.space = false
		}
		w.line.WriteRune(r)
	}
}

func (w *textWriter) tag(name string, closing bool) {
	switch {
	case name == "br":
		w.flush(true)
	case name == "blockquote":
		w.flush(false)
		if closing {
			w.quote = max(0, w.quote-1)
		} else {
			w.quote++
		}
	case name == "pre":
		w.flush(false)
		if closing {
			w.pre = max(0, w.pre-1)
		} else {
			w.pre++
		}
	case name == "td" || name == "th":
		if !closing && w.line.Len() > 0 {
			w.space = true
		}
	case blockTags[name]:
		w.flush(false)
	}
}

// flush ends the current line; an empty line is written only when forced
// (<br>) or when it held a non-breaking space (Outlook's blank paragraphs).
func (w *textWriter) flush(force bool) {
	if w.line.Len() == 0 && !force && !w.touched {
		return
	}
	blank := w.line.Len() == 0
	w.space, w.touched = false, false
	if blank {
		w.blanks++
		if w.blanks > 1 {
			return
		}
	} else {
		w.blanks = 0
	}
	if w.full() {
		w.line.Reset()
		return
	}
	if q := min(w.quote, maxQuotePrefix); q > 0 {
		w.out.WriteString(strings.Repeat("> ", q))
	}
	w.out.WriteString(strings.TrimRight(w.line.String(), " "))
	w.out.WriteByte('\n')
	w.line.Reset()
}

func (w *textWriter) String() string {
	w.flush(false)
	return strings.TrimRight(w.out.String(), "\n")
}
