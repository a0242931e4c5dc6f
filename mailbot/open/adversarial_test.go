package open

import (
	"strings"
	"testing"
	"time"
)

// TestAdversarial feeds inputs shaped to hit quadratic paths (deep quotes,
// unterminated tags and quotes, huge header fields, many addresses and
// IDs). Each must finish quickly; a quadratic path would take minutes on
// inputs of this size.
func TestAdversarial(t *testing.T) {
	if testing.Short() {
		t.Skip("large inputs")
	}
	const n = 1 << 20
	big := func(unit string) string { return strings.Repeat(unit, n/len(unit)) }
	html := func(body string) []byte {
		return msg([]string{"From: a@b", "Content-Type: text/html; charset=utf-8"}, body)
	}
	tests := []struct {
		name string
		raw  []byte
	}{
		{"nested blockquotes then breaks", html(strings.Repeat("<blockquote>", n/24) + strings.Repeat("<br>", n/8))},
		{"unterminated attribute quotes", html(big(`<a href="x`))},
		{"open script", html("<script>" + big("<"))},
		{"many scripts", html(big("<style>x</style>"))},
		{"tag soup", html(big("<<p </ <!x <a='"))},
		{"entities", html(big("&amp;&#x3042;&bogus;&"))},
		{"comment openers", html(big("<!--"))},
		{"long subject of words", msg([]string{"From: a@b", "Subject: " + big("=?utf-8?q?a?= ")}, "x")},
		{"long subject comment", msg([]string{"From: a@b", "Message-ID: (" + big("(") + " <a@b>"}, "x")},
		{"many references", msg([]string{"From: a@b", "References: " + big("<a@b> ")}, "x")},
		{"many to addresses", msg([]string{"From: a@b", "To: " + big("a@b, ")}, "x")},
		{"broken address list", msg([]string{"From: " + big(`"<a@b>, `)}, "x")},
		{"many header fields", []byte("From: a@b\r\n" + big("X-A: b\r\n") + "\r\nx")},
		{"long header line", []byte("From: a@b\r\nX-Long: " + big("a") + "\r\n\r\nx")},
		{"flowed quote depth", msg([]string{"From: a@b", "Content-Type: text/plain; format=flowed"}, big(">>>>>>>>>> a \n"))},
		{"flowed depth changes", msg([]string{"From: a@b", "Content-Type: text/plain; format=flowed"}, big("> a \n>> b \n"))},
		{"long base64 garbage", msg([]string{"From: a@b", "Content-Transfer-Encoding: base64"}, big("*=a"))},
		{"qp equals", msg([]string{"From: a@b", "Content-Transfer-Encoding: quoted-printable"}, big("=\n="))},
		{"many parameters", msg([]string{"From: a@b", "Content-Type: text/plain" + big("; a*1*=%41")}, "x")},
		{"delivery status blocks", msg([]string{"From: a@b", "Content-Type: multipart/report; boundary=b"},
			"--b\nContent-Type: message/delivery-status\n\n"+big("Final-Recipient: rfc822; a@b\nAction: failed\n\n")+"--b--\n")},
		{"bounce text lines", msg([]string{"From: MAILER-DAEMON@x"}, big("<a@b>: x\n"))},
		{"unlabelled 8-bit", msg([]string{"From: a@b"}, big("\x82\xa0\xff"))},
		{"armor markers mid-line", msg([]string{"From: a@b"}, big("x-----BEGIN PGP MESSAGE-----x-----BEGIN PGP SIGNED MESSAGE-----"))},
		{"clearsign without end", msg([]string{"From: a@b"}, "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n"+big("- x\n"))},
		{"clearsign header lines", msg([]string{"From: a@b"}, "-----BEGIN PGP SIGNED MESSAGE-----\n"+big("Hash: SHA256\n"))},
		{"many key blocks", msg([]string{"From: a@b"}, big("-----BEGIN PGP PUBLIC KEY BLOCK-----\n-----END PGP PUBLIC KEY BLOCK-----\n"))},
		{"key begins without end", msg([]string{"From: a@b"}, big("-----BEGIN PGP PUBLIC KEY BLOCK-----\n"))},
		{"signed, delimiter-like lines", msg([]string{"From: a@b", `Content-Type: multipart/signed; protocol="application/pgp-signature"; boundary=b`},
			"--b\n"+big("--bb\n--b x\n")+"--b\n\n--b--\n")},
		{"encrypted, many parts", msg([]string{"From: a@b", `Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary=b`},
			big("--b\nContent-Type: application/pgp-encrypted\n\n"))},
	}
	for _, tt := range tests {
		start := time.Now()
		m, err := Parse(tt.raw, DefaultLimits)
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("%s: %v", tt.name, d)
		}
		if err == nil && m == nil {
			t.Errorf("%s: nil message", tt.name)
		}
		t.Logf("%s: %d bytes in %v (err %v)", tt.name, len(tt.raw), time.Since(start).Round(time.Millisecond), err)
	}
}
