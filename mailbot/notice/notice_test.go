package notice

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/coordbot/coordbot/templates"
)

func TestEveryTemplateRendersInBothLanguages(t *testing.T) {
	kinds := map[string]bool{}
	fs.WalkDir(templates.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if strings.HasSuffix(p, ".tmpl") {
			kinds[strings.TrimSuffix(filepath.Base(p), ".tmpl")] = true
		}
		return nil
	})
	if len(kinds) < 5 {
		t.Fatalf("only %d kinds found", len(kinds))
	}
	r := NewRenderer("")
	data := Data{Desk: "coordbot", CaseID: "JVNVU#12345678", Title: "{{.Detail}} title\r\nBcc: evil@example.org",
		VendorName: "ACME {{template \"body\"}}", RecordedJA: []string{"x"}, RecordedEN: []string{"y"}}
	for kind := range kinds {
		for _, lang := range []string{"ja", "en"} {
			subj, body, err := r.Render(lang, kind, data)
			if err != nil {
				t.Fatalf("%s/%s: %v", lang, kind, err)
			}
			if subj == "" || body == "" || strings.ContainsAny(subj, "\r\n") {
				t.Fatalf("%s/%s: subject %q", lang, kind, subj)
			}
			// Vendor text is data: it is printed as is, never run.
			if strings.Contains(body, "ACME") && !strings.Contains(body, `ACME {{template "body"}}`) {
				t.Fatalf("%s/%s: vendor name was interpreted", lang, kind)
			}
		}
	}
}

func TestJapaneseFirst(t *testing.T) {
	_, body, err := NewRenderer("").Render("ja", "overview", Data{CaseID: "JVNVU#1", VendorName: "v"})
	if err != nil {
		t.Fatal(err)
	}
	ja, en := strings.Index(body, "詳細情報の請求"), strings.Index(body, "Dear product security contact")
	if ja < 0 || en < 0 || ja > en {
		t.Fatalf("Japanese must come first, then English:\n%s", body)
	}
}

func TestOverrideFolder(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "en"), 0o755)
	os.WriteFile(filepath.Join(dir, "en", "ack.tmpl"), []byte(`{{define "subject"}}Got it{{end}}{{define "body"}}Thanks {{.VendorName}}{{end}}`), 0o644)
	r := NewRenderer(dir)
	subj, body, err := r.Render("en", "ack", Data{VendorName: "ACME"})
	if err != nil || subj != "Got it" || body != "Thanks ACME" {
		t.Fatalf("override: %q %q %v", subj, body, err)
	}
	// Kinds the operator did not override come from the embedded set.
	if _, _, err := r.Render("en", "overview", Data{}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "en", "triage.tmpl"), []byte(`{{define "subject"}}x{{end}}`), 0o644)
	if _, _, err := r.Render("en", "triage", Data{}); err == nil || !strings.Contains(err.Error(), "body") {
		t.Fatalf("template without a body block: %v", err)
	}
}

func TestHeaderInjection(t *testing.T) {
	m := Mail{From: mail.Address{Name: "bot\r\nBcc: evil@example.org", Address: "vultures@cert.example"},
		To: []string{"psirt@acme.example"}, Subject: "[JVNVU#1] x\r\nBcc: evil@example.org", Date: time.Now(),
		MessageID: NewMessageID("ack", "JVNVU#1", "cert.example"), Body: "hello\n", LoopHeader: "vultures@cert.example"}
	raw, err := m.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	head := string(raw[:strings.Index(string(raw), "\r\n\r\n")])
	for _, l := range strings.Split(head, "\r\n") {
		if strings.HasPrefix(strings.ToLower(l), "bcc:") {
			t.Fatalf("injected header line: %q", l)
		}
	}
	for _, want := range []string{"Auto-Submitted: auto-generated", "X-Coordbot-Loop: vultures@cert.example", "Message-Id: <coordbot.ack.JVNVU1."} {
		if !strings.Contains(head, want) {
			t.Fatalf("header lacks %q:\n%s", want, head)
		}
	}
}
