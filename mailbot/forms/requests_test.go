package forms

import "testing"

func TestVendorRequests(t *testing.T) {
	tests := []struct {
		name string
		text string
		want Requests
	}{
		{"none", "該当状況：該当製品あり\n", Requests{}},
		{"unfilled template quoted", "> 公表日の変更希望 / Date change request:\n> 公表前の顧客への通知 / Customer notice before publication: yes | no\n", Requests{}},
		{"date change", "Status: affected\nDate change request: please move to 2027-03-01, the fix needs QA\n",
			Requests{DateChange: "please move to 2027-03-01, the fix needs QA"}},
		{"customer notice, Japanese", "公表前の顧客への通知：はい\n", Requests{CustomerNotice: true}},
		{"other vendors", "他に影響を受ける開発者：Beta Networks (same library)\n", Requests{OtherVendors: "Beta Networks (same library)"}},
		{"share", "関係組織への共有：Delta Systems / 佐藤 花子 / PSIRT@delta.example\n",
			Requests{Share: &Share{Org: "Delta Systems", Person: "佐藤 花子", Addr: "psirt@delta.example"}}},
		{"share without address", "Share with organisation: Delta Systems\n", Requests{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := VendorRequests(tt.text)
			if got.DateChange != tt.want.DateChange || got.CustomerNotice != tt.want.CustomerNotice || got.OtherVendors != tt.want.OtherVendors ||
				(got.Share == nil) != (tt.want.Share == nil) || (got.Share != nil && *got.Share != *tt.want.Share) {
				t.Fatalf("got %+v (share %+v), want %+v", got, got.Share, tt.want)
			}
		})
	}
}
