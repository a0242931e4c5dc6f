package keys

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	v2 "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// Reading uses go-crypto's openpgp/v2 (packet-sequence checks,
// ErrUnknownIssuer, IsVerified); writing and go-pgpmail use v1 entities.
// These convert between the two by serialising.

// SecretV2 converts unlocked v1 secret keys (the robot's) for reading.
func SecretV2(es ...*openpgp.Entity) (v2.EntityList, error) {
	var out v2.EntityList
	for _, e := range es {
		var buf bytes.Buffer
		if err := e.SerializePrivateWithoutSigning(&buf, nil); err != nil {
			return nil, fmt.Errorf("keys: convert %s: %w", Fingerprint(e), err)
		}
		el, err := v2.ReadKeyRing(&buf)
		if err != nil || len(el) != 1 {
			return nil, fmt.Errorf("keys: convert %s: %v", Fingerprint(e), err)
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
