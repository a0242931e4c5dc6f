package forms

import (
	"strings"
	"testing"
	"time"
)

// TestStatusDoubts covers the words that, beside a status, send the answer
// to triage instead of being read as the status alone.
func TestStatusDoubts(t *testing.T) {
	tests := []struct {
		value string
		want  string // "" = not understood
	}{
		{"affected (fixed in 3.2)", StatusAffected},
		{"affected - see advisory", StatusAffected},
		{"affected?", ""},
		{"affected? not sure yet", ""},
		{"affected (probably)", ""},
		{"affected: no", ""},
		{"affected, still investigating", ""},
		{"該当製品あり（修正版を準備中）", StatusAffected},
		{"該当製品あり（おそらく）", ""},
		{"該当製品あり（影響はありません）", ""},
		{"該当製品あり（一部製品）", StatusAffected},
		{"affected-investigating (scope unknown)", StatusAffectedInvestigating},
		{"該当製品あり：調査中（影響範囲は不明）", StatusAffectedInvestigating},
		{"affected-investigating (not yet)", ""},
		{"not affected (we do not use the library)", StatusNotAffected},
		{"not affected (still investigating other lines)", ""},
		{"not affected (some models are)", ""},
		{"not affected, except RT-100", ""},
		{"該当製品なし（社内調査の結果）", StatusNotAffected},
		{"該当製品なし（弊社製品は当該ライブラリを使用していません）", StatusNotAffected},
		{"該当製品なし（現在調査中）", ""},
		{"該当製品なし（RT-100 を除く）", ""},
		{"該当製品なし（一部あり）", ""},
		{"該当製品なし（おそらく）", ""},
		{"not-affected-investigating (so far none found)", StatusNotAffectedInvestigating},
		{"該当製品なし：調査中（一部製品は確認中）", ""},
	}
	for _, tt := range tests {
		r, ok := StatusReport("Status: " + tt.value)
		if r.Status != tt.want || ok != (tt.want != "") {
			t.Errorf("Status: %s = %q, %v; want %q", tt.value, r.Status, ok, tt.want)
		}
	}
}

func TestOverviewProvisionalNo(t *testing.T) {
	tests := []struct {
		text string
		want Answer
	}{
		{"詳細情報の請求：いいえ（現在確認中）", 0},
		{"Request detail: no, probably not, still checking", 0},
		{"Request detail: no?", 0},
		{"詳細情報の請求：いいえ（社内調査の結果、該当製品なし）", AnswerNo},
		{"Request detail: No, we do not have such products.", AnswerNo},
		{"Request detail: yes, we may be affected", AnswerYes},
		{"Request detail: yes, possibly affected", AnswerYes},
	}
	for _, tt := range tests {
		if a, ok := OverviewAnswer(tt.text); a != tt.want || ok != (tt.want != 0) {
			t.Errorf("OverviewAnswer(%q) = %v, %v; want %v", tt.text, a, ok, tt.want)
		}
	}
}

// TestTextFields pins down how far a free-text value (comment, fix plan,
// schedule) reaches: it continues over the following non-blank lines and
// stops at the first line that is not the sender's text for that field.
func TestTextFields(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"continuation lines belong", "Public comment: a\n  b\nc", "a\nb\nc"},
		{"blank line ends", "Public comment: a\n\nb", "a"},
		{"next label ends", "Public comment: a\nFix plan: b", "a"},
		{"signature ends", "Public comment: a\n-- \nTaro", "a"},
		{"rule ends", "Public comment: a\n________________________________\nb", "a"},
		{"dashes end", "Public comment: a\n-----\nb", "a"},
		{"closing ends", "Public comment: a\nよろしくお願いいたします。", "a"},
		{"以上 ends", "公表用コメント：a\n以上", "a"},
		{"以上の is text", "公表用コメント：a\n以上の対応を予定しています。", "a\n以上の対応を予定しています。"},
		{"regards ends", "Public comment: a\nBest regards,\nJane", "a"},
		{"thanks in a sentence is text", "Public comment: a\nThanks to J. Doe for reporting.", "a\nThanks to J. Doe for reporting."},
		{"attribution ends", "Public comment: a\nOn Mon, Jan 6, 2025 JPCERT/CC <v@cert.example> wrote:\n> x", "a"},
		{"gmail ja attribution ends", "Public comment: a\n2025年1月6日(月) 10:00 JPCERT/CC <v@cert.example>:\n\n> x", "a"},
		{"line before a quote ends", "Public comment: a\nJPCERT/CC said\n> x", "a"},
		{"quote ends", "Public comment: a\n> x\nb", "a"},
		{"value on the next line", "Public comment:\na\nb", "a\nb"},
		{"value after a blank line is not taken", "Public comment:\n\na", ""},
		{"closing under an empty label is not taken", "Public comment:\nよろしくお願いします。", ""},
	}
	for _, tt := range tests {
		r, _ := StatusReport(tt.text)
		if r.Comment != tt.want {
			t.Errorf("%s: comment %q; want %q", tt.name, r.Comment, tt.want)
		}
	}
}

func TestAdvisoryURL(t *testing.T) {
	tests := []struct{ value, want string }{
		{"https://acme.example/sa/1", "https://acme.example/sa/1"},
		{"HTTPS://acme.example/sa/1.", "HTTPS://acme.example/sa/1."[:len("HTTPS://acme.example/sa/1")]},
		{"<https://acme.example/sa/1>", "https://acme.example/sa/1"},
		{"（https://acme.example/sa/1）", "https://acme.example/sa/1"},
		{"(see https://acme.example/sa/1)", "https://acme.example/sa/1"},
		{"https://en.example/wiki/A_(b)", "https://en.example/wiki/A_(b)"},
		{"日本語 https://a.example/ja 、英語 https://a.example/en", "https://a.example/ja\nhttps://a.example/en"},
		{"https://a.example/1,https://a.example/2", "https://a.example/1\nhttps://a.example/2"},
		{"https://a.example/1 https://a.example/1", "https://a.example/1"},
		{"未定", ""},
		{"TBD", ""},
		{"N/A", ""},
		{"http://", ""},
	}
	for _, tt := range tests {
		r, _ := StatusReport("Advisory URL: " + tt.value)
		if r.URL != tt.want {
			t.Errorf("Advisory URL: %s = %q; want %q", tt.value, r.URL, tt.want)
		}
	}
}

// TestOfferedChoicesKept: a vendor may leave both lines of the status
// choices and write the answer under them.
func TestOfferedChoicesKept(t *testing.T) {
	for _, tt := range []struct {
		text, want string
	}{
		{statusTemplate[:strings.Index(statusTemplate, "\n公表用")] + "\n該当製品あり：調査中\n", StatusAffectedInvestigating},
		{statusTemplate[:strings.Index(statusTemplate, "\n公表用")] + "\n\n  not affected\n", StatusNotAffected},
		{statusTemplate[:strings.Index(statusTemplate, "\n公表用")] + "\n\n\nnot affected\n", ""},
		{statusTemplate, ""},
	} {
		if r, _ := StatusReport(tt.text); r.Status != tt.want {
			t.Errorf("StatusReport(%q).Status = %q; want %q", tt.text, r.Status, tt.want)
		}
	}
}

func TestLargeURLInput(t *testing.T) {
	if testing.Short() {
		t.Skip("large inputs")
	}
	const n = 1 << 20
	for _, v := range []string{
		"https://a" + strings.Repeat(")", n),
		strings.Repeat("https://a ", n/10),
		strings.Repeat("http", n/4),
		"https://a" + strings.Repeat("http://", n/7),
	} {
		start := time.Now()
		StatusReport("Advisory URL: " + v)
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("%q...: %v", v[:20], d)
		}
	}
}
