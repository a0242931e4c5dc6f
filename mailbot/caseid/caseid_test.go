package caseid

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFind(t *testing.T) {
	const p = "JVNVU#"
	tests := []struct {
		subject, prefix, want string
	}{
		{"[JVNVU#12345678] 脆弱性概要情報 / Vulnerability overview", p, "JVNVU#12345678"},
		{"Re: [JVNVU#12345678] 脆弱性概要情報", p, "JVNVU#12345678"},
		{"RE: RE: [JVNVU#12345678] x", p, "JVNVU#12345678"},
		{"Fwd: [JVNVU#12345678]", p, "JVNVU#12345678"},
		{"FW: [JVNVU#12345678]", p, "JVNVU#12345678"},
		{"AW: [JVNVU#12345678] Vulnerability overview", p, "JVNVU#12345678"},
		{"WG: AW: [JVNVU#12345678]", p, "JVNVU#12345678"},
		{"返信: [JVNVU#12345678] 脆弱性概要情報", p, "JVNVU#12345678"},
		{"転送: [JVNVU#12345678]", p, "JVNVU#12345678"},
		{"Re[2]: [JVNVU#12345678]", p, "JVNVU#12345678"},
		{"Re: 【JVNVU#12345678】脆弱性", p, "JVNVU#12345678"},
		{"Re: (JVNVU#12345678)", p, "JVNVU#12345678"},
		{"Re: JVNVU#12345678", p, "JVNVU#12345678"},
		{"Re: [JVNVU＃１２３４５６７８] 脆弱性概要情報", p, "JVNVU#12345678"},
		{"Ｒｅ：【ＪＶＮＶＵ＃１２３４５６７８】", p, "JVNVU#12345678"},
		{"re: [jvnvu#12345678]", p, "JVNVU#12345678"},
		{"Re: [JvnVu#12345678]", p, "JVNVU#12345678"},
		{"Re: [JVNVU♯12345678] (music sharp from an IME)", p, "JVNVU#12345678"},
		{"[JVNVU#12345678][JVNVU#87654321]", p, "JVNVU#12345678"},
		{"[JVN#87654321] x", "JVN#", "JVN#87654321"},
		{"[VU#12345678] x", "VU#", "VU#12345678"},
		{"[JVNVU#12345678] x", "jvnvu#", "jvnvu#12345678"},
		{"[JVNVU#12345678]", "ＪＶＮＶＵ＃", "ＪＶＮＶＵ＃12345678"},
		// Not IDs.
		{"[JVNVU#123456789]", p, ""},
		{"[JVNVU#1234567]", p, ""},
		{"[JVNVU# 12345678]", p, ""},
		{"[JVNVU 12345678]", p, ""},
		{"[JVNVU12345678]", p, ""},
		{"[XJVNVU#12345678]", p, ""},
		{"[JVNVU#12345678]", "VU#", ""},
		{"[JVNVU#1234567８9]", p, ""},
		{"[JVNVU#12345678]", "", ""},
		{"", p, ""},
		{"JVNVU#", p, ""},
		// A longer run first, a real ID later.
		{"JVNVU#123456789 and JVNVU#12345678", p, "JVNVU#12345678"},
		{"Invalid \xff\xfe [JVNVU#12345678]", p, "JVNVU#12345678"},
	}
	for _, tt := range tests {
		got, ok := Find(tt.subject, tt.prefix)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("Find(%q, %q) = %q, %v; want %q", tt.subject, tt.prefix, got, ok, tt.want)
		}
	}
}

func TestStrip(t *testing.T) {
	tests := []struct{ in, want string }{
		{"[JVNVU#12345678] 脆弱性概要情報", "[JVNVU#12345678] 脆弱性概要情報"},
		{"Re: [JVNVU#12345678] x", "[JVNVU#12345678] x"},
		{"RE: RE: x", "x"},
		{"Re: Fwd: FW: AW: WG: x", "x"},
		{"re:x", "x"},
		{"Re : x", "x"},
		{"Re[2]: x", "x"},
		{"Re(3): x", "x"},
		{"Re^2: x", "x"},
		{"返信: 転送: x", "x"},
		{"返信：x", "x"},
		{"Ｒｅ：　ｘ", "ｘ"},
		{"SV: x", "x"},
		{"  Re:   x  ", "x"},
		{"Regarding: x", "Regarding: x"},
		{"Report: x", "Report: x"},
		{"Re[: x", "Re[: x"},
		{"Re", "Re"},
		{"Re:", ""},
		{"", ""},
		{"Automatic reply: Re: x", "Automatic reply: Re: x"},
	}
	for _, tt := range tests {
		if got := Strip(tt.in); got != tt.want {
			t.Errorf("Strip(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzFind(f *testing.F) {
	for _, s := range []string{
		"Re: [JVNVU#12345678] 脆弱性概要情報", "Ｒｅ：【ＪＶＮＶＵ＃１２３４５６７８】", "返信: 転送: Re[2]: x",
		"[JVNVU#123456789]", "Re^9: (VU#00000000)", "\xff\xfe#1",
	} {
		f.Add(s, "JVNVU#")
		f.Add(s, "VU#")
	}
	f.Fuzz(func(t *testing.T, subject, prefix string) {
		id, ok := Find(subject, prefix)
		if ok {
			digits, found := strings.CutPrefix(id, prefix)
			if !found || len(digits) != Digits {
				t.Fatalf("Find(%q, %q) = %q: not prefix + %d digits", subject, prefix, id, Digits)
			}
			for _, c := range digits {
				if c < '0' || c > '9' {
					t.Fatalf("Find(%q, %q) = %q: non-ASCII digit", subject, prefix, id)
				}
			}
			// The canonical form finds itself.
			if again, ok := Find(id, prefix); !ok || again != id {
				t.Fatalf("Find(%q) = %q, %v; want itself", id, again, ok)
			}
		} else if id != "" {
			t.Fatalf("Find returned %q with false", id)
		}
		// Typing the subject with full-width characters finds the same ID.
		wide := strings.Map(func(r rune) rune {
			if r > ' ' && r <= '~' {
				return r - '!' + '！'
			}
			return r
		}, subject)
		if id2, ok2 := Find(wide, prefix); id2 != id || ok2 != ok {
			t.Fatalf("Find(%q) = %q, %v; Find(%q) = %q, %v", subject, id, ok, wide, id2, ok2)
		}
		s := Strip(subject)
		if Strip(s) != s {
			t.Fatalf("Strip not idempotent: %q -> %q -> %q", subject, s, Strip(s))
		}
		if utf8.ValidString(subject) && !utf8.ValidString(s) {
			t.Fatalf("Strip(%q) = %q: invalid UTF-8", subject, s)
		}
		if !strings.Contains(subject, s) {
			t.Fatalf("Strip(%q) = %q: not a part of the subject", subject, s)
		}
	})
}
