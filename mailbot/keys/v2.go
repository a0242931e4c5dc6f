package keys

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	v2 "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// Reading uses go-crypto's openpgp/v2 (packet-sequence checks,
// ErrUnknownIssuer, IsVerified); writing and go-pgpmail use v1 entities.
// These convert between the two by serialising.

// SecretV2 converts unlocked v1 secret keys (the robot's) for reading.
func SecretV2(es ...*openpgp.Entity) (v2.EntityList, error) {
	data, err := SecretBytes(es...)
	if err != nil {
		return nil, err
	}
	return SecretV2FromBytes(data)
}

// SecretBytes serialises unlocked v1 secret keys, for SecretV2FromBytes.
// go-crypto writes caches into the signatures it serialises, so the same
// entity must not be serialised by two goroutines at once: key sets built
// in parallel share these bytes instead.
func SecretBytes(es ...*openpgp.Entity) ([][]byte, error) {
	out := make([][]byte, 0, len(es))
	for _, e := range es {
		var buf bytes.Buffer
		if err := e.SerializePrivateWithoutSigning(&buf, nil); err != nil {
			return nil, fmt.Errorf("keys: convert %s: %w", Fingerprint(e), err)
		}
		out = append(out, buf.Bytes())
	}
	return out, nil
}

// SecretV2FromBytes reads what SecretBytes wrote, one entity per key.
func SecretV2FromBytes(data [][]byte) (v2.EntityList, error) {
	var out v2.EntityList
	for _, b := range data {
		el, err := v2.ReadKeyRing(bytes.NewReader(b))
		if err != nil || len(el) != 1 {
			return nil, fmt.Errorf("keys: convert a secret key: %d entities, %v", len(el), err)
		}
		out = append(out, el[0])
	}
	return out, nil
}

// PublicV2 parses an armored public key for reading.
func PublicV2(armored string) (*v2.Entity, error) {
	el, err := v2.ReadArmoredKeyRing(strings.NewReader(armored))
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	if len(el) != 1 {
		return nil, ErrSeveralKeys
	}
	return el[0], nil
}

// FingerprintV2 is a v2 entity's fingerprint in upper-case hex.
func FingerprintV2(e *v2.Entity) string {
	return strings.ToUpper(fmt.Sprintf("%x", e.PrimaryKey.Fingerprint))
}

// EncryptionV1 returns, for a public key already read (and so checked) by
// the reader, the v1 entity that sealing encrypts to, without parsing the
// key again: go-crypto's v1 reader verifies every self-signature once more,
// which for a backlog of answers from as many vendors doubled the cost of
// their keys. The entity holds what v2 selected as valid at now: the
// primary key, its primary user ID with that ID's newest valid
// self-signature (which carries the cipher preferences), and the newest
// valid encryption subkey with its binding signature. Anything v2 finds
// revoked, expired or unable to encrypt is an error, as for ParsePublic.
// The packets are shared with e, which neither package changes once read.
func EncryptionV1(e *v2.Entity, now time.Time) (*openpgp.Entity, error) {
	if e == nil || e.PrimaryKey == nil {
		return nil, ErrNoKey
	}
	if e.PrivateKey != nil {
		return nil, errors.New("keys: a secret key is not a pinned public key")
	}
	if e.Revoked(now) {
		return nil, ErrRevoked
	}
	cfg := &packet.Config{Time: func() time.Time { return now }}
	selfSig, id := e.PrimaryIdentity(now, cfg)
	if selfSig == nil || id == nil {
		return nil, fmt.Errorf("keys: %s has no valid user ID at %s", FingerprintV2(e), now.Format(time.RFC3339))
	}
	if e.PrimaryKey.KeyExpired(selfSig, now) {
		return nil, ErrExpired
	}
	enc, ok := e.EncryptionKey(now, cfg)
	if !ok {
		return nil, ErrNoEncrypt
	}
	out := &openpgp.Entity{
		PrimaryKey: e.PrimaryKey,
		Identities: map[string]*openpgp.Identity{id.Name: {
			Name: id.Name, UserId: id.UserId, SelfSignature: selfSig, Signatures: []*packet.Signature{selfSig},
		}},
	}
	if enc.PublicKey != e.PrimaryKey {
		if enc.SelfSignature == nil {
			return nil, ErrNoEncrypt
		}
		out.Subkeys = []openpgp.Subkey{{PublicKey: enc.PublicKey, Sig: enc.SelfSignature}}
	}
	// The same checks as every other key to seal to, on what was built.
	if err := Usable(out, now); err != nil {
		return nil, err
	}
	return out, nil
}
