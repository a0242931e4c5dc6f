package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-smtp"

	"github.com/coordbot/coordbot/mailbot/auth"
	"github.com/coordbot/coordbot/mailbot/config"
	"github.com/coordbot/coordbot/mailbot/desk"
	"github.com/coordbot/coordbot/mailbot/inbox"
	"github.com/coordbot/coordbot/mailbot/keys"
	"github.com/coordbot/coordbot/mailbot/smtpout"
	"github.com/coordbot/coordbot/store"
)

// Timeouts of `check`: shorter than the daemon's, since a person waits.
const (
	checkDialTimeout    = 10 * time.Second
	checkCommandTimeout = 30 * time.Second
	checkTotalTimeout   = 2 * time.Minute
)

// checker prints one line per check ("ok   NAME: note" or "FAIL NAME:
// error") and counts the failures.
type checker struct {
	e      *env
	total  int
	failed int
}

func (c *checker) ok(name, note string) {
	c.total++
	if note != "" {
		name += ": " + note
	}
	fmt.Fprintln(c.e.stdout, "ok   "+oneLine(name))
}

func (c *checker) fail(name string, err error) {
	c.total++
	c.failed++
	fmt.Fprintln(c.e.stdout, "FAIL "+oneLine(name+": "+err.Error()))
}

// cmdCheck validates the configuration, the keys, the store, the IMAP
// mailboxes and the SMTP server, without changing anything unless --create
// is given (then missing IMAP mailboxes are created). It never sends mail.
func cmdCheck(e *env, args []string) error {
	f := newFlags("check")
	create := f.Bool("create", false, "create the IMAP mailboxes that are missing")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("usage: coordbot check [--config FILE] [--create]")
	}
	ctx, cancel := context.WithTimeout(e.ctx, checkTotalTimeout)
	defer cancel()
	c := &checker{e: e}

	path := f.configPath(e)
	cfg, err := config.Load(path)
	if err != nil {
		// Nothing else can be checked without it.
		c.fail("config", err)
		return fmt.Errorf("check: the configuration %s is not valid", path)
	}
	c.ok("config", cfg.Path)

	checkRobotKey(c, cfg)
	checkCoordinatorKeys(c, cfg)
	checkStore(c, cfg)
	if cfg.Bot.TemplateDir != "" {
		checkTemplateDir(c, cfg.Bot.TemplateDir)
	}
	checkIMAP(ctx, c, cfg, *create)
	checkSMTPServer(ctx, c, cfg)

	if c.failed > 0 {
		return fmt.Errorf("check: %d of %d checks failed", c.failed, c.total)
	}
	return nil
}

func checkRobotKey(c *checker, cfg *config.Config) {
	const name = "robot key"
	if _, err := os.Stat(cfg.PGP.KeyFile); errors.Is(err, os.ErrNotExist) {
		c.fail(name, fmt.Errorf("%s missing: run coordbot init", cfg.PGP.KeyFile))
		return
	}
	pass, err := config.Secret(cfg.PGP.PassphraseFile, cfg.PGP.PassphraseEnv)
	if err != nil {
		c.fail(name, fmt.Errorf("passphrase: %w", err))
		return
	}
	k, err := keys.LoadPrivate(cfg.PGP.KeyFile, []byte(pass))
	if err != nil {
		c.fail(name, err)
		return
	}
	fpr := keys.Fingerprint(k)
	// The robot signs with it and vendors encrypt to it.
	if err := keys.Usable(k, time.Now()); err != nil {
		c.fail(name, fmt.Errorf("%s (%s): %w: run coordbot key rotate", fpr, cfg.PGP.KeyFile, err))
		return
	}
	c.ok(name, fpr+" ("+cfg.PGP.KeyFile+")")
}

func checkCoordinatorKeys(c *checker, cfg *config.Config) {
	now := time.Now()
	if len(cfg.Coordinators) == 0 {
		c.fail("coordinator", errors.New("none configured: triage notices and transcripts have nobody to go to"))
	}
	for _, co := range cfg.Coordinators {
		name := "coordinator " + co.Address
		switch {
		case co.KeyFile == "" && co.Fingerprint == "":
			c.ok(name, "no key_file or fingerprint (gets summaries only; command mails are refused)")
			continue
		case co.KeyFile == "":
			c.fail(name, fmt.Errorf("fingerprint %s is set but key_file is not: signatures cannot be verified", co.Fingerprint))
			continue
		}
		pub, err := keys.ReadPublicFile(co.KeyFile, now)
		if err != nil {
			c.fail(name, err)
			continue
		}
		switch {
		case co.Fingerprint == "":
			c.ok(name, pub.Fingerprint+" (no fingerprint configured: command mails are refused)")
		case pub.Fingerprint != co.Fingerprint:
			c.fail(name, fmt.Errorf("key file %s holds %s, the configured fingerprint is %s", co.KeyFile, pub.Fingerprint, co.Fingerprint))
		default:
			c.ok(name, pub.Fingerprint)
		}
	}
	for _, p := range cfg.Priority {
		name := "priority " + p.Address
		pub, err := keys.ReadPublicFile(p.KeyFile, now)
		if err != nil {
			c.fail(name, err)
			continue
		}
		c.ok(name, pub.Fingerprint)
	}
}

// checkStore opens the store read-only. While `serve` holds it, it says so
// and goes on: the daemon checked it when it opened it.
func checkStore(c *checker, cfg *config.Config) {
	const name = "store"
	path := cfg.StorePath()
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		c.ok(name, path+" does not exist yet (coordbot init or serve creates it)")
		return
	}
	st, err := store.Open(path, store.Options{ReadOnly: true, LockTimeout: 500 * time.Millisecond})
	if errors.Is(err, store.ErrLocked) {
		c.ok(name, path+" is in use by coordbot serve (not checked further)")
		return
	}
	if err != nil {
		c.fail(name, err)
		return
	}
	defer st.Close()
	if err := st.Check(); err != nil {
		c.fail(name, fmt.Errorf("%s: consistency check: %w: restore it from a backup", path, err))
		return
	}
	var vendors, cases int
	err = st.View(func(tx *store.Tx) error {
		vs, err := tx.Vendors()
		if err != nil {
			return err
		}
		cs, err := tx.Cases()
		vendors, cases = len(vs), len(cs)
		return err
	})
	if err != nil {
		c.fail(name, fmt.Errorf("%s: %w", path, err))
		return
	}
	c.ok(name, fmt.Sprintf("%s (%d vendors, %d cases)", path, vendors, cases))
}

// checkTemplateDir renders the operator's override templates.
func checkTemplateDir(c *checker, dir string) {
	const name = "templates"
	res, err := checkTemplates(dir)
	if err != nil {
		c.fail(name, err)
		return
	}
	bad := 0
	var first string
	for _, r := range res {
		if r.err != nil {
			if bad == 0 {
				first = r.name + ": " + r.err.Error()
			}
			bad++
		}
	}
	if bad > 0 {
		c.fail(name, fmt.Errorf("%d of %d failed, first %s (see coordbot templates check)", bad, len(res), first))
		return
	}
	c.ok(name, fmt.Sprintf("%s (%d rendered)", dir, len(res)))
}

// checkIMAP logs in and looks for the four mailboxes.
func checkIMAP(ctx context.Context, c *checker, cfg *config.Config, create bool) {
	ic, err := desk.IMAPConfig(cfg)
	if err != nil {
		c.fail("imap", err)
		return
	}
	ic.DialTimeout, ic.CommandTimeout = checkDialTimeout, checkCommandTimeout
	cl, err := inbox.Dial(ctx, ic, nil)
	if err != nil {
		c.fail("imap", err)
		return
	}
	defer cl.Close()
	c.ok("imap", fmt.Sprintf("%s as %s (security %s)", ic.Address, ic.Username, ic.Security))

	boxes := []struct{ key, name string }{
		{"imap.mailbox", cfg.IMAP.Mailbox},
		{"imap.processed_mailbox", cfg.IMAP.ProcessedMailbox},
		{"imap.quarantine_mailbox", cfg.IMAP.QuarantineMailbox},
	}
	if cfg.SMTP.SentMailbox != "" {
		boxes = append(boxes, struct{ key, name string }{"smtp.sent_mailbox", cfg.SMTP.SentMailbox})
	}
	for _, b := range boxes {
		name := fmt.Sprintf("%s %q", b.key, b.name)
		_, err := cl.Select(b.name)
		if err == nil {
			c.ok(name, "")
			continue
		}
		if !isMissingMailbox(err) {
			c.fail(name, err)
			continue
		}
		if !create {
			c.fail(name, fmt.Errorf("missing (coordbot check --create creates it): %w", err))
			continue
		}
		if err := cl.Ensure(b.name); err != nil {
			c.fail(name, fmt.Errorf("create: %w", err))
			continue
		}
		if _, err := cl.Select(b.name); err != nil {
			c.fail(name, fmt.Errorf("created, but: %w", err))
			continue
		}
		c.ok(name, "created")
	}
}

// isMissingMailbox: the server refused SELECT with NO, which is how servers
// answer for a mailbox that does not exist (some say [NONEXISTENT] or
// [TRYCREATE], some nothing).
func isMissingMailbox(err error) bool {
	var ie *imap.Error
	if !errors.As(err, &ie) || ie.Type != imap.StatusResponseTypeNo {
		return false
	}
	switch ie.Code {
	case "", imap.ResponseCodeNonExistent, imap.ResponseCodeTryCreate:
		return true
	}
	return false
}

// checkSMTPServer greets the submission server and authenticates (with
// smtp.auth's mechanism, PLAIN by default), then says QUIT: no MAIL FROM,
// nothing is sent.
func checkSMTPServer(ctx context.Context, c *checker, cfg *config.Config) {
	sc, err := desk.SMTPConfig(cfg)
	if err != nil {
		c.fail("smtp", err)
		return
	}
	note, err := greetSMTP(ctx, sc)
	if err != nil {
		c.fail("smtp", err)
		return
	}
	c.ok("smtp", note)
}

func greetSMTP(ctx context.Context, sc smtpout.Config) (note string, err error) {
	if err := sc.Validate(); err != nil {
		return "", err
	}
	host, _, _ := net.SplitHostPort(sc.Address)
	tlsCfg := &tls.Config{}
	if sc.TLSConfig != nil {
		tlsCfg = sc.TLSConfig.Clone() // smtp.ca_file
	}
	if tlsCfg.ServerName == "" {
		tlsCfg.ServerName = host
	}
	if tlsCfg.MinVersion == 0 {
		tlsCfg.MinVersion = tls.VersionTLS12
	}
	ctx, cancel := context.WithTimeout(ctx, checkDialTimeout+3*checkCommandTimeout)
	defer cancel()

	d := &net.Dialer{Timeout: checkDialTimeout}
	var nc net.Conn
	if sc.Security == smtpout.SecurityTLS {
		nc, err = (&tls.Dialer{NetDialer: d, Config: tlsCfg}).DialContext(ctx, "tcp", sc.Address)
	} else {
		nc, err = d.DialContext(ctx, "tcp", sc.Address)
	}
	if err != nil {
		return "", fmt.Errorf("dial %s: %w", sc.Address, err)
	}
	defer nc.Close()
	// go-smtp takes no context: closing the socket ends a stuck command.
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	timedOut := func(err error) error {
		if ctx.Err() != nil {
			return fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		return err
	}

	var cl *smtp.Client
	if sc.Security == smtpout.SecurityStartTLS {
		if cl, err = smtp.NewClientStartTLS(nc, tlsCfg); err != nil {
			return "", timedOut(fmt.Errorf("%s: greeting, ehlo or starttls: %w", sc.Address, err))
		}
	} else {
		cl = smtp.NewClient(nc)
	}
	cl.CommandTimeout = checkCommandTimeout
	hello := sc.HelloName
	if hello == "" {
		hello = smtpout.DefaultHelloName
	}
	if err := cl.Hello(hello); err != nil {
		return "", timedOut(fmt.Errorf("%s: ehlo %s: %w", sc.Address, hello, err))
	}
	state, isTLS := cl.TLSConnectionState()
	if sc.Security != smtpout.SecurityNone && !isTLS {
		return "", fmt.Errorf("%s: tls not established", sc.Address)
	}
	var parts []string
	parts = append(parts, sc.Address, "security "+sc.Security)
	if isTLS {
		parts = append(parts, tls.VersionName(state.Version))
	}
	parts = append(parts, "ehlo "+hello)
	if sc.Username != "" {
		if !isTLS && !config.IsLoopback(host) {
			return "", fmt.Errorf("%s: auth refused over an unencrypted connection", sc.Address)
		}
		if ok, _ := cl.Extension("AUTH"); !ok {
			return "", fmt.Errorf("%s: server offers no AUTH, but smtp.username is set", sc.Address)
		}
		mech := auth.MechName(sc.Auth)
		if !cl.SupportsAuth(mech) {
			return "", fmt.Errorf("%s: server does not offer AUTH %s", sc.Address, mech)
		}
		secret := sc.Password
		if sc.Auth == auth.XOAUTH2 {
			if sc.Token == nil {
				return "", fmt.Errorf("%s: xoauth2 without a token source", sc.Address)
			}
			if secret, err = sc.Token(); err != nil {
				return "", err
			}
		}
		client, err := auth.Client(sc.Auth, sc.Username, secret)
		if err != nil {
			return "", err
		}
		if err := cl.Auth(client); err != nil {
			return "", timedOut(fmt.Errorf("%s: auth %s as %s: %w", sc.Address, mech, sc.Username, err))
		}
		parts = append(parts, "auth "+mech+" as "+sc.Username)
	} else {
		parts = append(parts, "no auth")
	}
	if err := cl.Quit(); err != nil {
		return "", timedOut(fmt.Errorf("%s: quit: %w", sc.Address, err))
	}
	return strings.Join(parts, ", "), nil
}
