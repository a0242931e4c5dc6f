package desk

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/coordbot/coordbot/mailbot/config"
	"github.com/coordbot/coordbot/mailbot/keys"
	"github.com/coordbot/coordbot/mailbot/process"
	"github.com/coordbot/coordbot/store"
)

// retiredDir holds rotated-out robot keys: still used to read mail
// encrypted to them, never to sign.
func (d *Desk) retiredDir() string { return filepath.Join(d.Cfg.Bot.DataDir, "retired-keys") }

// RetiredKeys loads the rotated-out robot keys.
func (d *Desk) RetiredKeys() ([]*openpgp.Entity, error) {
	d.keys.mu.Lock()
	defer d.keys.mu.Unlock()
	if d.keys.old != nil {
		return d.keys.old, nil
	}
	pass, err := config.Secret(d.Cfg.PGP.PassphraseFile, d.Cfg.PGP.PassphraseEnv)
	if err != nil {
		return nil, err
	}
	files, _ := filepath.Glob(filepath.Join(d.retiredDir(), "*.asc"))
	old := []*openpgp.Entity{}
	for _, f := range files {
		e, err := keys.LoadPrivate(f, []byte(pass))
		if err != nil {
			return nil, fmt.Errorf("retired key: %w", err)
		}
		old = append(old, e)
	}
	d.keys.old = old
	return old, nil
}

// RotateKey makes a new robot key, certified by the current one so that
// coordinators can follow the change, keeps the old key for reading, and
// tells the coordinators (encrypted to them when they have keys).
func (d *Desk) RotateKey(opt keys.GenOptions) (oldFpr, newFpr string, err error) {
	cur, err := d.RobotKey()
	if err != nil {
		return "", "", err
	}
	if _, err := d.RetiredKeys(); err != nil {
		return "", "", err
	}
	now := d.Now()
	next, err := keys.Generate(d.Cfg.Bot.Name, d.Cfg.Bot.Address, opt, now)
	if err != nil {
		return "", "", err
	}
	for uid := range next.Identities {
		if err := next.SignIdentity(uid, cur, nil); err != nil {
			return "", "", fmt.Errorf("certify the new key with the old one: %w", err)
		}
	}
	pass, err := config.Secret(d.Cfg.PGP.PassphraseFile, d.Cfg.PGP.PassphraseEnv)
	if err != nil {
		return "", "", err
	}
	oldFpr, newFpr = keys.Fingerprint(cur), keys.Fingerprint(next)
	retired := filepath.Join(d.retiredDir(), oldFpr+".asc")
	if err := os.MkdirAll(d.retiredDir(), 0o700); err != nil {
		return "", "", err
	}
	// Order: the old key is copied aside first, then the new one replaces
	// it through a temporary file, so a crash never loses a key.
	data, err := os.ReadFile(d.Cfg.PGP.KeyFile)
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(retired, data, 0o600); err != nil {
		return "", "", fmt.Errorf("keep the old key: %w", err)
	}
	tmp := d.Cfg.PGP.KeyFile + ".new"
	os.Remove(tmp)
	if err := keys.WritePrivate(tmp, next, []byte(pass)); err != nil {
		return "", "", err
	}
	if err := os.Rename(tmp, d.Cfg.PGP.KeyFile); err != nil {
		return "", "", fmt.Errorf("install the new key: %w", err)
	}
	d.keys.mu.Lock()
	d.keys.robot = next
	d.keys.old = append(d.keys.old, cur)
	d.keys.mu.Unlock()
	d.keysChanged()
	pub, _ := keys.ArmoredPublic(next)
	err = d.Store.Update(func(tx *store.Tx) error {
		return d.queue(tx, now, nil, process.Notice{Kind: KindKeyRotated, ToCoordinators: true,
			Fields: map[string]string{"reason": "robot key rotated: " + oldFpr + " -> " + newFpr, "old": oldFpr, "new": newFpr,
				"key": strings.TrimSpace(string(pub))}})
	})
	if err != nil {
		return oldFpr, newFpr, fmt.Errorf("key rotated, but telling the coordinators failed: %w", err)
	}
	d.Log.Info("robot key rotated", "old", oldFpr, "new", newFpr)
	d.queued()
	return oldFpr, newFpr, nil
}

// KindKeyRotated tells coordinators about a new robot key.
const KindKeyRotated = "key-rotated"
