package desk

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/coordbot/coordbot/store"
)

// Notices are sealed while their transaction goes on. One that commits
// stores every notice sealed; one that rolls back stores none and leaves
// no sealing worker behind.
func TestSealingFollowsItsTransaction(t *testing.T) {
	f := newFixture(t)
	var ids []string
	for i := range 40 {
		id := fmt.Sprintf("v%02d", i)
		if _, err := f.d.AddVendor(VendorInput{ID: id, Name: id, Emails: []string{id + "@vendors.example"}, Lang: []string{"ja", "en"}[i%2]}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	before := len(f.outbox())
	g0 := runtime.NumGoroutine()

	boom := errors.New("boom")
	err := f.d.Run("cli", func(o *Op) error {
		res, err := o.Notify(f.caseID, "overview", ids)
		if err != nil || len(res) != len(ids) {
			t.Fatalf("notify: %d results, %v", len(res), err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if n := len(f.outbox()); n != before {
		t.Errorf("a rolled-back notify left %d outbox entries", n-before)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > g0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > g0 {
		t.Errorf("%d goroutines after the rollback, %d before", n, g0)
	}

	if _, err := f.d.Notify(f.caseID, "overview", ids); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range f.outbox()[before:] {
		if e.State != store.OutQueued || len(e.Raw) == 0 || !e.Encrypted && !bytes.Contains(e.Raw, []byte("multipart/signed")) {
			t.Errorf("outbox %d (%s to %s): state %s, %d bytes", e.Seq, e.Kind, e.Vendor, e.State, len(e.Raw))
		}
		seen[e.Vendor] = true
	}
	if len(seen) != len(ids) {
		t.Errorf("%d vendors have an overview queued, want %d", len(seen), len(ids))
	}
}
