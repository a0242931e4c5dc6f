package main

// One coordbot installation per phase, driven through its command line.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/coordbot/coordbot/internal/realmail"
)

// botAddr is the robot's mailbox, a default user of realmail.
const botAddr = "vultures@cert.example"

// smtpConnections reads whether the example config documents
// smtp.connections, and its value there.
func smtpConnections(root string) (int, bool) {
	var ex map[string]any
	if _, err := toml.DecodeFile(filepath.Join(root, "configs", "coordbot.example.toml"), &ex); err != nil {
		return 1, false
	}
	smtp, _ := ex["smtp"].(map[string]any)
	v, ok := smtp["connections"].(int64)
	if !ok {
		return 1, false
	}
	return max(int(v), 1), true
}

// robot is one coordbot data folder and config.
type robot struct {
	o   *options
	dir string
	cfg string
	// smtpAddr is where the config sends mail; limitBytes, when > 0, is
	// written as limits.max_message_bytes.
	smtpAddr   string
	limitBytes int64
	// fpr and pub are the robot key's fingerprint and armored public key.
	fpr string
	pub []byte
	ent *openpgp.Entity // parsed pub
}

// newRobot writes the config of a fresh robot in workDir/name and runs
// coordbot init and key export.
func newRobot(ctx context.Context, o *options, name string, limitBytes int64) (*robot, error) {
	r := &robot{o: o, dir: filepath.Join(o.workDir, name), smtpAddr: o.srv.SMTPAddr, limitBytes: limitBytes}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(r.dir, "imap.pw"), []byte(realmail.Password+"\n"), 0o600); err != nil {
		return nil, err
	}
	r.cfg = filepath.Join(r.dir, "coordbot.toml")
	if err := r.writeConfig(); err != nil {
		return nil, err
	}
	out, err := r.run(ctx, "init")
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	r.fpr = strings.TrimSpace(lines[len(lines)-1])
	if len(r.fpr) != 40 {
		return nil, fmt.Errorf("coordbot init: last line %q is not a fingerprint", r.fpr)
	}
	pub, err := r.run(ctx, "key", "export")
	if err != nil {
		return nil, err
	}
	r.pub = []byte(pub)
	el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(r.pub))
	if err != nil || len(el) != 1 {
		return nil, fmt.Errorf("coordbot key export: %d keys, %v", len(el), err)
	}
	r.ent = el[0]
	return r, nil
}

// writeConfig writes the config: the realmail IMAP mailbox, SMTP at
// r.smtpAddr, one coordinator, JSON logs at info level, the admin socket in
// the folder.
func (r *robot) writeConfig() error {
	conns := ""
	if r.o.smtpConnsKey {
		conns = fmt.Sprintf("connections = %d\n", r.o.smtpConns)
	}
	limits := ""
	if r.limitBytes > 0 {
		limits = fmt.Sprintf("[limits]\nmax_message_bytes = %d\n", r.limitBytes)
	}
	text := fmt.Sprintf(`[bot]
address = %q
data_dir = %q
[imap]
address = %q
security = "none"
password_file = %q
[smtp]
address = %q
security = "none"
username = ""
sent_mailbox = "Sent"
%s[[coordinator]]
address = "coord@cert.example"
[policy]
auto_send_detail = false
%s[admin]
socket = %q
[log]
format = "json"
level = "info"
`, botAddr, filepath.Join(r.dir, "data"), r.o.srv.IMAPAddr, filepath.Join(r.dir, "imap.pw"), r.smtpAddr, conns, limits,
		filepath.Join(r.dir, "admin.sock"))
	return os.WriteFile(r.cfg, []byte(text), 0o600)
}

// setSMTP points the config's SMTP at addr (for the next process started).
func (r *robot) setSMTP(addr string) error {
	r.smtpAddr = addr
	return r.writeConfig()
}

// keyFile is the robot's secret key, as init wrote it.
func (r *robot) keyFile() string { return filepath.Join(r.dir, "data", "robot.asc") }

// childEnv is the environment of coordbot processes: no config or
// passphrase from the caller's environment (COORDBOT_CPUPROFILE passes, to
// profile the runs).
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "COORDBOT_") && !strings.HasPrefix(kv, "COORDBOT_CPUPROFILE=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func (r *robot) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, r.o.bin, append(args, "--config", r.cfg)...)
	cmd.Env = childEnv()
	cmd.Dir = r.dir
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// run runs one coordbot command and returns its stdout; the error carries
// stderr.
func (r *robot) run(ctx context.Context, args ...string) (string, error) {
	cmd := r.command(ctx, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("coordbot %s: %v\n%s", shortArgs(args), err, tail(errb.String(), 20))
	}
	return out.String(), nil
}

// poll runs coordbot poll --once and returns its log lines.
func (r *robot) poll(ctx context.Context) ([]logLine, error) {
	lines, _, err := r.pollWith(ctx, false)
	return lines, err
}

// pollRSS is poll that also returns the peak resident memory of the
// process in KiB (see rss.go).
func (r *robot) pollRSS(ctx context.Context) ([]logLine, int64, error) {
	return r.pollWith(ctx, true)
}

func (r *robot) pollWith(ctx context.Context, rss bool) ([]logLine, int64, error) {
	cmd := r.command(ctx, "poll", "--once")
	var readRSS func() (int64, error)
	if rss {
		var err error
		if readRSS, err = wrapForRSS(cmd, r.dir); err != nil {
			return nil, 0, err
		}
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r.appendLog("poll", errb.Bytes())
	if err != nil {
		return nil, 0, fmt.Errorf("coordbot poll --once: %v\n%s", err, tail(errb.String(), 20))
	}
	var kib int64
	if rss {
		if kib, err = readRSS(); err != nil {
			return nil, 0, err
		}
	}
	return parseLog(errb.Bytes()), kib, nil
}

// appendLog keeps a process's log in the phase folder.
func (r *robot) appendLog(what string, data []byte) {
	f, err := os.OpenFile(filepath.Join(r.dir, "coordbot.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "==== %s %s\n", what, time.Now().Format(time.RFC3339Nano))
	f.Write(data)
}

func shortArgs(args []string) string {
	if len(args) > 6 {
		return strings.Join(args[:6], " ") + fmt.Sprintf(" ... (%d arguments)", len(args))
	}
	return strings.Join(args, " ")
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// logLine is one JSON log line of coordbot (log.format = "json").
type logLine struct {
	Time    time.Time `json:"time"`
	Level   string    `json:"level"`
	Msg     string    `json:"msg"`
	Case    string    `json:"case"`
	Vendor  string    `json:"vendor"`
	Kind    string    `json:"kind"`
	Outcome string    `json:"outcome"`
	Reason  string    `json:"reason"`
	Dest    string    `json:"dest"`
	Err     string    `json:"err"`
	// Recv is when coordbench read the line (serve only).
	Recv time.Time `json:"-"`
	Raw  string    `json:"-"`
}

func parseLogLine(text string) (logLine, bool) {
	var l logLine
	if !strings.HasPrefix(text, "{") || json.Unmarshal([]byte(text), &l) != nil {
		return logLine{Raw: text}, false
	}
	l.Raw = text
	return l, true
}

func parseLog(data []byte) []logLine {
	var out []logLine
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		if l, ok := parseLogLine(sc.Text()); ok {
			out = append(out, l)
		}
	}
	return out
}

// serveProc is one running coordbot serve, its log read as it comes.
type serveProc struct {
	r    *robot
	cmd  *exec.Cmd
	done chan struct{}
	err  error // after done

	mu      sync.Mutex
	lines   []logLine
	changed chan struct{} // closed and replaced at each new line
	logf    *os.File
}

// startServe starts coordbot serve and waits until its admin socket
// answers.
func (r *robot) startServe(ctx context.Context) (*serveProc, error) {
	s, err := r.startServeNoSocket(ctx)
	if err != nil {
		return nil, err
	}
	// A running daemon: its pinned keys parsed (serve does it at start)
	// and its admin socket answering (a CLI call proves it).
	if _, err := s.scan(ctx, 0, 5*time.Minute, func(l *logLine) bool { return l.Msg == "pinned keys parsed" }); err != nil {
		s.stop()
		return nil, fmt.Errorf("serve did not parse its keys: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := r.run(ctx, "vendor", "list")
		if err == nil {
			return s, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.stop()
			return nil, fmt.Errorf("serve's admin socket does not answer: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startServeNoSocket starts coordbot serve and waits for its "serving"
// line only.
func (r *robot) startServeNoSocket(ctx context.Context) (*serveProc, error) {
	cmd := r.command(ctx, "serve")
	// SIGTERM, not a kill, when ctx ends: serve stops cleanly.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	lf, err := os.OpenFile(filepath.Join(r.dir, "coordbot.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(lf, "==== serve %s\n", time.Now().Format(time.RFC3339Nano))
	s := &serveProc{r: r, cmd: cmd, done: make(chan struct{}), changed: make(chan struct{}), logf: lf}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			text := sc.Text()
			now := time.Now()
			lf.WriteString(text + "\n")
			l, ok := parseLogLine(text)
			if !ok {
				continue
			}
			l.Recv = now
			s.mu.Lock()
			s.lines = append(s.lines, l)
			close(s.changed)
			s.changed = make(chan struct{})
			s.mu.Unlock()
		}
		s.err = cmd.Wait()
		lf.Close()
		close(s.done)
	}()
	if _, err := s.scan(ctx, 0, time.Minute, func(l *logLine) bool { return l.Msg == "serving" }); err != nil {
		s.stop()
		return nil, fmt.Errorf("serve did not start: %w", err)
	}
	return s, nil
}

var errServeExited = errors.New("serve exited")

// scan hands fn every log line from index from on, as they come, until fn
// returns true; it returns the index after that line. It fails after
// timeout, when serve exits or when ctx ends.
func (s *serveProc) scan(ctx context.Context, from int, timeout time.Duration, fn func(l *logLine) bool) (int, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	i := from
	for {
		s.mu.Lock()
		lines, changed := s.lines, s.changed
		s.mu.Unlock()
		for ; i < len(lines); i++ {
			if fn(&lines[i]) {
				return i + 1, nil
			}
		}
		select {
		case <-changed:
		case <-s.done:
			// Lines written before the exit are all in; look at them once more.
			s.mu.Lock()
			lines = s.lines
			s.mu.Unlock()
			for ; i < len(lines); i++ {
				if fn(&lines[i]) {
					return i + 1, nil
				}
			}
			return i, fmt.Errorf("%w (%v); log tail:\n%s", errServeExited, s.err, s.tail(20))
		case <-timer.C:
			return i, fmt.Errorf("timed out after %v; log tail:\n%s", timeout, s.tail(20))
		case <-ctx.Done():
			return i, ctx.Err()
		}
	}
}

// count is the number of log lines so far.
func (s *serveProc) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.lines)
}

// snapshot returns the log lines so far.
func (s *serveProc) snapshot() []logLine {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lines[:len(s.lines):len(s.lines)]
}

func (s *serveProc) tail(n int) string {
	var raw []string
	for _, l := range s.snapshot() {
		raw = append(raw, l.Raw)
	}
	return tail(strings.Join(raw, "\n"), n)
}

// stop sends SIGTERM and waits for a clean exit (kills after 30 s).
func (s *serveProc) stop() error {
	select {
	case <-s.done:
		return s.err
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		if s.err != nil {
			return fmt.Errorf("serve exited with %v after SIGTERM", s.err)
		}
		return nil
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		return errors.New("serve did not stop within 30s of SIGTERM: killed")
	}
}

// progress prints, with -v, a count every few seconds until stop is
// closed.
func progress(o *options, what string, total int, count func() int) (stop func()) {
	if !o.verbose {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				o.logf("%s: %d/%d", what, count(), total)
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
