// Package auth holds what the IMAP and SMTP clients need to log in to an
// organisation's mail system: SASL mechanisms (PLAIN, LOGIN, and XOAUTH2
// for Exchange Online and Gmail, which no longer take passwords), OAuth
// tokens read from a file or a command, and a custom CA pool.
package auth

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
)

// Mechanisms.
const (
	Plain   = "plain"
	Login   = "login"
	XOAUTH2 = "xoauth2"
)

// Client returns the SASL client for mech ("" = plain); for XOAUTH2 the
// secret is the access token.
func Client(mech, user, secret string) (sasl.Client, error) {
	switch strings.ToLower(mech) {
	case "", Plain:
		return sasl.NewPlainClient("", user, secret), nil
	case Login:
		return sasl.NewLoginClient(user, secret), nil
	case XOAUTH2:
		return NewXOAUTH2Client(user, secret), nil
	}
	return nil, fmt.Errorf("auth: mechanism %q is not one of plain, login, xoauth2", mech)
}

// MechName is the SASL name of mech, as servers advertise it.
func MechName(mech string) string {
	switch strings.ToLower(mech) {
	case Login:
		return sasl.Login
	case XOAUTH2:
		return "XOAUTH2"
	}
	return sasl.Plain
}

// xoauth2Client speaks Google's and Microsoft's XOAUTH2: one initial
// response "user=U^Aauth=Bearer T^A^A"; on failure the server sends a
// JSON challenge, answered with an empty response.
type xoauth2Client struct{ user, token string }

// NewXOAUTH2Client makes an XOAUTH2 client.
func NewXOAUTH2Client(user, token string) sasl.Client { return &xoauth2Client{user, token} }

func (c *xoauth2Client) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + c.user + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
}

func (c *xoauth2Client) Next(challenge []byte) ([]byte, error) {
	// The challenge is the server's JSON error; the empty answer ends it.
	return []byte{}, nil
}

// xoauth2Server checks XOAUTH2 logins (tests, the dev servers).
type xoauth2Server struct {
	check func(user, token string) error
	done  bool
	err   error
}

// NewXOAUTH2Server makes an XOAUTH2 server calling check.
func NewXOAUTH2Server(check func(user, token string) error) sasl.Server {
	return &xoauth2Server{check: check}
}

func (s *xoauth2Server) Next(resp []byte) ([]byte, bool, error) {
	if s.err != nil {
		// The client answered the error challenge: fail now.
		return nil, true, s.err
	}
	if resp == nil {
		return []byte{}, false, nil
	}
	parts := strings.Split(string(resp), "\x01")
	var user, token string
	for _, p := range parts {
		switch {
		case strings.HasPrefix(p, "user="):
			user = strings.TrimPrefix(p, "user=")
		case strings.HasPrefix(p, "auth=Bearer "):
			token = strings.TrimPrefix(p, "auth=Bearer ")
		}
	}
	if err := s.check(user, token); err != nil {
		s.err = err
		return []byte(`{"status":"401","schemes":"bearer"}`), false, nil
	}
	return nil, true, nil
}

// Token reads an OAuth access token from a file (re-read each time, so a
// helper can refresh it) or the first line a command prints.
func Token(file, command string) (string, error) {
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("auth: token: %w", err)
		}
		return firstLine(b)
	case command != "":
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("auth: token command: %w (%s)", err, strings.TrimSpace(stderr.String()))
		}
		return firstLine(out)
	}
	return "", errors.New("auth: xoauth2 needs token_file or token_command")
}

func firstLine(b []byte) (string, error) {
	t, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	if t = strings.TrimSpace(t); t == "" {
		return "", errors.New("auth: empty token")
	}
	return t, nil
}

// CAPool returns the system roots plus the PEM certificates in file.
func CAPool(file string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("auth: ca_file: %w", err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("auth: ca_file %s holds no PEM certificate", file)
	}
	return pool, nil
}
