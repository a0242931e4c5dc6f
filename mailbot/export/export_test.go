package export

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/export")

var goldenDir = filepath.Join("..", "..", "testdata", "export")

var (
	published = time.Date(2027, 1, 15, 11, 0, 0, 0, jst)
	later     = time.Date(2027, 2, 3, 16, 30, 0, 0, jst)
)

// sample is a published multi-vendor case shaped like Fig. 1: every status,
// Japanese and English names, a vendor that only got the overview.
func sample() *Advisory {
	return &Advisory{
		ID:    "JVNVU#12345678",
		Title: "複数の TLS ライブラリにおけるバッファオーバーフローの脆弱性",
		Overview: "複数の TLS ライブラリには、ハンドシェイク処理にバッファオーバーフローの脆弱性が存在します。\n" +
			"詳細は各ベンダの情報を参照してください。\n\n" +
			"- This line starts like a list item, 1. and this like an ordered one.",
		Impact:    "遠隔の第三者によって、任意のコードを実行される可能性があります。",
		Lead:      "CERT/CC VU#123456",
		State:     "published",
		Published: published,
		Vendors: []Vendor{
			{ID: "acme", Name: "株式会社アクメ", ReceivedDetail: true, Status: "affected",
				Comment: "株式会社アクメでは本件に関して以下の URL にて情報を公開しています。",
				URL:     "https://acme.example/vul/1234567/index.html", Updated: published.Add(-48 * time.Hour)},
			{ID: "beta", Name: "Beta Solutions, Inc.", ReceivedDetail: true, Status: "not-affected",
				Updated: published.Add(-72 * time.Hour)},
			{ID: "gamma", Name: "△△情報システム", ReceivedDetail: true}, // default display
			{ID: "delta", Name: "□□情報産業株式会社", ReceivedDetail: true, Status: "not-affected-investigating",
				Updated: published.Add(-24 * time.Hour)},
			{ID: "star", Name: "☆☆☆ Systems", ReceivedDetail: true, Status: "affected-investigating",
				Comment: "A fix is planned for 2.4.1.\nSee our advisory.", URL: "https://star.example/psirt/2027-001",
				Updated: published.Add(-12 * time.Hour)},
			{ID: "overview-only", Name: "Overview Only Corp", ReceivedDetail: false, Status: "affected",
				Comment: "must not appear", URL: "https://overview-only.example/"},
		},
		Timeline:  []Entry{{Time: published, Text: "公開"}},
		Generator: "coordbot dev",
		Publisher: "Example CSIRT",
		Namespace: "https://csirt.example/",
	}
}

// updated is sample after §6-5: star finished its investigation after
// publication and the desk exported again.
func updated() *Advisory {
	a := sample()
	for i := range a.Vendors {
		if a.Vendors[i].ID == "star" {
			a.Vendors[i].Status = "affected"
			a.Vendors[i].Comment = "Fixed in 2.4.1."
			a.Vendors[i].Updated = later
		}
	}
	a.Updated = later
	a.Timeline = append(a.Timeline, Entry{Time: later, Text: "☆☆☆ Systems のベンダ情報を更新"})
	return a
}

// draft is an unpublished case as a coordinator previews it.
func draft() *Advisory {
	a := sample()
	a.State = "scheduled"
	a.Published = time.Time{}
	a.Timeline = nil
	a.Lead = ""
	a.Impact = ""
	return a
}

// hostile carries the vendor text the escaping tests are about.
func hostile() *Advisory {
	a := sample()
	a.Vendors = []Vendor{
		{ID: "evil", Name: "Evil [Corp](javascript:alert(1)) | <b>x</b>", ReceivedDetail: true, Status: "affected",
			Comment: "a | b\nc\r\n# heading\n<script>alert(1)</script> {{.X}} `code` [x](https://evil.example) https://auto.example/",
			URL:     "javascript:alert(1)"},
		{ID: "odd/id here", Name: "Pipes || Inc.", ReceivedDetail: true, Status: "not-affected",
			URL: "https://ok.example/a|b(c)<d>?q=\"x\"#f#g"},
	}
	return a
}

type format struct {
	name, ext string
	fn        func(*Advisory) ([]byte, error)
}

var formats = []format{
	{"jvn-md", ".md", JVNMarkdown},
	{"jvn-html", ".html", JVNHTML},
	{"csaf", ".csaf.json", CSAF},
	{"json", ".json", JSON},
}

func TestGolden(t *testing.T) {
	cases := map[string]func() *Advisory{
		"published": sample,
		"updated":   updated,
		"draft":     draft,
		"hostile":   hostile,
	}
	for name, mk := range cases {
		for _, f := range formats {
			t.Run(name+f.ext, func(t *testing.T) {
				got, err := f.fn(mk())
				if err != nil {
					t.Fatal(err)
				}
				again, _ := f.fn(mk())
				if !bytes.Equal(got, again) {
					t.Fatal("two renderings of the same input differ")
				}
				path := filepath.Join(goldenDir, name+f.ext)
				if *update {
					if err := os.MkdirAll(goldenDir, 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from the golden file (go test -update to accept):\n%s", path, got)
				}
			})
		}
	}
}

// mdTableRows returns the lines of the Markdown output that are table rows.
func mdTableRows(md string) []string {
	var rows []string
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "|") {
			rows = append(rows, l)
		}
	}
	return rows
}

// mdCells counts the cells of a GFM table row: it splits at '|' not
// escaped by a backslash, as cmark-gfm does, leading and trailing pipes
// excluded.
func mdCells(row string) []string {
	var cells []string
	start := 0
	for i := 0; i < len(row); i++ {
		if row[i] == '|' && (i == 0 || row[i-1] != '\\') {
			cells = append(cells, row[start:i])
			start = i + 1
		}
	}
	cells = append(cells, row[start:])
	if len(cells) > 0 && strings.TrimSpace(cells[0]) == "" {
		cells = cells[1:]
	}
	if len(cells) > 0 && strings.TrimSpace(cells[len(cells)-1]) == "" {
		cells = cells[:len(cells)-1]
	}
	return cells
}

func TestMarkdownTable(t *testing.T) {
	md := mustString(t, JVNMarkdown, sample())
	rows := mdTableRows(md)
	if len(rows) != 2+5 {
		t.Fatalf("%d table lines, want header, delimiter and 5 vendors:\n%s", len(rows), md)
	}
	if rows[0] != "| ベンダ | ステータス | ベンダからのコメント | ベンダの告知ページ |" {
		t.Errorf("header %q", rows[0])
	}
	want := map[string]string{
		"株式会社アクメ":              "該当製品あり",
		"Beta Solutions, Inc.": "該当製品なし",
		"△△情報システム":             "脆弱性情報提供済み",
		"□□情報産業株式会社":           "該当製品なし：調査中",
		"☆☆☆ Systems":          "該当製品あり：調査中",
	}
	for _, r := range rows[2:] {
		cells := mdCells(r)
		if len(cells) != 4 {
			t.Fatalf("row %q has %d cells", r, len(cells))
		}
		name := strings.TrimSpace(cells[0])
		st, ok := want[name]
		if !ok {
			t.Errorf("unexpected vendor %q", name)
			continue
		}
		if strings.TrimSpace(cells[1]) != st {
			t.Errorf("%s: status cell %q, want %s", name, cells[1], st)
		}
	}
	if !strings.Contains(md, "| [https\\://acme.example/vul/1234567/index.html](https://acme.example/vul/1234567/index.html) |") {
		t.Errorf("acme's URL is not a link:\n%s", md)
	}
	if !strings.Contains(md, "A fix is planned for 2.4.1.<br>See our advisory.") {
		t.Error("multi-line comment not joined with <br>")
	}
	for _, id := range []string{"acme", "beta", "gamma", "delta", "star"} {
		if !strings.Contains(md, `<a id="vendor-`+id+`"></a>`) {
			t.Errorf("no Fig. 2 section for %s", id)
		}
	}
}

func TestHTMLStructure(t *testing.T) {
	h := mustString(t, JVNHTML, sample())
	for _, s := range []string{
		"<!DOCTYPE html>", `<html lang="ja">`, `<meta charset="UTF-8">`,
		`<th>ベンダ</th><th>ステータス</th><th>ベンダからのコメント</th><th>ベンダの告知ページ</th>`,
		`<a href="https://acme.example/vul/1234567/index.html" rel="noopener noreferrer">`,
		`<section class="vendor" id="vendor-acme">`,
		`<h2>株式会社アクメ の脆弱性 JVNVU#12345678 への対応</h2>`,
		`<td>△△情報システム</td><td><a href="#vendor-gamma">脆弱性情報提供済み</a></td>`,
		"公開日：<time datetime=\"2027-01-15T11:00:00&#43;09:00\">2027/01/15</time>",
		"</html>\n",
	} {
		if !strings.Contains(h, s) {
			t.Errorf("missing %q", s)
		}
	}
	if n := strings.Count(h, "<tr>"); n != 6 {
		t.Errorf("%d table rows, want 6", n)
	}
	if n := strings.Count(h, `<section class="vendor"`); n != 5 {
		t.Errorf("%d vendor sections, want 5", n)
	}
}

// TestOnlyDetailVendors: §6-4 lists only vendors that received the detail;
// the others must not appear in any format.
func TestOnlyDetailVendors(t *testing.T) {
	for _, f := range formats {
		out := mustString(t, f.fn, sample())
		for _, s := range []string{"Overview Only Corp", "overview-only", "must not appear"} {
			if strings.Contains(out, s) {
				t.Errorf("%s: contains %q", f.name, s)
			}
		}
	}
}

// TestStatusUpdateReexport: §6-5, a status reported after publication shows
// in the next export, and the CSAF document gets a new revision.
func TestStatusUpdateReexport(t *testing.T) {
	before, after := sample(), updated()
	mdB, mdA := mustString(t, JVNMarkdown, before), mustString(t, JVNMarkdown, after)
	if !strings.Contains(mdB, "| ☆☆☆ Systems | 該当製品あり：調査中 |") || !strings.Contains(mdA, "| ☆☆☆ Systems | 該当製品あり | Fixed in 2.4.1. |") {
		t.Errorf("status change not shown:\n%s", mdA)
	}
	if !strings.Contains(mdA, "最終更新日：2027/02/03") || strings.Contains(mdB, "最終更新日") {
		t.Error("last update date not shown after the change only")
	}
	hA := mustString(t, JVNHTML, after)
	if !strings.Contains(hA, "<td>☆☆☆ Systems</td><td><a href=\"#vendor-star\">該当製品あり</a></td><td>Fixed in 2.4.1.</td>") {
		t.Error("HTML does not show the new status and comment")
	}

	cb, ca := csafOf(t, before), csafOf(t, after)
	if cb.Document.Tracking.Status != "interim" || cb.Document.Tracking.Version != "1" {
		t.Errorf("before: status %s version %s, want interim 1 (vendors still investigating)", cb.Document.Tracking.Status, cb.Document.Tracking.Version)
	}
	if ca.Document.Tracking.Version != "2" || ca.Document.Tracking.CurrentReleaseDate != "2027-02-03T07:30:00Z" {
		t.Errorf("after: version %s current %s", ca.Document.Tracking.Version, ca.Document.Tracking.CurrentReleaseDate)
	}
	ps := ca.Vulnerabilities[0].ProductStatus
	if !contains(ps["known_affected"], "CSAFPID-star") || contains(ps["under_investigation"], "CSAFPID-star") {
		t.Errorf("after: star not moved to known_affected: %v", ps)
	}

	// A vendor update alone (no timeline entry, Updated not set) still
	// dates the page and adds a revision.
	quiet := sample()
	quiet.Vendors[1].Status = "affected"
	quiet.Vendors[1].Updated = later
	cq := csafOf(t, quiet)
	if cq.Document.Tracking.Version != "2" || cq.Document.Tracking.RevisionHistory[1].Summary != "Updated vendor information" {
		t.Errorf("vendor-only update: %+v", cq.Document.Tracking)
	}
	if md := mustString(t, JVNMarkdown, quiet); !strings.Contains(md, "最終更新日：2027/02/03") {
		t.Error("vendor-only update does not change the last update date")
	}

	// Every status settled: final.
	settled := updated()
	for i := range settled.Vendors {
		if settled.Vendors[i].ReceivedDetail {
			settled.Vendors[i].Status = "not-affected"
		}
	}
	if st := csafOf(t, settled).Document.Tracking.Status; st != "final" {
		t.Errorf("settled: status %s, want final", st)
	}
}

// TestCSAF checks the documents against the CSAF 2.0 rules and the mapping
// of statuses.
func TestCSAF(t *testing.T) {
	for name, a := range map[string]*Advisory{"published": sample(), "updated": updated(), "draft": draft(), "hostile": hostile()} {
		out, err := CSAF(a)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if p := checkCSAF(out); p != nil {
			t.Errorf("%s: not valid CSAF 2.0:\n%s", name, strings.Join(p, "\n"))
		}
	}
	c := csafOf(t, sample())
	if c.Document.Category != "csaf_security_advisory" || c.Document.CSAFVersion != "2.0" || c.Document.Publisher.Category != "coordinator" {
		t.Errorf("document: %+v", c.Document)
	}
	ps := c.Vulnerabilities[0].ProductStatus
	want := map[string][]string{
		"known_affected":      {"CSAFPID-acme"},
		"known_not_affected":  {"CSAFPID-beta"},
		"under_investigation": {"CSAFPID-gamma", "CSAFPID-delta", "CSAFPID-star"},
	}
	if len(ps) != len(want) {
		t.Errorf("product_status %v", ps)
	}
	for g, ids := range want {
		if strings.Join(ps[g], ",") != strings.Join(ids, ",") {
			t.Errorf("%s = %v, want %v", g, ps[g], ids)
		}
	}
	if len(c.ProductTree.Branches) != 5 || c.ProductTree.Branches[0].Category != "vendor" || c.ProductTree.Branches[0].Name != "株式会社アクメ" {
		t.Errorf("product_tree %+v", c.ProductTree)
	}
	refs := c.Vulnerabilities[0].References
	if len(refs) != 2 || refs[0].Category != "external" || refs[0].URL != "https://acme.example/vul/1234567/index.html" {
		t.Errorf("references %+v", refs)
	}
	if ids := c.Vulnerabilities[0].IDs; len(ids) != 1 || ids[0].SystemName != "CERT/CC" || ids[0].Text != "VU#123456" {
		t.Errorf("lead as ids: %+v", ids)
	}

	d := csafOf(t, draft())
	if d.Document.Tracking.Status != "draft" || d.Document.Tracking.Version != "0" || d.Document.Distribution.TLP.Label != "AMBER" {
		t.Errorf("draft tracking %+v distribution %+v", d.Document.Tracking, d.Document.Distribution)
	}
}

// TestProductIDsStable: IDs come from the vendor ID, not the position, so
// reordering, adding or dropping vendors keeps every other vendor's ID.
func TestProductIDsStable(t *testing.T) {
	ids := func(a *Advisory) map[string]string {
		m := map[string]string{}
		for _, b := range csafOf(t, a).ProductTree.Branches {
			m[b.Name] = b.Branches[0].Product.ProductID
		}
		return m
	}
	base := ids(sample())
	a := sample()
	a.Vendors = append([]Vendor{{ID: "new", Name: "New Vendor", ReceivedDetail: true}}, a.Vendors[3:]...)
	a.Vendors[1], a.Vendors[2] = a.Vendors[2], a.Vendors[1]
	for name, id := range ids(a) {
		if old, ok := base[name]; ok && old != id {
			t.Errorf("%s: %s became %s", name, old, id)
		}
	}
	if got := anchor("odd/id here"); got != "odd_2Fid_20here" {
		t.Errorf("anchor = %q", got)
	}
	if anchor("a_2F") == anchor("a/") {
		t.Error("anchor is not one-to-one")
	}
}

func TestCheckCSAFCatchesProblems(t *testing.T) {
	good, err := CSAF(sample())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, from, to, want string }{
		{"undefined product", `"known_not_affected": [
          "CSAFPID-beta"`, `"known_not_affected": [
          "CSAFPID-nobody"`, "6.1.1"},
		{"contradiction", `"known_not_affected": [
          "CSAFPID-beta"`, `"known_not_affected": [
          "CSAFPID-acme"`, "6.1.6"},
		{"bad date", `"initial_release_date": "2027-01-15T02:00:00Z"`, `"initial_release_date": "2027-01-15 02:00"`, "RFC 3339"},
		{"version", `"version": "1"`, `"version": "2"`, "6.1.16"},
		{"generator at document level", `"title": "複数`, `"generator": {}, "title": "複数`, "unknown key"},
		{"publisher category", `"category": "coordinator"`, `"category": "cert"`, "not one of"},
	} {
		bad := strings.Replace(string(good), tc.from, tc.to, 1)
		if bad == string(good) {
			t.Fatalf("%s: replacement did not apply", tc.name)
		}
		p := strings.Join(checkCSAF([]byte(bad)), "\n")
		if !strings.Contains(p, tc.want) {
			t.Errorf("%s: checker said %q, want %q", tc.name, p, tc.want)
		}
	}
}

// TestEscaping feeds hostile vendor text to every format.
func TestEscaping(t *testing.T) {
	long := strings.Repeat("長いコメント|<x>", 1500) // ~15k characters
	cases := []struct {
		name, vname, comment, url string
		link                      bool // the URL must become a link
	}{
		{"pipe", "A|B", "x | y || z", "https://a.example/?q=a|b", true},
		{"newline", "Line\nBreak", "one\ntwo\r\nthree\rfour\u2028five", "", false},
		{"script", "<script>alert(1)</script>", "<script>alert('x')</script><img src=x onerror=alert(1)>", "https://s.example/<script>", true},
		{"javascript url", "JS", "ok", "javascript:alert(1)", false},
		{"javascript url mixed case", "JS", "ok", " JaVaScRiPt:alert(1)", false},
		{"data url", "D", "ok", "data:text/html,<script>alert(1)</script>", false},
		{"template text", "{{.X}}", "{{.X}} {{template \"x\"}} {{/* c */}}", "https://t.example/{{.X}}", true},
		{"markdown link", "[Click](https://evil.example)", "[click](javascript:alert(1)) ![i](https://evil.example/i.png) <https://evil.example>", "", false},
		{"heading", "# Vendor", "# not a heading\n## neither\n---\n===", "", false},
		{"backticks", "`Vendor`", "```\ncode\n```", "", false},
		{"userinfo url", "U", "", "https://jvn.jp@evil.example/", false},
		{"relative url", "R", "", "/vul/1", false},
		{"bidi", "abc\u202egpj.exe", "\u202eevil\u2066", "", false},
		{"very long", strings.Repeat("名", 1000), long, "https://l.example/" + strings.Repeat("a", 3000), true},
		{"japanese", "株式会社テスト｜ソリューションズ", "修正版を公開しました。\n詳細は下記URLを参照してください。", "https://テスト.example/お知らせ?q=脆弱性", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := sample()
			a.Vendors = []Vendor{
				{ID: "x", Name: tc.vname, ReceivedDetail: true, Status: "affected", Comment: tc.comment, URL: tc.url},
				{ID: "plain", Name: "Plain", ReceivedDetail: true, Status: "not-affected"},
			}
			checkOutputs(t, a, 2)
			v := a.Vendors[0]
			_, ok := linkURL(v.URL)
			if ok != tc.link {
				t.Errorf("linkURL(%q) ok = %v, want %v", v.URL, ok, tc.link)
			}
			md := mustString(t, JVNMarkdown, a)
			if strings.Contains(md, "{{") != strings.Contains(tc.vname+tc.comment+tc.url, "{{") {
				t.Error("template braces changed")
			}
			h := mustString(t, JVNHTML, a)
			if strings.Contains(tc.comment, "{{.X}}") && !strings.Contains(h, "{{.X}}") {
				t.Error("{{.X}} was not kept as text")
			}
			if strings.Contains(md, "\u202e") || strings.Contains(h, "\u202e") {
				t.Error("bidi override kept")
			}
		})
	}
}

var hrefRe = regexp.MustCompile(`(?i)\shref\s*=\s*"([^"]*)"`)

// checkOutputs asserts what must hold for any vendor text; n is the number
// of vendors that received the detail.
func checkOutputs(t testing.TB, a *Advisory, n int) {
	t.Helper()
	md := mustString(t, JVNMarkdown, a)
	rows := mdTableRows(md)
	if len(rows) != 2+n {
		t.Fatalf("markdown: %d table lines, want %d:\n%s", len(rows), 2+n, md)
	}
	for _, r := range rows {
		if c := len(mdCells(r)); c != 4 {
			t.Fatalf("markdown: row has %d cells: %q", c, r)
		}
	}
	headings := 0
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "#") {
			headings++
		}
	}
	base := 4 + n // title, 概要, ベンダ情報, ベンダ別情報, one per vendor
	if a.Impact != "" {
		base++
	}
	if len(a.Timeline) > 0 {
		base++
	}
	if headings != base {
		t.Fatalf("markdown: %d headings, want %d:\n%s", headings, base, md)
	}
	// The only HTML is ours: <br> and the section anchors.
	rest := regexp.MustCompile(`<br>|<a id="vendor-[A-Za-z0-9._-]+"></a>`).ReplaceAllString(md, "")
	if strings.Contains(rest, "<") {
		t.Fatalf("markdown: raw '<' from vendor text:\n%s", md)
	}
	// The only links are the safe URLs, twice each (table, section).
	links := 0
	for _, v := range a.Vendors {
		if v.ReceivedDetail {
			if _, ok := linkURL(oneLine(v.URL)); ok {
				links += 2
			}
		}
	}
	if got := mdLinkCount(md); got != links {
		t.Fatalf("markdown: %d links, want %d:\n%s", got, links, md)
	}

	h := mustString(t, JVNHTML, a)
	if strings.Contains(strings.ToLower(h), "<script") {
		t.Fatalf("html: <script in the output:\n%s", h)
	}
	for _, m := range hrefRe.FindAllStringSubmatch(h, -1) {
		u := m[1]
		if !strings.HasPrefix(u, "#vendor-") && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			t.Fatalf("html: link to %q", u)
		}
	}
	if c := strings.Count(h, "<tr>"); c != n+1 {
		t.Fatalf("html: %d rows, want %d", c, n+1)
	}
	if c := strings.Count(h, "<td>"); c != 4*n {
		t.Fatalf("html: %d cells, want %d", c, 4*n)
	}
	if c := strings.Count(h, `<section class="vendor"`); c != n {
		t.Fatalf("html: %d vendor sections, want %d", c, n)
	}

	cs, err := CSAF(a)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(cs) {
		t.Fatalf("csaf: not JSON:\n%s", cs)
	}
	if p := checkCSAF(cs); p != nil {
		t.Fatalf("csaf: %s", strings.Join(p, "\n"))
	}
	js, err := JSON(a)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Vendors []struct {
			Name, Comment string
		}
	}
	if err := json.Unmarshal(js, &back); err != nil || len(back.Vendors) != n {
		t.Fatalf("json: %v, %d vendors", err, len(back.Vendors))
	}
}

// mdLinkCount counts "](" whose ']' is not backslash-escaped (an odd run
// of backslashes before it escapes it).
func mdLinkCount(md string) int {
	n := 0
	for i := 0; i+1 < len(md); i++ {
		if md[i] != ']' || md[i+1] != '(' {
			continue
		}
		bs := 0
		for j := i - 1; j >= 0 && md[j] == '\\'; j-- {
			bs++
		}
		if bs%2 == 0 {
			n++
		}
	}
	return n
}

func TestLinkURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://acme.example/vul/1", "https://acme.example/vul/1"},
		{"  HTTP://Acme.example:8080/a?b=c&d=e#frag  ", "http://Acme.example:8080/a?b=c&d=e#frag"},
		{"https://a.example/a|b(c)<d>`e`\\f\"g\"{h}^", "https://a.example/a%7Cb%28c%29%3Cd%3E%60e%60%5Cf%22g%22%7Bh%7D%5E"},
		{"https://a.example/%E3%81%82?q=%", "https://a.example/%E3%81%82?q=%25"},
		{"https://a.example/%zz", ""},
		{"https://a.example:0/", ""},
		{"https://a.example/#a#b", "https://a.example/#a%23b"},
		{"https://a.example/[x]", "https://a.example/%5Bx%5D"},
		{"https://[2001:db8::1]:443/x", "https://[2001:db8::1]:443/x"},
		{"https://例え.jp/パス", "https://%E4%BE%8B%E3%81%88.jp/%E3%83%91%E3%82%B9"},
		{"javascript:alert(1)", ""},
		{"JAVASCRIPT://%0Aalert(1)", ""},
		{"data:text/html,x", ""},
		{"vbscript:x", ""},
		{"//evil.example/", ""},
		{"/relative", ""},
		{"https://", ""},
		{"https:///path", ""},
		{"https://user:pass@evil.example/", ""},
		{"https://good.example@evil.example/", ""},
		{"https://a.example/x y", ""},
		{"https://a.example/x\u3000詳細", ""},
		{"https://a.example/\x00", ""},
		{"https://a.example:99999999999/", ""},
		{"https://a.exa<mple/", ""},
		{"https://a.example\\@evil.example/", ""},
		{"", ""},
	} {
		got, ok := linkURL(tc.in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("linkURL(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(a *Advisory)
		want   string
	}{
		{"no id", func(a *Advisory) { a.ID = " " }, "no ID"},
		{"state", func(a *Advisory) { a.State = "public" }, "unknown state"},
		{"published without date", func(a *Advisory) { a.Published = time.Time{} }, "without a publication date"},
		{"status", func(a *Advisory) { a.Vendors[0].Status = "fixed" }, "unknown status"},
		{"vendor id", func(a *Advisory) { a.Vendors[0].ID = "" }, "has no ID"},
		{"duplicate", func(a *Advisory) { a.Vendors[1].ID = "acme" }, "listed twice"},
		{"namespace", func(a *Advisory) { a.Namespace = "csirt" }, "namespace"},
	} {
		a := sample()
		tc.change(a)
		for _, f := range formats {
			if _, err := f.fn(a); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s/%s: err = %v, want %q", tc.name, f.name, err, tc.want)
			}
		}
	}
	for _, f := range formats {
		if _, err := f.fn(nil); err == nil {
			t.Errorf("%s(nil): no error", f.name)
		}
	}
	// A status of an unpublished vendor is not checked: it is not shown.
	a := sample()
	a.Vendors[5].Status = "garbage"
	if _, err := JVNMarkdown(a); err != nil {
		t.Errorf("overview-only vendor's status checked: %v", err)
	}
	// CSAF needs a product and a date.
	a = sample()
	for i := range a.Vendors {
		a.Vendors[i].ReceivedDetail = false
	}
	if _, err := CSAF(a); err == nil || !strings.Contains(err.Error(), "no vendor") {
		t.Errorf("CSAF without vendors: %v", err)
	}
	if md := mustString(t, JVNMarkdown, a); !strings.Contains(md, "（ベンダ情報はありません）") || len(mdTableRows(md)) != 0 {
		t.Errorf("markdown without vendors:\n%s", md)
	}
}

// TestLenient: what a caller may leave out.
func TestLenient(t *testing.T) {
	// No title: the ID stands in (CSAF requires a title).
	a := sample()
	a.Title = ""
	if c := csafOf(t, a); c.Document.Title != "JVNVU#12345678" {
		t.Errorf("title %q", c.Document.Title)
	}
	// No state: published when dated, else draft.
	a = sample()
	a.State = ""
	if st := csafOf(t, a).Document.Tracking.Status; st != "interim" {
		t.Errorf("undated state, published: %s", st)
	}
	a.Published = time.Time{}
	if st := csafOf(t, a).Document.Tracking.Status; st != "draft" {
		t.Errorf("undated state, unpublished: %s", st)
	}
	// A draft without any time: a valid document with a placeholder date.
	a = draft()
	for i := range a.Vendors {
		a.Vendors[i].Updated = time.Time{}
	}
	out, err := CSAF(a)
	if err != nil {
		t.Fatal(err)
	}
	if p := checkCSAF(out); p != nil {
		t.Error(strings.Join(p, "\n"))
	}
	if !strings.Contains(string(out), `"current_release_date": "1970-01-01T00:00:00Z"`) {
		t.Errorf("placeholder date missing:\n%s", out)
	}
}

func TestLocation(t *testing.T) {
	a := sample()
	a.Published = time.Date(2027, 1, 15, 20, 0, 0, 0, time.UTC) // 16 Jan in Tokyo
	if md := mustString(t, JVNMarkdown, a); !strings.Contains(md, "公開日：2027/01/16") {
		t.Error("default zone is not Asia/Tokyo")
	}
	a.Location = time.UTC
	if md := mustString(t, JVNMarkdown, a); !strings.Contains(md, "公開日：2027/01/15") {
		t.Error("Location ignored")
	}
}

func TestUnpublishedNotice(t *testing.T) {
	for _, f := range formats[:2] {
		out := mustString(t, f.fn, draft())
		if !strings.Contains(out, "未公表") || strings.Contains(out, "公開日") {
			t.Errorf("%s: a preview must say it is unpublished and show no date", f.name)
		}
	}
}

func mustString(t testing.TB, fn func(*Advisory) ([]byte, error), a *Advisory) string {
	t.Helper()
	out, err := fn(a)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func csafOf(t testing.TB, a *Advisory) csafDoc {
	t.Helper()
	out, err := CSAF(a)
	if err != nil {
		t.Fatal(err)
	}
	var c csafDoc
	if err := json.Unmarshal(out, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestJSONShape: snake_case keys, every key present even when empty.
func TestJSONShape(t *testing.T) {
	out := mustString(t, JSON, draft())
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	snake := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if !snake.MatchString(k) {
					t.Errorf("key %q is not snake_case", k)
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(m)
	for _, k := range []string{"id", "title", "overview", "impact", "lead", "state", "published", "updated", "vendors", "timeline", "generator"} {
		if _, ok := m[k]; !ok {
			t.Errorf("key %q missing", k)
		}
	}
	if tl, ok := m["timeline"].([]any); !ok || len(tl) != 0 {
		t.Errorf("timeline = %v, want []", m["timeline"])
	}
}
