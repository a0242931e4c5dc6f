package open_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/coordbot/coordbot/mailbot/open"
)

// Benchmarks of reading vendor answers as they arrive: real messages from
// testdata/mail (made by mail clients) and testdata/mail/pgp (made by gpg).
//
//	go test ./mailbot/open -run '^$' -bench . -benchmem

func benchMail(b *testing.B, name string) []byte {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "mail", name))
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

func benchParse(b *testing.B, raw []byte, keys *open.Keys, check func(*open.Message) bool) {
	b.Helper()
	m, err := open.ParseWith(raw, open.Limits{}, keys)
	if err != nil || !check(m) {
		b.Fatalf("parse: %v (%+v)", err, m)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := open.ParseWith(raw, open.Limits{}, keys); err != nil {
			b.Fatal(err)
		}
	}
}

// A plain UTF-8 answer (Thunderbird, format=flowed, 8bit).
func BenchmarkParsePlainAnswer(b *testing.B) {
	raw := benchMail(b, "thunderbird-flowed.eml")
	benchParse(b, raw, nil, func(m *open.Message) bool { return m.Text != "" })
}

// A quoted-printable answer with an HTML alternative (Gmail).
func BenchmarkParseGmailAlternative(b *testing.B) {
	raw := benchMail(b, "gmail-on-wrote.eml")
	benchParse(b, raw, nil, func(m *open.Message) bool { return m.Text != "" })
}

// A Japanese answer in ISO-2022-JP (Becky!/Outlook style "返信:").
func BenchmarkParseISO2022JPAnswer(b *testing.B) {
	raw := benchMail(b, "iso2022jp-henshin.eml")
	benchParse(b, raw, nil, func(m *open.Message) bool { return m.Text != "" })
}

// PGP/MIME encrypted to the robot and signed by the vendor's pinned key
// (Enigmail): decryption, signature verification and the MIME inside.
func BenchmarkParsePGPMIMEEncryptedSigned(b *testing.B) {
	raw := benchMail(b, filepath.Join("pgp", "enigmail-signed-encrypted.eml"))
	keys := open.RobotKeyring(b)
	benchParse(b, raw, keys, func(m *open.Message) bool { return m.Encrypted && m.Signature == open.SigValid })
}

// The same with Thunderbird's protected headers (a Subject inside the
// encryption, an attached public key).
func BenchmarkParsePGPMIMEProtectedHeaders(b *testing.B) {
	raw := benchMail(b, filepath.Join("pgp", "thunderbird-protected-headers.eml"))
	keys := open.RobotKeyring(b)
	benchParse(b, raw, keys, func(m *open.Message) bool { return m.Encrypted && m.Signature == open.SigValid })
}
