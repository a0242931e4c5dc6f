package export

import (
	"bytes"
	"encoding/json"
)

// JSON renders the public advisory as indented JSON with snake_case names.
// Every key is always present (empty string or empty list when there is
// nothing), so scripts can rely on the shape; times are RFC 3339 in the
// advisory's zone, "" when unset. Vendors are those that received the
// detail, in the given order, each with its CSAF product_id.
func JSON(a *Advisory) ([]byte, error) {
	d, err := prepare(a)
	if err != nil {
		return nil, err
	}
	out := jsonAdvisory{
		ID:         d.id,
		Title:      d.title,
		Overview:   d.overview,
		Impact:     d.impact,
		Lead:       d.lead,
		State:      d.state,
		Published:  d.stamp(d.published),
		LastUpdate: d.stamp(d.lastUpdate),
		Vendors:    []jsonVendor{},
		Timeline:   []jsonEntry{},
		Generator:  d.generator,
	}
	for _, v := range d.vendors {
		out.Vendors = append(out.Vendors, jsonVendor{
			ID:        v.id,
			Name:      v.name,
			Status:    v.status,
			StatusJA:  v.statusJA(),
			Comment:   v.comment,
			URL:       v.url,
			Link:      v.href,
			ProductID: v.productID(),
			Updated:   d.stamp(v.updated),
		})
	}
	for _, e := range d.timeline {
		out.Timeline = append(out.Timeline, jsonEntry{Time: d.stamp(e.Time), Text: e.Text})
	}
	// The encoder's HTML escaping (\u003c for '<') stays on: the output
	// may be embedded in a page, and vendor text must stay inert there too.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type jsonAdvisory struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	Overview  string `json:"overview"`
	Impact    string `json:"impact"`
	Lead      string `json:"lead"`
	State     string `json:"state"`
	Published string `json:"published"`
	// LastUpdate is the latest change after publication, vendor
	// statuses included (§6-5); equal to published when there was none.
	LastUpdate string       `json:"updated"`
	Vendors    []jsonVendor `json:"vendors"`
	Timeline   []jsonEntry  `json:"timeline"`
	Generator  string       `json:"generator"`
}

type jsonVendor struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Status   string `json:"status"`
	StatusJA string `json:"status_ja"`
	Comment  string `json:"comment"`
	URL      string `json:"url"`
	// Link is the URL as it is linked; "" when it is not a safe http(s) URL.
	Link      string `json:"link"`
	ProductID string `json:"product_id"`
	Updated   string `json:"updated"`
}

type jsonEntry struct {
	Time string `json:"time"`
	Text string `json:"text"`
}
