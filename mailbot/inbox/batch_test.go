package inbox

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// TestFetchBatches: batches respect the byte and count budgets, come in
// UID order, are exact and unseen; a too large message is reported, not
// read; a gone UID is skipped; one FETCH per batch.
func TestFetchBatches(t *testing.T) {
	transcript := &syncBuffer{}
	s := startServer(t, serverOpts{transcript: transcript})
	p := peer(t, s.addr)
	raws := map[imap.UID][]byte{}
	var order []imap.UID
	for i := range 7 {
		raw := testMessage(i)
		if i == 3 {
			raw = bigMessage()
		}
		uid := peerAppend(t, p, "INBOX", raw)
		raws[uid] = raw
		order = append(order, uid)
	}
	c := dial(t, s.addr, func(cfg *Config) { cfg.MaxMessageSize = 4096 })
	if _, err := c.Select("INBOX"); err != nil {
		t.Fatal(err)
	}
	var batches [][]imap.UID
	var seen []imap.UID
	err := c.FetchBatches(append([]imap.UID{9999}, order...), 1<<20, 2, func(fs []Fetched) error {
		var b []imap.UID
		for _, f := range fs {
			b = append(b, f.UID)
			seen = append(seen, f.UID)
			if f.UID == order[3] {
				var tl *TooLargeError
				if !errors.As(f.Err, &tl) || f.Raw != nil || tl.UID != order[3] {
					t.Errorf("big message: %v, %d bytes", f.Err, len(f.Raw))
				}
				continue
			}
			if f.Err != nil || !bytes.Equal(f.Raw, raws[f.UID]) {
				t.Errorf("uid %d: %v, %d bytes, want %d", f.UID, f.Err, len(f.Raw), len(raws[f.UID]))
			}
		}
		batches = append(batches, b)
		// The callback may use the client.
		return c.Noop()
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seen, order) {
		t.Fatalf("seen %v, want %v", seen, order)
	}
	for _, b := range batches {
		if n := len(b); n > 3 || n == 0 { // two read plus at most the too-large one
			t.Fatalf("batches %v", batches)
		}
	}
	fetches := strings.Count(transcript.String(), "BODY.PEEK[]")
	if fetches != len(batches) {
		t.Errorf("%d body fetches for %d batches", fetches, len(batches))
	}
	for uid, m := range peerMessages(t, p, "INBOX") {
		if slices.Contains(m.Flags, imap.FlagSeen) {
			t.Errorf("uid %d got \\Seen", uid)
		}
	}
	// A byte budget smaller than one message still reads it, alone.
	n := 0
	if err := c.FetchBatches(order[:2], 1, 100, func(fs []Fetched) error { n += len(fs); return nil }); err != nil || n != 2 {
		t.Fatalf("tiny budget: %v, %d", err, n)
	}
	stop := errors.New("stop")
	if err := c.FetchBatches(order, 1<<20, 100, func([]Fetched) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("callback error: %v", err)
	}
}

func TestMoveAll(t *testing.T) {
	for _, tc := range []struct {
		name string
		caps imap.CapSet
	}{
		{"move", nil},
		{"uidplus", imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			transcript := &syncBuffer{}
			s := startServer(t, serverOpts{caps: tc.caps, transcript: transcript})
			p := peer(t, s.addr)
			var uids []imap.UID
			for i := range 5 {
				uids = append(uids, peerAppend(t, p, "INBOX", testMessage(i)))
			}
			deleted := peerAppend(t, p, "INBOX", testMessage(9), imap.FlagDeleted)
			c := dial(t, s.addr)
			if err := c.Ensure("Processed"); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Select("INBOX"); err != nil {
				t.Fatal(err)
			}
			move := []imap.UID{uids[0], uids[2], uids[3]}
			if err := c.MoveAll(move, "Processed"); err != nil {
				t.Fatal(err)
			}
			set := imap.UIDSetNum(move...).String()
			want := fmt.Sprintf("UID MOVE %s \"Processed\"\r\n", set)
			if tc.caps != nil {
				want = fmt.Sprintf("UID EXPUNGE %s\r\n", set)
			}
			if !strings.Contains(transcript.String(), want) {
				t.Errorf("%q not sent", want)
			}
			// Again, with one UID gone and one new: only the new one moves.
			if err := c.MoveAll([]imap.UID{uids[0], uids[4]}, "Processed"); err != nil {
				t.Fatal(err)
			}
			in := peerMessages(t, p, "INBOX")
			if len(in) != 2 || in[uids[1]] == nil || in[deleted] == nil {
				t.Fatalf("INBOX holds %d", len(in))
			}
			if n := len(peerMessages(t, p, "Processed")); n != 4 {
				t.Fatalf("Processed holds %d", n)
			}
		})
	}
}
