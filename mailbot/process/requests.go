package process

import (
	"fmt"
	"strings"
	"time"

	"github.com/coordbot/coordbot/store"
)

// Vendor request kinds and events.
const (
	KindVendorRequest = "vendor-request"

	EvDateChangeRequested     = "date-change-requested"
	EvCustomerNoticeRequested = "customer-notice-requested"
	EvOtherVendors            = "other-vendors-reported"
	EvShareRequested          = "share-requested"
	EvShareContacted          = "share-contacted"
	EvShareApproved           = "share-approved"
)

// Requests are what a vendor asks besides its status.
type Requests struct {
	DateChange     bool
	CustomerNotice bool
	OtherVendors   bool
	Share          *store.Share
}

// VendorRequests records a vendor's requests and tells the coordinators,
// who decide: a date change (§4-2), a customer notice before publication
// (§6-3), other developers that may be affected (§3-4), a related
// organisation to share with (§8-2). The notices name the request and the
// message, never its text: a coordinator reads it in the mailbox.
func VendorRequests(now time.Time, c *store.Case, v *store.Vendor, p *store.Participation, r Requests, in Inbound) (Effect, error) {
	var eff Effect
	if !Open(c) {
		return eff, fmt.Errorf("request from %s: %w", v.ID, ErrCaseClosed)
	}
	tell := func(kind, what, command string) {
		eff.event(now, v.ID, kind, v.ID, in.MessageID, what, in.Authenticated)
		reason := fmt.Sprintf("vendor %s (%s): %s (Message-ID %s)", v.ID, v.Name, what, in.MessageID)
		if command != "" {
			reason += "; to approve: " + command
		}
		eff.Notices = append(eff.Notices, Notice{Kind: KindVendorRequest, Case: c.ID, ToCoordinators: true,
			Fields: map[string]string{"reason": reason, "vendor": v.ID, "message_id": in.MessageID, "from": in.From}})
	}
	if r.DateChange {
		tell(EvDateChangeRequested, "asks to move the publication date", "")
	}
	if r.CustomerNotice {
		if p.State != store.PartDetailSent {
			return eff, fmt.Errorf("customer notice request from %s in state %s: %w", v.ID, p.State, ErrUnexpectedReply)
		}
		tell(EvCustomerNoticeRequested, "asks to notify its customers before publication",
			"#coordbot customer-notice approve "+v.ID)
	}
	if r.OtherVendors {
		tell(EvOtherVendors, "reports that other developers may be affected", "")
	}
	if s := r.Share; s != nil {
		if p.State != store.PartDetailSent {
			return eff, fmt.Errorf("share request from %s in state %s: %w", v.ID, p.State, ErrUnexpectedReply)
		}
		dup := false
		for _, old := range c.Shares {
			dup = dup || (old.Vendor == v.ID && strings.EqualFold(old.Addr, s.Addr))
		}
		if !dup {
			s.Vendor, s.Requested = v.ID, now
			c.Shares = append(c.Shares, *s)
		}
		tell(EvShareRequested, "asks to share the information with "+s.Org+" <"+s.Addr+">; it must write to the desk quoting the case ID",
			"#coordbot share approve "+v.ID+" "+s.Addr)
	}
	if len(eff.Events) > 0 {
		p.LastInbound = now
		c.Updated = now
	}
	return eff, nil
}

// ShareContact records that a related organisation wrote to the desk
// quoting the case ID (§8-2: that is what authenticates it); the
// coordinators are told and approve.
func ShareContact(now time.Time, c *store.Case, addr string, keys []string, in Inbound) (Effect, bool) {
	var eff Effect
	for i := range c.Shares {
		s := &c.Shares[i]
		if !strings.EqualFold(s.Addr, addr) || !s.Approved.IsZero() {
			continue
		}
		if s.Contacted.IsZero() {
			s.Contacted = now
		}
		s.Keys = append(s.Keys, keys...)
		eff.event(now, addr, EvShareContacted, s.Vendor, in.MessageID, "related organisation "+s.Org+" wrote to the desk", false)
		eff.Notices = append(eff.Notices, Notice{Kind: KindVendorRequest, Case: c.ID, ToCoordinators: true,
			Fields: map[string]string{"vendor": s.Vendor, "message_id": in.MessageID, "from": addr,
				"reason": fmt.Sprintf("related organisation %s <%s> (asked by %s) wrote to the desk; to approve: #coordbot share approve %s %s",
					s.Org, s.Addr, s.Vendor, s.Vendor, s.Addr)}})
		return eff, true
	}
	return eff, false
}
