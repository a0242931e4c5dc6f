package keys

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

func TestGenerateWriteLoad(t *testing.T) {
	now := time.Now()
	e, err := Generate("coordbot", "vultures@cert.example", GenOptions{}, now)
	if err != nil {
		t.Fatal(err)
	}
	if e.PrimaryKey.Version != 4 {
		t.Fatalf("key version %d, want 4", e.PrimaryKey.Version)
	}
	fp := Fingerprint(e)
	if !regexp.MustCompile(`^[0-9A-F]{40}$`).MatchString(fp) {
		t.Fatalf("fingerprint %q", fp)
	}
	path := filepath.Join(t.TempDir(), "sub", "robot.asc")
	if err := WritePrivate(path, e, []byte("pass")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v err %v", fi.Mode(), err)
	}
	if err := WritePrivate(path, e, nil); err == nil {
		t.Fatal("WritePrivate overwrote an existing key")
	}
	if _, err := LoadPrivate(path, nil); err == nil {
		t.Fatal("protected key loaded without passphrase")
	}
	if _, err := LoadPrivate(path, []byte("wrong")); err == nil {
		t.Fatal("protected key loaded with a wrong passphrase")
	}
	back, err := LoadPrivate(path, []byte("pass"))
	if err != nil {
		t.Fatal(err)
	}
	if Fingerprint(back) != fp {
		t.Fatal("fingerprint changed on reload")
	}
	arm, err := ArmoredPublic(back)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublic(arm, now)
	if err != nil {
		t.Fatal(err)
	}
	if pub.Fingerprint != fp || pub.Entity.PrivateKey != nil {
		t.Fatal("public key mismatch or secret part kept")
	}
}

func TestParsePublicRefusals(t *testing.T) {
	now := time.Now()
	if _, err := ParsePublic([]byte("hello"), now); err == nil {
		t.Fatal("garbage accepted")
	}
	a, _ := Generate("a", "a@example.com", GenOptions{}, now)
	b, _ := Generate("b", "b@example.com", GenOptions{}, now)
	pa, _ := ArmoredPublic(a)
	pb, _ := ArmoredPublic(b)
	if _, err := ParsePublic(append(pa, pb...), now); !errors.Is(err, ErrSeveralKeys) {
		t.Fatalf("two keys: %v", err)
	}
	// A key created in the future relative to now is not usable.
	if _, err := ParsePublic(pa, now.Add(-48*time.Hour)); err == nil {
		t.Fatal("key from the future accepted")
	}
}

func TestV2Conversion(t *testing.T) {
	e, _ := Generate("r", "r@example.com", GenOptions{}, time.Now())
	el, err := SecretV2(e)
	if err != nil || len(el) != 1 || FingerprintV2(el[0]) != Fingerprint(e) || el[0].PrivateKey == nil {
		t.Fatalf("secret: %v %v", el, err)
	}
	arm, _ := ArmoredPublic(e)
	p, err := PublicV2(string(arm))
	if err != nil || FingerprintV2(p) != Fingerprint(e) {
		t.Fatalf("public: %v", err)
	}
}
