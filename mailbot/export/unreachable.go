package export

// The unreachable developers list (連絡不能開発者一覧) of guideline §7.
//
// §7-1: a vendor the desk cannot reach (no contact method, unknown vendor,
// or no answer within 3 months, §2-3 and §4-5) is listed by name with a
// DID number, and the desk asks it to get in touch (Fig. 3). About 3 months
// later the product name and version are published and anyone who knows
// the developer is asked to get in touch (Fig. 4-1 for a company, Fig. 4-2
// for a community or an individual). §7-2: 3 more months and a contact
// deadline is appended (Fig. 5-1, Fig. 5-2); 3 more months and a disclosure
// committee of third parties may decide to publish the vulnerability with
// the vendor's name (Fig. 6). DESIGN §5 numbers these stages 1 to 4.
//
// The list is public, so it shows nothing about a vulnerability: an entry
// carries only what Fig. 3 and Figs. 4-5 show (DID, vendor name, 関連情報,
// dates, products from stage 2, the deadline from stage 3) and the desk's
// own notes. Vendor, product and note text is untrusted and goes through
// the same cleaning and escaping as the advisory (cleanText, oneLine,
// mdInline, html/template, linkURL).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"sort"
	"strings"
	"time"
)

// Unreachable stages (DESIGN §5; guideline §7-1, §7-2).
const (
	// UnreachableListed: the vendor name is listed with a DID number and
	// the desk asks it to get in touch (§7-1, Fig. 3).
	UnreachableListed = 1
	// UnreachableProducts: the product name and version are published and
	// anyone who knows the developer is asked to get in touch (§7-1,
	// Fig. 4-1, Fig. 4-2).
	UnreachableProducts = 2
	// UnreachableDeadline: a contact deadline is appended to the product
	// information (§7-2, Fig. 5-1, Fig. 5-2).
	UnreachableDeadline = 3
	// UnreachableCommittee: the disclosure committee may decide to publish
	// the vulnerability with the vendor's name (§7-2, Fig. 6).
	UnreachableCommittee = 4
)

// UnreachableEntry is one vendor on the unreachable developers list (one
// row of Fig. 3 and, from stage 2, one product page of Figs. 4-5).
type UnreachableEntry struct {
	// DID is the inquiry number (問合せ番号), e.g. "DID#20270001"; required
	// and unique within the list.
	DID string
	// Vendor is the developer's name or handle (開発者名); "" shows "-",
	// as Fig. 3 does for a developer whose name is unknown.
	Vendor string
	// Community: an open-source community or an individual developer
	// (Fig. 4-2, Fig. 5-2 wording); false: a company (Fig. 4-1, Fig. 5-1).
	Community bool
	// Related is 関連情報: a link to the developer or product information,
	// or a short note (Fig. 3). An http(s) URL becomes a link.
	Related string
	// Added is 一覧追加日, when stage 1 was applied; required.
	Added time.Time
	// Stage is 1..4 (the Unreachable* constants).
	Stage int
	// Products (製品情報) are published from stage 2 on; at least one is
	// required then. They are never shown at stage 1.
	Products []Product
	// Deadline is the contact deadline appended from stage 3 (Fig. 5),
	// required then; it is not shown before.
	Deadline time.Time
	// Note is 備考 (Fig. 3 "補足情報等"), may be multi-line.
	Note string
	// Timeline is an optional history shown at stage 4 in Fig. 6 style
	// ("YYYY/MM/DD：text"), oldest first.
	Timeline []Entry

	// Disclosed (optional) is when stage 2 was applied: the date of the
	// product page (Fig. 4 公開日) and of the 製品情報 cell ("11/12/16
	// （開示）" in Fig. 3). Zero leaves the date out.
	Disclosed time.Time
	// DeadlineAdded (optional) is when stage 3 was applied (Fig. 5
	// "更新日：…（連絡期限追記）"). Zero leaves the line out.
	DeadlineAdded time.Time
}

// Product is a product published from stage 2 (Fig. 4: 製品名, バージョン).
// Name is required; Version may be "" (unknown) or a range such as
// "1.0 から 1.4".
type Product struct{ Name, Version string }

// UnreachableList is the whole public page (Fig. 3 and the product pages).
type UnreachableList struct {
	Entries []UnreachableEntry
	// Updated is the page's last update; zero means the latest date shown.
	Updated time.Time
	// Location is the zone dates are shown in; nil means Asia/Tokyo.
	Location *time.Location
	// Publisher names the desk (Fig. 3 "IPA … および JPCERT コーディネーション
	// センター"); "" means "coordbot".
	Publisher string
	// Contact (optional) is the desk's address to write to, e.g. the
	// configured bot.address (Fig. 3, Fig. 4 "連絡先： jvn@jvn.jp").
	// Without it the page asks readers to contact the Publisher.
	Contact string
}

// UnreachableAnchor is the id of an entry's product page section, e.g.
// "did-20270001" for "DID#20270001": the DID without its "DID#" prefix,
// made safe for HTML ids and URL fragments by anchor (one-to-one).
func UnreachableAnchor(did string) string {
	did = oneLine(did)
	if rest := strings.TrimPrefix(did, "DID#"); rest != "" {
		did = rest
	}
	return "did-" + anchor(did)
}

// Guideline wording. The request sentences are those of Fig. 4-1 (a
// company) and Fig. 4-2 (a community, individuals included); the deadline
// sentences are those of Fig. 5-1 and Fig. 5-2; the committee note
// follows §7-2 and the history Fig. 6.
const (
	unrTitle = "開発者情報 公開調査"
	// §7-1, Fig. 3 (概要, 調査対象, 連絡先).
	unrOverview = "%sでは、届け出られたソフトウエア製品の脆弱性関連情報の取扱いにあたり、" +
		"以下の一覧に掲載されている製品開発者、またはその関係者からのご連絡を求めています。"
	unrScope = "届け出られたソフトウエア製品で、インターネット等から入手し得る情報では連絡が取れない、" +
		"以下の一覧に掲載されている製品開発者、またはその関係者が調査対象です。"
	unrContactTo   = "Subject に問合せ番号を明記し %s 宛に、ご連絡ください。"
	unrContactNone = "Subject に問合せ番号を明記し、%sまでご連絡ください。"
	unrEmptyList   = "（掲載中の製品開発者はありません）"

	// Figs. 4-1 and 4-2: who is asked to get in touch.
	unrAskCompany = "の作者、または著作権を有している製品開発者の方、" +
		"または販売代理店等、本製品に関係する方は下記の宛先までご連絡をお願いします。"
	unrAskCommunity = "の作者、または著作権を有している製品開発者の方、" +
		"または製品開発者との連絡方法をご存じの方は下記の宛先までご連絡をお願いします。" +
		"また、同製品の派生・関連製品のコミュニティに所属する製品開発者の方で、" +
		"修正版の提供が可能な方からのご連絡もお待ちしています。"
	// Figs. 5-1 and 5-2 (the same for both): the deadline, before and
	// after the contact lines.
	unrDeadlineAccept = "本件に関するご連絡は、%sまで受け付けます。"
	unrDeadlineAfter  = "なお、%sまでにご連絡をいただけなかった場合は、製品開発者と連絡がとれないため調整不能と判断し、" +
		"「情報セキュリティ早期警戒パートナーシップガイドライン」の「Ⅳ.ソフトウエア製品に係る脆弱性関連情報取扱」" +
		"および付録 8、9及び 11の記載に準じて取り扱います。"
	// §7-2: after the deadline, the disclosure committee.
	unrCommittee = "連絡期限までに製品開発者からのご連絡がなかったため、製品開発者と連絡がとれず調整不能と判断しました。" +
		"製品利用者自身にその対象製品を継続使用する事で生じるリスクを自ら管理する機会を提供するため、" +
		"第三者委員で構成される公表判定委員会での公表判断の審議を経た上で、" +
		"製品開発者名とともに脆弱性情報などを公表することがあります。"
	// Fig. 6 "公表に至る経緯は以下の通りです。", before publication.
	unrHistory = "これまでの経緯は以下の通りです。"
)

// unrList is the list after validation and cleaning, shared by every
// format so that they agree on which entries show what.
type unrList struct {
	// f holds the zone; its date, stamp and htmlDate methods format.
	f                  *doc
	publisher, contact string
	updated            time.Time
	entries            []unrEntry
	pages              int // entries at stage 2 or later
}

type unrEntry struct {
	did, anchor, vendor, related, relatedHref, note string
	community                                       bool
	stage                                           int
	added, disclosed, deadline, deadlineAdded       time.Time
	// products is empty before stage 2, deadline zero before stage 3 and
	// timeline empty before stage 4: what is not public yet never reaches
	// a renderer.
	products []Product
	timeline []Entry
}

func (e *unrEntry) hasPage() bool { return e.stage >= UnreachableProducts }

// vendorCell is the name as Fig. 3 shows it, "-" when unknown.
func (e *unrEntry) vendorCell() string {
	if e.vendor == "" {
		return "-"
	}
	return e.vendor
}

// ask is the Fig. 4-1 / 4-2 request, naming the product when there is one
// ("製品名ｘｘｘ、バージョン xxxx の作者…") and "上記製品" otherwise.
func (e *unrEntry) ask() string {
	subject := "上記製品"
	if len(e.products) == 1 {
		p := e.products[0]
		subject = "製品名 " + p.Name
		if p.Version != "" {
			subject += "、バージョン " + p.Version
		}
		subject += " "
	}
	if e.community {
		return subject + unrAskCommunity
	}
	return subject + unrAskCompany
}

func prepareUnreachable(l *UnreachableList) (*unrList, error) {
	if l == nil {
		return nil, errors.New("export: no unreachable list")
	}
	u := &unrList{
		f:         &doc{loc: l.Location},
		publisher: oneLine(l.Publisher),
		contact:   oneLine(l.Contact),
		updated:   l.Updated,
	}
	if u.f.loc == nil {
		u.f.loc = jst
	}
	if u.publisher == "" {
		u.publisher = defaultPublisher
	}
	seen := map[string]string{} // anchor → DID
	var latest time.Time
	later := func(t time.Time) {
		if t.After(latest) {
			latest = t
		}
	}
	for i, in := range l.Entries {
		e := unrEntry{
			did:       oneLine(in.DID),
			vendor:    oneLine(in.Vendor),
			community: in.Community,
			related:   oneLine(in.Related),
			note:      cleanText(in.Note),
			stage:     in.Stage,
			added:     in.Added,
		}
		if e.did == "" {
			return nil, fmt.Errorf("export: unreachable entry %d has no DID", i+1)
		}
		if e.stage < UnreachableListed || e.stage > UnreachableCommittee {
			return nil, fmt.Errorf("export: %s: unreachable stage %d out of range 1..4", e.did, in.Stage)
		}
		if e.added.IsZero() {
			return nil, fmt.Errorf("export: %s: no date added to the list (一覧追加日)", e.did)
		}
		e.anchor = UnreachableAnchor(e.did)
		if other, dup := seen[e.anchor]; dup {
			return nil, fmt.Errorf("export: %s: listed twice (same anchor as %s)", e.did, other)
		}
		seen[e.anchor] = e.did
		e.relatedHref, _ = linkURL(e.related)
		later(e.added)

		// §7-1: products only from stage 2 (stage 1 publishes the name).
		if e.stage >= UnreachableProducts {
			for _, p := range in.Products {
				p = Product{Name: oneLine(p.Name), Version: oneLine(p.Version)}
				if p.Name == "" {
					return nil, fmt.Errorf("export: %s: a product has no name", e.did)
				}
				e.products = append(e.products, p)
			}
			if len(e.products) == 0 {
				return nil, fmt.Errorf("export: %s: stage %d without products", e.did, e.stage)
			}
			e.disclosed = in.Disclosed
			later(e.disclosed)
		}
		// §7-2: the deadline only from stage 3.
		if e.stage >= UnreachableDeadline {
			if in.Deadline.IsZero() {
				return nil, fmt.Errorf("export: %s: stage %d without a contact deadline", e.did, e.stage)
			}
			e.deadline = in.Deadline
			e.deadlineAdded = in.DeadlineAdded
			later(e.deadlineAdded)
		}
		// §7-2, Fig. 6: the history once the committee may decide.
		if e.stage >= UnreachableCommittee {
			for _, t := range in.Timeline {
				e.timeline = append(e.timeline, Entry{Time: t.Time, Text: oneLine(t.Text)})
				later(t.Time)
			}
			sort.SliceStable(e.timeline, func(i, j int) bool { return e.timeline[i].Time.Before(e.timeline[j].Time) })
		}
		if e.hasPage() {
			u.pages++
		}
		u.entries = append(u.entries, e)
	}
	// Fig. 3 lists by date added; the DID orders entries of one day.
	sort.SliceStable(u.entries, func(i, j int) bool {
		a, b := u.entries[i], u.entries[j]
		if !a.added.Equal(b.added) {
			return a.added.Before(b.added)
		}
		return a.did < b.did
	})
	if u.updated.IsZero() {
		u.updated = latest
	}
	return u, nil
}

// jaDate is a day as Figs. 4 and 5 write it ("yyyy年mm月dd日").
func (u *unrList) jaDate(t time.Time) string { return t.In(u.f.loc).Format("2006年01月02日") }

// isoDate is the same day in ISO 8601.
func (u *unrList) isoDate(t time.Time) string { return t.In(u.f.loc).Format("2006-01-02") }

// deadlineText is the deadline for a reader of Markdown: the guideline's
// form and ISO 8601.
func (u *unrList) deadlineText(t time.Time) string {
	return u.jaDate(t) + "（" + u.isoDate(t) + "）"
}

func (u *unrList) overview() string { return fmt.Sprintf(unrOverview, u.publisher) }

func (u *unrList) contactText() string {
	if u.contact == "" {
		return fmt.Sprintf(unrContactNone, u.publisher)
	}
	return fmt.Sprintf(unrContactTo, u.contact)
}

// contactLine is Fig. 4's "連絡先：" value.
func (u *unrList) contactLine(e *unrEntry) string {
	to := u.contact
	if to == "" {
		to = u.publisher
	}
	return to + "（Subject に問合せ番号 " + e.did + " を明記してください）"
}

// disclosedCell is the 製品情報 cell text of Fig. 3 ("11/12/16（開示）").
func (u *unrList) disclosedCell(e *unrEntry) string {
	if e.disclosed.IsZero() {
		return "製品情報（開示）"
	}
	return u.f.date(e.disclosed) + "（開示）"
}

// Fig. 3 columns, in order.
var unrColumns = [6]string{"問合せ番号", "開発者名", "関連情報", "一覧追加日", "製品情報", "備考"}

// UnreachableMarkdown renders the unreachable developers list (§7, Fig. 3)
// as Markdown: the table with the columns 問合せ番号 | 開発者名 | 関連情報 |
// 一覧追加日 | 製品情報 | 備考, one row per entry by date added, then a
// product page section per entry from stage 2 (Figs. 4-5, anchor
// "did-…"). Untrusted text is escaped as in JVNMarkdown: no name can add
// a cell, a row, a heading, raw HTML or a link.
func UnreachableMarkdown(l *UnreachableList) ([]byte, error) {
	u, err := prepareUnreachable(l)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("# " + unrTitle + "\n\n")
	if !u.updated.IsZero() {
		b.WriteString("最終更新日：" + u.f.date(u.updated) + "\n\n")
	}
	b.WriteString("## 概要\n\n" + mdLineStart(mdInline(u.overview())) + "\n\n")
	b.WriteString("## 調査対象\n\n" + mdInline(unrScope) + "\n\n")
	b.WriteString("## 連絡先\n\n" + mdInline(u.contactText()) + "\n\n")

	b.WriteString("## 連絡不能開発者一覧\n\n")
	if len(u.entries) == 0 {
		b.WriteString(unrEmptyList + "\n\n")
	} else {
		b.WriteString("| " + strings.Join(unrColumns[:], " | ") + " |\n")
		b.WriteString("|---|---|---|---|---|---|\n")
		for i := range u.entries {
			e := &u.entries[i]
			related := "-"
			if e.related != "" {
				related = mdLink(vendor{url: e.related, href: e.relatedHref})
			}
			products := "-" // §7-1: nothing before stage 2
			if e.hasPage() {
				// The anchor is [A-Za-z0-9._-]: it cannot end the link.
				products = "[" + mdInline(u.disclosedCell(e)) + "](#" + e.anchor + ")"
			}
			note := "-"
			if e.note != "" {
				note = mdCell(e.note)
			}
			b.WriteString("| " + mdInline(e.did) +
				" | " + mdInline(e.vendorCell()) +
				" | " + related +
				" | " + u.f.date(e.added) +
				" | " + products +
				" | " + note + " |\n")
		}
		b.WriteString("\n")
	}

	if u.pages > 0 {
		b.WriteString("## 製品開発者に関する情報\n")
		for i := range u.entries {
			e := &u.entries[i]
			if !e.hasPage() {
				continue
			}
			b.WriteString("\n<a id=\"" + e.anchor + "\"></a>\n\n")
			// Fig. 4: "XXXXX の製品開発者に関する情報".
			b.WriteString("### " + mdInline(e.did) + " の製品開発者に関する情報\n\n")
			b.WriteString("- 開発者名：" + mdInline(e.vendorCell()) + "\n")
			for _, p := range e.products {
				v := p.Version
				if v == "" {
					v = "不明"
				}
				b.WriteString("- 製品名：" + mdInline(p.Name) + "　バージョン：" + mdInline(v) + "\n")
			}
			b.WriteString("\n" + mdInline(e.ask()) + "\n\n")
			if !e.deadline.IsZero() {
				b.WriteString(fmt.Sprintf(unrDeadlineAccept, u.deadlineText(e.deadline)) + "\n\n")
			}
			b.WriteString("- 連絡先：" + mdInline(u.contactLine(e)) + "\n")
			if !e.disclosed.IsZero() {
				b.WriteString("- 公開日：" + u.jaDate(e.disclosed) + "\n")
			}
			if !e.deadlineAdded.IsZero() {
				b.WriteString("- 更新日：" + u.jaDate(e.deadlineAdded) + "（連絡期限追記）\n")
			}
			if !e.deadline.IsZero() {
				b.WriteString("\n" + fmt.Sprintf(unrDeadlineAfter, u.deadlineText(e.deadline)) + "\n")
			}
			if e.stage >= UnreachableCommittee {
				b.WriteString("\n**公表判定委員会での審議**：" + unrCommittee + "\n")
				if len(e.timeline) > 0 {
					b.WriteString("\n" + unrHistory + "\n\n")
					for _, t := range e.timeline {
						b.WriteString("- " + u.f.date(t.Time) + "：" + mdInline(t.Text) + "\n")
					}
				}
			}
		}
		b.WriteString("\n")
	}
	return []byte(b.String()), nil
}

// UnreachableHTML renders the list as a complete HTML5 page (lang="ja",
// UTF-8): the Fig. 3 table and, from stage 2, a product page section per
// entry (id="did-…", Figs. 4-5). All text goes through html/template as
// data; the related URL is a link only when linkURL accepts it.
func UnreachableHTML(l *UnreachableList) ([]byte, error) {
	u, err := prepareUnreachable(l)
	if err != nil {
		return nil, err
	}
	v := unrHTMLView{
		Title:    unrTitle,
		Overview: u.overview(),
		Scope:    unrScope,
		Contact:  u.contactText(),
		Columns:  unrColumns,
	}
	if !u.updated.IsZero() {
		v.Updated = u.f.htmlDate(u.updated)
	}
	for i := range u.entries {
		e := &u.entries[i]
		row := unrHTMLRow{
			DID:     e.did,
			Vendor:  e.vendorCell(),
			Related: unrLink{URL: e.related, Href: e.relatedHref},
			Added:   u.f.htmlDate(e.added),
			Note:    lines(e.note),
		}
		if e.hasPage() {
			row.Anchor = e.anchor
			row.Disclosed = u.disclosedCell(e)
		}
		v.Rows = append(v.Rows, row)
		if !e.hasPage() {
			continue
		}
		s := unrHTMLSection{
			Anchor:   e.anchor,
			DID:      e.did,
			Vendor:   e.vendorCell(),
			Products: e.products,
			Ask:      e.ask(),
			Contact:  u.contactLine(e),
		}
		if !e.disclosed.IsZero() {
			s.Disclosed = unrHTMLDay{Text: u.jaDate(e.disclosed), ISO: u.f.stamp(e.disclosed)}
		}
		if !e.deadline.IsZero() {
			s.Deadline = unrHTMLDay{Text: u.jaDate(e.deadline), ISO: u.f.stamp(e.deadline)}
			s.Accept, s.After = unrSplit(unrDeadlineAccept), unrSplit(unrDeadlineAfter)
		}
		if !e.deadlineAdded.IsZero() {
			s.DeadlineAdded = unrHTMLDay{Text: u.jaDate(e.deadlineAdded), ISO: u.f.stamp(e.deadlineAdded)}
		}
		if e.stage >= UnreachableCommittee {
			s.Committee = unrCommittee
			for _, t := range e.timeline {
				s.Timeline = append(s.Timeline, htmlEntry{Date: u.f.htmlDate(t.Time), Text: t.Text})
			}
		}
		v.Sections = append(v.Sections, s)
	}
	var buf bytes.Buffer
	if err := unreachableTmpl.ExecuteTemplate(&buf, "unreachable", v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type unrHTMLView struct {
	Title, Overview, Scope, Contact string
	Columns                         [6]string
	Updated                         htmlDate
	Rows                            []unrHTMLRow
	Sections                        []unrHTMLSection
}

// unrLink has the fields the page template's "url" template reads.
type unrLink struct{ URL, Href string }

type unrHTMLRow struct {
	DID, Vendor string
	Related     unrLink
	Added       htmlDate
	// Anchor and Disclosed are set from stage 2 only.
	Anchor, Disclosed string
	Note              []string
}

// unrHTMLDay is a day in the guideline's form with its instant.
type unrHTMLDay struct{ Text, ISO string }

type unrHTMLSection struct {
	Anchor, DID, Vendor, Ask, Contact, Committee string
	Products                                     []Product
	Disclosed, Deadline, DeadlineAdded           unrHTMLDay
	// Accept and After are the Fig. 5 sentences around the deadline.
	Accept, After [2]string
	Timeline      []htmlEntry
}

// unreachableTmpl shares the advisory page's "comment" and "url"
// templates (html.go), so vendor text is shown the same way in both.
var unreachableTmpl = template.Must(template.Must(pageTmpl.Clone()).New("unreachable").Parse(unreachableHTML))

// unrSplit cuts a wording constant at its %s, so that the page can put a
// <time> element in its place.
func unrSplit(format string) [2]string {
	before, after, _ := strings.Cut(format, "%s")
	return [2]string{before, after}
}

const unreachableHTML = `<!DOCTYPE html>
<html lang="ja">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}（連絡不能開発者一覧）</title>
<style>
body{font-family:sans-serif;line-height:1.6;max-width:60em;margin:0 auto;padding:1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid #999;padding:.3em .5em;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#eee}
.did{border-top:2px solid #ccc;margin-top:2em}
.committee{background:#fff3cd;border:1px solid #e0c060;padding:.5em}
.url-text{color:#666}
</style>
</head>
<body>
<header>
<h1>{{.Title}}</h1>
{{- if .Updated.Text}}
<p class="dates">最終更新日：<time datetime="{{.Updated.ISO}}">{{.Updated.Text}}</time></p>
{{- end}}
</header>
<main>
<section id="overview">
<h2>概要</h2>
<p>{{.Overview}}</p>
</section>
<section id="scope">
<h2>調査対象</h2>
<p>{{.Scope}}</p>
</section>
<section id="contact">
<h2>連絡先</h2>
<p>{{.Contact}}</p>
</section>
<section id="list">
<h2>連絡不能開発者一覧</h2>
{{- if .Rows}}
<table>
<thead>
<tr>{{range .Columns}}<th>{{.}}</th>{{end}}</tr>
</thead>
<tbody>
{{- range .Rows}}
<tr><td>{{.DID}}</td><td>{{.Vendor}}</td><td>{{if .Related.URL}}{{template "url" .Related}}{{else}}-{{end}}</td><td><time datetime="{{.Added.ISO}}">{{.Added.Text}}</time></td><td>{{if .Anchor}}<a href="#{{.Anchor}}">{{.Disclosed}}</a>{{else}}-{{end}}</td><td>{{if .Note}}{{template "comment" .Note}}{{else}}-{{end}}</td></tr>
{{- end}}
</tbody>
</table>
{{- else}}
<p>` + unrEmptyList + `</p>
{{- end}}
</section>
{{- range .Sections}}
<section class="did" id="{{.Anchor}}">
<h2>{{.DID}} の製品開発者に関する情報</h2>
<dl>
<dt>開発者名</dt><dd>{{.Vendor}}</dd>
{{- range .Products}}
<dt>製品名</dt><dd>{{.Name}}</dd>
<dt>バージョン</dt><dd>{{if .Version}}{{.Version}}{{else}}不明{{end}}</dd>
{{- end}}
</dl>
<p>{{.Ask}}</p>
{{- if .Deadline.Text}}
<p class="deadline">{{index .Accept 0}}<time datetime="{{.Deadline.ISO}}">{{.Deadline.Text}}</time>{{index .Accept 1}}</p>
{{- end}}
<p>連絡先：{{.Contact}}
{{- if .Disclosed.Text}}<br>
公開日：<time datetime="{{.Disclosed.ISO}}">{{.Disclosed.Text}}</time>
{{- end}}
{{- if .DeadlineAdded.Text}}<br>
更新日：<time datetime="{{.DeadlineAdded.ISO}}">{{.DeadlineAdded.Text}}</time>（連絡期限追記）
{{- end}}</p>
{{- if .Deadline.Text}}
<p>{{index .After 0}}<time datetime="{{.Deadline.ISO}}">{{.Deadline.Text}}</time>{{index .After 1}}</p>
{{- end}}
{{- if .Committee}}
<p class="committee"><strong>公表判定委員会での審議</strong>：{{.Committee}}</p>
{{- if .Timeline}}
<p>` + unrHistory + `</p>
<ul>
{{- range .Timeline}}
<li><time datetime="{{.Date.ISO}}">{{.Date.Text}}</time>：{{.Text}}</li>
{{- end}}
</ul>
{{- end}}
{{- end}}
</section>
{{- end}}
</main>
</body>
</html>
`

// UnreachableJSON renders the list as indented JSON with stable snake_case
// keys, every key always present; times are RFC 3339 in the list's zone,
// "" when unset. Entries are in the list's order (date added, then DID);
// products are [] before stage 2, the deadline "" before stage 3 and the
// timeline [] before stage 4, as on the page.
func UnreachableJSON(l *UnreachableList) ([]byte, error) {
	u, err := prepareUnreachable(l)
	if err != nil {
		return nil, err
	}
	out := unrJSONList{
		Publisher: u.publisher,
		Contact:   u.contact,
		Updated:   u.f.stamp(u.updated),
		Entries:   []unrJSONEntry{},
	}
	for i := range u.entries {
		e := &u.entries[i]
		je := unrJSONEntry{
			DID:           e.did,
			Vendor:        e.vendor,
			Community:     e.community,
			Related:       e.related,
			RelatedLink:   e.relatedHref,
			Added:         u.f.stamp(e.added),
			Stage:         e.stage,
			Products:      []unrJSONProduct{},
			Disclosed:     u.f.stamp(e.disclosed),
			Deadline:      u.f.stamp(e.deadline),
			DeadlineAdded: u.f.stamp(e.deadlineAdded),
			Note:          e.note,
			Timeline:      []jsonEntry{},
		}
		if e.hasPage() {
			je.Anchor = e.anchor
		}
		for _, p := range e.products {
			je.Products = append(je.Products, unrJSONProduct{Name: p.Name, Version: p.Version})
		}
		for _, t := range e.timeline {
			je.Timeline = append(je.Timeline, jsonEntry{Time: u.f.stamp(t.Time), Text: t.Text})
		}
		out.Entries = append(out.Entries, je)
	}
	// HTML escaping stays on, as in JSON: the output may be embedded.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type unrJSONList struct {
	Publisher string         `json:"publisher"`
	Contact   string         `json:"contact"`
	Updated   string         `json:"updated"`
	Entries   []unrJSONEntry `json:"entries"`
}

type unrJSONEntry struct {
	DID string `json:"did"`
	// Anchor is the product page section's id, "" before stage 2.
	Anchor    string `json:"anchor"`
	Vendor    string `json:"vendor"`
	Community bool   `json:"community"`
	Related   string `json:"related"`
	// RelatedLink is Related as it is linked; "" when it is not a safe
	// http(s) URL.
	RelatedLink   string           `json:"related_link"`
	Added         string           `json:"added"`
	Stage         int              `json:"stage"`
	Products      []unrJSONProduct `json:"products"`
	Disclosed     string           `json:"disclosed"`
	Deadline      string           `json:"deadline"`
	DeadlineAdded string           `json:"deadline_added"`
	Note          string           `json:"note"`
	Timeline      []jsonEntry      `json:"timeline"`
}

type unrJSONProduct struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}
