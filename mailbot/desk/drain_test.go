package desk

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/coordbot/coordbot/mailbot/smtpout"
	"github.com/coordbot/coordbot/store"
)

// fakeSender answers every send with err and notes what it was given.
type fakeSender struct {
	err   error
	mu    sync.Mutex
	sends int
	raws  map[string]int
}

func (s *fakeSender) Send(_ context.Context, _ string, _ []string, raw []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sends++
	if s.raws == nil {
		s.raws = map[string]int{}
	}
	s.raws[string(raw)]++
	return s.err
}

func (f *fixture) enqueueN(n int) {
	f.t.Helper()
	err := f.d.Store.Update(func(tx *store.Tx) error {
		for i := range n {
			e := &store.OutboxEntry{MessageID: fmt.Sprintf("m%d@bot", i), Kind: "ack", From: botAddr, To: []string{acmeAddr},
				Raw: []byte(fmt.Sprintf("Message-ID: <m%d@bot>\r\n\r\nbody\r\n", i)), Created: f.d.Now()}
			if err := tx.Enqueue(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

// TestDrainParallel: every due notice is sent exactly once over the
// parallel sessions and recorded as sent.
func TestDrainParallel(t *testing.T) {
	f := newFixture(t)
	f.enqueueN(57)
	ok := &fakeSender{}
	sent, failed, err := f.d.Drain(context.Background(), ok, nil)
	if err != nil || sent != 57 || failed != 0 || ok.sends != 57 || len(ok.raws) != 57 {
		t.Fatalf("sent %d failed %d err %v sends %d distinct %d", sent, failed, err, ok.sends, len(ok.raws))
	}
	if q := f.queued(); len(q) != 0 {
		t.Fatalf("%d still queued", len(q))
	}
	for _, e := range f.outbox() {
		if e.State != store.OutSent || e.Attempts != 1 {
			t.Fatalf("%s: %s after %d attempts", e.MessageID, e.State, e.Attempts)
		}
	}
}

// TestDrainServerDown: when the server cannot be reached, a pass stops
// after the sessions in flight; the other notices keep their attempts.
func TestDrainServerDown(t *testing.T) {
	f := newFixture(t)
	f.enqueueN(40)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	s := smtpout.New(smtpout.Config{Address: addr, Security: "none", HelloName: "bot.example", DialTimeout: time.Second}, nil)
	defer s.Close()
	sent, _, err := f.d.Drain(context.Background(), s, nil)
	if err != nil || sent != 0 {
		t.Fatalf("sent %d, err %v", sent, err)
	}
	tried := 0
	for _, e := range f.queued() {
		tried += e.Attempts
	}
	if tried == 0 || tried > f.d.Cfg.SMTP.Connections {
		t.Fatalf("%d attempts recorded with the server down, want 1..%d", tried, f.d.Cfg.SMTP.Connections)
	}
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
