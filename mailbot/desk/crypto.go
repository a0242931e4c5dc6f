package desk

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	v2 "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/coordbot/coordbot/mailbot/config"
	"github.com/coordbot/coordbot/mailbot/keys"
	"github.com/coordbot/coordbot/mailbot/open"
	"github.com/coordbot/coordbot/store"
)

// keyring caches parsed keys: the robot's secret key (loaded on first use,
// so commands that send nothing need no passphrase) and pinned public keys.
type keyring struct {
	build  sync.Mutex // held while open key sets are built
	mu     sync.Mutex
	robot  *openpgp.Entity
	old    []*openpgp.Entity // rotated-out robot keys, kept for reading
	public map[string]*openpgp.Entity
	coord  map[string]*openpgp.Entity
	open   []*open.Keys // one per parallel worker
	gen    uint64       // counts key changes
}

// SetRobotKey installs the robot key directly (tests, demo).
func (d *Desk) SetRobotKey(e *openpgp.Entity) {
	d.keys.mu.Lock()
	d.keys.robot = e
	d.keys.mu.Unlock()
}

// RobotKey loads the robot's secret key from pgp.key_file.
func (d *Desk) RobotKey() (*openpgp.Entity, error) {
	d.keys.mu.Lock()
	defer d.keys.mu.Unlock()
	if d.keys.robot != nil {
		return d.keys.robot, nil
	}
	pass, err := config.Secret(d.Cfg.PGP.PassphraseFile, d.Cfg.PGP.PassphraseEnv)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(d.Cfg.PGP.KeyFile); err != nil {
		return nil, fmt.Errorf("robot key %s missing: run coordbot init", d.Cfg.PGP.KeyFile)
	}
	e, err := keys.LoadPrivate(d.Cfg.PGP.KeyFile, []byte(pass))
	if err != nil {
		return nil, err
	}
	d.keys.robot = e
	return e, nil
}

// vendorKeys returns the vendor's confirmed keys usable at now. Pending,
// expired, revoked or encryption-incapable keys are never used (T10).
func (d *Desk) vendorKeys(v *store.Vendor, now time.Time) []*openpgp.Entity {
	var out []*openpgp.Entity
	for _, k := range v.Keys {
		if k.Pending {
			continue
		}
		e := d.parsedKey(k.Fingerprint, k.Armored, now)
		if e == nil || keys.Usable(e, now) != nil {
			continue
		}
		out = append(out, e)
	}
	return out
}

// readySealKey readies the pinned key fpr for sealing while a batch
// worker opens an answer signed by it: the entity is built from the key
// the worker's own set has just checked, not parsed and checked again.
// A key that cannot be used now is left for parsedKey, which logs why.
func (d *Desk) readySealKey(fpr string, now time.Time, ks *open.Keys) {
	d.keys.mu.Lock()
	_, ok := d.keys.public[fpr]
	d.keys.mu.Unlock()
	if ok {
		return
	}
	var e *openpgp.Entity
	ks.WithPinned(fpr, func(e2 *v2.Entity) {
		if e2 != nil {
			e, _ = keys.EncryptionV1(e2, now)
		}
	})
	if e == nil {
		return
	}
	d.keys.mu.Lock()
	defer d.keys.mu.Unlock()
	if d.keys.public == nil {
		d.keys.public = map[string]*openpgp.Entity{}
	}
	if _, ok := d.keys.public[fpr]; !ok {
		d.keys.public[fpr] = e
	}
}

func (d *Desk) parsedKey(fpr, armored string, now time.Time) *openpgp.Entity {
	d.keys.mu.Lock()
	e, ok := d.keys.public[fpr]
	d.keys.mu.Unlock()
	if ok {
		return e
	}
	// Parsed outside the lock: workers opening a batch parse their
	// senders' keys at the same time.
	e, err := keys.ParseEntity([]byte(armored), now)
	if err == nil && keys.Fingerprint(e) != fpr {
		err = fmt.Errorf("the stored key is %s", keys.Fingerprint(e))
	}
	if err != nil {
		d.Log.Warn("pinned key unusable", "fingerprint", fpr, "err", err)
		return nil
	}
	d.keys.mu.Lock()
	defer d.keys.mu.Unlock()
	if d.keys.public == nil {
		d.keys.public = map[string]*openpgp.Entity{}
	}
	if prev, ok := d.keys.public[fpr]; ok {
		return prev // parsed meanwhile by another worker: one entity per key
	}
	d.keys.public[fpr] = e
	return e
}

// coordinatorKey returns the configured coordinator's key, or nil when it
// has none (such a coordinator gets summaries without inbound text).
func (d *Desk) coordinatorKey(co *config.Coordinator, now time.Time) *openpgp.Entity {
	if co.KeyFile == "" {
		return nil
	}
	d.keys.mu.Lock()
	defer d.keys.mu.Unlock()
	if d.keys.coord == nil {
		d.keys.coord = map[string]*openpgp.Entity{}
	}
	if e, ok := d.keys.coord[co.Address]; ok {
		return e
	}
	pub, err := keys.ReadPublicFile(co.KeyFile, now)
	if err != nil {
		d.Log.Warn("coordinator key unusable", "coordinator", co.Address, "err", err)
		return nil
	}
	if co.Fingerprint != "" && pub.Fingerprint != co.Fingerprint {
		d.Log.Warn("coordinator key file does not match the configured fingerprint", "coordinator", co.Address)
		return nil
	}
	d.keys.coord[co.Address] = pub.Entity
	return pub.Entity
}

// CanEncrypt tells whether the vendor has a usable key now.
func (d *Desk) CanEncrypt(v *store.Vendor) bool {
	return len(d.vendorKeys(v, d.Now())) > 0
}
