package forms

import "strings"

// The optional request lines of the detail notice (guideline §3-4, §4-2,
// §6-3, §8-2):
//
//	公表日の変更希望 / Date change request:
//	公表前の顧客への通知 / Customer notice before publication: yes | no
//	他に影響を受ける開発者 / Other affected developers:
//	関係組織への共有 / Share with organisation: NAME / PERSON / ADDRESS
var requestForm = []field{
	{key: "date", labels: []string{"公表日の変更希望", "公表日変更", "date change request", "date change"}, text: true},
	{key: "customer", labels: []string{"公表前の顧客への通知", "顧客への事前通知", "customer notice before publication", "customer notice"}, read: readYesNo},
	{key: "others", labels: []string{"他に影響を受ける開発者", "他の影響開発者", "other affected developers", "other vendors"}, text: true},
	{key: "share", labels: []string{"関係組織への共有", "関係組織", "share with organisation", "share with organization"}, text: true},
}

// Requests are what a vendor asks of the desk besides its status.
type Requests struct {
	DateChange     string // free text: the date wanted and why (§4-2)
	CustomerNotice bool   // wants to tell its customers before publication (§6-3)
	OtherVendors   string // developers that may be affected too (§3-4)
	Share          *Share // a related organisation to share with (§8-2)
}

// Share is a related organisation a vendor asks the desk to serve (§8-2).
type Share struct {
	Org, Person, Addr string
}

// Any reports whether anything was asked.
func (r Requests) Any() bool {
	return r.DateChange != "" || r.CustomerNotice || r.OtherVendors != "" || r.Share != nil
}

// VendorRequests reads the request lines. Unfilled template lines count
// as nothing; a share line needs an organisation and a mail address.
func VendorRequests(text string) Requests {
	var r Requests
	for _, e := range scan(text, requestForm) {
		if e.r.out != chosen {
			continue
		}
		v := strings.TrimSpace(e.r.value)
		switch e.key {
		case "date":
			r.DateChange = first(r.DateChange, v)
		case "customer":
			r.CustomerNotice = r.CustomerNotice || v == "yes"
		case "others":
			r.OtherVendors = first(r.OtherVendors, v)
		case "share":
			if s := parseShare(v); s != nil && r.Share == nil {
				r.Share = s
			}
		}
	}
	return r
}

// parseShare reads "Org / Person / addr@example.org" (also with commas or
// full-width slashes); the address is the last item.
func parseShare(v string) *Share {
	v = strings.NewReplacer("／", "/", "、", "/", ",", "/").Replace(v)
	var items []string
	for _, it := range strings.Split(v, "/") {
		if it = strings.TrimSpace(it); it != "" {
			items = append(items, it)
		}
	}
	if len(items) < 2 {
		return nil
	}
	addr := strings.Trim(items[len(items)-1], "<>")
	if at := strings.LastIndexByte(addr, '@'); at < 1 || at == len(addr)-1 || strings.ContainsAny(addr, " \t") {
		return nil
	}
	s := &Share{Org: items[0], Addr: strings.ToLower(addr)}
	if len(items) > 2 {
		s.Person = strings.Join(items[1:len(items)-1], " ")
	}
	return s
}
