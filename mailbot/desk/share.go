package desk

import (
	"errors"
	"fmt"
	"strings"

	"github.com/coordbot/coordbot/mailbot/keys"
	"github.com/coordbot/coordbot/mailbot/process"
	"github.com/coordbot/coordbot/store"
)

// ShareApprove serves a related organisation (§8-2) once it has written to
// the desk quoting the case ID: it is registered as an individual vendor
// with the address it wrote from (and the key it sent, the approval being
// the coordinator's trust decision), put on the case and sent the detail,
// encrypted, or held until it has a key.
func (d *Desk) ShareApprove(caseID, vendorID, addr string) (string, error) {
	var id string
	err := d.cli("share", caseID, func(o *Op) (err error) { id, err = o.ShareApprove(caseID, vendorID, addr); return })
	return id, err
}

// ShareApprove approves a share request.
func (o *Op) ShareApprove(caseID, vendorID, addr string) (string, error) {
	c, err := o.tx.Case(caseID)
	if err != nil {
		return "", err
	}
	var s *store.Share
	for i := range c.Shares {
		if c.Shares[i].Vendor == vendorID && strings.EqualFold(c.Shares[i].Addr, addr) {
			s = &c.Shares[i]
		}
	}
	switch {
	case s == nil:
		return "", fmt.Errorf("no share request by %s for %s on %s", vendorID, addr, caseID)
	case !s.Approved.IsZero():
		return "", fmt.Errorf("share with %s already approved (vendor %s)", addr, s.VendorID)
	case s.Contacted.IsZero():
		return "", errors.New("the organisation has not written to the desk quoting the case ID yet (§8-2)")
	}
	if other, err := o.tx.VendorByAddr(addr); err == nil {
		return "", fmt.Errorf("%s is already a contact of vendor %s: add that vendor instead", addr, other.ID)
	}
	id := shareVendorID(o.tx, addr)
	v := &store.Vendor{ID: id, Name: s.Org, Manager: s.Person, Registration: store.RegIndividual, Lang: o.d.Cfg.Bot.Language,
		Contacts: []store.Contact{{Addr: strings.ToLower(addr)}}, Created: o.now, Updated: o.now}
	for _, arm := range s.Keys {
		if pub, err := keys.ParsePublic([]byte(arm), o.now); err == nil {
			v.Keys = append(v.Keys, store.Key{Fingerprint: pub.Fingerprint, Armored: pub.Armored, Added: o.now})
		}
	}
	if err := o.tx.PutVendor(v); err != nil {
		return "", err
	}
	o.d.keysChanged()
	s.Approved, s.VendorID = o.now, id
	if err := o.tx.PutCase(c); err != nil {
		return "", err
	}
	if _, err := o.tx.AddEvent(caseID, store.Event{Time: o.now, Actor: o.actor, Kind: process.EvShareApproved, Vendor: id,
		Summary: "share with " + s.Org + " approved (asked by " + vendorID + ")"}); err != nil {
		return "", err
	}
	if _, err := o.Notify(caseID, process.KindDetail, []string{id}); err != nil {
		return "", err
	}
	return id, nil
}

// shareVendorID derives a free vendor id from the organisation's domain.
func shareVendorID(tx *store.Tx, addr string) string {
	base := addr[strings.LastIndexByte(addr, '@')+1:]
	base = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '-'
	}, strings.ToLower(base))
	id := base
	for i := 2; ; i++ {
		if _, err := tx.Vendor(id); err != nil {
			return id
		}
		id = fmt.Sprintf("%s-%d", base, i)
	}
}
