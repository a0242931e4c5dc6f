package smtpout

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

const (
	robot  = "robot@coord.test"
	vendor = "security@vendor.test"
	other  = "psirt@other.test"
)

func message(n int) []byte {
	return fmt.Appendf(nil, "From: %s\r\nTo: %s\r\nSubject: [CASE-%d]\r\nMessage-ID: <%d@coord.test>\r\n\r\n"+
		"line one\r\n.line starting with a dot\r\n", robot, vendor, n, n)
}

// testLog writes the package's log lines to the test log, to check that
// they never carry a body.
func testLog(t *testing.T, buf *bytes.Buffer) *slog.Logger {
	var mu sync.Mutex
	done := false
	// An idle timer may log after the test; t.Logf would panic then.
	t.Cleanup(func() {
		mu.Lock()
		done = true
		mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		if buf != nil {
			buf.Write(p)
		}
		if !done {
			t.Logf("%s", bytes.TrimSpace(p))
		}
		return len(p), nil
	}), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func newSender(t *testing.T, cfg Config) *Sender {
	t.Helper()
	if cfg.HelloName == "" {
		cfg.HelloName = "coord.test"
	}
	if cfg.Security == "" {
		cfg.Security = SecurityNone
	}
	if cfg.CommandTimeout == 0 {
		cfg.CommandTimeout = 5 * time.Second
	}
	s := New(cfg, testLog(t, nil))
	t.Cleanup(func() { s.Close() })
	return s
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestReuseOneConnection(t *testing.T) {
	be := &faultBackend{}
	addr := startServer(t, be, serverOpts{})
	var logBuf bytes.Buffer
	s := New(Config{Address: addr, Security: SecurityNone, HelloName: "coord.test"}, testLog(t, &logBuf))
	defer s.Close()

	const n = 5
	for i := range n {
		if err := s.Send(ctxT(t), robot, []string{vendor, other}, message(i)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if got := be.numConns(); got != 1 {
		t.Errorf("connections = %d, want 1", got)
	}
	msgs := be.messages()
	if len(msgs) != n {
		t.Fatalf("received %d messages, want %d", len(msgs), n)
	}
	for i, m := range msgs {
		if !bytes.Equal(m.data, message(i)) {
			t.Errorf("message %d = %q, want %q", i, m.data, message(i))
		}
		if m.from != robot || strings.Join(m.to, ",") != vendor+","+other {
			t.Errorf("message %d envelope = %s -> %v", i, m.from, m.to)
		}
		if m.helo != "coord.test" {
			t.Errorf("message %d helo = %q", i, m.helo)
		}
	}
	if strings.Contains(logBuf.String(), "line one") {
		t.Errorf("log carries the body:\n%s", logBuf.String())
	}
	if got := strings.Count(logBuf.String(), `msg="smtpout: send"`); got != n {
		t.Errorf("%d send log lines, want %d", got, n)
	}
}

func TestConcurrentPool(t *testing.T) {
	be := &faultBackend{}
	addr := startServer(t, be, serverOpts{})
	s := newSender(t, Config{Address: addr, Connections: 3})

	const n = 30
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- s.Send(ctxT(t), robot, []string{vendor}, message(i))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := len(be.messages()); got != n {
		t.Errorf("received %d, want %d", got, n)
	}
	if got := be.numConns(); got < 1 || got > 3 {
		t.Errorf("connections = %d, want 1..3", got)
	}
}

func TestTemporary4xx(t *testing.T) {
	be := &faultBackend{}
	be.mailErr = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
	addr := startServer(t, be, serverOpts{})
	s := newSender(t, Config{Address: addr})

	err := s.Send(ctxT(t), robot, []string{vendor}, message(1))
	if err == nil {
		t.Fatal("send succeeded")
	}
	var smtpErr *smtp.SMTPError
	if !errors.As(err, &smtpErr) || smtpErr.Code != 451 {
		t.Errorf("err = %v, want a 451 *smtp.SMTPError", err)
	}
	if !IsTemporary(err) || IsAmbiguous(err) {
		t.Errorf("IsTemporary = %v, IsAmbiguous = %v for %v", IsTemporary(err), IsAmbiguous(err), err)
	}
	if !strings.HasPrefix(err.Error(), "smtpout: send to 1 recipients: mail from: ") {
		t.Errorf("err = %q", err)
	}

	be.set(func(be *faultBackend) { be.mailErr = nil })
	if err := s.Send(ctxT(t), robot, []string{vendor}, message(2)); err != nil {
		t.Fatal(err)
	}
	if got := be.numConns(); got != 1 {
		t.Errorf("connections = %d, want 1 (kept after a 4xx)", got)
	}
}

func TestPermanent5xx(t *testing.T) {
	be := &faultBackend{}
	be.dataErr = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "content rejected"}
	addr := startServer(t, be, serverOpts{})
	s := newSender(t, Config{Address: addr})

	err := s.Send(ctxT(t), robot, []string{vendor}, message(1))
	if err == nil || IsTemporary(err) || IsAmbiguous(err) {
		t.Fatalf("err = %v: IsTemporary = %v, IsAmbiguous = %v, want permanent", err, IsTemporary(err), IsAmbiguous(err))
	}
	if !strings.Contains(err.Error(), "end of data: ") {
		t.Errorf("err = %q", err)
	}
}

// TestResetAfterFailure: a refused recipient fails the message, and the
// next message goes through on the same connection, which it would not
// without RSET (the backend answers a nested MAIL with 503 like Postfix).
func TestResetAfterFailure(t *testing.T) {
	be := &faultBackend{rcptErr: map[string]error{
		other: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"},
	}}
	addr := startServer(t, be, serverOpts{})

	// The backend really refuses a nested MAIL.
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Mail(robot, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(other, nil); err == nil {
		t.Fatal("rcpt accepted")
	}
	var smtpErr *smtp.SMTPError
	if err := c.Mail(robot, nil); !errors.As(err, &smtpErr) || smtpErr.Code != 503 {
		t.Fatalf("second MAIL without RSET: %v, want 503", err)
	}
	c.Close()

	s := newSender(t, Config{Address: addr})
	err = s.Send(ctxT(t), robot, []string{vendor, other}, message(1))
	if err == nil || IsTemporary(err) {
		t.Fatalf("err = %v, want permanent", err)
	}
	if !strings.Contains(err.Error(), "rcpt to <"+other+">: ") {
		t.Errorf("err = %q", err)
	}
	if err := s.Send(ctxT(t), robot, []string{vendor}, message(2)); err != nil {
		t.Fatalf("send after failure: %v", err)
	}
	if got := be.numConns(); got != 2 { // the probe above, then one for s
		t.Errorf("connections = %d, want 2", got)
	}
	if got := len(be.messages()); got != 1 {
		t.Errorf("received %d, want 1", got)
	}
}

func TestServerDropsIdleConnection(t *testing.T) {
	be := &faultBackend{}
	addr := startServer(t, be, serverOpts{})
	s := newSender(t, Config{Address: addr})

	if err := s.Send(ctxT(t), robot, []string{vendor}, message(1)); err != nil {
		t.Fatal(err)
	}
	be.dropAll()
	time.Sleep(50 * time.Millisecond)
	if err := s.Send(ctxT(t), robot, []string{vendor}, message(2)); err != nil {
		t.Fatalf("send after drop: %v", err)
	}
	if got := be.numConns(); got != 2 {
		t.Errorf("connections = %d, want 2", got)
	}
	if got := len(be.messages()); got != 2 {
		t.Errorf("received %d, want 2", got)
	}
}

func TestAmbiguousDropAfterDot(t *testing.T) {
	be := &faultBackend{dropAfterDot: true}
	addr := startServer(t, be, serverOpts{})
	s := newSender(t, Config{Address: addr})

	err := s.Send(ctxT(t), robot, []string{vendor}, message(1))
	if err == nil {
		t.Fatal("send succeeded")
	}
	if !IsAmbiguous(err) || !IsTemporary(err) {
		t.Errorf("IsAmbiguous = %v, IsTemporary = %v for %v", IsAmbiguous(err), IsTemporary(err), err)
	}
	if got := len(be.messages()); got != 1 {
		t.Errorf("server stored %d messages, want 1 (accepted, then cut)", got)
	}

	// The next Send reconnects.
	be.set(func(be *faultBackend) { be.dropAfterDot = false })
	if err := s.Send(ctxT(t), robot, []string{vendor}, message(1)); err != nil {
		t.Fatalf("resend: %v", err)
	}
	if got := be.numConns(); got != 2 {
		t.Errorf("connections = %d, want 2", got)
	}
}

func TestAmbiguousTimeoutAfterDot(t *testing.T) {
	be := &faultBackend{stallAfterDot: 2 * time.Second}
	addr := startServer(t, be, serverOpts{})
	s := newSender(t, Config{Address: addr, DataTimeout: 200 * time.Millisecond})

	err := s.Send(ctxT(t), robot, []string{vendor}, message(1))
	if !IsAmbiguous(err) || !IsTemporary(err) {
		t.Fatalf("err = %v: IsAmbiguous = %v, IsTemporary = %v", err, IsAmbiguous(err), IsTemporary(err))
	}
}

func TestContextCancelAfterDotIsAmbiguous(t *testing.T) {
	be := &faultBackend{}
	addr := startServer(t, be, serverOpts{})
	s := newSender(t, Config{Address: addr})

	// Dial first so that the deadline falls in the stall.
	if err := s.Send(ctxT(t), robot, []string{vendor}, message(0)); err != nil {
		t.Fatal(err)
	}
	be.set(func(be *faultBackend) { be.stallAfterDot = 2 * time.Second })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Send(ctx, robot, []string{vendor}, message(1))
	if time.Since(start) > time.Second {
		t.Errorf("send took %v after the context ended", time.Since(start))
	}
	if !IsAmbiguous(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want ambiguous and DeadlineExceeded", err)
	}
}

func TestContextCancelledBeforeSend(t *testing.T) {
	be := &faultBackend{}
	addr := startServer(t, be, serverOpts{})
	s := newSender(t, Config{Address: addr})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Send(ctx, robot, []string{vendor}, message(1))
	if err == nil || !IsTemporary(err) || IsAmbiguous(err) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if got := len(be.messages()); got != 0 {
		t.Errorf("received %d", got)
	}
}

func TestAuthPlainOnLoopback(t *testing.T) {
	be := &faultBackend{users: map[string]string{"robot": "s3cret"}}
	addr := startServer(t, be, serverOpts{insecureAuth: true})

	s := newSender(t, Config{Address: addr, Username: "robot", Password: "s3cret"})
	if err := s.Send(ctxT(t), robot, []string{vendor}, message(1)); err != nil {
		t.Fatal(err)
	}
	if got := be.messages()[0].authAs; got != "robot" {
		t.Errorf("authenticated as %q", got)
	}

	bad := newSender(t, Config{Address: addr, Username: "robot", Password: "wrong"})
	err := bad.Send(ctxT(t), robot, []string{vendor}, message(2))
	var smtpErr *smtp.SMTPError
	if !errors.As(err, &smtpErr) || smtpErr.Code != 535 {
		t.Fatalf("err = %v, want 535", err)
	}
	// A wrong password is the operator's to fix; the message stays queued.
	if !IsTemporary(err) {
		t.Errorf("auth failure not temporary: %v", err)
	}

	be.set(func(be *faultBackend) {
		be.authErr = &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "auth backend down"}
	})
	err = newSender(t, Config{Address: addr, Username: "robot", Password: "s3cret"}).
		Send(ctxT(t), robot, []string{vendor}, message(3))
	if !errors.As(err, &smtpErr) || smtpErr.Code != 454 || !IsTemporary(err) {
		t.Errorf("err = %v, want temporary 454", err)
	}
}

func TestStartTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	be := &faultBackend{users: map[string]string{"robot": "s3cret"}}
	// No insecure auth: AUTH works only because of STARTTLS.
	addr := startServer(t, be, serverOpts{tls: &tls.Config{Certificates: []tls.Certificate{cert}}})

	s := newSender(t, Config{
		Address: addr, Security: SecurityStartTLS, Username: "robot", Password: "s3cret",
		TLSConfig: &tls.Config{RootCAs: pool},
	})
	for i := range 2 {
		if err := s.Send(ctxT(t), robot, []string{vendor}, message(i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range be.messages() {
		if !m.tls || m.authAs != "robot" || m.helo != "coord.test" {
			t.Errorf("tls = %v, auth = %q, helo after STARTTLS = %q", m.tls, m.authAs, m.helo)
		}
	}
	if got := be.numConns(); got != 1 {
		t.Errorf("connections = %d, want 1", got)
	}

	// An untrusted certificate fails the session, temporarily.
	err := newSender(t, Config{Address: addr, Security: SecurityStartTLS}).
		Send(ctxT(t), robot, []string{vendor}, message(9))
	var verr *tls.CertificateVerificationError
	if !errors.As(err, &verr) || !IsTemporary(err) {
		t.Errorf("untrusted cert: err = %v", err)
	}
}

func TestStartTLSNotOffered(t *testing.T) {
	be := &faultBackend{users: map[string]string{"robot": "s3cret"}}
	addr := startServer(t, be, serverOpts{insecureAuth: true})
	s := newSender(t, Config{Address: addr, Security: SecurityStartTLS, Username: "robot", Password: "s3cret"})
	err := s.Send(ctxT(t), robot, []string{vendor}, message(1))
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("err = %v, want a STARTTLS failure", err)
	}
	if got := len(be.messages()); got != 0 {
		t.Errorf("sent in clear")
	}
}

func TestImplicitTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	be := &faultBackend{users: map[string]string{"robot": "s3cret"}}
	addr := startServer(t, be, serverOpts{tls: &tls.Config{Certificates: []tls.Certificate{cert}}, implicitTLS: true})
	s := newSender(t, Config{
		Address: addr, Security: SecurityTLS, Username: "robot", Password: "s3cret",
		TLSConfig: &tls.Config{RootCAs: pool},
	})
	if err := s.Send(ctxT(t), robot, []string{vendor}, message(1)); err != nil {
		t.Fatal(err)
	}
	if m := be.messages()[0]; !m.tls || m.authAs != "robot" {
		t.Errorf("tls = %v, auth = %q", m.tls, m.authAs)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{Address: "127.0.0.1:25", Security: SecurityNone}, true},
		{Config{Address: "[::1]:25", Security: SecurityNone, Username: "u"}, true},
		{Config{Address: "localhost:25", Security: SecurityNone}, true},
		{Config{Address: "192.0.2.1:25", Security: SecurityNone}, false},
		{Config{Address: "mail.example.org:25", Security: SecurityNone}, false},
		{Config{Address: "mail.example.org:465", Security: SecurityTLS}, true},
		{Config{Address: "mail.example.org:587", Security: SecurityStartTLS, Username: "u"}, true},
		{Config{Address: "mail.example.org:587"}, false},
		{Config{Address: "mail.example.org", Security: SecurityTLS}, false},
		{Config{Address: "mail.example.org:587", Security: SecurityTLS, HelloName: "a b"}, false},
		{Config{Address: "mail.example.org:587", Security: SecurityTLS, Connections: -1}, false},
	} {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("Validate(%+v) = %v, want ok = %v", tc.cfg, err, tc.ok)
		}
	}
}

func TestNoneRefusedForRemoteHost(t *testing.T) {
	// 192.0.2.0/24 is TEST-NET-1: a dial would hang, so a quick error
	// also shows that nothing was dialed.
	s := New(Config{Address: "192.0.2.1:25", Security: SecurityNone}, nil)
	start := time.Now()
	err := s.Send(ctxT(t), robot, []string{vendor}, message(1))
	if err == nil || IsTemporary(err) || !strings.Contains(err.Error(), "refused for non-loopback") {
		t.Fatalf("err = %v, want a permanent refusal", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("took %v", time.Since(start))
	}
}

func TestBadEnvelope(t *testing.T) {
	be := &faultBackend{}
	addr := startServer(t, be, serverOpts{})
	s := newSender(t, Config{Address: addr})
	for _, tc := range []struct {
		from string
		to   []string
	}{
		{robot, nil},
		{robot, []string{""}},
		{robot, []string{"a@b\r\nRCPT TO:<x@y>"}},
		{"a>b@c", []string{vendor}},
	} {
		err := s.Send(ctxT(t), tc.from, tc.to, message(1))
		if err == nil || IsTemporary(err) {
			t.Errorf("Send(%q, %q) = %v, want permanent", tc.from, tc.to, err)
		}
	}
	if got := be.numConns(); got != 0 {
		t.Errorf("connections = %d, want 0", got)
	}
	// The null reverse-path is allowed.
	if err := s.Send(ctxT(t), "", []string{vendor}, message(2)); err != nil {
		t.Error(err)
	}
}

func TestIdleClose(t *testing.T) {
	be := &faultBackend{}
	addr := startServer(t, be, serverOpts{})
	s := newSender(t, Config{Address: addr, IdleClose: 100 * time.Millisecond})
	if err := s.Send(ctxT(t), robot, []string{vendor}, message(1)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		be.mu.Lock()
		logouts := be.logouts
		be.mu.Unlock()
		if logouts == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("idle connection not closed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.Send(ctxT(t), robot, []string{vendor}, message(2)); err != nil {
		t.Fatal(err)
	}
	if got := be.numConns(); got != 2 {
		t.Errorf("connections = %d, want 2", got)
	}
}

func TestDialFailureTemporary(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := newSender(t, Config{Address: addr})
	err = s.Send(ctxT(t), robot, []string{vendor}, message(1))
	if err == nil || !IsTemporary(err) || IsAmbiguous(err) {
		t.Fatalf("err = %v", err)
	}
}

func TestSendAfterClose(t *testing.T) {
	be := &faultBackend{}
	addr := startServer(t, be, serverOpts{})
	s := newSender(t, Config{Address: addr})
	if err := s.Send(ctxT(t), robot, []string{vendor}, message(1)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	err := s.Send(ctxT(t), robot, []string{vendor}, message(2))
	if err == nil || !IsTemporary(err) {
		t.Fatalf("err = %v, want temporary", err)
	}
}

func TestIsTemporaryRawErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{&smtp.SMTPError{Code: 421}, true},
		{&smtp.SMTPError{Code: 452}, true},
		{&smtp.SMTPError{Code: 550}, false},
		{fmt.Errorf("x: %w", &smtp.SMTPError{Code: 552}), false},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{context.DeadlineExceeded, true},
		{errors.New("something else"), false},
	} {
		if got := IsTemporary(tc.err); got != tc.want {
			t.Errorf("IsTemporary(%v) = %v, want %v", tc.err, got, tc.want)
		}
		if IsAmbiguous(tc.err) {
			t.Errorf("IsAmbiguous(%v) = true", tc.err)
		}
	}
}

func TestBackoff(t *testing.T) {
	ceilings := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute,
		8 * time.Minute, 16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour}
	for attempt, ceiling := range ceilings {
		var sum time.Duration
		const n = 2000
		for range n {
			d := Backoff(attempt)
			if d < time.Second || d > ceiling {
				t.Fatalf("Backoff(%d) = %v, want within [1s, %v]", attempt, d, ceiling)
			}
			sum += d
		}
		// Full jitter: the mean is about half the ceiling.
		if mean := sum / n; mean < ceiling*4/10 || mean > ceiling*6/10 {
			t.Errorf("Backoff(%d) mean = %v, ceiling %v", attempt, mean, ceiling)
		}
	}
	for _, attempt := range []int{-1, 64, 1 << 30} {
		if d := Backoff(attempt); d < time.Second || d > time.Hour {
			t.Errorf("Backoff(%d) = %v", attempt, d)
		}
	}
}
