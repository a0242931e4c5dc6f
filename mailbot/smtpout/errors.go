package smtpout

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/textproto"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"
)

// stage is the point of the session where an error happened; it decides
// whether the error is temporary and whether the server may hold the message.
type stage int

const (
	stageSetup stage = iota // connect, greeting, EHLO, STARTTLS, AUTH
	stageMail
	stageRcpt
	stageData // the DATA command itself, before any body byte
	stageBody // writing the body: without the final dot nothing is accepted
	stageDot  // the final dot and its reply

	stageConfig   // Config.Validate failed
	stageEnvelope // addresses or message refused before any connection
)

var stageNames = [...]string{
	stageSetup: "connect",
	stageMail:  "mail from",
	stageRcpt:  "rcpt to",
	stageData:  "data",
	stageBody:  "write body",
	stageDot:   "end of data",

	stageConfig:   "config",
	stageEnvelope: "envelope",
}

// sendError is what Send returns (wrapped): the stage, the cause and the
// classification, fixed when the error is made.
type sendError struct {
	stage     stage
	rcpt      string // for stageRcpt
	err       error
	temporary bool
	ambiguous bool
}

func (e *sendError) Error() string {
	if e.stage == stageRcpt {
		return fmt.Sprintf("%s <%s>: %v", stageNames[e.stage], e.rcpt, e.err)
	}
	return fmt.Sprintf("%s: %v", stageNames[e.stage], e.err)
}

func (e *sendError) Unwrap() error { return e.err }

// Temporary lets callers that test for interface{ Temporary() bool }, as
// maddy's exterrors does, classify the error too.
func (e *sendError) Temporary() bool { return e.temporary }

// newSendError classifies err, which happened at stage st.
func newSendError(st stage, rcpt string, err error) *sendError {
	e := &sendError{stage: st, rcpt: rcpt, err: err}
	var smtpErr *smtp.SMTPError
	isReply := errors.As(err, &smtpErr)
	switch {
	case st == stageSetup:
		// A refused greeting, a failed STARTTLS or a rejected password says
		// nothing about the message: keep it queued while the operator
		// fixes the server or the configuration.
		e.temporary = true
	case isReply:
		// Only a 5xx is a definite refusal; an odd code is a confused
		// server, worth another try.
		e.temporary = smtpErr.Code/100 != 5
	default:
		// No reply: the connection broke, timed out or was cancelled.
		e.temporary = true
	}
	// After the final dot, only a reply tells whether the server took
	// responsibility for the message.
	e.ambiguous = st == stageDot && !isReply
	return e
}

// permanent marks err, found before anything was sent, as permanent.
func permanent(st stage, err error) *sendError {
	return &sendError{stage: st, err: err}
}

// IsTemporary reports whether sending may succeed later, so the message
// should stay queued and be retried after Backoff: a 4xx reply, a network
// error or timeout, a cancelled context, an ambiguous end, and any failure
// while setting up the session (greeting, STARTTLS, AUTH: not the message's
// fault). A 5xx reply to MAIL, RCPT or DATA, a bad envelope and an invalid
// Config are permanent.
func IsTemporary(err error) bool {
	if err == nil {
		return false
	}
	var se *sendError
	if errors.As(err, &se) {
		return se.temporary
	}
	// Errors not made by Send, e.g. straight from go-smtp.
	var smtpErr *smtp.SMTPError
	if errors.As(err, &smtpErr) {
		return smtpErr.Temporary()
	}
	var netErr net.Error
	var protoErr textproto.ProtocolError
	var recErr tls.RecordHeaderError
	return errors.As(err, &netErr) ||
		errors.As(err, &protoErr) ||
		errors.As(err, &recErr) ||
		errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE)
}

// IsSetupFailure reports whether Send failed before any message was
// offered: the server could not be reached, greeted, secured or logged in
// to. Every other message would fail the same way for now.
func IsSetupFailure(err error) bool {
	var se *sendError
	return errors.As(err, &se) && se.stage == stageSetup
}

// IsAmbiguous reports whether the server may have accepted the message
// although Send failed: the final dot was (or may have been) sent and no
// reply came. The caller resends the same bytes, with the same Message-ID,
// so that a duplicate can be recognised. An ambiguous error is temporary.
func IsAmbiguous(err error) bool {
	var se *sendError
	return errors.As(err, &se) && se.ambiguous
}

// Backoff schedule, before jitter.
const (
	backoffBase = 30 * time.Second
	backoffCap  = time.Hour
	backoffMin  = time.Second
)

// Backoff returns how long to wait before retry number attempt+1 of a
// temporary failure: capped exponential backoff with full jitter, a uniform
// draw from [1s, ceiling], where the ceiling doubles from 30 s:
//
//	attempt   0    1    2    3    4     5     6     7+
//	ceiling  30s   1m   2m   4m   8m   16m   32m    1h
//
// The mean wait is half the ceiling. Full jitter spreads the retries of
// many queued messages after an outage instead of sending them in waves.
func Backoff(attempt int) time.Duration {
	ceiling := backoffCap
	if attempt < 0 {
		attempt = 0
	}
	// 30s<<7 is past the cap already; the guard also keeps the shift
	// from overflowing.
	if attempt < 7 {
		ceiling = min(backoffBase<<attempt, backoffCap)
	}
	return backoffMin + rand.N(ceiling-backoffMin+1)
}
