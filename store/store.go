package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the layout this code reads and writes. Open migrates
// older files forward and refuses newer ones.
const SchemaVersion = 2

// FileName is the store's name inside bot.data_dir.
const FileName = "coordbot.db"

var (
	bMeta     = []byte("meta")
	bVendors  = []byte("vendors")
	bContacts = []byte("contacts") // lower-case address → vendor id
	bCases    = []byte("cases")
	bParts    = []byte("parts")  // case \x00 vendor → Participation
	bEvents   = []byte("events") // case → sub-bucket seq → Event
	bLedger   = []byte("ledger") // hash → LedgerEntry
	bUIDs     = []byte("uids")   // mailbox \x00 uidvalidity \x00 uid → hash
	bRaw      = []byte("raw")    // hash → raw inbound message, as received
	bOutbox   = []byte("outbox") // seq → OutboxEntry
	bMsgRefs  = []byte("msgrefs")
	bCursors  = []byte("cursors")
	bKeyed    = []byte("keyed") // idempotency keys of one-off actions
	// Indexes (schema 2), so that the hot paths never scan history.
	bOutQueue  = []byte("outq")       // seq → nil, for queued outbox entries
	bRecent    = []byte("rcptrecent") // lower(addr) \x00 created \x00 seq → nil
	bCaseState = []byte("casestate")  // state \x00 case id → nil
	bOutRaw    = []byte("outraw")     // seq → the sealed notice
	allBuckets = [][]byte{bMeta, bVendors, bContacts, bCases, bParts, bEvents, bLedger, bUIDs, bRaw, bOutbox, bMsgRefs, bCursors, bKeyed,
		bOutQueue, bRecent, bCaseState, bOutRaw}

	keySchema = []byte("schema")
	keyMagic  = []byte("magic")
	magic     = []byte("coordbot store")
)

// Errors callers branch on.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	// ErrLocked means another process (usually `coordbot serve`) holds the file.
	ErrLocked = errors.New("store is in use by another process")
)

// Store is the open bbolt file.
type Store struct {
	db   *bolt.DB
	path string
	memo vendorMemo
}

// Options tune Open.
type Options struct {
	// LockTimeout bounds the wait for the file lock; bbolt's default waits forever.
	LockTimeout time.Duration
	ReadOnly    bool
}

// Open opens (creating when missing) the store at path, checks that it is a
// coordbot store and migrates it to SchemaVersion.
func Open(path string, opt Options) (*Store, error) {
	if opt.LockTimeout == 0 {
		opt.LockTimeout = time.Second
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create folder: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		if err := sniff(path); err != nil {
			return nil, err
		}
	}
	db, err := openBolt(path, opt)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, path: path}
	if opt.ReadOnly {
		if err := s.View(func(tx *Tx) error { return tx.checkSchema() }); err != nil {
			db.Close()
			return nil, err
		}
		return s, nil
	}
	// A store already at this schema needs no write transaction (and no
	// fsync): opening it for one CLI command stays cheap.
	current := s.View(func(tx *Tx) error {
		if err := tx.checkSchema(); err != nil {
			return err
		}
		for _, name := range allBuckets {
			if tx.btx.Bucket(name) == nil {
				return ErrNotFound
			}
		}
		return nil
	}) == nil
	if !current {
		if err := s.db.Update(func(btx *bolt.Tx) error { return migrate(btx) }); err != nil {
			db.Close()
			return nil, fmt.Errorf("store: %s: %w", path, err)
		}
	}
	_ = os.Chmod(path, 0o600)
	return s, nil
}

func openBolt(path string, opt Options) (db *bolt.DB, err error) {
	// bbolt panics on some damaged files instead of returning an error.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store: %s is damaged (%v): restore it from a backup", path, r)
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: opt.LockTimeout, ReadOnly: opt.ReadOnly})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("store: %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w (not a coordbot store, or damaged: restore it from a backup)", path, err)
	}
	return db, nil
}

// sniff refuses a file that is not a bbolt file before bbolt gets to read it.
func sniff(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	defer f.Close()
	head := make([]byte, 32)
	if _, err := io.ReadFull(f, head); err != nil {
		return fmt.Errorf("store: %s is not a coordbot store (too short)", path)
	}
	// bbolt's meta page carries the magic 0xED0CDAED at offset 16 (page header) + 0.
	if binary.LittleEndian.Uint32(head[16:20]) != 0xED0CDAED {
		return fmt.Errorf("store: %s is not a coordbot store (no bbolt header)", path)
	}
	return nil
}

func migrate(btx *bolt.Tx) error {
	meta, err := btx.CreateBucketIfNotExists(bMeta)
	if err != nil {
		return err
	}
	if m := meta.Get(keyMagic); m == nil {
		// A fresh file, or a bbolt file of someone else: only a file without
		// any bucket but ours may be adopted.
		foreign := false
		_ = btx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			if !bytes.Equal(name, bMeta) {
				foreign = true
			}
			return nil
		})
		if foreign {
			return errors.New("not a coordbot store (foreign bbolt file)")
		}
		if err := meta.Put(keyMagic, magic); err != nil {
			return err
		}
	} else if !bytes.Equal(m, magic) {
		return errors.New("not a coordbot store")
	}
	v := uint64(0)
	if b := meta.Get(keySchema); b != nil {
		v = binary.BigEndian.Uint64(b)
	}
	if v > SchemaVersion {
		return fmt.Errorf("schema version %d is newer than this coordbot (%d): upgrade coordbot", v, SchemaVersion)
	}
	// Migrations run in order; version 1 is the first layout, version 2
	// adds the indexes, built here from the records.
	for _, name := range allBuckets {
		if _, err := btx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	if v < 2 {
		if err := buildIndexes(&Tx{btx: btx}); err != nil {
			return fmt.Errorf("migrate to schema 2: %w", err)
		}
	}
	return meta.Put(keySchema, u64(SchemaVersion))
}

// Path is the file's path.
func (s *Store) Path() string { return s.path }

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Update runs fn in one read-write transaction: everything fn does commits
// together or not at all.
func (s *Store) Update(fn func(tx *Tx) error) error {
	return s.db.Update(func(btx *bolt.Tx) error {
		tx := &Tx{btx: btx, memo: &s.memo}
		defer tx.end()
		if err := fn(tx); err != nil {
			return err
		}
		return tx.finish()
	})
}

// View runs fn in a read-only transaction.
func (s *Store) View(fn func(tx *Tx) error) error {
	return s.db.View(func(btx *bolt.Tx) error { return fn(&Tx{btx: btx, memo: &s.memo}) })
}

// Backup writes a consistent copy of the store to w while others keep using it.
func (s *Store) Backup(w io.Writer) (int64, error) {
	var n int64
	err := s.db.View(func(btx *bolt.Tx) error {
		var err error
		n, err = btx.WriteTo(w)
		return err
	})
	return n, err
}

// BackupFile writes a consistent copy to path (0600), through a temporary file.
func (s *Store) BackupFile(path string) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	if _, err := s.Backup(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("store: backup: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("store: backup: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	return os.Rename(tmp, path)
}

// Check runs bbolt's consistency check.
func (s *Store) Check() error {
	return s.db.View(func(btx *bolt.Tx) error {
		// Drain the channel: bbolt's checker blocks until it is read to the end.
		var first error
		for err := range btx.Check() {
			if first == nil {
				first = err
			}
		}
		return first
	})
}

// Tx is one transaction.
type Tx struct {
	btx    *bolt.Tx
	before []func() error
	atEnd  []func()
	locals map[any]any
	// vendors holds the vendor records decoded in this transaction: one
	// answer reads its vendor several times (who sent it, whom to
	// acknowledge), and a record carries armored keys, costly to decode.
	// Callers get copies.
	vendors map[string]*Vendor
	memo    *vendorMemo
}

// Local returns the transaction's value for key, made by init on first
// use: state a caller keeps for the length of one transaction.
func (tx *Tx) Local(key any, init func() any) any {
	if v, ok := tx.locals[key]; ok {
		return v
	}
	if tx.locals == nil {
		tx.locals = map[any]any{}
	}
	v := init()
	tx.locals[key] = v
	return v
}

// BeforeCommit runs f after the transaction's function returned without
// error and before the commit, inside the transaction; an error from f
// rolls everything back. Work queued during a transaction (sealing notices)
// is done there in one batch.
func (tx *Tx) BeforeCommit(f func() error) { tx.before = append(tx.before, f) }

// AtEnd runs f when the transaction's function and hooks are done,
// whether it commits or not (before bbolt's commit): a caller that started
// work for the transaction stops it there.
func (tx *Tx) AtEnd(f func()) { tx.atEnd = append(tx.atEnd, f) }

func (tx *Tx) end() {
	for _, f := range tx.atEnd {
		f()
	}
}

func (tx *Tx) finish() error {
	// A hook may add another hook.
	for i := 0; i < len(tx.before); i++ {
		if err := tx.before[i](); err != nil {
			return err
		}
	}
	return nil
}

func (tx *Tx) checkSchema() error {
	meta := tx.btx.Bucket(bMeta)
	if meta == nil || !bytes.Equal(meta.Get(keyMagic), magic) {
		return errors.New("store: not a coordbot store")
	}
	if b := meta.Get(keySchema); b == nil || binary.BigEndian.Uint64(b) != SchemaVersion {
		return errors.New("store: schema version mismatch: open it read-write once to migrate")
	}
	return nil
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func getJSON(b *bolt.Bucket, key []byte, v any) error {
	data := b.Get(key)
	if data == nil {
		return ErrNotFound
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %q: %w", key, err)
	}
	return nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

// --- vendors ---

// Vendor returns the vendor with id.
func (tx *Tx) Vendor(id string) (*Vendor, error) {
	if v, ok := tx.vendors[id]; ok {
		return v.clone(), nil
	}
	data := tx.btx.Bucket(bVendors).Get([]byte(id))
	if data == nil {
		return nil, fmt.Errorf("vendor %s: %w", id, ErrNotFound)
	}
	v, err := tx.memo.decode(id, data)
	if err != nil {
		return nil, fmt.Errorf("vendor %s: decode: %w", id, err)
	}
	tx.cacheVendor(v)
	return v, nil
}

// vendorMemo remembers vendor records decoded from their stored bytes,
// across transactions. A record carries the vendor's armored keys, and
// decoding the records of a backlog's senders again in every transaction
// was a tenth of its CPU. A hit needs the stored bytes to be equal to
// those decoded, so it can never be stale; callers get copies.
type vendorMemo struct {
	mu sync.Mutex
	m  map[string]memoVendor
}

type memoVendor struct {
	data []byte
	v    *Vendor
}

// vendorMemoMax bounds the memo: a registry larger than this decodes the
// rest as before.
const vendorMemoMax = 4096

// decode returns the vendor stored under key as data.
func (m *vendorMemo) decode(key string, data []byte) (*Vendor, error) {
	var v Vendor
	if m == nil {
		return &v, json.Unmarshal(data, &v)
	}
	m.mu.Lock()
	e, ok := m.m[key]
	m.mu.Unlock()
	if ok && bytes.Equal(e.data, data) {
		return e.v.clone(), nil
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	m.mu.Lock()
	if m.m == nil {
		m.m = map[string]memoVendor{}
	}
	if _, ok := m.m[key]; !ok && len(m.m) >= vendorMemoMax {
		for k := range m.m { // any one
			delete(m.m, k)
			break
		}
	}
	m.m[key] = memoVendor{data: bytes.Clone(data), v: v.clone()}
	m.mu.Unlock()
	return &v, nil
}

func (tx *Tx) cacheVendor(v *Vendor) {
	if tx.vendors == nil {
		tx.vendors = map[string]*Vendor{}
	}
	tx.vendors[v.ID] = v.clone()
}

// clone is a copy of v sharing nothing a caller could change.
func (v *Vendor) clone() *Vendor {
	c := *v
	c.Contacts = slices.Clone(v.Contacts)
	c.Keys = slices.Clone(v.Keys)
	c.Keywords = slices.Clone(v.Keywords)
	return &c
}

// PutVendor creates or replaces a vendor and indexes its contact addresses.
// An address registered for another vendor is refused: the address decides
// who an inbound mail is from.
func (tx *Tx) PutVendor(v *Vendor) error {
	idx := tx.btx.Bucket(bContacts)
	if old, err := tx.Vendor(v.ID); err == nil {
		for _, a := range old.Addrs() {
			if err := idx.Delete([]byte(strings.ToLower(a))); err != nil {
				return err
			}
		}
	}
	for _, a := range v.Addrs() {
		k := []byte(strings.ToLower(a))
		if owner := idx.Get(k); owner != nil && string(owner) != v.ID {
			return fmt.Errorf("address %s is already a contact of vendor %s: %w", a, owner, ErrExists)
		}
		if err := idx.Put(k, []byte(v.ID)); err != nil {
			return err
		}
	}
	if err := putJSON(tx.btx.Bucket(bVendors), []byte(v.ID), v); err != nil {
		return err
	}
	tx.cacheVendor(v)
	return nil
}

// VendorByAddr finds the vendor with a contact address.
func (tx *Tx) VendorByAddr(addr string) (*Vendor, error) {
	id := tx.btx.Bucket(bContacts).Get([]byte(strings.ToLower(addr)))
	if id == nil {
		return nil, fmt.Errorf("contact %s: %w", addr, ErrNotFound)
	}
	return tx.Vendor(string(id))
}

// Vendors lists every vendor, ordered by id.
func (tx *Tx) Vendors() ([]*Vendor, error) {
	var out []*Vendor
	err := tx.btx.Bucket(bVendors).ForEach(func(k, data []byte) error {
		v, err := tx.memo.decode(string(k), data)
		if err != nil {
			return fmt.Errorf("decode vendor %s: %w", k, err)
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// --- cases ---

// Case returns the case with id.
func (tx *Tx) Case(id string) (*Case, error) {
	var c Case
	if err := getJSON(tx.btx.Bucket(bCases), []byte(id), &c); err != nil {
		return nil, fmt.Errorf("case %s: %w", id, err)
	}
	return &c, nil
}

// PutCase creates or replaces a case and keeps the state index.
func (tx *Tx) PutCase(c *Case) error {
	if err := tx.indexCaseState(c.ID, c.State); err != nil {
		return err
	}
	return putJSON(tx.btx.Bucket(bCases), []byte(c.ID), c)
}

func (tx *Tx) indexCaseState(id, state string) error {
	idx := tx.btx.Bucket(bCaseState)
	// The case record's state is not read back (a large record): the index
	// itself is scanned for the old key, at most one per state.
	for _, st := range caseStates {
		if st == state {
			continue
		}
		if err := idx.Delete([]byte(st + "\x00" + id)); err != nil {
			return err
		}
	}
	return idx.Put([]byte(state+"\x00"+id), nil)
}

var caseStates = []string{CaseDraft, CaseActive, CaseScheduled, CasePublished, CaseClosed, CaseCancelled}

// CaseIDs lists the IDs of the cases in the given states, ordered by state
// as given, then by ID; from the index, without reading the cases.
func (tx *Tx) CaseIDs(states ...string) []string {
	var out []string
	c := tx.btx.Bucket(bCaseState).Cursor()
	for _, st := range states {
		prefix := []byte(st + "\x00")
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			out = append(out, string(k[len(prefix):]))
		}
	}
	return out
}

// CaseCounts counts the cases in each state, from the index.
func (tx *Tx) CaseCounts() map[string]int {
	out := map[string]int{}
	_ = tx.btx.Bucket(bCaseState).ForEach(func(k, _ []byte) error {
		st, _, _ := bytes.Cut(k, []byte{0})
		out[string(st)]++
		return nil
	})
	return out
}

// CaseHead returns the case without its texts, attachments and shares:
// what a pass over many cases needs, without decoding the rest.
func (tx *Tx) CaseHead(id string) (*Case, error) {
	var h struct {
		ID           string    `json:"id"`
		Title        string    `json:"title"`
		Keywords     []string  `json:"keywords,omitempty"`
		Lead         string    `json:"lead"`
		Reporter     string    `json:"reporter,omitempty"`
		Start        time.Time `json:"start,omitempty"`
		Target       time.Time `json:"target,omitempty"`
		Publication  time.Time `json:"publication,omitempty"`
		State        string    `json:"state"`
		CancelReason string    `json:"cancel_reason,omitempty"`
		Created      time.Time `json:"created"`
		Updated      time.Time `json:"updated"`
	}
	if err := getJSON(tx.btx.Bucket(bCases), []byte(id), &h); err != nil {
		return nil, fmt.Errorf("case %s: %w", id, err)
	}
	return &Case{ID: h.ID, Title: h.Title, Keywords: h.Keywords, Lead: h.Lead, Reporter: h.Reporter, Start: h.Start,
		Target: h.Target, Publication: h.Publication, State: h.State, CancelReason: h.CancelReason, Created: h.Created, Updated: h.Updated}, nil
}

// HasCase tells whether id exists.
func (tx *Tx) HasCase(id string) bool {
	return tx.btx.Bucket(bCases).Get([]byte(id)) != nil
}

// Cases lists every case, ordered by id.
func (tx *Tx) Cases() ([]*Case, error) {
	var out []*Case
	err := tx.btx.Bucket(bCases).ForEach(func(k, data []byte) error {
		var c Case
		if err := json.Unmarshal(data, &c); err != nil {
			return fmt.Errorf("decode case %s: %w", k, err)
		}
		out = append(out, &c)
		return nil
	})
	return out, err
}

// --- participations ---

func partKey(caseID, vendorID string) []byte {
	return []byte(caseID + "\x00" + vendorID)
}

// Participation returns vendor's part in case.
func (tx *Tx) Participation(caseID, vendorID string) (*Participation, error) {
	var p Participation
	if err := getJSON(tx.btx.Bucket(bParts), partKey(caseID, vendorID), &p); err != nil {
		return nil, fmt.Errorf("vendor %s on case %s: %w", vendorID, caseID, err)
	}
	return &p, nil
}

// PutParticipation creates or replaces a participation.
func (tx *Tx) PutParticipation(p *Participation) error {
	return putJSON(tx.btx.Bucket(bParts), partKey(p.Case, p.Vendor), p)
}

// Participations lists a case's vendors in the order they were added.
func (tx *Tx) Participations(caseID string) ([]*Participation, error) {
	var out []*Participation
	prefix := []byte(caseID + "\x00")
	c := tx.btx.Bucket(bParts).Cursor()
	for k, data := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, data = c.Next() {
		var p Participation
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, fmt.Errorf("decode participation %q: %w", k, err)
		}
		out = append(out, &p)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Added.Before(out[j].Added) })
	return out, nil
}

// --- events ---

// AddEvent appends an event to a case's trail and returns its sequence number.
func (tx *Tx) AddEvent(caseID string, e Event) (uint64, error) {
	b, err := tx.btx.Bucket(bEvents).CreateBucketIfNotExists([]byte(caseID))
	if err != nil {
		return 0, err
	}
	seq, err := b.NextSequence()
	if err != nil {
		return 0, err
	}
	e.Seq = seq
	return seq, putJSON(b, u64(seq), &e)
}

// Events returns a case's trail in order.
func (tx *Tx) Events(caseID string) ([]Event, error) {
	b := tx.btx.Bucket(bEvents).Bucket([]byte(caseID))
	if b == nil {
		return nil, nil
	}
	var out []Event
	err := b.ForEach(func(k, data []byte) error {
		var e Event
		if err := json.Unmarshal(data, &e); err != nil {
			return fmt.Errorf("decode event %x: %w", k, err)
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

// fillPartTimes copies the times of the registration-requested and
// unreachable-stage events (the desk's event kinds) into the
// participations (schema 2).
func fillPartTimes(tx *Tx) error {
	var ids []string
	if err := tx.btx.Bucket(bCases).ForEach(func(k, _ []byte) error { ids = append(ids, string(k)); return nil }); err != nil {
		return err
	}
	for _, id := range ids {
		evs, err := tx.Events(id)
		if err != nil {
			return err
		}
		times := map[string]*[2]time.Time{}
		for _, e := range evs {
			t := times[e.Vendor]
			if t == nil {
				t = &[2]time.Time{}
				times[e.Vendor] = t
			}
			switch e.Kind {
			case "registration-requested":
				t[0] = e.Time
			case "unreachable-stage":
				t[1] = e.Time
			}
		}
		for vendor, t := range times {
			if t[0].IsZero() && t[1].IsZero() {
				continue
			}
			p, err := tx.Participation(id, vendor)
			if err != nil {
				continue // an event of a vendor no longer on the case
			}
			p.RegistrationRequested, p.StageApplied = t[0], t[1]
			if err := tx.PutParticipation(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// --- inbound ledger ---

func uidKey(mailbox string, uidValidity, uid uint32) []byte {
	k := []byte(mailbox + "\x00")
	k = binary.BigEndian.AppendUint32(k, uidValidity)
	return binary.BigEndian.AppendUint32(k, uid)
}

// Ledger returns the entry for a message hash.
func (tx *Tx) Ledger(hash string) (*LedgerEntry, error) {
	var e LedgerEntry
	if err := getJSON(tx.btx.Bucket(bLedger), []byte(hash), &e); err != nil {
		return nil, fmt.Errorf("ledger %s: %w", hash, err)
	}
	return &e, nil
}

// LedgerByUID returns the entry recorded for a mailbox UID.
func (tx *Tx) LedgerByUID(mailbox string, uidValidity, uid uint32) (*LedgerEntry, error) {
	h := tx.btx.Bucket(bUIDs).Get(uidKey(mailbox, uidValidity, uid))
	if h == nil {
		return nil, fmt.Errorf("ledger uid %d: %w", uid, ErrNotFound)
	}
	return tx.Ledger(string(h))
}

// PutLedger records an inbound message; raw (as received) is kept for the
// audit trail. A second copy of a known message only adds its UID.
func (tx *Tx) PutLedger(e *LedgerEntry, raw []byte) error {
	if e.UID != 0 {
		if err := tx.btx.Bucket(bUIDs).Put(uidKey(e.Mailbox, e.UIDValid, e.UID), []byte(e.Hash)); err != nil {
			return err
		}
	}
	if tx.btx.Bucket(bLedger).Get([]byte(e.Hash)) != nil && e.Outcome == OutcomeDuplicate {
		return nil
	}
	if raw != nil {
		if err := tx.btx.Bucket(bRaw).Put([]byte(e.Hash), raw); err != nil {
			return err
		}
	}
	return putJSON(tx.btx.Bucket(bLedger), []byte(e.Hash), e)
}

// Raw returns a ledgered message as received.
func (tx *Tx) Raw(hash string) ([]byte, error) {
	b := tx.btx.Bucket(bRaw)
	if v := b.Get([]byte(hash)); v != nil {
		return bytes.Clone(v), nil
	}
	var out []byte
	prefix := []byte(hash + "/")
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		out = append(out, v...)
	}
	if out == nil {
		return nil, fmt.Errorf("raw %s: %w", hash, ErrNotFound)
	}
	return out, nil
}

// RawChunkSize is the piece size of PutRawChunks.
const RawChunkSize = 1 << 20

// PutRawChunks stores a large raw message under hash in pieces, one
// transaction each, before the transaction that records it: a commit holds
// the pages it writes in memory, so a 40 MB message written at once would
// cost another 40 MB. Pieces left by a crash before the record are
// rewritten, identical, when the message is handled again. It returns the
// number of pieces, for LedgerEntry.RawChunks.
func (s *Store) PutRawChunks(hash string, raw []byte) (int, error) {
	n := 0
	for off := 0; off < len(raw); off += RawChunkSize {
		piece := raw[off:min(off+RawChunkSize, len(raw))]
		key := []byte(fmt.Sprintf("%s/%06d", hash, n))
		if err := s.Update(func(tx *Tx) error { return tx.btx.Bucket(bRaw).Put(key, piece) }); err != nil {
			return n, fmt.Errorf("store raw %s piece %d: %w", hash, n, err)
		}
		n++
	}
	return n, nil
}

// LedgerEntries lists the whole ledger (tests, audits).
func (tx *Tx) LedgerEntries() ([]*LedgerEntry, error) {
	var out []*LedgerEntry
	err := tx.btx.Bucket(bLedger).ForEach(func(k, data []byte) error {
		var e LedgerEntry
		if err := json.Unmarshal(data, &e); err != nil {
			return fmt.Errorf("decode ledger %s: %w", k, err)
		}
		out = append(out, &e)
		return nil
	})
	return out, err
}

// --- cursors ---

// Cursor returns how far mailbox has been read.
func (tx *Tx) Cursor(mailbox string) (Cursor, error) {
	var c Cursor
	err := getJSON(tx.btx.Bucket(bCursors), []byte(mailbox), &c)
	if errors.Is(err, ErrNotFound) {
		return Cursor{}, nil
	}
	return c, err
}

// PutCursor records how far mailbox has been read.
func (tx *Tx) PutCursor(mailbox string, c Cursor) error {
	return putJSON(tx.btx.Bucket(bCursors), []byte(mailbox), c)
}

// --- outbox ---

// Enqueue adds a notice to the outbox and indexes its Message-ID.
func (tx *Tx) Enqueue(e *OutboxEntry) error {
	b := tx.btx.Bucket(bOutbox)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	e.Seq = seq
	if e.State == "" {
		e.State = OutQueued
	}
	if err := putJSON(tx.btx.Bucket(bMsgRefs), []byte(e.MessageID), MessageRef{Case: e.Case, Vendor: e.Vendor, Kind: e.Kind}); err != nil {
		return err
	}
	if err := tx.indexRecent(e); err != nil {
		return err
	}
	return tx.PutOutbox(e)
}

// PutOutbox replaces an outbox entry (after an attempt) and keeps the
// queue index. The raw message is written when e.Raw is set; an entry
// read with OutboxMeta keeps its stored one.
func (tx *Tx) PutOutbox(e *OutboxEntry) error {
	q := tx.btx.Bucket(bOutQueue)
	var err error
	if e.State == OutQueued {
		err = q.Put(u64(e.Seq), nil)
	} else {
		err = q.Delete(u64(e.Seq))
	}
	if err != nil {
		return err
	}
	if e.Raw != nil {
		if err := tx.btx.Bucket(bOutRaw).Put(u64(e.Seq), e.Raw); err != nil {
			return err
		}
	}
	return putJSON(tx.btx.Bucket(bOutbox), u64(e.Seq), e)
}

func recentKey(addr string, at time.Time, seq uint64) []byte {
	k := []byte(strings.ToLower(addr) + "\x00")
	ns := int64(0)
	if at.After(time.Unix(0, 0)) {
		ns = at.UnixNano()
	}
	k = binary.BigEndian.AppendUint64(k, uint64(ns))
	return binary.BigEndian.AppendUint64(k, seq)
}

func (tx *Tx) indexRecent(e *OutboxEntry) error {
	b := tx.btx.Bucket(bRecent)
	for _, a := range e.To {
		if err := b.Put(recentKey(a, e.Created, e.Seq), nil); err != nil {
			return err
		}
	}
	return nil
}

// CountSentTo counts the outbox entries addressed to addr created at or
// after since, from the index (rate limits).
func (tx *Tx) CountSentTo(addr string, since time.Time) int {
	prefix := []byte(strings.ToLower(addr) + "\x00")
	start := recentKey(addr, since, 0)
	n := 0
	c := tx.btx.Bucket(bRecent).Cursor()
	for k, _ := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	return n
}

// PruneRecent drops rate-limit index keys older than before.
func (tx *Tx) PruneRecent(before time.Time) (int, error) {
	b := tx.btx.Bucket(bRecent)
	var old [][]byte
	_ = b.ForEach(func(k, _ []byte) error {
		i := bytes.IndexByte(k, 0)
		if i >= 0 && len(k) == i+17 && int64(binary.BigEndian.Uint64(k[i+1:i+9])) < before.UnixNano() {
			old = append(old, bytes.Clone(k))
		}
		return nil
	})
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(old), nil
}

// QueuedOutbox lists the queued entries in queue order, from the index,
// with their raw messages; filter (which sees no Raw) may be nil.
func (tx *Tx) QueuedOutbox(filter func(*OutboxEntry) bool) ([]*OutboxEntry, error) {
	var out []*OutboxEntry
	raws := tx.btx.Bucket(bOutRaw)
	err := tx.btx.Bucket(bOutQueue).ForEach(func(k, _ []byte) error {
		e, err := tx.OutboxMeta(binary.BigEndian.Uint64(k))
		if err != nil {
			return err
		}
		if filter == nil || filter(e) {
			e.Raw = bytes.Clone(raws.Get(k))
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// QueueDepth counts the queued entries and returns the first in queue
// order without its raw message (nil when none is queued), from the index:
// the outbox gauges read it after every send pass, and decoding every
// queued entry for them was a cost that grew with a backlog.
func (tx *Tx) QueueDepth() (n int, first *OutboxEntry, err error) {
	c := tx.btx.Bucket(bOutQueue).Cursor()
	k, _ := c.First()
	if k == nil {
		return 0, nil, nil
	}
	if first, err = tx.OutboxMeta(binary.BigEndian.Uint64(k)); err != nil {
		return 0, nil, err
	}
	for ; k != nil; k, _ = c.Next() {
		n++
	}
	return n, first, nil
}

// buildIndexes fills the schema 2 indexes from the records, and the
// participation times that repeat events.
func buildIndexes(tx *Tx) error {
	if err := fillPartTimes(tx); err != nil {
		return err
	}
	if err := tx.btx.Bucket(bCases).ForEach(func(k, data []byte) error {
		var c struct {
			State string `json:"state"`
		}
		if err := json.Unmarshal(data, &c); err != nil {
			return fmt.Errorf("decode case %s: %w", k, err)
		}
		return tx.indexCaseState(string(k), c.State)
	}); err != nil {
		return err
	}
	var es []*OutboxEntry
	if err := tx.btx.Bucket(bOutbox).ForEach(func(k, data []byte) error {
		// Schema 1 kept the raw message inside the record.
		var legacy struct {
			OutboxEntry
			Raw []byte `json:"raw"`
		}
		if err := json.Unmarshal(data, &legacy); err != nil {
			return fmt.Errorf("decode outbox %x: %w", k, err)
		}
		e := legacy.OutboxEntry
		e.Raw = legacy.Raw
		es = append(es, &e)
		return nil
	}); err != nil {
		return err
	}
	// Only what a rate limit can still count goes into the index: the
	// scheduler keeps it to the last two hours, and a store that has sent
	// for years would otherwise start with every notice in it.
	recent := time.Now().Add(-RecentWindow)
	for _, e := range es {
		if !e.Created.Before(recent) {
			if err := tx.indexRecent(e); err != nil {
				return err
			}
		}
		if err := tx.PutOutbox(e); err != nil {
			return err
		}
	}
	return nil
}

// RecentWindow is how far back the rate-limit index reaches: the
// scheduler prunes older keys (Tx.PruneRecent) and the migration does not
// index them.
const RecentWindow = 2 * time.Hour

// OutboxEntry returns one entry with its raw message.
func (tx *Tx) OutboxEntry(seq uint64) (*OutboxEntry, error) {
	e, err := tx.OutboxMeta(seq)
	if err != nil {
		return nil, err
	}
	e.Raw = bytes.Clone(tx.btx.Bucket(bOutRaw).Get(u64(seq)))
	return e, nil
}

// OutboxMeta returns one entry without its raw message (Raw is nil).
func (tx *Tx) OutboxMeta(seq uint64) (*OutboxEntry, error) {
	var e OutboxEntry
	if err := getJSON(tx.btx.Bucket(bOutbox), u64(seq), &e); err != nil {
		return nil, fmt.Errorf("outbox %d: %w", seq, err)
	}
	return &e, nil
}

// Outbox lists entries in queue order, with their raw messages; filter
// (which sees no Raw) may be nil.
func (tx *Tx) Outbox(filter func(*OutboxEntry) bool) ([]*OutboxEntry, error) {
	var out []*OutboxEntry
	raws := tx.btx.Bucket(bOutRaw)
	err := tx.btx.Bucket(bOutbox).ForEach(func(k, data []byte) error {
		var e OutboxEntry
		if err := json.Unmarshal(data, &e); err != nil {
			return fmt.Errorf("decode outbox %x: %w", k, err)
		}
		if filter == nil || filter(&e) {
			e.Raw = bytes.Clone(raws.Get(k))
			out = append(out, &e)
		}
		return nil
	})
	return out, err
}

// MessageRef resolves a Message-ID the robot wrote.
func (tx *Tx) MessageRef(msgID string) (*MessageRef, error) {
	var r MessageRef
	if err := getJSON(tx.btx.Bucket(bMsgRefs), []byte(msgID), &r); err != nil {
		return nil, fmt.Errorf("message-id %s: %w", msgID, err)
	}
	return &r, nil
}

// --- idempotency keys ---

// Keyed reports whether a one-off action key was recorded.
func (tx *Tx) Keyed(key string) bool {
	return tx.btx.Bucket(bKeyed).Get([]byte(key)) != nil
}

// PutKeyed records a one-off action key (a scheduler action, a seen signature).
func (tx *Tx) PutKeyed(key string, at time.Time) error {
	return tx.btx.Bucket(bKeyed).Put([]byte(key), []byte(at.UTC().Format(time.RFC3339Nano)))
}

// NextNumber returns the next value of a named counter (DID numbers).
func (tx *Tx) NextNumber(name string) (uint64, error) {
	b, err := tx.btx.Bucket(bMeta).CreateBucketIfNotExists([]byte("counter:" + name))
	if err != nil {
		return 0, err
	}
	return b.NextSequence()
}
