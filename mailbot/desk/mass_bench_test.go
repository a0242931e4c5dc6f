package desk_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coordbot/coordbot/mailbot/desk"
	"github.com/coordbot/coordbot/mailbot/keys"
	"github.com/coordbot/coordbot/store"
)

type nopSender struct{}

func (nopSender) Send(context.Context, string, []string, []byte) error { return nil }

// BenchmarkNotifyMass: the overview of a mass case to 200 vendors, each
// with its own key, rendered, signed, encrypted and queued in one
// transaction (case notify ID overview all), then drained to a sender that
// takes everything at once: the desk's own cost of a mass notice, per
// notice. The SMTP server's time is what coordbench measures.
func BenchmarkNotifyMass(b *testing.B) {
	const vendors = 200
	d, made := benchDeskWith(b, "")
	var ins []desk.VendorInput
	var ids []string
	for i := range vendors {
		addr := fmt.Sprintf("psirt@v%d.example", i)
		e, err := keys.Generate("PSIRT", addr, keys.GenOptions{}, made)
		if err != nil {
			b.Fatal(err)
		}
		arm, _ := keys.ArmoredPublic(e)
		pub, err := keys.ParsePublic(arm, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		id := fmt.Sprintf("v%d", i)
		ids = append(ids, id)
		ins = append(ins, desk.VendorInput{ID: id, Name: "Vendor " + id, Emails: []string{addr}, Lang: "ja",
			Key: &store.Key{Fingerprint: pub.Fingerprint, Armored: pub.Armored, Added: made}})
	}
	if err := d.ImportVendors(ins); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		c, err := d.NewCase(desk.CaseInput{Title: "TLS ライブラリにおけるバッファオーバーフロー",
			Overview: strings.Repeat("広く使われている TLS ライブラリのハンドシェイク処理に、境界検査の不備があります。\n", 20),
			Detail:   "detail"})
		if err != nil {
			b.Fatal(err)
		}
		if err := d.AttachVendors(c.ID, ids); err != nil {
			b.Fatal(err)
		}
		res, err := d.Notify(c.ID, "overview", []string{"all"})
		if err != nil || len(res) != vendors {
			b.Fatalf("notify: %v, %d results", err, len(res))
		}
		sent, _, err := d.Drain(context.Background(), nopSender{}, nil)
		if err != nil || sent != vendors {
			b.Fatalf("drain: %d sent, %v", sent, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*vendors), "µs/notice")
}
