package store

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestIndexesFollowTheRecords(t *testing.T) {
	s, _ := open(t)
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	err := s.Update(func(tx *Tx) error {
		for _, c := range []*Case{{ID: "A", State: CaseActive}, {ID: "B", State: CaseDraft}, {ID: "C", State: CaseActive}} {
			if err := tx.PutCase(c); err != nil {
				return err
			}
		}
		for i, to := range [][]string{{"x@v.example"}, {"X@V.example", "y@v.example"}, {"y@v.example"}} {
			if err := tx.Enqueue(&OutboxEntry{MessageID: "m" + string(rune('0'+i)), To: to, Created: t0.Add(time.Duration(i) * time.Hour)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Update(func(tx *Tx) error {
		c, _ := tx.Case("B")
		c.State = CaseScheduled
		if err := tx.PutCase(c); err != nil {
			t.Fatal(err)
		}
		e, _ := tx.OutboxEntry(1)
		e.State = OutSent
		return tx.PutOutbox(e)
	})
	s.View(func(tx *Tx) error {
		if got := tx.CaseIDs(CaseActive, CaseScheduled); !slices.Equal(got, []string{"A", "C", "B"}) {
			t.Errorf("CaseIDs = %v", got)
		}
		if got := tx.CaseIDs(CaseDraft); len(got) != 0 {
			t.Errorf("draft after the state changed: %v", got)
		}
		if got := tx.CaseCounts(); got[CaseActive] != 2 || got[CaseScheduled] != 1 || got[CaseDraft] != 0 {
			t.Errorf("CaseCounts = %v", got)
		}
		q, err := tx.QueuedOutbox(nil)
		if err != nil || len(q) != 2 || q[0].Seq != 2 || q[1].Seq != 3 {
			t.Errorf("QueuedOutbox = %v, %v", q, err)
		}
		if n, first, err := tx.QueueDepth(); err != nil || n != 2 || first == nil || first.Seq != 2 || !first.Created.Equal(t0.Add(time.Hour)) || first.Raw != nil {
			t.Errorf("QueueDepth = %d, %+v, %v; want 2 and the second entry", n, first, err)
		}
		if n := tx.CountSentTo("x@v.example", t0); n != 2 {
			t.Errorf("CountSentTo x since t0 = %d, want 2 (case-insensitive)", n)
		}
		if n := tx.CountSentTo("x@v.example", t0.Add(30*time.Minute)); n != 1 {
			t.Errorf("CountSentTo x since t0+30m = %d, want 1", n)
		}
		if n := tx.CountSentTo("y@v.example", t0.Add(time.Hour)); n != 2 {
			t.Errorf("CountSentTo y = %d, want 2", n)
		}
		return nil
	})
	s.Update(func(tx *Tx) error {
		n, err := tx.PruneRecent(t0.Add(90 * time.Minute))
		if err != nil || n != 3 {
			t.Errorf("PruneRecent = %d, %v; want 3 keys (x twice, y once)", n, err)
		}
		if n := tx.CountSentTo("y@v.example", t0); n != 1 {
			t.Errorf("after prune, y = %d", n)
		}
		return nil
	})
}

// reopenAsSchema1 marks s's file as schema 1, closes it and opens it
// again, which runs the migration.
func reopenAsSchema1(t *testing.T, s *Store, path string) *Store {
	t.Helper()
	if err := s.db.Update(func(btx *bolt.Tx) error { return btx.Bucket(bMeta).Put(keySchema, u64(1)) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	return s2
}

// A schema 1 file (no indexes) gets them built at open.
func TestMigrationBuildsIndexes(t *testing.T) {
	s, path := open(t)
	s.Update(func(tx *Tx) error {
		tx.PutCase(&Case{ID: "A", State: CaseActive})
		tx.Enqueue(&OutboxEntry{MessageID: "m1", To: []string{"x@v.example"}, Created: time.Now()})
		old := &OutboxEntry{MessageID: "m0", To: []string{"x@v.example"}, Created: time.Now().Add(-72 * time.Hour), State: OutSent}
		if err := tx.Enqueue(old); err != nil {
			return err
		}
		e := &OutboxEntry{MessageID: "m2", To: []string{"x@v.example"}, Created: time.Now(), State: OutSent}
		return tx.Enqueue(e)
	})
	s.db.Update(func(btx *bolt.Tx) error {
		for _, b := range [][]byte{bOutQueue, bRecent, bCaseState} {
			if err := btx.DeleteBucket(b); err != nil {
				t.Fatal(err)
			}
		}
		return nil
	})
	s2 := reopenAsSchema1(t, s, path)
	s2.View(func(tx *Tx) error {
		if got := tx.CaseIDs(CaseActive); !slices.Equal(got, []string{"A"}) {
			t.Errorf("CaseIDs after migration = %v", got)
		}
		if q, _ := tx.QueuedOutbox(nil); len(q) != 1 || q[0].MessageID != "m1" {
			t.Errorf("QueuedOutbox after migration = %v", q)
		}
		if n := tx.CountSentTo("x@v.example", time.Time{}); n != 2 {
			t.Errorf("CountSentTo after migration = %d, want 2 (a notice three days old is past any limit)", n)
		}
		return nil
	})
}

func TestBeforeCommitRunsInsideAndCanRollBack(t *testing.T) {
	s, _ := open(t)
	boom := errors.New("boom")
	err := s.Update(func(tx *Tx) error {
		tx.BeforeCommit(func() error { return tx.PutCase(&Case{ID: "late", State: CaseDraft}) })
		tx.BeforeCommit(func() error { return boom })
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	s.View(func(tx *Tx) error {
		if tx.HasCase("late") {
			t.Error("a failing hook must roll back the transaction")
		}
		return nil
	})
	s.Update(func(tx *Tx) error {
		tx.BeforeCommit(func() error { return tx.PutCase(&Case{ID: "late", State: CaseDraft}) })
		return nil
	})
	s.View(func(tx *Tx) error {
		if !tx.HasCase("late") {
			t.Error("a hook's writes must commit")
		}
		return nil
	})
}

func TestAtEndRunsWhateverTheOutcome(t *testing.T) {
	s, _ := open(t)
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		fn   func(tx *Tx) error
	}{
		{"commit", func(tx *Tx) error { return nil }},
		{"error", func(tx *Tx) error { return boom }},
		{"failing hook", func(tx *Tx) error { tx.BeforeCommit(func() error { return boom }); return nil }},
		{"panic", func(tx *Tx) error { panic(boom) }},
	} {
		var order []string
		func() {
			defer func() { recover() }()
			s.Update(func(tx *Tx) error {
				tx.AtEnd(func() { order = append(order, "end") })
				tx.BeforeCommit(func() error { order = append(order, "hook"); return nil })
				return tc.fn(tx)
			})
		}()
		if len(order) == 0 || order[len(order)-1] != "end" {
			t.Errorf("%s: %v, want the end last", tc.name, order)
		}
	}
}

func TestRawChunks(t *testing.T) {
	s, _ := open(t)
	raw := make([]byte, 2*RawChunkSize+123)
	for i := range raw {
		raw[i] = byte(i * 7)
	}
	n, err := s.PutRawChunks("h1", raw)
	if err != nil || n != 3 {
		t.Fatalf("PutRawChunks = %d, %v", n, err)
	}
	// A neighbouring hash sharing the prefix must not leak in.
	s.Update(func(tx *Tx) error {
		return tx.PutLedger(&LedgerEntry{Hash: "h10", Outcome: OutcomeApplied}, []byte("other"))
	})
	s.View(func(tx *Tx) error {
		got, err := tx.Raw("h1")
		if err != nil || !bytes.Equal(got, raw) {
			t.Fatalf("Raw = %d bytes, %v", len(got), err)
		}
		if _, err := tx.Raw("h2"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("missing: %v", err)
		}
		return nil
	})
}

// The schema 2 migration copies the registration and stage event times
// into the participations.
func TestMigrationFillsParticipationTimes(t *testing.T) {
	s, path := open(t)
	t1 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	t2 := t1.Add(100 * 24 * time.Hour)
	s.Update(func(tx *Tx) error {
		tx.PutCase(&Case{ID: "A", State: CaseActive})
		tx.PutParticipation(&Participation{Case: "A", Vendor: "v"})
		tx.PutParticipation(&Participation{Case: "A", Vendor: "w"})
		tx.AddEvent("A", Event{Time: t1, Kind: "registration-requested", Vendor: "v"})
		tx.AddEvent("A", Event{Time: t2, Kind: "unreachable-stage", Vendor: "v"})
		tx.AddEvent("A", Event{Time: t2, Kind: "overview-sent", Vendor: "w"})
		return nil
	})
	s2 := reopenAsSchema1(t, s, path)
	s2.View(func(tx *Tx) error {
		v, _ := tx.Participation("A", "v")
		w, _ := tx.Participation("A", "w")
		if !v.RegistrationRequested.Equal(t1) || !v.StageApplied.Equal(t2) || !w.StageApplied.IsZero() || !w.RegistrationRequested.IsZero() {
			t.Fatalf("v %v %v, w %v %v", v.RegistrationRequested, v.StageApplied, w.RegistrationRequested, w.StageApplied)
		}
		return nil
	})
}

// Schema 1 kept the sealed notice inside the outbox record: the migration
// moves it to its own bucket.
func TestMigrationMovesOutboxRaw(t *testing.T) {
	s, path := open(t)
	s.db.Update(func(btx *bolt.Tx) error {
		rec := `{"seq":7,"message_id":"m7@bot","kind":"ack","from":"b@x","to":["v@y.example"],"raw":"` +
			"UmF3IG5vdGljZQ==" + `","created":"2026-11-01T00:00:00Z","attempts":0,"next_attempt":"0001-01-01T00:00:00Z","state":"queued"}`
		if err := btx.Bucket(bOutbox).Put(u64(7), []byte(rec)); err != nil {
			t.Fatal(err)
		}
		for _, b := range [][]byte{bOutQueue, bRecent, bCaseState, bOutRaw} {
			btx.DeleteBucket(b)
		}
		return nil
	})
	s2 := reopenAsSchema1(t, s, path)
	s2.View(func(tx *Tx) error {
		q, err := tx.QueuedOutbox(nil)
		if err != nil || len(q) != 1 || string(q[0].Raw) != "Raw notice" {
			t.Fatalf("after migration: %v %+v", err, q)
		}
		if bytes.Contains(tx.btx.Bucket(bOutbox).Get(u64(7)), []byte(`"raw"`)) {
			t.Fatal("raw still inside the record")
		}
		return nil
	})
}

func TestQueueDepthEmpty(t *testing.T) {
	s, _ := open(t)
	s.View(func(tx *Tx) error {
		if n, first, err := tx.QueueDepth(); n != 0 || first != nil || err != nil {
			t.Errorf("QueueDepth of an empty outbox = %d, %v, %v", n, first, err)
		}
		return nil
	})
}
