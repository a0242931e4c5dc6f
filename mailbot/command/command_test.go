package command

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

const prefix = "JVNVU#"

// overview makes "case new" lines valid in TestVerbs; without "case new"
// the label means nothing.
const overview = "\n\nOverview:\nA buffer overflow in a TLS stack.\n"

func TestVerbs(t *testing.T) {
	jst := time.FixedZone("", 9*3600)
	tests := []struct {
		line string
		verb string
		args []string
		text string
		err  string // substring of the error; "" = valid
	}{
		// case ID
		{"#coordbot case JVNVU#12345678", "case", []string{"JVNVU#12345678"}, "", ""},
		{"#coordbot case [JVNVU#12345678]", "case", []string{"JVNVU#12345678"}, "", ""},
		{"#coordbot case jvnvu#12345678", "case", []string{"JVNVU#12345678"}, "", ""},
		{"#coordbot case ＪＶＮＶＵ＃１２３４５６７８", "case", []string{"JVNVU#12345678"}, "", ""},
		{"#coordbot CASE JVNVU♯12345678", "case", []string{"JVNVU#12345678"}, "", ""},
		{"#coordbot case", "case", nil, "", "usage"},
		{"#coordbot case JVNVU#1234567", "case", nil, "", "bad case ID"},
		{"#coordbot case JVNVU#123456789", "case", nil, "", "bad case ID"},
		{"#coordbot case XJVNVU#12345678", "case", nil, "", "bad case ID"},
		{"#coordbot case JVNVU#12345678x", "case", nil, "", "bad case ID"},
		{"#coordbot case JVN#12345678", "case", nil, "", "bad case ID"},
		{"#coordbot case JVNVU#12345678 JVNVU#12345678", "case", nil, "", "usage"},
		// preview
		{"#coordbot preview", "preview", nil, "", ""},
		{"#coordbot preview please", "preview", nil, "", "usage"},
		// case new
		{"#coordbot case new TLS handshake overflow", "case new", nil, "TLS handshake overflow", ""},
		{"#coordbot case NEW \"TLS  handshake\"", "case new", nil, "TLS  handshake", ""},
		{"#coordbot case new 脆弱性 in ルータ", "case new", nil, "脆弱性 in ルータ", ""},
		{"#coordbot case new", "case new", nil, "", "title"},
		{"#coordbot case new   ", "case new", nil, "", "title"},
		// keywords
		{"#coordbot keywords tls,http", "keywords", []string{"tls", "http"}, "", ""},
		{"#coordbot keywords tls, http", "keywords", []string{"tls", "http"}, "", ""},
		{"#coordbot keywords \"tls stack\",http", "keywords", []string{"tls stack", "http"}, "", ""},
		{"#coordbot keywords ルータ、tls", "keywords", []string{"ルータ", "tls"}, "", ""},
		{"#coordbot keywords tls", "keywords", []string{"tls"}, "", ""},
		{"#coordbot keywords", "keywords", nil, "", "usage"},
		{"#coordbot keywords tls,,http", "keywords", nil, "", "usage"},
		{"#coordbot keywords tls,", "keywords", nil, "", "usage"},
		// vendors suggest
		{"#coordbot vendors suggest", "vendors suggest", nil, "", ""},
		{"#coordbot vendors", "", nil, "", "expected suggest"},
		{"#coordbot vendors suggest acme", "vendors suggest", nil, "", "usage"},
		// vendor add
		{"#coordbot vendor add acme", "vendor add", []string{"acme"}, "", ""},
		{"#coordbot vendor add acme foo-bar x_y.z", "vendor add", []string{"acme", "foo-bar", "x_y.z"}, "", ""},
		{"#coordbot vendor add acme, foo", "vendor add", []string{"acme", "foo"}, "", ""},
		{"#coordbot vendor add ACME ａｃｍｅ２", "vendor add", []string{"acme", "acme2"}, "", ""},
		{"#coordbot vendor add", "vendor add", nil, "", "usage"},
		{"#coordbot vendor", "", nil, "", "expected add"},
		{"#coordbot vendor remove acme", "", nil, "", "expected add"},
		{"#coordbot vendor add acme!", "vendor add", nil, "", "bad vendor id"},
		{"#coordbot vendor add all", "vendor add", nil, "", "not all"},
		{"#coordbot vendor add acme acme", "vendor add", nil, "", "twice"},
		{"#coordbot vendor add " + strings.Repeat("a", 65), "vendor add", nil, "", "bad vendor id"},
		// notify
		{"#coordbot notify overview acme foo", "notify overview", []string{"acme", "foo"}, "", ""},
		{"#coordbot notify overview all", "notify overview", []string{"all"}, "", ""},
		{"#coordbot notify detail ALL", "notify detail", []string{"all"}, "", ""},
		{"#coordbot notify detail acme", "notify detail", []string{"acme"}, "", ""},
		{"#coordbot notify detail all acme", "notify detail", nil, "", "all stands alone"},
		{"#coordbot notify detail all all", "notify detail", nil, "", "all stands alone"},
		{"#coordbot notify overview", "notify overview", nil, "", "usage"},
		{"#coordbot notify", "", nil, "", "expected overview or detail"},
		{"#coordbot notify everyone acme", "", nil, "", "expected overview or detail"},
		// status
		{"#coordbot status acme affected", "status", []string{"acme", "affected"}, "", ""},
		{"#coordbot status acme not-affected-investigating", "status", []string{"acme", "not-affected-investigating"}, "", ""},
		{"#coordbot status acme info-provided", "status", []string{"acme", "info-provided"}, "", ""},
		{"#coordbot status acme Affected-Investigating Fixed in 1.2.3, see \"advisory\"", "status", []string{"acme", "affected-investigating"}, "Fixed in 1.2.3, see \"advisory\"", ""},
		{"#coordbot status acme not-affected 該当製品はありません", "status", []string{"acme", "not-affected"}, "該当製品はありません", ""},
		{"#coordbot status acme \"not-affected\" \"quoted comment\"", "status", []string{"acme", "not-affected"}, "quoted comment", ""},
		{"#coordbot status acme", "status", nil, "", "usage"},
		{"#coordbot status", "status", nil, "", "usage"},
		{"#coordbot status acme vulnerable", "status", nil, "", "bad status"},
		{"#coordbot status all affected", "status", nil, "", "not all"},
		{"#coordbot status Acme/Inc affected", "status", nil, "", "bad vendor id"},
		// date
		{"#coordbot date 2027-01-15T11:00:30+09:00", "date", []string{"2027-01-15T11:00:30+09:00"}, "", ""},
		{"#coordbot date 2027-01-15T02:00Z", "date", []string{"2027-01-15T02:00Z"}, "", ""},
		{"#coordbot date ２０２７－０１－１５Ｔ１１：００＋０９：００", "date", []string{"2027-01-15T11:00+09:00"}, "", ""},
		{"#coordbot date", "date", nil, "", "usage"},
		{"#coordbot date 2027-01-15", "date", nil, "", "bad date"},
		{"#coordbot date 2027-01-15 11:00", "date", nil, "", "usage"},
		{"#coordbot date 2027-02-30T11:00+09:00", "date", nil, "", "bad date"},
		{"#coordbot date 2027-01-15T25:00+09:00", "date", nil, "", "bad date"},
		{"#coordbot date 2027-01-15T1:00+09:00", "date", nil, "", "bad date"},
		{"#coordbot date 2027-01-15T11:00+0900", "date", nil, "", "bad date"},
		{"#coordbot date 2027-01-15T11:00+24:00", "date", nil, "", "bad date"},
		{"#coordbot date tomorrow", "date", nil, "", "bad date"},
		// lead
		{"#coordbot lead CERT/CC VU#123456", "lead", nil, "CERT/CC VU#123456", ""},
		{"#coordbot lead", "lead", nil, "", "usage"},
		// share approve
		{"#coordbot share approve acme psirt@partner.example", "share approve", []string{"acme", "psirt@partner.example"}, "", ""},
		{"#coordbot share approve acme <psirt@partner.example>", "share approve", []string{"acme", "psirt@partner.example"}, "", ""},
		{"#coordbot share approve acme ｐｓｉｒｔ＠ｐａｒｔｎｅｒ．ｅｘａｍｐｌｅ", "share approve", []string{"acme", "psirt@partner.example"}, "", ""},
		{"#coordbot share approve acme", "share approve", nil, "", "usage"},
		{"#coordbot share approve acme psirt@partner.example extra", "share approve", nil, "", "usage"},
		{"#coordbot share approve acme psirt", "share approve", nil, "", "bad mail address"},
		{"#coordbot share approve acme psirt@partner", "share approve", nil, "", "bad mail address"},
		{"#coordbot share approve acme \"Partner <psirt@partner.example>\"", "share approve", nil, "", "bad mail address"},
		{"#coordbot share approve acme a@b@partner.example", "share approve", nil, "", "bad mail address"},
		{"#coordbot share acme psirt@partner.example", "", nil, "", "expected approve"},
		// customer-notice approve
		{"#coordbot customer-notice approve acme", "customer-notice approve", []string{"acme"}, "", ""},
		{"#coordbot customer-notice approve", "customer-notice approve", nil, "", "usage"},
		{"#coordbot customer-notice approve acme foo", "customer-notice approve", nil, "", "usage"},
		{"#coordbot customer-notice acme", "", nil, "", "expected approve"},
		// priority-notify
		{"#coordbot priority-notify", "priority-notify", nil, "", ""},
		{"#coordbot priority-notify acme", "priority-notify", nil, "", "usage"},
		// unreachable
		{"#coordbot unreachable acme advance", "unreachable advance", []string{"acme"}, "", ""},
		{"#coordbot unreachable acme ADVANCE", "unreachable advance", []string{"acme"}, "", ""},
		{"#coordbot unreachable acme", "unreachable advance", nil, "", "usage"},
		{"#coordbot unreachable advance acme", "unreachable advance", nil, "", "usage"},
		{"#coordbot unreachable acme advance now", "unreachable advance", nil, "", "usage"},
		// remind
		{"#coordbot remind acme foo", "remind", []string{"acme", "foo"}, "", ""},
		{"#coordbot remind all", "remind", []string{"all"}, "", ""},
		{"#coordbot remind", "remind", nil, "", "usage"},
		{"#coordbot remind all acme", "remind", nil, "", "all stands alone"},
		// publish, close
		{"#coordbot publish", "publish", nil, "", ""},
		{"#coordbot PUBLISH", "publish", nil, "", ""},
		{"#coordbot publish now", "publish", nil, "", "usage"},
		{"#coordbot close", "close", nil, "", ""},
		{"#coordbot close case", "close", nil, "", "usage"},
		// cancel
		{"#coordbot cancel known", "cancel", []string{"known"}, "", ""},
		{"#coordbot cancel no-impact", "cancel", []string{"no-impact"}, "", ""},
		{"#coordbot cancel users-notified", "cancel", []string{"users-notified"}, "", ""},
		{"#coordbot cancel", "cancel", nil, "", "usage"},
		{"#coordbot cancel bored", "cancel", nil, "", "bad reason"},
		{"#coordbot cancel known no-impact", "cancel", nil, "", "usage"},
		// note
		{"#coordbot note Vendor called; they'll fix it in 5\" screens", "note", nil, "Vendor called; they'll fix it in 5\" screens", ""},
		{"#coordbot note \"quoted note\"", "note", nil, "quoted note", ""},
		{"#coordbot note \"a\" and \"b\"", "note", nil, "\"a\" and \"b\"", ""},
		{"#coordbot note", "note", nil, "", "usage"},
		// everything else
		{"#coordbot", "", nil, "", "no verb"},
		{"#coordbot frobnicate", "", nil, "", "unknown verb"},
		{"#coordbot vendor add \"acme", "vendor add", nil, "", "unterminated quote"},
		{"#coordbot vendor add \"acme\"foo", "vendor add", nil, "", "after a closing quote"},
		{"#coordbot vendor add “acme”", "vendor add", []string{"acme"}, "", ""},
		{"  \t#coordbot   publish  ", "publish", nil, "", ""},
		{"#coordbot note " + strings.Repeat("x", MaxLineBytes), "", nil, "", "longer than"},
	}
	for _, tt := range tests {
		m := Parse("Hello,\n"+tt.line+overview, prefix)
		if len(m.Lines) != 1 {
			t.Errorf("%q: %d lines, want 1: %+v", tt.line, len(m.Lines), m.Lines)
			continue
		}
		l := m.Lines[0]
		if l.No != 2 || l.Raw != clip(trim(tt.line)) {
			t.Errorf("%q: No %d Raw %q", tt.line, l.No, l.Raw)
		}
		if l.Verb != tt.verb || !reflect.DeepEqual(l.Args, tt.args) || l.Text != tt.text {
			t.Errorf("%q: got verb %q args %q text %q; want %q %q %q", tt.line, l.Verb, l.Args, l.Text, tt.verb, tt.args, tt.text)
		}
		switch {
		case tt.err == "" && l.Err != "":
			t.Errorf("%q: unexpected error %q", tt.line, l.Err)
		case tt.err != "" && !strings.Contains(l.Err, tt.err):
			t.Errorf("%q: error %q, want one with %q", tt.line, l.Err, tt.err)
		}
		if want := btoi(tt.err != ""); m.Errors() != want {
			t.Errorf("%q: Errors() = %d, want %d", tt.line, m.Errors(), want)
		}
		if tt.verb == "date" && l.Err == "" && !l.Time.Equal(time.Date(2027, 1, 15, 11, 0, l.Time.Second(), 0, jst)) {
			t.Errorf("%q: time %v", tt.line, l.Time)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestDateWithoutZone(t *testing.T) {
	for _, s := range []string{"2027-01-15T11:00", "2027-01-15t11:00:00", "2027-01-15T11:00:00.5"} {
		m := Parse("#coordbot date "+s, prefix)
		l := m.Lines[0]
		if l.Err != "" || !l.NeedsZone || l.Time.Location() != time.UTC ||
			l.Time.Hour() != 11 || l.Time.Day() != 15 {
			t.Errorf("%q: %+v", s, l)
		}
	}
	l := Parse("#coordbot date 2027-01-15T11:00+09:00", prefix).Lines[0]
	if l.NeedsZone {
		t.Errorf("zone given, NeedsZone set")
	}
}

// sum is a compact view of a Mail for table tests.
type sum struct {
	lines  []string // "No verb" or "No !error-substring"
	errors int
	cse    string
	prev   bool
	ov, dt string
}

func summarize(m Mail) sum {
	s := sum{errors: m.Errors(), cse: m.CaseID, prev: m.Preview, ov: m.Overview, dt: m.Detail}
	for _, l := range m.Lines {
		if l.Err != "" {
			s.lines = append(s.lines, fmt.Sprintf("%d !%s", l.No, l.Err))
		} else {
			s.lines = append(s.lines, fmt.Sprintf("%d %s", l.No, l.Verb))
		}
	}
	return s
}

// quote marks every line as a reply quotes it.
func quote(s, marker string) string {
	ls := splitLines(s)
	for i := range ls {
		ls[i] = marker + ls[i]
	}
	return strings.Join(ls, "\n")
}

const commands = `#coordbot case JVNVU#12345678
#coordbot status acme affected
#coordbot publish`

func TestMail(t *testing.T) {
	tests := []struct {
		name string
		text string
		want sum
	}{
		{"plain", "Dear all,\n\n" + commands + "\n\nRegards", sum{
			lines: []string{"3 case", "4 status", "5 publish"}, cse: "JVNVU#12345678"}},
		{"no commands", "Just talking about #coordbot publish here.", sum{}},
		{"empty", "", sum{}},
		{"not first token", "please #coordbot publish\n#coordbotpublish", sum{}},
		{"reply-all quoting the commands", "Thanks, done.\n\nOn Mon, Coordinator wrote:\n" + quote(commands, "> "), sum{}},
		{"nested quote", quote(quote(commands, "> "), ">"), sum{}},
		{"indented quote", quote(commands, "  > "), sum{}},
		{"full-width quote", quote(commands, "＞"), sum{}},
		{"outlook original", "OK\n\n-----Original Message-----\nFrom: c@cert.example\n\n" + commands, sum{}},
		{"outlook header block", "OK\n\nFrom: c@cert.example\nSent: Monday\nTo: x\nSubject: y\n\n" + commands, sum{}},
		{"own line above quote", "#coordbot remind all\n\n" + quote(commands, "> "), sum{
			lines: []string{"1 remind"}}},
		{"line numbers count quoted lines", quote("a\nb", "> ") + "\n#coordbot close\n" + quote("c", "> ") + "\n#coordbot note x", sum{
			lines: []string{"3 close", "5 note"}}},
		{"crlf", "Hi\r\n\r\n" + strings.ReplaceAll(commands, "\n", "\r\n") + "\r\n", sum{
			lines: []string{"3 case", "4 status", "5 publish"}, cse: "JVNVU#12345678"}},
		{"bare cr", "Hi\r" + strings.ReplaceAll(commands, "\n", "\r"), sum{
			lines: []string{"2 case", "3 status", "4 publish"}, cse: "JVNVU#12345678"}},
		{"full-width magic", "＃coordbot publish\n＃ｃｏｏｒｄｂｏｔ　ｃｌｏｓｅ\n　#COORDBOT remind all", sum{
			lines: []string{"1 publish", "2 close", "3 remind"}}},
		{"bom", "\uFEFF#coordbot publish", sum{lines: []string{"1 publish"}}},
		{"japanese prose", "各位\n\nお世話になっております。以下の通り対応します。\n＃coordbot case ＪＶＮＶＵ＃１２３４５６７８\n#coordbot status acme not-affected 該当製品なし（確認済み）\nよろしくお願いいたします。\n", sum{
			lines: []string{"4 case", "5 status"}, cse: "JVNVU#12345678"}},
		{"signature", commands + "\n-- \nTaro Yamada\n#coordbot close", sum{
			lines: []string{"1 case", "2 status", "3 publish"}, cse: "JVNVU#12345678"}},
		{"signature without space", "#coordbot close\n--\n#coordbot publish", sum{lines: []string{"1 close"}}},
		{"fenced", "#coordbot close\n```\n#coordbot publish\n```\n#coordbot note after fence", sum{
			lines: []string{"1 close", "5 note"}}},
		{"tilde fence, longer close", "~~~~\n#coordbot publish\n~~~\n#coordbot publish\n~~~~~\n#coordbot close", sum{
			lines: []string{"6 close"}}},
		{"unclosed fence", "#coordbot close\n```text\n#coordbot publish", sum{lines: []string{"1 close"}}},
		{"preview first", "#coordbot preview\n" + commands, sum{
			lines: []string{"1 preview", "2 case", "3 status", "4 publish"}, cse: "JVNVU#12345678", prev: true}},
		{"preview later", commands + "\n#coordbot preview", sum{
			lines: []string{"1 case", "2 status", "3 publish", "4 !preview must be the first"}, errors: 1, cse: "JVNVU#12345678"}},
		{"preview twice", "#coordbot preview\n#coordbot preview", sum{
			lines: []string{"1 preview", "2 !preview must be the first"}, errors: 1, prev: true}},
		{"bad preview first", "#coordbot preview all\n#coordbot close", sum{
			lines: []string{"1 !usage", "2 close"}, errors: 1, prev: true}},
		{"same case twice", "#coordbot case JVNVU#12345678\n#coordbot case [ＪＶＮＶＵ＃１２３４５６７８]", sum{
			lines: []string{"1 case", "2 case"}, cse: "JVNVU#12345678"}},
		{"two different cases", "#coordbot case JVNVU#12345678\n#coordbot publish\n#coordbot case JVNVU#87654321\n#coordbot publish", sum{
			lines: []string{"1 case", "2 publish", "3 !a second case ID (JVNVU#87654321) differs from JVNVU#12345678", "4 publish"}, errors: 1, cse: "JVNVU#12345678"}},
		{"bad case then good", "#coordbot case JVNVU#1\n#coordbot case JVNVU#87654321", sum{
			lines: []string{"1 !bad case ID", "2 case"}, errors: 1, cse: "JVNVU#87654321"}},
		{"unknown verb among good", "#coordbot publish\n#coordbot pubilsh\n#coordbot close", sum{
			lines: []string{"1 publish", "2 !unknown verb \"pubilsh\"", "3 close"}, errors: 1}},

		// case new and its sections
		{"case new", "#coordbot case new TLS overflow\n#coordbot keywords tls\n#coordbot vendors suggest\n\nOverview:\nA flaw in a TLS stack.\n  Second line.\n\nDetail:\nThe length check in\nparse() is missing.\n\n-- \nsig\nDetail: not this", sum{
			lines: []string{"1 case new", "2 keywords", "3 vendors suggest"},
			ov:    "A flaw in a TLS stack.\n  Second line.", dt: "The length check in\nparse() is missing."}},
		{"case new japanese labels", "#coordbot case new タイトル\n概要：\n概要の本文\n詳細: 詳細の本文\n続き", sum{
			lines: []string{"1 case new"}, ov: "概要の本文", dt: "詳細の本文\n続き"}},
		{"case new bilingual labels", "#coordbot case new T\n概要 / Overview: short\n*詳細 / Details:* long", sum{
			lines: []string{"1 case new"}, ov: "short", dt: "long"}},
		{"case new full-width label", "#coordbot case new T\nＯｖｅｒｖｉｅｗ：ov\nＤＥＴＡＩＬ：dt", sum{
			lines: []string{"1 case new"}, ov: "ov", dt: "dt"}},
		{"case new crlf", "#coordbot case new T\r\nOverview:\r\nov1\r\nov2\r\nDetail:\r\ndt\r\n", sum{
			lines: []string{"1 case new"}, ov: "ov1\nov2", dt: "dt"}},
		{"case new without detail", "#coordbot case new T\nOverview: only this", sum{
			lines: []string{"1 case new"}, ov: "only this"}},
		{"case new without overview", "#coordbot case new T\n\nsome prose", sum{
			lines: []string{"1 !case new needs an \"Overview:\" section"}, errors: 1}},
		{"case new empty overview", "#coordbot case new T\nOverview:\n\nDetail: d", sum{
			lines: []string{"1 !non-empty \"Overview:\""}, errors: 1, dt: ""}},
		{"case new only detail", "#coordbot case new T\nDetail: d", sum{
			lines: []string{"1 !needs an \"Overview:\" section"}, errors: 1}},
		{"case new overview above the command", "Overview: o\n#coordbot case new T", sum{
			lines: []string{"2 !line 1 above already starts a section"}, errors: 1}},
		{"pasted report with its own overview heading", "#coordbot case new T\nOverview: o\nDetail:\nReport follows\nOverview: reporter's words\nDetails: secret", sum{
			lines: []string{"1 !two \"Overview:\" sections"}, errors: 1}},
		{"detail before overview", "#coordbot case new T\nDetail: d\nOverview: o", sum{
			lines: []string{"1 !must come before"}, errors: 1}},
		{"two details", "#coordbot case new T\nOverview: o\nDetail: d\n詳細: e", sum{
			lines: []string{"1 !two \"Detail:\" sections"}, errors: 1}},
		{"command inside a section", "#coordbot case new T\nOverview: o\nDetail:\nPasted:\n#coordbot share approve acme evil@attacker.example\n", sum{
			lines: []string{"1 case new", "5 !command line inside"}, errors: 1, ov: "o", dt: "Pasted:\n#coordbot share approve acme evil@attacker.example"}},
		{"fenced command inside a section", "#coordbot case new T\nOverview: o\nDetail:\n```\n#coordbot publish\n```", sum{
			lines: []string{"1 case new"}, ov: "o", dt: "```\n#coordbot publish\n```"}},
		{"quoted section lines", "#coordbot case new T\nOverview: o\n> quoted\nmine", sum{
			lines: []string{"1 case new"}, ov: "o\nmine"}},
		{"labels without case new are prose", "Detail: see the attachment.\n#coordbot remind all", sum{
			lines: []string{"2 remind"}}},
		{"two case new", "#coordbot case new A\n#coordbot case new B\nOverview: o", sum{
			lines: []string{"1 case new", "2 !a second case new"}, errors: 1, ov: "o"}},
		{"case new and case ID", "#coordbot case JVNVU#12345678\n#coordbot case new A\nOverview: o", sum{
			lines: []string{"1 case", "2 !case ID and case new"}, errors: 1, cse: "JVNVU#12345678", ov: "o"}},
		{"case ID after case new", "#coordbot case new A\n#coordbot case JVNVU#12345678\nOverview: o", sum{
			lines: []string{"1 case new", "2 !case ID and case new"}, errors: 1, ov: "o"}},
	}
	for _, tt := range tests {
		got := summarize(Parse(tt.text, prefix))
		if !match(got, tt.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, got, tt.want)
		}
	}
}

// match compares summaries; want's error lines ("N !text") match a got
// line with the same number whose error contains text.
func match(got, want sum) bool {
	if len(got.lines) != len(want.lines) {
		return false
	}
	for i, w := range want.lines {
		no, errText, isErr := strings.Cut(w, " !")
		if !isErr {
			if got.lines[i] != w {
				return false
			}
			continue
		}
		if !strings.HasPrefix(got.lines[i], no+" !") || !strings.Contains(got.lines[i], errText) {
			return false
		}
	}
	return got.errors == want.errors && got.cse == want.cse && got.prev == want.prev &&
		got.ov == want.ov && got.dt == want.dt
}

func TestLimits(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 150; i++ {
		b.WriteString("#coordbot remind all\n")
	}
	m := Parse(b.String(), prefix)
	if len(m.Lines) != MaxLines+1 || m.Errors() != 1 || m.Lines[MaxLines].No != MaxLines+1 ||
		!strings.Contains(m.Lines[MaxLines].Err, "more than 100") {
		t.Errorf("150 lines: %d lines, %d errors, last %+v", len(m.Lines), m.Errors(), m.Lines[len(m.Lines)-1])
	}

	// Command lines inside sections count too; the limit line stays.
	m = Parse("#coordbot case new T\nOverview: o\n"+b.String(), prefix)
	if len(m.Lines) != MaxLines+1 || m.Errors() != MaxLines ||
		!strings.Contains(m.Lines[MaxLines].Err, "more than 100") || m.Lines[0].Err != "" {
		t.Errorf("limit in sections: %d lines, %d errors, last %+v", len(m.Lines), m.Errors(), m.Lines[len(m.Lines)-1])
	}

	// Over 1 MiB: the first part is read, then one error line.
	filler := strings.Repeat(strings.Repeat("x", 99)+"\n", MaxText/100+10)
	m = Parse("#coordbot publish\n"+filler+"#coordbot close\n", prefix)
	if len(m.Lines) != 2 || m.Lines[0].Verb != "publish" || m.Errors() != 1 ||
		!strings.Contains(m.Lines[1].Err, "1 MiB") || m.Lines[1].No < 2 || m.Lines[1].No > MaxText/100+12 {
		t.Errorf("over 1 MiB: %+v", m.Lines)
	}
	// One huge line: nothing to read but the error.
	m = Parse(strings.Repeat("y", MaxText+1), prefix)
	if len(m.Lines) != 1 || m.Lines[0].No != 1 || m.Errors() != 1 {
		t.Errorf("huge line: %+v", m.Lines)
	}
	// Quoted input stays quoted when cut.
	m = Parse(quote(strings.Repeat("#coordbot publish\n", MaxText/10), "> "), prefix)
	for _, l := range m.Lines {
		if l.Verb != "" || l.Raw != "" {
			t.Errorf("quoted over 1 MiB: %+v", l)
		}
	}
}

func TestInvalidUTF8(t *testing.T) {
	m := Parse("#coordbot note bad \xff\xfe byte\n#coordbot case new T\xff\nOverview: o\xc3", prefix)
	for _, l := range m.Lines {
		if !utf8Valid(l.Raw) || !utf8Valid(l.Text) {
			t.Errorf("invalid UTF-8 kept: %+v", l)
		}
	}
	if m.Overview != "o\uFFFD" {
		t.Errorf("overview %q", m.Overview)
	}
}
