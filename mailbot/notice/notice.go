// Package notice renders notices from templates and writes them as mail.
// Vendor-supplied text only ever enters as template data, never as template
// code, and never unfiltered into a header.
package notice

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/coordbot/coordbot/templates"
)

// Notice kinds.
const (
	KindOverview = "overview"
	KindAck      = "ack"
	KindTriage   = "triage"
)

// Renderer renders notice templates per language.
type Renderer struct {
	fsys fs.FS
	mu   sync.Mutex
	tmpl map[string]*template.Template
}

// NewRenderer uses the embedded templates, or dir when it is not empty
// (an operator's override folder with ja/ and en/ inside; kinds missing
// there fall back to the embedded ones).
func NewRenderer(dir string) *Renderer {
	var f fs.FS = templates.FS
	if dir != "" {
		f = overlay{os.DirFS(dir), templates.FS}
	}
	return &Renderer{fsys: f, tmpl: map[string]*template.Template{}}
}

type overlay struct{ top, bottom fs.FS }

func (o overlay) Open(name string) (fs.File, error) {
	if f, err := o.top.Open(name); err == nil {
		return f, nil
	}
	return o.bottom.Open(name)
}

func (r *Renderer) load(lang, kind string) (*template.Template, error) {
	if lang != "en" {
		lang = "ja"
	}
	key := lang + "/" + kind
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.tmpl[key]; ok {
		return t, nil
	}
	data, err := fs.ReadFile(r.fsys, filepath.ToSlash(key+".tmpl"))
	if err != nil {
		return nil, fmt.Errorf("notice: template %s: %w", key, err)
	}
	t, err := template.New(key).Option("missingkey=error").Parse(string(data))
	if err != nil {
		return nil, fmt.Errorf("notice: template %s: %w", key, err)
	}
	for _, name := range []string{"subject", "body"} {
		if t.Lookup(name) == nil {
			return nil, fmt.Errorf("notice: template %s: no %q block", key, name)
		}
	}
	r.tmpl[key] = t
	return t, nil
}

// Render returns the subject (the kind of notice) and the body text.
func (r *Renderer) Render(lang, kind string, data any) (subject, body string, err error) {
	t, err := r.load(lang, kind)
	if err != nil {
		return "", "", err
	}
	var sb, bb bytes.Buffer
	if err := t.ExecuteTemplate(&sb, "subject", data); err != nil {
		return "", "", fmt.Errorf("notice: render %s subject: %w", kind, err)
	}
	if err := t.ExecuteTemplate(&bb, "body", data); err != nil {
		return "", "", fmt.Errorf("notice: render %s body: %w", kind, err)
	}
	return OneLine(sb.String()), strings.TrimLeft(bb.String(), "\n"), nil
}

// OneLine strips control characters so that text can go in a header.
func OneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == '\t' {
			return ' '
		}
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// Mail is one message to write.
type Mail struct {
	From       mail.Address
	To         []string
	Subject    string
	Date       time.Time
	MessageID  string // without angle brackets
	InReplyTo  string
	References []string
	Body       string
	// LoopHeader names the robot, so that its own mail is recognised when it comes back.
	LoopHeader string
}

// LoopHeaderName marks every message the robot writes.
const LoopHeaderName = "X-Coordbot-Loop"

// NewMessageID makes a unique Message-ID for a notice about caseID.
func NewMessageID(kind, caseID, domain string) string {
	var b [8]byte
	rand.Read(b[:])
	c := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return -1
	}, caseID)
	if c == "" {
		c = "desk"
	}
	return fmt.Sprintf("coordbot.%s.%s.%s@%s", kind, c, hex.EncodeToString(b[:]), domain)
}

// Header returns the message header of m (without body).
func (m *Mail) Header() mail.Header {
	var h mail.Header
	h.SetDate(m.Date)
	from := m.From
	from.Name = OneLine(from.Name)
	h.SetAddressList("From", []*mail.Address{&from})
	to := make([]*mail.Address, 0, len(m.To))
	for _, a := range m.To {
		to = append(to, &mail.Address{Address: a})
	}
	h.SetAddressList("To", to)
	h.SetSubject(OneLine(m.Subject))
	h.SetMessageID(m.MessageID)
	if m.InReplyTo != "" {
		h.SetMsgIDList("In-Reply-To", []string{m.InReplyTo})
	}
	if len(m.References) > 0 {
		h.SetMsgIDList("References", m.References)
	}
	h.Set("Auto-Submitted", "auto-generated")
	h.Set("Precedence", "bulk")
	h.Set("X-Auto-Response-Suppress", "All")
	if m.LoopHeader != "" {
		h.Set(LoopHeaderName, OneLine(m.LoopHeader))
	}
	return h
}

// Bytes writes m as a plain text/plain UTF-8 message.
func (m *Mail) Bytes() ([]byte, error) {
	h := m.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	var buf bytes.Buffer
	w, err := mail.CreateSingleInlineWriter(&buf, h)
	if err != nil {
		return nil, fmt.Errorf("notice: write header: %w", err)
	}
	if _, err := w.Write([]byte(toCRLF(m.Body))); err != nil {
		return nil, fmt.Errorf("notice: write body: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("notice: write body: %w", err)
	}
	return buf.Bytes(), nil
}

func toCRLF(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}
