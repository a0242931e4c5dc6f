package desk

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/coordbot/coordbot/mailbot/auth"
	"github.com/coordbot/coordbot/mailbot/config"
	"github.com/coordbot/coordbot/mailbot/health"
	"github.com/coordbot/coordbot/mailbot/inbox"
	"github.com/coordbot/coordbot/mailbot/process"
	"github.com/coordbot/coordbot/mailbot/smtpout"
	"github.com/coordbot/coordbot/store"
)

// IMAPConfig turns the configuration into the inbox client's.
func IMAPConfig(cfg *config.Config) (inbox.Config, error) {
	pw, err := config.Secret(cfg.IMAP.PasswordFile, cfg.IMAP.PasswordEnv)
	if err != nil {
		return inbox.Config{}, fmt.Errorf("imap password: %w", err)
	}
	ic := inbox.Config{Address: cfg.IMAP.Address, Security: cfg.IMAP.Security, Username: cfg.IMAP.Username, Password: pw,
		MaxMessageSize: cfg.Limits.MaxMessageBytes, PollInterval: cfg.IMAP.PollInterval.Duration, Auth: cfg.IMAP.Auth}
	if cfg.IMAP.Auth == auth.XOAUTH2 {
		file, command := cfg.IMAP.TokenFile, cfg.IMAP.TokenCommand
		ic.Token = func() (string, error) { return auth.Token(file, command) }
	}
	if cfg.IMAP.CAFile != "" {
		pool, err := auth.CAPool(cfg.IMAP.CAFile)
		if err != nil {
			return inbox.Config{}, fmt.Errorf("imap.ca_file: %w", err)
		}
		ic.TLSConfig = &tls.Config{RootCAs: pool}
	}
	return ic, nil
}

// SMTPConfig turns the configuration into the sender's.
func SMTPConfig(cfg *config.Config) (smtpout.Config, error) {
	pw, err := config.Secret(cfg.SMTP.PasswordFile, cfg.SMTP.PasswordEnv)
	if err != nil {
		return smtpout.Config{}, fmt.Errorf("smtp password: %w", err)
	}
	hello := cfg.SMTP.HelloName
	if hello == "" {
		hello = botDomain(cfg)
	}
	sc := smtpout.Config{Address: cfg.SMTP.Address, Security: cfg.SMTP.Security, Username: cfg.SMTP.Username, Password: pw,
		HelloName: hello, Auth: cfg.SMTP.Auth, Connections: cfg.SMTP.Connections}
	if cfg.SMTP.Auth == auth.XOAUTH2 {
		file, command := cfg.SMTP.TokenFile, cfg.SMTP.TokenCommand
		sc.Token = func() (string, error) { return auth.Token(file, command) }
	}
	if cfg.SMTP.CAFile != "" {
		pool, err := auth.CAPool(cfg.SMTP.CAFile)
		if err != nil {
			return smtpout.Config{}, fmt.Errorf("smtp.ca_file: %w", err)
		}
		sc.TLSConfig = &tls.Config{RootCAs: pool}
	}
	return sc, nil
}

// Poll handles every message in the configured mailbox once: each is
// recorded, then moved (commit first, then MOVE, so a crash in between
// only repeats the MOVE). It stops at the first store error, leaving the
// rest for a later pass.
func (d *Desk) Poll(ctx context.Context, c *inbox.Client) (int, error) {
	mbox := d.Cfg.IMAP.Mailbox
	uv, err := c.Select(mbox)
	if err != nil {
		return 0, err
	}
	if err := d.noteUIDValidity(mbox, uv); err != nil {
		return 0, err
	}
	// Everything still in the mailbox is either new or recorded but not yet
	// moved: the ledger tells which, so no cursor decides.
	uids, err := c.NewUIDs(0)
	if err != nil {
		return 0, err
	}
	n := 0
	// A batch is read with one FETCH, recorded in one transaction and
	// moved with one MOVE per destination: commit first, then MOVE, so a
	// crash in between repeats only the MOVE (the ledger knows the UIDs).
	// The byte budget keeps large messages from piling up in memory.
	//
	// The batches overlap: while batch k commits (one writer, the
	// acknowledgements sealed on every core), batch k-1 is moved, batch
	// k+1 is fetched and opened. Opening writes nothing, and a batch
	// opened before a key was pinned is opened again at its commit.
	const batchBytes, batchCount = 8 << 20, 100
	type batch struct {
		ins     []Inbound // too large ones (recorded at fetch), then the batch
		res     []Result
		fetched time.Duration
		opened  time.Duration
		done    chan struct{}
		took    time.Duration // commit
		err     error
	}
	move := func(b *batch) (int, error) {
		order, dests := []string{}, map[string][]imap.UID{}
		for i, r := range b.res {
			if dests[r.Dest] == nil {
				order = append(order, r.Dest)
			}
			dests[r.Dest] = append(dests[r.Dest], imap.UID(b.ins[i].UID))
		}
		moved := 0
		for _, dest := range order {
			if err := c.MoveAll(dests[dest], dest); err != nil {
				return moved, fmt.Errorf("move %d messages to %s: %w", len(dests[dest]), dest, err)
			}
			moved += len(dests[dest])
		}
		return moved, nil
	}
	// finish moves a committed batch and says how it went. Whatever was
	// recorded is moved, even when the rest failed.
	finish := func(b *batch) error {
		t0 := time.Now()
		k, merr := move(b)
		n += k
		d.Log.Info("inbound batch", "messages", len(b.ins), "fetch", b.fetched.Round(time.Millisecond),
			"open", b.opened.Round(time.Millisecond), "commit", b.took.Round(time.Millisecond),
			"moved", k, "move", time.Since(t0).Round(time.Millisecond))
		if b.err != nil {
			d.Log.Error("store write failed: message left in the mailbox for a later pass", "err", b.err)
			return b.err
		}
		return merr
	}
	if len(uids) > 0 {
		d.opening.Add(1)
		defer d.opening.Add(-1)
	}
	var committing *batch
	fetchStart := time.Now()
	err = c.FetchBatches(uids, batchBytes, batchCount, func(fs []inbox.Fetched) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		b := &batch{fetched: time.Since(fetchStart), done: make(chan struct{})}
		var opening []Inbound
		for _, f := range fs {
			var tl *inbox.TooLargeError
			if errors.As(f.Err, &tl) {
				in := Inbound{Mailbox: mbox, UIDValidity: uv, UID: uint32(f.UID)}
				r, err := d.record(in, fmt.Sprintf("uid-%d-%d-%d", uv, f.UID, tl.Size), nil,
					quarantine(fmt.Sprintf("too large (%d bytes)", tl.Size), "", ""))
				if err != nil {
					d.Log.Error("store write failed: message left in the mailbox for a later pass", "uid", f.UID, "err", err)
					return err
				}
				b.ins, b.res = append(b.ins, in), append(b.res, r)
				continue
			}
			opening = append(opening, Inbound{Mailbox: mbox, UIDValidity: uv, UID: uint32(f.UID), Raw: f.Raw})
		}
		t0 := time.Now()
		p, perr := d.prepareBatch(opening)
		b.opened = time.Since(t0)
		prev := committing
		committing = nil
		if prev != nil {
			<-prev.done
		}
		if perr == nil && (prev == nil || prev.err == nil) {
			committing = b
			go func() {
				defer close(b.done)
				t0 := time.Now()
				got, err := d.commitBatch(p)
				b.took = time.Since(t0)
				b.ins, b.res, b.err = append(b.ins, opening[:len(got)]...), append(b.res, got...), err
			}()
		} else if len(b.res) > 0 {
			// Only the too large ones were recorded: move them with
			// the batch before.
			close(b.done)
			defer func() { _ = finish(b) }()
		}
		if prev != nil {
			if err := finish(prev); err != nil {
				return err
			}
		}
		fetchStart = time.Now()
		return perr
	})
	if committing != nil {
		// The last batch; after an IMAP error this may fail too, and the
		// next pass moves what the ledger already knows.
		<-committing.done
		if ferr := finish(committing); err == nil {
			err = ferr
		}
	}
	if err != nil {
		return n, err
	}
	return n, ctx.Err()
}

func (d *Desk) noteUIDValidity(mbox string, uv uint32) error {
	return d.Store.Update(func(tx *store.Tx) error {
		cur, err := tx.Cursor(mbox)
		if err != nil {
			return err
		}
		if cur.UIDValidity == uv {
			return nil
		}
		if cur.UIDValidity != 0 {
			d.Log.Warn("UIDVALIDITY changed: rescanning the mailbox; the ledger prevents double effects",
				"mailbox", mbox, "old", cur.UIDValidity, "new", uv)
		}
		return tx.PutCursor(mbox, store.Cursor{UIDValidity: uv})
	})
}

// recordWait is how long Drain gathers sends into one transaction.
const recordWait = 20 * time.Millisecond

// Sender is what Drain sends through (smtpout.Sender in production).
type Sender interface {
	Send(ctx context.Context, from string, to []string, raw []byte) error
}

// Drain sends every queued notice that is due, over up to
// smtp.connections sessions at once. A sent notice is recorded right after
// the server accepted it, several per transaction when they come in
// together; a crash in between is the only way a notice goes out twice,
// and then with the same Message-ID. appendSent, when not nil, stores a
// copy in the Sent mailbox (best effort, after the sends).
func (d *Desk) Drain(ctx context.Context, s Sender, appendSent func(raw []byte) error) (sent, failed int, err error) {
	now := d.Now()
	var due []*store.OutboxEntry
	if err := d.Store.View(func(tx *store.Tx) error {
		due, err = tx.QueuedOutbox(func(e *store.OutboxEntry) bool { return !e.NextAttempt.After(now) })
		return err
	}); err != nil {
		return 0, 0, err
	}
	if len(due) == 0 {
		d.noteOutbox()
		return 0, 0, nil
	}
	d.sending.Add(1)
	defer d.sending.Add(-1)
	type result struct {
		e    *store.OutboxEntry
		serr error
		took time.Duration
	}
	sendCtx, stop := context.WithCancel(ctx)
	defer stop()
	jobs := make(chan *store.OutboxEntry)
	results := make(chan result, len(due))
	// A server that cannot be reached fails every notice the same way:
	// the rest wait for the next pass instead of each counting an attempt.
	var down atomic.Bool
	var wg sync.WaitGroup
	for range min(max(d.Cfg.SMTP.Connections, 1), len(due)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range jobs {
				if down.Load() {
					continue // stays queued as it is
				}
				t0 := time.Now()
				serr := s.Send(sendCtx, e.From, e.To, e.Raw)
				if smtpout.IsSetupFailure(serr) {
					down.Store(true)
				}
				results <- result{e, serr, time.Since(t0)}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for _, e := range due {
			if down.Load() {
				return
			}
			select {
			case jobs <- e:
			case <-sendCtx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()

	var copies [][]byte
	var recordErr error
	for r := range results {
		// What arrives within recordWait of the first is recorded in the
		// same transaction: a commit per send would cost every notice an
		// fsync, on the disk the SMTP server queues to. A crash in that
		// window sends those notices again, with the same Message-IDs.
		batch := []result{r}
		wait := time.NewTimer(recordWait)
	more:
		for len(batch) < 256 {
			select {
			case r2, ok := <-results:
				if !ok {
					break more
				}
				batch = append(batch, r2)
			case <-wait.C:
				break more
			}
		}
		wait.Stop()
		if recordErr != nil {
			// The server may have taken them; they stay queued and go
			// again with the same Message-ID.
			continue
		}
		err := d.Store.Update(func(tx *store.Tx) error {
			for _, r := range batch {
				if err := d.recordSend(tx, r.e, r.serr); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			d.Log.Error("recording sends failed", "notices", len(batch), "err", err)
			recordErr = err
			stop()
			continue
		}
		for _, r := range batch {
			e := r.e
			log := d.Log.With("case", e.Case, "vendor", e.Vendor, "kind", e.Kind, "message_id", e.MessageID, "attempt", e.Attempts)
			d.Health.SMTP(r.serr == nil || !smtpout.IsTemporary(r.serr), r.serr)
			switch e.State {
			case store.OutSent:
				health.Notices.WithLabelValues(e.Kind, "sent").Inc()
				sent++
				log.Info("notice sent", "outcome", "sent", "duration", r.took.Round(time.Millisecond))
				if appendSent != nil {
					copies = append(copies, e.Raw)
				}
			case store.OutFailed:
				health.Notices.WithLabelValues(e.Kind, "failed").Inc()
				failed++
				log.Error("notice failed permanently", "outcome", "failed", "err", r.serr)
			default:
				health.Notices.WithLabelValues(e.Kind, "retry").Inc()
				log.Warn("notice deferred", "outcome", "retry", "next", e.NextAttempt, "err", r.serr)
			}
		}
	}
	for _, raw := range copies {
		if ctx.Err() != nil {
			break
		}
		if err := appendSent(raw); err != nil {
			d.Log.Warn("copy to the sent mailbox failed", "err", err)
		}
	}
	d.noteOutbox()
	if recordErr != nil {
		return sent, failed, recordErr
	}
	return sent, failed, ctx.Err()
}

// recordSend records one attempt's outcome in e (and the store).
func (d *Desk) recordSend(tx *store.Tx, e *store.OutboxEntry, serr error) error {
	cur, err := tx.OutboxMeta(e.Seq)
	if err != nil {
		return err
	}
	cur.Attempts++
	switch {
	case serr == nil:
		cur.State, cur.SentAt, cur.LastError = store.OutSent, d.Now(), ""
	case smtpout.IsTemporary(serr):
		cur.LastError = serr.Error()
		// Backoff(0) is the first retry's delay.
		cur.NextAttempt = d.Now().Add(smtpout.Backoff(cur.Attempts - 1))
	default:
		cur.State, cur.LastError = store.OutFailed, serr.Error()
		if !isCoordinatorNotice(cur.Kind) {
			var c *store.Case
			if cur.Case != "" {
				c, _ = tx.Case(cur.Case)
			}
			n := process.Notice{Kind: process.KindBounceNotice, Case: cur.Case, ToCoordinators: true,
				Fields: map[string]string{"reason": "sending the " + cur.Kind + " notice failed permanently: " + serr.Error(),
					"message_id": cur.MessageID, "vendor": cur.Vendor}}
			if err := d.queue(tx, d.Now(), c, n); err != nil {
				return err
			}
		}
	}
	raw := e.Raw
	*e = *cur
	e.Raw = raw
	return tx.PutOutbox(cur)
}

// noteOutbox records the outbox depth and the age of its oldest entry.
func (d *Desk) noteOutbox() {
	now := d.Now()
	_ = d.Store.View(func(tx *store.Tx) error {
		// Queue order is the order of queueing: the first is the oldest.
		n, first, err := tx.QueueDepth()
		var oldest time.Duration
		if first != nil {
			oldest = max(0, now.Sub(first.Created))
		}
		d.Health.Outbox(n, oldest)
		counts := tx.CaseCounts()
		for _, st := range []string{store.CaseDraft, store.CaseActive, store.CaseScheduled, store.CasePublished, store.CaseClosed, store.CaseCancelled} {
			health.Cases.WithLabelValues(st).Set(float64(counts[st]))
		}
		return err
	})
}

func isCoordinatorNotice(kind string) bool {
	return kind == process.KindTriage || kind == process.KindBounceNotice
}

// OutboxPending counts queued notices and those due now.
func (d *Desk) OutboxPending() (queued, due int, err error) {
	now := d.Now()
	err = d.Store.View(func(tx *store.Tx) error {
		es, err := tx.QueuedOutbox(nil)
		for _, e := range es {
			if !e.NextAttempt.After(now) {
				due++
			}
		}
		queued = len(es)
		return err
	})
	return
}

// Mail holds the daemon's connections.
type Mail struct {
	IMAP inbox.Config
	SMTP smtpout.Config
}

// PollOnce processes the mailbox once and drains the outbox (`poll --once`).
func (d *Desk) PollOnce(ctx context.Context, m Mail) error {
	c, err := inbox.Dial(ctx, m.IMAP, d.Log)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Ensure(d.mailboxes()...); err != nil {
		return err
	}
	if _, err := d.Poll(ctx, c); err != nil {
		return err
	}
	s := smtpout.New(m.SMTP, d.Log)
	defer s.Close()
	_, _, err = d.Drain(ctx, s, d.sentAppender(c))
	return err
}

func (d *Desk) mailboxes() []string {
	names := []string{d.Cfg.IMAP.ProcessedMailbox, d.Cfg.IMAP.QuarantineMailbox}
	if d.Cfg.SMTP.SentMailbox != "" {
		names = append(names, d.Cfg.SMTP.SentMailbox)
	}
	return names
}

func (d *Desk) sentAppender(c *inbox.Client) func([]byte) error {
	if d.Cfg.SMTP.SentMailbox == "" {
		return nil
	}
	return func(raw []byte) error { return c.Append(d.Cfg.SMTP.SentMailbox, raw, imap.FlagSeen) }
}

// Serve runs until ctx ends: the inbound loop (IDLE or polling) and the
// outbox sender, each reconnecting with backoff.
func (d *Desk) Serve(ctx context.Context, m Mail) error {
	kick := make(chan struct{}, 1)
	d.OnQueued(func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	})
	// Parse every pinned key while the connections come up, so a backlog
	// waiting in the mailbox does not pay for it message by message.
	go func() {
		t0 := time.Now()
		if err := d.WarmKeys(); err != nil {
			d.Log.Warn("parsing the pinned keys ahead failed; they are parsed on use", "err", err)
			return
		}
		d.Log.Info("pinned keys parsed", "duration", time.Since(t0).Round(time.Millisecond))
	}()
	// The first scheduler pass waits for the first inbound pass: a vendor
	// whose answer sits in the INBOX while the daemon was down must not
	// get a reminder for it, and the backlog is read sooner alone.
	inboundReady := make(chan struct{})
	var readyOnce sync.Once
	d.afterPoll = func() { readyOnce.Do(func() { close(inboundReady) }) }
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); d.schedulerLoop(ctx, inboundReady) }()
	go func() { defer wg.Done(); d.inboundLoop(ctx, m.IMAP) }()
	go func() { defer wg.Done(); d.outboundLoop(ctx, m, kick) }()
	wg.Wait()
	return nil
}

func (d *Desk) inboundLoop(ctx context.Context, cfg inbox.Config) {
	log := d.Log.With("loop", "inbound")
	attempt := 0
	for ctx.Err() == nil {
		err := d.inboundSession(ctx, cfg, log, &attempt)
		if ctx.Err() != nil {
			return
		}
		wait := inbox.Backoff(attempt)
		attempt++
		log.Error("IMAP session ended; reconnecting", "err", err, "in", wait.Round(time.Millisecond))
		sleep(ctx, wait)
	}
}

func (d *Desk) inboundSession(ctx context.Context, cfg inbox.Config, log *slog.Logger, attempt *int) error {
	c, err := inbox.Dial(ctx, cfg, d.Log)
	if err != nil {
		d.Health.IMAP(false, err, d.Now())
		return err
	}
	defer c.Close()
	if err := c.Ensure(d.mailboxes()...); err != nil {
		d.Health.IMAP(false, err, d.Now())
		return err
	}
	d.Health.IMAP(true, nil, d.Now())
	log.Info("IMAP connected", "address", cfg.Address)
	for ctx.Err() == nil {
		n, err := d.Poll(ctx, c)
		if err != nil {
			d.Health.IMAP(false, err, d.Now())
			return err
		}
		d.Health.Polled(d.Now())
		if d.afterPoll != nil {
			d.afterPoll()
		}
		*attempt = 0
		if n > 0 {
			log.Debug("pass done", "messages", n)
			// An answer may stop a reminder or an unreachable track.
			if _, err := d.Tick(d.Now()); err != nil {
				log.Error("scheduler pass failed", "err", err)
			}
		}
		if _, err := c.Wait(ctx, min(cfg.PollInterval*5, inbox.MaxIdle)); err != nil && ctx.Err() == nil {
			return err
		}
	}
	return nil
}

func (d *Desk) outboundLoop(ctx context.Context, m Mail, kick <-chan struct{}) {
	log := d.Log.With("loop", "outbound")
	s := smtpout.New(m.SMTP, d.Log)
	defer s.Close()
	var appendSent func([]byte) error
	if d.Cfg.SMTP.SentMailbox != "" {
		copies := newSentCopier(ctx, d, m.IMAP)
		defer copies.close()
		appendSent = copies.add
	}
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	for {
		if _, _, err := d.Drain(ctx, s, appendSent); err != nil && ctx.Err() == nil {
			log.Error("outbox pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-kick:
		case <-tick.C:
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// firstPassWait bounds how long the first scheduler pass waits for the
// first inbound pass (an IMAP server that is down must not stop it).
const firstPassWait = 10 * time.Second

// schedulerLoop runs a scheduler pass every minute (DESIGN §5), the first
// once inboundReady is closed or after firstPassWait.
func (d *Desk) schedulerLoop(ctx context.Context, inboundReady <-chan struct{}) {
	wait := time.NewTimer(firstPassWait)
	select {
	case <-inboundReady:
	case <-wait.C:
	case <-ctx.Done():
		wait.Stop()
		return
	}
	wait.Stop()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if _, err := d.Tick(d.Now()); err != nil && ctx.Err() == nil {
			d.Log.Error("scheduler pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sentCopier stores copies of sent notices in the Sent mailbox on its own
// IMAP connection and goroutine, so that a mass notice's thousand APPENDs
// never hold up the next notices. The copies are best effort: the outbox
// keeps every notice; what is still waiting at shutdown is dropped.
type sentCopier struct {
	d *Desk
	// busy holds the copies back while notices are being sent: they are
	// low priority, and the same servers take both.
	busy func() bool
	cfg  inbox.Config
	mu   sync.Mutex
	cond *sync.Cond
	q    [][]byte
	done bool
	wg   sync.WaitGroup
}

func newSentCopier(ctx context.Context, d *Desk, cfg inbox.Config) *sentCopier {
	sc := &sentCopier{d: d, cfg: cfg, busy: func() bool { return d.sending.Load() > 0 }}
	sc.cond = sync.NewCond(&sc.mu)
	sc.wg.Add(1)
	go sc.run(ctx)
	go func() {
		<-ctx.Done()
		sc.mu.Lock()
		sc.done = true
		sc.cond.Broadcast()
		sc.mu.Unlock()
	}()
	return sc
}

func (sc *sentCopier) add(raw []byte) error {
	sc.mu.Lock()
	sc.q = append(sc.q, raw)
	sc.cond.Signal()
	sc.mu.Unlock()
	return nil
}

func (sc *sentCopier) close() {
	sc.mu.Lock()
	sc.done = true
	sc.cond.Broadcast()
	sc.mu.Unlock()
	sc.wg.Wait()
}

func (sc *sentCopier) run(ctx context.Context) {
	defer sc.wg.Done()
	var c *inbox.Client
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	for {
		sc.mu.Lock()
		for len(sc.q) == 0 && !sc.done {
			sc.cond.Wait()
		}
		if sc.done {
			if n := len(sc.q); n > 0 {
				sc.d.Log.Warn("copies to the sent mailbox not made at shutdown", "count", n)
			}
			sc.mu.Unlock()
			return
		}
		if sc.busy() {
			sc.mu.Unlock()
			sleep(ctx, 100*time.Millisecond)
			continue
		}
		raw := sc.q[0]
		sc.q = sc.q[1:]
		sc.mu.Unlock()
		if c == nil {
			var err error
			if c, err = inbox.Dial(ctx, sc.cfg, sc.d.Log); err != nil {
				c = nil
				sc.d.Log.Warn("copy to the sent mailbox failed", "err", err)
				sleep(ctx, time.Second)
				continue
			}
		}
		if err := c.Append(sc.d.Cfg.SMTP.SentMailbox, raw, imap.FlagSeen); err != nil {
			c.Close()
			c = nil
			sc.d.Log.Warn("copy to the sent mailbox failed", "err", err)
		}
	}
}
