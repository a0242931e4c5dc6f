package main

// Vendors with their own keys, registered through the CLI, and the
// answers they write.

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// vendor is one registered vendor with its own key pair.
type vendor struct {
	id, addr string
	ent      *openpgp.Entity // with the secret key
	fpr      string
	pub      []byte // armored public key
}

// makeVendors creates n vendors "<prefix>NNNN" at domain, each with a new
// Curve25519 key (as coordbot's own), on every CPU.
func makeVendors(ctx context.Context, prefix, domain string, n int) ([]*vendor, error) {
	vs := make([]*vendor, n)
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519, DefaultHash: crypto.SHA256,
		DefaultCipher: packet.CipherAES256}
	err := parallel(ctx, n, func(i int) error {
		id := fmt.Sprintf("%s%04d", prefix, i+1)
		v := &vendor{id: id, addr: id + "@" + domain}
		e, err := openpgp.NewEntity("Vendor "+id, "", v.addr, cfg)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
		if err != nil {
			return err
		}
		if err := e.Serialize(w); err != nil {
			return err
		}
		w.Close()
		buf.WriteByte('\n')
		v.ent, v.pub, v.fpr = e, buf.Bytes(), fmt.Sprintf("%X", e.PrimaryKey.Fingerprint)
		vs[i] = v
		return nil
	})
	return vs, err
}

// parallel runs f(0..n-1) on runtime.NumCPU() goroutines and returns the
// first error.
func parallel(ctx context.Context, n int, f func(i int) error) error {
	workers := min(runtime.NumCPU(), n)
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					errs <- err
					for range next {
					}
					return
				}
			}
		}()
	}
	var err error
feed:
	for i := range n {
		select {
		case next <- i:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return err
}

// register creates the vendors' mailboxes and imports them into the robot
// with one CSV file (`coordbot vendor import`), keys pinned.
func register(ctx context.Context, r *robot, vs []*vendor) error {
	var addrs []string
	for _, v := range vs {
		addrs = append(addrs, v.addr)
	}
	if err := r.o.srv.CreateUsers(addrs...); err != nil {
		return err
	}
	keyDir := filepath.Join(r.dir, "keys")
	if err := os.MkdirAll(keyDir, 0o755); err != nil {
		return err
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"id", "name", "lang", "emails", "key_file"})
	for _, v := range vs {
		if err := os.WriteFile(filepath.Join(keyDir, v.id+".asc"), v.pub, 0o600); err != nil {
			return err
		}
		w.Write([]string{v.id, "Vendor " + v.id, "en", v.addr, "keys/" + v.id + ".asc"})
	}
	w.Flush()
	path := filepath.Join(r.dir, "vendors.csv")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		return err
	}
	out, err := r.run(ctx, "vendor", "import", path)
	if err != nil {
		return err
	}
	if !strings.Contains(out, fmt.Sprintf("%d vendors imported", len(vs))) {
		return fmt.Errorf("vendor import: %s", strings.TrimSpace(out))
	}
	return nil
}

// newCase opens a case with the vendors on it and returns its ID.
func newCase(ctx context.Context, r *robot, title string, vs []*vendor) (string, error) {
	ov := filepath.Join(r.dir, "overview.txt")
	dt := filepath.Join(r.dir, "detail.txt")
	if err := os.WriteFile(ov, []byte("A crafted ClientHello makes the TLS server of the product read past a buffer.\n"+
		"Affected: versions before 2.1. Please tell us whether you ship the component.\n"), 0o600); err != nil {
		return "", err
	}
	if err := os.WriteFile(dt, []byte("The length field of the session ticket extension is trusted in handshake.c\n"+
		"line 412; a ticket of 65535 bytes overflows the 16 KiB buffer. Proof of concept attached on request.\n"), 0o600); err != nil {
		return "", err
	}
	out, err := r.run(ctx, "case", "new", "--title", title, "--overview-file", ov, "--detail-file", dt, "--keywords", "tls")
	if err != nil {
		return "", err
	}
	id := strings.TrimSpace(out)
	args := []string{"case", "vendors", "add", id}
	for _, v := range vs {
		args = append(args, v.id)
	}
	if _, err := r.run(ctx, args...); err != nil {
		return "", err
	}
	return id, nil
}

// caseJSON is the part of `case show --json` checked here.
type caseJSON struct {
	ID      string `json:"id"`
	State   string `json:"state"`
	Vendors []struct {
		Vendor  string `json:"vendor"`
		State   string `json:"state"`
		Status  string `json:"status"`
		Comment string `json:"comment"`
	} `json:"vendors"`
	Events []struct {
		Kind          string `json:"kind"`
		Vendor        string `json:"vendor"`
		Authenticated bool   `json:"authenticated"`
	} `json:"events"`
}

func showCase(ctx context.Context, r *robot, id string) (*caseJSON, error) {
	out, err := r.run(ctx, "case", "show", id, "--json")
	if err != nil {
		return nil, err
	}
	var c caseJSON
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		return nil, fmt.Errorf("case show --json: %w", err)
	}
	return &c, nil
}

// sendDetails puts every vendor of the case in the state where a status
// report applies (detail-sent): `case notify ID detail all`, then
// `poll --once` sends the details, and Postfix delivers them. Not timed.
func sendDetails(ctx context.Context, r *robot, caseID string, n int) error {
	out, err := r.run(ctx, "case", "notify", caseID, "detail", "all")
	if err != nil {
		return err
	}
	if q := strings.Count(out, ": detail queued"); q != n {
		return fmt.Errorf("case notify detail all queued %d details, want %d:\n%s", q, n, tail(out, 10))
	}
	t0 := time.Now()
	lines, err := r.poll(ctx)
	if err != nil {
		return err
	}
	sent := 0
	for _, l := range lines {
		if l.Msg == "notice sent" && l.Kind == "detail" {
			sent++
		}
	}
	if sent != n {
		return fmt.Errorf("poll --once sent %d details, want %d", sent, n)
	}
	r.o.logf("%d details sent in %v (setup)", n, time.Since(t0).Round(time.Millisecond))
	return waitQueueEmpty(ctx, r.o, 10*time.Minute)
}

// checkStatuses wants every vendor of vs affected, with its own comment,
// and one authenticated status-reported event each.
func checkStatuses(c *caseJSON, vs []*vendor) error {
	want := map[string]bool{}
	for _, v := range vs {
		want[v.id] = true
	}
	bad := 0
	var first string
	for _, p := range c.Vendors {
		if !want[p.Vendor] {
			continue
		}
		if p.Status != "affected" || p.Comment != comment(p.Vendor) {
			bad++
			if first == "" {
				first = fmt.Sprintf("%s: state %s, status %q, comment %q", p.Vendor, p.State, p.Status, p.Comment)
			}
		}
		delete(want, p.Vendor)
	}
	if len(want) > 0 || bad > 0 {
		return fmt.Errorf("status not applied: %d vendors missing from the case, %d with a wrong status (first: %s)", len(want), bad, first)
	}
	auth := map[string]bool{}
	for _, e := range c.Events {
		if e.Kind == "status-reported" && e.Authenticated {
			auth[e.Vendor] = true
		}
	}
	for _, v := range vs {
		if !auth[v.id] {
			return fmt.Errorf("no authenticated status-reported event for %s", v.id)
		}
	}
	return nil
}

// comment is the public comment each vendor reports: its own, so that a
// mix-up shows.
func comment(id string) string { return "Fixed in 2.1 (" + id + " advisory)" }

// statusBody is the status report form filled in (mailbot/forms).
func statusBody(v *vendor) string {
	return "Hello,\n\nStatus: affected\nPublic comment: " + comment(v.id) + "\nAdvisory URL: https://" +
		strings.ReplaceAll(v.addr, "@", ".") + "/sa/1\n\nRegards,\n" + v.id + " PSIRT\n"
}

// answer is one vendor answer, ready to deliver.
type answer struct {
	v     *vendor
	msgID string
	raw   []byte
	// armored is the OpenPGP message inside raw.
	armored []byte
}

// pgpAnswer writes what Thunderbird sends: a PGP/MIME message, encrypted to
// the robot's key and signed by the vendor's, the real Subject ("Re:
// [CASE] ...") only inside as a protected header, "..." outside.
// attachment, if any, is carried base64 in a multipart/mixed inside.
func pgpAnswer(v *vendor, robotKey *openpgp.Entity, caseID, body string, attachment []byte, now time.Time) (*answer, error) {
	a := &answer{v: v, msgID: fmt.Sprintf("%d.%s@%s", now.UnixNano(), v.id, v.addr[strings.IndexByte(v.addr, '@')+1:])}
	subject := "Re: [" + caseID + "] Vulnerability detail"
	common := "Subject: " + mime.QEncoding.Encode("utf-8", subject) + "\r\nFrom: " + v.addr + "\r\nTo: " + botAddr + "\r\n" +
		"Message-ID: <" + a.msgID + ">\r\nDate: " + now.Format(time.RFC1123Z) + "\r\n"
	var inner bytes.Buffer
	text := strings.ReplaceAll(body, "\n", "\r\n")
	if attachment == nil {
		inner.WriteString("Content-Type: text/plain; charset=UTF-8; protected-headers=\"v1\"\r\n" + common +
			"Content-Transfer-Encoding: 8bit\r\n\r\n" + text)
	} else {
		mw := multipart.NewWriter(&inner)
		inner.Reset()
		inner.WriteString("Content-Type: multipart/mixed; boundary=\"" + mw.Boundary() + "\"; protected-headers=\"v1\"\r\n" + common +
			"\r\nThis is a multi-part message in MIME format.\r\n")
		p, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/plain; charset=UTF-8"}, "Content-Transfer-Encoding": {"8bit"}})
		p.Write([]byte(text))
		p, _ = mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/octet-stream; name=\"capture.pcap\""},
			"Content-Disposition": {"attachment; filename=\"capture.pcap\""}, "Content-Transfer-Encoding": {"base64"}})
		p.Write(base64Lines(attachment))
		mw.Close()
	}
	var arm bytes.Buffer
	aw, err := armor.Encode(&arm, "PGP MESSAGE", nil)
	if err != nil {
		return nil, err
	}
	cfg := &packet.Config{DefaultHash: crypto.SHA256, DefaultCipher: packet.CipherAES256, Time: func() time.Time { return now }}
	pw, err := openpgp.Encrypt(aw, []*openpgp.Entity{robotKey}, v.ent, &openpgp.FileHints{}, cfg)
	if err != nil {
		return nil, fmt.Errorf("encrypt the answer of %s: %w", v.id, err)
	}
	if _, err := pw.Write(inner.Bytes()); err != nil {
		return nil, err
	}
	if err := pw.Close(); err != nil {
		return nil, err
	}
	if err := aw.Close(); err != nil {
		return nil, err
	}
	a.armored = bytes.ReplaceAll(append(arm.Bytes(), '\n'), []byte("\n"), []byte("\r\n"))

	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	b.WriteString("From: " + v.addr + "\r\nTo: " + botAddr + "\r\nSubject: ...\r\nMessage-ID: <" + a.msgID + ">\r\n" +
		"Date: " + now.Format(time.RFC1123Z) + "\r\nMIME-Version: 1.0\r\nUser-Agent: Mozilla Thunderbird\r\n" +
		"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"" + mw.Boundary() + "\"\r\n\r\n" +
		"This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n")
	p1, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/pgp-encrypted"}, "Content-Description": {"PGP/MIME version identification"}})
	p1.Write([]byte("Version: 1\r\n"))
	p2, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/octet-stream; name=\"encrypted.asc\""},
		"Content-Description": {"OpenPGP encrypted message"}, "Content-Disposition": {"inline; filename=\"encrypted.asc\""}})
	p2.Write(a.armored)
	mw.Close()
	a.raw = b.Bytes()
	return a, nil
}

// statusAnswers writes one encrypted and signed status report per vendor,
// on every CPU.
func statusAnswers(ctx context.Context, r *robot, caseID string, vs []*vendor) ([]*answer, error) {
	out := make([]*answer, len(vs))
	now := time.Now()
	err := parallel(ctx, len(vs), func(i int) error {
		a, err := pgpAnswer(vs[i], r.ent, caseID, statusBody(vs[i]), nil, now)
		out[i] = a
		return err
	})
	return out, err
}

func base64Lines(data []byte) []byte {
	s := base64.StdEncoding.EncodeToString(data)
	var b bytes.Buffer
	b.Grow(len(s) + len(s)/76*2 + 2)
	for len(s) > 76 {
		b.WriteString(s[:76])
		b.WriteString("\r\n")
		s = s[76:]
	}
	if s != "" {
		b.WriteString(s + "\r\n")
	}
	return b.Bytes()
}

// encryptedPart returns the armored OpenPGP message of a PGP/MIME
// encrypted message (the application/octet-stream part).
func encryptedPart(raw []byte) ([]byte, error) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	ct := m.Header.Get("Content-Type")
	_, params, err := mime.ParseMediaType(ct)
	if err != nil || params["boundary"] == "" {
		return nil, fmt.Errorf("not multipart: %q", ct)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return nil, fmt.Errorf("no encrypted part: %w", err)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "application/octet-stream") {
			var b bytes.Buffer
			if _, err := b.ReadFrom(p); err != nil {
				return nil, err
			}
			return b.Bytes(), nil
		}
	}
}
