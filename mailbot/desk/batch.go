package desk

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/coordbot/coordbot/mailbot/open"
	"github.com/coordbot/coordbot/store"
)

// HandleBatch does what Handle does for several messages, faster: the
// messages are opened (decrypted, verified, parsed) in parallel, then all
// are classified and recorded in one transaction, so a backlog costs one
// fsync per batch instead of one per message. The results are in the order
// of ins. On an error it returns the results of the messages recorded
// before it (a prefix of ins): the rest stay in the mailbox for a later
// pass.
//
// When the batch transaction fails (a store error, a command mail that
// rolls back, a panic), nothing of it is kept and every message goes
// through Handle on its own, so one message never decides another's fate.
func (d *Desk) HandleBatch(ins []Inbound) ([]Result, error) {
	p, err := d.prepareBatch(ins)
	if err != nil {
		return nil, err
	}
	return d.commitBatch(p)
}

// batchItem is one message of a batch, opened and waiting for the
// transaction.
type batchItem struct {
	hash     string
	msg      *open.Message
	v        verdict
	seen     *store.LedgerEntry
	res      Result
	panicked bool
	took     time.Duration
}

// preparedBatch is a batch opened and ready to record. Opening touches
// no state, so the next batch can be opened while this one commits.
type preparedBatch struct {
	ins   []Inbound
	items []batchItem
	gen   uint64 // keyGen the messages were opened with
	start time.Time
	open  time.Duration
}

// prepareBatch opens the messages of a batch in parallel: the ledger is
// asked which were recorded before, the rest are decrypted, verified and
// parsed. Nothing is written.
func (d *Desk) prepareBatch(ins []Inbound) (*preparedBatch, error) {
	p := &preparedBatch{ins: ins}
	if len(ins) <= 1 {
		return p, nil // Handle opens it
	}
	start := d.Now()
	openStart := time.Now()
	items := make([]batchItem, len(ins))
	workers := min(runtime.GOMAXPROCS(0), len(ins))
	gen := d.keyGen()
	var keys []*open.Keys
	if err := d.Store.View(func(tx *store.Tx) (err error) {
		for i, in := range ins {
			if e, lerr := tx.LedgerByUID(in.Mailbox, in.UIDValidity, in.UID); lerr == nil {
				// Recorded before (a crash before the MOVE): no need to parse again.
				items[i].seen = e
			}
		}
		keys, err = d.openKeysN(tx, start, workers)
		return
	}); err != nil {
		return nil, fmt.Errorf("handle %d messages: %w", len(ins), err)
	}
	lim := open.Limits{MaxSize: d.Cfg.Limits.MaxMessageBytes, MaxDepth: d.Cfg.Limits.MaxMIMEDepth, MaxParts: d.Cfg.Limits.MaxMIMEParts,
		MaxAttachment: d.Cfg.Limits.MaxAttachmentBytes}
	openOne := func(i, w int) {
		it := &items[i]
		t0 := time.Now()
		defer func() {
			if r := recover(); r != nil {
				// Handle runs it again alone and quarantines it.
				it.panicked = true
				d.Log.Error("panic while opening a message in a batch", "uid", ins[i].UID, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			}
			it.took = time.Since(t0)
		}()
		it.hash = Hash(ins[i].Raw)
		msg, perr := open.ParseWith(ins[i].Raw, lim, keys[w])
		if perr != nil {
			it.v = quarantine("unreadable message: "+reasonOf(perr), "", "")
			return
		}
		it.msg = msg
		// Ready the signer's key for sealing the acknowledgement here, on
		// this core, from the key just checked, rather than parse it on
		// first use inside the batch transaction. Other keys a vendor
		// may hold are parsed there if needed.
		if msg.Signature == open.SigValid && msg.SignedBy != "" {
			d.readySealKey(msg.SignedBy, start, keys[w])
		}
	}
	// Decryption and signature checks are the cost; they spread over the
	// cores while the store stays single-writer.
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				openOne(i, w)
			}
		}()
	}
	for i := range items {
		if items[i].seen == nil {
			jobs <- i
		}
	}
	close(jobs)
	wg.Wait()
	p.items, p.gen, p.start, p.open = items, gen, start, time.Since(openStart)
	return p, nil
}

// commitBatch records a prepared batch in one transaction, see
// HandleBatch. A batch opened before a key was pinned is opened again.
func (d *Desk) commitBatch(p *preparedBatch) ([]Result, error) {
	ins := p.ins
	if len(ins) == 0 {
		return nil, nil
	}
	if len(ins) == 1 {
		res, err := d.Handle(ins[0])
		if err != nil {
			return nil, err
		}
		return []Result{res}, nil
	}
	if p.gen != d.keyGen() {
		// A batch recorded meanwhile pinned a key: a signature by it would
		// have been judged without it.
		again, err := d.prepareBatch(ins)
		if err != nil {
			return nil, err
		}
		p = again
	}
	items, gen := p.items, p.gen
	now := d.Now()
	commitStart := time.Now()
	// A message that pins a key ends the batch: the messages after it were
	// opened with the old keys, so they go again with the new ones.
	end := len(ins)
	err := func() (err error) {
		defer func() {
			// bbolt rolled the transaction back; the messages go one by one.
			if r := recover(); r != nil {
				err = fmt.Errorf("panic in batch: %v", r)
			}
		}()
		return d.Store.Update(func(tx *store.Tx) error {
			end = len(ins)
			for i := range items {
				if d.keyGen() != gen {
					// Pinned by the message before, or by a command
					// since the batch was opened.
					end = i
					break
				}
				it := &items[i]
				if it.seen != nil || it.panicked {
					continue
				}
				res, err := d.recordTx(tx, now, ins[i], it.hash, it.msg, it.v)
				if err != nil {
					return err
				}
				it.res = res
			}
			return nil
		})
	}()
	commit := time.Since(commitStart)
	if err != nil {
		d.Log.Warn("batch not recorded: handling its messages one by one", "messages", len(ins), "err", err)
		out := make([]Result, 0, len(ins))
		for _, in := range ins {
			res, err := d.Handle(in)
			if err != nil {
				return out, err
			}
			out = append(out, res)
		}
		return out, nil
	}
	out := make([]Result, end)
	queued := false
	for i := range items[:end] {
		it := &items[i]
		switch {
		case it.seen != nil:
			e := it.seen
			out[i] = Result{Dest: e.Dest, Outcome: e.Outcome, Reason: e.Reason, Case: e.Case, Vendor: e.Vendor, MessageID: e.MessageID, Again: true}
		case it.panicked:
			res, err := d.Handle(ins[i])
			if err != nil {
				return out[:i], err
			}
			out[i] = res
			continue // Handle logged it
		default:
			out[i] = it.res
			queued = queued || !it.res.Again
		}
		d.noteInbound(ins[i], out[i], it.took+commit/time.Duration(len(ins)), "batch", len(ins))
	}
	if queued {
		// Acknowledgements and triage go out now, not at the next timer.
		d.queued()
	}
	if end < len(ins) {
		rest, err := d.HandleBatch(ins[end:])
		return append(out, rest...), err
	}
	return out, nil
}
