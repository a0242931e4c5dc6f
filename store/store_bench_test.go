package store_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/coordbot/coordbot/store"
)

// Benchmarks of the store's hot paths: what one applied answer commits, and
// what case show and the scheduler read per case. Each benchmark has its
// own fresh store in a temporary folder (on the disk the tests run on: the
// commit includes bbolt's fdatasync).
//
//	go test ./store -run '^$' -bench . -benchmem

func benchStore(b *testing.B) *store.Store {
	b.Helper()
	st, err := store.Open(filepath.Join(b.TempDir(), store.FileName), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

func benchBytes(n int) []byte {
	p := make([]byte, n)
	rand.Read(p)
	return p
}

// One applied answer: its ledger entry with the raw message (5 KB) and the
// acknowledgement (4 KB, sealed) in the outbox, committed in one Update.
func BenchmarkCommitLedgerAndOutbox(b *testing.B) {
	st := benchStore(b)
	raw := benchBytes(5 << 10)
	ack := benchBytes(4 << 10)
	now := time.Now()
	i := 0
	b.SetBytes(int64(len(raw) + len(ack)))
	b.ReportAllocs()
	for b.Loop() {
		i++
		sum := sha256.Sum256(fmt.Appendf(nil, "message %d", i))
		hash := hex.EncodeToString(sum[:])
		err := st.Update(func(tx *store.Tx) error {
			e := &store.LedgerEntry{Hash: hash, MessageID: fmt.Sprintf("%d@mail.acme.example", i), Mailbox: "INBOX", UIDValid: 1,
				UID: uint32(i), Time: now, From: "psirt@acme.example", Case: "JVNVU#12345678", Vendor: "acme",
				Outcome: store.OutcomeApplied, Dest: "Processed"}
			if err := tx.PutLedger(e, raw); err != nil {
				return err
			}
			return tx.Enqueue(&store.OutboxEntry{MessageID: fmt.Sprintf("coordbot.ack.JVNVU12345678.%d@cert.example", i),
				Case: "JVNVU#12345678", Vendor: "acme", Kind: "ack", From: "vultures@cert.example",
				To: []string{"psirt@acme.example", "security@acme.example"}, Raw: ack, Encrypted: true, Created: now})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// benchCase writes one case with 20 vendors and 97 events (the average
// trail of the scale run), plus 199 other cases so that the case is not
// alone in its buckets.
func benchCase(b *testing.B, st *store.Store) string {
	b.Helper()
	now := time.Now()
	overview := string(benchText(1500))
	detail := string(benchText(4000))
	var id string
	err := st.Update(func(tx *store.Tx) error {
		for n := range 200 {
			c := &store.Case{ID: fmt.Sprintf("JVNVU#%08d", 10000000+n*4099), Title: "AcmeRouter X100 における認証回避の脆弱性",
				Overview: overview, Detail: detail, Keywords: []string{"router", "http"}, Start: now, Target: now.Add(45 * 24 * time.Hour),
				State: store.CaseActive, Created: now, Updated: now}
			if n == 100 {
				id = c.ID
			}
			if err := tx.PutCase(c); err != nil {
				return err
			}
			for v := range 20 {
				vid := fmt.Sprintf("vendor-%03d", v)
				p := &store.Participation{Case: c.ID, Vendor: vid, State: store.PartDetailSent, Status: store.StatusAffected,
					Comment: "We have released a fixed version; see our advisory.", URL: "https://www.example/security/" + vid,
					Added: now.Add(time.Duration(v) * time.Second), OverviewSent: now, DetailSent: now, LastInbound: now, RemindersSent: 1}
				if err := tx.PutParticipation(p); err != nil {
					return err
				}
			}
			for e := range 97 {
				if _, err := tx.AddEvent(c.ID, store.Event{Time: now, Actor: "acme", Kind: "status-reported", Vendor: fmt.Sprintf("vendor-%03d", e%20),
					MessageID: fmt.Sprintf("%d.%d@mail.acme.example", n, e), Summary: "status: affected"}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return id
}

func benchText(n int) []byte {
	const para = "PRODUCT には、細工されたリクエストを処理する際に入力値の検証が不十分な問題が存在します。 A remote attacker may execute arbitrary code.\n"
	var out []byte
	for len(out) < n {
		out = append(out, para...)
	}
	return out
}

// A case with its vendors, as the desk reads it for every rule.
func BenchmarkReadCaseParticipations(b *testing.B) {
	st := benchStore(b)
	id := benchCase(b, st)
	b.ReportAllocs()
	for b.Loop() {
		err := st.View(func(tx *store.Tx) error {
			if _, err := tx.Case(id); err != nil {
				return err
			}
			parts, err := tx.Participations(id)
			if err == nil && len(parts) != 20 {
				err = fmt.Errorf("%d participations", len(parts))
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// The same and the event trail: what case show and the scheduler read.
func BenchmarkReadCaseParticipationsEvents(b *testing.B) {
	st := benchStore(b)
	id := benchCase(b, st)
	b.ReportAllocs()
	for b.Loop() {
		err := st.View(func(tx *store.Tx) error {
			if _, err := tx.Case(id); err != nil {
				return err
			}
			if _, err := tx.Participations(id); err != nil {
				return err
			}
			evs, err := tx.Events(id)
			if err == nil && len(evs) != 97 {
				err = fmt.Errorf("%d events", len(evs))
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// A vendor read by a new transaction, as each batch of answers reads its
// senders: the record carries an armored key. After the first read the
// memo answers from the same stored bytes; "changed" rewrites the record
// before every read, so each one decodes it.
func BenchmarkVendorRead(b *testing.B) {
	for _, changed := range []bool{false, true} {
		b.Run(map[bool]string{false: "same", true: "changed"}[changed], func(b *testing.B) {
			st := benchStore(b)
			armored := string(benchText(700))
			v := &store.Vendor{ID: "acme", Name: "ACME", Lang: "ja", Contacts: []store.Contact{{Addr: "psirt@acme.example"}},
				Keys: []store.Key{{Fingerprint: "0123456789ABCDEF0123456789ABCDEF01234567", Armored: armored, Added: time.Now()}}}
			if err := st.Update(func(tx *store.Tx) error { return tx.PutVendor(v) }); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if changed {
					b.StopTimer()
					i++
					v.Name = fmt.Sprint("ACME ", i)
					if err := st.Update(func(tx *store.Tx) error { return tx.PutVendor(v) }); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				err := st.View(func(tx *store.Tx) error {
					got, err := tx.Vendor("acme")
					if err == nil && len(got.Keys) != 1 {
						err = fmt.Errorf("%d keys", len(got.Keys))
					}
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
