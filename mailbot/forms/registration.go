package forms

import (
	"net/mail"
	"strings"
)

// The registration form (DESIGN 4.2, guideline §1-1 and §2-3):
//
//	登録への同意 / Consent to register: yes | no   (はい / いいえ)
//	製品脆弱性対策管理者 / Manager name:
//	連絡先メールアドレス / Contact address:
//
// An OpenPGP key may be attached or pasted below; open.Message.Keys has it.
var registrationForm = []field{
	{key: "consent", labels: []string{"登録への同意", "登録同意", "consent to register", "consent"}, read: readYesNo},
	{key: "manager", labels: []string{"製品脆弱性対策管理者", "管理者名", "管理者", "manager name", "manager"}, text: true},
	{key: "contact", labels: []string{"連絡先メールアドレス", "連絡先", "contact address", "contact"}, text: true},
}

// Registration is a filled-in registration form.
type Registration struct {
	Consent bool
	Manager string
	Contact string // lower-cased mail address
}

// RegistrationForm reads the registration form. It is complete only with
// consent "yes", a manager name and a well-formed contact address; an
// explicit "no" is reported as (Registration{}, true) with Consent false.
func RegistrationForm(text string) (Registration, bool) {
	var r Registration
	consent := ""
	for _, e := range scan(text, registrationForm) {
		switch e.r.out {
		case ambiguous:
			return Registration{}, false
		case unfilled:
			continue
		}
		switch e.key {
		case "consent":
			if consent != "" && consent != e.r.value {
				return Registration{}, false
			}
			consent = e.r.value
		case "manager":
			r.Manager = first(r.Manager, strings.TrimSpace(e.r.value))
		case "contact":
			r.Contact = first(r.Contact, strings.TrimSpace(e.r.value))
		}
	}
	switch consent {
	case "no":
		return Registration{}, true
	case "yes":
	default:
		return Registration{}, false
	}
	a, err := mail.ParseAddress(r.Contact)
	if err != nil || r.Manager == "" {
		return Registration{}, false
	}
	r.Contact = strings.ToLower(a.Address)
	r.Consent = true
	return r, true
}
