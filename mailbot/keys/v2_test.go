package keys

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// EncryptionV1 must agree with parsing the key again with v1 (what it
// saves): the same keys refused, the same subkey chosen, the same
// preferences, and what is encrypted to it opens with the secret key.
func TestEncryptionV1MatchesV1Parse(t *testing.T) {
	now := time.Now()
	armoredOf := func(e *openpgp.Entity) string {
		t.Helper()
		var b bytes.Buffer
		w, err := armor.Encode(&b, openpgp.PublicKeyType, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Serialize(w); err != nil {
			t.Fatal(err)
		}
		w.Close()
		return b.String()
	}
	gen := func(name string, change func(e *openpgp.Entity)) (string, *openpgp.Entity) {
		t.Helper()
		e, err := Generate(name, name+"@vendor.example", GenOptions{}, now.Add(-48*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if change != nil {
			change(e)
		}
		return armoredOf(e), e
	}
	cfgAt := func(at time.Time) *packet.Config { return &packet.Config{Time: func() time.Time { return at }} }
	type tc struct {
		name    string
		armored string
		secret  *openpgp.Entity
	}
	var cases []tc
	for _, f := range []string{"testdata/keys/vendor-acme.pub.asc", "testdata/keys/vendor-beta-rsa.pub.asc",
		"testdata/keys/coord.pub.asc", "testdata/keys/robot.pub.asc",
		"testdata/mail/pgp/vendor-expired.pub.asc", "testdata/mail/pgp/vendor-revoked.pub.asc"} {
		data, err := os.ReadFile(filepath.Join("..", "..", f))
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, tc{name: filepath.Base(f), armored: string(data)})
	}
	plain, plainSec := gen("plain", nil)
	cases = append(cases, tc{name: "generated", armored: plain, secret: plainSec})
	two, twoSec := gen("two", func(e *openpgp.Entity) {
		if err := e.AddEncryptionSubkey(cfgAt(now.Add(-time.Hour))); err != nil {
			t.Fatal(err)
		}
	})
	cases = append(cases, tc{name: "two encryption subkeys", armored: two, secret: twoSec})
	rev, revSec := gen("revsub", func(e *openpgp.Entity) {
		if err := e.AddEncryptionSubkey(cfgAt(now.Add(-time.Hour))); err != nil {
			t.Fatal(err)
		}
		// Revoke the newer one: the older must be chosen.
		if err := e.RevokeSubkey(&e.Subkeys[len(e.Subkeys)-1], packet.KeyCompromised, "", cfgAt(now.Add(-time.Minute))); err != nil {
			t.Fatal(err)
		}
	})
	cases = append(cases, tc{name: "newest subkey revoked", armored: rev, secret: revSec})
	only, _ := gen("onlyrev", func(e *openpgp.Entity) {
		if err := e.RevokeSubkey(&e.Subkeys[0], packet.KeyCompromised, "", cfgAt(now.Add(-time.Minute))); err != nil {
			t.Fatal(err)
		}
	})
	cases = append(cases, tc{name: "only subkey revoked", armored: only})

	accepted, refused := 0, 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want, werr := ParseEntity([]byte(c.armored), now)
			e2, err := PublicV2(c.armored)
			if err != nil {
				t.Fatal(err)
			}
			got, gerr := EncryptionV1(e2, now)
			if (werr == nil) != (gerr == nil) {
				t.Fatalf("v1 parse: %v; EncryptionV1: %v", werr, gerr)
			}
			if werr != nil {
				refused++
				return
			}
			accepted++
			if Fingerprint(got) != Fingerprint(want) {
				t.Fatalf("fingerprint %s, want %s", Fingerprint(got), Fingerprint(want))
			}
			wk, _ := want.EncryptionKey(now)
			gk, ok := got.EncryptionKey(now)
			if !ok || gk.PublicKey.KeyId != wk.PublicKey.KeyId {
				t.Fatalf("encryption key %X, v1 parse chooses %X", gk.PublicKey.KeyId, wk.PublicKey.KeyId)
			}
			wi, gi := want.PrimaryIdentity(), got.PrimaryIdentity()
			if gi.Name != wi.Name || !bytes.Equal(gi.SelfSignature.PreferredSymmetric, wi.SelfSignature.PreferredSymmetric) ||
				!bytes.Equal(gi.SelfSignature.PreferredHash, wi.SelfSignature.PreferredHash) {
				t.Fatalf("identity %q prefs %v/%v, v1 parse: %q %v/%v", gi.Name, gi.SelfSignature.PreferredSymmetric,
					gi.SelfSignature.PreferredHash, wi.Name, wi.SelfSignature.PreferredSymmetric, wi.SelfSignature.PreferredHash)
			}
			if c.secret == nil {
				return
			}
			var ct bytes.Buffer
			w, err := openpgp.Encrypt(&ct, []*openpgp.Entity{got}, nil, nil, cfgAt(now))
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(w, "embargoed")
			w.Close()
			md, err := openpgp.ReadMessage(&ct, openpgp.EntityList{c.secret}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := io.ReadAll(md.UnverifiedBody); string(b) != "embargoed" {
				t.Fatalf("decrypted %q", b)
			}
		})
	}
	if accepted < 5 || refused < 3 {
		t.Fatalf("%d keys accepted, %d refused: the cases do not cover both", accepted, refused)
	}
	if _, err := EncryptionV1(nil, now); err == nil {
		t.Fatal("nil entity accepted")
	}
}
