package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/coordbot/coordbot/templates"
)

func TestTemplatesCheckEmbedded(t *testing.T) {
	dir := t.TempDir()
	kinds, err := templateKinds(templates.FS)
	if err != nil || len(kinds) == 0 {
		t.Fatalf("kinds %v %v", kinds, err)
	}
	// No config at the default path: the embedded templates alone.
	t.Setenv("COORDBOT_CONFIG", "")
	out, errs, code := runCmd(t, context.Background(), dir, "templates", "check")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d %s\n%s", code, errs, out)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 2*len(kinds) {
		t.Fatalf("%d lines for %d kinds:\n%s", len(lines), len(kinds), out)
	}
	for _, want := range []string{"ok   ja/overview\n", "ok   en/detail\n", "ok   ja/transcript\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}

func writeTemplate(t *testing.T, dir, lang, kind, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, lang), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, lang, kind+".tmpl"), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestTemplatesCheckBrokenOverride(t *testing.T) {
	dir := t.TempDir()
	tdir := filepath.Join(dir, "override")
	// A field notice.Data does not have.
	writeTemplate(t, tdir, "ja", "overview", `{{define "subject"}}概要{{end}}{{define "body"}}{{.VendorName}} {{.Severity}}{{end}}`)
	// Does not parse.
	writeTemplate(t, tdir, "en", "detail", `{{define "subject"}}Detail{{end}}{{define "body"}}{{if .Detail}}{{end}}`)
	// No body block.
	writeTemplate(t, tdir, "en", "date", `{{define "subject"}}Date{{end}}`)
	// Puts vendor text in the outer Subject.
	writeTemplate(t, tdir, "en", "ack", `{{define "subject"}}Ack from {{.VendorName}}{{end}}{{define "body"}}{{.VendorName}}{{end}}`)
	// A good override, using every hostile field as text.
	writeTemplate(t, tdir, "en", "triage", `{{define "subject"}}Triage{{end}}{{define "body"}}{{.From}} {{.Reason}} {{.MessageID}}{{end}}`)
	// A misspelt kind is never used.
	writeTemplate(t, tdir, "ja", "overveiw", `{{define "subject"}}x{{end}}{{define "body"}}x{{end}}`)

	out, errs, code := runCmd(t, context.Background(), dir, "templates", "check", "--dir", "override")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	oneStderrLine(t, errs)
	if !strings.Contains(errs, "templates check: 6 of ") {
		t.Errorf("stderr %q", errs)
	}
	for _, want := range []string{
		"FAIL ja/overview: notice: render overview body: ",
		"can't evaluate field Severity",
		"FAIL en/detail: notice: template en/detail: ",
		`FAIL en/date: notice: template en/date: no "body" block`,
		"FAIL en/ack: the subject \"Ack from ACME株式会社 {{.Detail}} Bcc: victim@attacker.example",
		"ok   en/triage (override)\n",
		`FAIL ja/overveiw: "overveiw" is not a kind of notice`,
		`FAIL en/overveiw: "overveiw" is not a kind of notice`,
		"ok   en/overview\n", "ok   ja/detail\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if !strings.HasPrefix(l, "ok   ") && !strings.HasPrefix(l, "FAIL ") {
			t.Errorf("malformed line %q", l)
		}
	}

	// The same folder through the config's bot.template_dir.
	cfg := filepath.Join(dir, "coordbot.toml")
	os.WriteFile(cfg, []byte(`[bot]
address = "vultures@cert.example"
template_dir = "override"
[imap]
address = "127.0.0.1:1"
security = "none"
[smtp]
address = "127.0.0.1:1"
security = "none"
`), 0o600)
	out2, _, code := runCmd(t, context.Background(), dir, "templates", "check", "--config", cfg)
	if code != 1 || out2 != out {
		t.Fatalf("via config: exit %d\n%s", code, out2)
	}

	// Usage and unusable folders.
	for _, tt := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"templates"}, 2, "usage: coordbot templates check"},
		{[]string{"templates", "lint"}, 2, "usage: coordbot templates check"},
		{[]string{"templates", "check", "--dir", "override", "--config", cfg}, 2, "not both"},
		{[]string{"templates", "check", "--dir", "nowhere"}, 1, "template dir: "},
		{[]string{"templates", "check", "--dir", "coordbot.toml"}, 1, "is not a folder"},
		{[]string{"templates", "check", "--dir", "."}, 1, "neither a ja/ nor an en/ folder"},
	} {
		_, errs, code := runCmd(t, context.Background(), dir, tt.args...)
		if code != tt.code || !strings.Contains(errs, tt.err) {
			t.Errorf("%v: exit %d %q, want %d %q", tt.args, code, errs, tt.code, tt.err)
		}
	}
}

// TestTemplatesSampleData: every field of notice.Data is filled in the
// sample, so a template using a new field is rendered with a value.
func TestTemplatesSampleData(t *testing.T) {
	v := reflect.ValueOf(sampleData(true))
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("sampleData(true) leaves notice.Data.%s empty: fill it in templatescheck.go", v.Type().Field(i).Name)
		}
	}
	d := fmt.Sprint(sampleData(true))
	if !strings.Contains(d, "{{.Detail}}") || !strings.Contains(d, "\r\nBcc:") {
		t.Errorf("sample data is not hostile: %s", d)
	}
}
