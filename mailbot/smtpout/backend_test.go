package smtpout

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// faultBackend is a go-smtp backend that injects faults per stage, after
// maddy's test backend, and behaves like Postfix on a nested MAIL.
type faultBackend struct {
	mu            sync.Mutex
	authErr       error
	mailErr       error
	rcptErr       map[string]error
	dataErr       error
	dropAfterDot  bool          // store the message, then cut the connection without a reply
	stallAfterDot time.Duration // store the message, then wait before replying
	users         map[string]string

	conns    []*smtp.Conn // distinct connections that said EHLO
	logouts  int
	received []received
}

type received struct {
	from   string
	to     []string
	data   []byte
	helo   string
	tls    bool
	authAs string
}

func (be *faultBackend) set(f func(be *faultBackend)) {
	be.mu.Lock()
	defer be.mu.Unlock()
	f(be)
}

func (be *faultBackend) numConns() int {
	be.mu.Lock()
	defer be.mu.Unlock()
	return len(be.conns)
}

func (be *faultBackend) messages() []received {
	be.mu.Lock()
	defer be.mu.Unlock()
	return append([]received(nil), be.received...)
}

// dropAll cuts every connection, as a restarting server does.
func (be *faultBackend) dropAll() {
	be.mu.Lock()
	defer be.mu.Unlock()
	for _, c := range be.conns {
		c.Conn().Close()
	}
}

func (be *faultBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	be.mu.Lock()
	defer be.mu.Unlock()
	seen := false
	for _, old := range be.conns {
		seen = seen || old == c
	}
	// go-smtp makes a new session after STARTTLS on the same connection.
	if !seen {
		be.conns = append(be.conns, c)
	}
	return &faultSession{be: be, conn: c}, nil
}

type faultSession struct {
	be     *faultBackend
	conn   *smtp.Conn
	inTx   bool
	from   string
	to     []string
	authAs string
}

var errNestedMail = &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "Error: nested MAIL command"}

func (s *faultSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *faultSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		s.be.mu.Lock()
		defer s.be.mu.Unlock()
		if s.be.authErr != nil {
			return s.be.authErr
		}
		if want, ok := s.be.users[username]; !ok || want != password || identity != "" && identity != username {
			return smtp.ErrAuthFailed
		}
		s.authAs = username
		return nil
	}), nil
}

func (s *faultSession) Mail(from string, opts *smtp.MailOptions) error {
	s.be.mu.Lock()
	defer s.be.mu.Unlock()
	// go-smtp itself accepts a second MAIL; Postfix does not.
	if s.inTx {
		return errNestedMail
	}
	if s.be.mailErr != nil {
		return s.be.mailErr
	}
	s.inTx, s.from, s.to = true, from, nil
	return nil
}

func (s *faultSession) Rcpt(to string, opts *smtp.RcptOptions) error {
	s.be.mu.Lock()
	defer s.be.mu.Unlock()
	if err := s.be.rcptErr[to]; err != nil {
		return err
	}
	s.to = append(s.to, to)
	return nil
}

func (s *faultSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.be.mu.Lock()
	if err := s.be.dataErr; err != nil {
		s.be.mu.Unlock()
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.be.received = append(s.be.received, received{
		from: s.from, to: s.to, data: data, helo: s.conn.Hostname(), tls: isTLS, authAs: s.authAs,
	})
	drop, stall := s.be.dropAfterDot, s.be.stallAfterDot
	s.be.mu.Unlock()
	if drop {
		s.conn.Conn().Close()
	}
	time.Sleep(stall)
	return nil
}

func (s *faultSession) Reset() { s.inTx, s.from, s.to = false, "", nil }

func (s *faultSession) Logout() error {
	s.be.mu.Lock()
	s.be.logouts++
	s.be.mu.Unlock()
	return nil
}

type serverOpts struct {
	tls          *tls.Config // STARTTLS offered when set
	implicitTLS  bool        // listen with TLS from the first byte
	insecureAuth bool
}

// startServer runs a go-smtp server on 127.0.0.1:0 and returns its address.
func startServer(t *testing.T, be *faultBackend, o serverOpts) string {
	t.Helper()
	srv := smtp.NewServer(be)
	srv.Domain = "mx.test"
	srv.TLSConfig = o.tls
	srv.AllowInsecureAuth = o.insecureAuth
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	var ln net.Listener
	var err error
	if o.implicitTLS {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", o.tls)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		// go-smtp's Close misses a listener that Serve has not registered
		// yet, and Serve would then accept forever.
		ln.Close()
		<-done
	})
	return ln.Addr().String()
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
		Subject:               pkix.Name{CommonName: "mx.test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
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
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}
