package command

import "strings"

type section int

const (
	noSection section = iota
	overviewSection
	detailSection
)

// sectionLabels are the folded labels of the sections. "Details" and the
// guideline's "…情報" forms are accepted too: a Detail label not recognised
// would put the detail into the overview, which goes to more people.
var sectionLabels = map[string]section{
	"overview": overviewSection, "概要": overviewSection, "概要情報": overviewSection,
	"detail": detailSection, "details": detailSection, "詳細": detailSection, "詳細情報": detailSection,
}

// maxLabel bounds the bytes before the colon of a label line, so prose is
// not folded.
const maxLabel = 64

// sectionLabel reports a section label line ("Overview:", "概要：",
// "概要 / Overview:", "*Detail:*") and the text after the colon.
func sectionLabel(line string) (section, string) {
	t := strings.TrimLeft(line, leftJunk)
	i, size := firstColon(t)
	if i < 0 || i > maxLabel {
		return noSection, ""
	}
	label, rest := fold(t[:i]), t[i+size:]
	kind := noSection
	for _, p := range strings.Split(label, "/") {
		p = strings.Join(strings.Fields(strings.Trim(p, " \t*")), " ")
		k := sectionLabels[p]
		if k == noSection || kind != noSection && k != kind {
			return noSection, ""
		}
		kind = k
	}
	rest = strings.TrimSpace(rest)
	if strings.HasPrefix(t, "*") {
		rest = strings.TrimSpace(strings.TrimLeft(rest, "*")) // "*Detail:* text"
	}
	return kind, rest
}

func firstColon(s string) (int, int) {
	i, j := strings.IndexByte(s, ':'), strings.Index(s, "：")
	switch {
	case i < 0 && j < 0:
		return -1, 0
	case j < 0 || i >= 0 && i < j:
		return i, 1
	}
	return j, len("：")
}

// readSections reads the sections from the first label line on: each runs
// to the next label. One Overview, then at most one Detail: anything else
// is refused, because a pasted report with its own "Overview:" or
// "Details:" heading would otherwise move detail text into the overview.
func readSections(ls []srcLine) (overview, detail, errText string) {
	var body [3][]string
	var seen [3]bool
	cur := noSection
	for _, l := range ls {
		if k, rest := sectionLabel(l.s); k != noSection {
			switch {
			case seen[k]:
				return "", "", "two " + sectionName(k) + " sections (rename headings in pasted text)"
			case k == overviewSection && seen[detailSection]:
				return "", "", "the \"Overview:\" section must come before the \"Detail:\" section"
			}
			seen[k], cur = true, k
			if rest != "" {
				body[k] = append(body[k], rest)
			}
			continue
		}
		body[cur] = append(body[cur], strings.TrimRight(l.s, " \t"))
	}
	overview, detail = joinTrimmed(body[overviewSection]), joinTrimmed(body[detailSection])
	if !seen[overviewSection] {
		return "", "", "case new needs an \"Overview:\" section below the command lines"
	}
	if overview == "" {
		return "", "", "case new needs a non-empty \"Overview:\" section"
	}
	return overview, detail, ""
}

func sectionName(k section) string {
	if k == overviewSection {
		return "\"Overview:\""
	}
	return "\"Detail:\""
}

// joinTrimmed joins lines without the blank lines around them.
func joinTrimmed(ls []string) string {
	for len(ls) > 0 && strings.TrimSpace(ls[0]) == "" {
		ls = ls[1:]
	}
	for len(ls) > 0 && strings.TrimSpace(ls[len(ls)-1]) == "" {
		ls = ls[:len(ls)-1]
	}
	return strings.Join(ls, "\n")
}
