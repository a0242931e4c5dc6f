package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// csafCategory is the CSAF profile. csaf_security_advisory, not csaf_vex:
// a JVN page is the coordinator's advisory about one vulnerability across
// vendors, and what the desk holds is the guideline's five statuses and
// free-text vendor comments. The VEX profile would require, for every
// not-affected product, a machine-readable impact statement (6.1.27.9), for
// every affected one a remediation (6.1.27.10), and a CVE or ids entry
// (6.1.27.8): the desk would have to invent them. The security advisory
// profile asks for product_tree, notes and product_status, which we have.
const csafCategory = "csaf_security_advisory"

// csafGroup maps a status (§6-4) to its CSAF product_status group.
// "Investigating" either way is not a result yet, and info-provided
// (脆弱性情報提供済み) only says the vendor has the detail: both are
// under_investigation, the group for "not known yet, a later revision will
// say".
var csafGroup = map[string]string{
	StatusAffected:                 "known_affected",
	StatusNotAffected:              "known_not_affected",
	StatusAffectedInvestigating:    "under_investigation",
	StatusNotAffectedInvestigating: "under_investigation",
	StatusInfoProvided:             "under_investigation",
}

// CSAF renders the advisory as a CSAF 2.0 document (category
// csaf_security_advisory). Each vendor that received the detail gets a
// vendor branch in product_tree with one product whose ID is
// "CSAFPID-"+vendor ID (escaped), the same in every export; the single
// vulnerability groups those IDs by status.
//
// tracking.status is draft until publication (draft, active, scheduled,
// cancelled), interim once published while a vendor is still investigating
// (§6-5: the document will change), final when every status is settled or
// the case is closed. Published documents are numbered from 1: the
// publication, one revision per timeline entry after it, and one for any
// later change (a vendor's status, Updated). Drafts are version 0, dated
// by the newest time in the input (1970-01-01 when there is none).
func CSAF(a *Advisory) ([]byte, error) {
	d, err := prepare(a)
	if err != nil {
		return nil, err
	}
	if len(d.vendors) == 0 {
		// product_tree and product_status must not be empty (schema
		// minProperties, profile tests 6.1.27.4 and 6.1.27.6).
		return nil, fmt.Errorf("export: %s: csaf: no vendor has received the detail", d.id)
	}

	doc := csafDoc{Document: csafDocument{
		Category:    csafCategory,
		CSAFVersion: "2.0",
		Publisher: csafPublisher{
			Category:  "coordinator",
			Name:      d.publisher,
			Namespace: d.namespace,
		},
		Title: d.title,
	}}
	summary := d.overview
	if summary == "" {
		summary = d.title
	}
	doc.Document.Notes = []csafNote{{Category: "summary", Title: "Overview", Text: summary}}

	tr := &doc.Document.Tracking
	tr.ID = d.id
	d.csafTracking(tr)
	if d.isPublic() {
		doc.Document.Distribution = &csafDistribution{TLP: csafTLP{Label: "WHITE"}}
	} else {
		// The vendor list is confidential until publication (§8-1).
		doc.Document.Distribution = &csafDistribution{
			Text: "Not published: pre-publication draft of the coordinator; do not disclose.",
			TLP:  csafTLP{Label: "AMBER"},
		}
	}
	if d.generator != "" {
		name, version, _ := strings.Cut(d.generator, " ")
		tr.Generator = &csafGenerator{Engine: csafEngine{Name: name, Version: strings.TrimSpace(version)}}
	}

	vuln := csafVuln{Title: d.title, ProductStatus: map[string][]string{}}
	vuln.Notes = append(vuln.Notes, csafNote{Category: "summary", Title: "Overview", Text: summary})
	if d.impact != "" {
		vuln.Notes = append(vuln.Notes, csafNote{Category: "general", Title: "Impact", Text: d.impact})
	}
	if d.lead != "" {
		if sys, id, ok := strings.Cut(d.lead, " "); ok && sys != "" && strings.TrimSpace(id) != "" {
			vuln.IDs = []csafID{{SystemName: sys, Text: strings.TrimSpace(id)}}
		} else {
			vuln.Notes = append(vuln.Notes, csafNote{Category: "other", Title: "Lead coordinator", Text: d.lead})
		}
	}
	// The desk knows vendors, not their product names or versions (§6-2
	// reports a status per vendor), so each vendor has one product standing
	// for "its products in scope of this case", as a row of Fig. 1 does.
	tree := &csafProductTree{}
	for _, v := range d.vendors {
		pid := v.productID()
		tree.Branches = append(tree.Branches, csafBranch{
			Category: "vendor",
			Name:     v.name,
			Branches: []csafBranch{{
				Category: "product_name",
				Name:     "products in scope of " + d.id,
				Product:  &csafProduct{Name: v.name + ": products in scope of " + d.id, ProductID: pid},
			}},
		})
		g := csafGroup[v.status]
		vuln.ProductStatus[g] = append(vuln.ProductStatus[g], pid)
		if v.comment != "" {
			// Free text: a note, not a remediation, whose category
			// (vendor_fix, workaround...) we would have to guess.
			vuln.Notes = append(vuln.Notes, csafNote{
				Category: "other",
				Title:    "Vendor statement: " + v.name + " (" + v.statusJA() + ")",
				Text:     v.comment,
			})
		}
		if v.href != "" {
			vuln.References = append(vuln.References, csafRef{
				Category: "external",
				Summary:  "Vendor advisory: " + v.name,
				URL:      v.href,
			})
		}
	}
	doc.ProductTree = tree
	doc.Vulnerabilities = []csafVuln{vuln}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// csafTracking fills status, version, dates and revision history so that
// the CSAF tests on them hold: sorted history (6.1.14), version = newest
// number (6.1.16), 0 for drafts and never 0 otherwise (6.1.17, 6.1.18,
// 6.1.20), no gaps or duplicates (6.1.21, 6.1.22).
func (d *doc) csafTracking(tr *csafTracking) {
	if !d.isPublic() {
		t := d.latest()
		summary := "Draft, not published (" + d.state + ")"
		if t.IsZero() {
			// Dates are required and there is no clock here: a draft
			// without any time in the input gets a visible placeholder.
			t = time.Unix(0, 0)
			summary += "; no date given"
		}
		tr.Status = "draft"
		tr.Version = "0"
		tr.InitialReleaseDate = csafDate(t)
		tr.CurrentReleaseDate = csafDate(t)
		tr.RevisionHistory = []csafRevision{{Date: csafDate(t), Number: "0", Summary: summary}}
		return
	}
	tr.Status = "final"
	if d.state == statePublished {
		for _, v := range d.vendors {
			if csafGroup[v.status] == "under_investigation" {
				tr.Status = "interim"
				break
			}
		}
	}
	revs := []csafRevision{{Date: csafDate(d.published), Number: "1", Summary: "Initial public release"}}
	last := d.published
	for _, e := range d.timeline {
		if !e.Time.After(d.published) {
			continue // history before publication is not a revision
		}
		text := e.Text
		if text == "" {
			text = "Updated"
		}
		revs = append(revs, csafRevision{Date: csafDate(e.Time), Number: strconv.Itoa(len(revs) + 1), Summary: text})
		last = e.Time
	}
	if d.lastUpdate.After(last) {
		revs = append(revs, csafRevision{Date: csafDate(d.lastUpdate), Number: strconv.Itoa(len(revs) + 1), Summary: "Updated vendor information"})
		last = d.lastUpdate
	}
	tr.RevisionHistory = revs
	tr.Version = revs[len(revs)-1].Number
	tr.InitialReleaseDate = csafDate(d.published)
	tr.CurrentReleaseDate = csafDate(last)
}

// csafDate is RFC 3339 in UTC, to the second.
func csafDate(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// The CSAF 2.0 shapes we write; field order is the JSON order.
type csafDoc struct {
	Document        csafDocument     `json:"document"`
	ProductTree     *csafProductTree `json:"product_tree,omitempty"`
	Vulnerabilities []csafVuln       `json:"vulnerabilities,omitempty"`
}

type csafDocument struct {
	Category     string            `json:"category"`
	CSAFVersion  string            `json:"csaf_version"`
	Distribution *csafDistribution `json:"distribution,omitempty"`
	Notes        []csafNote        `json:"notes,omitempty"`
	Publisher    csafPublisher     `json:"publisher"`
	Title        string            `json:"title"`
	Tracking     csafTracking      `json:"tracking"`
}

type csafDistribution struct {
	Text string  `json:"text,omitempty"`
	TLP  csafTLP `json:"tlp"`
}

type csafTLP struct {
	Label string `json:"label"`
}

type csafNote struct {
	Category string `json:"category"`
	Text     string `json:"text"`
	Title    string `json:"title,omitempty"`
}

type csafPublisher struct {
	Category  string `json:"category"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

type csafTracking struct {
	CurrentReleaseDate string         `json:"current_release_date"`
	Generator          *csafGenerator `json:"generator,omitempty"`
	ID                 string         `json:"id"`
	InitialReleaseDate string         `json:"initial_release_date"`
	RevisionHistory    []csafRevision `json:"revision_history"`
	Status             string         `json:"status"`
	Version            string         `json:"version"`
}

type csafGenerator struct {
	Engine csafEngine `json:"engine"`
}

type csafEngine struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

type csafRevision struct {
	Date    string `json:"date"`
	Number  string `json:"number"`
	Summary string `json:"summary"`
}

type csafProductTree struct {
	Branches []csafBranch `json:"branches"`
}

type csafBranch struct {
	Category string       `json:"category"`
	Name     string       `json:"name"`
	Branches []csafBranch `json:"branches,omitempty"`
	Product  *csafProduct `json:"product,omitempty"`
}

type csafProduct struct {
	Name      string `json:"name"`
	ProductID string `json:"product_id"`
}

type csafVuln struct {
	IDs           []csafID            `json:"ids,omitempty"`
	Notes         []csafNote          `json:"notes"`
	ProductStatus map[string][]string `json:"product_status"`
	References    []csafRef           `json:"references,omitempty"`
	Title         string              `json:"title"`
}

type csafID struct {
	SystemName string `json:"system_name"`
	Text       string `json:"text"`
}

type csafRef struct {
	Category string `json:"category"`
	Summary  string `json:"summary"`
	URL      string `json:"url"`
}
