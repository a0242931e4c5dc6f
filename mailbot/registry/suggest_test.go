package registry

import (
	"reflect"
	"testing"
)

func TestKeywordsMatch(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"tls", "tls", true},
		{"tls", "tls 1.3", true},
		{"tls 1.3", "tls", true},
		{"tls", "openssl tls", true},
		{"web server", "apache web server 2", true},
		{"tls", "mbedtls", false},
		{"tls", "tls1.3", false},
		{"c", "c++", false},
		{"c", "objective-c", false},
		{"http", "http/2", false},
		{"tls 1.3", "tls 1.2", false},
		{"server web", "web server", false},
		{"組込み", "組込みlinux", false},
		{"組込み", "組込み linux", true},
	} {
		if got := keywordsMatch(tt.a, tt.b); got != tt.want {
			t.Errorf("keywordsMatch(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}

func TestSuggest(t *testing.T) {
	vendors := []Vendor{
		{ID: "zeta", Registration: General, Keywords: []string{"tls", "http"}},
		{ID: "acme", Registration: General, Keywords: []string{"TLS 1.3", "ｈｔｔｐ", "ipv6"}},
		{ID: "beta", Registration: "", Keywords: []string{"router"}}, // "" is general
		{ID: "gamma", Registration: Individual, Keywords: []string{"gammacms", "tls"}},
		{ID: "delta", Registration: Pending, Keywords: []string{"tls"}},
		{ID: "eps", Registration: General, Keywords: []string{"mbedtls"}},
		{ID: "odd", Registration: "vip", Keywords: []string{"tls"}},
		{ID: "none", Registration: General},
	}
	tests := []struct {
		name  string
		kw    []string
		named []string
		want  []Candidate
	}{
		{"keywords", []string{"tls", "http"}, nil, []Candidate{
			{ID: "acme", Score: 2, Matched: []string{"tls", "http"}, Reason: "keywords: tls, http"},
			{ID: "zeta", Score: 2, Matched: []string{"tls", "http"}, Reason: "keywords: tls, http"},
		}},
		{"normalised and deduplicated", []string{" ＴＬＳ ", "tls", "", "IPv6"}, nil, []Candidate{
			{ID: "acme", Score: 2, Matched: []string{"tls", "ipv6"}, Reason: "keywords: tls, ipv6"},
			{ID: "zeta", Score: 1, Matched: []string{"tls"}, Reason: "keywords: tls"},
		}},
		{"multi-word case keyword", []string{"tls 1.3"}, nil, []Candidate{
			{ID: "acme", Score: 1, Matched: []string{"tls 1.3"}, Reason: "keywords: tls 1.3"},
			{ID: "zeta", Score: 1, Matched: []string{"tls 1.3"}, Reason: "keywords: tls 1.3"},
		}},
		{"individual only when named", []string{"tls"}, []string{"GammaCMS"}, []Candidate{
			{ID: "acme", Score: 1, Matched: []string{"tls"}, Reason: "keywords: tls"},
			{ID: "gamma", Score: 1, Matched: []string{"tls"}, Reason: "named: gammacms; keywords: tls"},
			{ID: "zeta", Score: 1, Matched: []string{"tls"}, Reason: "keywords: tls"},
		}},
		{"individual named by id", nil, []string{"gamma"}, []Candidate{
			{ID: "gamma", Reason: "named: gamma"},
		}},
		{"named general without keywords", []string{"ipv6"}, []string{"beta", "none", "nobody"}, []Candidate{
			{ID: "acme", Score: 1, Matched: []string{"ipv6"}, Reason: "keywords: ipv6"},
			{ID: "beta", Reason: "named: beta"},
			{ID: "none", Reason: "named: none"},
		}},
		{"named product must be exact", nil, []string{"gamma cms", "gammacms 2"}, nil},
		{"pending never", []string{"tls"}, []string{"delta"}, []Candidate{
			{ID: "acme", Score: 1, Matched: []string{"tls"}, Reason: "keywords: tls"},
			{ID: "zeta", Score: 1, Matched: []string{"tls"}, Reason: "keywords: tls"},
		}},
		{"nothing", nil, nil, nil},
		{"no match", []string{"bluetooth"}, nil, nil},
	}
	for _, tt := range tests {
		got := Suggest(tt.kw, vendors, tt.named)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Suggest =\n%#v\nwant\n%#v", tt.name, got, tt.want)
		}
	}
}
