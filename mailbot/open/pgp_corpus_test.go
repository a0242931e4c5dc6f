package open_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coordbot/coordbot/mailbot/forms"
	"github.com/coordbot/coordbot/mailbot/open"
)

// pgpExpectation is one entry of testdata/mail/pgp/expect.json.
type pgpExpectation struct {
	Subject       string   `json:"subject"`
	OuterSubject  string   `json:"outer_subject"`
	Signature     string   `json:"signature"`
	SignedBy      string   `json:"signed_by"`
	Encrypted     bool     `json:"encrypted"`
	DecryptedWith string   `json:"decrypted_with"`
	Error         string   `json:"error"` // undecryptable, no-integrity, too-large, malformed
	TextContains  []string `json:"text_contains"`
	TextExcludes  []string `json:"text_excludes"`
	Status        string   `json:"status"` // the status form's answer, "" to skip
	Defects       []string `json:"defects"`
	Keys          int      `json:"keys"`
	InReplyTo     string   `json:"in_reply_to"`
}

var errorKinds = map[string]error{
	"undecryptable": open.ErrUndecryptable,
	"no-integrity":  open.ErrNoIntegrity,
	"too-large":     open.ErrTooLarge,
	"malformed":     open.ErrMalformed,
}

// TestPGPCorpus reads every message gen.sh made with real gpg and compares
// with expect.json.
func TestPGPCorpus(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "mail", "pgp")
	b, err := os.ReadFile(filepath.Join(dir, "expect.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]pgpExpectation
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("expect.json: %v", err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("only %d messages in the corpus", len(files))
	}
	keys := open.RobotKeyring(t)
	seen := map[string]bool{}
	for _, path := range files {
		name := filepath.Base(path)
		seen[name] = true
		t.Run(strings.TrimSuffix(name, ".eml"), func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("no expectation in expect.json")
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			m, err := open.ParseWith(raw, open.DefaultLimits, keys)
			if w.Error != "" {
				if !errors.Is(err, errorKinds[w.Error]) {
					t.Fatalf("ParseWith = %v; want %s", err, w.Error)
				}
				if strings.Contains(err.Error(), "該当") || strings.Contains(err.Error(), "JVNVU") {
					t.Errorf("error quotes the message: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseWith: %v", err)
			}
			checkPGP(t, m, w)
		})
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("expect.json names %s, which is not in the corpus", name)
		}
	}
}

func checkPGP(t *testing.T, m *open.Message, w pgpExpectation) {
	t.Helper()
	check := func(what string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v; want %v", what, got, want)
		}
	}
	check("subject", m.Subject, w.Subject)
	check("outer subject", m.OuterSubject, w.OuterSubject)
	check("signature", m.Signature.String(), w.Signature)
	check("signed by", m.SignedBy, w.SignedBy)
	check("encrypted", m.Encrypted, w.Encrypted)
	check("decrypted with", m.DecryptedWith, w.DecryptedWith)
	check("keys", len(m.Keys), w.Keys)
	if (m.SignatureID != "") != (m.Signature == open.SigValid) || (m.SignedAt.IsZero() == (m.Signature == open.SigValid)) {
		t.Errorf("signature id %q, time %v with %v", m.SignatureID, m.SignedAt, m.Signature)
	}
	for _, s := range w.TextContains {
		if !strings.Contains(m.Text, s) {
			t.Errorf("text lacks %q", s)
		}
	}
	for _, s := range w.TextExcludes {
		if strings.Contains(m.Text, s) {
			t.Errorf("text has %q", s)
		}
	}
	for _, d := range w.Defects {
		if !slices.Contains(m.Defects, d) {
			t.Errorf("defects %q lack %q", m.Defects, d)
		}
	}
	if w.InReplyTo != "" && !slices.Contains(m.InReplyTo, w.InReplyTo) {
		t.Errorf("In-Reply-To = %q; want %q", m.InReplyTo, w.InReplyTo)
	}
	if w.Status != "" {
		r, _ := forms.StatusReport(m.Text)
		check("status", r.Status, w.Status)
	}
	if m.CharsetProblem {
		t.Errorf("charset problem")
	}
	if t.Failed() {
		t.Logf("defects %q\ntext:\n%s", m.Defects, m.Text)
	}
}
