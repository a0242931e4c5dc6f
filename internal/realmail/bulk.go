package realmail

// Helpers for tests that work with hundreds of users and messages, and for
// fault tests that look at or rebuild a mailbox behind the IMAP server's back.

import (
	"bytes"
	"cmp"
	"fmt"
	"net/mail"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// AddUsers creates many mailbox users (password Password) in one run of the
// script: hundreds take about as long as one AddUser.  Failures fail the
// test that called Start.
func (s *Servers) AddUsers(addrs ...string) {
	s.helper()
	if len(addrs) == 0 {
		return
	}
	s.mustRun("add-users", addrs...)
}

// DeliverAll stores every message of raws straight into a mailbox of user
// with IMAP APPEND, in order, in one session (Deliver for backlogs of
// hundreds).
func (s *Servers) DeliverAll(t testing.TB, user, mailbox string, raws [][]byte) {
	t.Helper()
	if err := s.AppendAll(user, mailbox, raws); err != nil {
		t.Fatal(err)
	}
}

// AppendAll is DeliverAll returning its error.
func (s *Servers) AppendAll(user, mailbox string, raws [][]byte) error {
	const perSession = 200 // keep each session well inside ioTimeout
	for len(raws) > 0 {
		chunk := raws[:min(perSession, len(raws))]
		raws = raws[len(chunk):]
		err := s.withIMAP(user, func(c *imapclient.Client) error {
			for i, raw := range chunk {
				cmd := c.Append(mailbox, int64(len(raw)), nil)
				if _, err := cmd.Write(raw); err != nil {
					cmd.Close()
					return fmt.Errorf("message %d: %w", i, err)
				}
				if err := cmd.Close(); err != nil {
					return fmt.Errorf("message %d: %w", i, err)
				}
				if _, err := cmd.Wait(); err != nil {
					return fmt.Errorf("message %d: %w", i, err)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("realmail: appending to %s of %s: %w", mailbox, user, err)
		}
	}
	return nil
}

// Count returns how many messages a mailbox of user holds (IMAP STATUS).
func (s *Servers) Count(t testing.TB, user, mailbox string) int {
	t.Helper()
	n, err := s.MessageCount(user, mailbox)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// MessageCount is Count returning its error.
func (s *Servers) MessageCount(user, mailbox string) (int, error) {
	var n int
	err := s.withIMAP(user, func(c *imapclient.Client) error {
		data, err := c.Status(mailbox, &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil {
			return err
		}
		if data.NumMessages == nil {
			return fmt.Errorf("STATUS without MESSAGES")
		}
		n = int(*data.NumMessages)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("realmail: counting %s of %s: %w", mailbox, user, err)
	}
	return n, nil
}

// Headers returns the header of every message in a mailbox of user, in UID
// order, without fetching the bodies.
func (s *Servers) Headers(t testing.TB, user, mailbox string) []mail.Header {
	t.Helper()
	var out []mail.Header
	err := s.withIMAP(user, func(c *imapclient.Client) error {
		sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			return err
		}
		if sel.NumMessages == 0 {
			return nil
		}
		var all imap.UIDSet
		all.AddRange(1, 0) // 1:*
		hdr := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
		bufs, err := c.Fetch(all, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{hdr}}).Collect()
		if err != nil {
			return err
		}
		slices.SortFunc(bufs, func(a, b *imapclient.FetchMessageBuffer) int { return cmp.Compare(a.UID, b.UID) })
		for _, buf := range bufs {
			raw := buf.FindBodySection(hdr)
			m, err := mail.ReadMessage(bytes.NewReader(append(bytes.TrimRight(raw, "\r\n"), "\r\n\r\n"...)))
			if err != nil {
				return fmt.Errorf("uid %d: header: %w", buf.UID, err)
			}
			out = append(out, m.Header)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("realmail: headers of %s of %s: %v", mailbox, user, err)
	}
	return out
}

// UIDValidity returns the UIDVALIDITY of a mailbox of user.
func (s *Servers) UIDValidity(t testing.TB, user, mailbox string) uint32 {
	t.Helper()
	var uv uint32
	err := s.withIMAP(user, func(c *imapclient.Client) error {
		data, err := c.Status(mailbox, &imap.StatusOptions{UIDValidity: true}).Wait()
		if err != nil {
			return err
		}
		uv = data.UIDValidity
		return nil
	})
	if err != nil {
		t.Fatalf("realmail: UIDVALIDITY of %s of %s: %v", mailbox, user, err)
	}
	return uv
}

// maildir is the folder of a mailbox of user (Maildir++ layout).
func (s *Servers) maildir(user, mailbox string) string {
	addr := strings.ToLower(user)
	local, domain, _ := strings.Cut(addr, "@")
	dir := filepath.Join(s.MaildirRoot, domain, local, "Maildir")
	if !strings.EqualFold(mailbox, "INBOX") {
		dir = filepath.Join(dir, "."+strings.ReplaceAll(mailbox, "/", "."))
	}
	return dir
}

// OnDisk counts the messages in a mailbox of user by looking at its maildir,
// not through IMAP: it works while the IMAP server is stopped (StopIMAP),
// e.g. to see that mail delivered meanwhile has arrived.  A mailbox that
// was never created holds 0.
func (s *Servers) OnDisk(t testing.TB, user, mailbox string) int {
	t.Helper()
	n := 0
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(s.maildir(user, mailbox), sub))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatalf("realmail: %v", err)
		}
		for _, e := range ents {
			if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
				n++
			}
		}
	}
	return n
}

// RecreateMailbox replaces a mailbox of user by a new one holding raws, as
// when a mailbox is deleted and created again or restored from a backup:
// it stops the IMAP server, removes the maildir's messages together with
// Dovecot's index and UID list (the folders of other mailboxes stay), stores
// raws as new mail and starts the IMAP server again.  Dovecot then gives the
// mailbox a new, higher UIDVALIDITY and numbers raws from UID 1 in order.
// Mail must not be delivered to the mailbox meanwhile.
func (s *Servers) RecreateMailbox(t testing.TB, user, mailbox string, raws ...[]byte) {
	t.Helper()
	vmail, err := usr("vmail")
	if err != nil {
		t.Fatalf("realmail: %v", err)
	}
	dir := s.maildir(user, mailbox)
	s.StopIMAP()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("realmail: %v", err)
	}
	for _, e := range ents {
		name := e.Name()
		switch {
		case e.IsDir() && (name == "new" || name == "cur" || name == "tmp"):
			files, err := os.ReadDir(filepath.Join(dir, name))
			if err != nil {
				t.Fatalf("realmail: %v", err)
			}
			for _, f := range files {
				if err := os.Remove(filepath.Join(dir, name, f.Name())); err != nil {
					t.Fatalf("realmail: %v", err)
				}
			}
		case !e.IsDir() && (strings.HasPrefix(name, "dovecot-uidlist") || strings.HasPrefix(name, "dovecot.index") ||
			strings.HasPrefix(name, "dovecot.list.index")):
			// Not dovecot-uidvalidity*: it makes the next UIDVALIDITY higher.
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				t.Fatalf("realmail: %v", err)
			}
		}
	}
	// Dovecot numbers new mail in the order of the time stamps that start
	// the file names.
	base := time.Now().Unix() - int64(len(raws))
	for i, raw := range raws {
		name := filepath.Join(dir, "new", fmt.Sprintf("%d.M%dP%d.realmail", base+int64(i), i, os.Getpid()))
		if err := os.WriteFile(name, raw, 0o600); err != nil {
			t.Fatalf("realmail: %v", err)
		}
		if err := os.Chown(name, vmail[0], vmail[1]); err != nil {
			t.Fatalf("realmail: %v", err)
		}
	}
	s.StartIMAP()
}

func usr(name string) ([2]int, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return [2]int{}, err
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return [2]int{}, err
	}
	gid, err := strconv.Atoi(u.Gid)
	return [2]int{uid, gid}, err
}

// WaitHeaders polls a mailbox of user until it holds at least n messages
// and returns their headers, in UID order.  It fails the test after timeout.
func (s *Servers) WaitHeaders(t testing.TB, user, mailbox string, n int, timeout time.Duration) []mail.Header {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if got := s.Count(t, user, mailbox); got >= n {
			return s.Headers(t, user, mailbox)
		} else if time.Now().After(deadline) {
			t.Fatalf("realmail: waited %v for %d messages in %s of %s, found %d (see %s/log)", timeout, n, mailbox, user, got, s.Dir)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
