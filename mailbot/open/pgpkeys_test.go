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
