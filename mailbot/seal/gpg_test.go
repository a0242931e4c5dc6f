package seal

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/coordbot/coordbot/internal/gpgtest"
)

// These tests hand the output to real GnuPG (2.2 on Debian): the readers
// that matter are gpg itself and the clients built on it or tested against
// it, not our own round trip.

func requireGPG(t *testing.T) { gpgtest.Require(t) }

// gpgHome wraps the shared throwaway GNUPGHOME.
type gpgHome struct{ *gpgtest.Home }

func newGPGHome(t *testing.T) *gpgHome { return &gpgHome{gpgtest.New(t)} }

func (g *gpgHome) run(args ...string) (string, string, error) { return g.Run(args...) }

func (g *gpgHome) file(name string, data []byte) string { return g.File(name, data) }

func (g *gpgHome) importKey(name string, armored []byte) { g.Import(name, armored) }

func statusLine(status, keyword string) (string, bool) { return gpgtest.StatusLine(status, keyword) }

// checkGoodSig requires GOODSIG by signer's signing key and VALIDSIG whose
// primary-key fingerprint (the last field) is signer's, and no bad or
// unverifiable signature.
func checkGoodSig(t *testing.T, status string, signer *party) {
	t.Helper()
	good, ok := statusLine(status, "GOODSIG")
	if !ok || strings.Fields(good)[2] != signer.signKeyID {
		t.Errorf("no GOODSIG by %s:\n%s", signer.signKeyID, status)
	}
	valid, ok := statusLine(status, "VALIDSIG")
	if f := strings.Fields(valid); !ok || f[len(f)-1] != signer.fpr {
		t.Errorf("no VALIDSIG with primary fingerprint %s:\n%s", signer.fpr, status)
	}
	for _, bad := range []string{"BADSIG", "ERRSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG", "BADMDC", "DECRYPTION_FAILED"} {
		if _, ok := statusLine(status, bad); ok {
			t.Errorf("gpg status has %s:\n%s", bad, status)
		}
	}
}

// TestGPGDecrypt: every robot key kind (Go-made Curve25519 and RSA-3072,
// gpg-made Curve25519) to every vendor key kind (Go-made and gpg-made,
// Curve25519 and RSA-3072). The vendor's gpg holds its secret key and the
// robot's public key, decrypts the application/octet-stream part, checks
// the robot's signature and the MDC; the robot's own gpg reads its copy.
func TestGPGDecrypt(t *testing.T) {
	requireGPG(t)
	for _, pr := range pairs(t) {
		t.Run(pr.robot.name+"→"+pr.vendor.name, func(t *testing.T) {
			t.Parallel()
			now := time.Now()
			m, atts := sampleMessage(t, now, true)
			to := []*openpgp.Entity{pr.vendor.pub, pr.robot.pub}
			out, err := Encrypt(m, pr.robot.sec, to, now)
			if err != nil {
				t.Fatalf("Encrypt: %v", err)
			}
			msg := ciphertext(t, out)
			cipher := "9" // AES-256
			if wantCipher(to) != 9 {
				cipher = "7" // AES-128: a keys.Generate key lists nothing else
			}
			for _, reader := range []struct {
				who       string
				secret    []byte
				publicKey []byte
			}{
				{"vendor", pr.vendor.secArmor, pr.robot.pubArmor},
				{"robot's Sent copy", pr.robot.secArmor, nil},
			} {
				g := newGPGHome(t)
				g.importKey("secret", reader.secret)
				if reader.publicKey != nil {
					g.importKey("robot", reader.publicKey)
				}
				outFile := filepath.Join(g.Dir, "plain.eml")
				status, stderr, err := g.run("--output", outFile, "--decrypt", g.file("msg.asc", msg))
				if err != nil {
					t.Fatalf("%s: gpg --decrypt: %v\n%s\n%s", reader.who, err, status, stderr)
				}
				checkGoodSig(t, status, pr.robot)
				for _, want := range []string{"DECRYPTION_OKAY", "GOODMDC", "END_DECRYPTION"} {
					if _, ok := statusLine(status, want); !ok {
						t.Errorf("%s: no %s:\n%s", reader.who, want, status)
					}
				}
				// DECRYPTION_INFO <mdc method> <cipher> [<aead>]: 2 = SHA-1
				// MDC (SEIPD v1), no AEAD.
				info, _ := statusLine(status, "DECRYPTION_INFO")
				if f := strings.Fields(info); len(f) < 4 || f[2] != "2" || f[3] != cipher || (len(f) > 4 && f[4] != "0") {
					t.Errorf("%s: %q, want MDC (2) and cipher %s without AEAD", reader.who, info, cipher)
				}
				plain, err := os.ReadFile(outFile)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Contains(plain, []byte(`protected-headers="v1"`)) {
					t.Errorf("%s: no protected-headers=\"v1\" in the plaintext", reader.who)
				}
				checkInner(t, parseInner(t, plain), m, atts)
			}
		})
	}
}

// TestGPGVerifySigned: gpg --verify over the exact CRLF bytes of the first
// part of multipart/signed, for each robot key kind, with and without
// attachments, quoted-printable and base64 text; a changed byte must give
// BADSIG.
func TestGPGVerifySigned(t *testing.T) {
	requireGPG(t)
	fixtures(t)
	for _, robot := range []*party{fix.goRobot25519, fix.goRobotRSA, fix.robot} {
		t.Run(robot.name, func(t *testing.T) {
			t.Parallel()
			g := newGPGHome(t)
			g.importKey("robot", robot.pubArmor)
			for _, v := range signVariants {
				now := time.Now()
				m, _ := sampleMessage(t, now, v.attachments)
				if v.fromLine {
					m.Body += fromLine
				}
				out, err := Sign(m, robot.sec, now)
				if err != nil {
					t.Fatalf("Sign: %v", err)
				}
				signed, _ := checkSigned(t, out)
				_, parts := mustParts(t, out)
				sigPart := parts[1]
				_, sigArmor := splitPart(t, sigPart)
				sigFile := g.file("sig.asc", sigArmor)
				status, stderr, err := g.run("--verify", sigFile, g.file("part.eml", signed))
				if err != nil {
					t.Fatalf("gpg --verify: %v\n%s\n%s", err, status, stderr)
				}
				checkGoodSig(t, status, robot)

				bad := bytes.Replace(signed, []byte("Message-Id"), []byte("Message-ID"), 1)
				status, _, err = g.run("--verify", sigFile, g.file("bad.eml", bad))
				if _, ok := statusLine(status, "BADSIG"); err == nil || !ok {
					t.Fatalf("tampered part: exit %v, status:\n%s", err, status)
				}
			}
		})
	}
}

func mustParts(t *testing.T, out []byte) (string, [][]byte) {
	t.Helper()
	_, ct, _, parts := outerParts(t, out)
	return ct, parts
}
