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

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"
	"golang.org/x/text/encoding/japanese"

	"github.com/coordbot/coordbot/mailbot/config"
	"github.com/coordbot/coordbot/mailbot/desk"
	"github.com/coordbot/coordbot/mailbot/devmail"
	"github.com/coordbot/coordbot/mailbot/export"
	"github.com/coordbot/coordbot/mailbot/keys"
	"github.com/coordbot/coordbot/mailbot/logging"
	"github.com/coordbot/coordbot/mailbot/open"
	"github.com/coordbot/coordbot/mailbot/seal"
	"github.com/coordbot/coordbot/store"
)

const demoPassword = "demo"

// demo is one run of `coordbot demo`: embedded servers, a desk whose clock
// the demo moves, and the mail clients of a coordinator and three vendors.
type demo struct {
	e     *env
	ctx   context.Context
	srv   *devmail.Servers
	d     *desk.Desk
	m     desk.Mail
	now   time.Time
	robot *openpgp.Entity
	coord *openpgp.Entity
	acme  *openpgp.Entity
}

const (
	demoBot   = "vultures@cert.example"
	demoCoord = "coord@cert.example"
	demoAcme  = "psirt@acme.example"
	demoBeta  = "security@beta.example"
	demoGamma = "secteam@gamma.example"
)

func (x *demo) say(format string, a ...any) { fmt.Fprintf(x.e.stdout, "\n== "+format+"\n", a...) }

// cmdDemo runs a whole case on embedded IMAP and SMTP servers: a
// coordinator drives it by signed mail, vendors answer from their mail
// clients (one in ISO-2022-JP Japanese, one encrypted and signed), the
// scheduler reminds and proposes the unreachable track as the demo moves
// its clock, and the case ends published with the Fig. 1 table.
func cmdDemo(e *env, args []string) error {
	f := newFlags("demo")
	keep := f.Bool("keep", false, "keep the temporary folder")
	if _, err := f.parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(e.ctx, 3*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "coordbot-demo-")
	if err != nil {
		return err
	}
	if !*keep {
		defer os.RemoveAll(dir)
	}
	x := &demo{e: e, ctx: ctx, now: time.Now()}
	log := logging.New(e.stdout, "info", "text")

	x.say("starting embedded IMAP and SMTP servers")
	users := map[string]string{}
	for _, u := range []string{demoBot, demoCoord, demoAcme, demoBeta, demoGamma} {
		users[u] = demoPassword
	}
	if x.srv, err = devmail.Start(users, log); err != nil {
		return err
	}
	defer x.srv.Close()
	fmt.Fprintf(e.stdout, "IMAP %s, SMTP %s, folder %s\n", x.srv.IMAPAddr, x.srv.SMTPAddr, dir)

	// Keys: the robot's, the coordinator's and ACME's mail client's.
	past := x.now.Add(-24 * time.Hour)
	for _, k := range []struct {
		dst  **openpgp.Entity
		addr string
	}{{&x.robot, demoBot}, {&x.coord, demoCoord}, {&x.acme, demoAcme}} {
		if *k.dst, err = keys.Generate(k.addr, k.addr, keys.GenOptions{}, past); err != nil {
			return err
		}
	}
	coordPub, _ := keys.ArmoredPublic(x.coord)
	coordFile := filepath.Join(dir, "coord.asc")
	pwFile := filepath.Join(dir, "password")
	os.WriteFile(coordFile, coordPub, 0o600)
	os.WriteFile(pwFile, []byte(demoPassword+"\n"), 0o600)
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
fingerprint = %q
key_file = %q
[admin]
socket = %q
`, demoBot, filepath.Join(dir, "data"), x.srv.IMAPAddr, pwFile, x.srv.SMTPAddr, demoCoord, keys.Fingerprint(x.coord), coordFile,
		filepath.Join(dir, "admin.sock"))
	cfg, err := config.Parse([]byte(cfgText), filepath.Join(dir, "coordbot.toml"))
	if err != nil {
		return err
	}
	if err := keys.WritePrivate(cfg.PGP.KeyFile, x.robot, nil); err != nil {
		return err
	}
	st, err := store.Open(cfg.StorePath(), store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	x.d = desk.New(st, cfg, log)
	x.d.Now = func() time.Time { return x.now }
	if x.m, err = mailConfig(cfg); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "robot key %s, coordinator key %s\n", keys.Fingerprint(x.robot), keys.Fingerprint(x.coord))

	x.say("registering vendors (ACME with its OpenPGP key)")
	acmePub, _ := keys.ArmoredPublic(x.acme)
	pub, err := keys.ParsePublic(acmePub, x.now)
	if err != nil {
		return err
	}
	for _, v := range []desk.VendorInput{
		{ID: "acme", Name: "ACME株式会社", Emails: []string{demoAcme}, Lang: "ja", Keywords: []string{"tls", "http"},
			Key: &store.Key{Fingerprint: pub.Fingerprint, Armored: pub.Armored, Added: x.now}},
		{ID: "beta", Name: "Beta Networks", Emails: []string{demoBeta}, Lang: "en", Keywords: []string{"tls"}},
		{ID: "gamma", Name: "Gamma OSS Project", Emails: []string{demoGamma}, Lang: "en", Keywords: []string{"http"}},
	} {
		if _, err := x.d.AddVendor(v); err != nil {
			return err
		}
	}

	x.say("the coordinator opens the case by signed mail")
	if err := x.command("New case", "#coordbot case new Buffer overflow in the TLS handshake of an embedded HTTP server\n"+
		"#coordbot keywords tls,http\n#coordbot vendor add acme beta gamma\n#coordbot notify overview all\n\n"+
		"Overview:\nA remote attacker may crash the server or run code with a crafted TLS ClientHello.\n"+
		"細工された TLS ClientHello により遠隔からサーバを停止させられる可能性があります。\n\n"+
		"Detail:\nThe length of the session ID is not checked in handshake.c (proof of concept attached).\n"); err != nil {
		return err
	}
	caseID, err := x.caseID()
	if err != nil {
		return err
	}
	if err := x.poll(); err != nil {
		return err
	}

	x.say("vendors answer from their own mail clients")
	acmeOv, err := x.outerOf(demoAcme, "脆弱性概要情報")
	if err != nil {
		return err
	}
	jaReply, err := iso2022jpReply(demoAcme, demoBot, acmeOv,
		"お世話になっております。ACME PSIRT です。\n\n詳細情報の請求 / Request detail: はい\n\nよろしくお願いいたします。\n")
	if err != nil {
		return err
	}
	betaOv, err := x.outerOf(demoBeta, "Vulnerability overview")
	if err != nil {
		return err
	}
	x.send(demoAcme, jaReply, "ACME answers in ISO-2022-JP: はい")
	x.send(demoBeta, plainReply(demoBeta, demoBot, betaOv, "Hello,\n\nWe do not ship any TLS stack.\n\nRequest detail: no\n"), "Beta answers: no")
	if err := x.poll(); err != nil {
		return err
	}

	x.say("ACME reads the encrypted detail and reports its status, encrypted and signed")
	detail, err := x.outerOf(demoAcme, "脆弱性詳細情報")
	if err != nil {
		return err
	}
	var h mail.Header
	h.SetAddressList("From", []*mail.Address{{Address: demoAcme}})
	h.SetAddressList("To", []*mail.Address{{Address: demoBot}})
	h.SetSubject("...")
	h.SetDate(x.now)
	h.SetMessageID(fmt.Sprintf("%d.status@acme.example", x.now.UnixNano()))
	h.SetMsgIDList("In-Reply-To", []string{detail.MessageID})
	status, err := seal.Encrypt(&seal.Message{Header: h, ProtectedSubject: "Re: [" + caseID + "] 脆弱性詳細情報",
		Body: "該当状況：該当製品あり\n公表用コメント：バージョン 2.1 で修正しました。\n告知ページ：https://acme.example/security/2027-001\n"},
		x.acme, []*openpgp.Entity{x.robot}, x.now)
	if err != nil {
		return err
	}
	x.send(demoAcme, status, "ACME: 該当製品あり, fixed in 2.1 (PGP/MIME, Thunderbird-style protected Subject)")
	if err := x.poll(); err != nil {
		return err
	}

	x.say("time passes: the scheduler reminds the silent vendor, then proposes the unreachable track")
	c, err := x.caseRecord(caseID)
	if err != nil {
		return err
	}
	for _, at := range []time.Time{c.Start.Add(8 * 24 * time.Hour), c.Start.AddDate(0, 3, 1)} {
		x.now = at
		res, err := x.d.Tick(at)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "tick at %s: %d actions\n", at.In(cfg.Location()).Format("2006-01-02"), res.Actions)
		if err := x.poll(); err != nil {
			return err
		}
	}

	x.say("the coordinator sets the date and publishes, by signed mail")
	date := x.now.Add(24 * time.Hour).In(cfg.Location()).Format("2006-01-02T15:04-07:00")
	if err := x.command("Re: ["+caseID+"] date", "#coordbot case "+caseID+"\n#coordbot date "+date+"\n"); err != nil {
		return err
	}
	if err := x.poll(); err != nil {
		return err
	}
	x.now = x.now.Add(25 * time.Hour)
	if err := x.command("Re: ["+caseID+"] publish", "#coordbot case "+caseID+"\n#coordbot publish\n"); err != nil {
		return err
	}
	if err := x.poll(); err != nil {
		return err
	}

	x.say("final state of %s", caseID)
	j, err := caseJSON(x.d, caseID)
	if err != nil {
		return err
	}
	if err := printCase(e, j); err != nil {
		return err
	}
	x.say("the public advisory (jvn-md): Fig. 1 table and per-vendor pages")
	a, err := x.d.Advisory(caseID)
	if err != nil {
		return err
	}
	md, err := export.JVNMarkdown(a)
	if err != nil {
		return err
	}
	e.stdout.Write(md)

	x.say("mailboxes")
	for _, u := range []string{demoCoord, demoAcme, demoBeta, demoGamma} {
		msgs, _ := x.srv.Messages(u, "INBOX")
		fmt.Fprintf(e.stdout, "%-24s INBOX %d message(s)\n", u, len(msgs))
		for _, raw := range msgs {
			fmt.Fprintf(e.stdout, "    %s\n", outerSubject(raw))
		}
	}
	for _, mb := range []string{"INBOX", "Processed", "Quarantine", "Sent"} {
		msgs, _ := x.srv.Messages(demoBot, mb)
		fmt.Fprintf(e.stdout, "%-24s %-10s %d message(s)\n", demoBot, mb, len(msgs))
	}
	want := map[string]string{"acme": "detail-sent", "beta": "no-product", "gamma": "overview-sent"}
	for _, v := range j.Vendors {
		if v.State != want[v.Vendor] {
			return fmt.Errorf("demo: vendor %s ended in %q, expected %q", v.Vendor, v.State, want[v.Vendor])
		}
	}
	if j.State != store.CasePublished || !bytes.Contains(md, []byte("該当製品あり")) {
		return fmt.Errorf("demo: case ended %s", j.State)
	}
	fmt.Fprintln(e.stdout, "\ndemo finished: the case went from a signed command mail to publication")
	return nil
}

// command sends a command mail signed (and encrypted) by the coordinator.
func (x *demo) command(subject, body string) error {
	var h mail.Header
	h.SetAddressList("From", []*mail.Address{{Address: demoCoord}})
	h.SetAddressList("To", []*mail.Address{{Address: demoBot}})
	h.SetSubject("...")
	h.SetDate(x.now)
	h.SetMessageID(fmt.Sprintf("%d.cmd@cert.example", x.now.UnixNano()))
	raw, err := seal.Encrypt(&seal.Message{Header: h, ProtectedSubject: subject, Body: body}, x.coord, []*openpgp.Entity{x.robot}, x.now)
	if err != nil {
		return err
	}
	x.send(demoCoord, raw, "coordinator: "+strings.Join(strings.Fields(strings.SplitN(body, "\n\n", 2)[0]), " "))
	return x.poll()
}

func (x *demo) send(from string, raw []byte, what string) {
	if err := smtpSend(x.srv.SMTPAddr, from, []string{demoBot}, raw); err != nil {
		fmt.Fprintf(x.e.stdout, "send failed: %v\n", err)
		return
	}
	fmt.Fprintf(x.e.stdout, "-> %s\n", what)
}

func (x *demo) poll() error { return x.d.PollOnce(x.ctx, x.m) }

func (x *demo) caseRecord(id string) (*store.Case, error) {
	var c *store.Case
	err := x.d.Store.View(func(tx *store.Tx) (err error) { c, err = tx.Case(id); return })
	return c, err
}

func (x *demo) caseID() (string, error) {
	var id string
	err := x.d.Store.View(func(tx *store.Tx) error {
		cs, err := tx.Cases()
		if len(cs) > 0 {
			id = cs[0].ID
		}
		return err
	})
	if id == "" && err == nil {
		err = fmt.Errorf("demo: the command mail opened no case")
	}
	return id, err
}

// outerOf finds the newest message in a vendor's inbox whose outer
// Subject contains marker (what a client shows before decrypting).
func (x *demo) outerOf(user, marker string) (*open.Message, error) {
	msgs, err := x.srv.Messages(user, "INBOX")
	if err != nil {
		return nil, err
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if s := outerSubject(msgs[i]); strings.Contains(s, marker) {
			return &open.Message{Subject: s, MessageID: outerMessageID(msgs[i])}, nil
		}
	}
	return nil, fmt.Errorf("demo: no %q for %s", marker, user)
}

func outerHeader(raw []byte) mail.Header {
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		return mail.Header{}
	}
	defer r.Close()
	return r.Header
}

func outerSubject(raw []byte) string {
	h := outerHeader(raw)
	s, _ := h.Subject()
	return s
}

func outerMessageID(raw []byte) string {
	h := outerHeader(raw)
	id, _ := h.MessageID()
	return id
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
