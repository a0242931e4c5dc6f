package export

import (
	"strings"
)

// Markdown labels, as on a JVN page (Fig. 1, Fig. 2).
var mdColumns = [4]string{"ベンダ", "ステータス", "ベンダからのコメント", "ベンダの告知ページ"}

// JVNMarkdown renders the advisory as a JVN-style page in Markdown: title,
// overview, impact, the Fig. 1 vendor table (one row per vendor that received
// the detail) and a Fig. 2 section per vendor.
//
// All text is escaped for CommonMark/GFM: no vendor text can add a table
// cell or row, a heading, raw HTML or a link; the vendor's URL is the only
// link and only when linkURL accepts it.
func JVNMarkdown(a *Advisory) ([]byte, error) {
	d, err := prepare(a)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("# " + mdInline(d.id) + " " + mdInline(d.title) + "\n\n")
	if d.isPublic() {
		b.WriteString("公開日：" + d.date(d.published))
		if d.lastUpdate.After(d.published) {
			b.WriteString("　最終更新日：" + d.date(d.lastUpdate))
		}
		b.WriteString("\n\n")
	}
	if note := d.stateNoteJA(); note != "" {
		b.WriteString("> **" + mdInline(note) + "**\n\n")
	}
	if d.lead != "" {
		b.WriteString("海外調整機関：" + mdInline(d.lead) + "\n\n")
	}

	b.WriteString("## 概要\n\n")
	mdParagraphs(&b, d.overview)
	if d.impact != "" {
		b.WriteString("## 想定される影響\n\n")
		mdParagraphs(&b, d.impact)
	}

	b.WriteString("## ベンダ情報\n\n")
	if len(d.vendors) == 0 {
		b.WriteString("（ベンダ情報はありません）\n\n")
	} else {
		b.WriteString("| " + strings.Join(mdColumns[:], " | ") + " |\n")
		b.WriteString("|---|---|---|---|\n")
		for _, v := range d.vendors {
			// The status cell holds the guideline's words alone, so a script
			// reading the table gets them verbatim; the HTML page links it
			// to the vendor's section as Fig. 1 does.
			b.WriteString("| " + mdInline(v.name) +
				" | " + mdInline(v.statusJA()) +
				" | " + mdCell(v.comment) +
				" | " + mdLink(v) + " |\n")
		}
		b.WriteString("\n")
	}

	if len(d.timeline) > 0 {
		b.WriteString("## 更新履歴\n\n")
		for _, e := range d.timeline {
			b.WriteString("- " + d.date(e.Time) + "：" + mdInline(e.Text) + "\n")
		}
		b.WriteString("\n")
	}

	if len(d.vendors) > 0 {
		b.WriteString("## ベンダ別情報\n")
		for _, v := range d.vendors {
			// An explicit anchor (#vendor-ID, as in the HTML page): heading
			// ids differ from renderer to renderer.
			b.WriteString("\n<a id=\"vendor-" + v.anchor + "\"></a>\n\n")
			b.WriteString("### " + mdInline(v.name) + " の脆弱性 " + mdInline(d.id) + " への対応\n\n")
			b.WriteString("- 脆弱性識別番号：" + mdInline(d.id) + "\n")
			b.WriteString("- 脆弱性タイトル：" + mdInline(d.title) + "\n")
			b.WriteString("- ステータス：**" + mdInline(v.statusJA()) + "**\n")
			comment := "なし"
			if v.comment != "" {
				comment = mdCell(v.comment)
			}
			b.WriteString("- 製品開発者からのコメント：" + comment + "\n")
			if v.url != "" {
				b.WriteString("- 告知ページ：" + mdLink(v) + "\n")
			}
			if !v.updated.IsZero() {
				b.WriteString("- 更新日：" + d.date(v.updated) + "\n")
			}
		}
		b.WriteString("\n")
	}
	if d.generator != "" {
		b.WriteString("---\n\n生成：" + mdInline(d.generator) + "\n")
	}
	return []byte(b.String()), nil
}

// mdLink is the vendor's URL as a link when it is safe, else as text.
func mdLink(v vendor) string {
	if v.href == "" {
		return mdInline(v.url)
	}
	// href is percent-encoded ASCII without '(', ')', '|', '<', '>',
	// '\' or spaces, so it cannot end the destination or the cell.
	return "[" + mdInline(v.url) + "](" + v.href + ")"
}

// mdCell renders multi-line text on one line: a table row cannot span lines.
func mdCell(s string) string {
	ls := lines(s)
	for i, l := range ls {
		ls[i] = mdInline(l)
	}
	return strings.Join(ls, "<br>")
}

// mdParagraphs writes plain text as Markdown paragraphs. Each line is escaped
// inline and its start is defused, since a line of a paragraph can open a
// list, a heading, a quote or a fence, or turn the paragraph into a
// heading ("===", "---").
func mdParagraphs(b *strings.Builder, s string) {
	ps := paragraphs(s)
	if len(ps) == 0 {
		b.WriteString("（なし）\n\n")
		return
	}
	for _, p := range ps {
		for i, l := range p {
			if i > 0 {
				b.WriteString("<br>\n")
			}
			b.WriteString(mdLineStart(mdInline(strings.TrimLeft(l, " "))))
		}
		b.WriteString("\n\n")
	}
}

// mdLineStart escapes what would start a block at the beginning of a line
// and is not already escaped by mdInline: list bullets "-" "+", setext
// underlines "=", and ordered list markers "1." "1)".
func mdLineStart(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '-', '+', '=':
		return `\` + s
	}
	i := 0
	for i < len(s) && i < 10 && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i > 0 && i < len(s) && (s[i] == '.' || s[i] == ')') {
		return s[:i] + `\` + s[i:]
	}
	return s
}

// mdInline escapes one line of text for use inside a Markdown paragraph,
// heading, list item or table cell:
//   - '\', '`', '*', '_', '~', '$', '[', ']' and '|' get a backslash (code,
//     emphasis, strikethrough, math, links and GFM cell breaks);
//   - '<', '>' and '&' become entities (raw HTML, autolinks, quotes,
//     entities written by the vendor);
//   - '#' at the start or after a space (headings and their closing run);
//   - "://" and "www." are broken with a backslash so that GFM's extended
//     autolinks do not turn vendor text into links (renders unchanged).
func mdInline(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\', '`', '*', '_', '~', '$', '[', ']', '|':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '#':
			if i == 0 || s[i-1] == ' ' {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		case ':':
			if strings.HasPrefix(s[i+1:], "//") {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		case '.':
			if i >= 3 && strings.EqualFold(s[i-3:i], "www") {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
