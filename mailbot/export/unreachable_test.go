package export

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var unrGoldenDir = filepath.Join(goldenDir, "unreachable")

func unrDay(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 10, 0, 0, 0, jst) }

// unrSample is a list with one entry per stage (§7-1, §7-2; DESIGN §5),
// companies and communities, Japanese and English names, and a developer
// whose name is unknown (Fig. 3 "DID#CCCCC -").
func unrSample() *UnreachableList {
	return &UnreachableList{
		Updated:   unrDay(2027, 1, 10),
		Publisher: "Example CSIRT",
		Contact:   "vultures@cert.example",
		Entries: []UnreachableEntry{
			// Given out of order: the list sorts by date added, then DID.
			{DID: "DID#20270004", Community: true, Note: "製品 C の開発者", Added: unrDay(2027, 1, 10), Stage: 1},
			{DID: "DID#20270003", Vendor: "株式会社サンプルソフト", Added: unrDay(2027, 1, 10), Stage: 1,
				// Kept by the store, never shown at stage 1 (§7-1).
				Products: []Product{{Name: "未公開製品", Version: "9.9.9"}},
				Deadline: unrDay(2027, 9, 9)},
			{DID: "DID#20260012", Vendor: "Foo Project", Community: true, Related: "https://foo.example/",
				Added: unrDay(2026, 10, 5), Stage: 2, Disclosed: unrDay(2027, 1, 8),
				Products: []Product{{Name: "FooLib", Version: "1.2.0 to 1.4.3"}}},
			{DID: "DID#20260007", Vendor: "Example Widgets Ltd.", Related: "参考：販売元のサイトは閉鎖済み",
				Added: unrDay(2026, 7, 1), Stage: 3, Disclosed: unrDay(2026, 10, 1),
				Deadline: unrDay(2027, 4, 5), DeadlineAdded: unrDay(2027, 1, 5),
				Products: []Product{{Name: "Widget Server", Version: "3.1"}, {Name: "Widget Agent"}},
				Note:     "代理店経由の販売あり"},
			{DID: "DID#20260002", Vendor: "ほげプロジェクト", Community: true, Related: "https://hoge.example/viewer/",
				Added: unrDay(2026, 4, 1), Stage: 4, Disclosed: unrDay(2026, 7, 1),
				Deadline: unrDay(2027, 1, 4), DeadlineAdded: unrDay(2026, 10, 1),
				Products: []Product{{Name: "ほげビューア", Version: "2.0.1 およびそれ以前"}},
				Timeline: []Entry{
					{Time: unrDay(2026, 10, 1), Text: "「連絡不能開発者一覧」に連絡期限を追記"},
					{Time: unrDay(2026, 4, 1), Text: "「連絡不能開発者一覧」に開発者名を掲載"},
					{Time: unrDay(2026, 7, 1), Text: "「連絡不能開発者一覧」に製品情報を掲載"},
					{Time: unrDay(2027, 1, 4), Text: "連絡期限内に製品開発者から応答なし"},
				}},
		},
	}
}

// unrHostile carries hostile vendor, product, note and related text at
// every stage.
func unrHostile() *UnreachableList {
	bad := "Evil | Corp\n<script>alert(1)</script> [x](javascript:alert(1)) # h {{.X}}"
	return &UnreachableList{
		Updated: unrDay(2027, 1, 10),
		Entries: []UnreachableEntry{
			{DID: "DID#20270001", Vendor: bad, Related: "javascript:alert(1)", Added: unrDay(2027, 1, 1), Stage: 1,
				Note:     "a | b\n# heading\n<img src=x onerror=alert(1)>",
				Products: []Product{{Name: "<script>hidden</script>", Version: "|"}}},
			{DID: "DID#20270002", Vendor: "Pipes || Inc.\r\n---", Related: "https://ok.example/a|b(c)<d>?q=\"x\"",
				Added: unrDay(2027, 1, 2), Stage: 2, Community: true,
				Products: []Product{{Name: "<ScRiPt>x</sCrIpT>|", Version: "1|2\n3"}, {Name: "`code` *b*", Version: "<b>"}}},
			{DID: "DID#2027 <x>", Vendor: "\u202eevil.exe", Related: "<https://auto.example/> www.example.com",
				Added: unrDay(2027, 1, 3), Stage: 4, Deadline: unrDay(2027, 4, 3),
				Products: []Product{{Name: "1. list", Version: "- item"}},
				Timeline: []Entry{{Time: unrDay(2027, 1, 3), Text: "<script>alert(2)</script> | x"}}},
		},
	}
}

type unrFormat struct {
	name, ext string
	fn        func(*UnreachableList) ([]byte, error)
}

var unrFormats = []unrFormat{
	{"md", ".md", UnreachableMarkdown},
	{"html", ".html", UnreachableHTML},
	{"json", ".json", UnreachableJSON},
}

func TestUnreachableGolden(t *testing.T) {
	for name, mk := range map[string]func() *UnreachableList{"list": unrSample, "hostile": unrHostile} {
		for _, f := range unrFormats {
			t.Run(name+f.ext, func(t *testing.T) {
				got, err := f.fn(mk())
				if err != nil {
					t.Fatal(err)
				}
				again, _ := f.fn(mk())
				if !bytes.Equal(got, again) {
					t.Fatal("two renderings of the same input differ")
				}
				path := filepath.Join(unrGoldenDir, name+f.ext)
				if *update {
					if err := os.MkdirAll(unrGoldenDir, 0o755); err != nil {
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

func unrString(t testing.TB, fn func(*UnreachableList) ([]byte, error), l *UnreachableList) string {
	t.Helper()
	out, err := fn(l)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestUnreachableTable: Fig. 3's columns, one row per entry sorted by date
// added then DID, 製品情報 linked only from stage 2.
func TestUnreachableTable(t *testing.T) {
	md := unrString(t, UnreachableMarkdown, unrSample())
	rows := mdTableRows(md)
	if len(rows) != 2+5 {
		t.Fatalf("%d table lines, want header, delimiter and 5 entries:\n%s", len(rows), md)
	}
	if rows[0] != "| 問合せ番号 | 開発者名 | 関連情報 | 一覧追加日 | 製品情報 | 備考 |" {
		t.Errorf("header %q", rows[0])
	}
	want := []struct{ did, vendor, added, products string }{
		{"DID#20260002", "ほげプロジェクト", "2026/04/01", "[2026/07/01（開示）](#did-20260002)"},
		{"DID#20260007", "Example Widgets Ltd.", "2026/07/01", "[2026/10/01（開示）](#did-20260007)"},
		{"DID#20260012", "Foo Project", "2026/10/05", "[2027/01/08（開示）](#did-20260012)"},
		{"DID#20270003", "株式会社サンプルソフト", "2027/01/10", "-"},
		{"DID#20270004", "-", "2027/01/10", "-"},
	}
	for i, r := range rows[2:] {
		c := mdCells(r)
		if len(c) != 6 {
			t.Fatalf("row %q has %d cells", r, len(c))
		}
		for j := range c {
			c[j] = strings.TrimSpace(c[j])
		}
		w := want[i]
		if c[0] != w.did || c[1] != w.vendor || c[3] != w.added || c[4] != w.products {
			t.Errorf("row %d = %q, want %+v", i, c, w)
		}
	}
	if !strings.Contains(md, "| [https\\://foo.example/](https://foo.example/) |") {
		t.Error("related URL is not a link")
	}
	if !strings.Contains(md, "| 参考：販売元のサイトは閉鎖済み |") {
		t.Error("related text missing")
	}

	h := unrString(t, UnreachableHTML, unrSample())
	for _, s := range []string{
		"<!DOCTYPE html>", `<html lang="ja">`, `<meta charset="UTF-8">`,
		"<tr><th>問合せ番号</th><th>開発者名</th><th>関連情報</th><th>一覧追加日</th><th>製品情報</th><th>備考</th></tr>",
		`<td><a href="#did-20260012">2027/01/08（開示）</a></td>`,
		`<section class="did" id="did-20260012">`,
		`<tr><td>DID#20270004</td><td>-</td><td>-</td><td><time datetime="2027-01-10T10:00:00&#43;09:00">2027/01/10</time></td><td>-</td><td>製品 C の開発者</td></tr>`,
		"Subject に問合せ番号を明記し vultures@cert.example 宛に、ご連絡ください。",
		"</html>\n",
	} {
		if !strings.Contains(h, s) {
			t.Errorf("html: missing %q", s)
		}
	}
	if strings.Index(h, "DID#20260002") > strings.Index(h, "DID#20270004") {
		t.Error("html: not sorted by date added")
	}
}

// TestUnreachableStages: what each stage publishes (§7-1, §7-2; DESIGN
// §5), for a company and a community, in every format.
func TestUnreachableStages(t *testing.T) {
	for stage := 1; stage <= 4; stage++ {
		for _, community := range []bool{false, true} {
			l := &UnreachableList{
				Contact: "vultures@cert.example",
				Entries: []UnreachableEntry{{
					DID: "DID#20270001", Vendor: "Vendor X", Community: community, Stage: stage,
					Added: unrDay(2027, 1, 1), Disclosed: unrDay(2027, 4, 1),
					Products:      []Product{{Name: "ProdX", Version: "7.7.7"}},
					Deadline:      time.Date(2027, 10, 1, 23, 59, 59, 0, jst),
					DeadlineAdded: unrDay(2027, 7, 1),
					Timeline:      []Entry{{Time: unrDay(2027, 10, 2), Text: "経緯テキスト"}},
				}},
			}
			name := map[bool]string{false: "company", true: "community"}[community]
			for _, f := range unrFormats {
				out := unrString(t, f.fn, l)
				has := func(s string, want bool) {
					t.Helper()
					if strings.Contains(out, s) != want {
						t.Errorf("stage %d %s %s: contains %q = %v, want %v", stage, name, f.name, s, !want, want)
					}
				}
				has("Vendor X", true)
				has("ProdX", stage >= 2)
				has("7.7.7", stage >= 2)
				has("2027-10-01", stage >= 3)
				has("経緯テキスト", stage == 4)
				if f.name == "json" {
					continue
				}
				has("did-20270001", stage >= 2)
				has("2027年10月01日", stage >= 3)
				has("まで受け付けます。", stage >= 3)
				has("（連絡期限追記）", stage >= 3)
				has("公表判定委員会", stage == 4)
				// Fig. 4-1 (company) or Fig. 4-2 (community).
				has("販売代理店等、本製品に関係する方", stage >= 2 && !community)
				has("製品開発者との連絡方法をご存じの方", stage >= 2 && community)
				has("同製品の派生・関連製品のコミュニティに所属する製品開発者の方", stage >= 2 && community)
			}

			var js struct {
				Entries []struct {
					Anchor   string            `json:"anchor"`
					Stage    int               `json:"stage"`
					Products []json.RawMessage `json:"products"`
					Deadline string            `json:"deadline"`
					Timeline []json.RawMessage `json:"timeline"`
				} `json:"entries"`
			}
			if err := json.Unmarshal([]byte(unrString(t, UnreachableJSON, l)), &js); err != nil || len(js.Entries) != 1 {
				t.Fatalf("json: %v %+v", err, js)
			}
			e := js.Entries[0]
			if e.Stage != stage || (len(e.Products) > 0) != (stage >= 2) || (e.Deadline != "") != (stage >= 3) ||
				(len(e.Timeline) > 0) != (stage == 4) || (e.Anchor != "") != (stage >= 2) {
				t.Errorf("stage %d %s json: %+v", stage, name, e)
			}

			md := unrString(t, UnreachableMarkdown, l)
			c := mdCells(mdTableRows(md)[2])
			if cell := strings.TrimSpace(c[4]); (cell == "-") != (stage == 1) {
				t.Errorf("stage %d: 製品情報 cell %q", stage, cell)
			}
		}
	}
}

// TestUnreachableWording: the sentences of Figs. 4-1, 4-2, 5-1 and 5-2.
func TestUnreachableWording(t *testing.T) {
	md := unrString(t, UnreachableMarkdown, unrSample())
	for _, s := range []string{
		// Fig. 4-2, one product named in the sentence.
		"製品名 FooLib、バージョン 1.2.0 to 1.4.3 の作者、または著作権を有している製品開発者の方、" +
			"または製品開発者との連絡方法をご存じの方は下記の宛先までご連絡をお願いします。" +
			"また、同製品の派生・関連製品のコミュニティに所属する製品開発者の方で、修正版の提供が可能な方からのご連絡もお待ちしています。",
		// Fig. 4-1 with two products: listed, then "上記製品".
		"- 製品名：Widget Server　バージョン：3.1\n- 製品名：Widget Agent　バージョン：不明\n\n" +
			"上記製品の作者、または著作権を有している製品開発者の方、または販売代理店等、本製品に関係する方は下記の宛先までご連絡をお願いします。",
		// Fig. 5: the deadline in the guideline's form and ISO 8601.
		"本件に関するご連絡は、2027年04月05日（2027-04-05）まで受け付けます。",
		"- 公開日：2026年10月01日\n- 更新日：2027年01月05日（連絡期限追記）",
		"なお、2027年04月05日（2027-04-05）までにご連絡をいただけなかった場合は、製品開発者と連絡がとれないため調整不能と判断し、",
		"- 連絡先：vultures@cert.example（Subject に問合せ番号 DID#20260007 を明記してください）",
		// Fig. 6 history, oldest first.
		"- 2026/04/01：「連絡不能開発者一覧」に開発者名を掲載\n- 2026/07/01：「連絡不能開発者一覧」に製品情報を掲載\n" +
			"- 2026/10/01：「連絡不能開発者一覧」に連絡期限を追記\n- 2027/01/04：連絡期限内に製品開発者から応答なし\n",
		"Example CSIRTでは、",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("markdown: missing %q", s)
		}
	}
	h := unrString(t, UnreachableHTML, unrSample())
	for _, s := range []string{
		`<p class="deadline">本件に関するご連絡は、<time datetime="2027-04-05T10:00:00&#43;09:00">2027年04月05日</time>まで受け付けます。</p>`,
		`更新日：<time datetime="2027-01-05T10:00:00&#43;09:00">2027年01月05日</time>（連絡期限追記）`,
		`<li><time datetime="2026-04-01T10:00:00&#43;09:00">2026/04/01</time>：「連絡不能開発者一覧」に開発者名を掲載</li>`,
	} {
		if !strings.Contains(h, s) {
			t.Errorf("html: missing %q", s)
		}
	}
	// Without a contact address the page points to the publisher.
	l := unrSample()
	l.Contact, l.Publisher = "", ""
	md = unrString(t, UnreachableMarkdown, l)
	if !strings.Contains(md, "Subject に問合せ番号を明記し、coordbotまでご連絡ください。") ||
		!strings.Contains(md, "- 連絡先：coordbot（Subject に問合せ番号") {
		t.Errorf("no contact fallback:\n%s", md)
	}
}

func TestUnreachableEscaping(t *testing.T) {
	l := unrHostile()
	checkUnreachable(t, l)
	md := unrString(t, UnreachableMarkdown, l)
	for _, s := range []string{
		"| Evil \\| Corp &lt;script&gt;alert(1)&lt;/script&gt; \\[x\\](javascript:alert(1)) \\# h {{.X}} |",
		"| a \\| b<br>\\# heading<br>&lt;img src=x onerror=alert(1)&gt; |",
		"[https\\://ok.example/a\\|b(c)&lt;d&gt;?q=\"x\"](https://ok.example/a%7Cb%28c%29%3Cd%3E?q=%22x%22)",
		`<a id="did-2027_20_3Cx_3E"></a>`,
	} {
		if !strings.Contains(md, s) {
			t.Errorf("markdown: missing %q:\n%s", s, md)
		}
	}
	for _, f := range unrFormats {
		out := unrString(t, f.fn, l)
		for _, s := range []string{"hidden", "\u202e"} {
			if strings.Contains(out, s) {
				t.Errorf("%s: contains %q", f.name, s)
			}
		}
	}
	h := unrString(t, UnreachableHTML, l)
	if !strings.Contains(h, "<td>Evil | Corp &lt;script&gt;alert(1)&lt;/script&gt; [x](javascript:alert(1)) # h {{.X}}</td>") {
		t.Errorf("html: vendor name not escaped as text:\n%s", h)
	}
}

func TestUnreachableErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(l *UnreachableList)
		want   string
	}{
		{"no did", func(l *UnreachableList) { l.Entries[0].DID = " \n" }, "has no DID"},
		{"stage 0", func(l *UnreachableList) { l.Entries[0].Stage = 0 }, "out of range"},
		{"stage 5", func(l *UnreachableList) { l.Entries[0].Stage = 5 }, "out of range"},
		{"no added", func(l *UnreachableList) { l.Entries[0].Added = time.Time{} }, "一覧追加日"},
		{"duplicate", func(l *UnreachableList) { l.Entries[1].DID = l.Entries[0].DID }, "listed twice"},
		{"same anchor", func(l *UnreachableList) { l.Entries[1].DID = "20270004" }, "listed twice"},
		{"no products", func(l *UnreachableList) { l.Entries[2].Products = nil }, "without products"},
		{"product name", func(l *UnreachableList) { l.Entries[2].Products[0].Name = "\t" }, "no name"},
		{"no deadline", func(l *UnreachableList) { l.Entries[3].Deadline = time.Time{} }, "without a contact deadline"},
	} {
		l := unrSample()
		tc.change(l)
		for _, f := range unrFormats {
			if _, err := f.fn(l); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s/%s: err = %v, want %q", tc.name, f.name, err, tc.want)
			}
		}
	}
	for _, f := range unrFormats {
		if _, err := f.fn(nil); err == nil {
			t.Errorf("%s(nil): no error", f.name)
		}
	}
	// Stage 1 needs no products and no deadline; an empty list is fine.
	l := &UnreachableList{Entries: []UnreachableEntry{{DID: "DID#1", Added: unrDay(2027, 1, 1), Stage: 1}}}
	checkUnreachable(t, l)
	empty := &UnreachableList{}
	checkUnreachable(t, empty)
	if md := unrString(t, UnreachableMarkdown, empty); !strings.Contains(md, unrEmptyList) || strings.Contains(md, "最終更新日") {
		t.Errorf("empty list:\n%s", md)
	}
}

func TestUnreachableLocation(t *testing.T) {
	l := &UnreachableList{Entries: []UnreachableEntry{{
		DID: "DID#1", Stage: 3, Added: time.Date(2027, 1, 15, 20, 0, 0, 0, time.UTC), // 16 Jan in Tokyo
		Products: []Product{{Name: "P"}}, Deadline: time.Date(2027, 6, 30, 16, 0, 0, 0, time.UTC),
	}}}
	md := unrString(t, UnreachableMarkdown, l)
	if !strings.Contains(md, " | 2027/01/16 | ") || !strings.Contains(md, "2027年07月01日（2027-07-01）") {
		t.Errorf("default zone is not Asia/Tokyo:\n%s", md)
	}
	if js := unrString(t, UnreachableJSON, l); !strings.Contains(js, `"added": "2027-01-16T05:00:00+09:00"`) ||
		!strings.Contains(js, `"updated": "2027-01-16T05:00:00+09:00"`) {
		t.Errorf("json not RFC 3339 in Asia/Tokyo:\n%s", js)
	}
	l.Location = time.UTC
	md = unrString(t, UnreachableMarkdown, l)
	if !strings.Contains(md, " | 2027/01/15 | ") || !strings.Contains(md, "2027年06月30日（2027-06-30）") {
		t.Errorf("Location ignored:\n%s", md)
	}
	if js := unrString(t, UnreachableJSON, l); !strings.Contains(js, `"deadline": "2027-06-30T16:00:00Z"`) {
		t.Errorf("json not in Location:\n%s", js)
	}
}

// TestUnreachableJSONShape: snake_case keys, every key present.
func TestUnreachableJSONShape(t *testing.T) {
	var m struct {
		Top     map[string]any
		Entries []map[string]any `json:"entries"`
	}
	out := []byte(unrString(t, UnreachableJSON, unrSample()))
	if err := json.Unmarshal(out, &m.Top); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &m); err != nil {
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
	walk(m.Top)
	for _, k := range []string{"publisher", "contact", "updated", "entries"} {
		if _, ok := m.Top[k]; !ok {
			t.Errorf("key %q missing", k)
		}
	}
	keys := []string{"did", "anchor", "vendor", "community", "related", "related_link", "added", "stage",
		"products", "disclosed", "deadline", "deadline_added", "note", "timeline"}
	for _, e := range m.Entries {
		for _, k := range keys {
			if _, ok := e[k]; !ok {
				t.Errorf("%v: key %q missing", e["did"], k)
			}
		}
		if len(e) != len(keys) {
			t.Errorf("%v: %d keys, want %d", e["did"], len(e), len(keys))
		}
	}
	if got := m.Entries[4]; got["did"] != "DID#20270004" || got["vendor"] != "" || got["community"] != true {
		t.Errorf("last entry %v", got)
	}
}

var unrOwnHTML = regexp.MustCompile(`<br>|<a id="did-[A-Za-z0-9._-]+"></a>`)

// checkUnreachable asserts what must hold for any entry text.
func checkUnreachable(t testing.TB, l *UnreachableList) {
	t.Helper()
	n, pages, links := len(l.Entries), 0, 0
	for _, e := range l.Entries {
		if e.Stage >= UnreachableProducts {
			pages++
		}
		if _, ok := linkURL(oneLine(e.Related)); ok {
			links++
		}
	}
	md := unrString(t, UnreachableMarkdown, l)
	rows := mdTableRows(md)
	if n > 0 && len(rows) != 2+n || n == 0 && len(rows) != 0 {
		t.Fatalf("markdown: %d table lines, want %d:\n%s", len(rows), 2+n, md)
	}
	for _, r := range rows {
		if c := len(mdCells(r)); c != 6 {
			t.Fatalf("markdown: row has %d cells: %q", c, r)
		}
	}
	headings := 0
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "#") {
			headings++
		}
	}
	want := 5 // title, 概要, 調査対象, 連絡先, 一覧
	if pages > 0 {
		want += 1 + pages
	}
	if headings != want {
		t.Fatalf("markdown: %d headings, want %d:\n%s", headings, want, md)
	}
	if rest := unrOwnHTML.ReplaceAllString(md, ""); strings.Contains(rest, "<") {
		t.Fatalf("markdown: raw '<' from entry text:\n%s", md)
	}
	if got := mdLinkCount(md); got != links+pages {
		t.Fatalf("markdown: %d links, want %d:\n%s", got, links+pages, md)
	}

	h := unrString(t, UnreachableHTML, l)
	if strings.Contains(strings.ToLower(h), "<script") {
		t.Fatalf("html: <script in the output:\n%s", h)
	}
	for _, m := range hrefRe.FindAllStringSubmatch(h, -1) {
		u := m[1]
		if !strings.HasPrefix(u, "#did-") && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			t.Fatalf("html: link to %q", u)
		}
	}
	if c := strings.Count(h, "<tr>"); n > 0 && c != n+1 || n == 0 && c != 0 {
		t.Fatalf("html: %d rows for %d entries", c, n)
	}
	if c := strings.Count(h, "<td>"); c != 6*n {
		t.Fatalf("html: %d cells, want %d", c, 6*n)
	}
	if c := strings.Count(h, `<section class="did"`); c != pages {
		t.Fatalf("html: %d product sections, want %d", c, pages)
	}

	js := unrString(t, UnreachableJSON, l)
	var back struct {
		Entries []struct{ Vendor string }
	}
	if err := json.Unmarshal([]byte(js), &back); err != nil || len(back.Entries) != n {
		t.Fatalf("json: %v, %d entries", err, len(back.Entries))
	}
}

// FuzzUnreachable renders a list whose vendor names, related text, notes
// and products are arbitrary, at every stage, and checks that Markdown
// rows keep exactly 6 cells, that nothing but the page's own markup is
// HTML and that no <script reaches the page.
func FuzzUnreachable(f *testing.F) {
	seeds := [][5]string{
		{"株式会社アクメ", "https://acme.example/", "製品 C の開発者", "アクメビューア", "1.0"},
		{"Evil | Corp", "a | b", "a | b\nc\r\nd", "P|Q", "1|2"},
		{"<script>alert(1)</script>", "<ScRiPt src=//x></sCrIpT>", "<script>", "<script>", "</script>"},
		{"[x](javascript:alert(1))", "javascript:alert(1)", "![i](https://e.example) <https://e.example>", "`x`", "*y*"},
		{"# h", "https://a.example/a|b (c)", "# h\n---\n===\n1. x\n- y\n> q\n```", "- item", "1. x"},
		{"{{.X}}", "{{template \"x\"}}", "{{/* c */}}", "{{.Y}}", "{{"},
		{"\u202eevil", "\x00\x1b[31m", "\u2028\u0085", "\\", "\\|"},
		{"", "", "", "", ""},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2], s[3], s[4])
	}
	f.Fuzz(func(t *testing.T, name, related, note, product, version string) {
		l := &UnreachableList{Publisher: name, Contact: related}
		for stage := 1; stage <= 4; stage++ {
			l.Entries = append(l.Entries, UnreachableEntry{
				DID: "DID#2027000" + string(rune('0'+stage)), Vendor: name, Community: stage%2 == 0,
				Related: related, Note: note, Stage: stage, Added: unrDay(2027, 1, stage),
				Products: []Product{{Name: product, Version: version}, {Name: "Plain", Version: version}},
				Deadline: unrDay(2027, 7, 1), Timeline: []Entry{{Time: unrDay(2027, 7, 2), Text: note}},
			})
		}
		if oneLine(product) == "" {
			for _, f := range unrFormats {
				if _, err := f.fn(l); err == nil {
					t.Fatalf("%s: a product without a name was accepted", f.name)
				}
			}
			return
		}
		checkUnreachable(t, l)
	})
}
