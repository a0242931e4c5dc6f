package inbox

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"time"

	"github.com/emersion/go-imap/v2"
)

// IsTemporary reports whether retrying later (on a new connection, after
// Backoff) may succeed: timeouts, broken connections, BYE, and NO answers
// that are not about credentials, permissions or a missing mailbox. Auth
// failures, certificate problems, BAD (our bug), oversized messages and a
// server without MOVE/UIDPLUS are permanent.
func IsTemporary(err error) bool {
	if err == nil {
		return false
	}
	var (
		tooLarge *TooLargeError
		ie       *imap.Error
		auth     *AuthError
		netErr   net.Error
	)
	switch {
	case errors.As(err, &tooLarge),
		errors.Is(err, ErrNoMove), errors.Is(err, ErrInsecure),
		errors.Is(err, ErrClosed), errors.Is(err, ErrNotSelected),
		errors.Is(err, context.Canceled), isCertError(err):
		return false
	case errors.As(err, &auth):
		// [UNAVAILABLE] means the auth backend is down, not a bad password.
		return errors.As(err, &ie) && ie.Code == imap.ResponseCodeUnavailable
	case errors.Is(err, ErrTimeout), errors.Is(err, ErrConnLost),
		errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.As(err, &ie):
		return temporaryIMAP(ie)
	case errors.As(err, &netErr),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed):
		return true
	}
	return false
}

// isCertError: the server's certificate is not trusted; retrying won't fix
// that, a person has to.
func isCertError(err error) bool {
	var (
		certErr *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		hostErr x509.HostnameError
		invalid x509.CertificateInvalidError
	)
	return errors.As(err, &certErr) || errors.As(err, &unknown) ||
		errors.As(err, &hostErr) || errors.As(err, &invalid)
}

func temporaryIMAP(ie *imap.Error) bool {
	switch ie.Type {
	case imap.StatusResponseTypeBye:
		return true
	case imap.StatusResponseTypeBad:
		return false
	}
	switch ie.Code {
	case imap.ResponseCodeUnavailable, imap.ResponseCodeInUse,
		imap.ResponseCodeServerBug, imap.ResponseCodeLimit,
		imap.ResponseCodeOverQuota, imap.ResponseCodeCorruption:
		return true
	case imap.ResponseCodeAuthenticationFailed, imap.ResponseCodeAuthorizationFailed,
		imap.ResponseCodeExpired, imap.ResponseCodePrivacyRequired,
		imap.ResponseCodeContactAdmin, imap.ResponseCodeNoPerm,
		imap.ResponseCodeNonExistent, imap.ResponseCodeTryCreate,
		imap.ResponseCodeAlreadyExists, imap.ResponseCodeCannot,
		imap.ResponseCodeClientBug, imap.ResponseCodeParse,
		imap.ResponseCodeTooBig, imap.ResponseCodeBadCharset:
		return false
	}
	// A plain NO: the server could not do it now; a retry is cheap.
	return true
}

// Backoff is the delay before reconnect attempt n (0-based): capped
// exponential with full jitter, between 1s and 5min, so a fleet of
// restarted clients does not hammer the server in step.
func Backoff(attempt int) time.Duration {
	const (
		base = time.Second
		ceil = 5 * time.Minute
	)
	d := ceil
	if attempt < 9 { // 2^9 s > 5 min
		d = min(ceil, base<<max(attempt, 0))
	}
	if d <= base {
		return base
	}
	return base + rand.N(d-base+1)
}
