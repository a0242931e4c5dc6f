// Package inbox is coordbot's IMAP client: it takes new messages from a
// mailbox, moves handled ones, appends copies and waits for new mail.
//
// It wraps go-imap v2's imapclient with what the robot needs and the library
// lacks: a timeout on every command (a watchdog that closes the connection),
// TCP keepalive, a size bound on fetched messages, a MOVE fallback that only
// ever expunges the message it copied, and error classification for the
// reconnecting caller.
//
// A Client is meant to be driven by one goroutine; its methods are serialized.
// Close may be called from any goroutine and interrupts a running Wait.
package inbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/coordbot/coordbot/mailbot/auth"
)

// Defaults for the zero values of Config.
const (
	DefaultDialTimeout    = 15 * time.Second
	DefaultCommandTimeout = 60 * time.Second
	DefaultMaxMessageSize = 64 << 20
	DefaultPollInterval   = time.Minute

	// MaxIdle bounds one Wait with IDLE: RFC 9051 lets servers drop a client
	// idle for 30 minutes, and go-imap renews IDLE on its own only at 28.
	MaxIdle = 25 * time.Minute
)

// Security modes for Config.Security.
const (
	SecurityTLS      = "tls"
	SecurityStartTLS = "starttls"
	SecurityNone     = "none"
)

// Config says where and how to connect.
type Config struct {
	// Address is host:port.
	Address string
	// Security is "tls" (implicit TLS, usually port 993), "starttls" or
	// "none". "none" is refused unless the host is a loopback IP literal,
	// because the password would cross the network in clear.
	Security string
	// Username and Password for LOGIN (or AUTHENTICATE PLAIN when the server
	// disables LOGIN). Never logged.
	Username, Password string
	// TLSConfig is optional; it is cloned. ServerName defaults to the host.
	TLSConfig *tls.Config
	// DialTimeout bounds connect, TLS handshake and greeting (default 15s).
	DialTimeout time.Duration
	// CommandTimeout bounds every command; for transfers it is the longest
	// stretch without progress (default 60s).
	CommandTimeout time.Duration
	// MaxMessageSize is the largest message Fetch reads (default 64 MiB).
	MaxMessageSize int64
	// PollInterval is how long Wait sleeps when the server has no IDLE
	// (default 1 minute).
	PollInterval time.Duration
	// Auth is the SASL mechanism: "" (LOGIN, or PLAIN where LOGIN is
	// disabled), "plain", "login" or "xoauth2".
	Auth string
	// Token gives the OAuth access token for xoauth2, fresh at each login.
	Token func() (string, error)
}

func (cfg *Config) setDefaults() {
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.CommandTimeout <= 0 {
		cfg.CommandTimeout = DefaultCommandTimeout
	}
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = DefaultMaxMessageSize
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
}

// Errors the caller may test with errors.Is.
var (
	// ErrTimeout: a command ran past CommandTimeout; the connection was
	// closed. Temporary.
	ErrTimeout = errors.New("inbox: command timed out")
	// ErrConnLost: the connection broke; reconnect. Temporary.
	ErrConnLost = errors.New("inbox: connection lost")
	// ErrClosed: Close was called on this Client.
	ErrClosed = errors.New("inbox: client closed")
	// ErrNoMove: the server has neither MOVE nor UIDPLUS, so a message
	// cannot be moved without risking other messages. Permanent.
	ErrNoMove = errors.New("inbox: server has neither MOVE nor UIDPLUS")
	// ErrInsecure: Security "none" for a host that is not loopback.
	ErrInsecure = errors.New(`inbox: security "none" is only allowed for a loopback address`)
	// ErrNotSelected: a mailbox must be selected first.
	ErrNotSelected = errors.New("inbox: no mailbox selected")
)

// TooLargeError is handed to the Fetch callback instead of the message when
// its RFC822.SIZE exceeds Config.MaxMessageSize; the body is never read, so
// the caller can quarantine the message by UID.
type TooLargeError struct {
	UID   imap.UID
	Size  int64
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("inbox: uid %d is %d bytes, over the %d byte limit", e.UID, e.Size, e.Limit)
}

// AuthError is a refused login. It is permanent unless the server said
// [UNAVAILABLE].
type AuthError struct{ Err error }

func (e *AuthError) Error() string { return "inbox: login refused: " + e.Err.Error() }
func (e *AuthError) Unwrap() error { return e.Err }

// Client is one logged-in IMAP connection.
type Client struct {
	cfg Config
	log *slog.Logger
	ic  *imapclient.Client

	// mu serializes commands: IDLE blocks all others, and a watchdog is
	// only meaningful for one command at a time.
	mu sync.Mutex

	// newMail holds a token when the server announced EXISTS since the
	// last NewUIDs or Select; it is how Wait learns about new mail.
	newMail chan struct{}

	// selected is the mailbox of the last successful Select. go-imap's own
	// Mailbox() is updated only after Select's Wait returns, so it can
	// still be nil right after a successful SELECT.
	selected string

	closeOnce sync.Once
	closed    atomic.Bool
}

// Dial connects, checks TLS, and logs in. ctx bounds the whole setup in
// addition to DialTimeout and CommandTimeout.
func Dial(ctx context.Context, cfg Config, log *slog.Logger) (*Client, error) {
	cfg.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	host, _, err := net.SplitHostPort(cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("inbox: address %q: %w", cfg.Address, err)
	}
	switch cfg.Security {
	case SecurityTLS, SecurityStartTLS:
	case SecurityNone:
		if !isLoopback(host) {
			return nil, fmt.Errorf("%w (host %q)", ErrInsecure, host)
		}
	default:
		return nil, fmt.Errorf("inbox: unknown security %q (want tls, starttls or none)", cfg.Security)
	}

	c := &Client{
		cfg:     cfg,
		log:     log.With("imap", cfg.Address),
		newMail: make(chan struct{}, 1),
	}

	// One deadline for the whole setup; when it passes, closing the socket
	// unblocks whatever step is waiting (go-imap takes no context).
	ctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout+cfg.CommandTimeout)
	defer cancel()
	dialer := &net.Dialer{
		Timeout: cfg.DialTimeout,
		// IDLE reads have no deadline: keepalive is what notices a
		// half-open connection while idling (about 2 minutes).
		KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: time.Minute, Interval: 15 * time.Second, Count: 4},
	}
	conn, err := dialer.DialContext(ctx, "tcp", cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("inbox: dial %s: %w", cfg.Address, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	fail := func(step string, err error) (*Client, error) {
		conn.Close()
		if !stop() && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w: %w", ErrTimeout, err)
		} else if ctx.Err() != nil {
			err = fmt.Errorf("%w: %w", ctx.Err(), err)
		}
		return nil, fmt.Errorf("inbox: %s %s: %w", step, cfg.Address, err)
	}
	// After go-imap took over the socket, its errors for a broken
	// connection don't wrap the cause: mark them so IsTemporary knows.
	failConn := func(step string, err error) (*Client, error) {
		c.ic.Close()
		var (
			ie *imap.Error
			ae *AuthError
		)
		if !errors.As(err, &ie) && !errors.As(err, &ae) && !isCertError(err) {
			err = fmt.Errorf("%w: %w", ErrConnLost, err)
		}
		return fail(step, err)
	}

	tlsConfig := &tls.Config{}
	if cfg.TLSConfig != nil {
		tlsConfig = cfg.TLSConfig.Clone()
	}
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = host
	}
	if tlsConfig.MinVersion == 0 {
		tlsConfig.MinVersion = tls.VersionTLS12
	}
	opts := &imapclient.Options{
		TLSConfig: tlsConfig,
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			// Runs in go-imap's reader goroutine: must never block
			// (emersion/go-imap#668), hence the non-blocking send.
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					c.signalNewMail()
				}
			},
		},
	}

	switch cfg.Security {
	case SecurityTLS:
		if tlsConfig.NextProtos == nil {
			tlsConfig.NextProtos = []string{"imap"}
		}
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail("tls handshake with", err)
		}
		c.ic = imapclient.New(tc, opts)
	case SecurityStartTLS:
		// NewStartTLS refuses PREAUTH before TLS.
		c.ic, err = imapclient.NewStartTLS(conn, opts)
		if err != nil {
			var ie *imap.Error
			if !errors.As(err, &ie) && !isCertError(err) {
				err = fmt.Errorf("%w: %w", ErrConnLost, err)
			}
			return fail("starttls with", err)
		}
	default:
		c.ic = imapclient.New(conn, opts)
	}
	if err := c.ic.WaitGreeting(); err != nil {
		return failConn("greeting from", err)
	}

	caps := c.ic.Caps()
	var loginErr error
	switch {
	case cfg.Auth != "":
		secret := cfg.Password
		if cfg.Auth == auth.XOAUTH2 {
			if cfg.Token == nil {
				return failConn("login to", errors.New("xoauth2 without a token source"))
			}
			if secret, loginErr = cfg.Token(); loginErr != nil {
				return failConn("token for", loginErr)
			}
		}
		sc, err := auth.Client(cfg.Auth, cfg.Username, secret)
		if err != nil {
			return failConn("login to", err)
		}
		loginErr = c.ic.Authenticate(sc)
	case caps.Has(imap.CapLoginDisabled) && caps.Has(imap.AuthCap(sasl.Plain)):
		loginErr = c.ic.Authenticate(sasl.NewPlainClient("", cfg.Username, cfg.Password))
	default:
		loginErr = c.ic.Login(cfg.Username, cfg.Password).Wait()
	}
	if loginErr != nil {
		var ie *imap.Error
		if errors.As(loginErr, &ie) {
			loginErr = &AuthError{Err: loginErr}
		}
		return failConn("login to", loginErr)
	}
	// Capabilities change after login; fetch them now, under the deadline,
	// so later commands don't wait for them.
	if c.ic.Caps() == nil {
		return failConn("capabilities from", errors.New("no capability list"))
	}
	if !stop() {
		return failConn("setup of", ctx.Err())
	}
	c.log.Debug("imap connected", "security", cfg.Security)
	return c, nil
}

// isLoopback accepts only IP literals: a name could resolve elsewhere.
func isLoopback(host string) bool {
	addr, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return err == nil && addr.IsLoopback()
}

func (c *Client) signalNewMail() {
	select {
	case c.newMail <- struct{}{}:
	default:
	}
}

func (c *Client) takeNewMail() bool {
	select {
	case <-c.newMail:
		return true
	default:
		return false
	}
}

// Close logs out and closes the connection. It is safe to call twice and
// from another goroutine; a Wait in progress returns an error.
func (c *Client) Close() error {
	var err error
	c.closeOnce.Do(func() {
		// Log out politely only when no command is running; otherwise
		// (e.g. during IDLE) just cut the connection.
		if c.mu.TryLock() {
			err = c.do("logout", min(c.cfg.CommandTimeout, 5*time.Second), func(*watchdog) error {
				return c.ic.Logout().Wait()
			})
			c.mu.Unlock()
		}
		c.closed.Store(true)
		c.ic.Close()
		if errors.Is(err, ErrConnLost) {
			err = nil // nothing left to close
		}
		c.log.Debug("imap closed")
	})
	return err
}

// Closed is closed when the connection is gone, whatever the cause.
func (c *Client) Closed() <-chan struct{} { return c.ic.Closed() }

// Caps returns the server's capabilities (after login).
func (c *Client) Caps() imap.CapSet { return c.ic.Caps().Copy() }

// Noop sends NOOP: a cheap liveness check that also collects EXISTS.
func (c *Client) Noop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.do("noop", 0, func(*watchdog) error { return c.ic.Noop().Wait() })
}

// Ensure creates the mailboxes that don't exist yet.
func (c *Client) Ensure(names ...string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, name := range names {
		err := c.do("create "+name, 0, func(*watchdog) error {
			err := c.ic.Create(name, nil).Wait()
			var ie *imap.Error
			if err == nil || !errors.As(err, &ie) {
				return err
			}
			if ie.Code == imap.ResponseCodeAlreadyExists {
				return nil
			}
			// Not every server says [ALREADYEXISTS] (and CREATE INBOX
			// always fails): ask whether it is there.
			if ok, lerr := c.exists(name); lerr == nil && ok {
				return nil
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) exists(name string) (bool, error) {
	list, err := c.ic.List("", name, nil).Collect()
	if err != nil {
		return false, err
	}
	for _, l := range list {
		if (l.Mailbox == name || strings.EqualFold(name, "INBOX") && strings.EqualFold(l.Mailbox, name)) &&
			!slices.Contains(l.Attrs, imap.MailboxAttrNonExistent) {
			return true, nil
		}
	}
	return false, nil
}

// Select opens mailbox read-write and returns its UIDVALIDITY. UIDs are only
// comparable while UIDVALIDITY stays the same.
func (c *Client) Select(mailbox string) (uint32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var uidValidity uint32
	c.selected = "" // a failed SELECT leaves no mailbox selected
	err := c.do("select "+mailbox, 0, func(*watchdog) error {
		data, err := c.ic.Select(mailbox, nil).Wait()
		if err != nil {
			return err
		}
		if data.UIDValidity == 0 {
			// A cursor keyed by a missing UIDVALIDITY would be wrong.
			return errors.New("server sent no UIDVALIDITY")
		}
		uidValidity = data.UIDValidity
		c.selected = mailbox
		return nil
	})
	c.takeNewMail() // the next NewUIDs sees everything up to now
	return uidValidity, err
}

// NewUIDs returns the UIDs above after in the selected mailbox, ascending.
func (c *Client) NewUIDs(after uint32) ([]imap.UID, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if after == ^uint32(0) {
		return nil, nil
	}
	// Clear the signal before searching: EXISTS arriving from here on
	// signals again, so Wait can be early but never miss mail.
	c.takeNewMail()
	var uids []imap.UID
	err := c.do(fmt.Sprintf("search uid %d:*", after+1), 0, func(*watchdog) error {
		if err := c.needSelected(); err != nil {
			return err
		}
		crit := &imap.SearchCriteria{UID: []imap.UIDSet{{{Start: imap.UID(after + 1), Stop: 0}}}}
		data, err := c.ic.UIDSearch(crit, nil).Wait()
		if err != nil {
			return err
		}
		set, ok := data.All.(imap.UIDSet)
		if !ok {
			return nil // no results
		}
		all, ok := set.Nums()
		if !ok {
			return errors.New("server returned a dynamic uid set")
		}
		for _, uid := range all {
			// "n:*" matches the highest UID even when it is below n.
			if uint32(uid) > after {
				uids = append(uids, uid)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(uids)
	return slices.Compact(uids), nil
}

func (c *Client) needSelected() error {
	if c.selected == "" {
		return ErrNotSelected
	}
	return nil
}

// Fetch reads the given messages of the selected mailbox in UID order and
// calls fn for each, outside of any IMAP command, so fn may call Move or
// Append. Bodies are fetched with BODY.PEEK[] (\Seen is never set), one
// message per command, read fully into memory.
//
// A message over MaxMessageSize is not read: fn gets raw == nil and a
// *TooLargeError. UIDs that no longer exist are skipped. An error returned
// by fn stops Fetch and is returned wrapped.
func (c *Client) Fetch(uids []imap.UID, fn func(uid imap.UID, raw []byte, err error) error) error {
	return c.FetchBatches(uids, 1, 1, func(fs []Fetched) error {
		for _, f := range fs {
			if err := fn(f.UID, f.Raw, f.Err); err != nil {
				return err
			}
		}
		return nil
	})
}

// sizes asks for RFC822.SIZE first so an oversized message is never
// downloaded.
func (c *Client) sizes(uids []imap.UID) (map[imap.UID]int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sizes := make(map[imap.UID]int64, len(uids))
	err := c.do("fetch sizes", 0, func(*watchdog) error {
		if err := c.needSelected(); err != nil {
			return err
		}
		cmd := c.ic.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, RFC822Size: true})
		msgs, err := cmd.Collect()
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.UID != 0 {
				sizes[m.UID] = m.RFC822Size
			}
		}
		return nil
	})
	return sizes, err
}

// Move moves one message of the selected mailbox to dest. With MOVE it is
// one command; otherwise UID COPY, UID STORE +FLAGS.SILENT (\Deleted) and
// UID EXPUNGE of that UID only, each checked before the next (go-imap's own
// fallback pipelines them and may use a plain EXPUNGE, which would remove
// every \Deleted message). A UID that is already gone is looked up first
// and counts as moved, so a repeated Move is harmless.
func (c *Client) Move(uid imap.UID, dest string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.do(fmt.Sprintf("move uid %d to %s", uid, dest), 0, func(w *watchdog) error {
		if err := c.needSelected(); err != nil {
			return err
		}
		set := imap.UIDSetNum(uid)
		// Moving a UID that is already gone must succeed (retries after a
		// crash between MOVE and commit), and must not reach the server:
		// imapmemserver then answers with an empty COPYUID that go-imap
		// cannot parse, which kills the connection.
		data, err := c.ic.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{set}}, nil).Wait()
		if err != nil {
			return fmt.Errorf("search: %w", err)
		}
		if found, ok := data.All.(imap.UIDSet); !ok || !found.Contains(uid) {
			c.log.Debug("imap move: uid already gone", "uid", uid)
			return nil
		}
		return c.moveSet(w, set, dest)
	})
}

type moveKind int

const (
	moveNone moveKind = iota
	moveNative
	moveUIDPlus
)

func moveMethod(caps imap.CapSet) moveKind {
	switch {
	case caps.Has(imap.CapMove): // also implied by IMAP4rev2
		return moveNative
	case caps.Has(imap.CapUIDPlus):
		return moveUIDPlus
	default:
		return moveNone
	}
}

// Append stores raw in mailbox with the given flags (e.g. \Seen for the
// Sent copy).
func (c *Client) Append(mailbox string, raw []byte, flags ...imap.Flag) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.do("append to "+mailbox, 0, func(w *watchdog) error {
		cmd := c.ic.Append(mailbox, int64(len(raw)), &imap.AppendOptions{Flags: flags})
		var writeErr error
		for rest := raw; len(rest) > 0 && writeErr == nil; {
			n := min(len(rest), 64<<10)
			_, writeErr = cmd.Write(rest[:n])
			rest = rest[n:]
			w.kick()
		}
		if err := cmd.Close(); writeErr == nil {
			writeErr = err
		}
		// The server's answer explains a failed write better (e.g. NO
		// [TRYCREATE] instead of a cancelled continuation).
		if _, err := cmd.Wait(); err != nil {
			return err
		}
		return writeErr
	})
}

// Wait blocks until the server announces new mail in the selected mailbox
// (true), max passes (false), or ctx is done (error). It uses IDLE when the
// server has it, and max is capped at MaxIdle. Without IDLE it sleeps
// min(max, PollInterval), sends NOOP and reports whether EXISTS came back;
// the caller should search anyway. A dropped connection is an error.
//
// New mail announced since the last NewUIDs or Select returns true at once.
func (c *Client) Wait(ctx context.Context, max time.Duration) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if max <= 0 || max > MaxIdle {
		max = MaxIdle
	}
	if err := c.usable("wait"); err != nil {
		return false, err
	}
	if err := c.needSelected(); err != nil {
		return false, fmt.Errorf("inbox: wait: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("inbox: wait: %w", err)
	}
	if c.takeNewMail() {
		return true, nil
	}
	if !c.ic.Caps().Has(imap.CapIdle) {
		return c.poll(ctx, min(max, c.cfg.PollInterval))
	}

	var idle *imapclient.IdleCommand
	err := c.do("idle", 0, func(*watchdog) (err error) {
		idle, err = c.ic.Idle()
		return err
	})
	if err != nil {
		return false, err
	}
	timer := time.NewTimer(max)
	defer timer.Stop()
	got := false
	var waitErr error
	select {
	case <-c.newMail:
		got = true
	case <-timer.C:
	case <-ctx.Done():
		waitErr = ctx.Err()
	case <-c.ic.Closed():
		// go-imap does not reconnect (emersion/go-imap#602): say so.
		if c.closed.Load() {
			return false, fmt.Errorf("inbox: wait: %w", ErrClosed)
		}
		return false, fmt.Errorf("inbox: wait: %w", ErrConnLost)
	}
	// Ending IDLE also proves the server still answers (DONE, then OK).
	err = c.do("end idle", 0, func(*watchdog) error {
		if err := idle.Close(); err != nil {
			return err
		}
		return idle.Wait()
	})
	switch {
	case waitErr != nil && err != nil:
		return false, fmt.Errorf("inbox: wait: %w; %w", waitErr, err)
	case waitErr != nil:
		return false, fmt.Errorf("inbox: wait: %w", waitErr)
	case err != nil:
		return false, err
	}
	return got || c.takeNewMail(), nil
}

func (c *Client) poll(ctx context.Context, d time.Duration) (bool, error) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
		return false, fmt.Errorf("inbox: wait: %w", ctx.Err())
	case <-c.ic.Closed():
		return false, fmt.Errorf("inbox: wait: %w", ErrConnLost)
	}
	if err := c.do("noop", 0, func(*watchdog) error { return c.ic.Noop().Wait() }); err != nil {
		return false, err
	}
	return c.takeNewMail(), nil
}

func (c *Client) usable(op string) error {
	if c.closed.Load() {
		return fmt.Errorf("inbox: %s: %w", op, ErrClosed)
	}
	select {
	case <-c.ic.Closed():
		return fmt.Errorf("inbox: %s: %w", op, ErrConnLost)
	default:
		return nil
	}
}

// do runs one command under a watchdog and wraps its error with op.
// go-imap has no per-command timeout, and its own deadlines are reset per
// response, so a silent server would block a Wait forever: the watchdog
// closes the connection instead. timeout 0 means CommandTimeout.
func (c *Client) do(op string, timeout time.Duration, f func(*watchdog) error) error {
	if err := c.usable(op); err != nil {
		return err
	}
	if timeout <= 0 {
		timeout = c.cfg.CommandTimeout
	}
	w := &watchdog{d: timeout}
	w.t = time.AfterFunc(timeout, func() {
		w.fired.Store(true)
		c.log.Warn("imap command timed out, closing connection", "op", op, "timeout", timeout)
		c.ic.Close()
	})
	err := f(w)
	w.t.Stop()
	if err == nil {
		return nil
	}
	var ie *imap.Error
	switch {
	case w.fired.Load():
		err = fmt.Errorf("%w after %v: %w", ErrTimeout, timeout, err)
	case errors.As(err, &ie):
		// A server answer: the connection is fine.
	case c.ic.State() == imap.ConnStateLogout && !errors.Is(err, ErrConnLost):
		// go-imap reports a broken connection with errors that don't
		// wrap the cause (fmt %v), so tell the caller plainly.
		err = fmt.Errorf("%w: %w", ErrConnLost, err)
	}
	return fmt.Errorf("inbox: %s: %w", op, err)
}

// watchdog closes the connection when a command makes no progress.
type watchdog struct {
	t     *time.Timer
	d     time.Duration
	fired atomic.Bool
}

// kick restarts the countdown after progress (data moved, a step done).
func (w *watchdog) kick() {
	if !w.fired.Load() {
		w.t.Reset(w.d)
	}
}

type progressReader struct {
	r io.Reader
	w *watchdog
}

func (p progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.w.kick()
	}
	return n, err
}
