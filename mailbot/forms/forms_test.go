package forms

import (
	"strings"
	"testing"
	"time"
)

// template is the form as the robot's overview notice carries it.
const template = "詳細情報の請求 / Request detail: yes | no   (はい / いいえ)"

// quote marks every line as a client would, splitting lines as the
// parser does (a lone CR ends a line too).
func quote(s, marker string) string {
	ls := lines(s)
	for i := range ls {
		ls[i] = marker + ls[i]
	}
	return strings.Join(ls, "\n")
}

var notice = "JPCERT/CC からのお知らせです。\n\n" + template + "\n\nよろしくお願いいたします。"

func TestOverviewAnswer(t *testing.T) {
	tests := []struct {
		name string
		text string
		want Answer // 0: no answer
	}{
		{"bilingual yes", "詳細情報の請求 / Request detail: yes", AnswerYes},
		{"english no", "Request detail: no", AnswerNo},
		{"japanese full-width colon", "詳細情報の請求：はい", AnswerYes},
		{"japanese no", "詳細情報の請求: いいえ", AnswerNo},
		{"case", "REQUEST DETAIL: YES", AnswerYes},
		{"full-width letters", "詳細情報の請求 / Request detail: ｙｅｓ", AnswerYes},
		{"full-width upper", "Ｒｅｑｕｅｓｔ ｄｅｔａｉｌ：ＮＯ", AnswerNo},
		{"next line", "Request detail:\nyes\n", AnswerYes},
		{"next line after blank", "詳細情報の請求 / Request detail:\n\n  はい\n", AnswerYes},
		{"next line prose is no answer", "Request detail:\nNo problem, we will check.\n", 0},
		{"template kept, answer below", template + "\nyes", AnswerYes},
		{"hint kept", "詳細情報の請求 / Request detail: yes   (はい / いいえ)", AnswerYes},
		{"option deleted", "詳細情報の請求 / Request detail: yes |    (はい / いいえ)", AnswerYes},
		{"both languages agree", "Request detail: yes (はい)", AnswerYes},
		{"trailing words", "Request detail: Yes, please send it.", AnswerYes},
		{"exact japanese", "詳細情報の請求：不要", AnswerNo},
		{"exact japanese yes", "詳細情報の請求：希望します。", AnswerYes},
		{"japanese negation not read as yes", "詳細情報の請求：要りません", 0},
		{"decorated label", "* Request detail: yes", AnswerYes},
		{"bold label", "*Request detail:* yes", AnswerYes},
		{"markdown label", "**詳細情報の請求 / Request detail**: no", AnswerNo},
		{"bom", "\uFEFFRequest detail: yes", AnswerYes},
		{"nbsp", "Request\u00a0detail:\u00a0yes", AnswerYes},
		{"crlf", "Hello\r\nRequest detail: no\r\n", AnswerNo},
		{"top-posted over quote", "詳細情報の請求 / Request detail: yes\n\n" + quote(notice, "> "), AnswerYes},
		{"bottom-posted under quote", "On Mon, Robot wrote:\n" + quote(notice, "> ") + "\n\nRequest detail: no\n", AnswerNo},
		{"quoted template only", "Thanks, we will check.\n\n" + quote(notice, "> "), 0},
		{"quoted template >>", quote(quote(notice, "> "), ">"), 0},
		{"quoted template > >", quote(notice, "> > "), 0},
		{"quoted answer is not ours", quote("Request detail: yes", "> "), 0},
		{"indented quote", quote("Request detail: yes", "  > "), 0},
		{"full-width quote mark", quote("Request detail: yes", "＞"), 0},
		{"unfilled unquoted template", template, 0},
		{"ambiguous", "Request detail: yes and no", 0},
		{"ambiguous japanese", "詳細情報の請求：はい、いいえ", 0},
		{"not understood", "Request detail: please send", 0},
		{"disagreeing lines", "Request detail: yes\nRequest detail: no", 0},
		{"agreeing lines", "Request detail: yes\n詳細情報の請求: はい", AnswerYes},
		{"unfilled and filled", template + "\n\nRequest detail: no", AnswerNo},
		{"outlook original", "Request detail: yes\n\n-----Original Message-----\nFrom: JPCERT/CC\nSent: Monday\n\n" + notice, AnswerYes},
		{"outlook original no answer", "Thanks.\n\n-----Original Message-----\n" + template, 0},
		{"outlook header block", "Request detail: no\n\nFrom: vultures@cert.example\nSent: Monday, January 6, 2025 10:00 AM\nTo: psirt\nSubject: x\n\n" + strings.ReplaceAll(notice, "yes | no", "yes"), AnswerNo},
		{"outlook header block bold", "*From:* JPCERT/CC\n*Sent:* Monday\n" + "Request detail: yes", 0},
		{"japanese outlook header", "詳細情報の請求：はい\n\n差出人: JPCERT/CC\n送信日時: 2025年1月6日 10:00\n宛先: psirt\n件名: x\n\n詳細情報の請求：いいえ", AnswerYes},
		{"german header", "Request detail: yes\n\nVon: JPCERT/CC\nGesendet: Montag\n\nRequest detail: no", AnswerYes},
		{"forwarded", "---------- Forwarded message ---------\nFrom: JPCERT/CC\nDate: Mon\n\nRequest detail: yes", 0},
		{"other label", "Detail: yes", 0},
		{"label in prose", "We request detail: yes", 0},
		{"empty", "", 0},
	}
	for _, tt := range tests {
		got, ok := OverviewAnswer(tt.text)
		if got != tt.want || ok != (tt.want != 0) {
			t.Errorf("%s: OverviewAnswer(%q) = %v, %v; want %v", tt.name, tt.text, got, ok, tt.want)
		}
	}
}

func TestUnquoted(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a\n> b\nc", "a\nc"},
		{"a\r\n>> b\r\nc\r\n", "a\nc"},
		{"a\n\n-----Original Message-----\nb", "a"},
		{"a\n----- Original Message -----\nb", "a"},
		{"a\n-----元のメッセージ-----\nb", "a"},
		{"a\nFrom: x\nSent: y\nb", "a"},
		{"a\nFrom: x\nTo: z\nCc: w\nDate: y\nb", "a"},
		{"a\nFrom: x\n\nb\nc\nd\ne\nDate: y", "a\nFrom: x\n\nb\nc\nd\ne\nDate: y"},
		{"a\n差出人： x\n送信日時： y\nb", "a"},
		{"a\nBegin forwarded message:\nb", "a"},
		{"a\n> From: x\n> Sent: y\nb", "a\nb"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Unquoted(tt.in); got != tt.want {
			t.Errorf("Unquoted(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

const statusTemplate = `該当状況 / Status: 該当製品あり | 該当製品あり：調査中 | 該当製品なし | 該当製品なし：調査中
                   affected | affected-investigating | not-affected | not-affected-investigating
公表用コメント / Public comment:
告知ページ / Advisory URL:
対策方針 / Fix plan:
対応スケジュール / Schedule:`

func TestStatusReport(t *testing.T) {
	tests := []struct {
		name string
		text string
		want Report
		ok   bool
	}{
		{"japanese investigating", "該当状況 / Status: 該当製品あり：調査中", Report{Status: StatusAffectedInvestigating}, true},
		{"japanese longest wins", "該当状況：該当製品なし：調査中", Report{Status: StatusNotAffectedInvestigating}, true},
		{"japanese affected", "該当状況: 該当製品あり", Report{Status: StatusAffected}, true},
		{"japanese spaced colon", "該当状況: 該当製品なし ： 調査中", Report{Status: StatusNotAffectedInvestigating}, true},
		{"japanese brackets", "該当状況: 該当製品あり（調査中）", Report{Status: StatusAffectedInvestigating}, true},
		{"english", "Status: not-affected", Report{Status: StatusNotAffected}, true},
		{"english spaces", "Status: Not affected", Report{Status: StatusNotAffected}, true},
		{"english underscore", "Status: affected_investigating", Report{Status: StatusAffectedInvestigating}, true},
		{"full-width", "Ｓｔａｔｕｓ：ａｆｆｅｃｔｅｄ", Report{Status: StatusAffected}, true},
		{"unaffected", "Status: unaffected", Report{Status: StatusNotAffected}, true},
		{"template english line left", "該当状況 / Status: 該当製品なし\n                   affected | affected-investigating | not-affected | not-affected-investigating", Report{Status: StatusNotAffected}, true},
		{"japanese line left, english below", "該当状況 / Status: 該当製品あり | 該当製品あり：調査中 | 該当製品なし | 該当製品なし：調査中\n    affected", Report{Status: StatusAffected}, true},
		{"next line", "該当状況 / Status:\n  not-affected-investigating\n", Report{Status: StatusNotAffectedInvestigating}, true},
		{"unfilled template", statusTemplate, Report{}, false},
		{"quoted template", quote(statusTemplate, "> "), Report{}, false},
		{"two statuses", "Status: affected | not-affected", Report{}, false},
		{"unknown status", "Status: maybe", Report{}, false},
		{"conflicting lines", "Status: affected\n該当状況: 該当製品なし", Report{}, false},
		{"full form", `該当状況 / Status: affected
公表用コメント / Public comment: Fixed in 2.0.1.
  Users should update.
告知ページ / Advisory URL: https://acme.example/sa/2025-01
対策方針 / Fix plan:
  Release 2.0.1 with the fix.

対応スケジュール / Schedule: 2025-02-01
--
ACME PSIRT`, Report{Status: StatusAffected, Comment: "Fixed in 2.0.1.\nUsers should update.",
			URL: "https://acme.example/sa/2025-01", FixPlan: "Release 2.0.1 with the fix.", Schedule: "2025-02-01"}, true},
		{"comment only", "公表用コメント / Public comment: 調査中です", Report{Comment: "調査中です"}, true},
		{"filled over quoted template", "該当状況 / Status: 該当製品なし\n公表用コメント / Public comment:\n告知ページ / Advisory URL:\n\n" + quote(statusTemplate, "> "),
			Report{Status: StatusNotAffected}, true},
		{"signature ends last value", "対応スケジュール / Schedule:\n--\nTaro", Report{}, false},
	}
	for _, tt := range tests {
		got, ok := StatusReport(tt.text)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: StatusReport(%q) =\n%+v, %v; want\n%+v, %v", tt.name, tt.text, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzOverviewAnswer(f *testing.F) {
	for _, s := range []string{
		"詳細情報の請求 / Request detail: yes", template, "Request detail:\nno", quote(notice, "> "),
		"Request detail: yes\n-----Original Message-----\nFrom: x\nSent: y\n" + template,
		"詳細情報の請求：ｙｅｓ", "Request detail: yes | no", "差出人: a\n送信日時: b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		a, ok := OverviewAnswer(text)
		if ok != (a == AnswerYes || a == AnswerNo) || (!ok && a != 0) {
			t.Fatalf("OverviewAnswer(%q) = %v, %v", text, a, ok)
		}
		u := Unquoted(text)
		if Unquoted(u) != u {
			t.Fatalf("Unquoted not idempotent on %q", text)
		}
		// Whatever a stranger writes, once quoted it is never an answer:
		// this is what keeps the robot's own template from being read.
		for _, m := range []string{"> ", ">", "> > "} {
			if a, ok := OverviewAnswer(quote(text, m)); ok {
				t.Fatalf("quoted with %q, %q reads as %v", m, text, a)
			}
			if r, ok := StatusReport(quote(text, m)); ok {
				t.Fatalf("quoted with %q, %q reads as %+v", m, text, r)
			}
		}
		// The robot's notice quoted above or below changes nothing: top- and
		// bottom-posted answers read the same.
		for _, around := range []string{quote(notice, "> ") + "\n\n" + text, text + "\n\n" + quote(notice, "> ")} {
			if a2, ok2 := OverviewAnswer(around); a2 != a || ok2 != ok {
				t.Fatalf("OverviewAnswer with the quoted notice around %q = %v, %v; want %v, %v", text, a2, ok2, a, ok)
			}
		}
		// Reading the answer twice from the unquoted text changes nothing.
		if a2, ok2 := OverviewAnswer(u); a2 != a || ok2 != ok {
			t.Fatalf("OverviewAnswer(Unquoted(%q)) = %v, %v; want %v, %v", text, a2, ok2, a, ok)
		}
	})
}

func FuzzStatusReport(f *testing.F) {
	for _, s := range []string{
		statusTemplate, "該当状況 / Status: 該当製品あり：調査中", "Status:\nnot affected",
		"公表用コメント / Public comment: x\ny\n\nz", quote(statusTemplate, "> "),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		r, ok := StatusReport(text)
		switch r.Status {
		case "", StatusAffected, StatusAffectedInvestigating, StatusNotAffected, StatusNotAffectedInvestigating:
		default:
			t.Fatalf("StatusReport(%q): status %q", text, r.Status)
		}
		if !ok && r != (Report{}) {
			t.Fatalf("StatusReport(%q) = %+v with false", text, r)
		}
		if ok && r == (Report{}) {
			t.Fatalf("StatusReport(%q) = empty report with true", text)
		}
		for _, around := range []string{quote(statusTemplate, "> ") + "\n\n" + text, text + "\n\n" + quote(statusTemplate, "> ")} {
			if r2, ok2 := StatusReport(around); r2 != r || ok2 != ok {
				t.Fatalf("StatusReport with the quoted form around %q = %+v, %v; want %+v, %v", text, r2, ok2, r, ok)
			}
		}
	})
}

// TestLargeInput checks that reading stays linear on texts shaped against
// the scanner: every line a label, labels of many pieces, long values.
func TestLargeInput(t *testing.T) {
	if testing.Short() {
		t.Skip("large inputs")
	}
	const n = 1 << 20
	big := func(unit string) string { return strings.Repeat(unit, n/len(unit)) }
	for _, text := range []string{
		big("Request detail:\n"),
		big("公表用コメント / Public comment: x\n"),
		big("公表用コメント / Public comment:\n"),
		"公表用コメント / Public comment:\n" + big("x\n"),
		big("/") + ": yes",
		"Request detail: " + big("yes はい "),
		"Status: " + big("該当製品あり:調査中 "),
		big("From: x\n"),
		big("> a\n") + "Request detail: yes",
	} {
		start := time.Now()
		OverviewAnswer(text)
		StatusReport(text)
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("%q...: %v", text[:20], d)
		}
	}
}
