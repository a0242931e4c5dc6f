package open

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// Fingerprints of the test keys in testdata/keys.
const (
	fprRobot = "A644F719ECD5B4E1F0294136BD4891451287E2D2"
	fprAcme  = "DB239EB6AFEE73FC3BA5E68F905ECEF868655335"
	fprBeta  = "FE996E8A6F9493DDD4AD4FED97CB4D6AA1CE759B"
	fprCoord = "92ED6B46D4710FCB86139C268C1E94DD9BFBB882"
)

var (
	testRingOnce sync.Once
	testRing     map[string]openpgp.EntityList
	testRingErr  error
)

// ReadTestKey reads one armored key file from testdata/keys ("robot.sec")
// or testdata/mail/pgp ("pgp/vendor-expired.pub"). Exported for the
// external test package.
func ReadTestKey(tb testing.TB, name string) openpgp.EntityList {
	tb.Helper()
	testRingOnce.Do(func() {
		testRing = map[string]openpgp.EntityList{}
		for _, n := range []string{"robot.sec", "robot.pub", "vendor-acme.sec", "vendor-acme.pub",
			"vendor-beta-rsa.sec", "vendor-beta-rsa.pub", "coord.sec", "coord.pub",
			"pgp/vendor-expired.pub", "pgp/vendor-revoked.pub"} {
			path := filepath.Join("..", "..", "testdata", "keys", n+".asc")
			if p, ok := strings.CutPrefix(n, "pgp/"); ok {
				path = filepath.Join("..", "..", "testdata", "mail", "pgp", p+".asc")
			}
			f, err := os.Open(path)
			if err != nil {
				testRingErr = err
				return
			}
			el, err := openpgp.ReadArmoredKeyRing(f)
			f.Close()
			if err != nil {
				testRingErr = err
				return
			}
			testRing[n] = el
		}
	})
	if testRingErr != nil {
		tb.Fatal(testRingErr)
	}
	el, ok := testRing[name]
	if !ok {
		tb.Fatalf("no test key %s", name)
	}
	return el
}

// RobotKeyring is what the robot holds in the tests: its own secret key, and
// the vendors', the coordinator's and the two throwaway signers' public keys.
func RobotKeyring(tb testing.TB) *Keys {
	tb.Helper()
	k := &Keys{Decrypt: ReadTestKey(tb, "robot.sec")}
	for _, n := range []string{"vendor-acme.pub", "vendor-beta-rsa.pub", "coord.pub", "pgp/vendor-expired.pub", "pgp/vendor-revoked.pub"} {
		k.Verify = append(k.Verify, ReadTestKey(tb, n)...)
	}
	return k
}

// The key-ID index gives the same answers as go-crypto's scan of the whole
// ring: by primary key ID, by subkey ID, and every entity for the
// wildcard ID 0 of a hidden recipient.
func TestKeyIndexMatchesScan(t *testing.T) {
	k := RobotKeyring(t)
	k.Prepare()
	ring := (&pgpState{ring: k.index.ring, byID: k.index.byID}).keyRing()
	ids := []uint64{0, 0x1234} // 0x1234: no such key
	for _, e := range k.index.ring {
		ids = append(ids, e.PrimaryKey.KeyId)
		for _, sk := range e.Subkeys {
			ids = append(ids, sk.PublicKey.KeyId)
		}
	}
	if len(ids) < 12 {
		t.Fatalf("only %d key IDs in the test ring", len(ids))
	}
	for _, id := range ids {
		ring.left = lookupBudget
		got, want := ring.EntitiesById(id), k.index.ring.EntitiesById(id)
		if len(got) != len(want) {
			t.Fatalf("EntitiesById(%x): %d entities, scan finds %d", id, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("EntitiesById(%x)[%d] differs from the scan", id, i)
			}
		}
		ring.left = lookupBudget
		gk, wk := ring.KeysById(id), k.index.ring.KeysById(id)
		if len(gk) != len(wk) {
			t.Fatalf("KeysById(%x): %d keys, scan finds %d", id, len(gk), len(wk))
		}
		for i := range gk {
			if gk[i].PublicKey != wk[i].PublicKey {
				t.Fatalf("KeysById(%x)[%d] differs from the scan", id, i)
			}
		}
	}
}
