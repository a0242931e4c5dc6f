// Package gpgtest runs real GnuPG in tests as a vendor's or coordinator's
// mail client would: its own throwaway GNUPGHOME, batch mode, status lines.
package gpgtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Require skips the test when gpg is missing (CI installs gnupg).
func Require(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"gpg", "gpgconf"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not on PATH: install gnupg to run the GnuPG interop tests (CI does)", tool)
		}
	}
}

// Home is a throwaway GNUPGHOME. It lives directly under /tmp because
// gpg-agent's socket path must stay under ~100 bytes, which t.TempDir()
// can exceed; the agent is killed on cleanup.
type Home struct {
	t   testing.TB
	Dir string
}

// New makes a home; Require is called first.
func New(t testing.TB) *Home {
	t.Helper()
	Require(t)
	dir, err := os.MkdirTemp("/tmp", "sg")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", dir, "--kill", "all").Run()
		os.RemoveAll(dir)
	})
	return &Home{t: t, Dir: dir}
}

// Run runs gpg in the home and returns the status lines (--status-file),
// stderr and the exit error.
func (g *Home) Run(args ...string) (status string, stderr string, err error) {
	g.t.Helper()
	_, status, stderr, err = g.RunOut(nil, args...)
	return status, stderr, err
}

// RunOut is Run with stdin and stdout.
func (g *Home) RunOut(stdin []byte, args ...string) (stdout []byte, status, stderr string, err error) {
	g.t.Helper()
	statusFile := filepath.Join(g.Dir, "status.txt")
	os.Remove(statusFile)
	base := []string{"--homedir", g.Dir, "--batch", "--no-tty", "--yes",
		"--pinentry-mode", "loopback", "--passphrase", "",
		"--status-file", statusFile}
	cmd := exec.Command("gpg", append(base, args...)...)
	var ob, eb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &ob, &eb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	err = cmd.Run()
	st, _ := os.ReadFile(statusFile)
	return ob.Bytes(), string(st), eb.String(), err
}

// File writes data into the home and returns its path.
func (g *Home) File(name string, data []byte) string {
	g.t.Helper()
	p := filepath.Join(g.Dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		g.t.Fatal(err)
	}
	return p
}

// Import imports an armored key.
func (g *Home) Import(name string, armored []byte) {
	g.t.Helper()
	status, stderr, err := g.Run("--import", g.File(name+".asc", armored))
	if err != nil || !strings.Contains(status, "[GNUPG:] IMPORT_OK") {
		g.t.Fatalf("gpg --import %s: %v\n%s\n%s", name, err, status, stderr)
	}
}

// StatusLine returns the first status line with the keyword.
func StatusLine(status, keyword string) (string, bool) {
	for _, l := range strings.Split(status, "\n") {
		if strings.HasPrefix(l, "[GNUPG:] "+keyword+" ") || l == "[GNUPG:] "+keyword {
			return l, true
		}
	}
	return "", false
}

// GoodSigBy reports whether status holds VALIDSIG with primaryFpr (the last
// field) and no bad, expired or unverifiable signature.
func GoodSigBy(status, primaryFpr string) bool {
	if _, ok := StatusLine(status, "GOODSIG"); !ok {
		return false
	}
	valid, ok := StatusLine(status, "VALIDSIG")
	if f := strings.Fields(valid); !ok || f[len(f)-1] != primaryFpr {
		return false
	}
	for _, bad := range []string{"BADSIG", "ERRSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG", "BADMDC", "DECRYPTION_FAILED"} {
		if _, ok := StatusLine(status, bad); ok {
			return false
		}
	}
	return true
}
