package seal

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/coordbot/coordbot/mailbot/keys"
)

// TestTestdataKeys: the gpg-made keys in testdata/keys are what other tests
// rely on; go-crypto must read them as gpg wrote them.
func TestTestdataKeys(t *testing.T) {
	now := time.Now()
	dir := filepath.Join("..", "..", "testdata", "keys")
	for _, c := range []struct {
		name string
		algo packet.PublicKeyAlgorithm
		bits uint16
	}{
		{"robot", packet.PubKeyAlgoEdDSA, 0},
		{"vendor-acme", packet.PubKeyAlgoEdDSA, 0},
		{"vendor-beta-rsa", packet.PubKeyAlgoRSA, 3072},
		{"coord", packet.PubKeyAlgoEdDSA, 0},
	} {
		pubData, err := os.ReadFile(filepath.Join(dir, c.name+".pub.asc"))
		if err != nil {
			t.Fatal(err)
		}
		pub, err := keys.ParsePublic(pubData, now)
		if err != nil {
			t.Fatalf("%s: ParsePublic: %v", c.name, err)
		}
		secData, err := os.ReadFile(filepath.Join(dir, c.name+".sec.asc"))
		if err != nil {
			t.Fatal(err)
		}
		el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(secData))
		if err != nil || len(el) != 1 {
			t.Fatalf("%s: ReadArmoredKeyRing: %d entities, %v", c.name, len(el), err)
		}
		sec := el[0]
		if keys.Fingerprint(sec) != pub.Fingerprint {
			t.Fatalf("%s: secret and public fingerprints differ", c.name)
		}
		if sec.PrivateKey == nil || sec.PrivateKey.Encrypted {
			t.Fatalf("%s: secret key missing or passphrase-protected", c.name)
		}
		enc, ok := sec.EncryptionKey(now)
		if !ok || enc.PrivateKey == nil || enc.PrivateKey.Encrypted {
			t.Fatalf("%s: no usable secret encryption subkey", c.name)
		}
		if sec.PrimaryKey.PubKeyAlgo != c.algo {
			t.Errorf("%s: algorithm %v, want %v", c.name, sec.PrimaryKey.PubKeyAlgo, c.algo)
		}
		if c.bits > 0 {
			if n, _ := sec.PrimaryKey.BitLength(); n != c.bits {
				t.Errorf("%s: %d bits, want %d", c.name, n, c.bits)
			}
			if n, _ := enc.PublicKey.BitLength(); n != c.bits {
				t.Errorf("%s: encryption subkey %d bits, want %d", c.name, n, c.bits)
			}
		}
		if sig, _ := sec.PrimarySelfSignature(); sig == nil || sig.KeyLifetimeSecs != nil {
			t.Errorf("%s: test keys must not expire", c.name)
		}
		if _, err := keys.LoadPrivate(filepath.Join(dir, c.name+".sec.asc"), nil); err != nil {
			t.Errorf("%s: LoadPrivate: %v", c.name, err)
		}
	}
}
