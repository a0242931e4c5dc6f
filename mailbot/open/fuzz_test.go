package open

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzLimits keep single inputs cheap while still exercising every limit.
var fuzzLimits = Limits{MaxSize: 1 << 20, MaxDepth: 8, MaxParts: 64}

func addCorpus(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "mail", "*.eml"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"From: a@b\r\nSubject: =?ISO-2022-JP?B?GyRCJTUlJCVIGyhC?=\r\n\r\nbody",
		"From: a@b\nContent-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: multipart/alternative; boundary=y\n\n--y\nContent-Type: text/html\n\n<p>a<blockquote>b</p>\n--y--\n--x--\n",
		"From: a@b\nContent-Type: multipart/report; report-type=delivery-status; boundary=r\n\n--r\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; x\n\nFinal-Recipient: rfc822; a@b\nAction: failed\nStatus: 5.0.0\n\n--r\nContent-Type: message/rfc822\n\nMessage-ID: <a@b>\n\n--r--\n",
		"From: a@b\nContent-Type: text/plain; charset=shift_jis; format=flowed; delsp=yes\nContent-Transfer-Encoding: quoted-printable\n\n=82=A0 \n> q=\n",
		"From: a@b\nContent-Type: application/x; name*0*=utf-8''%E5; name*1*=%A0%B1\nContent-Transfer-Encoding: base64\n\nAAA=\n",
	} {
		f.Add([]byte(s))
	}
}

// FuzzParse feeds Parse what a stranger could send. Panics are not recovered
// here, so a bug shows where it is instead of as ErrMalformed.
func FuzzParse(f *testing.F) {
	addCorpus(f)
	recoverPanics = false
	f.Cleanup(func() { recoverPanics = true })
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Parse(raw, fuzzLimits)
		if err != nil {
			if m != nil {
				t.Fatalf("message and error %v", err)
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) &&
				!errors.Is(err, ErrTooDeep) && !errors.Is(err, ErrTooManyParts) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		for what, s := range map[string]string{"text": m.Text, "subject": m.Subject, "from name": m.From.Name, "from": m.From.Addr} {
			if !utf8.ValidString(s) {
				t.Fatalf("%s is not UTF-8: %q", what, s)
			}
		}
		if strings.ContainsAny(m.Subject, "\r\n\x00") || strings.ContainsAny(m.From.Name, "\r\n\x00") {
			t.Fatalf("control characters in subject %q or name %q", m.Subject, m.From.Name)
		}
		if strings.ContainsAny(m.Text, "\r\x00\x1b") {
			t.Fatalf("control characters in text %q", m.Text)
		}
		if len(m.Attachments) > fuzzLimits.MaxParts {
			t.Fatalf("%d attachments", len(m.Attachments))
		}
		for _, a := range m.Attachments {
			if !utf8.ValidString(a.Filename) || strings.ContainsAny(a.Filename, "/\\\x00") || len(a.Filename) > 255 {
				t.Fatalf("bad filename %q", a.Filename)
			}
		}
		if m.IsBounce != (m.Bounce != nil) {
			t.Fatalf("IsBounce %v with Bounce %+v", m.IsBounce, m.Bounce)
		}
		if m.FromCount == 0 && m.From.Addr != "" {
			t.Fatalf("From %q with count 0", m.From.Addr)
		}
		if int64(len(m.Text)) > 4*fuzzLimits.MaxSize+4096 {
			t.Fatalf("text of %d bytes from %d", len(m.Text), len(raw))
		}
	})
}

func FuzzHTMLToText(f *testing.F) {
	for _, s := range []string{
		"<p>Request detail: <b>yes</b></p>", "<blockquote type=cite>a<br>b</blockquote>",
		"<a href='>'>x</a>&amp;&#x3042;&nbsp;", "<pre>\n x\n</pre>", "<!-- x", "<script>a</scrip", "<p<p>",
		"<o:p>&nbsp;</o:p>", "</blockquote></pre>x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := htmlToText(s)
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("htmlToText(%q) = %q: invalid UTF-8", s, out)
		}
		if len(out) > 2*len(s)+4096+maxQuotePrefix*2+8 {
			t.Fatalf("htmlToText(%q): %d bytes out of %d", s, len(out), len(s))
		}
	})
}

func FuzzUnflow(f *testing.F) {
	for _, s := range []string{"a \nb", "> a \n> b\n>> c \nd", " stuffed \n-- \nsig", "x \n\n"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, delsp bool) {
		out := unflow(s, delsp)
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("unflow(%q) = %q: invalid UTF-8", s, out)
		}
		if len(out) > 2*len(s)+2 {
			t.Fatalf("unflow(%q) grew to %q", s, out)
		}
	})
}
