package realmail

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

const wait = 30 * time.Second

func message(from, to, subject, body string) []byte {
	return []byte(strings.ReplaceAll(fmt.Sprintf(
		"From: %s\nTo: %s\nSubject: %s\nMessage-ID: <%d.%s>\nDate: %s\n\n%s\n",
		from, to, subject, time.Now().UnixNano(), from, time.Now().Format(time.RFC1123Z), body),
		"\n", "\r\n"))
}

func parse(t *testing.T, raw []byte) (*mail.Message, string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parsing message: %v\n%s", err, raw)
	}
	body, err := io.ReadAll(m.Body)
	if err != nil {
		t.Fatal(err)
	}
	return m, string(body)
}

func isDSN(t *testing.T, raw []byte) bool {
	m, _ := parse(t, raw)
	typ, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	return err == nil && typ == "multipart/report" && params["report-type"] == "delivery-status"
}

func TestDeliveryAndBounce(t *testing.T) {
	t.Parallel()
	s := Start(t)

	token := fmt.Sprintf("token-%d", time.Now().UnixNano())
	s.Send(t, "reporter@example.com", []string{"psirt@acme.example"},
		message("reporter@example.com", "psirt@acme.example", "Vulnerability in foo", "Hello PSIRT, "+token))
	msgs := s.WaitMessages(t, "psirt@acme.example", "INBOX", 1, wait)
	if len(msgs) != 1 {
		t.Fatalf("psirt INBOX has %d messages, want 1", len(msgs))
	}
	m, body := parse(t, msgs[0])
	if !strings.Contains(body, token) {
		t.Errorf("body %q lacks %q", body, token)
	}
	if got := m.Header.Get("Subject"); got != "Vulnerability in foo" {
		t.Errorf("Subject = %q", got)
	}

	// Unknown user in a test domain: Dovecot LMTP rejects, Postfix bounces.
	s.Send(t, "reporter@example.com", []string{"nobody-unknown@acme.example"},
		message("reporter@example.com", "nobody-unknown@acme.example", "Lost", "nobody reads this"))
	bounces := s.WaitMessages(t, "reporter@example.com", "INBOX", 1, wait)
	if !isDSN(t, bounces[0]) {
		t.Fatalf("reporter got a non-DSN:\n%s", bounces[0])
	}
	if !bytes.Contains(bounces[0], []byte("nobody-unknown@acme.example")) {
		t.Errorf("bounce does not name the unknown recipient:\n%s", bounces[0])
	}

	// A domain outside the test world bounces as well, and nothing leaves.
	s.Send(t, "reporter@example.com", []string{"someone@elsewhere.invalid"},
		message("reporter@example.com", "someone@elsewhere.invalid", "Away", "x"))
	bounces = s.WaitMessages(t, "reporter@example.com", "INBOX", 2, wait)
	if !isDSN(t, bounces[1]) || !bytes.Contains(bounces[1], []byte("someone@elsewhere.invalid")) {
		t.Errorf("second bounce is not a DSN for someone@elsewhere.invalid:\n%s", bounces[1])
	}
}

func TestAddUser(t *testing.T) {
	t.Parallel()
	s := Start(t)

	// Not a user yet: bounced.
	s.Send(t, "coord@cert.example", []string{"newbie@gamma.example"},
		message("coord@cert.example", "newbie@gamma.example", "Early", "too early"))
	if bounce := s.WaitMessages(t, "coord@cert.example", "INBOX", 1, wait); !isDSN(t, bounce[0]) {
		t.Fatalf("coord got a non-DSN:\n%s", bounce[0])
	}

	s.AddUser("newbie@gamma.example")
	s.Send(t, "coord@cert.example", []string{"newbie@gamma.example"},
		message("coord@cert.example", "newbie@gamma.example", "Welcome", "now you exist"))
	msgs := s.WaitMessages(t, "newbie@gamma.example", "INBOX", 1, wait)
	if _, body := parse(t, msgs[0]); !strings.Contains(body, "now you exist") {
		t.Errorf("newbie got %q", body)
	}
	for _, mbox := range []string{"Processed", "Quarantine", "Sent"} {
		if n := len(s.Messages(t, "newbie@gamma.example", mbox)); n != 0 {
			t.Errorf("%s has %d messages, want 0", mbox, n)
		}
	}
}

func TestDeliverAndOutages(t *testing.T) {
	t.Parallel()
	s := Start(t)

	// APPEND keeps order.
	for i := range 3 {
		s.Deliver(t, "vultures@cert.example", "Quarantine",
			message("reporter@example.com", "vultures@cert.example", fmt.Sprintf("Backlog %d", i), "old"))
	}
	msgs := s.Messages(t, "vultures@cert.example", "Quarantine")
	if len(msgs) != 3 {
		t.Fatalf("Quarantine has %d messages, want 3", len(msgs))
	}
	for i, raw := range msgs {
		if m, _ := parse(t, raw); m.Header.Get("Subject") != fmt.Sprintf("Backlog %d", i) {
			t.Errorf("message %d has Subject %q", i, m.Header.Get("Subject"))
		}
	}

	// IMAP down: the port refuses, mail still arrives, same port afterwards.
	s.StopIMAP()
	if c, err := net.Dial("tcp", s.IMAPAddr); err == nil {
		c.Close()
		t.Fatal("IMAP port still accepts connections after StopIMAP")
	}
	s.Send(t, "reporter@example.com", []string{"coord2@cert.example"},
		message("reporter@example.com", "coord2@cert.example", "During outage", "queued"))
	s.StartIMAP()
	s.WaitMessages(t, "coord2@cert.example", "INBOX", 1, wait)

	// SMTP down: the port refuses; after the restart mail flows again.
	s.StopSMTP()
	if c, err := net.Dial("tcp", s.SMTPAddr); err == nil {
		c.Close()
		t.Fatal("SMTP port still accepts connections after StopSMTP")
	}
	s.StartSMTP()
	s.Send(t, "reporter@example.com", []string{"coord2@cert.example"},
		message("reporter@example.com", "coord2@cert.example", "After outage", "fine"))
	s.WaitMessages(t, "coord2@cert.example", "INBOX", 2, wait)
}

func TestWrongPasswordIsFast(t *testing.T) {
	t.Parallel()
	s := Start(t)
	// Failed logins must not slow down later ones (no auth penalty).
	for range 3 {
		start := time.Now()
		c, err := imapclient.DialInsecure(s.IMAPAddr, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Login("psirt@acme.example", "wrong").Wait(); err == nil {
			t.Error("login with a wrong password succeeded")
		}
		c.Close()
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("failed login took %v", d)
		}
	}
	if got := s.Messages(t, "psirt@acme.example", "INBOX"); len(got) != 0 {
		t.Errorf("psirt INBOX has %d messages", len(got))
	}
}
