package desk

import (
	"context"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/coordbot/coordbot/store"
)

// fakeSender answers every send with err.
type fakeSender struct {
	err   error
	sends int
}

func (s *fakeSender) Send(context.Context, string, []string, []byte) error {
	s.sends++
	return s.err
}

// TestDrainFailures: a 4xx stays queued for a later attempt; a 5xx ends the
// notice as failed and tells the coordinators, once.
func TestDrainFailures(t *testing.T) {
	f := newFixture(t)
	f.handle(mailFrom(acmeAddr, "Re: ["+f.caseID+"]", "", "Request detail: no\n")) // queues an ack
	temp := &fakeSender{err: &smtp.SMTPError{Code: 451, Message: "try later"}}
	sent, failed, err := f.d.Drain(context.Background(), temp, nil)
	if err != nil || sent != 0 || failed != 0 || temp.sends != 1 {
		t.Fatalf("4xx: sent %d failed %d err %v sends %d", sent, failed, err, temp.sends)
	}
	q := f.queued()
	if len(q) != 1 || q[0].Attempts != 1 || !q[0].NextAttempt.After(f.d.Now()) {
		t.Fatalf("after a 4xx: %+v", q)
	}
	// Not due yet: nothing is tried.
	if f.d.Drain(context.Background(), temp, nil); temp.sends != 1 {
		t.Fatal("retried before its time")
	}
	// Make it due, and the server now refuses for good.
	f.d.Store.Update(func(tx *store.Tx) error {
		q[0].NextAttempt = f.d.Now()
		return tx.PutOutbox(q[0])
	})
	perm := &fakeSender{err: &smtp.SMTPError{Code: 550, Message: "no such user"}}
	sent, failed, err = f.d.Drain(context.Background(), perm, nil)
	if err != nil || failed != 1 || sent != 0 {
		t.Fatalf("5xx: sent %d failed %d err %v", sent, failed, err)
	}
	var ack *store.OutboxEntry
	notes := 0
	for _, e := range f.outbox() {
		if e.Kind == "ack" {
			ack = e
		}
		if e.Kind == "bounce" && e.To[0] == coordAddr && e.State == store.OutQueued {
			notes++
		}
	}
	if ack.State != store.OutFailed || ack.LastError == "" || notes != 1 {
		t.Fatalf("ack %+v, coordinator notices %d", ack, notes)
	}
	// A notice to the coordinators that fails for good raises no further notice.
	sent, failed, _ = f.d.Drain(context.Background(), perm, nil)
	if failed != 1 || len(f.queued()) != 0 {
		t.Fatalf("coordinator notice failing: failed %d, queued %d", failed, len(f.queued()))
	}
}
