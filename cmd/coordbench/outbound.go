package main

// Phase outbound: M vendors with their own keys on a fresh case;
// `coordbot case notify ID overview all` is sent to a running serve
// through its admin socket, and timed from issuing the command until
// Postfix has accepted the last overview (the "notice sent" log lines).

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"syscall"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
)

func runOutbound(ctx context.Context, o *options) ([]Figure, error) {
	m := o.vendors
	r, err := newRobot(ctx, o, "outbound", 0)
	if err != nil {
		return nil, err
	}
	o.logf("outbound: %d vendor keys", m)
	vs, err := makeVendors(ctx, "out", "beta.example", m)
	if err != nil {
		return nil, err
	}
	if err := register(ctx, r, vs); err != nil {
		return nil, err
	}
	// One case per round, each notifying the same vendors.
	cases := make([]string, o.rounds)
	for i := range cases {
		if cases[i], err = newCase(ctx, r, "Router firmware command injection", vs); err != nil {
			return nil, err
		}
	}
	if err := o.srv.CreateUsers(warmSink); err != nil {
		return nil, err
	}
	addrs := make([]string, len(vs))
	for i, v := range vs {
		addrs[i] = v.addr
	}
	if err := primeMailboxes(ctx, o, addrs, o.smtpConns); err != nil {
		return nil, err
	}

	// Rounds: coordbot's burst, then the two raw baselines, so that each
	// ratio compares bursts that met the machine in the same state; the
	// figures are the medians over the rounds.
	var (
		sealed        [][]byte
		raws          [][]byte
		rawSize       int
		plain         []byte
		bot, rawC     []float64
		rawS          []float64
		perRaw, perRS []float64
	)
	for round, caseID := range cases {
		rate, err := notifyBurst(ctx, o, r, caseID, m)
		if err != nil {
			return nil, fmt.Errorf("round %d: %w", round+1, err)
		}
		if err := waitQueueEmpty(ctx, o, 10*time.Minute); err != nil {
			return nil, err
		}
		if round == 0 {
			// The notices as Postfix accepted them: the sealed baseline
			// sends them again, and the plain one matches their size.
			if sealed, rawSize, plain, err = readNotices(o, r, vs); err != nil {
				return nil, err
			}
			o.logf("outbound: a real overview is %d bytes as sent, %d bytes of plaintext inside", rawSize, len(plain))
			raws = rawNotices(vs, rawSize)
		}
		rc, err := rawSMTPRate(ctx, o, vs, raws, o.smtpConns)
		if err != nil {
			return nil, err
		}
		rs, err := rawSMTPRate(ctx, o, vs, sealed, o.smtpConns)
		if err != nil {
			return nil, err
		}
		o.notef("outbound: round %d: coordbot %.1f/s, raw plain %.1f/s, raw same notices %.1f/s (%.2fx, %.2fx)",
			round+1, rate, rc, rs, rate/rc, rate/rs)
		bot, rawC, rawS = append(bot, rate), append(rawC, rc), append(rawS, rs)
		perRaw, perRS = append(perRaw, rate/rc), append(perRS, rate/rs)
	}
	raw1, err := rawSMTPRate(ctx, o, vs, raws, 1)
	if err != nil {
		return nil, err
	}
	gpgRate, err := gpgSignEncryptRate(ctx, o, r, vs, len(plain))
	if err != nil {
		return nil, err
	}
	if err := waitQueueEmpty(ctx, o, 10*time.Minute); err != nil {
		return nil, err
	}
	// Each vendor: the priming message, and per round its overview and
	// the two raw messages.
	for _, v := range vs {
		if k, err := maildirCount(o, v.addr); err != nil || k != 1+3*o.rounds+1 {
			return nil, fmt.Errorf("%s has %d messages, want %d (%v)", v.addr, k, 1+3*o.rounds+1, err)
		}
	}
	rate := median(bot)
	o.notef("outbound: %d overviews of %d bytes (%d bytes plaintext), coordbot and the raw baselines over %d SMTP connection(s); "+
		"rates are medians of %d rounds, ratios to the raw baselines medians of each round's ratio",
		m, rawSize, len(plain), o.smtpConns, o.rounds)
	return []Figure{
		{"outbound_notices_per_s", rate, "notices/s"},
		{"outbound_gpg_sign_encrypt_per_s", gpgRate, "notices/s"},
		{"outbound_raw_smtp_per_s", median(rawC), "messages/s"},
		{"outbound_raw_smtp_1conn_per_s", raw1, "messages/s"},
		{"outbound_raw_sealed_smtp_per_s", median(rawS), "messages/s"},
		ratio("outbound_per_gpg", rate, gpgRate),
		{"outbound_per_raw", round2(median(perRaw)), "x"},
		{"outbound_per_raw_sealed", round2(median(perRS)), "x"},
	}, nil
}

// notifyBurst starts serve, waits until the outbox is idle and the
// servers are warm, then times `coordbot case notify ID overview all`
// from issuing the command until Postfix has accepted the last of the m
// overviews, and stops serve.
func notifyBurst(ctx context.Context, o *options, r *robot, caseID string, m int) (float64, error) {
	s, err := r.startServe(ctx)
	if err != nil {
		return 0, err
	}
	defer s.stop()
	if err := waitQueueEmpty(ctx, o, time.Minute); err != nil {
		return 0, err
	}
	if err := warmServers(ctx, o, o.smtpConns); err != nil {
		return 0, err
	}
	from := s.count()
	o.logf("outbound: case notify %s overview all (%d vendors)", caseID, m)
	t0 := time.Now()
	out, err := r.run(ctx, "case", "notify", caseID, "overview", "all")
	if err != nil {
		return 0, err
	}
	queued := time.Since(t0)
	if q := strings.Count(out, ": overview queued"); q != m {
		return 0, fmt.Errorf("case notify overview all queued %d overviews, want %d:\n%s", q, m, tail(out, 10))
	}
	sent, failed := 0, 0
	var last time.Time
	stopProgress := progress(o, "outbound: overviews sent", m, func() int { return countMsg(s.snapshot()[from:], "notice sent") })
	_, err = s.scan(ctx, from, 10*time.Minute+time.Duration(m)*time.Second, func(l *logLine) bool {
		switch {
		case l.Msg == "notice sent" && l.Kind == "overview":
			sent++
			last = l.Time
		case l.Msg == "notice failed permanently" || l.Msg == "notice deferred":
			failed++
			o.notef("outbound: %s: %s %s", l.Msg, l.Vendor, l.Err)
		}
		return sent+failed == m
	})
	stopProgress()
	if err != nil {
		return 0, fmt.Errorf("waiting for %d overviews to be sent (%d sent): %w", m, sent, err)
	}
	if failed > 0 {
		return 0, fmt.Errorf("%d overviews not sent", failed)
	}
	dur := last.Sub(t0)
	o.logf("outbound: %d overviews queued in %v (command returned), all accepted by Postfix after %v", m,
		queued.Round(time.Millisecond), dur.Round(time.Millisecond))
	return perSecond(m, dur), s.stop()
}

// readNotices reads every vendor's overview back from its maildir, as
// Postfix accepted it (trace fields left out), checks one against IMAP,
// and decrypts it as its vendor does: the notices, their size, and the
// plaintext inside one. Called while each vendor holds its priming
// message and one overview.
func readNotices(o *options, r *robot, vs []*vendor) (sealed [][]byte, size int, plain []byte, err error) {
	sealed = make([][]byte, len(vs))
	for i, v := range vs {
		got, err := maildirMessages(o, v.addr)
		if err != nil {
			return nil, 0, nil, fmt.Errorf("reading %s's maildir: %w", v.addr, err)
		}
		if len(got) != 2 {
			return nil, 0, nil, fmt.Errorf("%s has %d messages, want the priming one and its overview", v.addr, len(got))
		}
		for _, g := range got {
			if isOverview(g) {
				sealed[i] = withoutTrace(g)
			}
		}
		if sealed[i] == nil {
			return nil, 0, nil, fmt.Errorf("no overview in %s's maildir (%d messages)", v.addr, len(got))
		}
	}
	all, err := o.srv.FetchAll(vs[0].addr, "INBOX")
	var msgs [][]byte
	for _, m := range all {
		if isOverview(m) {
			msgs = append(msgs, m)
		}
	}
	if err != nil || len(msgs) != 1 {
		return nil, 0, nil, fmt.Errorf("reading %s's overview: %d of %d messages, %v", vs[0].addr, len(msgs), len(all), err)
	}
	size = len(withoutTrace(msgs[0]))
	if !bytes.Equal(sealed[0], withoutTrace(msgs[0])) {
		return nil, 0, nil, fmt.Errorf("%s's overview differs between its maildir (%d bytes) and IMAP (%d bytes)", vs[0].addr, len(sealed[0]), size)
	}
	plain, err = decryptNotice(msgs[0], vs[0], r)
	return sealed, size, plain, err
}

// isOverview says whether a delivered message is coordbot's overview
// notice (not a warm-up message).
func isOverview(raw []byte) bool {
	return bytes.Contains(raw, []byte("Message-Id: <coordbot.overview.")) || bytes.Contains(raw, []byte("Message-ID: <coordbot.overview."))
}

// withoutTrace drops the fields Postfix and Dovecot add on delivery
// (Return-Path, Delivered-To, Received), leaving the message as submitted.
func withoutTrace(raw []byte) []byte {
	end := bytes.Index(raw, []byte("\r\n\r\n"))
	if end < 0 {
		return raw
	}
	var out bytes.Buffer
	skip := false
	for _, l := range strings.SplitAfter(string(raw[:end+2]), "\r\n") {
		if l == "" {
			continue
		}
		if l[0] == ' ' || l[0] == '\t' {
			if !skip {
				out.WriteString(l)
			}
			continue
		}
		name, _, _ := strings.Cut(l, ":")
		switch strings.ToLower(name) {
		case "return-path", "delivered-to", "received":
			skip = true
		default:
			skip = false
			out.WriteString(l)
		}
	}
	out.WriteString("\r\n")
	out.Write(raw[end+4:])
	return out.Bytes()
}

// decryptNotice opens a notice as its vendor does and returns the
// plaintext (the protected MIME entity).
func decryptNotice(raw []byte, v *vendor, r *robot) ([]byte, error) {
	arm, err := encryptedPart(raw)
	if err != nil {
		return nil, fmt.Errorf("overview to %s: %w", v.id, err)
	}
	blk, err := armor.Decode(bytes.NewReader(arm))
	if err != nil {
		return nil, err
	}
	md, err := openpgp.ReadMessage(blk.Body, openpgp.EntityList{v.ent, r.ent}, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("overview to %s does not decrypt: %w", v.id, err)
	}
	plain, err := io.ReadAll(md.UnverifiedBody)
	if err != nil {
		return nil, err
	}
	if md.SignatureError != nil || md.SignedBy == nil {
		return nil, fmt.Errorf("overview to %s: signature %v", v.id, md.SignatureError)
	}
	return plain, nil
}

// filler is text of n bytes in 76-character CRLF lines.
func filler(n int) []byte {
	const line = "The quick brown fox jumps over the lazy dog; 0123456789 ABCDEFGHIJKLMNOPQRS\r\n"
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(line)
	}
	return b.Bytes()[:n]
}

// gpgSignEncryptRate runs `gpg --sign --encrypt --armor` once per vendor,
// one after another: signed by the robot key, encrypted to the vendor's
// key and the robot's (coordbot encrypts to itself too, for its Sent
// copy), on a body of plainSize bytes.
func gpgSignEncryptRate(ctx context.Context, o *options, r *robot, vs []*vendor, plainSize int) (float64, error) {
	g, err := prepareGPG(ctx, o, r, vs)
	if err != nil {
		return 0, err
	}
	defer g.close()
	body := filler(plainSize)
	one := func(v *vendor) error {
		out, _, err := g.run(ctx, body, "--armor", "--sign", "--encrypt", "-u", r.fpr, "-r", v.fpr, "-r", r.fpr)
		if err != nil {
			return err
		}
		if !bytes.HasPrefix(out, []byte("-----BEGIN PGP MESSAGE-----")) {
			return fmt.Errorf("gpg --sign --encrypt for %s: no armored message", v.id)
		}
		return nil
	}
	if err := one(vs[0]); err != nil { // warm-up: starts gpg-agent
		return 0, err
	}
	t0 := time.Now()
	for _, v := range vs {
		if err := one(v); err != nil {
			return 0, err
		}
	}
	d := time.Since(t0)
	o.logf("outbound: gpg --sign --encrypt: %d in %v", len(vs), d.Round(time.Millisecond))
	return perSecond(len(vs), d), nil
}

// warmSink is the mailbox of the warm-up bursts.
const warmSink = "warmup@beta.example"

// warmServers sends a burst of 100 small messages to warmSink over conns
// connections, waits until Postfix has delivered them, and flushes the
// file systems. Postfix and Dovecot start delivery processes on demand and
// stop them when idle, and both fsync every message: a burst that met the
// dirty pages of the bursts before it would wait for their write-back in
// its fsyncs. Every timed burst of this phase is preceded by this, so each
// meets the servers and the disk in the same state.
func warmServers(ctx context.Context, o *options, conns int) error {
	rcpts := make([]string, 100)
	for i := range rcpts {
		rcpts[i] = warmSink
	}
	if err := sendBurst(ctx, o, rcpts, conns); err != nil {
		return err
	}
	syscall.Sync()
	return nil
}

// primeMailboxes delivers one small message to each address, so that
// their mailboxes exist before anything is timed: Dovecot creates a
// maildir and its index on the first delivery, which would otherwise
// fall on coordbot's notices alone (the raw baselines deliver to the same
// vendors after it), where a real vendor's mailbox exists already.
func primeMailboxes(ctx context.Context, o *options, addrs []string, conns int) error {
	return sendBurst(ctx, o, addrs, conns)
}

// sendBurst sends one small message to each of rcpts over conns
// connections and waits until Postfix's queue is empty.
func sendBurst(ctx context.Context, o *options, rcpts []string, conns int) error {
	if err := waitQueueEmpty(ctx, o, 10*time.Minute); err != nil {
		return err
	}
	err := sendParallel(ctx, o, conns, len(rcpts), func(i int) (string, []byte) {
		return rcpts[i], []byte(fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: warm-up %d\r\nMessage-ID: <warm.%d.%d@coordbench.test>\r\n\r\nwarm-up\r\n",
			botAddr, rcpts[i], i, time.Now().UnixNano(), i))
	})
	if err != nil {
		return fmt.Errorf("warm-up mail: %w", err)
	}
	return waitQueueEmpty(ctx, o, 10*time.Minute)
}

// sendParallel sends n messages from the robot's address, message i to
// the recipient and with the bytes msg(i) gives, over conns SMTP
// connections to Postfix, each reused for many messages.
func sendParallel(ctx context.Context, o *options, conns, n int, msg func(i int) (string, []byte)) error {
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	errs := make(chan error, conns)
	for range conns {
		go func() {
			s, err := dialSMTP(o.srv.SMTPAddr)
			if err != nil {
				errs <- err
				return
			}
			defer s.close()
			for i := range next {
				if ctx.Err() != nil {
					errs <- ctx.Err()
					return
				}
				rcpt, raw := msg(i)
				if err := s.send(botAddr, []string{rcpt}, raw); err != nil {
					errs <- fmt.Errorf("SMTP to %s: %w", rcpt, err)
					return
				}
			}
			errs <- nil
		}()
	}
	var first error
	for range conns {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// rawNotices are ready-made messages of size bytes from the robot to each
// vendor.
func rawNotices(vs []*vendor, size int) [][]byte {
	out := make([][]byte, len(vs))
	for i, v := range vs {
		head := fmt.Sprintf("From: coordbot <%s>\r\nTo: %s\r\nSubject: [JVNVU#00000000] Vulnerability overview\r\n"+
			"Message-ID: <raw.%d.%s@cert.example>\r\nDate: %s\r\nMIME-Version: 1.0\r\nAuto-Submitted: auto-generated\r\n"+
			"Content-Type: text/plain; charset=us-ascii\r\n\r\n", botAddr, v.addr, i, v.id, time.Now().Format(time.RFC1123Z))
		out[i] = append([]byte(head), filler(max(size-len(head), 78))...)
	}
	return out
}

// rawSMTPRate sends every raw message to Postfix over conns parallel SMTP
// connections (each reused for many messages) and returns messages/s,
// from the first connect to the last acceptance.
func rawSMTPRate(ctx context.Context, o *options, vs []*vendor, raws [][]byte, conns int) (float64, error) {
	if err := warmServers(ctx, o, conns); err != nil {
		return 0, err
	}
	t0 := time.Now()
	err := sendParallel(ctx, o, conns, len(raws), func(i int) (string, []byte) { return vs[i].addr, raws[i] })
	d := time.Since(t0)
	if err != nil {
		return 0, fmt.Errorf("raw SMTP: %w", err)
	}
	o.logf("outbound: raw SMTP over %d connection(s): %d in %v", conns, len(raws), d.Round(time.Millisecond))
	return perSecond(len(raws), d), nil
}
