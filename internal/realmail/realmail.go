// Package realmail starts real Dovecot (IMAP) and Postfix (SMTP) servers for
// end-to-end tests and talks to them the way a test needs: submit mail, list
// a mailbox, preload a mailbox, take a server down and bring it back.
//
// Each Start call runs testdata/mailservers.sh in its own directory under
// /tmp, so every test gets an independent server pair on free ports of
// 127.0.0.1, and tests in different packages can run at the same time.
// The script needs root and the Debian packages dovecot-imapd, dovecot-lmtpd
// and postfix (it installs them when missing).
//
// Every mailbox user logs in with its full address and Password.  Mail for an
// unknown user of the test domains (cert.example acme.example beta.example
// gamma.example example.com example.org example.net) bounces back to the
// sender; mail for any other domain bounces at once.
package realmail

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
)

// Password is the password of every mailbox user.
const Password = "secret"

// DefaultUsers are the mailbox users every server pair starts with.
var DefaultUsers = []string{
	"vultures@cert.example",
	"coord@cert.example",
	"coord2@cert.example",
	"psirt@acme.example",
	"security@beta.example",
	"secteam@gamma.example",
	"reporter@example.com",
}

// ioTimeout bounds every single IMAP or SMTP session of the helpers.
const ioTimeout = 30 * time.Second

// scriptTimeout bounds one run of testdata/mailservers.sh.  Starting is
// usually under a second, but a loaded CI machine can be very slow.
const scriptTimeout = 3 * time.Minute

// Servers is one running Dovecot + Postfix pair.
type Servers struct {
	// IMAPAddr is Dovecot's IMAP address, "127.0.0.1:port", plain text,
	// LOGIN/AUTHENTICATE PLAIN with the full address and Password.
	IMAPAddr string
	// SMTPAddr is Postfix's SMTP address, "127.0.0.1:port", plain text,
	// no authentication: 127.0.0.0/8 may send anywhere.
	SMTPAddr string
	// Dir holds the configs, the logs (Dir/log) and the maildirs.
	Dir string
	// MaildirRoot holds one maildir home per user: MaildirRoot/domain/user.
	MaildirRoot string

	tb     testing.TB
	script string
}

// Start starts a new server pair for t and stops it when t ends.
//
// Without COORDBOT_REALMAIL set, it skips t, or fails it when CI=true.
func Start(t testing.TB) *Servers {
	t.Helper()
	if os.Getenv("COORDBOT_REALMAIL") == "" {
		const msg = "real Dovecot/Postfix not started: run .ci/run or set COORDBOT_REALMAIL=1"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	s, err := StartServers()
	if err != nil {
		t.Fatal(err)
	}
	s.tb = t
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s", s.LogTails())
		}
		if err := s.Stop(); err != nil {
			t.Errorf("%v", err)
		}
	})
	return s
}

// StartServers starts a new server pair outside of a test (a benchmark, a
// tool); the caller must call Stop.  It does not look at COORDBOT_REALMAIL.
//
// The helpers that take no testing.TB but report failures to the test that
// called Start (AddUser, AddUsers, StopIMAP, StartIMAP, StopSMTP,
// StartSMTP, RecreateMailbox) must not be used on such a pair: use the
// error-returning variants (CreateUsers, Control) instead.
func StartServers() (*Servers, error) {
	script, err := findScript()
	if err != nil {
		return nil, err
	}
	// Short path: unix socket paths must stay under ~100 bytes.  Not
	// t.TempDir: the mail users must be able to traverse every parent.
	dir, err := os.MkdirTemp("/tmp", "cbm")
	if err != nil {
		return nil, fmt.Errorf("realmail: %w", err)
	}
	s := &Servers{Dir: dir, script: script}
	if out, err := s.run("start"); err != nil {
		// The script stops what it started when start fails; stop again
		// anyway, as Start always did.
		s.run("stop")
		os.RemoveAll(dir)
		return nil, fmt.Errorf("realmail: %s start %s: %v\n%s", script, dir, err, out)
	}
	env, err := readEnv(filepath.Join(dir, "env"))
	if err == nil {
		s.IMAPAddr = env["IMAP_ADDR"]
		s.SMTPAddr = env["SMTP_ADDR"]
		s.MaildirRoot = env["MAILDIR_ROOT"]
		if s.IMAPAddr == "" || s.SMTPAddr == "" || s.MaildirRoot == "" {
			err = fmt.Errorf("incomplete %s/env: %v", dir, env)
		}
	}
	if err != nil {
		s.Stop()
		return nil, fmt.Errorf("realmail: %w", err)
	}
	return s, nil
}

// Stop stops the servers and removes their directory.  It is idempotent.
func (s *Servers) Stop() error {
	if out, err := s.run("stop"); err != nil {
		return fmt.Errorf("realmail: stopping the servers in %s: %v\n%s", s.Dir, err, out)
	}
	if err := os.RemoveAll(s.Dir); err != nil {
		return fmt.Errorf("realmail: %w", err)
	}
	return nil
}

// findScript walks up from the working directory to the module root (the
// directory with go.mod) and returns its testdata/mailservers.sh.
func findScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			script := filepath.Join(dir, "testdata", "mailservers.sh")
			if _, err := os.Stat(script); err != nil {
				return "", fmt.Errorf("realmail: %w", err)
			}
			return script, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("realmail: no go.mod above the working directory")
		}
		dir = parent
	}
}

func readEnv(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	return env, sc.Err()
}

// run runs the script with a subcommand, the directory and args.
func (s *Servers) run(cmd string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	c := exec.CommandContext(ctx, "bash", append([]string{s.script, cmd, s.Dir}, args...)...)
	// The daemons must not keep the output pipe open; if one ever does,
	// do not hang.
	c.WaitDelay = 10 * time.Second
	return c.CombinedOutput()
}

// LogTails returns the last lines of every server log, for a failure
// report.
func (s *Servers) LogTails() string {
	var b strings.Builder
	logs, _ := filepath.Glob(filepath.Join(s.Dir, "log", "*.log"))
	for _, name := range logs {
		data, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > 40 {
			lines = lines[len(lines)-40:]
		}
		fmt.Fprintf(&b, "realmail: tail of %s:\n%s\n", name, strings.Join(lines, "\n"))
	}
	return b.String()
}

// mustRun runs a subcommand and fails the test that started s on error.
func (s *Servers) mustRun(cmd string, args ...string) {
	if s.tb == nil {
		panic("realmail: a helper that fails the test was called on servers from StartServers; use its error-returning variant")
	}
	s.tb.Helper()
	if out, err := s.run(cmd, args...); err != nil {
		s.tb.Fatalf("realmail: %s %s: %v\n%s", cmd, strings.Join(args, " "), err, out)
	}
}

// AddUser creates a mailbox user (password Password), so that mail to addr is
// delivered instead of bounced.  Dovecot picks it up at once.  Failures fail
// the test that called Start.
func (s *Servers) AddUser(addr string) {
	s.helper()
	s.mustRun("add-user", addr)
}

// StopIMAP stops the IMAP server and ends the sessions it served, as an
// outage would; mail keeps being delivered to the mailboxes meanwhile.
// StartIMAP starts it again on the same port.
func (s *Servers) StopIMAP() {
	s.helper()
	s.mustRun("stop-imap")
}

// StartIMAP starts the IMAP server stopped by StopIMAP, on the same port.
func (s *Servers) StartIMAP() {
	s.helper()
	s.mustRun("start-imap")
}

// StopSMTP stops Postfix: the SMTP port refuses connections and nothing is
// delivered.  Mail already queued is delivered after StartSMTP.
func (s *Servers) StopSMTP() {
	s.helper()
	s.mustRun("stop-smtp")
}

// StartSMTP starts Postfix stopped by StopSMTP, on the same port.
func (s *Servers) StartSMTP() {
	s.helper()
	s.mustRun("start-smtp")
}

// Send submits raw (a full RFC 5322 message, CRLF line ends preferred) to
// Postfix over SMTP with the given envelope.
func (s *Servers) Send(t testing.TB, from string, to []string, raw []byte) {
	t.Helper()
	if err := s.send(from, to, raw); err != nil {
		t.Fatalf("realmail: sending from %s to %v: %v", from, to, err)
	}
}

func (s *Servers) send(from string, to []string, raw []byte) error {
	conn, err := net.DialTimeout("tcp", s.SMTPAddr, ioTimeout)
	if err != nil {
		return err
	}
	conn.SetDeadline(time.Now().Add(ioTimeout))
	c := smtp.NewClient(conn)
	defer c.Close()
	if err := c.Hello("realmail.test"); err != nil {
		return err
	}
	if err := c.SendMail(from, to, bytes.NewReader(raw)); err != nil {
		return err
	}
	return c.Quit()
}

// Messages returns the full raw messages now in a mailbox of user, in UID
// order.
func (s *Servers) Messages(t testing.TB, user, mailbox string) [][]byte {
	t.Helper()
	msgs, err := s.messages(user, mailbox)
	if err != nil {
		t.Fatalf("realmail: listing %s of %s: %v", mailbox, user, err)
	}
	return msgs
}

// WaitMessages polls a mailbox of user until it holds at least n messages
// and returns them all, in UID order.  It fails the test after timeout.
func (s *Servers) WaitMessages(t testing.TB, user, mailbox string, n int, timeout time.Duration) [][]byte {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs, err := s.messages(user, mailbox)
		if err == nil && len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			if err != nil {
				t.Fatalf("realmail: waiting %v for %d messages in %s of %s: %v", timeout, n, mailbox, user, err)
			}
			t.Fatalf("realmail: waited %v for %d messages in %s of %s, found %d (see %s/log)",
				timeout, n, mailbox, user, len(msgs), s.Dir)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Deliver stores raw straight into a mailbox of user with IMAP APPEND,
// bypassing Postfix (for preloading backlogs).
func (s *Servers) Deliver(t testing.TB, user, mailbox string, raw []byte) {
	t.Helper()
	err := s.withIMAP(user, func(c *imapclient.Client) error {
		cmd := c.Append(mailbox, int64(len(raw)), nil)
		if _, err := cmd.Write(raw); err != nil {
			cmd.Close()
			return err
		}
		if err := cmd.Close(); err != nil {
			return err
		}
		_, err := cmd.Wait()
		return err
	})
	if err != nil {
		t.Fatalf("realmail: appending to %s of %s: %v", mailbox, user, err)
	}
}

func (s *Servers) messages(user, mailbox string) ([][]byte, error) {
	var msgs [][]byte
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
		body := &imap.FetchItemBodySection{Peek: true}
		bufs, err := c.Fetch(all, &imap.FetchOptions{
			UID:         true,
			BodySection: []*imap.FetchItemBodySection{body},
		}).Collect()
		if err != nil {
			return err
		}
		slices.SortFunc(bufs, func(a, b *imapclient.FetchMessageBuffer) int {
			return cmp.Compare(a.UID, b.UID)
		})
		for _, buf := range bufs {
			msgs = append(msgs, buf.FindBodySection(body))
		}
		return nil
	})
	return msgs, err
}

// withIMAP logs in as user, runs f and logs out.
func (s *Servers) withIMAP(user string, f func(*imapclient.Client) error) error {
	conn, err := net.DialTimeout("tcp", s.IMAPAddr, ioTimeout)
	if err != nil {
		return err
	}
	conn.SetDeadline(time.Now().Add(ioTimeout))
	c := imapclient.New(conn, nil)
	defer c.Close()
	if err := c.Login(user, Password).Wait(); err != nil {
		return err
	}
	if err := f(c); err != nil {
		return err
	}
	return c.Logout().Wait()
}
