package open

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestZZSlow(t *testing.T) {
	files, _ := filepath.Glob(os.Getenv("ZZDIR") + "/*")
	k := RobotKeyring(t)
	var worst time.Duration
	for _, f := range files {
		b, _ := os.ReadFile(f)
		lines := strings.SplitN(string(b), "\n", 3)
		s := strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")")
		raw, err := strconv.Unquote(s)
		if err != nil {
			continue
		}
		t0 := time.Now()
		m, err := ParseWith([]byte(raw), fuzzLimits, k)
		d := time.Since(t0)
		if d > worst {
			worst = d
		}
		if d > 50*time.Millisecond {
			t.Logf("%s: %v (%d bytes) err %v", filepath.Base(f), d, len(raw), err)
		}
		_ = m
	}
	t.Logf("%d files, worst %v", len(files), worst)
}
