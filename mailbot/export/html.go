package export

import (
	"bytes"
	"html/template"
	"time"
)

// JVNHTML renders the advisory as a complete HTML5 page (lang="ja", UTF-8):
// the Fig. 1 vendor table and a Fig. 2 section per vendor (id="vendor-ID").
//
// Every piece of text goes through html/template as data, so vendor text is
// escaped for the context it lands in and is never parsed as a template.
// Only URLs accepted by linkURL (http, https) become links, and
// html/template's own URL filter stays in force behind that check.
func JVNHTML(a *Advisory) ([]byte, error) {
	d, err := prepare(a)
	if err != nil {
		return nil, err
	}
	v := htmlView{
		ID:        d.id,
		Title:     d.title,
		Lead:      d.lead,
		StateNote: d.stateNoteJA(),
		Generator: d.generator,
		Overview:  paragraphs(d.overview),
		Impact:    paragraphs(d.impact),
	}
	if d.isPublic() {
		v.Published = d.htmlDate(d.published)
		if d.lastUpdate.After(d.published) {
			v.LastUpdate = d.htmlDate(d.lastUpdate)
		}
	}
	for _, x := range d.vendors {
		hv := htmlVendor{
			Anchor:   x.anchor,
			Name:     x.name,
			StatusJA: x.statusJA(),
			Comment:  lines(x.comment),
			URL:      x.url,
			Href:     x.href,
		}
		if !x.updated.IsZero() {
			hv.Updated = d.htmlDate(x.updated)
		}
		v.Vendors = append(v.Vendors, hv)
	}
	for _, e := range d.timeline {
		v.Timeline = append(v.Timeline, htmlEntry{Date: d.htmlDate(e.Time), Text: e.Text})
	}
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type htmlView struct {
	ID, Title, Lead, StateNote, Generator string
	Published, LastUpdate                 htmlDate
	Overview, Impact                      [][]string
	Vendors                               []htmlVendor
	Timeline                              []htmlEntry
}

type htmlVendor struct {
	Anchor, Name, StatusJA string
	Comment                []string
	// URL is the text as given; Href is set only for a safe http(s) link.
	// Href is a string, not template.URL, on purpose: html/template then
	// still filters it.
	URL, Href string
	Updated   htmlDate
}

type htmlEntry struct {
	Date htmlDate
	Text string
}

// htmlDate is a day for the reader and the instant for machines; zero
// means absent.
type htmlDate struct{ Text, ISO string }

func (d *doc) htmlDate(t time.Time) htmlDate {
	return htmlDate{Text: d.date(t), ISO: d.stamp(t)}
}

var pageTmpl = template.Must(template.New("page").Parse(pageHTML))

const pageHTML = `<!DOCTYPE html>
<html lang="ja">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{{- if .Generator}}
<meta name="generator" content="{{.Generator}}">
{{- end}}
<title>{{.ID}}: {{.Title}}</title>
<style>
body{font-family:sans-serif;line-height:1.6;max-width:60em;margin:0 auto;padding:1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid #999;padding:.3em .5em;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#eee}
.state{background:#fff3cd;border:1px solid #e0c060;padding:.5em}
.vendor{border-top:2px solid #ccc;margin-top:2em}
.url-text{color:#666}
</style>
</head>
<body>
<header>
<p class="id">{{.ID}}</p>
<h1>{{.Title}}</h1>
{{- if .Published.Text}}
<p class="dates">公開日：<time datetime="{{.Published.ISO}}">{{.Published.Text}}</time>
{{- if .LastUpdate.Text}}　最終更新日：<time datetime="{{.LastUpdate.ISO}}">{{.LastUpdate.Text}}</time>{{end}}</p>
{{- end}}
{{- if .StateNote}}
<p class="state"><strong>{{.StateNote}}</strong></p>
{{- end}}
{{- if .Lead}}
<p class="lead">海外調整機関：{{.Lead}}</p>
{{- end}}
</header>
<main>
<section id="overview">
<h2>概要</h2>
{{- range .Overview}}
<p>{{range $i, $l := .}}{{if $i}}<br>{{end}}{{$l}}{{end}}</p>
{{- else}}
<p>（なし）</p>
{{- end}}
</section>
{{- if .Impact}}
<section id="impact">
<h2>想定される影響</h2>
{{- range .Impact}}
<p>{{range $i, $l := .}}{{if $i}}<br>{{end}}{{$l}}{{end}}</p>
{{- end}}
</section>
{{- end}}
<section id="vendors">
<h2>ベンダ情報</h2>
{{- if .Vendors}}
<table>
<thead>
<tr><th>ベンダ</th><th>ステータス</th><th>ベンダからのコメント</th><th>ベンダの告知ページ</th></tr>
</thead>
<tbody>
{{- range .Vendors}}
<tr><td>{{.Name}}</td><td><a href="#vendor-{{.Anchor}}">{{.StatusJA}}</a></td><td>{{template "comment" .Comment}}</td><td>{{template "url" .}}</td></tr>
{{- end}}
</tbody>
</table>
{{- else}}
<p>（ベンダ情報はありません）</p>
{{- end}}
</section>
{{- if .Timeline}}
<section id="history">
<h2>更新履歴</h2>
<ul>
{{- range .Timeline}}
<li><time datetime="{{.Date.ISO}}">{{.Date.Text}}</time>：{{.Text}}</li>
{{- end}}
</ul>
</section>
{{- end}}
{{- $id := .ID}}{{$title := .Title}}
{{- range .Vendors}}
<section class="vendor" id="vendor-{{.Anchor}}">
<h2>{{.Name}} の脆弱性 {{$id}} への対応</h2>
<dl>
<dt>脆弱性識別番号</dt><dd>{{$id}}</dd>
<dt>脆弱性タイトル</dt><dd>{{$title}}</dd>
<dt>ステータス</dt><dd><strong>{{.StatusJA}}</strong></dd>
<dt>製品開発者からのコメント</dt><dd>{{if .Comment}}{{template "comment" .Comment}}{{else}}なし{{end}}</dd>
{{- if .URL}}
<dt>告知ページ</dt><dd>{{template "url" .}}</dd>
{{- end}}
{{- if .Updated.Text}}
<dt>更新日</dt><dd><time datetime="{{.Updated.ISO}}">{{.Updated.Text}}</time></dd>
{{- end}}
</dl>
</section>
{{- end}}
</main>
{{- if .Generator}}
<footer><p>生成：{{.Generator}}</p></footer>
{{- end}}
</body>
</html>
{{define "comment"}}{{range $i, $l := .}}{{if $i}}<br>{{end}}{{$l}}{{end}}{{end}}
{{- define "url"}}{{if .Href}}<a href="{{.Href}}" rel="noopener noreferrer">{{.URL}}</a>{{else if .URL}}<span class="url-text">{{.URL}}</span>{{end}}{{end}}`
