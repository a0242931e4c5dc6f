package smtpout

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Values of Config.Security.
const (
	SecurityTLS      = "tls"      // implicit TLS from the first byte (submissions, port 465)
	SecurityStartTLS = "starttls" // plain connect, then STARTTLS, required to succeed (port 587)
	SecurityNone     = "none"     // no TLS at all: only to a loopback host (dev servers, tests)
)

// Defaults applied by New for zero fields.
const (
	DefaultDialTimeout    = 15 * time.Second
	DefaultCommandTimeout = 60 * time.Second
	DefaultDataTimeout    = 10 * time.Minute
	DefaultIdleClose      = 30 * time.Second
	DefaultHelloName      = "localhost"
)

// Config says how to reach the submission server.
type Config struct {
	// Address is host:port of the submission server.
	Address string
	// Security is SecurityTLS, SecurityStartTLS or SecurityNone; there is
	// no default, so that plaintext is never chosen by accident.
	Security string
	// Username and Password for AUTH PLAIN; an empty Username means no AUTH.
	// AUTH happens only over TLS or to a loopback host.
	Username, Password string
	// HelloName is the EHLO name, e.g. the robot's domain (default
	// "localhost", which strict servers reject: set it).
	HelloName string
	// TLSConfig is cloned; ServerName defaults to the host of Address and
	// MinVersion to TLS 1.2.
	TLSConfig *tls.Config
	// DialTimeout bounds the TCP connect and, for SecurityTLS, the handshake.
	DialTimeout time.Duration
	// CommandTimeout bounds each SMTP command and its reply.
	CommandTimeout time.Duration
	// DataTimeout bounds writing the body and waiting for the reply to the
	// final dot. It is long (RFC 5321 §4.5.3.2.6 suggests 10 minutes)
	// because a timeout there is an ambiguous end and costs a resend.
	DataTimeout time.Duration
	// IdleClose closes a connection that has been idle this long, before
	// the server's own idle timeout (Postfix: 300 s) cuts it under us.
	IdleClose time.Duration
	// Connections is the number of connections kept, and so the number of
	// concurrent transactions (default 1).
	Connections int
	// Auth is the SASL mechanism: "" or "plain", "login", "xoauth2".
	Auth string
	// Token gives the OAuth access token for xoauth2, fresh at each login.
	Token func() (string, error)
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.CommandTimeout == 0 {
		c.CommandTimeout = DefaultCommandTimeout
	}
	if c.DataTimeout == 0 {
		c.DataTimeout = DefaultDataTimeout
	}
	if c.IdleClose == 0 {
		c.IdleClose = DefaultIdleClose
	}
	if c.HelloName == "" {
		c.HelloName = DefaultHelloName
	}
	if c.Connections == 0 {
		c.Connections = 1
	}
	return c
}

// Validate reports a configuration that Send would refuse. Call it at
// startup: Send returns the same error, as a permanent one, for every message.
func (c Config) Validate() error {
	if err := c.validate(); err != nil {
		return fmt.Errorf("smtpout: %w", err)
	}
	return nil
}

func (c Config) validate() error {
	c = c.withDefaults()
	host, port, err := net.SplitHostPort(c.Address)
	if err != nil {
		return fmt.Errorf("address %q: %w", c.Address, err)
	}
	if host == "" || port == "" {
		return fmt.Errorf("address %q: host and port required", c.Address)
	}
	switch c.Security {
	case SecurityTLS, SecurityStartTLS:
	case SecurityNone:
		// Without TLS the message and any password cross the network in
		// clear; only a loopback peer makes that acceptable.
		if !isLoopback(host) {
			return fmt.Errorf("security %q refused for non-loopback host %q", c.Security, host)
		}
	default:
		return fmt.Errorf("security %q: want %q, %q or %q", c.Security, SecurityTLS, SecurityStartTLS, SecurityNone)
	}
	if strings.ContainsAny(c.HelloName, " \t\r\n") {
		return errors.New("hello name must be one word")
	}
	if c.Connections < 0 {
		return errors.New("connections must not be negative")
	}
	if c.DialTimeout < 0 || c.CommandTimeout < 0 || c.DataTimeout < 0 || c.IdleClose < 0 {
		return errors.New("timeouts must not be negative")
	}
	return nil
}

// isLoopback reports whether host is a loopback IP literal or "localhost"
// (RFC 6761 reserves the name for loopback).
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// tlsConfig returns the TLS configuration for a connection to host.
func (c Config) tlsConfig(host string) *tls.Config {
	var tc *tls.Config
	if c.TLSConfig != nil {
		tc = c.TLSConfig.Clone()
	} else {
		tc = &tls.Config{}
	}
	// go-smtp fills ServerName only for its own Dial* helpers; we dial
	// ourselves, and an empty ServerName fails verification.
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	if tc.MinVersion == 0 {
		tc.MinVersion = tls.VersionTLS12
	}
	return tc
}
