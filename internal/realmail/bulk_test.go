package realmail

import (
	"fmt"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

func TestBulkHelpers(t *testing.T) {
	t.Parallel()
	s := Start(t)

	var users []string
	for i := range 150 {
		users = append(users, fmt.Sprintf("bulk%03d@example.net", i))
	}
	start := time.Now()
	s.AddUsers(users...)
	s.AddUsers(users[:2]...) // again: harmless
	t.Logf("AddUsers(%d): %v", len(users), time.Since(start).Round(time.Millisecond))
	last := users[len(users)-1]
	s.Send(t, "reporter@example.com", []string{last}, message("reporter@example.com", last, "Hello", "bulk"))
	s.WaitMessages(t, last, "INBOX", 1, wait)

	var raws [][]byte
	for i := range 5 {
		raws = append(raws, message("reporter@example.com", "vultures@cert.example", fmt.Sprintf("Bulk %d", i), "x"))
	}
	s.DeliverAll(t, "vultures@cert.example", "INBOX", raws)
	if n := s.Count(t, "vultures@cert.example", "INBOX"); n != 5 {
		t.Fatalf("Count = %d, want 5", n)
	}
	if n := s.OnDisk(t, "vultures@cert.example", "INBOX"); n != 5 {
		t.Fatalf("OnDisk = %d, want 5", n)
	}
	hs := s.Headers(t, "vultures@cert.example", "INBOX")
	if len(hs) != 5 || hs[4].Get("Subject") != "Bulk 4" {
		t.Fatalf("Headers: %d, last %q", len(hs), hs[len(hs)-1].Get("Subject"))
	}

	uv := s.UIDValidity(t, "vultures@cert.example", "INBOX")
	// An open session ends with the IMAP server (RecreateMailbox stops it).
	c, err := imapclient.DialInsecure(s.IMAPAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("vultures@cert.example", Password).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	s.RecreateMailbox(t, "vultures@cert.example", "INBOX", raws[3], raws[1])
	select {
	case <-c.Closed():
	case <-time.After(2 * time.Second):
		t.Fatal("a session outlived StopIMAP")
	}
	if got := s.UIDValidity(t, "vultures@cert.example", "INBOX"); got <= uv {
		t.Fatalf("UIDVALIDITY %d after recreation, was %d", got, uv)
	}
	hs = s.Headers(t, "vultures@cert.example", "INBOX")
	if len(hs) != 2 || hs[0].Get("Subject") != "Bulk 3" || hs[1].Get("Subject") != "Bulk 1" {
		t.Fatalf("recreated INBOX: %d messages, %v", len(hs), hs)
	}
	if n := s.Count(t, "vultures@cert.example", "Processed"); n != 0 {
		t.Fatalf("Processed holds %d", n)
	}
}
