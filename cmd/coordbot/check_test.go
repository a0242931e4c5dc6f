package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/coordbot/coordbot/mailbot/devmail"
	"github.com/coordbot/coordbot/mailbot/keys"
	"github.com/coordbot/coordbot/mailbot/smtpout"
	"github.com/coordbot/coordbot/store"
)

// lockedBuffer is an io.Writer that goroutines may share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runCmd runs one command line in-process, as the binary would.
func runCmd(t *testing.T, ctx context.Context, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb lockedBuffer
	e := &env{ctx: ctx, stdin: strings.NewReader(""), stdout: &out, stderr: &errb, cwd: dir}
	code = run(e, args)
	return out.String(), errb.String(), code
}

const (
	checkBot      = "robot@cert.example"
	checkCoord    = "coord@cert.example"
	checkPassword = "s3cret"
)

// checkSetup is a robot installation over devmail servers.
type checkSetup struct {
	dir, cfg string
	srv      *devmail.Servers
	coordFpr string
}

// newCheckSetup starts devmail, writes the robot key, a coordinator key
// and the password files. The config is written by write.
func newCheckSetup(t *testing.T) *checkSetup {
	t.Helper()
	srv, err := devmail.Start(map[string]string{checkBot: checkPassword, checkCoord: "other"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	s := &checkSetup{dir: t.TempDir(), srv: srv}
	s.cfg = filepath.Join(s.dir, "coordbot.toml")
	now := time.Now().Add(-time.Hour)
	robot, err := keys.Generate("robot", checkBot, keys.GenOptions{}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.WritePrivate(filepath.Join(s.dir, "data", "robot.asc"), robot, []byte("key pass")); err != nil {
		t.Fatal(err)
	}
	coord, err := keys.Generate("coord", checkCoord, keys.GenOptions{}, now)
	if err != nil {
		t.Fatal(err)
	}
	arm, err := keys.ArmoredPublic(coord)
	if err != nil {
		t.Fatal(err)
	}
	s.coordFpr = keys.Fingerprint(coord)
	for name, content := range map[string]string{
		"coord.asc": string(arm), "imap.pw": checkPassword + "\n", "smtp.pw": checkPassword + "\n",
		"wrong.pw": "not the password\n", "key.pass": "key pass\n",
	} {
		if err := os.WriteFile(filepath.Join(s.dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// checkOpts vary the configuration.
type checkOpts struct {
	imapPW, smtpPW string // password file names (default the right ones)
	processed      string // processed_mailbox
	coordFpr       string // coordinator fingerprint (default the key's)
	templateDir    string
	extra          string
}

func (s *checkSetup) write(t *testing.T, o checkOpts) {
	t.Helper()
	if o.imapPW == "" {
		o.imapPW = "imap.pw"
	}
	if o.smtpPW == "" {
		o.smtpPW = "smtp.pw"
	}
	if o.processed == "" {
		o.processed = devmail.Processed
	}
	if o.coordFpr == "" {
		o.coordFpr = s.coordFpr
	}
	text := fmt.Sprintf(`[bot]
address = %q
data_dir = "data"
template_dir = %q
[imap]
address = %q
security = "none"
password_file = %q
processed_mailbox = %q
[smtp]
address = %q
security = "none"
username = %q
password_file = %q
sent_mailbox = "Sent"
[pgp]
passphrase_file = "key.pass"
[[coordinator]]
address = %q
fingerprint = %q
key_file = "coord.asc"
%s`, checkBot, o.templateDir, s.srv.IMAPAddr, o.imapPW, o.processed, s.srv.SMTPAddr, checkBot, o.smtpPW,
		checkCoord, o.coordFpr, o.extra)
	if err := os.WriteFile(s.cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (s *checkSetup) check(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return runCmd(t, context.Background(), s.dir, append([]string{"check", "--config", s.cfg}, args...)...)
}

// checkLines asserts the report's form: one "ok   " or "FAIL " line per
// check, and returns the failed ones.
func checkLines(t *testing.T, out string) (fails []string) {
	t.Helper()
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "ok   "):
		case strings.HasPrefix(l, "FAIL "):
			fails = append(fails, l)
		default:
			t.Errorf("malformed report line %q", l)
		}
	}
	return fails
}

func oneStderrLine(t *testing.T, errs string) {
	t.Helper()
	if strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, "coordbot: ") {
		t.Errorf("stderr is not one line: %q", errs)
	}
}

func TestCheckAllOK(t *testing.T) {
	s := newCheckSetup(t)
	s.write(t, checkOpts{})
	out, errs, code := s.check(t)
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q\n%s", code, errs, out)
	}
	if fails := checkLines(t, out); len(fails) > 0 {
		t.Fatalf("failures: %q", fails)
	}
	for _, want := range []string{
		"ok   config: " + s.cfg,
		"ok   robot key: ",
		"ok   coordinator " + checkCoord + ": " + s.coordFpr,
		"ok   store: ", "does not exist yet",
		"ok   imap: " + s.srv.IMAPAddr + " as " + checkBot,
		`ok   imap.mailbox "INBOX"`, `ok   imap.processed_mailbox "Processed"`,
		`ok   imap.quarantine_mailbox "Quarantine"`, `ok   smtp.sent_mailbox "Sent"`,
		"ok   smtp: " + s.srv.SMTPAddr, "auth PLAIN as " + checkBot,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	// Nothing was sent.
	if st := s.srv.SMTPStats(); st.Transactions != 0 || st.Connections != 1 {
		t.Errorf("smtp stats %+v: want one connection and no transaction", st)
	}

	// An existing store is opened and counted; one held by serve is
	// reported as such, and the check goes on.
	st, err := store.Open(filepath.Join(s.dir, "data", store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, errs, code = s.check(t)
	if code != 0 || !strings.Contains(out, "is in use by coordbot serve") || !strings.Contains(out, "ok   smtp: ") {
		t.Fatalf("locked store: exit %d %s\n%s", code, errs, out)
	}
	st.Close()
	out, _, code = s.check(t)
	if code != 0 || !strings.Contains(out, "(0 vendors, 0 cases)") {
		t.Fatalf("store: exit %d\n%s", code, out)
	}
}

func TestCheckWrongPasswords(t *testing.T) {
	s := newCheckSetup(t)
	s.write(t, checkOpts{imapPW: "wrong.pw"})
	out, errs, code := s.check(t)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	oneStderrLine(t, errs)
	if !strings.Contains(errs, "1 of ") {
		t.Errorf("stderr %q", errs)
	}
	fails := checkLines(t, out)
	if len(fails) != 1 || !regexp.MustCompile(`^FAIL imap: inbox: login to \S+: inbox: login refused: `).MatchString(fails[0]) {
		t.Fatalf("failures %q\n%s", fails, out)
	}
	// Without a login, the mailboxes are not looked at; SMTP still is.
	if strings.Contains(out, "imap.mailbox") || !strings.Contains(out, "ok   smtp: ") {
		t.Errorf("report:\n%s", out)
	}

	s.write(t, checkOpts{smtpPW: "wrong.pw"})
	out, errs, code = s.check(t)
	fails = checkLines(t, out)
	if code != 1 || len(fails) != 1 || !strings.HasPrefix(fails[0], "FAIL smtp: "+s.srv.SMTPAddr+": auth PLAIN as "+checkBot+": ") {
		t.Fatalf("exit %d %s, failures %q\n%s", code, errs, fails, out)
	}
	if st := s.srv.SMTPStats(); st.Transactions != 0 {
		t.Errorf("check sent mail: %+v", st)
	}

	s.write(t, checkOpts{imapPW: "no-such-file"})
	out, _, code = s.check(t)
	if fails := checkLines(t, out); code != 1 || len(fails) != 1 || !strings.HasPrefix(fails[0], "FAIL imap: imap password: read secret: ") {
		t.Fatalf("exit %d, failures %q", code, fails)
	}
}

func TestCheckMissingMailbox(t *testing.T) {
	s := newCheckSetup(t)
	s.write(t, checkOpts{processed: "Done"})
	out, errs, code := s.check(t)
	fails := checkLines(t, out)
	if code != 1 || len(fails) != 1 || !strings.HasPrefix(fails[0], `FAIL imap.processed_mailbox "Done": missing (coordbot check --create creates it): `) {
		t.Fatalf("exit %d %s, failures %q\n%s", code, errs, fails, out)
	}
	oneStderrLine(t, errs)

	out, errs, code = s.check(t, "--create")
	if fails := checkLines(t, out); code != 0 || len(fails) != 0 || !strings.Contains(out, `ok   imap.processed_mailbox "Done": created`) {
		t.Fatalf("--create: exit %d %s\n%s", code, errs, out)
	}
	// The mailbox is there now; a delivered message can be read from it.
	if err := s.srv.Deliver(checkBot, "Done", []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	out, _, code = s.check(t)
	if code != 0 || !strings.Contains(out, `ok   imap.processed_mailbox "Done"`+"\n") {
		t.Fatalf("after --create: exit %d\n%s", code, out)
	}
}

func TestCheckKeysAndConfig(t *testing.T) {
	s := newCheckSetup(t)
	s.write(t, checkOpts{coordFpr: strings.Repeat("AB", 20)})
	out, _, code := s.check(t)
	fails := checkLines(t, out)
	if code != 1 || len(fails) != 1 || !strings.Contains(fails[0], "FAIL coordinator "+checkCoord+": key file ") ||
		!strings.Contains(fails[0], "holds "+s.coordFpr) {
		t.Fatalf("fingerprint mismatch: exit %d, failures %q", code, fails)
	}

	// A wrong passphrase for the robot key.
	s.write(t, checkOpts{})
	os.WriteFile(filepath.Join(s.dir, "key.pass"), []byte("wrong\n"), 0o600)
	out, _, code = s.check(t)
	fails = checkLines(t, out)
	if code != 1 || len(fails) != 1 || !strings.HasPrefix(fails[0], "FAIL robot key: keys: unlock ") {
		t.Fatalf("passphrase: exit %d, failures %q", code, fails)
	}
	os.WriteFile(filepath.Join(s.dir, "key.pass"), []byte("key pass\n"), 0o600)

	// A broken override template folder is reported by check too.
	tdir := filepath.Join(s.dir, "tmpl")
	os.MkdirAll(filepath.Join(tdir, "en"), 0o755)
	os.WriteFile(filepath.Join(tdir, "en", "ack.tmpl"), []byte(`{{define "subject"}}Ack{{end}}{{define "body"}}{{.Nope}}{{end}}`), 0o600)
	s.write(t, checkOpts{templateDir: "tmpl"})
	out, _, code = s.check(t)
	fails = checkLines(t, out)
	if code != 1 || len(fails) != 1 || !strings.HasPrefix(fails[0], "FAIL templates: 1 of ") || !strings.Contains(fails[0], "en/ack") {
		t.Fatalf("templates: exit %d, failures %q", code, fails)
	}

	// An invalid config stops at the first line.
	s.write(t, checkOpts{extra: "[log]\nlevel = \"loud\"\n"})
	out, errs, code := s.check(t)
	if code != 1 || !strings.HasPrefix(out, "FAIL config: ") || strings.Count(out, "\n") != 1 ||
		!strings.Contains(out, `log.level: "loud" is not one of`) {
		t.Fatalf("bad config: exit %d\n%s", code, out)
	}
	oneStderrLine(t, errs)

	// Usage errors exit 2.
	if _, errs, code := s.check(t, "extra"); code != 2 {
		t.Fatalf("usage: exit %d %s", code, errs)
	}
}

// TestCheckDeployFiles reads the Dockerfile and the systemd unit for what
// operators rely on (no Docker or systemd runs here).
func TestCheckDeployFiles(t *testing.T) {
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join("..", "..", p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	unit := read("configs/coordbot.service")
	for _, re := range []string{
		`(?m)^ExecStart=/usr/local/bin/coordbot serve --config /etc/coordbot/coordbot\.toml$`,
		`(?m)^User=coordbot$`, `(?m)^StateDirectory=coordbot$`, `(?m)^ConfigurationDirectory=coordbot$`,
		`(?m)^LoadCredential=imap:`, `(?m)^LoadCredential=smtp:`, `(?m)^NoNewPrivileges=yes$`,
		`(?m)^ProtectSystem=strict$`, `(?m)^ProtectHome=yes$`, `(?m)^PrivateTmp=yes$`,
		`(?m)^RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6$`, `(?m)^Restart=on-failure$`,
		`(?m)^KillSignal=SIGTERM$`, `(?m)^TimeoutStopSec=30$`, `(?m)^WantedBy=multi-user\.target$`,
	} {
		if !regexp.MustCompile(re).MatchString(unit) {
			t.Errorf("coordbot.service lacks %s", re)
		}
	}
	docker := read("Dockerfile")
	users := regexp.MustCompile(`(?m)^USER\s+(\S+)`).FindAllStringSubmatch(docker, -1)
	if len(users) == 0 || users[len(users)-1][1] == "root" || users[len(users)-1][1] == "0" || strings.HasPrefix(users[len(users)-1][1], "0:") {
		t.Errorf("Dockerfile: the runtime stage must end with a non-root USER, got %v", users)
	}
	for _, re := range []string{
		`(?m)^FROM golang:\S+ AS build$`, `CGO_ENABLED=0`, `-trimpath`, `-X main\.version=`,
		`(?m)^ENV COORDBOT_CONFIG=/etc/coordbot/coordbot\.toml$`, `(?m)^VOLUME \["/var/lib/coordbot"\]$`,
		`(?m)^ENTRYPOINT \["coordbot"\]$`, `(?m)^CMD \["serve"\]$`, `tzdata`, `ca-certificates`,
	} {
		if !regexp.MustCompile(re).MatchString(docker) {
			t.Errorf("Dockerfile lacks %s", re)
		}
	}
	ignore := read(".dockerignore")
	for _, want := range []string{".git", "*.db"} {
		if !strings.Contains(ignore, want) {
			t.Errorf(".dockerignore lacks %s", want)
		}
	}
}

// tlsSMTPSession is a submission server session that accepts one user
// and refuses every transaction (check must never start one).
type tlsSMTPSession struct{ authed bool }

func (s *tlsSMTPSession) Reset()        {}
func (s *tlsSMTPSession) Logout() error { return nil }
func (s *tlsSMTPSession) Mail(string, *smtp.MailOptions) error {
	return &smtp.SMTPError{Code: 554, Message: "check must not send"}
}
func (s *tlsSMTPSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *tlsSMTPSession) Data(io.Reader) error                 { return nil }
func (s *tlsSMTPSession) AuthMechanisms() []string             { return []string{sasl.Plain} }
func (s *tlsSMTPSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != checkBot || pass != checkPassword {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}

type tlsSMTPBackend struct{}

func (tlsSMTPBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &tlsSMTPSession{}, nil }

// TestCheckSMTPTLS greets STARTTLS and implicit-TLS servers with a
// private CA: refused without smtp.ca_file's pool, accepted with it.
func TestCheckSMTPTLS(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mail.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	serverTLS := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	pool := x509.NewCertPool()
	pool.AddCert(cert)

	for _, security := range []string{smtpout.SecurityStartTLS, smtpout.SecurityTLS} {
		t.Run(security, func(t *testing.T) {
			srv := smtp.NewServer(tlsSMTPBackend{})
			srv.Domain = "mail.test"
			srv.TLSConfig = serverTLS
			srv.ErrorLog = log.New(io.Discard, "", 0)
			var ln net.Listener
			var err error
			if security == smtpout.SecurityTLS {
				ln, err = tls.Listen("tcp", "127.0.0.1:0", serverTLS)
			} else {
				ln, err = net.Listen("tcp", "127.0.0.1:0")
			}
			if err != nil {
				t.Fatal(err)
			}
			go srv.Serve(ln)
			defer srv.Close()
			sc := smtpout.Config{Address: ln.Addr().String(), Security: security, Username: checkBot, Password: checkPassword, HelloName: "cert.example"}

			// The system roots do not know the private CA.
			if _, err := greetSMTP(context.Background(), sc); err == nil || !strings.Contains(err.Error(), "certificate") {
				t.Fatalf("untrusted certificate: %v", err)
			}
			sc.TLSConfig = &tls.Config{RootCAs: pool}
			note, err := greetSMTP(context.Background(), sc)
			if err != nil || !strings.Contains(note, "TLS 1.3") || !strings.Contains(note, "auth PLAIN as "+checkBot) {
				t.Fatalf("note %q, err %v", note, err)
			}
			sc.Password = "wrong"
			if _, err := greetSMTP(context.Background(), sc); err == nil || !strings.Contains(err.Error(), "auth PLAIN as "+checkBot) {
				t.Fatalf("wrong password: %v", err)
			}
		})
	}
}
