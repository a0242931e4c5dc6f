package devmail

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

var errNoSuchUser = &smtp.SMTPError{
	Code:         550,
	EnhancedCode: smtp.EnhancedCode{5, 1, 1},
	Message:      "No such user here",
}

// backend is the go-smtp backend: it delivers into the memserver.
type backend struct{ s *Servers }

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	b.s.mu.Lock()
	b.s.stats.Connections++
	b.s.mu.Unlock()
	return &session{s: b.s, helo: c.Hostname()}, nil
}

type session struct {
	s      *Servers
	helo   string
	authAs string
	from   string
	rcpts  []*account
}

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

// Auth checks PLAIN credentials against the users. AUTH is optional: the
// robot may submit with or without it.
func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		a, err := ss.s.account(username)
		if err != nil || a.password != password || identity != "" && !strings.EqualFold(identity, username) {
			return smtp.ErrAuthFailed
		}
		ss.authAs = a.addr
		return nil
	}), nil
}

func (ss *session) Mail(from string, opts *smtp.MailOptions) error {
	ss.from, ss.rcpts = from, nil
	return nil
}

func (ss *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	a, err := ss.s.account(to)
	if err != nil {
		ss.s.mu.Lock()
		ss.s.stats.RejectedRcpt++
		ss.s.mu.Unlock()
		return errNoSuchUser
	}
	for _, r := range ss.rcpts {
		if r == a {
			return nil // one copy per mailbox, as a real MDA does
		}
	}
	ss.rcpts = append(ss.rcpts, a)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err // too large: go-smtp answers 552
	}
	msg := withReturnPath(ss.from, raw)
	now := time.Now()
	var errs []error
	for _, a := range ss.rcpts {
		if _, err := a.user.Append(Inbox, bytes.NewReader(msg), &imap.AppendOptions{Time: now}); err != nil {
			errs = append(errs, fmt.Errorf("deliver to %s: %w", a.addr, err))
		}
	}
	ss.s.mu.Lock()
	ss.s.stats.Deliveries += len(ss.rcpts) - len(errs)
	if len(errs) == 0 {
		ss.s.stats.Transactions++
	}
	ss.s.mu.Unlock()
	attrs := []any{"from", ss.from, "rcpts", len(ss.rcpts), "bytes", len(raw), "helo", ss.helo, "auth", ss.authAs}
	if len(errs) > 0 {
		attrs = append(attrs, "err", errors.Join(errs...))
	}
	ss.s.log.Debug("devmail: smtp message", attrs...)
	if len(errs) > 0 {
		// Only when a user deleted their INBOX; a retry may go through.
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Delivery failed"}
	}
	return nil
}

func (ss *session) Reset() { ss.from, ss.rcpts = "", nil }

func (ss *session) Logout() error { return nil }

// withReturnPath returns raw with a Return-Path field for the envelope
// sender at the top and any Return-Path it carried removed, as Postfix and
// Dovecot do on final delivery. The robot's loop checks read it: a bounce
// has "Return-Path: <>".
func withReturnPath(from string, raw []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(raw) + len(from) + 20)
	fmt.Fprintf(&out, "Return-Path: <%s>\r\n", from)
	rest := raw
	dropping := false
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line = rest[:i+1]
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break // end of the header
		}
		cont := line[0] == ' ' || line[0] == '\t'
		if !cont {
			name, _, ok := bytes.Cut(line, []byte(":"))
			dropping = ok && strings.EqualFold(strings.TrimSpace(string(name)), "Return-Path")
		}
		if !dropping {
			out.Write(line)
		}
		rest = rest[len(line):]
	}
	out.Write(rest)
	return out.Bytes()
}
