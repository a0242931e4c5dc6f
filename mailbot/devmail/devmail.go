// Package devmail runs an IMAP and an SMTP server in the process, on
// 127.0.0.1, for `coordbot demo`, `coordbot dev` and the robot's tests.
//
// The IMAP server is go-imap's in-memory reference backend; the SMTP server
// delivers every accepted message into the INBOX of each recipient, who must
// be a known user. Neither uses TLS; both accept passwords in clear, which
// is acceptable only because they listen on loopback.
//
// Known quirks of the in-memory IMAP backend (go-imap v2.0.0-beta.8), to
// design tests around: a message delivered just as IDLE starts can go
// unannounced (also poll), and MOVE can send two EXPUNGEs for one message:
// assert on UIDs, not on counts of untagged responses.
package devmail

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-smtp"
)

// Mailboxes created for every user.
const (
	Inbox      = "INBOX"
	Processed  = "Processed"
	Quarantine = "Quarantine"
	Sent       = "Sent"
)

// Limits of the SMTP server.
const (
	MaxMessageBytes = 32 << 20
	MaxRecipients   = 100
)

// clientTimeout bounds Messages' own IMAP session.
const clientTimeout = 30 * time.Second

// Servers is a running pair of mail servers.
type Servers struct {
	IMAPAddr string // host:port, plaintext IMAP (LOGIN allowed)
	SMTPAddr string // host:port, plaintext SMTP (AUTH PLAIN offered, not required)

	log    *slog.Logger
	mem    *imapmemserver.Server
	imap   *imapserver.Server
	smtp   *smtp.Server
	lns    []net.Listener
	served sync.WaitGroup

	mu       sync.Mutex
	accounts map[string]*account // by lower-cased address
	stats    Stats
	closed   bool
}

type account struct {
	addr, password string
	user           *imapmemserver.User
}

// Stats counts what the SMTP server saw, so that tests can check connection
// reuse and that nothing went out twice.
type Stats struct {
	Connections  int // SMTP sessions (one per connection: there is no STARTTLS)
	Transactions int // messages accepted (DATA answered 250)
	Deliveries   int // copies put into INBOXes
	RejectedRcpt int // RCPT answered 550 5.1.1
}

// Start starts both servers on 127.0.0.1 with random ports, with the given
// users (address → password). A nil log discards.
func Start(users map[string]string, log *slog.Logger) (*Servers, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Servers{
		log:      log,
		mem:      imapmemserver.New(),
		accounts: make(map[string]*account),
	}
	// Sorted, so that UIDVALIDITY values do not depend on map order.
	addrs := make([]string, 0, len(users))
	for a := range users {
		addrs = append(addrs, a)
	}
	slices.Sort(addrs)
	for _, a := range addrs {
		if err := s.AddUser(a, users[a]); err != nil {
			return nil, err
		}
	}

	imapLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("devmail: listen imap: %w", err)
	}
	smtpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		imapLn.Close()
		return nil, fmt.Errorf("devmail: listen smtp: %w", err)
	}
	s.lns = []net.Listener{imapLn, smtpLn}
	s.IMAPAddr = imapLn.Addr().String()
	s.SMTPAddr = smtpLn.Addr().String()

	s.imap = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return s.mem.NewSession(), nil, nil
		},
		// IMAP4rev2 implies MOVE, UIDPLUS and the rest for clients that
		// know it; clients that check for the rev1 extension names see
		// them listed too. All are implemented by imapmemserver.
		Caps: imap.CapSet{
			imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {},
			imap.CapMove: {}, imap.CapUIDPlus: {}, imap.CapNamespace: {},
			imap.CapESearch: {}, imap.CapListStatus: {}, imap.CapListExtended: {},
			imap.CapStatusSize: {}, imap.CapSpecialUse: {}, imap.CapCreateSpecialUse: {},
		},
		Logger:       printfLogger{log.With("server", "imap")},
		InsecureAuth: true, // loopback only
	})

	s.smtp = smtp.NewServer(&backend{s: s})
	s.smtp.Domain = "devmail.localhost"
	s.smtp.AllowInsecureAuth = true // loopback only
	s.smtp.MaxMessageBytes = MaxMessageBytes
	s.smtp.MaxRecipients = MaxRecipients
	s.smtp.ReadTimeout = 5 * time.Minute
	s.smtp.WriteTimeout = time.Minute
	s.smtp.ErrorLog = printfLogger{log.With("server", "smtp")}

	s.served.Add(2)
	go func() {
		defer s.served.Done()
		if err := s.imap.Serve(imapLn); err != nil {
			s.log.Warn("devmail: imap server stopped", "err", err)
		}
	}()
	go func() {
		defer s.served.Done()
		if err := s.smtp.Serve(smtpLn); err != nil {
			s.log.Warn("devmail: smtp server stopped", "err", err)
		}
	}()
	log.Debug("devmail: started", "imap", s.IMAPAddr, "smtp", s.SMTPAddr, "users", len(users))
	return s, nil
}

// AddUser adds a user whose IMAP login is addr, with the mailboxes INBOX,
// Processed, Quarantine and Sent. SMTP recipients match addr ignoring case.
func (s *Servers) AddUser(addr, password string) error {
	if addr == "" || strings.ContainsAny(addr, "<> \t\r\n") {
		return fmt.Errorf("devmail: add user %q: bad address", addr)
	}
	key := strings.ToLower(addr)
	u := imapmemserver.NewUser(addr, password)
	for _, mb := range []struct {
		name string
		use  imap.MailboxAttr
	}{{Inbox, ""}, {Processed, ""}, {Quarantine, ""}, {Sent, imap.MailboxAttrSent}} {
		var opts *imap.CreateOptions
		if mb.use != "" {
			opts = &imap.CreateOptions{SpecialUse: []imap.MailboxAttr{mb.use}}
		}
		if err := u.Create(mb.name, opts); err != nil {
			return fmt.Errorf("devmail: add user %q: create %s: %w", addr, mb.name, err)
		}
		if err := u.Subscribe(mb.name); err != nil {
			return fmt.Errorf("devmail: add user %q: subscribe %s: %w", addr, mb.name, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.accounts[key]; ok {
		return fmt.Errorf("devmail: add user %q: exists", addr)
	}
	s.accounts[key] = &account{addr: addr, password: password, user: u}
	s.mem.AddUser(u)
	return nil
}

func (s *Servers) account(addr string) (*account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[strings.ToLower(addr)]
	if !ok {
		return nil, fmt.Errorf("devmail: no user %q", addr)
	}
	return a, nil
}

// Deliver appends raw, as is, to a user's mailbox, as if it had arrived
// there: for test fixtures that SMTP would alter (no Return-Path is added).
func (s *Servers) Deliver(user, mailbox string, raw []byte) error {
	a, err := s.account(user)
	if err != nil {
		return err
	}
	if _, err := a.user.Append(mailbox, bytes.NewReader(raw), &imap.AppendOptions{Time: time.Now()}); err != nil {
		return fmt.Errorf("devmail: deliver to %s/%s: %w", user, mailbox, err)
	}
	return nil
}

// Messages returns the raw messages of a user's mailbox in UID order. It
// reads them through a real IMAP session (EXAMINE, UID FETCH BODY.PEEK[]),
// so flags stay untouched and the result is what a client sees.
func (s *Servers) Messages(user, mailbox string) ([][]byte, error) {
	a, err := s.account(user)
	if err != nil {
		return nil, err
	}
	msgs, err := s.fetchAll(a, mailbox)
	if err != nil {
		return nil, fmt.Errorf("devmail: messages of %s/%s: %w", user, mailbox, err)
	}
	return msgs, nil
}

func (s *Servers) fetchAll(a *account, mailbox string) ([][]byte, error) {
	nc, err := net.DialTimeout("tcp", s.IMAPAddr, clientTimeout)
	if err != nil {
		return nil, err
	}
	// imapclient has no command timeouts of its own.
	nc.SetDeadline(time.Now().Add(clientTimeout))
	c := imapclient.New(nc, nil)
	defer c.Close()
	if err := c.Login(a.addr, a.password).Wait(); err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil, fmt.Errorf("examine: %w", err)
	}
	var out [][]byte
	if sel.NumMessages > 0 {
		var all imap.UIDSet
		all.AddRange(1, 0) // 1:*
		bufs, err := c.Fetch(all, &imap.FetchOptions{
			UID:         true,
			BodySection: []*imap.FetchItemBodySection{{Peek: true}},
		}).Collect()
		if err != nil {
			return nil, fmt.Errorf("fetch: %w", err)
		}
		slices.SortFunc(bufs, func(x, y *imapclient.FetchMessageBuffer) int { return int(x.UID) - int(y.UID) })
		for _, b := range bufs {
			if len(b.BodySection) != 1 {
				return nil, fmt.Errorf("fetch uid %d: no body", b.UID)
			}
			out = append(out, b.BodySection[0].Bytes)
		}
	}
	if err := c.Logout().Wait(); err != nil {
		return nil, fmt.Errorf("logout: %w", err)
	}
	return out, nil
}

// SMTPStats returns the SMTP counters.
func (s *Servers) SMTPStats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Close stops both servers and cuts their connections.
func (s *Servers) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	var errs []error
	if err := s.smtp.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		errs = append(errs, fmt.Errorf("devmail: close smtp: %w", err))
	}
	if err := s.imap.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		errs = append(errs, fmt.Errorf("devmail: close imap: %w", err))
	}
	// go-smtp's Close misses a listener that Serve has not registered yet,
	// and Serve would then accept forever.
	for _, ln := range s.lns {
		ln.Close()
	}
	s.served.Wait()
	return errors.Join(errs...)
}

// printfLogger sends the servers' internal errors (mostly clients that
// went away) to slog at Debug.
type printfLogger struct{ log *slog.Logger }

func (l printfLogger) Printf(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l printfLogger) Println(v ...any)               { l.log.Debug(strings.TrimSuffix(fmt.Sprintln(v...), "\n")) }
