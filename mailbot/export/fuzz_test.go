package export

import (
	"testing"
)

// FuzzExports renders an advisory whose first vendor's name, comment and URL
// are arbitrary, and checks what must hold for any vendor text: the HTML
// has no <script and links only to http(s) or its own sections, the
// Markdown table keeps exactly 4 cells per row and its structure, and the
// CSAF document is valid JSON passing the CSAF 2.0 checks.
func FuzzExports(f *testing.F) {
	seeds := [][3]string{
		{"株式会社アクメ", "株式会社アクメでは以下の URL にて情報を公開しています。", "https://acme.example/vul/1"},
		{"Evil | Corp", "a | b\nc\r\nd", "javascript:alert(1)"},
		{"<script>alert(1)</script>", "<ScRiPt src=//x></sCrIpT>", "https://x.example/<script>"},
		{"[x](javascript:alert(1))", "![i](https://e.example) <https://e.example> www.example.com", "https://a.example/a|b (c)"},
		{"# h", "# h\n---\n===\n1. x\n- y\n> q\n```", "HTTPS://[::1]:8443/#a#b"},
		{"{{.X}}", "{{template \"x\"}}", "data:text/html,<script>"},
		{"\u202eevil", "\x00\x1b[31m\u2028\u0085", "https://u@evil.example/"},
		{"\\", "\\|\\\\|`", "https://a.example/\\|"},
		{"", "", ""},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, name, comment, url string) {
		a := sample()
		a.Vendors = []Vendor{
			{ID: "fuzz", Name: name, ReceivedDetail: true, Status: "affected", Comment: comment, URL: url},
			{ID: "plain", Name: "Plain Vendor", ReceivedDetail: true, Status: "not-affected-investigating", Comment: comment},
			{ID: "hidden", Name: name, ReceivedDetail: false, Comment: comment, URL: url},
		}
		checkOutputs(t, a, 2)
	})
}
