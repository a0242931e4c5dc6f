package forms

import "strings"

// Answer is a vendor's answer to the overview (§2-2).
type Answer int

const (
	// AnswerYes asks for the detail: the vendor may be affected.
	AnswerYes Answer = iota + 1
	// AnswerNo says the vendor has no such product.
	AnswerNo
)

func (a Answer) String() string {
	switch a {
	case AnswerYes:
		return "yes"
	case AnswerNo:
		return "no"
	}
	return "none"
}

// The overview form (DESIGN 4.1):
//
//	詳細情報の請求 / Request detail: yes | no   (はい / いいえ)
var overviewForm = []field{{
	key:    "detail",
	labels: []string{"詳細情報の請求", "詳細情報請求", "request detail", "request details", "detail request"},
	read:   readYesNo,
}}

var yesNo = vocabulary{
	phrases: map[string]string{"はい": "yes", "いいえ": "no"},
	words:   map[string]string{"yes": "yes", "y": "yes", "no": "no", "n": "no"},
	// Japanese verbs negate at the end ("要りません"): these only count as
	// the whole value.
	exact: map[string]string{
		"要": "yes", "必要": "yes", "希望": "yes", "希望する": "yes", "希望します": "yes",
		"請求": "yes", "請求する": "yes", "請求します": "yes",
		"不要": "no", "不必要": "no", "希望しない": "no", "希望しません": "no",
		"請求しない": "no", "請求しません": "no",
	},
	hints: []string{"(はい / いいえ)", "(はい/いいえ)"},
}

func readYesNo(v string, next bool) reading {
	if strings.TrimSpace(v) == "" {
		return reading{out: unfilled}
	}
	choices, rest := yesNo.read(v)
	switch len(choices) {
	case 0:
		if rest != "" && !next {
			return reading{out: ambiguous}
		}
		return reading{out: unfilled}
	case 1:
		if next && rest != "" {
			return reading{out: unfilled}
		}
		// "No" ends the vendor's part in the case (§2-2): a hedged or
		// provisional one ("いいえ（現在確認中）") goes to triage. A hedged
		// yes ("yes, we may be affected") only asks for the detail.
		if choices[0] == "no" && (uncertain.in(rest) || investigating.in(rest)) {
			return reading{out: ambiguous}
		}
		return reading{out: chosen, value: choices[0]}
	}
	if isTemplate(v, yesNo.hints, "yes|no", "yes/no") {
		return reading{out: unfilled, offered: true}
	}
	return reading{out: ambiguous}
}

// isTemplate reports a value left as the template offered it.
func isTemplate(v string, hints []string, templates ...string) bool {
	v = strings.Join(strings.Fields(foldString(v)), " ")
	for _, h := range hints {
		v = strings.ReplaceAll(v, h, "")
	}
	v = strings.Join(strings.Fields(v), "")
	return isOneOf(v, templates)
}

// OverviewAnswer reads the overview reply form: yes (send the detail) or no
// (no such product). It is false when no filled-in form line is found
// outside quoted text, or when the lines found disagree or say both.
func OverviewAnswer(text string) (Answer, bool) {
	var got Answer
	for _, e := range scan(text, overviewForm) {
		switch e.r.out {
		case ambiguous:
			return 0, false
		case chosen:
			a := AnswerYes
			if e.r.value == "no" {
				a = AnswerNo
			}
			if got != 0 && got != a {
				return 0, false
			}
			got = a
		}
	}
	return got, got != 0
}
