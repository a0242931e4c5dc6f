package devmail_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/coordbot/coordbot/mailbot/devmail"
	"github.com/coordbot/coordbot/mailbot/smtpout"
)

const (
	robot = "robot@coord.test"
	alice = "security@vendor-a.test"
	bob   = "psirt@vendor-b.test"
	pw    = "pw"
)

func start(t *testing.T) *devmail.Servers {
	t.Helper()
	w := &testWriter{t: t}
	// Registered first, so it runs last: connection goroutines may still
	// log after Close, when t.Logf would panic.
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	log := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := devmail.Start(map[string]string{robot: pw, alice: pw, bob: pw}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

type testWriter struct {
	t    *testing.T
	mu   sync.Mutex
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Logf("%s", bytes.TrimSpace(p))
	}
	return len(p), nil
}

func message(n int) []byte {
	return fmt.Appendf(nil, "From: %s\r\nTo: %s, %s\r\nSubject: [CASE-%d]\r\nMessage-ID: <%d@coord.test>\r\n\r\nhello\r\n",
		robot, alice, bob, n, n)
}

func dialSMTP(t *testing.T, addr string) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("coord.test"); err != nil {
		t.Fatal(err)
	}
	return c
}

func loginIMAP(t *testing.T, addr, user string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, pw).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSendToTwoUsers(t *testing.T) {
	s := start(t)
	c := dialSMTP(t, s.SMTPAddr)
	if err := c.Auth(sasl.NewPlainClient("", robot, pw)); err != nil {
		t.Fatalf("auth: %v", err)
	}
	raw := message(1)
	if err := c.SendMail(robot, []string{alice, strings.ToUpper(bob)}, bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	want := append([]byte("Return-Path: <"+robot+">\r\n"), raw...)

	for _, user := range []string{alice, bob} {
		msgs, err := s.Messages(user, devmail.Inbox)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 || !bytes.Equal(msgs[0], want) {
			t.Errorf("%s INBOX = %q, want [%q]", user, msgs, want)
		}

		// The same through an ordinary client session.
		ic := loginIMAP(t, s.IMAPAddr, user)
		if _, err := ic.Select(devmail.Inbox, nil).Wait(); err != nil {
			t.Fatal(err)
		}
		bufs, err := ic.Fetch(imap.UIDSetNum(1), &imap.FetchOptions{
			UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}},
		}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		if len(bufs) != 1 || bufs[0].UID != 1 || !bytes.Equal(bufs[0].BodySection[0].Bytes, want) {
			t.Errorf("%s: imap fetch = %+v", user, bufs)
		}
		var names []string
		list, err := ic.List("", "*", nil).Collect()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range list {
			names = append(names, l.Mailbox)
		}
		if got := strings.Join(names, ","); got != "INBOX,Processed,Quarantine,Sent" {
			t.Errorf("%s: mailboxes %s", user, got)
		}
		if err := ic.Logout().Wait(); err != nil {
			t.Error(err)
		}
	}
	if msgs, err := s.Messages(robot, devmail.Inbox); err != nil || len(msgs) != 0 {
		t.Errorf("sender's INBOX = %d messages, %v", len(msgs), err)
	}
	if got, want := s.SMTPStats(), (devmail.Stats{Connections: 1, Transactions: 1, Deliveries: 2}); got != want {
		t.Errorf("stats = %+v, want %+v", got, want)
	}
}

func TestUnknownRecipientRejected(t *testing.T) {
	s := start(t)
	c := dialSMTP(t, s.SMTPAddr)
	if err := c.Mail(robot, nil); err != nil {
		t.Fatal(err)
	}
	err := c.Rcpt("nobody@vendor-a.test", nil)
	var smtpErr *smtp.SMTPError
	if !errors.As(err, &smtpErr) || smtpErr.Code != 550 || smtpErr.EnhancedCode != (smtp.EnhancedCode{5, 1, 1}) {
		t.Fatalf("rcpt unknown: %v, want 550 5.1.1", err)
	}
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	// SendMail stops at the refused recipient: nothing is delivered.
	if err := c.SendMail(robot, []string{alice, "nobody@vendor-a.test"}, bytes.NewReader(message(1))); err == nil {
		t.Fatal("send with an unknown recipient succeeded")
	}
	if msgs, _ := s.Messages(alice, devmail.Inbox); len(msgs) != 0 {
		t.Errorf("delivered %d", len(msgs))
	}
	if got := s.SMTPStats(); got.RejectedRcpt != 2 || got.Transactions != 0 {
		t.Errorf("stats = %+v", got)
	}
}

func TestAuthRefused(t *testing.T) {
	s := start(t)
	c := dialSMTP(t, s.SMTPAddr)
	err := c.Auth(sasl.NewPlainClient("", robot, "wrong"))
	var smtpErr *smtp.SMTPError
	if !errors.As(err, &smtpErr) || smtpErr.Code != 535 {
		t.Fatalf("auth with a wrong password: %v", err)
	}
}

func TestDeliverAddUserAndErrors(t *testing.T) {
	s := start(t)
	const carol = "carol@vendor-c.test"
	if err := s.AddUser(carol, pw); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUser(strings.ToUpper(carol), pw); err == nil {
		t.Error("duplicate user added")
	}
	for i := range 3 {
		if err := s.Deliver(carol, devmail.Quarantine, message(i)); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := s.Messages(carol, devmail.Quarantine)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 {
		t.Fatalf("%d messages", len(msgs))
	}
	for i, m := range msgs {
		if !bytes.Equal(m, message(i)) {
			t.Errorf("message %d = %q", i, m)
		}
	}
	// A user added later receives over SMTP too.
	c := dialSMTP(t, s.SMTPAddr)
	if err := c.SendMail("", []string{carol}, bytes.NewReader(message(9))); err != nil {
		t.Fatal(err)
	}
	msgs, err = s.Messages(carol, devmail.Inbox)
	if err != nil || len(msgs) != 1 || !bytes.HasPrefix(msgs[0], []byte("Return-Path: <>\r\nFrom: ")) {
		t.Errorf("bounce-style delivery: %q, %v", msgs, err)
	}

	if _, err := s.Messages("nobody@x.test", devmail.Inbox); err == nil {
		t.Error("messages of an unknown user")
	}
	if _, err := s.Messages(carol, "Nope"); err == nil {
		t.Error("messages of an unknown mailbox")
	}
	if err := s.Deliver(carol, "Nope", message(1)); err == nil {
		t.Error("deliver to an unknown mailbox")
	}
}

// TestMoveAfterIMAPLogin runs the robot's step: new mail in INBOX, MOVE to
// Processed. Asserts on UIDs, as the package doc advises.
func TestMoveAfterIMAPLogin(t *testing.T) {
	s := start(t)
	for i := range 2 {
		if err := s.Deliver(robot, devmail.Inbox, message(i)); err != nil {
			t.Fatal(err)
		}
	}
	c := loginIMAP(t, s.IMAPAddr, robot)
	if !c.Caps().Has(imap.CapMove) {
		t.Fatal("MOVE not offered")
	}
	if _, err := c.Select(devmail.Inbox, nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Move(imap.UIDSetNum(1), devmail.Processed).Wait(); err != nil {
		t.Fatal(err)
	}
	processed, err := s.Messages(robot, devmail.Processed)
	if err != nil || len(processed) != 1 || !bytes.Equal(processed[0], message(0)) {
		t.Errorf("Processed = %q, %v", processed, err)
	}
	inbox, err := s.Messages(robot, devmail.Inbox)
	if err != nil || len(inbox) != 1 || !bytes.Equal(inbox[0], message(1)) {
		t.Errorf("INBOX = %q, %v", inbox, err)
	}
}

// TestSmtpoutReusesConnection checks smtpout against devmail: several
// messages, one SMTP connection.
func TestSmtpoutReusesConnection(t *testing.T) {
	s := start(t)
	out := smtpout.New(smtpout.Config{
		Address: s.SMTPAddr, Security: smtpout.SecurityNone, HelloName: "coord.test",
		Username: robot, Password: pw,
	}, nil)
	defer out.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 3 {
		if err := out.Send(ctx, robot, []string{alice}, message(i)); err != nil {
			t.Fatal(err)
		}
	}
	err := out.Send(ctx, robot, []string{"nobody@vendor-a.test"}, message(4))
	if err == nil || smtpout.IsTemporary(err) {
		t.Errorf("unknown recipient: %v, want permanent", err)
	}
	if err := out.Send(ctx, robot, []string{bob}, message(5)); err != nil {
		t.Fatal(err)
	}
	if got := s.SMTPStats(); got.Connections != 1 || got.Transactions != 4 {
		t.Errorf("stats = %+v, want 1 connection, 4 transactions", got)
	}
	msgs, err := s.Messages(alice, devmail.Inbox)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("alice: %d, %v", len(msgs), err)
	}
}

func TestCloseStopsListening(t *testing.T) {
	s, err := devmail.Start(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	addrs := []string{s.IMAPAddr, s.SMTPAddr}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	for _, a := range addrs {
		if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still listening", a)
		}
	}
}

func TestReturnPathReplaced(t *testing.T) {
	s := start(t)
	raw := []byte("Return-Path: <forged@evil.test>\r\nreturn-path:\r\n <folded@evil.test>\r\nFrom: x@y.test\r\n\r\nReturn-Path: body line stays\r\n")
	c := dialSMTP(t, s.SMTPAddr)
	if err := c.SendMail(robot, []string{alice}, bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	msgs, err := s.Messages(alice, devmail.Inbox)
	if err != nil || len(msgs) != 1 {
		t.Fatal(len(msgs), err)
	}
	want := "Return-Path: <" + robot + ">\r\nFrom: x@y.test\r\n\r\nReturn-Path: body line stays\r\n"
	if string(msgs[0]) != want {
		t.Errorf("got %q, want %q", msgs[0], want)
	}
}
