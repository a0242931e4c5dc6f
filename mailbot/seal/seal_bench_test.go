package seal_test

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/emersion/go-message/mail"

	"github.com/coordbot/coordbot/mailbot/keys"
	"github.com/coordbot/coordbot/mailbot/notice"
	"github.com/coordbot/coordbot/mailbot/seal"
)

// Benchmarks of sealing notices as the desk does: the gpg-made robot key of
// testdata/keys (Curve25519) signs, and encrypts to a vendor's key
// (Curve25519 acme, or RSA-3072 beta) and to itself. The notices are
// rendered from the real templates.
//
//	go test ./mailbot/seal -run '^$' -bench . -benchmem

type benchKeys struct {
	robot, acme, beta *openpgp.Entity
}

func loadBenchKeys(b *testing.B) benchKeys {
	b.Helper()
	dir := filepath.Join("..", "..", "testdata", "keys")
	robot, err := keys.LoadPrivate(filepath.Join(dir, "robot.sec.asc"), nil)
	if err != nil {
		b.Fatal(err)
	}
	pub := func(name string) *openpgp.Entity {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		p, err := keys.ParsePublic(data, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		return p.Entity
	}
	return benchKeys{robot: robot, acme: pub("vendor-acme.pub.asc"), beta: pub("vendor-beta-rsa.pub.asc")}
}

const benchOverview = `PRODUCT には、細工されたリクエストを処理する際に入力値の検証が不十分な問題が存在します。
この問題を悪用されると、遠隔の第三者によって任意のコードを実行される可能性があります。

PRODUCT contains an input validation flaw in the processing of crafted requests. A
remote attacker may execute arbitrary code on the affected device.
`

// benchNotice renders a notice of kind to ACME in Japanese, as the desk does.
func benchNotice(b *testing.B, kind string, detailKB int) *seal.Message {
	b.Helper()
	data := notice.Data{Desk: "coordbot", CaseID: "JVNVU#12345678", Title: "AcmeRouter X100 における認証回避の脆弱性",
		Overview: strings.ReplaceAll(benchOverview, "PRODUCT", "AcmeRouter X100"), VendorID: "acme", VendorName: "ACME Corp",
		TargetDate: "2027-02-15 11:00 JST"}
	if detailKB > 0 {
		var sb strings.Builder
		for sb.Len() < detailKB<<10 {
			sb.WriteString("parse_header() の 412 行目で、リクエストから取った長さのまま固定長のスタックバッファへ複写しています。 The length is taken from the request.\n")
		}
		data.Detail = sb.String()
	}
	subj, body, err := notice.NewRenderer("").Render("ja", kind, data)
	if err != nil {
		b.Fatal(err)
	}
	m := notice.Mail{
		From:       mail.Address{Name: "coordbot", Address: "vultures@cert.example"},
		To:         []string{"psirt@acme.example", "security@acme.example"},
		Subject:    "[JVNVU#12345678] " + subj,
		Date:       time.Now(),
		MessageID:  notice.NewMessageID(kind, "JVNVU#12345678", "cert.example"),
		Body:       body,
		LoopHeader: "vultures@cert.example",
	}
	return &seal.Message{Header: m.Header(), Body: body, ProtectedSubject: m.Subject + " " + data.Title}
}

func benchSeal(b *testing.B, m *seal.Message, fn func(now time.Time) ([]byte, error)) {
	b.Helper()
	now := time.Now()
	out, err := fn(now)
	if err != nil {
		b.Fatal(err)
	}
	size := len(m.Body)
	for _, a := range m.Attachments {
		size += len(a.Data)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fn(now); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(out)), "out-bytes")
}

// The overview notice, signed (PGP/MIME multipart/signed): what most
// vendors without a key get.
func BenchmarkSignOverview(b *testing.B) {
	k := loadBenchKeys(b)
	m := benchNotice(b, "overview", 0)
	benchSeal(b, m, func(now time.Time) ([]byte, error) { return seal.Sign(m, k.robot, now) })
}

// The overview notice signed and encrypted to a Curve25519 vendor key and
// the robot.
func BenchmarkEncryptOverview25519(b *testing.B) {
	k := loadBenchKeys(b)
	m := benchNotice(b, "overview", 0)
	benchSeal(b, m, func(now time.Time) ([]byte, error) {
		return seal.Encrypt(m, k.robot, []*openpgp.Entity{k.acme, k.robot}, now)
	})
}

// The detail notice (4 KB of detail) to an RSA-3072 vendor key and the robot.
func BenchmarkEncryptDetailRSA(b *testing.B) {
	k := loadBenchKeys(b)
	m := benchNotice(b, "detail", 4)
	benchSeal(b, m, func(now time.Time) ([]byte, error) {
		return seal.Encrypt(m, k.robot, []*openpgp.Entity{k.beta, k.robot}, now)
	})
}

// The detail notice with a 1 MB attachment (a PoC archive).
func BenchmarkEncryptDetail1MBAttachment(b *testing.B) {
	k := loadBenchKeys(b)
	m := benchNotice(b, "detail", 4)
	data := make([]byte, 1<<20)
	rand.Read(data)
	m.Attachments = []seal.Attachment{{Filename: "poc.tar.gz", ContentType: "application/gzip", Data: data}}
	benchSeal(b, m, func(now time.Time) ([]byte, error) {
		return seal.Encrypt(m, k.robot, []*openpgp.Entity{k.acme, k.robot}, now)
	})
}
