package forms

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// fold maps a rune to the form compared: full-width ASCII (letters, digits,
// colon, slash, space) to ASCII, ASCII letters to lower case.
func fold(r rune) rune {
	if f := width.LookupRune(r).Folded(); f != 0 && f < utf8.RuneSelf {
		r = f
	}
	if 'A' <= r && r <= 'Z' {
		r += 'a' - 'A'
	}
	return r
}

func foldString(s string) string {
	return strings.Map(fold, s)
}

func lines(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	return strings.Split(text, "\n")
}

// isQuoted reports a line quoted with ">" (any depth, "> >", ">>"), or the
// full-width "＞" some Japanese clients use, possibly indented.
func isQuoted(line string) bool {
	t := strings.TrimLeft(line, " \t\u3000")
	return strings.HasPrefix(t, ">") || strings.HasPrefix(t, "＞")
}

// separators start the quoted original in clients that do not mark each
// line (Outlook, Lotus Notes, forwards), folded and without the dashes.
var separators = []string{
	"original message", "元のメッセージ", "オリジナル メッセージ", "オリジナルメッセージ",
	"forwarded message", "転送メッセージ", "転送されたメッセージ",
	"ursprüngliche nachricht", "original-nachricht", "weitergeleitete nachricht",
	"message d'origine", "message transféré", "oorspronkelijk bericht",
	"messaggio originale", "mensaje original", "mensagem original",
}

// fromLabels and dateLabels make the header block Outlook and others put in
// front of the original ("From: ... Sent: ... To: ... Subject: ...").
var (
	fromLabels = []string{"from", "差出人", "送信者", "von", "de", "van", "da", "från", "fra"}
	dateLabels = []string{"sent", "date", "送信日時", "送信日", "日時", "日付", "gesendet", "datum",
		"envoyé", "enviado", "inviato", "data", "verzonden", "skickat", "sendt"}
)

// firstColon returns the byte index and size of the first ASCII or
// full-width colon in s, or -1.
func firstColon(s string) (int, int) {
	i, j := strings.IndexByte(s, ':'), strings.Index(s, "：")
	switch {
	case i < 0 && j < 0:
		return -1, 0
	case j < 0 || (i >= 0 && i < j):
		return i, 1
	}
	return j, len("：")
}

// headerLabel returns the folded label of a "Label: value" line (bold
// markers removed), or "".
func headerLabel(line string) string {
	i, _ := firstColon(line)
	if i < 0 || i > 64 {
		return ""
	}
	k := foldString(line[:i])
	return strings.TrimSpace(strings.Trim(strings.TrimSpace(k), "*"))
}

func isOneOf(s string, list []string) bool {
	for _, x := range list {
		if s == x {
			return true
		}
	}
	return false
}

// isSeparator reports a "-----Original Message-----" style line or Apple's
// "Begin forwarded message:".
func isSeparator(line string) bool {
	t := strings.TrimSpace(foldString(line))
	if t == "begin forwarded message:" || t == "転送されたメッセージ:" {
		return true
	}
	if !strings.HasPrefix(t, "--") {
		return false
	}
	t = strings.TrimSpace(strings.Trim(t, "- "))
	return isOneOf(t, separators)
}

// quotedTail returns the index of the first line of a quoted original that
// is not marked line by line, or len(ls).
func quotedTail(ls []string) int {
	labels := make([]string, len(ls)) // each line folded once
	for i, l := range ls {
		labels[i] = headerLabel(l)
	}
	for i, l := range ls {
		if isSeparator(l) {
			return i
		}
		if !isOneOf(labels[i], fromLabels) {
			continue
		}
		for j := i + 1; j < len(ls) && j <= i+4; j++ {
			if isOneOf(labels[j], dateLabels) {
				return i
			}
		}
	}
	return len(ls)
}

// Unquoted returns text without its quoted lines (">" at any depth) and
// without the quoted original that follows an Outlook-style separator or
// header block: what remains is what the sender wrote. Line ends become
// "\n".
func Unquoted(text string) string {
	var kept []string
	for _, l := range lines(text) {
		if !isQuoted(l) {
			kept = append(kept, l)
		}
	}
	kept = kept[:quotedTail(kept)]
	return strings.TrimRight(strings.Join(kept, "\n"), "\n")
}
