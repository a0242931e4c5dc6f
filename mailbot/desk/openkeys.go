package desk

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	v2 "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/coordbot/coordbot/mailbot/keys"
	"github.com/coordbot/coordbot/mailbot/open"
	"github.com/coordbot/coordbot/mailbot/process"
	"github.com/coordbot/coordbot/store"
)

// openKeys returns what the opener needs: the robot's keys (current and
// retired) to decrypt, every pinned vendor and coordinator key to verify.
// It is cached until a key changes.
func (d *Desk) openKeys(tx *store.Tx, now time.Time) (*open.Keys, error) {
	ks, err := d.openKeysN(tx, now, 1)
	if err != nil {
		return nil, err
	}
	return ks[0], nil
}

// openKeysN returns n independent key sets, one per worker opening
// messages in parallel: go-crypto caches verification results inside its
// entities, so workers must not share them.
func (d *Desk) openKeysN(tx *store.Tx, now time.Time, n int) ([]*open.Keys, error) {
	// One builder at a time: the warm-up at start and the first batch
	// would otherwise both parse every key.
	d.keys.build.Lock()
	defer d.keys.build.Unlock()
	d.keys.mu.Lock()
	cached := d.keys.open
	d.keys.mu.Unlock()
	if len(cached) < n {
		vendors, err := tx.Vendors()
		if err != nil {
			return nil, err
		}
		secret, err := d.robotSecretBytes()
		if err != nil {
			return nil, err
		}
		// Each set on its own core: a desk with thousands of vendors
		// parses thousands of keys per set.
		built := make([]*open.Keys, n-len(cached))
		errs := make([]error, len(built))
		var wg sync.WaitGroup
		for i := range built {
			wg.Add(1)
			go func() {
				defer wg.Done()
				built[i], errs[i] = d.buildOpenKeys(vendors, secret, now)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		cached = append(cached, built...)
	}
	d.keys.mu.Lock()
	if len(d.keys.open) < len(cached) {
		d.keys.open = cached
	}
	d.keys.mu.Unlock()
	out := make([]*open.Keys, n)
	for i := range out {
		c := *cached[i]
		c.Now = now
		out[i] = &c
	}
	return out, nil
}

// robotSecretBytes serialises the robot's keys, current and retired, for
// the key sets to read (keys.SecretBytes).
func (d *Desk) robotSecretBytes() ([][]byte, error) {
	robot, err := d.RobotKey()
	if err != nil {
		return nil, err
	}
	old, err := d.RetiredKeys()
	if err != nil {
		return nil, err
	}
	// Once per build (openKeysN holds keys.build), not once per set:
	// serialising writes into the entity's signatures.
	return keys.SecretBytes(append(old, robot)...)
}

func (d *Desk) buildOpenKeys(vendors []*store.Vendor, secret [][]byte, now time.Time) (*open.Keys, error) {
	dec, err := keys.SecretV2FromBytes(secret)
	if err != nil {
		return nil, err
	}
	var ver v2.EntityList
	for _, v := range vendors {
		for _, k := range v.Keys {
			if k.Pending {
				continue
			}
			e, err := keys.PublicV2(k.Armored)
			if err != nil {
				d.Log.Warn("pinned key unreadable", "vendor", v.ID, "fingerprint", k.Fingerprint, "err", err)
				continue
			}
			ver = append(ver, e)
		}
	}
	for i := range d.Cfg.Coordinators {
		co := &d.Cfg.Coordinators[i]
		if co.KeyFile == "" {
			continue
		}
		if pub, err := keys.ReadPublicFile(co.KeyFile, now); err == nil {
			if e, err := keys.PublicV2(pub.Armored); err == nil {
				ver = append(ver, e)
			}
		}
	}
	k := &open.Keys{Decrypt: dec, Verify: ver, MaxDecompressed: d.Cfg.Limits.MaxMessageBytes * 2, Mu: &sync.Mutex{}}
	k.Prepare()
	return k, nil
}

// keysChanged drops the cached key lists after a key was pinned or removed.
func (d *Desk) keysChanged() {
	d.keys.mu.Lock()
	d.keys.open = nil
	// d.keys.public stays: it is keyed by fingerprint, and whether a key
	// is usable is decided at each use.
	d.keys.gen++
	d.keys.mu.Unlock()
}

func (d *Desk) keyGen() uint64 {
	d.keys.mu.Lock()
	defer d.keys.mu.Unlock()
	return d.keys.gen
}

// authenticate says whether msg is signed by one of v's pinned keys, or
// why it must be refused: a signature by any other key, a bad one, or one
// that covers only part of the body never counts (T3, T4). Encryption alone
// proves nothing: anyone can encrypt to the robot.
func authenticate(v *store.Vendor, msg *open.Message) (bool, string) {
	switch msg.Signature {
	case open.SigNone:
		return false, ""
	case open.SigValid:
		for _, k := range v.Keys {
			if !k.Pending && k.Fingerprint == msg.SignedBy {
				return true, ""
			}
		}
		return false, "signed by a key that is not the vendor's"
	case open.SigUnknownSigner:
		return false, "signed by an unknown key"
	case open.SigPartial:
		return false, "only part of the message is signed"
	case open.SigExpiredKey:
		return false, "signed with an expired key"
	}
	return false, "bad signature"
}

func hasPinnedKey(v *store.Vendor) bool {
	for _, k := range v.Keys {
		if !k.Pending {
			return true
		}
	}
	return false
}

// offeredKeys records public keys a vendor sent by mail. A key signed into
// the message by the vendor's current key is trusted at once; any other is
// pending until a coordinator confirms it. The coordinators are told either
// way, and unusable keys are reported, never kept.
func (d *Desk) offeredKeys(tx *store.Tx, now time.Time, msg *open.Message, v *store.Vendor, c *store.Case, authenticated bool) error {
	changed := false
	for _, arm := range msg.Keys {
		pub, err := keys.ParsePublic([]byte(arm), now)
		reason := ""
		switch {
		case err != nil:
			reason = "vendor " + v.ID + " sent an OpenPGP key that cannot be used: " + err.Error()
		case pinnedOrPending(v, pub.Fingerprint):
			continue
		case authenticated:
			v.Keys = append(v.Keys, store.Key{Fingerprint: pub.Fingerprint, Armored: pub.Armored, Added: now})
			reason = "vendor " + v.ID + " sent a new OpenPGP key " + pub.Fingerprint + ", signed by its current key: pinned"
			changed = true
		default:
			v.Keys = append(v.Keys, store.Key{Fingerprint: pub.Fingerprint, Armored: pub.Armored, Added: now, Pending: true})
			reason = fmt.Sprintf("vendor %s sent an OpenPGP key %s: pending until a coordinator confirms it (coordbot vendor key %s confirm %s)",
				v.ID, pub.Fingerprint, v.ID, pub.Fingerprint)
			changed = true
		}
		n := process.Notice{Kind: process.KindBounceNotice, Case: c.ID, ToCoordinators: true,
			Fields: map[string]string{"reason": reason, "from": msg.From.Addr, "message_id": msg.MessageID, "vendor": v.ID}}
		if err := d.queue(tx, now, c, n); err != nil {
			return err
		}
	}
	if changed {
		v.Updated = now
		if err := tx.PutVendor(v); err != nil {
			return err
		}
		d.keysChanged()
	}
	return nil
}

func pinnedOrPending(v *store.Vendor, fpr string) bool {
	for _, k := range v.Keys {
		if strings.EqualFold(k.Fingerprint, fpr) {
			return true
		}
	}
	return false
}

// WarmKeys parses every pinned key ahead of need, on every core: the key
// sets that open mail (one per worker) and the keys that seal notices. A
// desk with thousands of vendors otherwise parses them on the first
// message of each, inside the batch transaction; serve runs this at start.
func (d *Desk) WarmKeys() error {
	var vendors []*store.Vendor
	if err := d.Store.View(func(tx *store.Tx) (err error) {
		if _, err = d.openKeysN(tx, d.Now(), runtime.GOMAXPROCS(0)); err != nil {
			return err
		}
		vendors, err = tx.Vendors()
		return err
	}); err != nil {
		return err
	}
	now := d.Now()
	next := make(chan *store.Vendor)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := range next {
				// A backlog being opened readies its signers' keys
				// itself, from the keys its workers have just checked
				// (readySealKey), without parsing them again here.
				for d.opening.Load() > 0 {
					time.Sleep(20 * time.Millisecond)
				}
				d.vendorKeys(v, now)
			}
		}()
	}
	for _, v := range vendors {
		next <- v
	}
	close(next)
	wg.Wait()
	return nil
}
