package command

import (
	"errors"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// leftJunk is what may stand before the first token: spaces (a Japanese
// input method's full-width one too), a BOM and zero-width spaces some
// clients leave behind.
const leftJunk = " \t\u3000\u00a0\uFEFF\u200B"

// isSpace separates tokens.
func isSpace(r rune) bool {
	return unicode.IsSpace(r) || r == '\uFEFF' || r == '\u200B'
}

func trim(s string) string {
	return strings.TrimFunc(s, isSpace)
}

// foldRune maps full-width ASCII (typed with a Japanese input method) to
// ASCII, the look-alike sharp signs to '#', and ASCII letters to lower case.
func foldRune(r rune) rune {
	switch r {
	case '♯', '﹟': // MUSIC SHARP SIGN, SMALL NUMBER SIGN
		return '#'
	}
	if f := width.LookupRune(r).Folded(); f != 0 && f < utf8.RuneSelf {
		r = f
	}
	if 'A' <= r && r <= 'Z' {
		r += 'a' - 'A'
	}
	return r
}

func fold(s string) string { return strings.Map(foldRune, s) }

// foldWidth maps full-width ASCII to ASCII and keeps case.
func foldWidth(s string) string {
	return strings.Map(func(r rune) rune {
		if f := width.LookupRune(r).Folded(); f != 0 && f < utf8.RuneSelf {
			return f
		}
		return r
	}, s)
}

// magic is the folded first token of a command line.
const magic = "#coordbot"

// isCommandLine reports a line whose first token is #coordbot.
func isCommandLine(line string) bool {
	t := strings.TrimLeftFunc(line, isSpace)
	// Cheap test first: the token is at most 9 runes of at most 3 bytes.
	end := strings.IndexFunc(t, isSpace)
	if end < 0 {
		end = len(t)
	}
	if end > 4*len(magic) {
		return false
	}
	return fold(t[:end]) == magic
}

// scanner splits the arguments of a command line into tokens: runs of
// non-space, or text in double quotes ("...", “...”, ＂...＂) holding spaces.
type scanner struct {
	s   string
	pos int
}

var closing = map[rune]rune{'"': '"', '“': '”', '＂': '＂'}

var errQuote = errors.New("unterminated quote")

// next returns the next token, or ok false at the end.
func (sc *scanner) next() (tok string, ok bool, err error) {
	rest := sc.s[sc.pos:]
	start := len(rest) - len(strings.TrimLeftFunc(rest, isSpace))
	sc.pos += start
	rest = rest[start:]
	if rest == "" {
		return "", false, nil
	}
	r, size := utf8.DecodeRuneInString(rest)
	if c, quoted := closing[r]; quoted {
		end := strings.IndexRune(rest[size:], c)
		if end < 0 {
			return "", false, errQuote
		}
		after := size + end + utf8.RuneLen(c)
		if next, _ := utf8.DecodeRuneInString(rest[after:]); after < len(rest) && !isSpace(next) {
			return "", false, errors.New("text right after a closing quote")
		}
		sc.pos += after
		return rest[size : size+end], true, nil
	}
	end := strings.IndexFunc(rest, isSpace)
	if end < 0 {
		end = len(rest)
	}
	sc.pos += end
	return rest[:end], true, nil
}

// all returns the remaining tokens.
func (sc *scanner) all() ([]string, error) {
	var out []string
	for {
		tok, ok, err := sc.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return out, nil
		}
		out = append(out, tok)
	}
}

// text returns the rest of the line as written: free text is not split, so
// an apostrophe or a lone quote in a note is no error. Text that is one
// quoted string loses its quotes.
func (sc *scanner) text() string {
	rest := trim(sc.s[sc.pos:])
	sc.pos = len(sc.s)
	in := scanner{s: rest}
	if r, _ := utf8.DecodeRuneInString(rest); closing[r] != 0 {
		if tok, ok, err := in.next(); ok && err == nil && in.pos == len(rest) {
			return tok
		}
	}
	return rest
}

// show quotes user input for an error message, shortened.
func show(s string) string {
	return strconv.Quote(clipTo(s, 64))
}

// clip shortens a raw line for echoing.
func clip(s string) string { return clipTo(s, MaxLineBytes) }

func clipTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
