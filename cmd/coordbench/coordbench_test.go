package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as the peak memory wrapper (rss.go),
// as the coordbench binary does.
func TestMain(m *testing.M) {
	if status, ok := rssWrapperMain(); ok {
		os.Exit(status)
	}
	os.Exit(m.Run())
}

// smokeFigures are the figures of each phase this file's phases print (scale
// has its own test sizes and figures: see scale.go).
var smokeFigures = map[string][]string{
	"inbound": {"inbound_answers_per_s", "inbound_gpg_decrypt_per_s", "inbound_floor_1cpu_per_s", "inbound_floor_ncpu_per_s",
		"inbound_ack_send_per_s", "inbound_per_gpg", "inbound_floor_per_inbound", "inbound_floor_ncpu_per_inbound",
		"inbound_warm_answers_per_s", "inbound_warm_per_gpg", "inbound_floor_per_inbound_warm"},
	"outbound": {"outbound_notices_per_s", "outbound_gpg_sign_encrypt_per_s", "outbound_raw_smtp_per_s",
		"outbound_raw_smtp_1conn_per_s", "outbound_raw_sealed_smtp_per_s", "outbound_per_gpg", "outbound_per_raw",
		"outbound_per_raw_sealed"},
	"latency": {"latency_ack_p50_ms", "latency_ack_p99_ms", "latency_delivery_p50_ms", "latency_delivery_p99_ms"},
	"memory":  {"memory_poll_small_mb", "memory_poll_attach_mb", "memory_attach_message_mb"},
}

// TestCoordbenchSmoke runs the inbound, outbound, latency and memory phases at tiny
// sizes on real servers and wants every figure, once, with a positive
// value.
func TestCoordbenchSmoke(t *testing.T) {
	if os.Getenv("COORDBOT_REALMAIL") == "" {
		const msg = "real Dovecot/Postfix not started: run .ci/run or set COORDBOT_REALMAIL=1"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	var stderr bytes.Buffer
	o, err := parseFlags([]string{"-only", "inbound,outbound,latency,memory", "-answers", "12", "-vendors", "10", "-rounds", "2", "-inbound-rounds", "2",
		"-latency-n", "5", "-attach-mb", "1", "-v", "-workdir", t.TempDir()}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var stdout bytes.Buffer
	if err := run(ctx, o, &stdout); err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, stderr.String())
	}
	t.Logf("figures:\n%s", stdout.String())
	got := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Errorf("line %q is not \"name value unit\"", line)
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil || v <= 0 {
			t.Errorf("line %q: value not positive (%v)", line, err)
		}
		got[f[0]]++
	}
	n := 0
	for _, names := range smokeFigures {
		for _, name := range names {
			n++
			if got[name] != 1 {
				t.Errorf("figure %s printed %d times, want once", name, got[name])
			}
		}
	}
	if len(got) != n {
		t.Errorf("%d distinct figures printed, want %d", len(got), n)
	}
}

func TestCoordbenchFlags(t *testing.T) {
	var stderr bytes.Buffer
	o, err := parseFlags(nil, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if o.answers != 2000 || o.vendors != 1000 || o.latencyN != 200 || o.attachMB != 25 || len(o.only) != len(phases) {
		t.Fatalf("defaults: %+v", o)
	}
	for _, bad := range [][]string{{"-only", "inbound,nope"}, {"-only", ""}, {"-answers", "0"}, {"extra"}} {
		if _, err := parseFlags(bad, &stderr); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
	o, err = parseFlags([]string{"-only", "memory, latency"}, &stderr)
	if err != nil || len(o.only) != 2 || !o.only["memory"] || !o.only["latency"] {
		t.Fatalf("-only memory, latency: %v %v", o.only, err)
	}
}

func TestCoordbenchPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	if p := percentile(ds, 50); p != 50*time.Millisecond {
		t.Errorf("p50 = %v", p)
	}
	if p := percentile(ds, 99); p != 99*time.Millisecond {
		t.Errorf("p99 = %v", p)
	}
	if p := percentile(ds[:1], 99); p != 1*time.Millisecond {
		t.Errorf("p99 of one = %v", p)
	}
}

// TestCoordbenchRSSWrapper: a child of a big process reports the parent's
// peak as its own ru_maxrss; through the wrapper it reports its own.
func TestCoordbenchRSSWrapper(t *testing.T) {
	if _, err := exec.LookPath("true"); err != nil {
		t.Skip("no true(1)")
	}
	big := make([]byte, 256<<20)
	for i := 0; i < len(big); i += 4096 {
		big[i] = 1
	}
	direct := exec.Command("true")
	if err := direct.Run(); err != nil {
		t.Fatal(err)
	}
	wrapped := exec.Command("true")
	read, err := wrapForRSS(wrapped, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := wrapped.Run(); err != nil {
		t.Fatal(err)
	}
	kib, err := read()
	if err != nil {
		t.Fatal(err)
	}
	directKiB := direct.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
	t.Logf("true(1): %d KiB directly, %d KiB through the wrapper", directKiB, kib)
	if kib > 64<<10 {
		t.Errorf("wrapped true(1) reports %d KiB", kib)
	}
	runtime.KeepAlive(big)
}
