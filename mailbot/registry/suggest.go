package registry

import (
	"slices"
	"strings"
)

// Vendor is what Suggest needs to know of a registered vendor.
type Vendor struct {
	ID, Registration string
	Keywords         []string
}

// Candidate is a vendor Suggest proposes for a case.
type Candidate struct {
	ID      string
	Score   int      // number of case keywords matched
	Matched []string // those case keywords, normalised, in the case's order
	Reason  string   // "keywords: tls, http", "named: acme", or both joined by "; "
}

// Suggest proposes the vendors a case should reach (§2: the desk picks the
// likely vendors by technology keywords).
//
//   - All keywords are compared in NormalizeKeyword form. A case keyword
//     and a vendor keyword match when they are equal, or when the words of
//     one appear, whole and in order, in the other: "tls" matches "tls 1.3"
//     and "openssl tls", and "tls 1.3" matches "tls"; but "tls" does not
//     match "mbedtls" or "tls1.3", and "c" does not match "c++". Words are
//     separated by spaces only, so Japanese keywords match whole.
//   - general vendors are candidates when at least one case keyword
//     matches one of theirs, or when they are named.
//   - individual vendors get information on their own products only
//     (§1-1): they are candidates only when named, never by keywords.
//   - pending vendors are never candidates: nothing is disclosed before
//     registration (§2-3).
//   - named holds vendor IDs or product names the coordinator mentioned.
//     An entry names a vendor when it equals its ID or, exactly, one of
//     its keywords (individual registrants register their product names
//     as keywords).
//
// Score is the number of distinct case keywords matched, whatever made the
// vendor a candidate. Candidates are ranked by Score, highest first, then
// by ID.
func Suggest(caseKeywords []string, vendors []Vendor, named []string) []Candidate {
	var kws []string
	for _, k := range caseKeywords {
		if k = NormalizeKeyword(k); k != "" && !slices.Contains(kws, k) {
			kws = append(kws, k)
		}
	}
	var names []string
	for _, n := range named {
		if n = NormalizeKeyword(n); n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	var out []Candidate
	for _, v := range vendors {
		reg := strings.ToLower(strings.TrimSpace(v.Registration))
		if reg == "" {
			reg = General
		}
		if reg != General && reg != Individual {
			continue
		}
		vk := make([]string, 0, len(v.Keywords))
		for _, k := range v.Keywords {
			if k = NormalizeKeyword(k); k != "" {
				vk = append(vk, k)
			}
		}
		var matched []string
		for _, k := range kws {
			if slices.ContainsFunc(vk, func(x string) bool { return keywordsMatch(k, x) }) {
				matched = append(matched, k)
			}
		}
		var by []string
		for _, n := range names {
			if n == NormalizeKeyword(v.ID) || slices.Contains(vk, n) {
				by = append(by, n)
			}
		}
		if len(by) == 0 && (reg == Individual || len(matched) == 0) {
			continue
		}
		var reason []string
		if len(by) > 0 {
			reason = append(reason, "named: "+strings.Join(by, ", "))
		}
		if len(matched) > 0 {
			reason = append(reason, "keywords: "+strings.Join(matched, ", "))
		}
		out = append(out, Candidate{ID: v.ID, Score: len(matched), Matched: matched, Reason: strings.Join(reason, "; ")})
	}
	slices.SortStableFunc(out, func(a, b Candidate) int {
		if a.Score != b.Score {
			return b.Score - a.Score
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// keywordsMatch reports whether two normalised keywords are equal or the
// words of the shorter appear whole and in order in the longer.
func keywordsMatch(a, b string) bool {
	if a == b {
		return true
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	// Padding with spaces makes "whole words" a substring test.
	return strings.Contains(" "+b+" ", " "+a+" ")
}
