// Package caseid finds a case ID such as JVNVU#12345678 in a Subject written
// or mangled by any mail client: reply and forward prefixes, brackets of
// every kind, full-width letters, digits and number sign typed with a
// Japanese input method, lower case.
package caseid

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// Digits is the number of digits after the prefix in a case ID.
const Digits = 8

// fold maps one rune to the form compared: full-width ASCII to ASCII (width
// folding), the look-alike sharp signs Japanese input methods produce to '#',
// ASCII letters to upper case.
func fold(r rune) rune {
	switch r {
	case '♯', '﹟': // U+266F MUSIC SHARP SIGN, U+FE5F SMALL NUMBER SIGN
		return '#'
	}
	if f := width.LookupRune(r).Folded(); f != 0 && f < utf8.RuneSelf {
		r = f
	}
	if 'a' <= r && r <= 'z' {
		r -= 'a' - 'A'
	}
	return r
}

func foldString(s string) []rune {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		out = append(out, fold(r))
	}
	return out
}

func isDigit(r rune) bool { return '0' <= r && r <= '9' }

func isAlnum(r rune) bool { return isDigit(r) || 'A' <= r && r <= 'Z' }

// Find returns the first case ID in subject made of prefix (e.g. "JVNVU#",
// "JVN#", "VU#") and exactly eight digits, in canonical form: the prefix as
// configured followed by ASCII digits. The prefix must not continue a word
// ("VU#" does not match inside "JVNVU#") and the digits must not continue
// (JVNVU#123456789 is no ID).
func Find(subject, prefix string) (string, bool) {
	if prefix == "" || !utf8.ValidString(prefix) {
		return "", false
	}
	s, pre := foldString(subject), foldString(prefix)
	for i := 0; i+len(pre)+Digits <= len(s); i++ {
		if s[i] != pre[0] {
			continue
		}
		if i > 0 && isAlnum(s[i-1]) && isAlnum(pre[0]) {
			continue
		}
		if !equalRunes(s[i:i+len(pre)], pre) {
			continue
		}
		d := s[i+len(pre) : i+len(pre)+Digits]
		ok := true
		for _, r := range d {
			if !isDigit(r) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		if end := i + len(pre) + Digits; end < len(s) && isDigit(s[end]) {
			continue
		}
		return prefix + string(d), true
	}
	return "", false
}

func equalRunes(a, b []rune) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// replyPrefixes are the reply and forward markers clients put in front of a
// Subject (English, German, Nordic, Dutch, French, Italian, Japanese
// clients), folded to upper-case ASCII where they are ASCII.
var replyPrefixes = []string{
	"RE", "FW", "FWD", "AW", "WG", "SV", "VS", "ANTW", "TR", "RIF", "ENC", "RES",
	"返信", "転送", "回复", "转发",
}

// Strip removes leading reply and forward prefixes ("Re:", "RE:", "Fwd:",
// "FW:", "AW:", "WG:", "返信:", "転送:", "Re[2]:", "Re(2):", "Re^2:",
// full-width "Ｒｅ：") for display. The rest of the subject is kept as it
// was written.
func Strip(subject string) string {
	s := strings.TrimSpace(subject)
	for {
		n := prefixLen(s)
		if n == 0 {
			return s
		}
		s = strings.TrimSpace(s[n:])
	}
}

// prefixLen returns the byte length of one reply prefix at the start of s
// (colon included), or 0.
func prefixLen(s string) int {
	for _, p := range replyPrefixes {
		i, ok := matchFold(s, p)
		if !ok {
			continue
		}
		i = skipSpace(s, i)
		i = skipCounter(s, i)
		i = skipSpace(s, i)
		if r, size := utf8.DecodeRuneInString(s[i:]); fold(r) == ':' {
			return i + size
		}
	}
	return 0
}

// matchFold reports whether s starts with word (compared folded) and not as
// the start of a longer word; it returns the bytes consumed in s.
func matchFold(s, word string) (int, bool) {
	i := 0
	for _, w := range word {
		r, size := utf8.DecodeRuneInString(s[i:])
		if size == 0 || fold(r) != w {
			return 0, false
		}
		i += size
	}
	if r, _ := utf8.DecodeRuneInString(s[i:]); isAlnum(fold(r)) {
		return 0, false
	}
	return i, true
}

func skipSpace(s string, i int) int {
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if fold(r) != ' ' && r != '\t' {
			break
		}
		i += size
	}
	return i
}

// skipCounter skips "[2]", "(2)" or "^2" after a prefix.
func skipCounter(s string, i int) int {
	r, size := utf8.DecodeRuneInString(s[i:])
	var closing rune
	switch fold(r) {
	case '[':
		closing = ']'
	case '(':
		closing = ')'
	case '^':
	default:
		return i
	}
	j := i + size
	digits := 0
	for j < len(s) {
		r, size := utf8.DecodeRuneInString(s[j:])
		if !isDigit(fold(r)) {
			break
		}
		j += size
		digits++
	}
	if digits == 0 {
		return i
	}
	if closing != 0 {
		r, size := utf8.DecodeRuneInString(s[j:])
		if fold(r) != closing {
			return i
		}
		j += size
	}
	return j
}
