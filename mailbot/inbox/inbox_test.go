package inbox

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

const (
	testUser = "bot"
	testPass = "secret-pw"
)

type serverOpts struct {
	caps         imap.CapSet // nil: IMAP4rev1 + IMAP4rev2 (MOVE, UIDPLUS, IDLE)
	tlsConfig    *tls.Config // STARTTLS, or implicit TLS with implicitTLS
	implicitTLS  bool
	secureAuthOK bool // refuse LOGIN without TLS
	transcript   *syncBuffer
}

// syncBuffer records the server's protocol traffic.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testServer struct {
	addr string
	user *imapmemserver.User
	srv  *imapserver.Server
}

// startServer runs go-imap's in-memory server on 127.0.0.1:0 with a user
// and an INBOX.
func startServer(t *testing.T, o serverOpts) *testServer {
	t.Helper()
	mem := imapmemserver.New()
	user := imapmemserver.NewUser(testUser, testPass)
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(user)
	caps := o.caps
	if caps == nil {
		caps = imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}}
	}
	var debug io.Writer
	if o.transcript != nil {
		debug = o.transcript
	}
	srv := imapserver.New(&imapserver.Options{
		DebugWriter: debug,
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         caps,
		TLSConfig:    o.tlsConfig,
		InsecureAuth: !o.secureAuthOK,
		Logger:       log.New(io.Discard, "", 0), // expected disconnects are noisy
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.implicitTLS {
		ln = tls.NewListener(ln, o.tlsConfig)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &testServer{addr: ln.Addr().String(), user: user, srv: srv}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func dial(t *testing.T, addr string, mod ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		Address:        addr,
		Security:       SecurityNone,
		Username:       testUser,
		Password:       testPass,
		DialTimeout:    5 * time.Second,
		CommandTimeout: 5 * time.Second,
	}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := Dial(context.Background(), cfg, testLogger(t))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// peer is an independent plain go-imap client for checking the server state.
func peer(t *testing.T, addr string) *imapclient.Client {
	t.Helper()
	p, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if err := p.Login(testUser, testPass).Wait(); err != nil {
		t.Fatal(err)
	}
	return p
}

func peerAppend(t *testing.T, p *imapclient.Client, mailbox string, raw []byte, flags ...imap.Flag) imap.UID {
	t.Helper()
	cmd := p.Append(mailbox, int64(len(raw)), &imap.AppendOptions{Flags: flags})
	if _, err := cmd.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := cmd.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return data.UID
}

// peerMessages returns UID → (body, flags) of every message in mailbox.
func peerMessages(t *testing.T, p *imapclient.Client, mailbox string) map[imap.UID]*imapclient.FetchMessageBuffer {
	t.Helper()
	if _, err := p.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := p.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{
		UID: true, Flags: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}},
	}).Collect()
	if err != nil && !strings.Contains(err.Error(), "No matching messages") {
		t.Fatal(err)
	}
	m := make(map[imap.UID]*imapclient.FetchMessageBuffer)
	for _, msg := range msgs {
		m[msg.UID] = msg
	}
	return m
}

func body(m *imapclient.FetchMessageBuffer) []byte {
	return m.FindBodySection(&imap.FetchItemBodySection{})
}

func testMessage(i int) []byte {
	return []byte(fmt.Sprintf("From: vendor%d@example.org\r\nTo: bot@example.org\r\n"+
		"Subject: test %d\r\nMessage-ID: <%d@example.org>\r\n\r\nbody %d\r\n", i, i, i, i))
}

// bigMessage is over 4096 bytes, so APPEND and FETCH use synchronizing
// literals and the streaming path.
func bigMessage() []byte {
	var b bytes.Buffer
	b.WriteString("From: big@example.org\r\nSubject: big\r\n\r\n")
	for i := range 3000 {
		fmt.Fprintf(&b, "line %04d with some bytes \xe2\x82\xac\r\n", i)
	}
	return b.Bytes()
}

func TestSelectUIDValidityStable(t *testing.T) {
	s := startServer(t, serverOpts{})
	c := dial(t, s.addr)
	v1, err := c.Select("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	v2, err := c.Select("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	v3, err := dial(t, s.addr).Select("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if v1 == 0 || v1 != v2 || v1 != v3 {
		t.Fatalf("uidvalidity not stable: %d %d %d", v1, v2, v3)
	}
	if _, err := c.Select("Nope"); err == nil || IsTemporary(err) {
		t.Fatalf("select missing mailbox: %v (temporary=%v)", err, IsTemporary(err))
	}
}

func TestNewUIDs(t *testing.T) {
	s := startServer(t, serverOpts{})
	p := peer(t, s.addr)
	var uids []imap.UID
	for i := range 4 {
		uids = append(uids, peerAppend(t, p, "INBOX", testMessage(i)))
	}
	c := dial(t, s.addr)
	if _, err := c.NewUIDs(0); !errors.Is(err, ErrNotSelected) {
		t.Fatalf("before select: %v", err)
	}
	if _, err := c.Select("INBOX"); err != nil {
		t.Fatal(err)
	}
	last := uint32(uids[3])
	for _, tc := range []struct {
		after uint32
		want  []imap.UID
	}{
		{0, uids},
		{uint32(uids[1]), uids[2:]},
		{last, nil},      // "n:*" matches the highest UID: filtered
		{last + 50, nil}, // likewise
		{^uint32(0), nil},
	} {
		got, err := c.NewUIDs(tc.after)
		if err != nil {
			t.Fatalf("after %d: %v", tc.after, err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("after %d: got %v, want %v", tc.after, got, tc.want)
		}
	}
}

func TestFetch(t *testing.T) {
	s := startServer(t, serverOpts{})
	p := peer(t, s.addr)
	raws := map[imap.UID][]byte{}
	for _, raw := range [][]byte{testMessage(1), bigMessage(), testMessage(2)} {
		raws[peerAppend(t, p, "INBOX", raw)] = raw
	}
	c := dial(t, s.addr)
	if _, err := c.Select("INBOX"); err != nil {
		t.Fatal(err)
	}
	uids, err := c.NewUIDs(0)
	if err != nil {
		t.Fatal(err)
	}
	var order []imap.UID
	// A UID that does not exist is skipped; order is by UID.
	ask := append([]imap.UID{999}, uids...)
	slices.Reverse(ask)
	err = c.Fetch(ask, func(uid imap.UID, raw []byte, err error) error {
		if err != nil {
			t.Errorf("uid %d: %v", uid, err)
		}
		if !bytes.Equal(raw, raws[uid]) {
			t.Errorf("uid %d: got %d bytes, want %d exact bytes", uid, len(raw), len(raws[uid]))
		}
		order = append(order, uid)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(order, uids) {
		t.Fatalf("fetched %v, want %v", order, uids)
	}
	for uid, m := range peerMessages(t, p, "INBOX") {
		if slices.Contains(m.Flags, imap.FlagSeen) {
			t.Errorf("uid %d got \\Seen", uid)
		}
	}

	// The callback may use the client (it runs outside any command), and
	// its error stops Fetch.
	stop := errors.New("stop")
	n := 0
	err = c.Fetch(uids, func(uid imap.UID, raw []byte, err error) error {
		n++
		if err := c.Noop(); err != nil {
			t.Errorf("noop inside callback: %v", err)
		}
		return stop
	})
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("callback error: %v after %d calls", err, n)
	}
}

func TestFetchTooLarge(t *testing.T) {
	s := startServer(t, serverOpts{})
	p := peer(t, s.addr)
	small := peerAppend(t, p, "INBOX", testMessage(1))
	big := peerAppend(t, p, "INBOX", bigMessage())
	c := dial(t, s.addr, func(cfg *Config) { cfg.MaxMessageSize = 4096 })
	if _, err := c.Select("INBOX"); err != nil {
		t.Fatal(err)
	}
	got := map[imap.UID]error{}
	err := c.Fetch([]imap.UID{small, big}, func(uid imap.UID, raw []byte, err error) error {
		if err != nil && raw != nil {
			t.Errorf("uid %d: raw with error", uid)
		}
		got[uid] = err
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got[small] != nil {
		t.Errorf("small: %v", got[small])
	}
	var tl *TooLargeError
	if !errors.As(got[big], &tl) || tl.UID != big || tl.Size != int64(len(bigMessage())) || tl.Limit != 4096 {
		t.Fatalf("big: %#v", got[big])
	}
	if IsTemporary(got[big]) {
		t.Error("too large is temporary")
	}
	// Still usable afterwards: the body was never requested.
	if err := c.Noop(); err != nil {
		t.Fatal(err)
	}
}

func TestMove(t *testing.T) {
	for _, tc := range []struct {
		name string
		caps imap.CapSet
	}{
		{"move", nil},
		{"uidplus", imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			transcript := &syncBuffer{}
			s := startServer(t, serverOpts{caps: tc.caps, transcript: transcript})
			p := peer(t, s.addr)
			keep := peerAppend(t, p, "INBOX", testMessage(1))
			move := peerAppend(t, p, "INBOX", testMessage(2))
			// A message someone else flagged \Deleted must survive the
			// fallback: only UID EXPUNGE of the moved UID is allowed.
			deleted := peerAppend(t, p, "INBOX", testMessage(3), imap.FlagDeleted)

			c := dial(t, s.addr)
			if got := moveMethod(c.Caps()); (tc.caps == nil) != (got == moveNative) || got == moveNone {
				t.Fatalf("move method %v for caps %v", got, c.Caps())
			}
			if err := c.Ensure("Processed"); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Select("INBOX"); err != nil {
				t.Fatal(err)
			}
			if err := c.Move(move, "Processed"); err != nil {
				t.Fatal(err)
			}
			// The commands actually sent: MOVE, or the checked fallback
			// with UID EXPUNGE and never a plain EXPUNGE.
			sent := transcript.String()
			wantCmds := []string{fmt.Sprintf("UID MOVE %d \"Processed\"\r\n", move)}
			if tc.caps != nil {
				wantCmds = []string{
					fmt.Sprintf("UID COPY %d \"Processed\"\r\n", move),
					fmt.Sprintf("UID STORE %d +FLAGS.SILENT (\\Deleted)\r\n", move),
					fmt.Sprintf("UID EXPUNGE %d\r\n", move),
				}
			}
			for _, cmd := range wantCmds {
				if !strings.Contains(sent, cmd) {
					t.Errorf("command %q not sent", cmd)
				}
			}
			if regexp.MustCompile(`(?m)^T\d+ EXPUNGE\r$`).MatchString(sent) {
				t.Error("plain EXPUNGE sent")
			}
			// Repeating a move of a UID already gone is harmless.
			if err := c.Move(move, "Processed"); err != nil {
				t.Fatalf("second move: %v", err)
			}
			if err := c.Move(keep, "Missing"); err == nil || IsTemporary(err) {
				t.Fatalf("move to missing mailbox: %v (temporary=%v)", err, IsTemporary(err))
			}

			inbox := peerMessages(t, p, "INBOX")
			if _, ok := inbox[move]; ok {
				t.Error("moved uid still in INBOX")
			}
			for _, uid := range []imap.UID{keep, deleted} {
				if _, ok := inbox[uid]; !ok {
					t.Errorf("uid %d vanished from INBOX", uid)
				}
			}
			processed := peerMessages(t, p, "Processed")
			if len(processed) != 1 {
				t.Fatalf("Processed holds %d messages", len(processed))
			}
			for _, m := range processed {
				if !bytes.Equal(body(m), testMessage(2)) {
					t.Errorf("moved body differs")
				}
				if slices.Contains(m.Flags, imap.FlagDeleted) && tc.caps == nil {
					t.Errorf("moved message has \\Deleted")
				}
			}
		})
	}
}

func TestMoveUnsupported(t *testing.T) {
	s := startServer(t, serverOpts{caps: imap.CapSet{imap.CapIMAP4rev1: {}}})
	p := peer(t, s.addr)
	uid := peerAppend(t, p, "INBOX", testMessage(1))
	c := dial(t, s.addr)
	if err := c.Ensure("Processed"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX"); err != nil {
		t.Fatal(err)
	}
	err := c.Move(uid, "Processed")
	if !errors.Is(err, ErrNoMove) || IsTemporary(err) {
		t.Fatalf("got %v", err)
	}
	if _, ok := peerMessages(t, p, "INBOX")[uid]; !ok {
		t.Fatal("message left INBOX")
	}
	if n := len(peerMessages(t, p, "Processed")); n != 0 {
		t.Fatalf("Processed holds %d", n)
	}
}

func TestMoveMethod(t *testing.T) {
	for _, tc := range []struct {
		caps imap.CapSet
		want moveKind
	}{
		{imap.CapSet{imap.CapIMAP4rev2: {}}, moveNative}, // implied
		{imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapMove: {}, imap.CapUIDPlus: {}}, moveNative},
		{imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}}, moveUIDPlus},
		{imap.CapSet{imap.CapIMAP4rev1: {}}, moveNone},
		{nil, moveNone},
	} {
		if got := moveMethod(tc.caps); got != tc.want {
			t.Errorf("%v: got %v, want %v", tc.caps, got, tc.want)
		}
	}
}

func TestAppendAndEnsure(t *testing.T) {
	s := startServer(t, serverOpts{})
	c := dial(t, s.addr)
	for range 2 { // idempotent, INBOX included
		if err := c.Ensure("Sent", "Processed", "Quarantine", "INBOX"); err != nil {
			t.Fatal(err)
		}
	}
	for _, raw := range [][]byte{testMessage(7), bigMessage()} {
		if err := c.Append("Sent", raw, imap.FlagSeen); err != nil {
			t.Fatal(err)
		}
	}
	p := peer(t, s.addr)
	sent := peerMessages(t, p, "Sent")
	if len(sent) != 2 {
		t.Fatalf("Sent holds %d", len(sent))
	}
	for _, m := range sent {
		if b := body(m); !bytes.Equal(b, testMessage(7)) && !bytes.Equal(b, bigMessage()) {
			t.Errorf("uid %d: body differs (%d bytes)", m.UID, len(b))
		}
		if !slices.Contains(m.Flags, imap.FlagSeen) {
			t.Errorf("uid %d: flags %v", m.UID, m.Flags)
		}
	}
	err := c.Append("Nowhere", testMessage(1))
	var ie *imap.Error
	if !errors.As(err, &ie) || ie.Code != imap.ResponseCodeTryCreate || IsTemporary(err) {
		t.Fatalf("append to missing mailbox: %v", err)
	}
	if err := c.Noop(); err != nil {
		t.Fatalf("after failed append: %v", err)
	}
}

func TestWaitNewMail(t *testing.T) {
	s := startServer(t, serverOpts{})
	c := dial(t, s.addr)
	if _, err := c.Select("INBOX"); err != nil {
		t.Fatal(err)
	}
	if !c.Caps().Has(imap.CapIdle) {
		t.Fatal("test server has no IDLE")
	}

	// Nothing new: Wait returns false after max.
	start := time.Now()
	got, err := c.Wait(context.Background(), 200*time.Millisecond)
	if err != nil || got {
		t.Fatalf("empty wait: %v %v", got, err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 3*time.Second {
		t.Fatalf("empty wait took %v", d)
	}

	type result struct {
		got bool
		err error
	}
	done := make(chan result, 1)
	go func() {
		got, err := c.Wait(context.Background(), 20*time.Second)
		done <- result{got, err}
	}()
	// imapmemserver can miss an APPEND made just as IDLE starts: keep
	// appending until the announcement comes through.
	p := peer(t, s.addr)
	var appended []imap.UID
	var r result
	tick := time.NewTicker(150 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case r = <-done:
			break wait
		case <-tick.C:
			appended = append(appended, peerAppend(t, p, "INBOX", testMessage(len(appended))))
		case <-time.After(15 * time.Second):
			t.Fatal("wait did not report new mail")
		}
	}
	if r.err != nil || !r.got {
		t.Fatalf("wait: %v %v", r.got, r.err)
	}
	uids, err := c.NewUIDs(0)
	if err != nil {
		t.Fatal(err)
	}
	for _, uid := range appended {
		if !slices.Contains(uids, uid) {
			t.Errorf("appended uid %d not found in %v", uid, uids)
		}
	}

	// A cancelled context ends IDLE cleanly; the client stays usable.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.Wait(ctx, time.Minute); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled wait: %v", err)
	}
	if err := c.Noop(); err != nil {
		t.Fatalf("noop after cancelled wait: %v", err)
	}
}

// Mail that arrived before Wait (seen during another command) is reported
// at once instead of being slept on.
func TestWaitPendingAnnouncement(t *testing.T) {
	s := startServer(t, serverOpts{})
	c := dial(t, s.addr)
	if _, err := c.Select("INBOX"); err != nil {
		t.Fatal(err)
	}
	peerAppend(t, peer(t, s.addr), "INBOX", testMessage(1))
	if err := c.Noop(); err != nil { // collects the EXISTS
		t.Fatal(err)
	}
	start := time.Now()
	got, err := c.Wait(context.Background(), 10*time.Second)
	if err != nil || !got || time.Since(start) > time.Second {
		t.Fatalf("got %v %v after %v", got, err, time.Since(start))
	}
	// NewUIDs consumes the announcement.
	if _, err := c.NewUIDs(0); err != nil {
		t.Fatal(err)
	}
	got, err = c.Wait(context.Background(), 100*time.Millisecond)
	if err != nil || got {
		t.Fatalf("after NewUIDs: %v %v", got, err)
	}
}

// The polling path, used when the server lacks IDLE (imapserver always
// offers it, so call it directly).
func TestPoll(t *testing.T) {
	s := startServer(t, serverOpts{})
	c := dial(t, s.addr)
	if _, err := c.Select("INBOX"); err != nil {
		t.Fatal(err)
	}
	got, err := c.poll(context.Background(), 50*time.Millisecond)
	if err != nil || got {
		t.Fatalf("empty poll: %v %v", got, err)
	}
	peerAppend(t, peer(t, s.addr), "INBOX", testMessage(1))
	got, err = c.poll(context.Background(), 50*time.Millisecond)
	if err != nil || !got {
		t.Fatalf("poll after append: %v %v", got, err)
	}
}

func TestWaitServerClosed(t *testing.T) {
	s := startServer(t, serverOpts{})
	c := dial(t, s.addr)
	if _, err := c.Select("INBOX"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Wait(context.Background(), time.Minute)
		done <- err
	}()
	time.Sleep(200 * time.Millisecond) // let IDLE start
	s.srv.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrConnLost) || !IsTemporary(err) {
			t.Fatalf("got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("wait did not notice the closed server")
	}
	select {
	case <-c.Closed():
	default:
		t.Fatal("Closed not closed")
	}
	if err := c.Noop(); !errors.Is(err, ErrConnLost) {
		t.Fatalf("noop after drop: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("close after drop: %v", err)
	}
}

func TestCloseDuringWait(t *testing.T) {
	s := startServer(t, serverOpts{})
	c := dial(t, s.addr)
	if _, err := c.Select("INBOX"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Wait(context.Background(), time.Minute)
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("wait did not return after Close")
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if err := c.Noop(); !errors.Is(err, ErrClosed) {
		t.Fatalf("noop after close: %v", err)
	}
}

func TestCloseTwice(t *testing.T) {
	s := startServer(t, serverOpts{})
	c := dial(t, s.addr)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestDialRefusesPlaintextToRemoteHost(t *testing.T) {
	for _, addr := range []string{"192.0.2.1:143", "example.com:143", "localhost:143", "[2001:db8::1]:143"} {
		_, err := Dial(context.Background(), Config{Address: addr, Security: SecurityNone}, nil)
		if !errors.Is(err, ErrInsecure) || IsTemporary(err) {
			t.Errorf("%s: got %v", addr, err)
		}
	}
	if _, err := Dial(context.Background(), Config{Address: "127.0.0.1:1", Security: "plain"}, nil); err == nil {
		t.Error("unknown security accepted")
	}
	if !isLoopback("::1") || !isLoopback("127.0.0.2") || isLoopback("10.0.0.1") {
		t.Error("isLoopback")
	}
}

func TestDialAuthFailure(t *testing.T) {
	s := startServer(t, serverOpts{})
	_, err := Dial(context.Background(), Config{Address: s.addr, Security: SecurityNone, Username: testUser, Password: "wrong"}, nil)
	var ae *AuthError
	if !errors.As(err, &ae) || IsTemporary(err) {
		t.Fatalf("got %v (temporary=%v)", err, IsTemporary(err))
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Fatal("password in error")
	}
}

func TestDialConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = Dial(context.Background(), Config{Address: addr, Security: SecurityNone}, nil)
	if err == nil || !IsTemporary(err) {
		t.Fatalf("got %v (temporary=%v)", err, IsTemporary(err))
	}
}

// selfSigned returns a server certificate for 127.0.0.1 and a pool that
// trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "coordbot test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func TestTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	serverTLS := &tls.Config{Certificates: []tls.Certificate{cert}}
	for _, tc := range []struct {
		security string
		implicit bool
	}{
		{SecurityTLS, true},
		{SecurityStartTLS, false},
	} {
		t.Run(tc.security, func(t *testing.T) {
			// secureAuthOK: the server refuses LOGIN before TLS, so a
			// successful login proves it happened inside TLS.
			s := startServer(t, serverOpts{tlsConfig: serverTLS, implicitTLS: tc.implicit, secureAuthOK: true})
			c := dial(t, s.addr, func(cfg *Config) {
				cfg.Security = tc.security
				cfg.TLSConfig = &tls.Config{RootCAs: pool}
			})
			if _, err := c.Select("INBOX"); err != nil {
				t.Fatal(err)
			}
			if err := c.Append("INBOX", testMessage(1)); err != nil {
				t.Fatal(err)
			}
			if uids, err := c.NewUIDs(0); err != nil || len(uids) != 1 {
				t.Fatalf("%v %v", uids, err)
			}

			// An untrusted certificate is refused, permanently.
			_, err := Dial(context.Background(), Config{
				Address: s.addr, Security: tc.security, Username: testUser, Password: testPass,
				DialTimeout: 5 * time.Second, CommandTimeout: 5 * time.Second,
			}, nil)
			if err == nil || IsTemporary(err) {
				t.Fatalf("untrusted cert: %v (temporary=%v)", err, IsTemporary(err))
			}
		})
	}
}

// fakeServer speaks just enough IMAP to log in, then never answers NOOP: a
// hung server. With mode "silent" it never even greets; with "drop" it
// hangs up on LOGIN.
func fakeServer(t *testing.T, mode string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			if mode == "silent" {
				continue
			}
			go func() {
				const caps = "IMAP4rev1 IDLE"
				fmt.Fprintf(conn, "* OK [CAPABILITY %s] hello\r\n", caps)
				sc := bufio.NewScanner(conn)
				for sc.Scan() {
					tag, cmd, _ := strings.Cut(sc.Text(), " ")
					switch verb, _, _ := strings.Cut(strings.ToUpper(cmd), " "); verb {
					case "LOGIN":
						if mode == "drop" {
							conn.Close()
							return
						}
						fmt.Fprintf(conn, "%s OK [CAPABILITY %s] welcome\r\n", tag, caps)
					case "CAPABILITY":
						fmt.Fprintf(conn, "* CAPABILITY %s\r\n%s OK done\r\n", caps, tag)
					case "LOGOUT":
						fmt.Fprintf(conn, "* BYE bye\r\n%s OK done\r\n", tag)
						conn.Close()
						return
					default: // hang
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestCommandTimeout(t *testing.T) {
	addr := fakeServer(t, "hang")
	c := dial(t, addr, func(cfg *Config) { cfg.CommandTimeout = 300 * time.Millisecond })
	start := time.Now()
	err := c.Noop()
	if !errors.Is(err, ErrTimeout) || !IsTemporary(err) {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("timeout took %v", d)
	}
	select {
	case <-c.Closed():
	case <-time.After(time.Second):
		t.Fatal("connection not closed after timeout")
	}
}

func TestDialTimeout(t *testing.T) {
	addr := fakeServer(t, "silent")
	start := time.Now()
	_, err := Dial(context.Background(), Config{
		Address: addr, Security: SecurityNone, Username: testUser, Password: testPass,
		DialTimeout: 200 * time.Millisecond, CommandTimeout: 200 * time.Millisecond,
	}, nil)
	if !errors.Is(err, ErrTimeout) || !IsTemporary(err) {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestDialDropped(t *testing.T) {
	addr := fakeServer(t, "drop")
	_, err := Dial(context.Background(), Config{
		Address: addr, Security: SecurityNone, Username: testUser, Password: testPass,
		DialTimeout: 2 * time.Second, CommandTimeout: 2 * time.Second,
	}, nil)
	var ae *AuthError
	if !errors.Is(err, ErrConnLost) || !IsTemporary(err) || errors.As(err, &ae) {
		t.Fatalf("got %v", err)
	}
}

func TestIsTemporary(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{fmt.Errorf("x: %w", ErrTimeout), true},
		{fmt.Errorf("x: %w", ErrConnLost), true},
		{io.ErrUnexpectedEOF, true},
		{&net.OpError{Op: "dial", Err: errors.New("refused")}, true},
		{context.DeadlineExceeded, true},
		{context.Canceled, false},
		{&imap.Error{Type: imap.StatusResponseTypeNo, Text: "try later"}, true},
		{&imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable}, true},
		{&imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate}, false},
		{&imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthenticationFailed}, false},
		{&imap.Error{Type: imap.StatusResponseTypeBad, Text: "syntax"}, false},
		{&imap.Error{Type: imap.StatusResponseTypeBye}, true},
		{&AuthError{Err: &imap.Error{Type: imap.StatusResponseTypeNo}}, false},
		{&AuthError{Err: &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable}}, true},
		{&TooLargeError{}, false},
		{ErrNoMove, false},
		{ErrInsecure, false},
		{x509.UnknownAuthorityError{}, false},
		{errors.New("something else"), false},
	} {
		if got := IsTemporary(tc.err); got != tc.want {
			t.Errorf("%v: got %v", tc.err, got)
		}
	}
}

func TestBackoff(t *testing.T) {
	if d := Backoff(0); d != time.Second {
		t.Errorf("attempt 0: %v", d)
	}
	for attempt := -1; attempt < 100; attempt++ {
		ceil := min(5*time.Minute, time.Second<<min(max(attempt, 0), 20))
		for range 20 {
			if d := Backoff(attempt); d < time.Second || d > ceil {
				t.Fatalf("attempt %d: %v outside [1s, %v]", attempt, d, ceil)
			}
		}
	}
	var spread bool
	for range 20 {
		if Backoff(10) != Backoff(10) {
			spread = true
		}
	}
	if !spread {
		t.Error("no jitter")
	}
}
