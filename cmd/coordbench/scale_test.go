package main

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// TestScaleSmall runs the scale phase on a small store (no mail server
// needed) and wants every figure once, with a positive value unless it is
// a count (a small store may have nothing due).
func TestScaleSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds coordbot and a store of 60 cases")
	}
	defer func(c, v, s int) { scaleCases, scaleVendorCount, scaleSamples = c, v, s }(scaleCases, scaleVendorCount, scaleSamples)
	scaleCases, scaleVendorCount, scaleSamples = 60, 40, 5
	var stderr bytes.Buffer
	o := &options{workDir: t.TempDir(), verbose: true, stderr: &stderr}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	figs, err := runScale(ctx, o)
	if err != nil {
		t.Fatalf("runScale: %v\nstderr:\n%s", err, stderr.String())
	}
	got := map[string]Figure{}
	for _, f := range figs {
		if _, dup := got[f.Name]; dup {
			t.Errorf("figure %s printed twice", f.Name)
		}
		got[f.Name] = f
	}
	for _, name := range []string{"scale_case_show_median", "scale_case_show_1case_median", "process_start_median",
		"scale_case_show_per_1case", "scale_case_show_open_inprocess_median", "scale_case_show_read_inprocess_median",
		"scale_tick_exec", "scale_tick_exec_actions", "scale_tick_exec_cases", "scale_tick_idle_exec", "scale_tick_inprocess",
		"scale_tick_idle_inprocess", "scale_tick_1case", "scale_tick_1case_actions", "scale_tick_1case_inprocess",
		"scale_tick_per_1case", "scale_store_size", "scale_store_bytes_per_case", "scale_cases", "scale_vendors_per_case",
		"scale_open_cases", "scale_events_per_case", "scale_outbox_entries", "scale_ledger_entries", "scale_build"} {
		f, ok := got[name]
		if !ok {
			t.Errorf("figure %s missing", name)
		} else if f.Value <= 0 && f.Unit != "count" {
			t.Errorf("figure %s = %v", name, f.Value)
		}
	}
	if got["scale_cases"].Value != 60 || got["scale_vendors_per_case"].Value != 20 {
		t.Errorf("sizes: %v cases, %v vendors per case", got["scale_cases"].Value, got["scale_vendors_per_case"].Value)
	}
	t.Logf("figures: %v", figs)
}
