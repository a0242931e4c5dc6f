package desk

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coordbot/coordbot/mailbot/export"
	"github.com/coordbot/coordbot/mailbot/open"
	"github.com/coordbot/coordbot/store"
)

func (f *fixture) kinds(since int) map[string]int {
	m := map[string]int{}
	for _, e := range f.outbox()[since:] {
		m[e.Kind+":"+e.Vendor+":"+e.To[0]]++
	}
	return m
}

func TestTick(t *testing.T) {
	f := newFixture(t)
	var start time.Time
	f.d.Store.View(func(tx *store.Tx) error { c, _ := tx.Case(f.caseID); start = c.Start; return nil })
	// beta answers "no": it owes nothing more.
	f.handle(mailFrom(betaAddr, "Re: ["+f.caseID+"]", "", "Request detail: no\n"))
	n := len(f.outbox())
	res, err := f.d.Tick(start.Add(8 * 24 * time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if k := f.kinds(n); res.Actions != 1 || k["reminder:acme:"+acmeAddr] != 1 {
		t.Fatalf("first reminder: %+v %v", res, k)
	}
	// The same instant again sends nothing.
	n = len(f.outbox())
	if res, _ := f.d.Tick(start.Add(8 * 24 * time.Hour)); res.Actions != 0 || len(f.outbox()) != n {
		t.Fatalf("second pass at the same instant: %+v", res)
	}
	// After three months without an answer: stage 1 proposed with the exact command.
	res, err = f.d.Tick(start.AddDate(0, 3, 1))
	if err != nil {
		t.Fatal(err)
	}
	var proposal *store.OutboxEntry
	for _, e := range f.outbox()[n:] {
		if e.Kind == KindUnreachableNotice {
			proposal = e
		}
	}
	if proposal == nil || proposal.To[0] != coordAddr {
		t.Fatalf("no unreachable proposal: %v", f.kinds(n))
	}
	m, err := open.Parse(proposal.Raw, open.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"#coordbot unreachable acme advance", "coordbot case unreachable " + f.caseID + " acme advance", "ACME", "Stage proposed: 1"} {
		if !strings.Contains(m.Text, want) {
			t.Fatalf("proposal lacks %q:\n%s", want, m.Text)
		}
	}
	stage, err := f.d.AdvanceUnreachable(f.caseID, "acme")
	if err != nil || stage != 1 {
		t.Fatalf("advance: %d %v", stage, err)
	}
	p := f.part("acme")
	if p.State != store.PartUnreachable || !strings.HasPrefix(p.DID, "DID#") || p.UnreachableStage != 1 {
		t.Fatalf("after stage 1: %+v", p)
	}
	if f.part("beta").State != store.PartNoProduct {
		t.Fatal("beta touched")
	}
	// The public list (§7-1): the name with its DID at stage 1, the
	// product from stage 2, never anything about the vulnerability.
	for stage, want := range [][]string{1: {p.DID, "ACME"}, 2: {"WidgetServer", "3.1"}} {
		if stage == 0 {
			continue
		}
		if stage == 2 {
			if _, err := f.d.AdvanceUnreachable(f.caseID, "acme", "WidgetServer 3.1"); err != nil {
				t.Fatal(err)
			}
		}
		l, err := f.d.UnreachableList()
		if err != nil {
			t.Fatal(err)
		}
		md, err := export.UnreachableMarkdown(l)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(string(md), w) {
				t.Fatalf("stage %d list lacks %q:\n%s", stage, w, md)
			}
		}
		if strings.Contains(string(md), "Secret title") || strings.Contains(string(md), "overview text") {
			t.Fatal("the list shows the case")
		}
		if stage == 1 && strings.Contains(string(md), "WidgetServer") {
			t.Fatal("product shown at stage 1")
		}
	}
}

// TestFig6Timeline: a case published with a vendor at stage 4 carries its
// history in the export.
func TestFig6Timeline(t *testing.T) {
	f := newFixture(t)
	for range 4 {
		if _, err := f.d.AdvanceUnreachable(f.caseID, "acme", "Widget 1.0"); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.d.SetDate(f.caseID, time.Now().Add(time.Hour), true); err != nil {
		t.Fatal(err)
	}
	if err := f.d.Publish(f.caseID); err != nil {
		t.Fatal(err)
	}
	a, err := f.d.Advisory(f.caseID)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Timeline) != 6 { // four stages, date, publication
		t.Fatalf("timeline %+v", a.Timeline)
	}
	md, err := export.JVNMarkdown(a)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "stage 4") || !strings.Contains(string(md), "公表 / published") {
		t.Fatalf("export lacks the Fig. 6 timeline:\n%s", md)
	}
	if _, err := f.d.AdvanceUnreachable(f.caseID, "acme"); err == nil {
		t.Fatal("a fifth stage")
	}
}

// passCounter counts "scheduler pass" log lines.
type passCounter struct {
	slog.Handler
	n *atomic.Int32
}

func (h passCounter) Enabled(context.Context, slog.Level) bool { return true }

func (h passCounter) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "scheduler pass" {
		h.n.Add(1)
	}
	return nil
}

// TestSchedulerWaitsForFirstInboundPass: under serve, the first scheduler
// pass waits until the first inbound pass has read the INBOX (so a vendor
// whose answer waited there is not reminded), then runs at once.
func TestSchedulerWaitsForFirstInboundPass(t *testing.T) {
	f := newFixture(t)
	var passes atomic.Int32
	f.d.Log = slog.New(passCounter{Handler: slog.DiscardHandler, n: &passes})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); f.d.schedulerLoop(ctx, ready) }()
	time.Sleep(300 * time.Millisecond)
	if n := passes.Load(); n != 0 {
		t.Fatalf("%d scheduler passes before the first inbound pass", n)
	}
	close(ready)
	deadline := time.Now().Add(5 * time.Second)
	for passes.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if passes.Load() == 0 {
		t.Fatal("no scheduler pass after the first inbound pass")
	}
	cancel()
	<-done
}
