// Package keys creates, loads and checks OpenPGP keys: the robot's own
// secret key and the public keys pinned for vendors and coordinators.
package keys

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// maxKeyFile bounds what is read as a key: keys are small, an attacker's
// paste need not be.
const maxKeyFile = 1 << 20

// GenOptions choose the robot key's algorithm and protection.
type GenOptions struct {
	// RSABits > 0 makes an RSA key of that size; otherwise Curve25519
	// (EdDSA + ECDH), which gpg 2.2 and most clients read.
	RSABits    int
	Passphrase []byte
}

// Generate makes a v4 OpenPGP key for name <addr>.
func Generate(name, addr string, opt GenOptions, now time.Time) (*openpgp.Entity, error) {
	cfg := &packet.Config{
		Algorithm:   packet.PubKeyAlgoEdDSA,
		Curve:       packet.Curve25519,
		DefaultHash: crypto.SHA256,
		// The key's preferences then list AES-256 first, so mail sealed to
		// the robot itself (its Sent copies) is AES-256 too.
		DefaultCipher: packet.CipherAES256,
		Time:          func() time.Time { return now },
	}
	if opt.RSABits > 0 {
		cfg.Algorithm = packet.PubKeyAlgoRSA
		cfg.RSABits = opt.RSABits
		cfg.Curve = ""
	}
	e, err := openpgp.NewEntity(name, "", addr, cfg)
	if err != nil {
		return nil, fmt.Errorf("keys: generate: %w", err)
	}
	return e, nil
}

// WritePrivate writes e's secret key armored to path with mode 0600,
// encrypted with passphrase when one is given. It never overwrites.
func WritePrivate(path string, e *openpgp.Entity, passphrase []byte) error {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
	if err != nil {
		return err
	}
	if len(passphrase) > 0 {
		if err := e.EncryptPrivateKeys(passphrase, nil); err != nil {
			return fmt.Errorf("keys: protect: %w", err)
		}
		defer e.DecryptPrivateKeys(passphrase)
	}
	// NewEntity already self-signed; re-signing would need the unlocked key.
	if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
		return fmt.Errorf("keys: serialize: %w", err)
	}
	if err := w.Close(); err != nil {
		return err
	}
	buf.WriteByte('\n')
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("keys: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("keys: write %s: %w", path, err)
	}
	return f.Close()
}

// LoadPrivate reads the robot's secret key and unlocks it.
func LoadPrivate(path string, passphrase []byte) (*openpgp.Entity, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("keys: read %s: %w", path, err)
	}
	if len(el) != 1 || el[0].PrivateKey == nil {
		return nil, fmt.Errorf("keys: %s must hold exactly one secret key", path)
	}
	e := el[0]
	if e.PrivateKey.Encrypted {
		if len(passphrase) == 0 {
			return nil, fmt.Errorf("keys: %s is protected by a passphrase: set pgp.passphrase_env or pgp.passphrase_file", path)
		}
		if err := e.DecryptPrivateKeys(passphrase); err != nil {
			return nil, fmt.Errorf("keys: unlock %s: %w", path, err)
		}
	}
	return e, nil
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("keys: read %s: %w", path, err)
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("keys: %s is larger than %d bytes", path, maxKeyFile)
	}
	return data, nil
}

// Fingerprint is the key's fingerprint in upper-case hex.
func Fingerprint(e *openpgp.Entity) string {
	return strings.ToUpper(fmt.Sprintf("%x", e.PrimaryKey.Fingerprint))
}

// ArmoredPublic returns e's public key, armored.
func ArmoredPublic(e *openpgp.Entity) ([]byte, error) {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		return nil, err
	}
	if err := e.Serialize(w); err != nil {
		return nil, fmt.Errorf("keys: serialize public key: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// Public is a parsed, checked public key.
type Public struct {
	Fingerprint string
	Armored     string
	Entity      *openpgp.Entity
}

// Problems a pinned key can have; such a key is reported, never used.
var (
	ErrNoKey       = errors.New("no OpenPGP public key found")
	ErrSeveralKeys = errors.New("more than one key: give one key per file")
	ErrRevoked     = errors.New("key is revoked")
	ErrExpired     = errors.New("key is expired")
	ErrNoEncrypt   = errors.New("key has no usable encryption subkey")
)

// ParsePublic reads one public key (armored or binary) and checks that it
// can be encrypted to at now.
func ParsePublic(data []byte, now time.Time) (*Public, error) {
	e, err := ParseEntity(data, now)
	if err != nil {
		return nil, err
	}
	arm, err := ArmoredPublic(e)
	if err != nil {
		return nil, err
	}
	return &Public{Fingerprint: Fingerprint(e), Armored: string(arm), Entity: e}, nil
}

// ParseEntity is ParsePublic without writing the key out again, for keys
// read back from the store, which holds them armored already.
func ParseEntity(data []byte, now time.Time) (*openpgp.Entity, error) {
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("keys: key larger than %d bytes", maxKeyFile)
	}
	var el openpgp.EntityList
	var err error
	if bytes.Count(data, []byte("-----BEGIN PGP")) > 1 {
		// ReadArmoredKeyRing would silently read only the first block.
		return nil, ErrSeveralKeys
	}
	if bytes.Contains(data, []byte("-----BEGIN PGP")) {
		el, err = openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	} else {
		el, err = openpgp.ReadKeyRing(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	switch {
	case len(el) == 0:
		return nil, ErrNoKey
	case len(el) > 1:
		return nil, ErrSeveralKeys
	}
	e := el[0]
	if err := Usable(e, now); err != nil {
		return nil, err
	}
	// Keep only the public half, whatever was pasted.
	e.PrivateKey = nil
	for i := range e.Subkeys {
		e.Subkeys[i].PrivateKey = nil
	}
	return e, nil
}

// Usable checks revocation, expiry and encryption capability at now.
func Usable(e *openpgp.Entity, now time.Time) error {
	if e.Revoked(now) {
		return ErrRevoked
	}
	if sig, _ := e.PrimarySelfSignature(); sig != nil && e.PrimaryKey.KeyExpired(sig, now) {
		return ErrExpired
	}
	if _, ok := e.EncryptionKey(now); !ok {
		// EncryptionKey also fails for an expired primary key.
		return ErrNoEncrypt
	}
	return nil
}

// ReadPublicFile parses a public key file.
func ReadPublicFile(path string, now time.Time) (*Public, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	p, err := ParsePublic(data, now)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return p, nil
}
