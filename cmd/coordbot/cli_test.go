package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coordbot/coordbot/store"
)

// cli runs the command line in-process, as the binary would.
func cli(t *testing.T, dir string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &out, stderr: &errb, cwd: dir}
	code := run(e, args)
	return out.String(), errb.String(), code
}

func offlineConfig(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "coordbot.toml")
	os.WriteFile(cfg, []byte(`[bot]
address = "vultures@cert.example"
data_dir = "data"
[imap]
address = "127.0.0.1:1"
security = "none"
[smtp]
address = "127.0.0.1:1"
security = "none"
`), 0o600)
	return dir, cfg
}

func TestCLIOffline(t *testing.T) {
	dir, cfg := offlineConfig(t)
	if _, errs, code := cli(t, dir, "init", "--config", cfg); code != 0 {
		t.Fatalf("init: %s", errs)
	}
	reg, _ := filepath.Abs("../../testdata/registry/vendors.toml")
	if out, errs, code := cli(t, dir, "vendor", "import", reg, "--config", cfg); code != 0 || !strings.Contains(out, "imported") {
		t.Fatalf("import: %d %s %s", code, out, errs)
	}
	// Importing again fails whole and names the vendor.
	if _, errs, code := cli(t, dir, "vendor", "import", reg, "--config", cfg); code != 1 || !strings.Contains(errs, "exists") {
		t.Fatalf("second import: %d %s", code, errs)
	}
	csv, _ := filepath.Abs("../../testdata/registry/vendors.csv")
	if _, errs, code := cli(t, dir, "vendor", "import", csv, "--config", cfg); code != 0 && !strings.Contains(errs, "exists") {
		t.Fatalf("csv import: %d %s", code, errs)
	}
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("id,name,emails\nok,OK,a@ok.example\nBAD ID,x,not-an-address\n"), 0o600)
	if _, errs, code := cli(t, dir, "vendor", "import", bad, "--config", cfg); code != 1 || !strings.Contains(errs, "line 3") {
		t.Fatalf("bad csv: %d %s", code, errs)
	}
	os.WriteFile(filepath.Join(dir, "ov.txt"), []byte("overview\n"), 0o600)
	// Flags after the positional arguments, relative paths from the caller's folder.
	id, errs, code := cli(t, dir, "case", "new", "--title", "T", "--overview-file", "ov.txt", "--keywords", "tls", "--config", cfg)
	if code != 0 {
		t.Fatalf("case new: %s", errs)
	}
	id = strings.TrimSpace(id)
	out, _, code := cli(t, dir, "case", "vendors", "suggest", id, "--config", cfg)
	if code != 0 || out == "" {
		t.Fatalf("suggest: %d %q", code, out)
	}
	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"frobnicate"}, 2},
		{[]string{"case", "show"}, 2},
		{[]string{"case", "show", "JVNVU#00000000"}, 1},
		{[]string{"case", "date", id, "yesterday"}, 2},
		{[]string{"case", "cancel", id, "bored"}, 1},
		{[]string{"tick", "--now", "2027-03-01T09:00+09:00"}, 0},
	} {
		if _, errs, code := cli(t, dir, append(tt.args, "--config", cfg)...); code != tt.code || (code != 0 && strings.Count(strings.TrimSpace(errs), "\n") != 0) {
			t.Errorf("%v: exit %d, want %d; stderr %q", tt.args, code, tt.code, errs)
		}
	}
	// An invalid config is a runtime failure naming the key.
	os.WriteFile(cfg, []byte("[bot]\naddress = \"x@y.example\"\n[imap]\naddress = \"h:1\"\nsecurity = \"tsl\"\n[smtp]\naddress = \"h:2\"\n"), 0o600)
	if _, errs, code := cli(t, dir, "vendor", "list", "--config", cfg); code != 1 || !strings.Contains(errs, `imap.security: "tsl" is not one of tls, starttls, none`) {
		t.Fatalf("bad config: %d %s", code, errs)
	}
}

// case show and case list only read: they open the store read-only, so
// they run beside another reader of the file (a backup, `coordbot check`)
// and create or migrate nothing; a missing store takes the read-write path.
func TestReadCommandsOpenReadOnly(t *testing.T) {
	dir, cfg := offlineConfig(t)
	if _, errs, code := cli(t, dir, "init", "--config", cfg); code != 0 {
		t.Fatalf("init: %s", errs)
	}
	db := filepath.Join(dir, "data", store.FileName)
	os.Remove(db)
	// No store yet: the read-write open makes an empty one.
	if out, errs, code := cli(t, dir, "case", "list", "--json", "--config", cfg); code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("case list on no store: %d %q %s", code, out, errs)
	}
	os.WriteFile(filepath.Join(dir, "ov.txt"), []byte("overview\n"), 0o600)
	id, errs, code := cli(t, dir, "case", "new", "--title", "T", "--overview-file", "ov.txt", "--config", cfg)
	if code != 0 {
		t.Fatalf("case new: %s", errs)
	}
	id = strings.TrimSpace(id)
	reader, err := store.Open(db, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	if out, errs, code := cli(t, dir, "case", "show", id, "--json", "--config", cfg); code != 0 || !strings.Contains(out, id) {
		t.Errorf("case show beside a reader: %d %q %s", code, out, errs)
	}
	if out, errs, code := cli(t, dir, "case", "list", "--config", cfg); code != 0 || !strings.Contains(out, id) {
		t.Errorf("case list beside a reader: %d %q %s", code, out, errs)
	}
	// A command that writes still needs the file to itself.
	if _, _, code := cli(t, dir, "case", "date", id, "2027-01-15T11:00+09:00", "--config", cfg); code == 0 {
		t.Error("case date ran while another process read the store")
	}
}
