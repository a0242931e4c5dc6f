package forms

import "testing"

func TestRegistrationForm(t *testing.T) {
	tests := []struct {
		name string
		text string
		want Registration
		ok   bool
	}{
		{"complete, Japanese", "登録への同意：はい\n製品脆弱性対策管理者：山田 太郎\n連絡先メールアドレス：PSIRT@acme.example\n",
			Registration{Consent: true, Manager: "山田 太郎", Contact: "psirt@acme.example"}, true},
		{"complete, English, values on the next line", "Consent to register:\nyes\nManager name: Jane Doe\nContact address: sec@beta.example\n",
			Registration{Consent: true, Manager: "Jane Doe", Contact: "sec@beta.example"}, true},
		{"refused", "登録への同意 / Consent to register: いいえ\n", Registration{}, true},
		{"no manager", "Consent to register: yes\nContact address: sec@beta.example\n", Registration{}, false},
		{"bad address", "Consent to register: yes\nManager name: J\nContact address: not an address\n", Registration{}, false},
		{"quoted template only", "> 登録への同意 / Consent to register: yes | no   (はい / いいえ)\n> Manager name:\n", Registration{}, false},
		{"both", "Consent to register: yes\nConsent to register: no\nManager name: J\nContact address: a@b.example\n", Registration{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := RegistrationForm(tt.text)
			if ok != tt.ok || got != tt.want {
				t.Fatalf("got %+v %v, want %+v %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
