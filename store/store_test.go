package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func open(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "coordbot.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestOpenModeAndLock(t *testing.T) {
	s, path := open(t)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v err %v", fi.Mode(), err)
	}
	_, err = Open(path, Options{LockTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	s.Close()
	s2, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	s2.Close()
}

func TestRefusesForeignFiles(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.db")
	os.WriteFile(junk, []byte(strings.Repeat("not a database ", 400)), 0o600)
	if _, err := Open(junk, Options{}); err == nil || !strings.Contains(err.Error(), "not a coordbot store") {
		t.Fatalf("junk file: %v", err)
	}
	other := filepath.Join(dir, "other.db")
	db, err := bolt.Open(other, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("someone-else")); return err })
	db.Close()
	if _, err := Open(other, Options{}); err == nil || !strings.Contains(err.Error(), "foreign") {
		t.Fatalf("foreign bbolt file: %v", err)
	}
	// A damaged coordbot store: valid header, garbage after it.
	s, path := open(t)
	s.Close()
	data, _ := os.ReadFile(path)
	for i := 4096 * 2; i < len(data); i++ {
		data[i] = 0xA5
	}
	broken := filepath.Join(dir, "broken.db")
	os.WriteFile(broken, data, 0o600)
	if st, err := Open(broken, Options{}); err == nil {
		err = st.Check()
		st.Close()
		if err == nil {
			t.Fatal("damaged store opened and checked clean")
		}
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	s, path := open(t)
	s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Put(keySchema, u64(SchemaVersion+1)) })
	s.Close()
	if _, err := Open(path, Options{}); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("newer schema: %v", err)
	}
}

func TestVendorContactsAreUnique(t *testing.T) {
	s, _ := open(t)
	err := s.Update(func(tx *Tx) error {
		if err := tx.PutVendor(&Vendor{ID: "acme", Contacts: []Contact{{Addr: "PSIRT@acme.example"}}}); err != nil {
			return err
		}
		return tx.PutVendor(&Vendor{ID: "evil", Contacts: []Contact{{Addr: "psirt@acme.example"}}})
	})
	if !errors.Is(err, ErrExists) {
		t.Fatalf("shared contact: %v", err)
	}
	// The failed transaction left nothing behind.
	s.View(func(tx *Tx) error {
		if _, err := tx.VendorByAddr("psirt@acme.example"); err == nil {
			t.Fatal("rolled-back vendor visible")
		}
		return nil
	})
	s.Update(func(tx *Tx) error {
		if err := tx.PutVendor(&Vendor{ID: "acme", Contacts: []Contact{{Addr: "psirt@acme.example"}}}); err != nil {
			t.Fatal(err)
		}
		// Replacing the vendor's contacts frees the old address.
		if err := tx.PutVendor(&Vendor{ID: "acme", Contacts: []Contact{{Addr: "sec@acme.example"}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.VendorByAddr("psirt@acme.example"); err == nil {
			t.Fatal("old address still indexed")
		}
		v, err := tx.VendorByAddr("SEC@acme.example")
		if err != nil || v.ID != "acme" {
			t.Fatalf("lookup: %v %v", v, err)
		}
		return nil
	})
}

func TestLedgerOutboxEventsBackup(t *testing.T) {
	s, _ := open(t)
	now := time.Now().UTC()
	err := s.Update(func(tx *Tx) error {
		if err := tx.PutCase(&Case{ID: "JVNVU#12345678", State: CaseDraft}); err != nil {
			return err
		}
		for _, k := range []string{"a", "b"} {
			if _, err := tx.AddEvent("JVNVU#12345678", Event{Time: now, Kind: k}); err != nil {
				return err
			}
		}
		if err := tx.PutLedger(&LedgerEntry{Hash: "h1", Mailbox: "INBOX", UIDValid: 7, UID: 3, Outcome: OutcomeApplied, Dest: "Processed"}, []byte("raw")); err != nil {
			return err
		}
		// A duplicate copy adds its UID but keeps the first entry.
		if err := tx.PutLedger(&LedgerEntry{Hash: "h1", Mailbox: "INBOX", UIDValid: 7, UID: 9, Outcome: OutcomeDuplicate, Dest: "Processed"}, nil); err != nil {
			return err
		}
		return tx.Enqueue(&OutboxEntry{MessageID: "m1@cert.example", Case: "JVNVU#12345678", Vendor: "acme", Kind: "overview", To: []string{"a@b"}, Raw: []byte("x")})
	})
	if err != nil {
		t.Fatal(err)
	}
	s.View(func(tx *Tx) error {
		evs, _ := tx.Events("JVNVU#12345678")
		if len(evs) != 2 || evs[0].Kind != "a" || evs[1].Seq != 2 {
			t.Fatalf("events %+v", evs)
		}
		e, err := tx.LedgerByUID("INBOX", 7, 9)
		if err != nil || e.Outcome != OutcomeApplied || e.UID != 3 {
			t.Fatalf("ledger by duplicate uid: %+v %v", e, err)
		}
		if _, err := tx.LedgerByUID("INBOX", 8, 3); err == nil {
			t.Fatal("uid found under another UIDVALIDITY")
		}
		raw, _ := tx.Raw("h1")
		if string(raw) != "raw" {
			t.Fatalf("raw %q", raw)
		}
		ref, err := tx.MessageRef("m1@cert.example")
		if err != nil || ref.Vendor != "acme" {
			t.Fatalf("ref %+v %v", ref, err)
		}
		out, _ := tx.Outbox(nil)
		if len(out) != 1 || out[0].State != OutQueued || out[0].Seq != 1 {
			t.Fatalf("outbox %+v", out)
		}
		return nil
	})
	backup := filepath.Join(t.TempDir(), "copy.db")
	if err := s.BackupFile(backup); err != nil {
		t.Fatal(err)
	}
	b, err := Open(backup, Options{})
	if err != nil {
		t.Fatalf("backup does not open: %v", err)
	}
	defer b.Close()
	if err := b.Check(); err != nil {
		t.Fatal(err)
	}
	b.View(func(tx *Tx) error {
		if !tx.HasCase("JVNVU#12345678") {
			t.Fatal("backup lacks the case")
		}
		return nil
	})
}

// A vendor read twice in one transaction is decoded once, yet each caller
// gets its own copy; a write is what later reads see, and a rolled-back
// write is not.
func TestVendorReadsInOneTransaction(t *testing.T) {
	s, _ := open(t)
	v := &Vendor{ID: "acme", Name: "Acme", Contacts: []Contact{{Addr: "psirt@acme.example"}},
		Keys: []Key{{Fingerprint: "AA", Armored: "key"}}, Keywords: []string{"router"}}
	if err := s.Update(func(tx *Tx) error { return tx.PutVendor(v) }); err != nil {
		t.Fatal(err)
	}
	errRollback := errors.New("roll back")
	err := s.Update(func(tx *Tx) error {
		a, err := tx.Vendor("acme")
		if err != nil {
			return err
		}
		a.Name = "changed, not put"
		a.Contacts[0].Addr = "other@acme.example"
		a.Keys[0].Pending = true
		a.Keywords[0] = "changed"
		b, err := tx.VendorByAddr("psirt@acme.example")
		if err != nil {
			return err
		}
		if b.Name != "Acme" || b.Contacts[0].Addr != "psirt@acme.example" || b.Keys[0].Pending || b.Keywords[0] != "router" {
			t.Errorf("a second read sees the first reader's unsaved changes: %+v", b)
		}
		b.Name = "Acme Corp"
		b.Keys = append(b.Keys, Key{Fingerprint: "BB", Armored: "key2"})
		if again, _ := tx.Vendor("acme"); again.Name != "Acme" || len(again.Keys) != 1 {
			t.Errorf("a third read sees the second reader's unsaved changes: %+v", again)
		}
		if err := tx.PutVendor(b); err != nil {
			return err
		}
		c, _ := tx.Vendor("acme")
		if c.Name != "Acme Corp" || len(c.Keys) != 2 {
			t.Errorf("a read after the write: %+v", c)
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	s.View(func(tx *Tx) error {
		d, err := tx.Vendor("acme")
		if err != nil || d.Name != "Acme" || len(d.Keys) != 1 {
			t.Errorf("after the rollback: %+v, %v", d, err)
		}
		return nil
	})
}

// Vendor records decoded in one transaction are remembered for the next
// by their bytes: a copy changed by a caller, or a record rewritten, must
// never come back from the memo.
func TestVendorMemoAcrossTransactions(t *testing.T) {
	s, _ := open(t)
	put := func(v *Vendor) {
		t.Helper()
		if err := s.Update(func(tx *Tx) error { return tx.PutVendor(v) }); err != nil {
			t.Fatal(err)
		}
	}
	read := func() *Vendor {
		t.Helper()
		var v *Vendor
		if err := s.View(func(tx *Tx) (err error) { v, err = tx.Vendor("acme"); return err }); err != nil {
			t.Fatal(err)
		}
		return v
	}
	put(&Vendor{ID: "acme", Name: "Acme", Contacts: []Contact{{Addr: "psirt@acme.example"}}, Keys: []Key{{Fingerprint: "AA", Armored: "key"}}})
	a := read()
	a.Name = "changed, not put"
	a.Contacts[0].Addr = "other@acme.example"
	a.Keys[0].Pending = true
	if b := read(); b.Name != "Acme" || b.Contacts[0].Addr != "psirt@acme.example" || b.Keys[0].Pending {
		t.Errorf("a later transaction sees a caller's unsaved changes: %+v", b)
	}
	if len(s.memo.m) != 1 {
		t.Errorf("memo holds %d records after reading one vendor", len(s.memo.m))
	}
	put(&Vendor{ID: "acme", Name: "Acme Corp", Contacts: []Contact{{Addr: "psirt@acme.example"}}})
	if c := read(); c.Name != "Acme Corp" || len(c.Keys) != 0 {
		t.Errorf("after a rewrite: %+v", c)
	}
	var all []*Vendor
	s.View(func(tx *Tx) (err error) { all, err = tx.Vendors(); return err })
	if len(all) != 1 || all[0].Name != "Acme Corp" {
		t.Errorf("Vendors after a rewrite: %+v", all)
	}
	all[0].Name = "changed by a lister"
	if d := read(); d.Name != "Acme Corp" {
		t.Errorf("a lister's change came back: %+v", d)
	}

	// The memo stays bounded, and what it dropped is decoded again.
	if err := s.Update(func(tx *Tx) error {
		for i := range vendorMemoMax + 10 {
			if err := tx.PutVendor(&Vendor{ID: fmt.Sprintf("v%05d", i), Name: fmt.Sprint(i)}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		s.View(func(tx *Tx) error {
			all, err := tx.Vendors()
			if err != nil || len(all) != vendorMemoMax+11 {
				t.Fatalf("%d vendors, %v", len(all), err)
			}
			for i, v := range all[1:] { // after "acme"
				if v.Name != fmt.Sprint(i) {
					t.Fatalf("vendor %s named %q", v.ID, v.Name)
				}
			}
			return nil
		})
	}
	if n := len(s.memo.m); n > vendorMemoMax {
		t.Errorf("memo holds %d records, bound %d", n, vendorMemoMax)
	}
}
