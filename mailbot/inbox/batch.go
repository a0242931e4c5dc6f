package inbox

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Fetched is one message read by FetchBatches: Raw, or Err (a
// *TooLargeError) when it was not read.
type Fetched struct {
	UID imap.UID
	Raw []byte
	Err error
}

// FetchBatches reads the given messages of the selected mailbox in UID
// order, as many per FETCH command as fit in maxBytes and maxCount (at
// least one), and calls fn with each batch outside of any IMAP command, so
// fn may Move. One command per batch instead of one per message is what
// makes a backlog drain fast. Messages over MaxMessageSize are not read
// (Err is a *TooLargeError); UIDs gone before the fetch are skipped. An
// error from fn stops FetchBatches and is returned wrapped.
func (c *Client) FetchBatches(uids []imap.UID, maxBytes int64, maxCount int, fn func([]Fetched) error) error {
	uids = slices.Clone(uids)
	slices.Sort(uids)
	uids = slices.Compact(uids)
	if len(uids) == 0 {
		return nil
	}
	sizes, err := c.sizes(uids)
	if err != nil {
		return err
	}
	var batch []imap.UID
	var batchBytes int64
	var tooLarge []Fetched
	flush := func() error {
		if len(batch) == 0 && len(tooLarge) == 0 {
			return nil
		}
		got, err := c.bodies(batch)
		if err != nil {
			return err
		}
		out := tooLarge
		for _, uid := range batch {
			f, ok := got[uid]
			if !ok {
				c.log.Debug("imap message gone during fetch", "uid", uid)
				continue
			}
			out = append(out, f)
		}
		slices.SortFunc(out, func(a, b Fetched) int { return int(a.UID) - int(b.UID) })
		batch, batchBytes, tooLarge = nil, 0, nil
		if len(out) == 0 {
			return nil
		}
		if err := fn(out); err != nil {
			return fmt.Errorf("inbox: handle uids %d-%d: %w", out[0].UID, out[len(out)-1].UID, err)
		}
		return nil
	}
	for _, uid := range uids {
		size, ok := sizes[uid]
		if !ok {
			c.log.Debug("imap message gone before fetch", "uid", uid)
			continue
		}
		if size > c.cfg.MaxMessageSize {
			tooLarge = append(tooLarge, Fetched{UID: uid, Err: &TooLargeError{UID: uid, Size: size, Limit: c.cfg.MaxMessageSize}})
			continue
		}
		if len(batch) > 0 && (batchBytes+size > maxBytes || len(batch) >= maxCount) {
			if err := flush(); err != nil {
				return err
			}
		}
		batch = append(batch, uid)
		batchBytes += size
	}
	return flush()
}

// bodies fetches the given messages with one UID FETCH BODY.PEEK[].
func (c *Client) bodies(uids []imap.UID) (map[imap.UID]Fetched, error) {
	out := make(map[imap.UID]Fetched, len(uids))
	if len(uids) == 0 {
		return out, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	limit := c.cfg.MaxMessageSize
	err := c.do(fmt.Sprintf("fetch %d messages", len(uids)), 0, func(w *watchdog) error {
		if err := c.needSelected(); err != nil {
			return err
		}
		section := &imap.FetchItemBodySection{Peek: true}
		cmd := c.ic.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}})
		var readErr error
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			var uid imap.UID
			var raw []byte
			var msgErr error
			have := false
			for item := msg.Next(); item != nil; item = msg.Next() {
				switch it := item.(type) {
				case imapclient.FetchItemDataUID:
					uid = it.UID
				case imapclient.FetchItemDataBodySection:
					if it.Literal == nil || !it.MatchCommand(section) || have || readErr != nil {
						continue
					}
					if n := it.Literal.Size(); n > limit {
						msgErr = &TooLargeError{Size: n, Limit: limit}
						have = true
						continue
					}
					// Read to the end before the next item: go-imap
					// hands out the literal straight from the socket.
					raw, readErr = readLiteral(progressReader{it.Literal, w}, it.Literal.Size(), limit)
					have = readErr == nil
				}
			}
			if uid == 0 || !have {
				continue
			}
			var tl *TooLargeError
			if errors.As(msgErr, &tl) {
				tl.UID = uid
			}
			out[uid] = Fetched{UID: uid, Raw: raw, Err: msgErr}
		}
		// Close drains what we don't read (emersion/go-imap#667).
		if err := cmd.Close(); err != nil {
			return err
		}
		return readErr
	})
	return out, err
}

// MoveAll moves messages of the selected mailbox to dest with one command
// (or UID COPY, STORE, UID EXPUNGE of exactly these UIDs without MOVE).
// UIDs already gone count as moved, so a repeated MoveAll is harmless.
func (c *Client) MoveAll(uids []imap.UID, dest string) error {
	if len(uids) == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.do(fmt.Sprintf("move %d messages to %s", len(uids), dest), 0, func(w *watchdog) error {
		if err := c.needSelected(); err != nil {
			return err
		}
		data, err := c.ic.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{imap.UIDSetNum(uids...)}}, nil).Wait()
		if err != nil {
			return fmt.Errorf("search: %w", err)
		}
		found, ok := data.All.(imap.UIDSet)
		if !ok {
			c.log.Debug("imap move: uids already gone", "count", len(uids))
			return nil
		}
		var present []imap.UID
		for _, uid := range uids {
			if found.Contains(uid) {
				present = append(present, uid)
			}
		}
		if len(present) == 0 {
			return nil
		}
		return c.moveSet(w, imap.UIDSetNum(present...), dest)
	})
}

// moveSet moves a set of present UIDs (under c.mu, inside do).
func (c *Client) moveSet(w *watchdog, set imap.UIDSet, dest string) error {
	w.kick()
	switch moveMethod(c.ic.Caps()) {
	case moveNative:
		// The library checks the MOVE capability itself too, so this
		// never takes its unsafe fallback.
		_, err := c.ic.Move(set, dest).Wait()
		return err
	case moveUIDPlus:
		if _, err := c.ic.Copy(set, dest).Wait(); err != nil {
			return fmt.Errorf("copy: %w", err)
		}
		w.kick()
		store := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}
		if err := c.ic.Store(set, store, nil).Close(); err != nil {
			return fmt.Errorf("store \\Deleted: %w", err)
		}
		w.kick()
		if err := c.ic.UIDExpunge(set).Close(); err != nil {
			return fmt.Errorf("uid expunge: %w", err)
		}
		return nil
	default:
		return ErrNoMove
	}
}

// readLiteral reads a literal of the announced size into one buffer of
// that size: io.ReadAll would grow and copy a large message several times.
func readLiteral(r io.Reader, size, limit int64) ([]byte, error) {
	if size < 0 || size > limit {
		return io.ReadAll(io.LimitReader(r, limit))
	}
	buf := make([]byte, size)
	n, err := io.ReadFull(r, buf)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return buf[:n], nil
	}
	return buf[:n], err
}
