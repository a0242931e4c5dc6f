package desk_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coordbot/coordbot/mailbot/config"
	"github.com/coordbot/coordbot/mailbot/desk"
	"github.com/coordbot/coordbot/mailbot/keys"
	"github.com/coordbot/coordbot/store"
)

// Benchmarks of handling one vendor answer end to end in-process: parse,
// place, apply, acknowledge (render and seal), commit the ledger entry, the
// events and the outbox entry in one transaction. No mail server: Handle
// takes the raw message as the mailbox gave it.
//
//	go test ./mailbot/desk -run '^$' -bench . -benchmem

const (
	benchBot   = "vultures@cert.example"
	benchCoord = "coord@cert.example"
	benchAcme  = "psirt@acme.example"
)

type benchDesk struct {
	d      *desk.Desk
	caseID string
	body   string
	clock  time.Time
	uid    uint32
}

// benchDeskWith makes a desk on a fresh store, with the robot's key made
// at made and extra appended to its configuration (TOML tables), for the
// benchmarks of this package. Mail servers point nowhere.
func benchDeskWith(b *testing.B, extra string) (d *desk.Desk, made time.Time) {
	b.Helper()
	dir := b.TempDir()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`[bot]
address = %q
data_dir = %q
[imap]
address = "127.0.0.1:1"
security = "none"
[smtp]
address = "127.0.0.1:1"
security = "none"
[[coordinator]]
address = %q
`, benchBot, dir, benchCoord)+extra), filepath.Join(dir, "c.toml"))
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(cfg.StorePath(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	d = desk.New(st, cfg, nil)
	made = time.Now().Add(-time.Hour)
	robot, err := keys.Generate("coordbot", benchBot, keys.GenOptions{}, made)
	if err != nil {
		b.Fatal(err)
	}
	d.SetRobotKey(robot)
	return d, made
}

// newBenchDesk makes a desk on a fresh store with ACME on one case, the
// detail sent, so that every status report applies and is acknowledged.
// With keyed, ACME has a pinned key and gets its acknowledgements encrypted;
// else they are signed (and require_encrypted_detail is off so that the
// detail could be sent).
func newBenchDesk(b *testing.B, keyed bool) *benchDesk {
	b.Helper()
	d, made := benchDeskWith(b, fmt.Sprintf("[pgp]\nrequire_encrypted_detail = %v\n", keyed))
	in := desk.VendorInput{ID: "acme", Name: "ACME", Emails: []string{benchAcme, "security@acme.example"}, Lang: "ja"}
	if keyed {
		e, err := keys.Generate("ACME PSIRT", benchAcme, keys.GenOptions{}, made)
		if err != nil {
			b.Fatal(err)
		}
		arm, err := keys.ArmoredPublic(e)
		if err != nil {
			b.Fatal(err)
		}
		pub, err := keys.ParsePublic(arm, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		in.Key = &store.Key{Fingerprint: pub.Fingerprint, Armored: pub.Armored, Added: made}
	}
	if _, err := d.AddVendor(in); err != nil {
		b.Fatal(err)
	}
	c, err := d.NewCase(desk.CaseInput{Title: "TLS ライブラリにおけるバッファオーバーフロー",
		Overview: strings.Repeat("広く使われている TLS ライブラリのハンドシェイク処理に、境界検査の不備があります。\n", 20),
		Detail:   strings.Repeat("parse_header() の 412 行目で、長さを検査せずにスタックバッファへ複写しています。\n", 40)})
	if err != nil {
		b.Fatal(err)
	}
	for _, kind := range []string{"overview", "detail"} {
		if res, err := d.Notify(c.ID, kind, []string{"acme"}); err != nil || len(res) != 1 || !res[0].Queued {
			b.Fatalf("notify %s: %v %+v", kind, err, res)
		}
	}
	body, err := os.ReadFile(filepath.Join("..", "..", "testdata", "answers", "20-st-ja-affected-full-top.txt"))
	if err != nil {
		b.Fatal(err)
	}
	bd := &benchDesk{d: d, caseID: c.ID, body: strings.ReplaceAll(string(body), "JVNVU#12345678", c.ID), clock: time.Now()}
	// Acknowledgements to one address are capped per hour: the desk's clock
	// moves 3 minutes per message, 20 an hour.
	d.Now = func() time.Time { return bd.clock }
	return bd
}

// next returns the next answer from ACME: a plain UTF-8 status report with
// its own Message-ID, as a new mailbox UID.
func (bd *benchDesk) next() desk.Inbound {
	bd.uid++
	bd.clock = bd.clock.Add(3 * time.Minute)
	var sb strings.Builder
	fmt.Fprintf(&sb, "Received: from mail.acme.example by mx.cert.example; %s\r\n", bd.clock.Format(time.RFC1123Z))
	fmt.Fprintf(&sb, "From: ACME PSIRT <%s>\r\nTo: %s\r\nSubject: Re: [%s] 脆弱性詳細情報 / Vulnerability detail\r\n", benchAcme, benchBot, bd.caseID)
	fmt.Fprintf(&sb, "Message-ID: <%d.%d@mail.acme.example>\r\nDate: %s\r\nMIME-Version: 1.0\r\n", bd.clock.UnixNano(), bd.uid, bd.clock.Format(time.RFC1123Z))
	sb.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	sb.WriteString(strings.ReplaceAll(bd.body, "\n", "\r\n"))
	return desk.Inbound{Mailbox: "INBOX", UIDValidity: 1, UID: bd.uid, Raw: []byte(sb.String())}
}

func benchHandle(b *testing.B, keyed bool) {
	bd := newBenchDesk(b, keyed)
	check := func(res desk.Result, err error) {
		if err != nil || res.Outcome != store.OutcomeApplied || res.Again {
			b.Fatalf("handle: %v %+v", err, res)
		}
	}
	check(bd.d.Handle(bd.next()))
	b.ReportAllocs()
	for b.Loop() {
		check(bd.d.Handle(bd.next()))
	}
}

// A plain status report from a vendor without a key: the acknowledgement
// is signed.
func BenchmarkHandleStatusReport(b *testing.B) { benchHandle(b, false) }

// A plain status report from a vendor with a pinned key: the
// acknowledgement is encrypted to the vendor and the robot.
func BenchmarkHandleStatusReportKeyedVendor(b *testing.B) { benchHandle(b, true) }

// The same answers through HandleBatch, 20 per batch; the time is per
// message.
func BenchmarkHandleBatch20(b *testing.B) {
	bd := newBenchDesk(b, false)
	const n = 20
	batch := func() {
		ins := make([]desk.Inbound, n)
		for i := range ins {
			ins[i] = bd.next()
		}
		res, err := bd.d.HandleBatch(ins)
		if err != nil || len(res) != n {
			b.Fatalf("batch: %v (%d results)", err, len(res))
		}
		for _, r := range res {
			if r.Outcome != store.OutcomeApplied {
				b.Fatalf("batch: %+v", r)
			}
		}
	}
	batch()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		ins := make([]desk.Inbound, n)
		for i := range ins {
			ins[i] = bd.next()
		}
		b.StartTimer()
		res, err := bd.d.HandleBatch(ins)
		if err != nil || len(res) != n {
			b.Fatalf("batch: %v (%d results)", err, len(res))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/message")
}
