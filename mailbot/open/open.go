// Package open reads one inbound message as received (RFC 5322, MIME) into a
// Message the robot can act on: identity headers, the human text as UTF-8,
// attachments, and whether it is an auto-reply or a bounce.
//
// Inbound mail is written by strangers, so Parse is bounded (size, MIME depth,
// part count), never panics, and prefers keeping a damaged message readable
// (with CharsetProblem or Defects set) over dropping it.
//
// ParseWith also reads OpenPGP mail (PGP/MIME, RFC 3156, and inline PGP):
// it decrypts, verifies and reads protected headers, under the rules of
// SECURITY T1-T5 (see pgp.go).
package open

import (
	"bytes"
	"errors"
	"fmt"
	"net/textproto"
	"time"
)

// Errors returned by Parse, wrapped with context: test with errors.Is. They are
// meant as quarantine reasons; their text never quotes the message.
var (
	ErrTooLarge     = errors.New("message too large")
	ErrTooDeep      = errors.New("mime nesting too deep")
	ErrTooManyParts = errors.New("too many mime parts")
	ErrMalformed    = errors.New("malformed message")
	// ErrUndecryptable: the message is encrypted, but to no key we hold
	// (or ParseWith was given no keys).
	ErrUndecryptable = errors.New("encrypted to no key held")
	// ErrNoIntegrity: the ciphertext has no integrity protection (no MDC or
	// AEAD) or failed its check (MDC mismatch, truncated tag, altered byte).
	ErrNoIntegrity = errors.New("encrypted data without integrity")
)

// Limits bound the work Parse does on one message. A zero field takes the
// value from DefaultLimits, so a forgotten field never means "unlimited".
type Limits struct {
	MaxSize  int64 // raw message bytes
	MaxDepth int   // multipart nesting levels below the top-level entity
	MaxParts int   // MIME entities in total, containers and the top level included
	// MaxAttachment is the largest attachment (encoded bytes) whose
	// content is kept in Message.Attachments; a larger one is only
	// counted (Dropped), so a big file costs no memory: the raw message
	// keeps it.
	MaxAttachment int64
}

// DefaultLimits suit vendor replies with a few attachments.
var DefaultLimits = Limits{MaxSize: 32 << 20, MaxDepth: 16, MaxParts: 256, MaxAttachment: 8 << 20}

func (l Limits) withDefaults() Limits {
	if l.MaxSize <= 0 {
		l.MaxSize = DefaultLimits.MaxSize
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxParts <= 0 {
		l.MaxParts = DefaultLimits.MaxParts
	}
	if l.MaxAttachment <= 0 {
		l.MaxAttachment = DefaultLimits.MaxAttachment
	}
	return l
}

// Address is one mailbox. Addr is lower-cased so it compares with registered
// contact addresses; Name is the decoded display name and proves nothing.
type Address struct {
	Name string
	Addr string
}

func (a Address) String() string {
	if a.Name == "" {
		return "<" + a.Addr + ">"
	}
	return fmt.Sprintf("%q <%s>", a.Name, a.Addr)
}

// Attachment is a non-body MIME leaf, transfer-decoded but not
// charset-converted (the bytes are what the sender attached).
type Attachment struct {
	Filename    string // sanitised: no directories, no control characters
	ContentType string // media type only, lower case, e.g. "application/pdf"
	Data        []byte
	// Dropped is set when the attachment was larger than
	// Limits.MaxAttachment: Data is nil and Size counts its encoded bytes.
	Dropped bool
	Size    int64
}

// Bounce is what a delivery failure report says.
type Bounce struct {
	FailedRecipients []string // lower case; may be empty when the report was unreadable
	Status           string   // RFC 3463 status of the first failed recipient, e.g. "5.1.1"
	Diagnostic       string   // the remote server's words for the first failed recipient
	// OriginalMessageID is the Message-ID of the returned message, when the
	// report carries its header: it names the notice that failed.
	OriginalMessageID string
}

// Header gives access to the raw (undecoded) header fields of the top-level
// entity, keyed by canonical MIME key, values in message order.
type Header map[string][]string

// Get returns the first value of key, or "".
func (h Header) Get(key string) string {
	v := h[textproto.CanonicalMIMEHeaderKey(key)]
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// Values returns every value of key in message order.
func (h Header) Values(key string) []string {
	return h[textproto.CanonicalMIMEHeaderKey(key)]
}

// Has reports whether key is present, even with an empty value.
func (h Header) Has(key string) bool {
	_, ok := h[textproto.CanonicalMIMEHeaderKey(key)]
	return ok
}

// Message is one parsed inbound message.
type Message struct {
	Header Header

	MessageID  string   // without angle brackets
	InReplyTo  []string // without angle brackets
	References []string // without angle brackets

	From      Address // the first From address
	FromCount int     // addresses over all From fields: more than one is suspicious
	ReplyTo   []Address
	To, Cc    []Address

	Subject string // RFC 2047 decoded, UTF-8
	Date    time.Time

	// Text is the human body as UTF-8: the first text/plain body part
	// (format=flowed undone), else the first text/html converted to text
	// (TextFromHTML set; blockquotes become "> " lines).
	Text         string
	TextFromHTML bool
	Attachments  []Attachment

	AutoSubmitted string // the Auto-Submitted keyword, lower case, "" when absent
	IsAutoReply   bool   // machine-generated (RFC 3834, vacation, list mail): never answer it
	// ListMail is set for List-* fields or Precedence bulk/junk/list (IsAutoReply
	// is then set too): a vendor answering through its own list or group looks
	// like this, so a caller may want to triage rather than drop it.
	ListMail       bool
	IsBounce       bool // a delivery failure report; Bounce is then non-nil
	Bounce         *Bounce
	NullReturnPath bool // Return-Path: <> (notifications only, RFC 5321 §4.5.5)

	// CharsetProblem is set when some text had an unknown charset or bytes
	// that did not decode: the text is then a best effort, with U+FFFD for
	// what could not be read.
	CharsetProblem bool
	// Defects lists recoverable damage (truncated multipart, bad base64, ...)
	// in fixed words that never quote the message.
	Defects []string

	// OpenPGP, as read by ParseWith; all zero for plain mail.
	//
	// Encrypted is set when Text and Attachments came out of decryption:
	// then nothing in them came from outside the encryption.
	Encrypted     bool
	DecryptedWith string // fingerprint of the robot key that decrypted it, upper-case hex
	// Signature says whether a signature covers the whole (decrypted) body.
	Signature SigStatus
	// SignedBy is the fingerprint of the signer's primary key, upper-case
	// hex, set only when Signature is SigValid: it is the sender's identity
	// (SECURITY T3), the From address is not.
	SignedBy string
	SignedAt time.Time // the signature's creation time, when SigValid
	// SignatureID identifies the signature when SigValid, so that a
	// replayed signed mail can be refused (T7). See signatureID.
	SignatureID string
	// OuterSubject is the envelope Subject when a protected Subject from
	// inside the encryption replaced it in Subject.
	OuterSubject string
	// Keys are armored OpenPGP public key blocks found in the message
	// (application/pgp-keys parts, pasted blocks), at most maxKeys blocks
	// and maxKeyBytes in all. Nothing here is trusted: they are candidates
	// for a coordinator to confirm.
	Keys []string
}

// recoverPanics is switched off by the fuzz tests so that a panic is reported
// where it happens instead of being turned into ErrMalformed.
var recoverPanics = true

// Parse reads one raw message without OpenPGP keys: ParseWith(raw, lim, nil).
func Parse(raw []byte, lim Limits) (*Message, error) {
	return ParseWith(raw, lim, nil)
}

// ParseWith reads one raw message, decrypting and verifying OpenPGP with
// keys (nil: no keys, so encrypted mail fails with ErrUndecryptable and
// every signer is unknown). It returns an error wrapping ErrTooLarge,
// ErrTooDeep, ErrTooManyParts, ErrMalformed, ErrUndecryptable or
// ErrNoIntegrity when the message must be quarantined; damage it can work
// around is reported in the Message instead. Plain mail reads the same
// whatever the keys.
func ParseWith(raw []byte, lim Limits, keys *Keys) (m *Message, err error) {
	lim = lim.withDefaults()
	if int64(len(raw)) > lim.MaxSize {
		return nil, fmt.Errorf("open: %w: %d bytes, limit %d", ErrTooLarge, len(raw), lim.MaxSize)
	}
	if recoverPanics {
		// Last resort (SECURITY T6): a bug must cost one message, not the daemon.
		defer func() {
			if r := recover(); r != nil {
				m, err = nil, fmt.Errorf("open: %w: parser failure", ErrMalformed)
			}
		}()
	}
	p := &parser{lim: lim, budget: 4 * lim.MaxSize, pgp: newPGP(keys, lim)}
	return p.parse(skipMboxLine(raw))
}

// skipMboxLine drops an mbox "From " separator some tools leave in front of a
// message; it is not a header field and would make the header unreadable.
func skipMboxLine(raw []byte) []byte {
	if !bytes.HasPrefix(raw, []byte("From ")) {
		return raw
	}
	if i := bytes.IndexByte(raw, '\n'); i >= 0 {
		return raw[i+1:]
	}
	return raw
}
