package desk

import (
	"strings"
	"testing"

	"github.com/coordbot/coordbot/store"
)

func TestVendorRequestsAndShare(t *testing.T) {
	f := newFixture(t)
	_, acmePub := genKey(t, acmeAddr)
	if _, err := f.d.ImportVendorKey("acme", acmePub); err != nil {
		t.Fatal(err)
	}
	f.handle(mailFrom(acmeAddr, "Re: ["+f.caseID+"]", "", "Request detail: yes\n"))
	if f.part("acme").State != store.PartDetailSent {
		t.Fatal("no detail")
	}
	n := len(f.outbox())
	res := f.handle(mailFrom(acmeAddr, "Re: ["+f.caseID+"]", "",
		"Status: affected-investigating\nDate change request: two more weeks please\n公表前の顧客への通知：はい\n"+
			"関係組織への共有：Delta Systems / 佐藤 花子 / psirt@delta.example\n"))
	if res.Outcome != store.OutcomeApplied || !strings.Contains(res.Reason, "requests") {
		t.Fatalf("%+v", res)
	}
	coordNotes := 0
	for _, e := range f.outbox()[n:] {
		if e.Kind == "vendor-request" && e.To[0] == coordAddr {
			coordNotes++
			if strings.Contains(string(e.Raw), "two more weeks") {
				t.Fatal("the vendor's text went into a notice")
			}
		}
	}
	if coordNotes != 3 {
		t.Fatalf("coordinator notices %d, want 3", coordNotes)
	}
	if _, err := f.d.ShareApprove(f.caseID, "acme", "psirt@delta.example"); err == nil || !strings.Contains(err.Error(), "not written") {
		t.Fatalf("approve before the organisation wrote: %v", err)
	}
	// The organisation writes quoting the case ID, with its key.
	deltaKey, deltaPub := genKey(t, "psirt@delta.example")
	_ = deltaKey
	n = len(f.outbox())
	res = f.handle(mailFrom("psirt@delta.example", "Case "+f.caseID, "", "Hello, ACME told us to write.\n\n"+deltaPub.Armored))
	if res.Outcome != store.OutcomeApplied || !strings.Contains(res.Reason, "related organisation") {
		t.Fatalf("share contact: %+v", res)
	}
	for _, e := range f.outbox()[n:] {
		if e.To[0] == "psirt@delta.example" {
			t.Fatal("the organisation got an answer before approval")
		}
	}
	id, err := f.d.ShareApprove(f.caseID, "acme", "psirt@delta.example")
	if err != nil {
		t.Fatal(err)
	}
	p := f.part(id)
	if p.State != store.PartDetailSent {
		t.Fatalf("delta: %+v", p)
	}
	for _, e := range f.outbox() {
		if e.Vendor == id && e.Kind == "detail" && !e.Encrypted {
			t.Fatal("detail to the organisation not encrypted")
		}
	}
	if _, err := f.d.ShareApprove(f.caseID, "acme", "psirt@delta.example"); err == nil {
		t.Fatal("approved twice")
	}
}
