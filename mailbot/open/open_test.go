package open

import (
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/japanese"
)

// msg joins header lines and a body with CRLF, as on the wire.
func msg(header []string, body string) []byte {
	return []byte(strings.Join(header, "\r\n") + "\r\n\r\n" + strings.ReplaceAll(body, "\n", "\r\n"))
}

func encode(t *testing.T, enc encoding.Encoding, s string) string {
	t.Helper()
	b, err := enc.NewEncoder().String(s)
	if err != nil {
		t.Fatalf("encode %q: %v", s, err)
	}
	return b
}

func mustParse(t *testing.T, raw []byte) *Message {
	t.Helper()
	m, err := Parse(raw, DefaultLimits)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

const jaText = "詳細情報の請求：はい\n①製品は該当します。"

func TestCharsets(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	iso := encode(t, japanese.ISO2022JP, jaText)
	sjis := encode(t, japanese.ShiftJIS, jaText)
	euc := encode(t, japanese.EUCJP, jaText)
	tests := []struct {
		name    string
		ct, cte string
		body    string
		want    string
		problem bool
	}{
		{"utf-8 8bit", "text/plain; charset=utf-8", "8bit", jaText, jaText, false},
		{"utf-8 base64", "text/plain; charset=UTF-8", "base64", b64(jaText), jaText, false},
		{"utf-8 qp", "text/plain; charset=utf-8", "quoted-printable", "=E8=A9=B3=E7=B4=B0=E6=83=85=E5=A0=B1=E3=81=AE=E8=AB=8B=E6=B1=82=EF=BC=9A=E3=\n=81=AF=E3=81=84", "詳細情報の請求：はい", false},
		{"iso-2022-jp 7bit", "text/plain; charset=ISO-2022-JP", "7bit", iso, jaText, false},
		{"iso-2022-jp base64", `text/plain; charset="iso-2022-jp"`, "base64", b64(iso), jaText, false},
		{"iso-2022-jp-2 alias", "text/plain; charset=ISO-2022-JP-2", "7bit", iso, jaText, false},
		{"iso-2022-jp unlabelled", "text/plain", "7bit", iso, jaText, false},
		{"shift_jis", "text/plain; charset=Shift_JIS", "8bit", sjis, jaText, false},
		{"shift_jis base64", "text/plain; charset=shift_jis", "base64", b64(sjis), jaText, false},
		{"cp932", "text/plain; charset=cp932", "8bit", sjis, jaText, false},
		{"CP932", "text/plain; charset=CP932", "8bit", sjis, jaText, false},
		{"Windows-31J", "text/plain; charset=Windows-31J", "8bit", sjis, jaText, false},
		{"x-sjis", "text/plain; charset=x-sjis", "8bit", sjis, jaText, false},
		{"euc-jp", "text/plain; charset=EUC-JP", "8bit", euc, jaText, false},
		{"eucjp alias", "text/plain; charset=eucjp", "8bit", euc, jaText, false},
		{"euc-jp qp", "text/plain; charset=euc-jp", "quoted-printable", qpAll(euc), jaText, false},
		{"latin1", "text/plain; charset=iso-8859-1", "8bit", "caf\xe9", "café", false},
		{"unknown charset, ascii kept", "text/plain; charset=x-klingon", "7bit", "Request detail: yes", "Request detail: yes", true},
		{"unknown charset, sjis guessed", "text/plain; charset=x-klingon", "8bit", sjis, jaText, true},
		{"unlabelled sjis guessed", "text/plain", "8bit", sjis, jaText, true},
		{"invalid utf-8", "text/plain; charset=utf-8", "8bit", "ok \xff\xfe ok", "ok \ufffd ok", true},
		{"unknown cte", "text/plain; charset=utf-8", "x-uuencode", "as is", "as is", false},
		{"damaged base64", "text/plain; charset=utf-8", "base64", b64("Request detail: yes") + "!!", "Request detail: yes", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := msg([]string{"From: a@example.com", "Subject: x", "MIME-Version: 1.0",
				"Content-Type: " + tt.ct, "Content-Transfer-Encoding: " + tt.cte}, tt.body)
			m := mustParse(t, raw)
			if m.Text != tt.want {
				t.Errorf("Text = %q; want %q", m.Text, tt.want)
			}
			if m.CharsetProblem != tt.problem {
				t.Errorf("CharsetProblem = %v; want %v", m.CharsetProblem, tt.problem)
			}
		})
	}
}

// qpAll quoted-printable encodes every byte, with soft breaks.
func qpAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if i > 0 && i%20 == 0 {
			b.WriteString("=\n")
		}
		fmt.Fprintf(&b, "=%02X", s[i])
	}
	return b.String()
}

func TestSubject(t *testing.T) {
	const subj = "返信: [JVNVU#12345678] 脆弱性概要情報 / Vulnerability overview"
	isoWord := mime.BEncoding.Encode("ISO-2022-JP", encode(t, japanese.ISO2022JP, "返信: [JVNVU#12345678] 脆弱性概要情報"))
	sjisWord := mime.BEncoding.Encode("Shift_JIS", encode(t, japanese.ShiftJIS, "返信: [JVNVU#12345678] 脆弱性概要情報"))
	tests := []struct {
		name, raw, want string
		problem         bool
	}{
		{"plain", "Re: [JVNVU#12345678] x", "Re: [JVNVU#12345678] x", false},
		{"utf-8 B", mime.BEncoding.Encode("UTF-8", subj), subj, false},
		{"utf-8 Q folded", mime.QEncoding.Encode("utf-8", "返信: [JVNVU#12345678]") + "\r\n " + mime.QEncoding.Encode("utf-8", " 脆弱性概要情報 / Vulnerability overview"), subj, false},
		{"iso-2022-jp B", isoWord + " / Vulnerability overview", subj, false},
		{"shift_jis B", sjisWord + " / Vulnerability overview", subj, false},
		{"cp932 B", strings.Replace(sjisWord, "Shift_JIS", "cp932", 1) + " / Vulnerability overview", subj, false},
		{"raw iso-2022-jp", encode(t, japanese.ISO2022JP, subj), subj, false},
		{"raw utf-8", subj, subj, false},
		{"raw euc-jp guessed", encode(t, japanese.EUCJP, "脆弱性概要情報"), "脆弱性概要情報", true},
		{"unknown charset word", "=?x-klingon?Q?Re:_x?=", "Re: x", true},
		{"control characters dropped", "a\x1b[31mb\x00c", "a[31mbc", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustParse(t, msg([]string{"From: a@example.com", "Subject: " + tt.raw}, "body"))
			if m.Subject != tt.want {
				t.Errorf("Subject = %q; want %q", m.Subject, tt.want)
			}
			if m.CharsetProblem != tt.problem {
				t.Errorf("CharsetProblem = %v; want %v", m.CharsetProblem, tt.problem)
			}
		})
	}
}

func TestIdentity(t *testing.T) {
	nameWord := mime.BEncoding.Encode("ISO-2022-JP", encode(t, japanese.ISO2022JP, "山田 太郎"))
	raw := msg([]string{
		"Return-Path: <psirt@acme.example>",
		"From: " + nameWord + " <PSIRT@Acme.Example>",
		"Reply-To: other@acme.example",
		"To: JPCERT/CC <vultures@cert.example>, coord@cert.example",
		"Cc: undisclosed-recipients:;",
		"Subject: Re: [JVNVU#12345678] x",
		"Date: Tue, 7 Jan 2025 10:00:00 +0900 (JST)",
		"Message-ID: <reply.1@acme.example>",
		"In-Reply-To: <ov.JVNVU12345678.acme.1@cert.example>",
		"References: <ov.JVNVU12345678.acme.1@cert.example> (the notice)\r\n <x@y>  <no-at-sign>",
	}, "hi")
	m := mustParse(t, raw)
	if m.From != (Address{Name: "山田 太郎", Addr: "psirt@acme.example"}) || m.FromCount != 1 {
		t.Errorf("From = %+v, count %d", m.From, m.FromCount)
	}
	if len(m.ReplyTo) != 1 || m.ReplyTo[0].Addr != "other@acme.example" {
		t.Errorf("ReplyTo = %+v", m.ReplyTo)
	}
	if len(m.To) != 2 || m.To[1].Addr != "coord@cert.example" || len(m.Cc) != 0 {
		t.Errorf("To = %+v, Cc = %+v", m.To, m.Cc)
	}
	if m.MessageID != "reply.1@acme.example" {
		t.Errorf("MessageID = %q", m.MessageID)
	}
	if strings.Join(m.InReplyTo, ",") != "ov.JVNVU12345678.acme.1@cert.example" {
		t.Errorf("InReplyTo = %q", m.InReplyTo)
	}
	if strings.Join(m.References, ",") != "ov.JVNVU12345678.acme.1@cert.example,x@y,no-at-sign" {
		t.Errorf("References = %q", m.References)
	}
	if want := time.Date(2025, 1, 7, 1, 0, 0, 0, time.UTC); !m.Date.Equal(want) {
		t.Errorf("Date = %v", m.Date)
	}
	if m.Header.Get("reply-to") != "other@acme.example" || !m.Header.Has("Return-Path") || m.Header.Has("X-Nothing") {
		t.Errorf("Header access broken: %v", m.Header)
	}
	if m.IsAutoReply || m.IsBounce || m.NullReturnPath {
		t.Errorf("flags: auto %v bounce %v null %v", m.IsAutoReply, m.IsBounce, m.NullReturnPath)
	}
}

func TestFromCount(t *testing.T) {
	tests := []struct {
		from  []string
		count int
		addr  string
	}{
		{[]string{"a@example.com"}, 1, "a@example.com"},
		{[]string{"a@example.com, b@example.com"}, 2, "a@example.com"},
		{[]string{"a@example.com", "b@example.com"}, 2, "a@example.com"},
		{[]string{"Mail Delivery System"}, 1, ""},
		{[]string{"\"Broken <a@example.com>"}, 1, "a@example.com"},
		{[]string{"Taro J. Yamada <TJY@example.com>"}, 1, "tjy@example.com"},
		{[]string{"\x1b$B;3ED\x1b(B <y@example.jp>"}, 1, "y@example.jp"},
		{nil, 0, ""},
	}
	for _, tt := range tests {
		h := []string{"Subject: x"}
		for _, f := range tt.from {
			h = append(h, "From: "+f)
		}
		m := mustParse(t, msg(h, "x"))
		if m.FromCount != tt.count || m.From.Addr != tt.addr {
			t.Errorf("From %q: count %d addr %q; want %d %q", tt.from, m.FromCount, m.From.Addr, tt.count, tt.addr)
		}
	}
}

func TestBody(t *testing.T) {
	tests := []struct {
		name     string
		raw      []byte
		text     string
		fromHTML bool
		attach   []string // filename/type
	}{
		{
			name: "alternative prefers plain",
			raw: msg([]string{"From: a@b", "Content-Type: multipart/alternative; boundary=b1"}, `--b1
Content-Type: text/html; charset=utf-8

<p>html</p>
--b1
Content-Type: text/plain; charset=utf-8

plain
--b1--`),
			text: "plain",
		},
		{
			name: "html only",
			raw: msg([]string{"From: a@b", "Content-Type: text/html; charset=utf-8"},
				`<html><head><style>p{color:red}</style><title>t</title></head><body><p>Request detail: <b>yes</b></p><div>a&amp;b&nbsp;c</div><blockquote type="cite"><p>quoted</p></blockquote><script>x()</script>end</body></html>`),
			text:     "Request detail: yes\na&b c\n> quoted\nend",
			fromHTML: true,
		},
		{
			name: "mixed with attachments",
			raw: msg([]string{"From: a@b", "Content-Type: multipart/mixed; boundary=\"outer\""}, `preamble
--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=us-ascii

body text
--inner
Content-Type: text/html

<p>body html</p>
--inner--

--outer
Content-Type: application/pdf; name="=?UTF-8?B?5aCx5ZGK5pu4LnBkZg==?="
Content-Disposition: attachment; filename*=UTF-8''%E5%A0%B1%E5%91%8A%E6%9B%B8.pdf
Content-Transfer-Encoding: base64

JVBERi0=
--outer
Content-Type: text/plain; charset=iso-2022-jp
Content-Disposition: attachment; filename*=iso-2022-jp''JISNAME.txt

raw bytes
--outer
Content-Type: image/png
Content-Disposition: inline; filename="../../etc/passwd"

PNG
--outer--
epilogue`),
			text:   "body text",
			attach: []string{"報告書.pdf/application/pdf", "報告.txt/text/plain", "passwd/image/png"},
		},
		{
			name: "split plain parts of mixed are one text",
			raw: msg([]string{"From: a@b", "Content-Type: multipart/mixed; boundary=b"}, `--b
Content-Type: text/plain

part one
--b
Content-Type: image/jpeg
Content-Disposition: inline

JPG
--b
Content-Type: text/plain

part two
--b--`),
			text:   "part one\npart two",
			attach: []string{"/image/jpeg"},
		},
		{
			name: "format=flowed",
			raw: msg([]string{"From: a@b", "Content-Type: text/plain; charset=UTF-8; format=flowed"},
				"Request detail: \nyes\n> quoted \n> line\n>> deeper\n -- stuffed\n-- \nsig"),
			text: "Request detail: yes\n> quoted line\n>> deeper\n-- stuffed\n-- \nsig",
		},
		{
			name: "format=flowed delsp",
			raw: msg([]string{"From: a@b", "Content-Type: text/plain; charset=ISO-2022-JP; format=flowed; delsp=yes"},
				"\x1b$B>\\:Y>pJs$N\x1b(B \n\x1b$B@A5a\x1b(B"),
			text: "詳細情報の請求",
		},
		{
			name: "truncated multipart keeps what arrived",
			raw:  msg([]string{"From: a@b", "Content-Type: multipart/mixed; boundary=b"}, "--b\nContent-Type: text/plain\n\nRequest detail: yes\n"),
			text: "Request detail: yes",
		},
		{
			name: "multipart without boundary read as text",
			raw:  msg([]string{"From: a@b", "Content-Type: multipart/mixed"}, "Request detail: yes"),
			text: "Request detail: yes",
		},
		{
			name: "broken content-type parameters",
			raw: msg([]string{"From: a@b", `Content-Type: text/plain; charset="iso-2022-jp; format=flowed`},
				"\x1b$B>\\:Y\x1b(B"),
			text: "詳細",
		},
		{
			name:   "non-text top level",
			raw:    msg([]string{"From: a@b", "Content-Type: application/octet-stream"}, "data"),
			text:   "",
			attach: []string{"/application/octet-stream"},
		},
	}
	// An RFC 2231 filename in ISO-2022-JP, which mime.ParseMediaType skips.
	var jisName strings.Builder
	for _, c := range []byte(encode(t, japanese.ISO2022JP, "報告")) {
		fmt.Fprintf(&jisName, "%%%02X", c)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustParse(t, []byte(strings.Replace(string(tt.raw), "JISNAME", jisName.String(), 1)))
			if m.Text != tt.text {
				t.Errorf("Text = %q; want %q", m.Text, tt.text)
			}
			if m.TextFromHTML != tt.fromHTML {
				t.Errorf("TextFromHTML = %v", m.TextFromHTML)
			}
			var got []string
			for _, a := range m.Attachments {
				got = append(got, a.Filename+"/"+a.ContentType)
			}
			if strings.Join(got, "|") != strings.Join(tt.attach, "|") {
				t.Errorf("Attachments = %q; want %q", got, tt.attach)
			}
		})
	}
}

func TestAttachmentData(t *testing.T) {
	raw := msg([]string{"From: a@b", "Content-Type: multipart/mixed; boundary=b"}, `--b
Content-Type: text/plain

see attached
--b
Content-Type: application/octet-stream; name=x.bin
Content-Transfer-Encoding: base64

AAEC
/w==
--b
Content-Type: text/plain; charset=shift_jis; name=sjis.txt
Content-Disposition: attachment
Content-Transfer-Encoding: quoted-printable

=82=A0
--b--`)
	m := mustParse(t, raw)
	if len(m.Attachments) != 2 {
		t.Fatalf("attachments: %+v", m.Attachments)
	}
	if got := m.Attachments[0].Data; string(got) != "\x00\x01\x02\xff" {
		t.Errorf("base64 data = %x", got)
	}
	// Attachments keep their bytes: no charset conversion.
	if got := m.Attachments[1].Data; string(got) != "\x82\xa0" {
		t.Errorf("text attachment data = %x", got)
	}
}

func TestLimits(t *testing.T) {
	nested := func(depth int) []byte {
		var b strings.Builder
		b.WriteString("From: a@b\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n")
		for i := 1; i <= depth; i++ {
			fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n", i-1, i)
		}
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: text/plain\r\n\r\ndeep\r\n", depth)
		for i := depth; i >= 0; i-- {
			fmt.Fprintf(&b, "--b%d--\r\n", i)
		}
		return []byte(b.String())
	}
	many := func(n int) []byte {
		var b strings.Builder
		b.WriteString("From: a@b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n")
		for i := 0; i < n; i++ {
			b.WriteString("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n")
		}
		b.WriteString("--b--\r\n")
		return []byte(b.String())
	}
	tests := []struct {
		name string
		raw  []byte
		lim  Limits
		want error
	}{
		{"size ok", msg([]string{"From: a@b"}, "x"), Limits{MaxSize: 100}, nil},
		{"too large", msg([]string{"From: a@b"}, strings.Repeat("x", 100)), Limits{MaxSize: 100}, ErrTooLarge},
		{"depth at limit", nested(3), Limits{MaxDepth: 4}, nil},
		{"too deep", nested(4), Limits{MaxDepth: 4}, ErrTooDeep},
		{"too deep default", nested(40), Limits{}, ErrTooDeep},
		{"parts at limit", many(9), Limits{MaxParts: 10}, nil},
		{"too many parts", many(10), Limits{MaxParts: 10}, ErrTooManyParts},
		{"too many parts default", many(300), Limits{}, ErrTooManyParts},
		{"no header", []byte("\r\njust a body"), Limits{}, ErrMalformed},
		{"empty", nil, Limits{}, ErrMalformed},
		{"garbage header", []byte("this is not a header\r\n\r\nbody"), Limits{}, ErrMalformed},
		{"continuation first", []byte(" From: a@b\r\n\r\nbody"), Limits{}, ErrMalformed},
		{"mbox line skipped", []byte("From a@b Mon Jan  6 10:00:00 2025\nFrom: a@b\n\nbody"), Limits{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.raw, tt.lim)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Parse: %v; want %v", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "not a header") {
				t.Errorf("error quotes the message: %v", err)
			}
		})
	}
}

func TestAutoReply(t *testing.T) {
	tests := []struct {
		name   string
		header []string
		want   bool
		kw     string
	}{
		{"plain reply", []string{"Subject: Re: [JVNVU#12345678] x"}, false, ""},
		{"auto-submitted no", []string{"Auto-Submitted: no", "Subject: x"}, false, "no"},
		{"auto-replied", []string{"Auto-Submitted: auto-replied (vacation)", "Subject: x"}, true, "auto-replied"},
		{"auto-generated", []string{"Auto-Submitted: Auto-Generated", "Subject: x"}, true, "auto-generated"},
		{"x-autoreply", []string{"X-Autoreply: yes", "Subject: x"}, true, ""},
		{"x-autorespond", []string{"X-Autorespond: x", "Subject: x"}, true, ""},
		{"precedence bulk", []string{"Precedence: bulk", "Subject: x"}, true, ""},
		{"precedence auto_reply", []string{"Precedence: auto_reply", "Subject: x"}, true, ""},
		{"precedence first-class", []string{"Precedence: first-class", "Subject: x"}, false, ""},
		{"list-id", []string{"List-Id: <psirt.acme.example>", "Subject: x"}, true, ""},
		{"list-unsubscribe", []string{"List-Unsubscribe: <mailto:x@y>", "Subject: x"}, true, ""},
		{"exchange generated", []string{"X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent", "Subject: x"}, true, ""},
		{"outlook oof", []string{"X-Auto-Response-Suppress: All", "Subject: Automatic reply: [JVNVU#12345678] x"}, true, ""},
		{"out of office", []string{"Subject: Out of Office: [JVNVU#12345678]"}, true, ""},
		{"autoreply subject", []string{"Subject: AutoReply: x"}, true, ""},
		{"japanese 不在", []string{"Subject: 不在通知: [JVNVU#12345678]"}, true, ""},
		{"japanese 自動応答", []string{"Subject: 自動応答: x"}, true, ""},
		{"japanese 自動返信", []string{"Subject: =?UTF-8?B?" + base64.StdEncoding.EncodeToString([]byte("【自動返信】x")) + "?="}, true, ""},
		{"german", []string{"Subject: Automatische Antwort: x"}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustParse(t, msg(append([]string{"From: a@example.com"}, tt.header...), "x"))
			if m.IsAutoReply != tt.want || m.AutoSubmitted != tt.kw {
				t.Errorf("IsAutoReply = %v, AutoSubmitted = %q; want %v, %q", m.IsAutoReply, m.AutoSubmitted, tt.want, tt.kw)
			}
			if m.IsBounce {
				t.Errorf("IsBounce set")
			}
		})
	}
}

const dsnBody = `This is a MIME-encapsulated message.

--B
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<gone@acme.example>: host mx.acme.example said: 550 5.1.1 unknown user

--B
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.cert.example
X-Postfix-Queue-ID: 4ABC
Arrival-Date: Mon,  6 Jan 2025 10:00:00 +0900 (JST)

Final-Recipient: rfc822; Gone@Acme.Example
Original-Recipient: rfc822;gone@acme.example
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.acme.example
Diagnostic-Code: smtp; 550 5.1.1 <gone@acme.example>: Recipient address
    rejected: User unknown

Final-Recipient: rfc822; ok@acme.example
Action: delivered
Status: 2.0.0

--B
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: JPCERT/CC <vultures@cert.example>
Subject: [JVNVU#12345678] x
Message-ID: <ov.JVNVU12345678.acme.1@cert.example>

--B--
`

func TestBounce(t *testing.T) {
	dsnHeader := []string{"Return-Path: <>", "From: MAILER-DAEMON@cert.example (Mail Delivery System)",
		"Subject: Undelivered Mail Returned to Sender", "Auto-Submitted: auto-replied",
		`Content-Type: multipart/report; report-type=delivery-status; boundary="B"`}
	m := mustParse(t, msg(dsnHeader, dsnBody))
	want := Bounce{FailedRecipients: []string{"gone@acme.example"}, Status: "5.1.1",
		Diagnostic:        "550 5.1.1 <gone@acme.example>: Recipient address rejected: User unknown",
		OriginalMessageID: "ov.JVNVU12345678.acme.1@cert.example"}
	if !m.IsBounce || m.Bounce == nil || fmt.Sprint(*m.Bounce) != fmt.Sprint(want) {
		t.Fatalf("Bounce = %v %+v; want %+v", m.IsBounce, m.Bounce, want)
	}
	if !m.IsAutoReply || !m.NullReturnPath {
		t.Errorf("auto %v null %v", m.IsAutoReply, m.NullReturnPath)
	}
	if !strings.HasPrefix(m.Text, "I'm sorry") {
		t.Errorf("Text = %q", m.Text)
	}

	// A delay warning is a report but no failure.
	delayed := strings.Replace(strings.Replace(dsnBody, "Action: failed", "Action: delayed", 1), "Status: 5.1.1", "Status: 4.4.1", 1)
	m = mustParse(t, msg(dsnHeader, delayed))
	if m.IsBounce || m.Bounce != nil || !m.IsAutoReply {
		t.Errorf("delayed: bounce %v %+v auto %v", m.IsBounce, m.Bounce, m.IsAutoReply)
	}

	others := []struct {
		name   string
		header []string
		body   string
		failed []string
	}{
		{"exim", []string{"From: Mail Delivery System <Mailer-Daemon@mx.example>", "X-Failed-Recipients: Gone@acme.example, b@acme.example", "Auto-Submitted: auto-replied"}, "failed", []string{"gone@acme.example", "b@acme.example"}},
		{"qmail", []string{"From: MAILER-DAEMON@mx.example"}, "Hi. This is the qmail-send program.\n\n<gone@acme.example>:\nSorry, no mailbox here by that name.\n", []string{"gone@acme.example"}},
		{"null return path", []string{"Return-Path: <>", "From: postmaster@mx.example"}, "undeliverable", nil},
	}
	for _, tt := range others {
		m := mustParse(t, msg(append(tt.header, "Subject: failure"), tt.body))
		if !m.IsBounce || m.Bounce == nil || strings.Join(m.Bounce.FailedRecipients, ",") != strings.Join(tt.failed, ",") {
			t.Errorf("%s: bounce %v %+v; want %q", tt.name, m.IsBounce, m.Bounce, tt.failed)
		}
	}

	// A vacation responder sends with a null Return-Path too (RFC 3834).
	m = mustParse(t, msg([]string{"Return-Path: <>", "From: a@acme.example", "Auto-Submitted: auto-replied", "Subject: x"}, "away"))
	if m.IsBounce || !m.IsAutoReply || !m.NullReturnPath {
		t.Errorf("vacation: bounce %v auto %v null %v", m.IsBounce, m.IsAutoReply, m.NullReturnPath)
	}
}

func TestHTMLToText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"a<br>b<br/>c", "a\nb\nc"},
		{"<p>a</p><p>b</p>", "a\nb"},
		{"<div>  spaced \n\t out  </div>", "spaced out"},
		{"<p class=MsoNormal>x<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p><p>y</p>", "x\n\ny"},
		{"&lt;tag&gt; &#x3042;&#12354; &unknown;", "<tag> ああ &unknown;"},
		{"a < b and c > d", "a < b and c > d"},
		{`<a href="x>y" title='>'>link</a>`, "link"},
		{"<!-- comment <p>hidden</p> -->shown", "shown"},
		{"<!DOCTYPE html><?xml x?>t", "t"},
		{"<STYLE>p{}</STYLE>T<SCRIPT>if (a<b) {}</SCRIPT>", "T"},
		{"<pre>  keep\n  this</pre>", "  keep\n  this"},
		{"<blockquote>a<blockquote>b</blockquote>c</blockquote>d", "> a\n> > b\n> c\nd"},
		{"<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"},
		{"<p>unterminated <b", "unterminated"},
		{"<script>never closed", ""},
		{"<!-- never closed", ""},
		{"x</blockquote></blockquote>y", "x\ny"},
		{"<br><br><br><br>x", "\nx"},
	}
	for _, tt := range tests {
		if got := htmlToText(tt.in); got != tt.want {
			t.Errorf("htmlToText(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
	deep := strings.Repeat("<blockquote>", 100) + "x"
	if got := htmlToText(deep); got != strings.Repeat("> ", maxQuotePrefix)+"x" {
		t.Errorf("deep quote = %q", got)
	}
}

func TestDecoders(t *testing.T) {
	qp := []struct{ in, want string }{
		{"a=3Db", "a=b"},
		{"soft=\r\nbreak", "softbreak"},
		{"soft= \t\nbreak", "softbreak"},
		{"trailing   \nx", "trailing\nx"},
		{"bad =ZZ and =4", "bad =ZZ and =4"},
		{"=e3=81=82", "あ"},
		{"end=", "end"},
	}
	for _, tt := range qp {
		if got := string(decodeQP([]byte(tt.in))); got != tt.want {
			t.Errorf("decodeQP(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
	b64 := []struct {
		in, want string
		clean    bool
	}{
		{"aGVsbG8=", "hello", true},
		{"aGVs\r\nbG8=", "hello", true},
		{"aGVsbG8", "hello", true},
		{"aGVsbA==aGVsbA==", "hellhell", true},
		{"aGVs*bG8=", "hello", false},
		{"aGVsbG8=x", "hello", false},
		{"", "", true},
	}
	for _, tt := range b64 {
		got, clean := decodeBase64([]byte(tt.in))
		if string(got) != tt.want || clean != tt.clean {
			t.Errorf("decodeBase64(%q) = %q, %v; want %q, %v", tt.in, got, clean, tt.want, tt.clean)
		}
	}
}

func TestListMail(t *testing.T) {
	for _, tt := range []struct {
		header []string
		list   bool
	}{
		{[]string{"List-Id: <psirt.acme.example>"}, true},
		{[]string{"List-Post: <mailto:psirt@acme.example>"}, true},
		{[]string{"Precedence: list"}, true},
		{[]string{"Precedence: bulk"}, true},
		{[]string{"Precedence: auto_reply"}, false},
		{[]string{"Auto-Submitted: auto-replied"}, false},
	} {
		m := mustParse(t, msg(append([]string{"From: a@b", "Subject: x"}, tt.header...), "x"))
		if m.ListMail != tt.list || !m.IsAutoReply {
			t.Errorf("%q: ListMail %v IsAutoReply %v; want %v true", tt.header, m.ListMail, m.IsAutoReply, tt.list)
		}
	}
}

func TestHTMLMetaCharset(t *testing.T) {
	html := `<html><head><meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS"></head><body>` +
		encode(t, japanese.ShiftJIS, "詳細情報の請求：はい") + `</body></html>`
	m := mustParse(t, msg([]string{"From: a@b", "Content-Type: text/html"}, html))
	if m.Text != "詳細情報の請求：はい" || m.CharsetProblem || !m.TextFromHTML {
		t.Errorf("Text = %q, problem %v", m.Text, m.CharsetProblem)
	}
}

func TestDefects(t *testing.T) {
	tests := []struct {
		name   string
		raw    []byte
		defect string
	}{
		{"truncated", msg([]string{"From: a@b", "Content-Type: multipart/mixed; boundary=b"}, "--b\nContent-Type: text/plain\n\nx\n"), "truncated or broken multipart"},
		{"no parts", msg([]string{"From: a@b", "Content-Type: multipart/mixed; boundary=b"}, "no boundary here"), "multipart without parts"},
		{"no boundary", msg([]string{"From: a@b", "Content-Type: multipart/mixed"}, "x"), "multipart without usable boundary"},
		{"base64", msg([]string{"From: a@b", "Content-Transfer-Encoding: base64"}, "eA=*="), "damaged base64"},
		{"cte", msg([]string{"From: a@b", "Content-Transfer-Encoding: x-gzip"}, "x"), "unknown transfer encoding"},
		{"date", msg([]string{"From: a@b", "Date: yesterday"}, "x"), "unreadable date"},
	}
	for _, tt := range tests {
		m := mustParse(t, tt.raw)
		found := false
		for _, d := range m.Defects {
			found = found || d == tt.defect
		}
		if !found {
			t.Errorf("%s: Defects = %q; want %q", tt.name, m.Defects, tt.defect)
		}
	}
}
