// Package smtpout sends ready-made messages over SMTP, one transaction per
// message, on connections it keeps open between messages.
//
// It does not queue: the outbox keeps each message until Send succeeds,
// retries temporary failures after Backoff, and resends an ambiguous one
// with the same Message-ID.
package smtpout

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-smtp"

	"github.com/coordbot/coordbot/mailbot/auth"
)

// quitTimeout bounds the polite QUIT when a connection is retired.
const quitTimeout = 5 * time.Second

var errClosed = errors.New("sender closed")

// Sender sends messages over up to Config.Connections SMTP connections. It
// is safe for concurrent use.
type Sender struct {
	cfg    Config
	cfgErr error
	log    *slog.Logger

	// slots holds one token per connection in use, bounding concurrent
	// transactions (and so connections) to Config.Connections.
	slots chan struct{}

	mu     sync.Mutex
	idle   []*conn // open and unused, most recently used last
	closed bool

	lastID atomic.Uint64
}

// conn is one SMTP session. Only the Send that took it from the idle list
// touches it, except for idle expiry under Sender.mu.
type conn struct {
	id uint64
	c  *smtp.Client
	// nc is the socket we dialed. go-smtp sets its own deadline for each
	// command, so closing nc is how a cancelled context interrupts it.
	nc       net.Conn
	lastUsed time.Time   // under Sender.mu while idle
	timer    *time.Timer // retires the connection after IdleClose
}

// New returns a Sender for cfg. An invalid cfg is not reported here but by
// every Send (and by cfg.Validate, which callers should run at startup). A
// nil log discards.
func New(cfg Config, log *slog.Logger) *Sender {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	err := cfg.validate()
	cfg = cfg.withDefaults()
	return &Sender{
		cfg:    cfg,
		cfgErr: err,
		log:    log,
		slots:  make(chan struct{}, max(cfg.Connections, 1)),
	}
}

// Send sends raw, a complete message with CRLF line endings (bare LF is
// converted), from the envelope sender from to the envelope recipients to.
//
// All recipients are accepted or the message is not sent: a refused
// recipient ends the transaction, so a retry cannot duplicate the message
// for the others. After a failed transaction the session is reset (RSET) and
// kept; after a network error it is closed and the next Send reconnects. A
// reused connection that turns out dead at MAIL FROM (the server dropped it
// while idle) is replaced once within this Send: nothing was sent yet.
//
// Classify a failure with IsTemporary and IsAmbiguous.
func (s *Sender) Send(ctx context.Context, from string, to []string, raw []byte) (err error) {
	start := time.Now()
	var (
		id     uint64
		reused bool
	)
	defer func() {
		// One line per message, never the body.
		level := slog.LevelDebug
		var se *sendError
		if errors.As(err, &se) && (se.stage == stageSetup || se.stage == stageConfig) && ctx.Err() == nil {
			// A broken server or configuration stops all mail: say so.
			level = slog.LevelWarn
		}
		attrs := []any{"from", from, "rcpts", len(to), "bytes", len(raw),
			"conn", id, "reused", reused, "dur", time.Since(start)}
		if err != nil {
			attrs = append(attrs, "err", err)
		}
		s.log.Log(context.WithoutCancel(ctx), level, "smtpout: send", attrs...)
	}()
	wrap := func(err error) error {
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			return fmt.Errorf("smtpout: send to %d recipients: %w: %w", len(to), cerr, err)
		}
		return fmt.Errorf("smtpout: send to %d recipients: %w", len(to), err)
	}

	if s.cfgErr != nil {
		return wrap(permanent(stageConfig, s.cfgErr))
	}
	if err := checkEnvelope(from, to, raw); err != nil {
		return wrap(permanent(stageEnvelope, err))
	}

	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return wrap(newSendError(stageSetup, "", ctx.Err()))
	}
	defer func() { <-s.slots }()

	for try := 0; ; try++ {
		var cn *conn
		cn, reused, err = s.take(ctx)
		if err != nil {
			return wrap(err)
		}
		id = cn.id
		var keep bool
		keep, err = s.transact(ctx, cn, from, to, raw)
		if keep {
			s.put(cn)
		} else {
			cn.nc.Close()
		}
		if err == nil {
			return nil
		}
		if try == 0 && reused && ctx.Err() == nil && staleConn(err) {
			s.log.Debug("smtpout: reused connection was dead, reconnecting", "conn", id, "err", err)
			continue
		}
		return wrap(err)
	}
}

// staleConn reports whether err is a kept connection found dead before any
// part of the message was sent: no reply at all, or 421 (server closing).
func staleConn(err error) bool {
	var se *sendError
	if !errors.As(err, &se) || se.stage != stageMail {
		return false
	}
	var smtpErr *smtp.SMTPError
	return !errors.As(err, &smtpErr) || smtpErr.Code == 421
}

// checkEnvelope refuses what go-smtp would refuse or mangle, before any
// connection is used.
func checkEnvelope(from string, to []string, raw []byte) error {
	if len(to) == 0 {
		return errors.New("no recipients")
	}
	if len(raw) == 0 {
		return errors.New("empty message")
	}
	// from may be empty: the null reverse-path.
	for _, a := range append([]string{from}, to...) {
		if strings.ContainsAny(a, "<>\r\n\t ") || !utf8.ValidString(a) {
			return fmt.Errorf("bad address %q", a)
		}
	}
	for _, a := range to {
		if a == "" {
			return errors.New("empty recipient")
		}
	}
	return nil
}

// take returns an idle connection, or dials a new one.
func (s *Sender) take(ctx context.Context) (*conn, bool, error) {
	var stale []*conn
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, false, newSendError(stageSetup, "", errClosed)
	}
	var cn *conn
	for len(s.idle) > 0 {
		c := s.idle[len(s.idle)-1]
		s.idle = s.idle[:len(s.idle)-1]
		c.timer.Stop()
		// The timer may not have fired yet on a busy machine.
		if time.Since(c.lastUsed) < s.cfg.IdleClose {
			cn = c
			break
		}
		stale = append(stale, c)
	}
	s.mu.Unlock()
	for _, c := range stale {
		s.retire(c, "idle")
	}
	if cn != nil {
		return cn, true, nil
	}
	cn, err := s.dial(ctx)
	if err != nil {
		return nil, false, newSendError(stageSetup, "", err)
	}
	return cn, false, nil
}

// put returns a healthy connection to the idle list.
func (s *Sender) put(cn *conn) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.retire(cn, "closed")
		return
	}
	cn.lastUsed = time.Now()
	s.idle = append(s.idle, cn)
	cn.timer = time.AfterFunc(s.cfg.IdleClose, func() { s.expire(cn) })
	s.mu.Unlock()
}

// expire retires cn if it is still idle and has been for IdleClose.
func (s *Sender) expire(cn *conn) {
	s.mu.Lock()
	i := slices.Index(s.idle, cn)
	// cn may have been taken, used and put back since this timer started.
	if i < 0 || time.Since(cn.lastUsed) < s.cfg.IdleClose {
		s.mu.Unlock()
		return
	}
	s.idle = slices.Delete(s.idle, i, i+1)
	s.mu.Unlock()
	s.retire(cn, "idle")
}

// retire says QUIT and closes cn.
func (s *Sender) retire(cn *conn, why string) {
	cn.c.CommandTimeout = quitTimeout
	if err := cn.c.Quit(); err != nil {
		cn.nc.Close()
	}
	s.log.Debug("smtpout: connection closed", "conn", cn.id, "why", why)
}

// Close closes the idle connections and makes later Sends fail. Sends in
// progress finish and then close their connections.
func (s *Sender) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	idle := s.idle
	s.idle = nil
	s.mu.Unlock()
	for _, cn := range idle {
		cn.timer.Stop()
		s.retire(cn, "closed")
	}
	return nil
}

// dial connects, says EHLO, secures and authenticates a new session.
func (s *Sender) dial(ctx context.Context) (cn *conn, err error) {
	host, _, _ := net.SplitHostPort(s.cfg.Address)
	d := &net.Dialer{Timeout: s.cfg.DialTimeout}
	var nc net.Conn
	if s.cfg.Security == SecurityTLS {
		td := &tls.Dialer{NetDialer: d, Config: s.cfg.tlsConfig(host)}
		nc, err = td.DialContext(ctx, "tcp", s.cfg.Address)
	} else {
		nc, err = d.DialContext(ctx, "tcp", s.cfg.Address)
	}
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer func() {
		if !stop() && err == nil {
			err = ctx.Err()
		}
		if err != nil {
			nc.Close()
		}
	}()

	var c *smtp.Client
	if s.cfg.Security == SecurityStartTLS {
		// NewClientStartTLS runs the greeting, EHLO and STARTTLS with
		// go-smtp's 5-minute default command timeout, before we can set
		// ours: bound that phase by closing the socket.
		watchdog := time.AfterFunc(s.cfg.CommandTimeout, func() { nc.Close() })
		c, err = smtp.NewClientStartTLS(nc, s.cfg.tlsConfig(host))
		if !watchdog.Stop() {
			err = fmt.Errorf("no reply within %v: %w", s.cfg.CommandTimeout, os.ErrDeadlineExceeded)
		}
		if err != nil {
			return nil, fmt.Errorf("greeting, ehlo or starttls: %w", err)
		}
	} else {
		c = smtp.NewClient(nc)
	}
	c.CommandTimeout = s.cfg.CommandTimeout
	c.SubmissionTimeout = s.cfg.DataTimeout
	// After STARTTLS this is the first EHLO over TLS; go-smtp would say
	// "localhost" without it.
	if err := c.Hello(s.cfg.HelloName); err != nil {
		return nil, fmt.Errorf("ehlo: %w", err)
	}
	_, isTLS := c.TLSConnectionState()
	if s.cfg.Security != SecurityNone && !isTLS {
		return nil, errors.New("tls not established")
	}
	if s.cfg.Username != "" {
		// Validate already limits plaintext to loopback; check the live
		// connection as well, since a password must never leak.
		if !isTLS && !isLoopback(host) {
			return nil, errors.New("auth refused over an unencrypted connection")
		}
		if ok, _ := c.Extension("AUTH"); !ok {
			return nil, errors.New("auth: server offers no AUTH")
		}
		secret := s.cfg.Password
		if s.cfg.Auth == auth.XOAUTH2 {
			if s.cfg.Token == nil {
				return nil, errors.New("auth: xoauth2 without a token source")
			}
			t, err := s.cfg.Token()
			if err != nil {
				return nil, err
			}
			secret = t
		}
		sc, err := auth.Client(s.cfg.Auth, s.cfg.Username, secret)
		if err != nil {
			return nil, err
		}
		if err := c.Auth(sc); err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
	}
	id := s.lastID.Add(1)
	s.log.Debug("smtpout: connected", "conn", id, "addr", s.cfg.Address, "tls", isTLS, "auth", s.cfg.Username != "")
	return &conn{id: id, c: c, nc: nc}, nil
}

// transact runs MAIL, RCPT and DATA on cn, and RSET after a refusal. keep
// reports whether cn is still usable.
func (s *Sender) transact(ctx context.Context, cn *conn, from string, to []string, raw []byte) (keep bool, err error) {
	stop := context.AfterFunc(ctx, func() { cn.nc.Close() })
	err = s.mailRcptData(cn, from, to, raw)
	keep = err == nil || s.reset(cn, err)
	if !stop() {
		keep = false // the socket was closed under us
	}
	return keep, err
}

func (s *Sender) mailRcptData(cn *conn, from string, to []string, raw []byte) error {
	opts := &smtp.MailOptions{Size: int64(len(raw))}
	if !isASCII(from) || slices.ContainsFunc(to, func(a string) bool { return !isASCII(a) }) {
		if ok, _ := cn.c.Extension("SMTPUTF8"); !ok {
			// Extension hides a failed EHLO (after RSET go-smtp greets
			// again); Noop surfaces it.
			if err := cn.c.Noop(); err != nil {
				return newSendError(stageMail, "", err)
			}
			return permanent(stageMail, errNoSMTPUTF8)
		}
		opts.UTF8 = true
	}
	if err := cn.c.Mail(from, opts); err != nil {
		return newSendError(stageMail, "", err)
	}
	for _, rcpt := range to {
		if err := cn.c.Rcpt(rcpt, nil); err != nil {
			return newSendError(stageRcpt, rcpt, err)
		}
	}
	w, err := cn.c.Data()
	if err != nil {
		return newSendError(stageData, "", err)
	}
	// go-smtp leaves the body write without a deadline; CloseWithResponse
	// sets its own for the reply.
	cn.nc.SetDeadline(time.Now().Add(s.cfg.DataTimeout))
	if _, err := w.Write(raw); err != nil {
		return newSendError(stageBody, "", err)
	}
	if err := w.Close(); err != nil {
		return newSendError(stageDot, "", err)
	}
	return nil
}

var errNoSMTPUTF8 = errors.New("non-ASCII address but the server lacks SMTPUTF8")

// reset ends a failed transaction so that the next MAIL is not a nested one
// (Postfix answers "503 nested MAIL command"). It reports whether cn is
// still usable.
func (s *Sender) reset(cn *conn, err error) bool {
	if errors.Is(err, errNoSMTPUTF8) {
		return true // refused before any command
	}
	var smtpErr *smtp.SMTPError
	if !errors.As(err, &smtpErr) || smtpErr.Code == 421 {
		return false // no reply, or the server is closing
	}
	if rerr := cn.c.Reset(); rerr != nil {
		s.log.Debug("smtpout: rset failed", "conn", cn.id, "err", rerr)
		return false
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
