package main

// Phase inbound: N PGP/MIME encrypted and signed status reports, one per
// vendor, each vendor with its own pinned key, all on one case, delivered
// into the robot's INBOX; `coordbot serve` is timed from its start until
// every answer is recorded and the INBOX is empty (fetch, decrypt, verify,
// parse, commit, acknowledgement sealed and queued, move). The
// acknowledgements are sent apart, afterwards.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	v2 "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/coordbot/coordbot/store"
)

func runInbound(ctx context.Context, o *options) ([]Figure, error) {
	n := o.answers
	r, err := newRobot(ctx, o, "inbound", 0)
	if err != nil {
		return nil, err
	}
	o.logf("inbound: %d vendor keys", n)
	vs, err := makeVendors(ctx, "in", "acme.example", n)
	if err != nil {
		return nil, err
	}
	// The gpg baseline's key import takes a while (milliseconds per key):
	// it runs during the setup and must end before the measurement.
	type gpgReady struct {
		g   *gpgHome
		err error
	}
	gpgc := make(chan gpgReady, 1)
	go func() {
		g, err := prepareGPG(ctx, o, r, vs)
		gpgc <- gpgReady{g, err}
	}()
	var joined *gpgReady
	join := func() gpgReady {
		if joined == nil {
			gr := <-gpgc
			joined = &gr
		}
		return *joined
	}
	defer func() {
		if gr := join(); gr.g != nil {
			gr.g.close()
		}
	}()
	if err := register(ctx, r, vs); err != nil {
		return nil, err
	}
	caseID, err := newCase(ctx, r, "TLS session ticket overflow", vs)
	if err != nil {
		return nil, err
	}
	o.logf("inbound: case %s with %d vendors; sending the details (setup, not timed)", caseID, n)
	if err := sendDetails(ctx, r, caseID, n); err != nil {
		return nil, err
	}
	answers, err := statusAnswers(ctx, r, caseID, vs)
	if err != nil {
		return nil, err
	}
	raws := make([][]byte, n)
	size := 0
	for i, a := range answers {
		raws[i] = a.raw
		size += len(a.raw)
	}
	o.logf("inbound: delivering %d answers (%d bytes on average) into the robot's INBOX", n, size/n)
	if err := o.srv.AppendAll(botAddr, "INBOX", raws); err != nil {
		return nil, err
	}
	if err := waitCount(ctx, o, botAddr, "INBOX", n, time.Minute); err != nil {
		return nil, err
	}

	gr := join()
	if gr.err != nil {
		return nil, gr.err
	}
	g := gr.g

	// The store as it is before any answer: the later rounds start from it.
	dbPath := filepath.Join(r.dir, "data", store.FileName)
	before, err := os.ReadFile(dbPath)
	if err != nil {
		return nil, err
	}

	// The measurement: serve, its SMTP held so that the acknowledgements
	// stay queued and are sent apart.
	tp, err := startTarpit()
	if err != nil {
		return nil, err
	}
	defer tp.close()
	inboundDur, deferred, err := coldBacklog(ctx, o, r, tp, n)
	if err != nil {
		return nil, err
	}
	o.logf("inbound: %d answers in %v; %d acknowledgement(s) deferred by the held SMTP (tried, then backoff)", n,
		inboundDur.Round(time.Millisecond), deferred)
	c, err := showCase(ctx, r, caseID)
	if err != nil {
		return nil, err
	}
	if err := checkStatuses(c, vs); err != nil {
		return nil, err
	}
	for _, mb := range []string{"Quarantine"} {
		if q, err := o.srv.MessageCount(botAddr, mb); err != nil || q != 0 {
			return nil, fmt.Errorf("%s holds %d messages (%v)", mb, q, err)
		}
	}

	// The acknowledgements: poll --once with Postfix back.
	if err := r.setSMTP(o.srv.SMTPAddr); err != nil {
		return nil, err
	}
	wantAcks := n - deferred
	t1 := time.Now()
	lines, err := r.poll(ctx)
	if err != nil {
		return nil, err
	}
	acks := 0
	var lastAck time.Time
	for _, l := range lines {
		if l.Msg == "notice sent" && l.Kind == "ack" {
			acks++
			lastAck = l.Time
		}
	}
	// A deferred one whose backoff has already run out goes too.
	if acks < wantAcks || acks > n {
		return nil, fmt.Errorf("poll --once sent %d acknowledgements, want %d to %d", acks, wantAcks, n)
	}
	ackDur := lastAck.Sub(t1)
	o.logf("inbound: %d acknowledgements sent in %v", acks, ackDur.Round(time.Millisecond))
	if err := waitQueueEmpty(ctx, o, 10*time.Minute); err != nil {
		return nil, err
	}
	missing := 0
	for _, v := range vs {
		if k, err := maildirCount(o, v.addr); err != nil || k < 2 {
			missing++
		}
	}
	if missing > n-acks {
		return nil, fmt.Errorf("%d vendors lack their acknowledgement in their mailbox", missing)
	}

	// More cold rounds of the same backlog from the same start: the store
	// put back as it was before the first, the answers handled moved out
	// of Processed, the same N messages appended to the INBOX again. The
	// figure is the median of the rounds.
	colds := []time.Duration{inboundDur}
	if o.inRounds > 1 {
		if err := o.srv.CreateMailbox(botAddr, "Done"); err != nil {
			return nil, err
		}
	}
	for round := 2; round <= o.inRounds; round++ {
		if err := o.srv.MoveEverything(botAddr, "Processed", "Done"); err != nil {
			return nil, err
		}
		if err := os.WriteFile(dbPath, before, 0o600); err != nil {
			return nil, err
		}
		if err := o.srv.AppendAll(botAddr, "INBOX", raws); err != nil {
			return nil, err
		}
		if err := waitCount(ctx, o, botAddr, "INBOX", n, time.Minute); err != nil {
			return nil, err
		}
		d, _, err := coldBacklog(ctx, o, r, tp, n)
		if err != nil {
			return nil, fmt.Errorf("round %d: %w", round, err)
		}
		colds = append(colds, d)
	}
	if o.inRounds > 1 {
		// The last round's acknowledgements go now, untimed, so that the
		// warm backlog meets an empty outbox.
		if err := r.setSMTP(o.srv.SMTPAddr); err != nil {
			return nil, err
		}
		if _, err := r.poll(ctx); err != nil {
			return nil, err
		}
		if err := waitQueueEmpty(ctx, o, 10*time.Minute); err != nil {
			return nil, err
		}
	}
	rates := make([]float64, len(colds))
	for i, d := range colds {
		rates[i] = perSecond(n, d)
		o.notef("inbound: cold round %d: %d answers in %v, %.1f answers/s", i+1, n, d.Round(time.Millisecond), rates[i])
	}

	// Warm: serve already running, its keys parsed at start (a daemon
	// that has been up), gets a second backlog at once: every vendor's
	// status update, moved into the INBOX with one IMAP MOVE.
	warmDur, err := inboundWarm(ctx, o, r, tp, caseID, vs)
	if err != nil {
		return nil, fmt.Errorf("warm backlog: %w", err)
	}

	// Baseline: one gpg process per message.
	gpgRate, err := gpgDecryptRate(ctx, o, g, answers)
	if err != nil {
		return nil, err
	}
	// Floor: go-crypto alone, in process.
	floor1, err := floorRate(ctx, r, vs, answers, 1)
	if err != nil {
		return nil, err
	}
	floorN, err := floorRate(ctx, r, vs, answers, runtime.NumCPU())
	if err != nil {
		return nil, err
	}
	inRate := median(rates)
	warmRate := perSecond(n, warmDur)
	o.notef("inbound: %d answers of %d bytes on average; serve with SMTP held (a listener that never greets); acks sent by poll --once; floor with %d CPUs; "+
		"the cold rate is the median of %d rounds", n, size/n, runtime.NumCPU(), len(rates))
	return []Figure{
		{"inbound_answers_per_s", inRate, "answers/s"},
		{"inbound_gpg_decrypt_per_s", gpgRate, "answers/s"},
		{"inbound_floor_1cpu_per_s", floor1, "answers/s"},
		{"inbound_floor_ncpu_per_s", floorN, "answers/s"},
		{"inbound_ack_send_per_s", perSecond(acks, ackDur), "notices/s"},
		ratio("inbound_per_gpg", inRate, gpgRate),
		ratio("inbound_floor_per_inbound", floor1, inRate),
		ratio("inbound_floor_ncpu_per_inbound", floorN, inRate),
		{"inbound_warm_answers_per_s", warmRate, "answers/s"},
		ratio("inbound_warm_per_gpg", warmRate, gpgRate),
		ratio("inbound_floor_per_inbound_warm", floor1, warmRate),
	}, nil
}

// inboundWarm starts serve with an empty INBOX (SMTP held), waits until it
// has parsed the pinned keys and connected, then moves n status updates
// into the INBOX at once and times serve until the INBOX is empty and
// every update is recorded.
func inboundWarm(ctx context.Context, o *options, r *robot, tp *tarpit, caseID string, vs []*vendor) (time.Duration, error) {
	n := len(vs)
	raws, err := updates(ctx, r, caseID, vs, "fixed in 2.0.1. ")
	if err != nil {
		return 0, err
	}
	if err := o.srv.CreateMailbox(botAddr, "Staging"); err != nil {
		return 0, err
	}
	if err := o.srv.AppendAll(botAddr, "Staging", raws); err != nil {
		return 0, err
	}
	if err := r.setSMTP(tp.addr()); err != nil {
		return 0, err
	}
	s, err := r.startServeNoSocket(ctx)
	if err != nil {
		return 0, err
	}
	defer s.stop()
	ready := map[string]bool{}
	if _, err := s.scan(ctx, 0, 5*time.Minute, func(l *logLine) bool {
		if l.Msg == "pinned keys parsed" || l.Msg == "IMAP connected" {
			ready[l.Msg] = true
		}
		return len(ready) == 2
	}); err != nil {
		return 0, fmt.Errorf("waiting for serve to be ready: %w", err)
	}
	from := s.count()
	syscall.Sync()
	t0 := time.Now()
	if err := o.srv.MoveEverything(botAddr, "Staging", "INBOX"); err != nil {
		return 0, err
	}
	seen, applied := 0, 0
	if _, err := s.scan(ctx, from, 10*time.Minute+time.Duration(n)*time.Second, func(l *logLine) bool {
		if l.Msg != "inbound" {
			return false
		}
		seen++
		if l.Outcome == "applied" {
			applied++
		}
		return seen == n
	}); err != nil {
		return 0, fmt.Errorf("waiting for %d inbound lines (%d seen): %w", n, seen, err)
	}
	if err := waitCount(ctx, o, botAddr, "INBOX", 0, time.Minute); err != nil {
		return 0, err
	}
	dur := time.Since(t0)
	if applied != n {
		return 0, fmt.Errorf("%d of %d updates applied", applied, n)
	}
	o.logf("inbound: warm backlog of %d updates in %v", n, dur.Round(time.Millisecond))
	return dur, s.stop()
}

// coldBacklog times serve from its start until n answers waiting in the
// INBOX are recorded, each applied as a status report, and the INBOX is
// empty; SMTP is held by tp, so the acknowledgements stay queued. It
// returns how many acknowledgements serve tried and deferred.
func coldBacklog(ctx context.Context, o *options, r *robot, tp *tarpit, n int) (time.Duration, int, error) {
	if err := r.setSMTP(tp.addr()); err != nil {
		return 0, 0, err
	}
	timeout := 10*time.Minute + time.Duration(n)*time.Second
	// Flushed first: serve fsyncs every batch it records, and the
	// messages just delivered are still being written back (see
	// warmServers).
	syscall.Sync()
	t0 := time.Now()
	s, err := r.startServeNoSocket(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer s.stop()
	seen := 0
	outcomes := map[string]int{}
	stopProgress := progress(o, "inbound: answers recorded", n, func() int { return countMsg(s.snapshot(), "inbound") })
	_, err = s.scan(ctx, 0, timeout, func(l *logLine) bool {
		if l.Msg != "inbound" {
			return false
		}
		seen++
		reason := l.Reason
		if strings.HasPrefix(reason, "status report") {
			reason = "status report"
		}
		outcomes[l.Outcome+" ("+reason+")"]++
		return seen == n
	})
	stopProgress()
	if err != nil {
		return 0, 0, fmt.Errorf("waiting for %d inbound lines (%d seen): %w", n, seen, err)
	}
	if err := waitCount(ctx, o, botAddr, "INBOX", 0, time.Minute); err != nil {
		return 0, 0, err
	}
	dur := time.Since(t0)
	if err := s.stop(); err != nil {
		return 0, 0, err
	}
	if outcomes["applied (status report)"] != n {
		return 0, 0, fmt.Errorf("not every answer was applied as a status report: %v", outcomes)
	}
	deferred := 0
	for _, l := range s.snapshot() {
		switch {
		case l.Msg == "notice sent":
			return 0, 0, errors.New("a notice was sent while SMTP was held")
		case l.Msg == "notice deferred":
			deferred++
		}
	}
	return dur, deferred, nil
}

// updates are every vendor's encrypted and signed status update on the
// case, its public comment starting with comment.
func updates(ctx context.Context, r *robot, caseID string, vs []*vendor, comment string) ([][]byte, error) {
	raws := make([][]byte, len(vs))
	now := time.Now()
	err := parallel(ctx, len(vs), func(i int) error {
		body := strings.Replace(statusBody(vs[i]), "Public comment: ", "Public comment: "+comment, 1)
		a, err := pgpAnswer(vs[i], r.ent, caseID, body, nil, now)
		if err == nil {
			raws[i] = a.raw
		}
		return err
	})
	return raws, err
}

func countMsg(lines []logLine, msg string) int {
	n := 0
	for _, l := range lines {
		if l.Msg == msg {
			n++
		}
	}
	return n
}

// prepareGPG makes the GNUPGHOME of the gpg baseline: the robot's secret
// key and the vendors' public keys.
func prepareGPG(ctx context.Context, o *options, r *robot, vs []*vendor) (*gpgHome, error) {
	g, err := newGPGHome()
	if err != nil {
		return nil, err
	}
	sec, err := os.ReadFile(r.keyFile())
	if err != nil {
		g.close()
		return nil, err
	}
	var keys bytes.Buffer
	keys.Write(sec)
	for _, v := range vs {
		keys.Write(v.pub)
	}
	t0 := time.Now()
	if err := g.importKeys(ctx, keys.Bytes()); err != nil {
		g.close()
		return nil, err
	}
	o.logf("gpg: robot's secret key and %d vendor keys imported in %v", len(vs), time.Since(t0).Round(time.Millisecond))
	return g, nil
}

// gpgDecryptRate runs `gpg --decrypt` once per answer, one after another,
// in a home holding the robot's secret key and the vendors' public keys;
// each must report a good signature by its vendor.
func gpgDecryptRate(ctx context.Context, o *options, g *gpgHome, answers []*answer) (float64, error) {
	check := func(a *answer) error {
		out, status, err := g.run(ctx, a.armored, "--decrypt")
		if err != nil {
			return err
		}
		if !strings.Contains(status, "[GNUPG:] GOODSIG") || !strings.Contains(status, "[GNUPG:] DECRYPTION_OKAY") ||
			!strings.Contains(status, a.v.fpr) || !bytes.Contains(out, []byte(comment(a.v.id))) {
			return fmt.Errorf("gpg --decrypt of %s's answer: no good signature or wrong plaintext:\n%s", a.v.id, status)
		}
		return nil
	}
	// Warm-up: the first call starts gpg-agent.
	if err := check(answers[0]); err != nil {
		return 0, err
	}
	o.logf("inbound: gpg baseline: %d decryptions", len(answers))
	t0 := time.Now()
	for _, a := range answers {
		if err := check(a); err != nil {
			return 0, err
		}
	}
	d := time.Since(t0)
	o.logf("inbound: gpg --decrypt: %d in %v", len(answers), d.Round(time.Millisecond))
	return perSecond(len(answers), d), nil
}

// floorRate decrypts and verifies every raw answer with go-crypto
// (openpgp/v2, as coordbot reads): find the encrypted part, dearmor,
// ReadMessage with a key ring of the vendors' public keys and the robot's
// secret key, read the plaintext to EOF, check the signature. No I/O.
// Each of the workers has its own key ring (go-crypto caches inside
// entities).
func floorRate(ctx context.Context, r *robot, vs []*vendor, answers []*answer, workers int) (float64, error) {
	sec, err := os.ReadFile(r.keyFile())
	if err != nil {
		return 0, err
	}
	rings := make([]v2.EntityList, workers)
	for w := range rings {
		robot, err := v2.ReadArmoredKeyRing(bytes.NewReader(sec))
		if err != nil {
			return 0, fmt.Errorf("robot key: %w", err)
		}
		for _, v := range vs {
			el, err := v2.ReadArmoredKeyRing(bytes.NewReader(v.pub))
			if err != nil {
				return 0, err
			}
			rings[w] = append(rings[w], el...)
		}
		rings[w] = append(rings[w], robot...)
	}
	now := time.Now()
	cfg := &packet.Config{Time: func() time.Time { return now }}
	open := func(ring v2.EntityList, a *answer) error {
		arm, err := encryptedPart(a.raw)
		if err != nil {
			return err
		}
		blk, err := armor.Decode(bytes.NewReader(arm))
		if err != nil {
			return err
		}
		md, err := v2.ReadMessage(blk.Body, ring, nil, cfg)
		if err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, md.UnverifiedBody); err != nil {
			return err
		}
		if !md.IsEncrypted || md.SignatureError != nil || md.SignedBy == nil ||
			fmt.Sprintf("%X", md.SignedBy.Entity.PrimaryKey.Fingerprint) != a.v.fpr {
			return fmt.Errorf("answer of %s: encrypted %v, signature %v", a.v.id, md.IsEncrypted, md.SignatureError)
		}
		return nil
	}
	t0 := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(answers); i += workers {
				if ctx.Err() != nil {
					errs[w] = ctx.Err()
					return
				}
				if err := open(rings[w], answers[i]); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	d := time.Since(t0)
	if err := errors.Join(errs...); err != nil {
		return 0, fmt.Errorf("go-crypto floor: %w", err)
	}
	r.o.logf("inbound: go-crypto floor, %d worker(s): %d in %v", workers, len(answers), d.Round(time.Millisecond))
	return perSecond(len(answers), d), nil
}

// tarpit accepts SMTP connections and never says a word: coordbot's sender
// waits for the greeting (its command timeout, 60 s) instead of failing at
// once, so the acknowledgements stay queued without a failed attempt
// written to the store for each (which stopping Postfix would cause).
type tarpit struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startTarpit() (*tarpit, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	t := &tarpit{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.mu.Lock()
			t.conns = append(t.conns, c)
			t.mu.Unlock()
		}
	}()
	return t, nil
}

func (t *tarpit) addr() string { return t.ln.Addr().String() }

func (t *tarpit) close() {
	t.ln.Close()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.conns {
		c.Close()
	}
	t.conns = nil
}
