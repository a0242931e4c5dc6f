package main

// Mail server helpers: waiting for Postfix and the robot's INBOX, SMTP
// sessions with timing, maildir counts, gpg.

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// waitQueueEmpty waits until Postfix has delivered everything it accepted,
// so that a measurement does not share the machine with earlier deliveries.
func waitQueueEmpty(ctx context.Context, o *options, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		n, err := o.srv.QueueLen()
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("Postfix still holds %d messages after %v", n, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitCount waits until a mailbox of user holds want messages.
func waitCount(ctx context.Context, o *options, user, mailbox string, want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		n, err := o.srv.MessageCount(user, mailbox)
		if err != nil {
			return err
		}
		if n == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s of %s holds %d messages after %v, want %d", mailbox, user, n, timeout, want)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// maildirCount counts the messages delivered to user's INBOX, from the
// maildir (no IMAP session per user).
func maildirCount(o *options, user string) (int, error) {
	local, domain, _ := strings.Cut(strings.ToLower(user), "@")
	n := 0
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(o.srv.MaildirRoot, domain, local, "Maildir", sub))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return 0, err
		}
		for _, e := range ents {
			if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
				n++
			}
		}
	}
	return n, nil
}

// maildirMessages reads user's delivered messages (oldest name first)
// straight from the maildir, with CRLF line ends as on the wire.
func maildirMessages(o *options, user string) ([][]byte, error) {
	local, domain, _ := strings.Cut(strings.ToLower(user), "@")
	var out [][]byte
	for _, sub := range []string{"cur", "new"} {
		dir := filepath.Join(o.srv.MaildirRoot, domain, local, "Maildir", sub)
		ents, err := os.ReadDir(dir)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				return nil, err
			}
			b = bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
			out = append(out, b)
		}
	}
	return out, nil
}

// smtpSession is one SMTP connection to Postfix, reused for many messages
// as coordbot's sender reuses its connection.
type smtpSession struct {
	c *smtp.Client
}

func dialSMTP(addr string) (*smtpSession, error) {
	conn, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		return nil, err
	}
	c := smtp.NewClient(conn)
	c.CommandTimeout = time.Minute
	c.SubmissionTimeout = 5 * time.Minute
	if err := c.Hello("coordbench.test"); err != nil {
		c.Close()
		return nil, err
	}
	return &smtpSession{c: c}, nil
}

// send runs one mail transaction and returns when the server has accepted
// the message (the reply to the final dot).
func (s *smtpSession) send(from string, to []string, raw []byte) error {
	if err := s.c.Mail(from, &smtp.MailOptions{Size: int64(len(raw))}); err != nil {
		return err
	}
	for _, r := range to {
		if err := s.c.Rcpt(r, nil); err != nil {
			return err
		}
	}
	w, err := s.c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(raw); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

func (s *smtpSession) close() {
	if s.c.Quit() != nil {
		s.c.Close()
	}
}

// percentile is the nearest-rank percentile of ds (sorted in place).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	rank := int(p/100*float64(len(ds))+0.999999) - 1
	return ds[min(max(rank, 0), len(ds)-1)]
}

func ms(d time.Duration) float64 { return round2(float64(d) / float64(time.Millisecond)) }

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return round2(float64(n) / d.Seconds())
}

// gpgHome is a throwaway GNUPGHOME for a baseline, directly under /tmp
// (gpg-agent's socket path must stay short).
type gpgHome struct{ dir string }

func newGPGHome() (*gpgHome, error) {
	if _, err := exec.LookPath("gpg"); err != nil {
		return nil, fmt.Errorf("gpg not found (install gnupg): %w", err)
	}
	dir, err := os.MkdirTemp("/tmp", "cbg")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, err
	}
	return &gpgHome{dir: dir}, nil
}

// close stops the home's gpg-agent and removes it.
func (g *gpgHome) close() {
	exec.Command("gpgconf", "--homedir", g.dir, "--kill", "all").Run()
	os.RemoveAll(g.dir)
}

// run runs gpg in batch mode with status lines on stderr's side channel
// (--status-fd 2 would mix them with messages, so a status file is used).
func (g *gpgHome) run(ctx context.Context, stdin []byte, args ...string) (stdout []byte, status string, err error) {
	statusFile := filepath.Join(g.dir, "status.txt")
	base := []string{"--homedir", g.dir, "--batch", "--no-tty", "--yes", "--quiet", "--trust-model", "always",
		"--pinentry-mode", "loopback", "--passphrase", "", "--status-file", statusFile}
	cmd := exec.CommandContext(ctx, "gpg", append(base, args...)...)
	var ob, eb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &ob, &eb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	err = cmd.Run()
	st, _ := os.ReadFile(statusFile)
	if err != nil {
		err = fmt.Errorf("gpg %s: %v\n%s\n%s", strings.Join(args, " "), err, st, tail(eb.String(), 10))
	}
	return ob.Bytes(), string(st), err
}

// importKeys imports armored keys (many in one file is fine).
func (g *gpgHome) importKeys(ctx context.Context, armored []byte) error {
	path := filepath.Join(g.dir, "import.asc")
	if err := os.WriteFile(path, armored, 0o600); err != nil {
		return err
	}
	_, status, err := g.run(ctx, nil, "--import", path)
	if err == nil && !strings.Contains(status, "IMPORT_OK") {
		err = fmt.Errorf("gpg --import: nothing imported\n%s", status)
	}
	return err
}
