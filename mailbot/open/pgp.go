package open

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperr "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	openpgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// Keys gives ParseWith what it needs to read OpenPGP mail. One Keys may
// serve concurrent ParseWith calls (they take turns on the OpenPGP work),
// but its entities must not be used by other go-crypto code meanwhile:
// go-crypto caches validity inside them.
type Keys struct {
	// Decrypt holds the robot's secret keys, current and retired: mail
	// encrypted to a key rotated out last month must stay readable.
	Decrypt openpgp.EntityList
	// Verify holds every pinned public key (vendors, coordinators). A
	// signature by any other key, the robot's own included, is
	// SigUnknownSigner (SECURITY T4).
	Verify openpgp.EntityList
	// Now is the time at which signing keys must be valid; zero means
	// time.Now().
	Now time.Time
	// MaxDecompressed bounds the plaintext of one OpenPGP message,
	// DefaultMaxDecompressed when zero; Limits.MaxSize bounds it too.
	MaxDecompressed int64
	// Mu serialises the OpenPGP work done with these entities (go-crypto
	// caches verification results inside them). Callers that open
	// messages in parallel give each worker its own Keys, parsed
	// separately, with its own Mu; nil means one lock for every Keys.
	Mu *sync.Mutex

	index *keyIndex
}

// keyIndex is the per-message setup of Keys, done once by Prepare.
type keyIndex struct {
	ring   openpgp.EntityList
	pinned map[string]bool
	// byID maps the key ID of every primary key and subkey to the
	// entities holding it, in ring order: go-crypto's EntitiesById scans
	// the whole ring, once per lookup, which a desk with thousands of
	// vendor keys pays on every message.
	byID map[uint64]openpgp.EntityList
	// byFpr holds the Verify entities by primary fingerprint.
	byFpr map[string]*openpgp.Entity
}

// WithPinned calls f with the entity of the pinned key with this
// fingerprint (upper case hex), or nil when Keys has none, holding the lock
// that ParseWith holds (see Mu): go-crypto may write its validity caches
// into the entity while f uses it.
func (k *Keys) WithPinned(fpr string, f func(*openpgp.Entity)) {
	var e *openpgp.Entity
	if k != nil && k.index != nil {
		e = k.index.byFpr[fpr]
	}
	if e == nil {
		f(nil)
		return
	}
	mu := k.Mu
	if mu == nil {
		mu = &entityMu
	}
	mu.Lock()
	defer mu.Unlock()
	f(e)
}

// Prepare indexes the keys once, so that each ParseWith does not redo it
// (a desk with thousands of pinned vendor keys). Call it after the lists
// are final; copies of k made afterwards share the index.
func (k *Keys) Prepare() {
	idx := &keyIndex{pinned: map[string]bool{}, byID: map[uint64]openpgp.EntityList{}, byFpr: map[string]*openpgp.Entity{}}
	for _, e := range k.Verify {
		if e != nil && e.PrimaryKey != nil {
			idx.ring = append(idx.ring, e)
			idx.pinned[fingerprint(e)] = true
			idx.byFpr[fingerprint(e)] = e
		}
	}
	for _, e := range k.Decrypt {
		if e != nil && e.PrimaryKey != nil {
			idx.ring = append(idx.ring, e)
		}
	}
	for _, e := range idx.ring {
		ids := []uint64{e.PrimaryKey.KeyId}
		for _, sk := range e.Subkeys {
			if sk.PublicKey != nil {
				ids = append(ids, sk.PublicKey.KeyId)
			}
		}
		for i, id := range ids {
			if !slices.Contains(ids[:i], id) {
				idx.byID[id] = append(idx.byID[id], e)
			}
		}
	}
	k.index = idx
}

// DefaultMaxDecompressed is the plaintext bound when Keys does not set one.
const DefaultMaxDecompressed = 64 << 20

// SigStatus says what a signature proves about a message.
type SigStatus int

const (
	SigNone SigStatus = iota // no OpenPGP signature
	// SigValid: a signature by a pinned key, valid now, covering the whole
	// (decrypted) body; Message.SignedBy names the key.
	SigValid
	// SigUnknownSigner: the signature may be sound, but not by a key in
	// Keys.Verify, so it proves nothing.
	SigUnknownSigner
	// SigBad: the signature does not verify (altered body, wrong data,
	// malformed signature, revoked key).
	SigBad
	// SigPartial: a signature covers only part of the body (text around a
	// clearsigned block, a signed part inside an unsigned multipart), so
	// the rest could be anyone's (T3).
	SigPartial
	// SigExpiredKey: a pinned key that has expired made the signature.
	SigExpiredKey
)

func (s SigStatus) String() string {
	switch s {
	case SigNone:
		return "none"
	case SigValid:
		return "valid"
	case SigUnknownSigner:
		return "unknown-signer"
	case SigBad:
		return "bad"
	case SigPartial:
		return "partial"
	case SigExpiredKey:
		return "expired-key"
	}
	return fmt.Sprintf("SigStatus(%d)", int(s))
}

// lookupBudget bounds the key lookups that find one of our keys while one
// OpenPGP message is read: each costs a private-key operation (recipient
// packets) or a hash over the whole plaintext (signatures), and a crafted
// message can carry thousands of packets naming our keys (T5).
const lookupBudget = 16

// pgpState is what one ParseWith call knows about keys.
type pgpState struct {
	ring     openpgp.EntityList // Verify, then Decrypt
	pinned   map[string]bool    // primary fingerprints of Verify
	byID     map[uint64]openpgp.EntityList
	now      time.Time
	maxPlain int64
	cfg      *packet.Config
	mu       *sync.Mutex
}

func newPGP(k *Keys, lim Limits) *pgpState {
	if k == nil {
		k = &Keys{}
	}
	s := &pgpState{pinned: map[string]bool{}, now: k.Now, maxPlain: k.MaxDecompressed, mu: k.Mu}
	if s.mu == nil {
		s.mu = &entityMu
	}
	if s.now.IsZero() {
		s.now = time.Now()
	}
	if s.maxPlain <= 0 {
		s.maxPlain = DefaultMaxDecompressed
	}
	// The plaintext is a message of its own: the raw size limit holds too.
	s.maxPlain = min(s.maxPlain, lim.MaxSize)
	idx := k.index
	if idx == nil {
		// Not prepared: index a copy, leaving the caller's Keys untouched.
		c := *k
		c.Prepare()
		idx = c.index
	}
	s.ring, s.pinned, s.byID = idx.ring, idx.pinned, idx.byID
	// go-crypto's own bound sits a little above ours, so that a bomb is
	// stopped by our read (a clean ErrTooLarge) rather than by an error
	// that decryption turns into a generic parse failure.
	decomp := s.maxPlain + 1<<20
	now := s.now
	s.cfg = &packet.Config{
		MaxDecompressedMessageSize: &decomp,
		Time:                       func() time.Time { return now },
		// InsecureAllowUnauthenticatedMessages and
		// InsecureAllowDecryptionWithSigningKeys stay false (T1).
	}
	return s
}

// entityMu serialises the OpenPGP work of concurrent ParseWith calls whose
// Keys have no Mu: go-crypto caches key validity inside the Entity values
// it checks, so two calls sharing Keys would race on them.
var entityMu sync.Mutex

// boundedRing is the key ring for one OpenPGP message, see lookupBudget.
type boundedRing struct {
	list openpgp.EntityList
	byID map[uint64]openpgp.EntityList
	left int
}

func (p *pgpState) keyRing() *boundedRing {
	return &boundedRing{list: p.ring, byID: p.byID, left: lookupBudget}
}

// candidates narrows the ring to the entities holding key id; 0 (a hidden
// recipient) matches every key, as in go-crypto.
func (r *boundedRing) candidates(id uint64) openpgp.EntityList {
	if id == 0 || r.byID == nil {
		return r.list
	}
	return r.byID[id]
}

func (r *boundedRing) EntitiesById(id uint64) []*openpgp.Entity {
	if r.left <= 0 {
		return nil
	}
	es := r.candidates(id).EntitiesById(id)
	if len(es) > 0 {
		r.left--
	}
	return es
}

func (r *boundedRing) KeysById(id uint64) []openpgp.Key {
	if r.left <= 0 {
		return nil
	}
	ks := r.candidates(id).KeysById(id)
	if len(ks) > 0 {
		r.left--
	}
	return ks
}

func fingerprint(e *openpgp.Entity) string {
	return strings.ToUpper(hex.EncodeToString(e.PrimaryKey.Fingerprint))
}

// guard runs one go-crypto call: crafted input has panicked releases
// before, and such a panic must cost one message (T6), even while the fuzz
// tests switch off the recover in ParseWith to find our own bugs.
func guard(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("open: %w: openpgp failure", ErrMalformed)
		}
	}()
	return f()
}

// sigResult is the verdict on one signature.
type sigResult struct {
	status SigStatus
	signer string
	at     time.Time
	id     string
}

// setSig records a verdict for the whole message. The first one stands,
// except that a valid one gives way to any other: two signatures over the
// same content must both hold.
func (p *parser) setSig(r sigResult) {
	cur := p.m.Signature
	if r.status == SigNone || (cur != SigNone && (cur != SigValid || r.status == SigValid)) {
		return
	}
	p.m.Signature = r.status
	p.m.SignedBy, p.m.SignedAt, p.m.SignatureID = "", time.Time{}, ""
	if r.status == SigValid {
		p.m.SignedBy, p.m.SignedAt, p.m.SignatureID = r.signer, r.at, r.id
	}
}

// opened is what came out of one OpenPGP message.
type opened struct {
	plain         []byte
	encrypted     bool
	decryptedWith string
	sig           sigResult
}

// dearmor returns the packets of an armored block of the given type, or the
// data itself when it is not armored (binary OpenPGP).
func (p *parser) dearmor(data []byte, typ string) (io.Reader, error) {
	// Armor decoding buffers lines: it only ever sees a bounded input.
	r := io.LimitReader(bytes.NewReader(data), p.lim.MaxSize)
	if !bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("-----BEGIN ")) {
		return r, nil
	}
	var block *armor.Block
	err := guard(func() error {
		var err error
		block, err = armor.Decode(r)
		return err
	})
	if err != nil || block.Type != typ {
		return nil, fmt.Errorf("open: %w: unreadable armor", ErrMalformed)
	}
	return block.Body, nil
}

// openMessage decrypts and/or verifies one OpenPGP message (T1, T4, T5).
// Nothing of the plaintext is returned before the whole of it has been
// read and its integrity tag checked.
func (p *parser) openMessage(data []byte) (*opened, error) {
	p.pgp.mu.Lock()
	defer p.pgp.mu.Unlock()
	in, err := p.dearmor(data, "PGP MESSAGE")
	if err != nil {
		return nil, err
	}
	var md *openpgp.MessageDetails
	err = guard(func() error {
		var err error
		md, err = openpgp.ReadMessage(in, p.pgp.keyRing(), nil, p.pgp.cfg)
		return err
	})
	if err != nil {
		return nil, readError(err)
	}
	var plain []byte
	err = guard(func() error {
		var err error
		// The plaintext is about as long as the ciphertext unless it was
		// compressed: one buffer of that size usually holds it all.
		plain, err = readBounded(md.UnverifiedBody, p.pgp.maxPlain, plainHint(data))
		return err
	})
	switch {
	case errors.Is(err, errOverBound) || errors.Is(err, pgperr.ErrMessageTooLarge):
		return nil, fmt.Errorf("open: %w: openpgp plaintext exceeds %d bytes", ErrTooLarge, p.pgp.maxPlain)
	case errors.Is(err, ErrMalformed):
		return nil, err
	case err != nil && md.IsEncrypted:
		// Whatever failed after decryption began (tag, MDC, packets made
		// of altered ciphertext), the plaintext cannot be trusted.
		return nil, fmt.Errorf("open: %w: integrity check failed", ErrNoIntegrity)
	case err != nil:
		return nil, fmt.Errorf("open: %w: unreadable openpgp data", ErrMalformed)
	}
	o := &opened{plain: plain, encrypted: md.IsEncrypted}
	if md.IsEncrypted && md.DecryptedWith.Entity != nil {
		o.decryptedWith = fingerprint(md.DecryptedWith.Entity)
	}
	if md.IsSigned {
		o.sig = p.verdict(md, plain)
	}
	return o, nil
}

// plainHint guesses the plaintext length of a ciphertext: its length, or
// three quarters of it when armored (base64).
func plainHint(data []byte) int64 {
	n := int64(len(data))
	if bytes.Contains(data[:min(len(data), 1024)], []byte("-----BEGIN PGP")) {
		n = n / 4 * 3
	}
	return n + 4096
}

// errOverBound says readBounded read max+1 bytes and stopped.
var errOverBound = errors.New("open: more than the bound")

// readBounded reads r to EOF. It reads in chunks joined once at the end: a
// growing buffer would copy a bomb's output over and over before the bound
// stops it. One byte past max it stops and returns errOverBound, keeping
// nothing: what is over the bound is only counted, and joining it would
// cost its size again (a 25 MB attachment held 8 MB twice).
func readBounded(r io.Reader, max, hint int64) ([]byte, error) {
	const chunk = 256 << 10
	var parts [][]byte
	for total := int64(0); total <= max; {
		size := min(chunk, max+1-total)
		if total == 0 && hint > 0 {
			size = min(hint+1, max+1)
		}
		buf := make([]byte, size)
		n := 0
		for n < len(buf) {
			k, err := r.Read(buf[n:])
			n += k
			// Exactly io.EOF: any other error, io.ErrUnexpectedEOF from
			// a cut packet included, means the data is not whole (T1).
			if err == io.EOF {
				if len(parts) == 0 {
					return buf[:n:n], nil // the first buffer held it all
				}
				return bytes.Join(append(parts, buf[:n]), nil), nil
			}
			if err != nil {
				return nil, err
			}
		}
		parts = append(parts, buf)
		total += int64(n)
	}
	return nil, errOverBound
}

// readError classifies a failure of ReadMessage, which has read the
// recipient packets and started decryption, without quoting its text.
func readError(err error) error {
	var unsupported pgperr.UnsupportedError
	var sessionErr pgperr.DecryptWithSessionKeyError
	var sigErr pgperr.SignatureError
	var aeadErr pgperr.AEADError
	switch {
	case errors.Is(err, ErrMalformed):
		return err
	case errors.Is(err, pgperr.ErrKeyIncorrect):
		return fmt.Errorf("open: %w", ErrUndecryptable)
	case errors.Is(err, pgperr.ErrMessageTooLarge):
		return fmt.Errorf("open: %w: openpgp plaintext too large", ErrTooLarge)
	case errors.As(err, &unsupported) && strings.Contains(string(unsupported), "integrity"):
		return fmt.Errorf("open: %w: no integrity protection", ErrNoIntegrity)
	case errors.As(err, &sessionErr), errors.As(err, &sigErr), errors.As(err, &aeadErr):
		return fmt.Errorf("open: %w: integrity check failed", ErrNoIntegrity)
	}
	return fmt.Errorf("open: %w: unreadable openpgp data", ErrMalformed)
}

// verifyDetached checks a detached signature (PGP/MIME, clearsigned) over
// content, which must already be in the form that was signed.
func (p *parser) verifyDetached(content []byte, sig io.Reader) sigResult {
	p.pgp.mu.Lock()
	defer p.pgp.mu.Unlock()
	var md *openpgp.MessageDetails
	err := guard(func() error {
		var err error
		md, err = openpgp.VerifyDetachedSignatureReader(p.pgp.keyRing(), bytes.NewReader(content), sig, p.pgp.cfg)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, md.UnverifiedBody)
		return err
	})
	if err != nil {
		return sigResult{status: SigBad}
	}
	return p.verdict(md, content)
}

// verdict judges a signature once the signed data has been read to EOF.
func (p *parser) verdict(md *openpgp.MessageDetails, content []byte) sigResult {
	if !md.IsVerified {
		return sigResult{status: SigBad}
	}
	if md.SignatureError != nil || md.SignedBy == nil || md.SignedBy.Entity == nil || md.Signature == nil {
		c := md.SelectedCandidate
		switch {
		case errors.Is(md.SignatureError, pgperr.ErrUnknownIssuer),
			c != nil && (c.SignedByEntity == nil || !p.pgp.pinned[fingerprint(c.SignedByEntity)]):
			return sigResult{status: SigUnknownSigner}
		case errors.Is(md.SignatureError, pgperr.ErrKeyExpired):
			return sigResult{status: SigExpiredKey}
		}
		return sigResult{status: SigBad}
	}
	e := md.SignedBy.Entity
	fpr := fingerprint(e)
	if !p.pgp.pinned[fpr] {
		return sigResult{status: SigUnknownSigner}
	}
	// go-crypto checks the key at the signature's creation time, which
	// the signer chose: the key must also be valid now.
	if st := p.keyValidNow(md.SignedBy); st != SigValid {
		return sigResult{status: st}
	}
	return sigResult{status: SigValid, signer: fpr, at: md.Signature.CreationTime, id: signatureID(fpr, md.Signature, content)}
}

// keyValidNow checks the signing key (primary and subkey) at Keys.Now.
func (p *parser) keyValidNow(k *openpgp.Key) SigStatus {
	class := func(err error) SigStatus {
		switch {
		case err == nil:
			return SigValid
		case errors.Is(err, pgperr.ErrKeyExpired):
			return SigExpiredKey
		}
		return SigBad // revoked, or no valid self-signature any more
	}
	if _, err := k.Entity.VerifyPrimaryKey(p.pgp.now, p.pgp.cfg); err != nil {
		return class(err)
	}
	if k.PublicKey == nil || k.PublicKey.KeyId == k.Entity.PrimaryKey.KeyId {
		return SigValid
	}
	for i := range k.Entity.Subkeys {
		sk := &k.Entity.Subkeys[i]
		if sk.PublicKey.KeyId == k.PublicKey.KeyId {
			_, err := sk.Verify(p.pgp.now, p.pgp.cfg)
			return class(err)
		}
	}
	return SigBad
}

// signatureID names a signature for replay checks (T7). It hashes what the
// signature commits to: the signer, the hashed part of the packet (type,
// algorithms, creation time, hashed subpackets) and the signed content,
// canonical for text signatures. The raw packet is not hashed on purpose:
// its unhashed subpackets and number encodings can be changed by anyone
// without breaking the signature, which would let a replay pass as new.
func signatureID(fpr string, sig *packet.Signature, content []byte) string {
	ch := sha256.New()
	w := io.Writer(ch)
	if sig.SigType == packet.SigTypeText {
		w = openpgp.NewCanonicalTextHash(ch)
	}
	w.Write(content)
	h := sha256.New()
	h.Write([]byte("coordbot signature id v1\x00"))
	h.Write([]byte(fpr))
	h.Write([]byte{0})
	h.Write(sig.HashSuffix)
	h.Write(ch.Sum(nil))
	return hex.EncodeToString(h.Sum(nil))
}
