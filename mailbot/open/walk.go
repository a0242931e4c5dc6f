package open

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-message/textproto"
)

// maxBoundary bounds the multipart boundary: RFC 2046 allows 70 characters,
// and a boundary far longer than the reader's buffer only costs time.
const maxBoundary = 200

// container is one multipart entity on the path to the current part.
type container struct {
	subtype string // "mixed", "alternative", "report", ...
	n       int    // children seen so far
}

// parser holds the state of one Parse call.
type parser struct {
	lim    Limits
	budget int64 // decoded bytes still allowed, over all parts
	parts  int
	m      *Message

	text       strings.Builder
	textSet    bool
	textParent *container
	html       string
	htmlSet    bool

	dsnSeen   bool
	dsn       []dsnRecipient
	origMsgID string

	pgp       *pgpState
	decrypted bool // walking the plaintext of a decrypted message
	// nestedSig is set by a signature below the root (T3): it makes the
	// message SigPartial unless the root itself is signed.
	nestedSig bool
	protected *protectedHeaders // from inside the encryption, first found
	keyBytes  int               // size of Message.Keys
}

func (p *parser) defect(d string) {
	for _, x := range p.m.Defects {
		if x == d {
			return
		}
	}
	p.m.Defects = append(p.m.Defects, d)
}

func (p *parser) parse(raw []byte) (*Message, error) {
	h, body, err := splitHeader(raw)
	if err != nil {
		// The error text would quote the offending line: keep it out.
		return nil, fmt.Errorf("open: %w: unreadable header", ErrMalformed)
	}
	if h.Len() == 0 {
		return nil, fmt.Errorf("open: %w: no header fields", ErrMalformed)
	}
	p.m = &Message{Header: headerMap(h)}
	p.identity()
	if err := p.entity(h, body, 0); err != nil {
		return nil, err
	}
	p.finishPGP()
	p.finishText()
	p.classify()
	return p.m, nil
}

// splitHeader reads the header of an entity held in memory and returns the
// raw bytes of its body, which signature checks need untouched.
func splitHeader(raw []byte) (textproto.Header, []byte, error) {
	r := bytes.NewReader(raw)
	br := bufio.NewReader(r)
	h, err := textproto.ReadHeader(br)
	if err != nil {
		return h, nil, err
	}
	return h, raw[len(raw)-r.Len()-br.Buffered():], nil
}

// headerMap copies the fields into a Header, values in message order.
func headerMap(h textproto.Header) Header {
	out := make(Header, h.Len())
	fields := h.Fields()
	for fields.Next() {
		k := fields.Key()
		out[k] = append(out[k], fields.Value())
	}
	return out
}

// walk visits one entity and, for a multipart, its children, enforcing the
// part and depth limits before any work is done on the entity.
func (p *parser) walk(h textproto.Header, body io.Reader, depth int, parent *container) error {
	if err := p.count(depth); err != nil {
		return err
	}
	return p.visit(h, body, depth, parent)
}

// count charges one entity against the part and depth limits.
func (p *parser) count(depth int) error {
	p.parts++
	if p.parts > p.lim.MaxParts {
		return fmt.Errorf("open: %w: more than %d", ErrTooManyParts, p.lim.MaxParts)
	}
	if depth > p.lim.MaxDepth {
		return fmt.Errorf("open: %w: more than %d levels", ErrTooDeep, p.lim.MaxDepth)
	}
	return nil
}

// visit is walk for an entity already counted.
func (p *parser) visit(h textproto.Header, body io.Reader, depth int, parent *container) error {
	mt, params := p.mediaType(h.Get("Content-Type"))
	if !strings.Contains(mt, "/") {
		// RFC 2045 §5.2: missing or unreadable means plain text.
		mt = "text/plain"
	}
	if sub, ok := strings.CutPrefix(mt, "multipart/"); ok {
		b := params["boundary"]
		if b == "" || len(b) > maxBoundary {
			p.defect("multipart without usable boundary")
			return p.leaf(h, "text/plain", nil, body, parent)
		}
		switch {
		case isPGPEncrypted(mt, params):
			// Only the root is decrypted (T2): this one may be a captured
			// ciphertext wrapped in a stranger's text.
			p.defect("nested encrypted part ignored")
		case isPGPSigned(mt, params):
			p.nestedSig = true
		}
		c := &container{subtype: sub}
		mr := textproto.NewMultipartReader(body, b)
		n := 0
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				p.defect("truncated or broken multipart")
				break
			}
			n++
			c.n = n
			if p.decrypted && n == 1 {
				p.protectedCandidate(part.Header, false)
			}
			if err := p.walk(part.Header, part, depth+1, c); err != nil {
				return err
			}
		}
		if n == 0 {
			p.defect("multipart without parts")
		}
		return nil
	}
	return p.leaf(h, mt, params, body, parent)
}

// readAll reads a part within the decoded-bytes budget. A read error after
// some data (a part cut short) keeps what arrived.
func (p *parser) readAll(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, p.budget+1))
	if int64(len(data)) > p.budget {
		return nil, fmt.Errorf("open: %w: decoded parts exceed %d bytes", ErrTooLarge, 4*p.lim.MaxSize)
	}
	if err != nil {
		p.defect("part cut short")
	}
	return data, nil
}

func (p *parser) spend(n int) error {
	p.budget -= int64(n)
	if p.budget < 0 {
		return fmt.Errorf("open: %w: decoded parts exceed %d bytes", ErrTooLarge, 4*p.lim.MaxSize)
	}
	return nil
}

// leaf handles one non-multipart entity: the body text, an HTML alternative,
// a delivery report, or an attachment.
func (p *parser) leaf(h textproto.Header, mt string, params map[string]string, body io.Reader, parent *container) error {
	disp, dparams := p.mediaType(h.Get("Content-Disposition"))
	filename := dparams["filename"]
	if filename == "" {
		filename = params["name"]
	}
	filename = cleanFilename(p.headerText(filename))
	attached := disp == "attachment" || (filename != "" && disp != "inline")
	if attached && !strings.HasPrefix(mt, "message/") && mt != "text/rfc822-headers" {
		// A file: its content is kept only up to MaxAttachment (a key
		// file is far smaller).
		// In pieces, not io.ReadAll: a growing buffer would copy a big
		// file several times before the limit stops it.
		head, err := readBounded(body, p.lim.MaxAttachment, 0)
		if errors.Is(err, errOverBound) {
			rest, _ := io.Copy(io.Discard, body)
			if err := p.spend(int(rest)); err != nil {
				return err
			}
			p.m.Attachments = append(p.m.Attachments, Attachment{Filename: filename, ContentType: mt, Dropped: true, Size: rest + p.lim.MaxAttachment + 1})
			return nil
		}
		if err != nil {
			p.defect("part cut short")
		}
		body = bytes.NewReader(head)
	}
	raw, err := p.readAll(body)
	if err != nil {
		return err
	}
	data := p.transferDecode(h.Get("Content-Transfer-Encoding"), raw)
	if err := p.spend(len(data)); err != nil {
		return err
	}

	if p.decrypted && parent != nil && parent.n == 1 && parent.subtype == "mixed" &&
		(mt == "text/rfc822-headers" || mt == "text/plain") &&
		strings.EqualFold(params["protected-headers"], "v1") && p.protectedLegacy(data) {
		// A "legacy display" copy of the protected headers for clients
		// that cannot read them: a header source, neither text nor file.
		return nil
	}
	isBody := mt == "text/plain" && !attached
	if !isBody {
		p.findKeys(mt, filename, data)
	}

	switch {
	case isBody:
		// parent == nil: this part is the whole (decrypted) message, the
		// only place where inline PGP counts (T2, T3).
		s, err := p.bodyText(data, params, parent == nil)
		if err != nil {
			return err
		}
		p.findKeys(mt, "", []byte(s))
		if err := p.spend(len(s)); err != nil {
			return err
		}
		switch {
		case !p.textSet:
			p.text.WriteString(s)
			p.textSet, p.textParent = true, parent
		case parent != nil && parent == p.textParent && parent.subtype == "mixed":
			// Clients split the body around inline images into several
			// text/plain parts of one multipart/mixed: they are one text.
			p.text.WriteString("\n")
			p.text.WriteString(s)
		}
		return nil
	case mt == "text/html" && !attached:
		if !p.htmlSet {
			cs := params["charset"]
			if cs == "" {
				cs = sniffHTMLCharset(data)
			}
			p.html = p.decodeText(data, cs)
			p.htmlSet = true
			return p.spend(len(p.html))
		}
		return nil
	case mt == "message/delivery-status" || mt == "message/global-delivery-status":
		p.parseDSN(data)
	case mt == "message/rfc822" || mt == "message/global" ||
		mt == "text/rfc822-headers" || mt == "message/global-headers":
		p.originalHeader(data)
	}
	p.m.Attachments = append(p.m.Attachments, Attachment{Filename: filename, ContentType: mt, Data: data, Size: int64(len(data))})
	return nil
}

func (p *parser) finishText() {
	var s string
	switch {
	case p.textSet:
		s = p.text.String()
	case p.htmlSet:
		s = htmlToText(p.html)
		p.m.TextFromHTML = true
	}
	p.m.Text = cleanText(s)
	p.html = ""
}

// cleanText gives the body "\n" line ends and drops control characters other
// than tab and newline: an escape sequence has no business in a form answer
// and must not reach a coordinator's terminal.
func cleanText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\r':
			return '\n'
		case r == '\n' || r == '\t':
			return r
		case r < 0x20 || r == 0x7f || r == '\uFEFF':
			// U+FEFF: byte order marks that clients leave at the start of
			// a part or a quoted line would hide a form label.
			return -1
		}
		return r
	}, s)
}

// sniffHTMLCharset finds the charset an HTML part declares in a meta tag
// when its Content-Type does not say.
func sniffHTMLCharset(b []byte) string {
	if len(b) > 4096 {
		b = b[:4096]
	}
	s := strings.ToLower(string(b))
	i := strings.Index(s, "charset=")
	if i < 0 {
		return ""
	}
	s = strings.TrimLeft(s[i+len("charset="):], `"' `)
	end := strings.IndexAny(s, `"' ;>/`)
	if end < 0 {
		return ""
	}
	return s[:end]
}

// cleanFilename keeps only the last path element of a sender-chosen name, so
// no caller can be tricked into writing outside a directory, and bounds it.
func cleanFilename(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if i := strings.LastIndexAny(s, `/\`); i >= 0 {
		s = s[i+1:]
	}
	s = strings.TrimSpace(s)
	if s == "." || s == ".." {
		return ""
	}
	return truncateUTF8(s, 255)
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
