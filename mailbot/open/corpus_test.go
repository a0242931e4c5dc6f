package open_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coordbot/coordbot/mailbot/caseid"
	"github.com/coordbot/coordbot/mailbot/forms"
	"github.com/coordbot/coordbot/mailbot/open"
)

// expectation is one entry of testdata/mail/expect.json.
type expectation struct {
	CaseID            string   `json:"case_id"`
	Answer            string   `json:"answer"` // yes, no, none
	AutoReply         bool     `json:"auto_reply"`
	Bounce            bool     `json:"bounce"`
	From              string   `json:"from"`
	FromCount         int      `json:"from_count"`
	CharsetProblem    bool     `json:"charset_problem"`
	TextFromHTML      bool     `json:"text_from_html"`
	InReplyTo         string   `json:"in_reply_to"`
	FailedRecipients  []string `json:"failed_recipients"`
	OriginalMessageID string   `json:"original_message_id"`
}

// TestCorpus reads every reply in testdata/mail as the inbound pipeline does
// (Parse, case ID from the Subject, overview answer from the text) and
// compares with expect.json.
func TestCorpus(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "mail")
	b, err := os.ReadFile(filepath.Join(dir, "expect.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]expectation
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("expect.json: %v", err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 15 {
		t.Fatalf("only %d messages in the corpus", len(files))
	}
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
			m, err := open.Parse(raw, open.DefaultLimits)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			id, _ := caseid.Find(m.Subject, "JVNVU#")
			answer := "none"
			if a, ok := forms.OverviewAnswer(m.Text); ok {
				answer = a.String()
			}
			check := func(what string, got, want any) {
				t.Helper()
				if got != want {
					t.Errorf("%s = %v; want %v", what, got, want)
				}
			}
			check("case id", id, w.CaseID)
			check("answer", answer, w.Answer)
			check("auto-reply", m.IsAutoReply, w.AutoReply)
			check("bounce", m.IsBounce, w.Bounce)
			check("from", m.From.Addr, w.From)
			check("from count", m.FromCount, w.FromCount)
			check("charset problem", m.CharsetProblem, w.CharsetProblem)
			check("text from html", m.TextFromHTML, w.TextFromHTML)
			if w.InReplyTo != "" && !slices.Contains(m.InReplyTo, w.InReplyTo) {
				t.Errorf("In-Reply-To = %q; want %q", m.InReplyTo, w.InReplyTo)
			}
			if w.Bounce {
				if m.Bounce == nil {
					t.Fatalf("no Bounce")
				}
				check("failed recipients", strings.Join(m.Bounce.FailedRecipients, ","), strings.Join(w.FailedRecipients, ","))
				check("original message id", m.Bounce.OriginalMessageID, w.OriginalMessageID)
			}
			if !strings.Contains(m.Subject, "JVNVU") && !strings.Contains(m.Subject, "ＪＶＮＶＵ") &&
				!strings.Contains(m.Subject, "jvnvu") && w.CaseID != "" {
				t.Errorf("Subject %q lost the case", m.Subject)
			}
			if w.Answer != "none" && m.Text == "" {
				t.Errorf("empty text")
			}
			if t.Failed() {
				t.Logf("subject %q\ntext:\n%s", m.Subject, m.Text)
			}
		})
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("expect.json names %s, which is not in the corpus", name)
		}
	}
}
