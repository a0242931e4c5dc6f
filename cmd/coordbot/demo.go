package main

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
	"golang.org/x/text/encoding/japanese"

	"github.com/coordbot/coordbot/mailbot/config"
	"github.com/coordbot/coordbot/mailbot/desk"
	"github.com/coordbot/coordbot/mailbot/devmail"
	"github.com/coordbot/coordbot/mailbot/keys"
	"github.com/coordbot/coordbot/mailbot/logging"
	"github.com/coordbot/coordbot/mailbot/open"
	"github.com/coordbot/coordbot/store"
)

const demoPassword = "demo"

// cmdDemo runs a whole case on embedded IMAP and SMTP servers: vendors,
// a case, overviews, two vendor replies (one in ISO-2022-JP Japanese),
// acknowledgements, and prints the operator log and each vendor's state.
func cmdDemo(e *env, args []string) error {
	f := newFlags("demo")
	keep := f.Bool("keep", false, "keep the temporary folder")
	if _, err := f.parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(e.ctx, 2*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "coordbot-demo-")
	if err != nil {
		return err
	}
	if !*keep {
		defer os.RemoveAll(dir)
	}
	say := func(format string, a ...any) { fmt.Fprintf(e.stdout, "\n== "+format+"\n", a...) }
	log := logging.New(e.stdout, "info", "text")

	const bot, coord = "vultures@cert.example", "coord@cert.example"
	vendors := []desk.VendorInput{
		{ID: "acme", Name: "ACME株式会社", Emails: []string{"psirt@acme.example"}, Lang: "ja", Keywords: []string{"tls", "http"}},
		{ID: "beta", Name: "Beta Networks", Emails: []string{"security@beta.example"}, Lang: "en", Keywords: []string{"tls"}},
	}
	users := map[string]string{bot: demoPassword, coord: demoPassword}
	for _, v := range vendors {
		users[v.Emails[0]] = demoPassword
	}
	say("starting embedded IMAP and SMTP servers")
	srv, err := devmail.Start(users, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintf(e.stdout, "IMAP %s, SMTP %s, folder %s\n", srv.IMAPAddr, srv.SMTPAddr, dir)

	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(pwFile, []byte(demoPassword+"\n"), 0o600); err != nil {
		return err
	}
	cfgText := fmt.Sprintf(`[bot]
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
[[coordinator]]
address = %q
[admin]
socket = %q
`, bot, filepath.Join(dir, "data"), srv.IMAPAddr, pwFile, srv.SMTPAddr, coord, filepath.Join(dir, "admin.sock"))
	cfg, err := config.Parse([]byte(cfgText), filepath.Join(dir, "coordbot.toml"))
	if err != nil {
		return err
	}
	k, err := keys.Generate(cfg.Bot.Name, bot, keys.GenOptions{}, time.Now())
	if err != nil {
		return err
	}
	if err := keys.WritePrivate(cfg.PGP.KeyFile, k, nil); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "robot key %s\n", keys.Fingerprint(k))
	st, err := store.Open(cfg.StorePath(), store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	d := desk.New(st, cfg, log)
	m, err := mailConfig(cfg)
	if err != nil {
		return err
	}

	say("registering vendors")
	for _, v := range vendors {
		if _, err := d.AddVendor(v); err != nil {
			return err
		}
	}
	say("opening a case and sending the overview to every vendor")
	c, err := d.NewCase(desk.CaseInput{
		Title:    "Buffer overflow in the TLS handshake of an embedded HTTP server",
		Overview: "A remote attacker may crash the server or run code by sending a crafted TLS ClientHello.\n細工された TLS ClientHello により遠隔からサーバを停止させられる可能性があります。",
		Detail:   "(technical detail: sent only encrypted, later)",
		Keywords: []string{"tls"},
	})
	if err != nil {
		return err
	}
	if err := d.AttachVendors(c.ID, []string{"acme", "beta"}); err != nil {
		return err
	}
	if _, err := d.Notify(c.ID, "overview", []string{"all"}); err != nil {
		return err
	}
	if err := d.PollOnce(ctx, m); err != nil {
		return err
	}

	say("vendors reply from their own mail clients")
	acmeOverview, err := lastMessage(srv, "psirt@acme.example")
	if err != nil {
		return err
	}
	betaOverview, err := lastMessage(srv, "security@beta.example")
	if err != nil {
		return err
	}
	jaReply, err := iso2022jpReply("psirt@acme.example", bot, acmeOverview,
		"お世話になっております。ACME PSIRT です。\n\n詳細情報の請求 / Request detail: はい\n\nよろしくお願いいたします。\n")
	if err != nil {
		return err
	}
	enReply := plainReply("security@beta.example", bot, betaOverview,
		"Hello,\n\nWe do not ship any TLS stack.\n\nRequest detail: no\n\nBest regards,\nBeta PSIRT\n")
	for _, r := range []struct {
		from string
		raw  []byte
	}{{"psirt@acme.example", jaReply}, {"security@beta.example", enReply}} {
		if err := smtpSend(srv.SMTPAddr, r.from, []string{bot}, r.raw); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s replied (%d bytes)\n", r.from, len(r.raw))
	}

	say("the robot reads its mailbox, applies the answers and acknowledges them")
	if err := d.PollOnce(ctx, m); err != nil {
		return err
	}

	say("final state of %s", c.ID)
	j, err := caseJSON(d, c.ID)
	if err != nil {
		return err
	}
	if err := printCase(e, j); err != nil {
		return err
	}
	say("mailboxes")
	for _, u := range []string{"psirt@acme.example", "security@beta.example"} {
		msgs, err := srv.Messages(u, "INBOX")
		if err != nil {
			return err
		}
		for _, raw := range msgs {
			if pm, err := open.Parse(raw, open.Limits{}); err == nil {
				fmt.Fprintf(e.stdout, "%-24s INBOX: %s\n", u, pm.Subject)
			}
		}
	}
	for _, mb := range []string{"INBOX", "Processed", "Quarantine", "Sent"} {
		msgs, err := srv.Messages(bot, mb)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%-24s %-10s %d message(s)\n", bot, mb, len(msgs))
	}
	for _, v := range j.Vendors {
		want := map[string]string{"acme": "detail-held", "beta": "no-product"}[v.Vendor]
		if v.State != want {
			return fmt.Errorf("demo: vendor %s ended in %q, expected %q", v.Vendor, v.State, want)
		}
	}
	fmt.Fprintln(e.stdout, "\ndemo finished: both answers applied and acknowledged")
	return nil
}

func lastMessage(srv *devmail.Servers, user string) (*open.Message, error) {
	msgs, err := srv.Messages(user, "INBOX")
	if err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		return nil, fmt.Errorf("demo: no mail for %s", user)
	}
	return open.Parse(msgs[len(msgs)-1], open.Limits{})
}

func quote(text string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		b.WriteString("> " + l + "\n")
	}
	return b.String()
}

// iso2022jpReply writes a reply the way Japanese mail clients still do:
// ISO-2022-JP body, RFC 2047 encoded Subject, the original quoted below.
func iso2022jpReply(from, to string, orig *open.Message, text string) ([]byte, error) {
	enc := japanese.ISO2022JP.NewEncoder()
	body, err := enc.String(strings.ReplaceAll(text+"\n"+quote(orig.Text), "\n", "\r\n"))
	if err != nil {
		return nil, err
	}
	subj, err := enc.String("Re: " + orig.Subject)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%d.ja@%s>\r\nIn-Reply-To: <%s>\r\nReferences: <%s>\r\n",
		from, to, mime.BEncoding.Encode("ISO-2022-JP", subj), time.Now().Format(time.RFC1123Z), time.Now().UnixNano(),
		from[strings.IndexByte(from, '@')+1:], orig.MessageID, orig.MessageID)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n")
	b.WriteString(body)
	return b.Bytes(), nil
}

func plainReply(from, to string, orig *open.Message, text string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%d.en@%s>\r\nIn-Reply-To: <%s>\r\nReferences: <%s>\r\n",
		from, to, mime.QEncoding.Encode("utf-8", "Re: "+orig.Subject), time.Now().Format(time.RFC1123Z), time.Now().UnixNano(),
		from[strings.IndexByte(from, '@')+1:], orig.MessageID, orig.MessageID)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(text+"\n"+quote(orig.Text), "\n", "\r\n"))
	return b.Bytes()
}

func smtpSend(addr, from string, to []string, raw []byte) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SendMail(from, to, bytes.NewReader(raw)); err != nil {
		return err
	}
	return c.Quit()
}
