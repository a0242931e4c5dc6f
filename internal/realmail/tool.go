package realmail

// Error-returning helpers for server pairs started by StartServers, outside
// of a test (cmd/coordbench).

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// helper marks the caller as a test helper when s belongs to a test.
func (s *Servers) helper() {
	if s.tb != nil {
		s.tb.Helper()
	}
}

// CreateUsers is AddUsers returning its error.
func (s *Servers) CreateUsers(addrs ...string) error {
	if len(addrs) == 0 {
		return nil
	}
	if out, err := s.run("add-users", addrs...); err != nil {
		return fmt.Errorf("realmail: add-users (%d addresses): %v\n%s", len(addrs), err, out)
	}
	return nil
}

// Control runs one of the script's server commands: "stop-imap",
// "start-imap", "stop-smtp" or "start-smtp" (see StopIMAP and the others),
// returning its error.
func (s *Servers) Control(cmd string) error {
	switch cmd {
	case "stop-imap", "start-imap", "stop-smtp", "start-smtp":
	default:
		return fmt.Errorf("realmail: unknown server command %q", cmd)
	}
	if out, err := s.run(cmd); err != nil {
		return fmt.Errorf("realmail: %s: %v\n%s", cmd, err, out)
	}
	return nil
}

// SendMail is Send returning its error.
func (s *Servers) SendMail(from string, to []string, raw []byte) error {
	if err := s.send(from, to, raw); err != nil {
		return fmt.Errorf("realmail: sending from %s to %v: %w", from, to, err)
	}
	return nil
}

// FetchAll is Messages returning its error.
func (s *Servers) FetchAll(user, mailbox string) ([][]byte, error) {
	msgs, err := s.messages(user, mailbox)
	if err != nil {
		return nil, fmt.Errorf("realmail: listing %s of %s: %w", mailbox, user, err)
	}
	return msgs, nil
}

// QueueLen counts the messages in Postfix's queue (incoming, active,
// deferred, hold, maildrop) by looking at the queue folders: 0 means
// everything accepted has been delivered or bounced.
func (s *Servers) QueueLen() (int, error) {
	n := 0
	for _, q := range []string{"maildrop", "incoming", "active", "deferred", "hold"} {
		err := filepath.WalkDir(filepath.Join(s.Dir, "postfix-queue", q), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return nil
				}
				return err
			}
			if d.Type().IsRegular() && !strings.HasPrefix(d.Name(), ".") {
				n++
			}
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("realmail: postfix queue: %w", err)
		}
	}
	return n, nil
}

// MoveEverything moves every message of mailbox from to mailbox to (created
// when missing on neither side: both must exist) with one UID MOVE: a
// backlog appears in to at once, as when a server delivers what it held.
func (s *Servers) MoveEverything(user, from, to string) error {
	return s.withIMAP(user, func(c *imapclient.Client) error {
		if _, err := c.Select(from, nil).Wait(); err != nil {
			return fmt.Errorf("realmail: select %s of %s: %w", from, user, err)
		}
		if _, err := c.Move(imap.UIDSet{{Start: 1, Stop: 0}}, to).Wait(); err != nil {
			return fmt.Errorf("realmail: move %s to %s of %s: %w", from, to, user, err)
		}
		return nil
	})
}

// CreateMailbox creates a mailbox of user; one that exists is fine.
func (s *Servers) CreateMailbox(user, name string) error {
	return s.withIMAP(user, func(c *imapclient.Client) error {
		if err := c.Create(name, nil).Wait(); err != nil {
			var ie *imap.Error
			if errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists {
				return nil
			}
			return fmt.Errorf("realmail: create %s of %s: %w", name, user, err)
		}
		return nil
	})
}
