package auth_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/coordbot/coordbot/mailbot/auth"
	"github.com/coordbot/coordbot/mailbot/inbox"
	"github.com/coordbot/coordbot/mailbot/smtpout"
)

const user, pass, goodToken = "vultures@cert.example", "pw", "ya29.good-token"

func checkToken(u, tok string) error {
	if u != user || tok != goodToken {
		return errors.New("invalid token")
	}
	return nil
}

// saslSession is the memory server's session with XOAUTH2 only, as
// Exchange Online offers it once basic auth is off.
type saslSession struct{ imapserver.Session }

func (s saslSession) AuthenticateMechanisms() []string { return []string{"XOAUTH2"} }

func (s saslSession) Authenticate(mech string) (sasl.Server, error) {
	return auth.NewXOAUTH2Server(func(u, tok string) error {
		if err := checkToken(u, tok); err != nil {
			return err
		}
		return s.Session.Login(user, pass)
	}), nil
}

func TestIMAPXOAUTH2(t *testing.T) {
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(user, pass)
	u.Create("INBOX", nil)
	mem.AddUser(u)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return saslSession{mem.NewSession()}, nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapLoginDisabled: {}},
		InsecureAuth: true,
	})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	tokFile := filepath.Join(t.TempDir(), "token")
	for _, tt := range []struct {
		token string
		ok    bool
	}{{goodToken, true}, {"expired", false}} {
		os.WriteFile(tokFile, []byte(tt.token+"\n"), 0o600)
		c, err := inbox.Dial(context.Background(), inbox.Config{Address: ln.Addr().String(), Security: "none", Username: user,
			Auth: auth.XOAUTH2, Token: func() (string, error) { return auth.Token(tokFile, "") }}, nil)
		if (err == nil) != tt.ok {
			t.Fatalf("token %s: %v", tt.token, err)
		}
		if err == nil {
			if _, err := c.Select("INBOX"); err != nil {
				t.Fatal(err)
			}
			c.Close()
		}
	}
}

type smtpBackend struct{}

func (smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{}, nil }

type smtpSession struct{ authed bool }

func (s *smtpSession) AuthMechanisms() []string { return []string{"XOAUTH2"} }
func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	return auth.NewXOAUTH2Server(func(u, tok string) error {
		err := checkToken(u, tok)
		s.authed = err == nil
		return err
	}), nil
}
func (s *smtpSession) Mail(string, *smtp.MailOptions) error {
	if !s.authed {
		return &smtp.SMTPError{Code: 530, Message: "auth required"}
	}
	return nil
}
func (s *smtpSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *smtpSession) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
func (s *smtpSession) Reset()        {}
func (s *smtpSession) Logout() error { return nil }

func TestSMTPXOAUTH2(t *testing.T) {
	srv := smtp.NewServer(smtpBackend{})
	srv.AllowInsecureAuth = true
	srv.Domain = "localhost"
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); ln.Close() })
	for _, tt := range []struct {
		cmd string
		ok  bool
	}{{"echo " + goodToken, true}, {"echo wrong", false}, {"exit 3", false}} {
		s := smtpout.New(smtpout.Config{Address: ln.Addr().String(), Security: "none", Username: user, Auth: auth.XOAUTH2,
			Token: func() (string, error) { return auth.Token("", tt.cmd) }}, nil)
		err := s.Send(context.Background(), user, []string{"psirt@acme.example"}, []byte("Subject: x\r\n\r\nbody\r\n"))
		s.Close()
		if (err == nil) != tt.ok {
			t.Fatalf("token command %q: %v", tt.cmd, err)
		}
	}
}
