package realmail

import (
	"os"
	"testing"
	"time"
)

// TestStartServersTool drives a pair the way a tool does: StartServers,
// the error-returning helpers, Stop.
func TestStartServersTool(t *testing.T) {
	t.Parallel()
	if os.Getenv("COORDBOT_REALMAIL") == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("COORDBOT_REALMAIL not set")
		}
		t.Skip("real Dovecot/Postfix not started: set COORDBOT_REALMAIL=1")
	}
	s, err := StartServers()
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			s.Stop()
		}
	}()
	if err := s.CreateUsers("tool1@example.net", "tool2@example.net"); err != nil {
		t.Fatal(err)
	}
	if err := s.SendMail("reporter@example.com", []string{"tool2@example.net"},
		message("reporter@example.com", "tool2@example.net", "Tool", "from a tool")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(wait)
	for {
		n, err := s.MessageCount("tool2@example.net", "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tool2 INBOX holds %d\n%s", n, s.LogTails())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if q, err := s.QueueLen(); err != nil || q != 0 {
		t.Fatalf("QueueLen = %d, %v after delivery", q, err)
	}
	if err := s.AppendAll("tool1@example.net", "Quarantine", [][]byte{message("a@example.org", "tool1@example.net", "x", "y")}); err != nil {
		t.Fatal(err)
	}
	if msgs, err := s.FetchAll("tool1@example.net", "Quarantine"); err != nil || len(msgs) != 1 {
		t.Fatalf("FetchAll: %d, %v", len(msgs), err)
	}
	if err := s.Control("stop-smtp"); err != nil {
		t.Fatal(err)
	}
	if err := s.SendMail("reporter@example.com", []string{"tool2@example.net"}, message("a@example.org", "tool2@example.net", "x", "y")); err == nil {
		t.Fatal("SendMail succeeded with Postfix stopped")
	}
	if err := s.Control("start-smtp"); err != nil {
		t.Fatal(err)
	}
	if err := s.Control("reboot"); err == nil {
		t.Fatal("Control accepted an unknown command")
	}
	dir := s.Dir
	stopped = true
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("%s still exists after Stop: %v", dir, err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}
