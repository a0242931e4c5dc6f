package desk

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/coordbot/coordbot/mailbot/keys"
	"github.com/coordbot/coordbot/mailbot/seal"
	"github.com/coordbot/coordbot/store"
)

// outcomeOf is what a run did, comparable between runs.
type outcomeOf struct {
	results []string
	notices []string
	parts   []string
	events  []string
}

func (f *fixture) observe(res []Result) outcomeOf {
	var o outcomeOf
	for _, r := range res {
		o.results = append(o.results, fmt.Sprintf("%s→%s %s %s again=%v", r.Outcome, r.Dest, r.Case, r.Vendor, r.Again))
	}
	f.d.Store.View(func(tx *store.Tx) error {
		q, _ := tx.QueuedOutbox(nil)
		for _, e := range q {
			o.notices = append(o.notices, e.Kind+" "+strings.Join(e.To, ","))
		}
		ps, _ := tx.Participations(f.caseID)
		for _, p := range ps {
			o.parts = append(o.parts, p.Vendor+" "+p.State)
		}
		evs, _ := tx.Events(f.caseID)
		for _, e := range evs {
			o.events = append(o.events, e.Kind+" "+e.Vendor)
		}
		return nil
	})
	slices.Sort(o.notices)
	return o
}

// TestHandleBatchMatchesHandle: a batch has exactly the effects of the same
// messages handled one by one, in order: answers, a second copy inside the
// batch, junk, a stranger, and a command mail that is refused (which makes
// the batch fall back to one by one).
func TestHandleBatchMatchesHandle(t *testing.T) {
	f := newFixture(t)
	yes := mailFrom(acmeAddr, "Re: ["+f.caseID+"]", "", "Request detail: yes\n")
	no := mailFrom(betaAddr, "Re: ["+f.caseID+"]", f.ovID["beta"], "Request detail: no\n")
	junk := []byte("\x00\x01garbage without header end")
	stranger := mailFrom("stranger@example.org", "Re: ["+f.caseID+"]", "", "Request detail: yes\n")
	command := mailFrom(coordAddr, "commands", "", "#coordbot case "+f.caseID+"\n#coordbot publish\n")
	for _, tc := range []struct {
		name string
		raws [][]byte
	}{
		{"answers, copy, junk, stranger", [][]byte{yes, no, yes, junk, stranger}},
		{"with a refused command mail", [][]byte{yes, command, no}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := snapshot(f)
			ins := make([]Inbound, len(tc.raws))
			for i, raw := range tc.raws {
				ins[i] = Inbound{Mailbox: "INBOX", UIDValidity: 7, UID: uint32(1000 + i), Raw: raw}
			}
			var single []Result
			for _, in := range ins {
				r, err := f.d.Handle(in)
				if err != nil {
					t.Fatal(err)
				}
				single = append(single, r)
			}
			want := f.observe(single)
			restore(f, base)
			got, err := f.d.HandleBatch(ins)
			if err != nil {
				t.Fatal(err)
			}
			have := f.observe(got)
			if fmt.Sprint(have) != fmt.Sprint(want) {
				t.Fatalf("batch:\n%v\none by one:\n%v", have, want)
			}
			// Again as a batch (a crash before the MOVE): nothing new.
			again, err := f.d.HandleBatch(ins)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range again {
				if !r.Again || r.MessageID != got[i].MessageID {
					t.Fatalf("repeat %d: %+v, first %+v", i, r, got[i])
				}
			}
			if fmt.Sprint(f.observe(got)) != fmt.Sprint(have) {
				t.Fatal("a repeated batch changed the store")
			}
			restore(f, base)
		})
	}
}

// keyChangeFixture is a desk where acme has the pinned key oldKey, and a
// second key newKey that acme may offer, with enc writing acme's answers to
// the case as PGP/MIME signed by a key and encrypted to the robot.
func keyChangeFixture(t *testing.T) (f *fixture, enc func(signer *openpgp.Entity, body string) []byte, oldKey, newKey *openpgp.Entity, newPub *keys.Public) {
	t.Helper()
	f = newFixture(t)
	robot, _ := f.d.RobotKey()
	oldKey, oldPub := genKey(t, acmeAddr)
	newKey, newPub = genKey(t, acmeAddr)
	if _, err := f.d.ImportVendorKey("acme", oldPub); err != nil {
		t.Fatal(err)
	}
	subj := "Re: [" + f.caseID + "] overview"
	enc = func(signer *openpgp.Entity, body string) []byte {
		raw, err := seal.Encrypt(vendorMail(acmeAddr, subj, body), signer, []*openpgp.Entity{robot}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	return f, enc, oldKey, newKey, newPub
}

// TestHandleBatchNewKeyThenItsUse: an answer carrying a new key signed by
// the vendor's pinned key, then an answer signed by that new key, in one
// batch: the second is verified with the key the first pinned, as it would
// be one by one.
func TestHandleBatchNewKeyThenItsUse(t *testing.T) {
	f, enc, oldKey, newKey, newPub := keyChangeFixture(t)
	ins := []Inbound{
		{Mailbox: "INBOX", UIDValidity: 3, UID: 1, Raw: enc(oldKey, "Request detail: yes\n\nOur new key:\n"+newPub.Armored)},
		{Mailbox: "INBOX", UIDValidity: 3, UID: 2, Raw: enc(newKey, "Status: affected\nComment: fixed in 2.0\n")},
		{Mailbox: "INBOX", UIDValidity: 3, UID: 3, Raw: enc(newKey, "Status: affected\nComment: fixed in 2.0.1\n")},
	}
	res, err := f.d.HandleBatch(ins)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 {
		t.Fatalf("%d results", len(res))
	}
	var auth []bool
	f.d.Store.View(func(tx *store.Tx) error {
		for _, in := range ins {
			e, err := tx.LedgerByUID(in.Mailbox, in.UIDValidity, in.UID)
			if err != nil {
				t.Fatal(err)
			}
			auth = append(auth, e.Authenticated)
		}
		return nil
	})
	if !slices.Equal(auth, []bool{true, true, true}) {
		t.Fatalf("authenticated %v, results %+v", auth, res)
	}
}

// TestCommitBatchReopensAfterPin: a batch opened while the batch before
// it is still committing (the pipeline in Poll) and then pinning a key is
// opened again at its commit, so answers signed by the new key count as
// the vendor's. Opening also readies the signer's key for sealing the
// acknowledgement, from the key set that checked it.
func TestCommitBatchReopensAfterPin(t *testing.T) {
	f, enc, oldKey, newKey, newPub := keyChangeFixture(t)
	oldFpr := keys.Fingerprint(oldKey)
	f.d.keys.mu.Lock()
	f.d.keys.public = nil // nothing readied for sealing yet
	f.d.keys.mu.Unlock()
	first := []Inbound{
		{Mailbox: "INBOX", UIDValidity: 3, UID: 1, Raw: enc(oldKey, "Request detail: yes\n\nOur new key:\n"+newPub.Armored)},
		{Mailbox: "INBOX", UIDValidity: 3, UID: 2, Raw: enc(oldKey, "Status: affected\nComment: looking\n")},
	}
	second := []Inbound{
		{Mailbox: "INBOX", UIDValidity: 3, UID: 3, Raw: enc(newKey, "Status: affected\nComment: fixed in 2.0\n")},
		{Mailbox: "INBOX", UIDValidity: 3, UID: 4, Raw: enc(newKey, "Status: affected\nComment: fixed in 2.0.1\n")},
	}
	p1, err := f.d.prepareBatch(first)
	if err != nil {
		t.Fatal(err)
	}
	f.d.keys.mu.Lock()
	_, readied := f.d.keys.public[oldFpr]
	f.d.keys.mu.Unlock()
	if !readied {
		t.Fatal("opening an answer did not ready its signer's key for sealing")
	}
	p2, err := f.d.prepareBatch(second) // opened before the first commits
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.commitBatch(p1); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.commitBatch(p2); err != nil {
		t.Fatal(err)
	}
	f.d.Store.View(func(tx *store.Tx) error {
		for _, in := range append(first, second...) {
			e, err := tx.LedgerByUID(in.Mailbox, in.UIDValidity, in.UID)
			if err != nil {
				t.Fatal(err)
			}
			if !e.Authenticated {
				t.Fatalf("uid %d not authenticated: %s %s", in.UID, e.Outcome, e.Reason)
			}
		}
		return nil
	})
}

// TestHashIgnoresTraceAndLineEnds: the hash of the old, copying way of
// normalising the body, which the streaming one must keep.
func TestHashIgnoresTraceAndLineEnds(t *testing.T) {
	body := "line one\r\nline two\r\n\r\nbare\rcr and lf\nend\r\n"
	a := []byte("Received: from a\r\nFrom: x@y.example\r\nSubject: s\r\n\r\n" + body)
	b := []byte("From: x@y.example\nSubject: s\nDelivered-To: z@bot.example\n\n" + strings.ReplaceAll(body, "\r\n", "\n"))
	if Hash(a) != Hash(b) {
		t.Fatal("the same message with other trace fields and LF line ends hashes differently")
	}
	if Hash(a) == Hash([]byte("From: x@y.example\r\nSubject: s\r\n\r\n"+body+"x")) {
		t.Fatal("a changed body hashes the same")
	}
}

// TestWarmKeys: every pinned key is parsed ahead, once per worker for
// opening and once for sealing; pending keys are not.
func TestWarmKeys(t *testing.T) {
	f := newFixture(t)
	_, acmePub := genKey(t, acmeAddr)
	if _, err := f.d.ImportVendorKey("acme", acmePub); err != nil {
		t.Fatal(err)
	}
	f.d.keysChanged()
	f.d.keys.public = nil
	if err := f.d.WarmKeys(); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.d.keys.public[acmePub.Fingerprint]; !ok || len(f.d.keys.public) != 1 {
		t.Fatalf("sealing keys parsed: %d", len(f.d.keys.public))
	}
	if len(f.d.keys.open) < runtime.GOMAXPROCS(0) {
		t.Fatalf("%d opening key sets for %d workers", len(f.d.keys.open), runtime.GOMAXPROCS(0))
	}
	for _, k := range f.d.keys.open {
		if len(k.Verify) != 1 {
			t.Fatalf("a key set verifies with %d keys", len(k.Verify))
		}
	}
}

// TestTickPrunesRateIndex: the scheduler pass drops rate-limit index keys
// older than two hours, at most once an hour, and the limit still counts
// the last hour.
func TestTickPrunesRateIndex(t *testing.T) {
	f := newFixture(t)
	old := f.d.Now().Add(-5 * time.Hour)
	f.d.Store.Update(func(tx *store.Tx) error {
		return tx.Enqueue(&store.OutboxEntry{MessageID: "old@bot", Kind: "ack", To: []string{acmeAddr}, Created: old, State: store.OutSent})
	})
	count := func(since time.Time) (n int) {
		f.d.Store.View(func(tx *store.Tx) error { n = tx.CountSentTo(acmeAddr, since); return nil })
		return
	}
	before := count(time.Time{})
	if _, err := f.d.Tick(f.d.Now()); err != nil {
		t.Fatal(err)
	}
	if got := count(time.Time{}); got != before-1 {
		t.Fatalf("%d keys for acme after the pass, want %d", got, before-1)
	}
	if count(f.d.Now().Add(-time.Hour)) != before-1 {
		t.Fatal("recent keys were pruned")
	}
}
