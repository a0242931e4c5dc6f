package main

// The scale run: how `case show` and one scheduler pass behave on a store
// of many cases. The store is written in-process with the store package
// (going through the CLI, or sealing every notice, would take hours) and
// then measured through the built binary, as an operator runs it, and
// in-process where a reusable function exists.
//
// The store is a desk that has run for five years: vendors with contacts,
// keys and keywords; cases with realistic texts and some attachments; 20
// vendors per case with an event trail, the inbound answers in the ledger
// (raw messages kept) and every notice sent in the outbox (raw kept, state
// sent), as the desk keeps them (no pruning). State mix, oldest first:
//
//   - historical cases (older than 65 days): closed when published more than
//     90 days ago, else published; one in 10 never closed (left published);
//     one in 33 cancelled; one in 50 of those younger than 14 months still
//     active ("stuck", with unreachable vendors and one-year notices);
//   - cases of the last 45-65 days: scheduled (publication date ahead);
//   - cases of the last 45 days: active;
//   - the newest 0.2%: drafts.
//
// Vendors answer or not by a fixed random plan (seeded): 8% never answer,
// 60% of the others ask for the detail, most report a status later. The
// timeline stops at the publication (historical cases) or at the scheduler
// pass of the day before (open cases): the scheduler's keys of that pass
// are recorded, so the measured pass only finds what became due since,
// like a daily pass in production. A few open cases are placed so that a
// one-year notice, an unreachable proposal and T-7d reminders fall due in
// the measured window.
//
// At the default size the store is about 9 GB (1 MB a case: mostly the raw
// notices of the outbox, about 100 a case) and takes about three minutes
// to write; it is deleted at the end unless -keep.
//
// Figures (ms are wall times of the coordbot binary unless "inprocess"):
//
//	scale_case_show_median         case show ID --json, 21 different cases (warm page cache)
//	scale_case_show_1case_median   the same on a store of one case (baseline)
//	process_start_median           coordbot version (the floor of any command)
//	scale_case_show_per_1case      ratio of the two case show medians
//	scale_case_show_cold_median    case show with the store file dropped from the page cache first
//	scale_case_show_open_inprocess_median, scale_case_show_read_inprocess_median
//	                               config load + read-only store open, then reading and encoding one case, in-process
//	scale_tick_exec                tick --now T: the daily pass, with what fell due since the day before
//	scale_tick_exec_actions, scale_tick_exec_cases   what it did and how many cases it looked at
//	scale_tick_idle_exec           the same pass again at T: nothing due, the cost of looking (median of 5)
//	scale_tick_inprocess           Desk.Tick at T+1 day (the next daily pass), in-process
//	scale_tick_inprocess_actions   what it did
//	scale_tick_idle_inprocess      Desk.Tick at T+1 day again: nothing due
//	scale_tick_idle_cold_exec      tick with nothing due, store file dropped from the page cache first
//	scale_tick_1case, scale_tick_1case_actions, scale_tick_1case_inprocess
//	                               the pass at T on the 1-case store, exec'd and in-process (medians
//	                               of runs, each from a copy of the store as built)
//	scale_tick_per_1case           ratio of scale_tick_exec to scale_tick_1case
//	scale_store_size MB, scale_store_bytes_per_case, scale_cases, scale_vendors_per_case,
//	scale_open_cases, scale_events_per_case, scale_outbox_entries, scale_ledger_entries
//	                               the store measured
//	scale_build s                  writing the big store
//
// The cold figures need GNU dd (iflag=nocache); without it they are left
// out with a note. COORDBENCH_SCALE_CPUPROFILE=FILE writes the CPU profile
// of the in-process pass on the big store.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/coordbot/coordbot/mailbot/config"
	"github.com/coordbot/coordbot/mailbot/desk"
	"github.com/coordbot/coordbot/mailbot/keys"
	"github.com/coordbot/coordbot/mailbot/process"
	"github.com/coordbot/coordbot/mailbot/schedule"
	"github.com/coordbot/coordbot/store"
)

// Sizes of the scale run. Package variables so that tests can shrink them.
var (
	scaleCases          = 10000
	scaleVendorsPerCase = 20
	scaleVendorCount    = 240
	// scaleSamples is how many runs a median is taken over.
	scaleSamples = 21
	// scaleBatch cases are written per store transaction.
	scaleBatch = 100
)

// scaleProfileEnv names a file to write the CPU profile of the in-process
// scheduler pass on the big store to.
const scaleProfileEnv = "COORDBENCH_SCALE_CPUPROFILE"

const (
	scaleBotAddr = "vultures@cert.example"
	scaleCoord1  = "coord@cert.example"
	scaleCoord2  = "coord2@cert.example"
	scaleDay     = 24 * time.Hour
)

func runScale(ctx context.Context, o *options) ([]Figure, error) {
	logf := func(format string, args ...any) { o.logf("scale: "+format, args...) }
	if o.workDir == "" {
		return nil, errors.New("scale: no work folder")
	}
	root := filepath.Join(o.workDir, "scale")
	if err := os.RemoveAll(root); err != nil {
		return nil, fmt.Errorf("scale: %w", err)
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("scale: %w", err)
	}
	if !o.keep {
		defer os.RemoveAll(root)
	} else {
		logf("keeping %s", root)
	}
	bin := o.bin
	if bin == "" {
		bin = filepath.Join(root, "coordbot")
		logf("building %s", bin)
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/coordbot/coordbot/cmd/coordbot").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("scale: build coordbot: %v: %s", err, out)
		}
	}

	// The pass measured runs at tickNow; the previous one ran a day before.
	// After the robot key's creation (init runs now), so it can sign.
	tickNow := time.Now().Add(2 * time.Minute).Truncate(time.Minute).UTC()
	shared, err := newScaleShared(root, tickNow)
	if err != nil {
		return nil, err
	}

	t0 := time.Now()
	one, err := buildScaleWorld(ctx, bin, filepath.Join(root, "one"), shared, 1, logf)
	if err != nil {
		return nil, fmt.Errorf("scale: 1-case store: %w", err)
	}
	logf("1-case store built in %v", time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	big, err := buildScaleWorld(ctx, bin, filepath.Join(root, "big"), shared, scaleCases, logf)
	if err != nil {
		return nil, fmt.Errorf("scale: big store: %w", err)
	}
	buildTime := time.Since(t0)
	fi, err := os.Stat(big.dbPath)
	if err != nil {
		return nil, err
	}
	logf("big store built in %v: %d cases, %d events, %d outbox entries, %d ledger entries, %.1f MB",
		buildTime.Round(time.Millisecond), big.nCases, big.nEvents, big.nOutbox, big.nLedger, float64(fi.Size())/1e6)

	var figs []Figure
	add := func(name string, v float64, unit string) {
		f := Figure{Name: name, Value: v, Unit: unit}
		figs = append(figs, f)
		logf("%s", f)
	}

	// Process start floor.
	startMed, err := scaleExecMedian(ctx, bin, scaleSamples, func(int) []string { return []string{"version"} }, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("scale: version: %w", err)
	}

	// case show on the big store, one different case per run.
	ids := big.showIDs
	showArgs := func(i int) []string { return []string{"case", "show", ids[i], "--json", "--config", big.cfgPath} }
	showCheck := func(i int, out []byte) error { return big.checkShow(ids[i], out) }
	showBig, err := scaleExecMedian(ctx, bin, len(ids), showArgs, showCheck, nil)
	if err != nil {
		return nil, fmt.Errorf("scale: case show: %w", err)
	}
	showOne, err := scaleExecMedian(ctx, bin, scaleSamples, func(int) []string {
		return []string{"case", "show", one.showIDs[0], "--json", "--config", one.cfgPath}
	}, func(_ int, out []byte) error { return one.checkShow(one.showIDs[0], out) }, nil)
	if err != nil {
		return nil, fmt.Errorf("scale: case show (1 case): %w", err)
	}
	// Where case show's time goes, in-process: opening and reading.
	openMed, readMed, err := scaleShowInProcess(big, ids)
	if err != nil {
		return nil, fmt.Errorf("scale: case show in-process: %w", err)
	}

	// One scheduler pass through the binary, on the big and the 1-case store.
	tickBig, bigRes, err := scaleExecTick(ctx, bin, big, tickNow)
	if err != nil {
		return nil, fmt.Errorf("scale: tick: %w", err)
	}
	kinds, err := big.newOutboxFile()
	if err != nil {
		return nil, err
	}
	logf("tick exec on the big store: %d cases, %d actions, queued %v", bigRes.Cases, bigRes.Actions, kinds)
	if err := big.checkTick(bigRes, kinds, big.stuck >= 3); err != nil {
		return nil, fmt.Errorf("scale: tick: %w", err)
	}
	// The same pass again: nothing new is due, the cost of a pass that
	// only looks. It changes nothing, so it is run several times.
	var idles []time.Duration
	for range min(5, scaleSamples) {
		d, res, err := scaleExecTick(ctx, bin, big, tickNow)
		if err != nil {
			return nil, fmt.Errorf("scale: tick again: %w", err)
		}
		if res.Actions != 0 {
			return nil, fmt.Errorf("scale: a second pass at the same instant did %d actions", res.Actions)
		}
		idles = append(idles, d)
	}
	idleExec := scaleMedian(idles)
	// The 1-case store is small: each run starts from a copy of it as
	// built, and the median is taken.
	oneDB, err := os.ReadFile(one.dbPath)
	if err != nil {
		return nil, err
	}
	var ones []time.Duration
	var oneRes desk.TickResult
	for range scaleSamples {
		if err := os.WriteFile(one.dbPath, oneDB, 0o600); err != nil {
			return nil, err
		}
		var d time.Duration
		if d, oneRes, err = scaleExecTick(ctx, bin, one, tickNow); err != nil {
			return nil, fmt.Errorf("scale: tick (1 case): %w", err)
		}
		ones = append(ones, d)
	}
	tickOne := scaleMedian(ones)
	if kinds, err = one.newOutboxFile(); err != nil {
		return nil, err
	}
	logf("tick exec on the 1-case store: %d actions, queued %v", oneRes.Actions, kinds)
	if err := one.checkTick(oneRes, kinds, false); err != nil {
		return nil, fmt.Errorf("scale: tick (1 case): %w", err)
	}
	// In-process: the next day's pass (the store was built so that it has
	// work of the same kind), then the same pass again, which finds nothing
	// new: the cost of a pass with nothing to do.
	next := tickNow.Add(scaleDay)
	inBig, inRes, idleBig, err := scaleTickInProcess(big, next, os.Getenv(scaleProfileEnv))
	if err != nil {
		return nil, fmt.Errorf("scale: tick in-process: %w", err)
	}
	logf("tick in-process on the big store, next day: %d actions, queued %v", inRes.Actions, big.queued)
	if err := big.checkTick(inRes, big.queued, big.stuck >= 4); err != nil {
		return nil, fmt.Errorf("scale: tick in-process: %w", err)
	}
	// In-process on the 1-case store: the pass at tickNow the exec'd one
	// did, from copies of the store as built.
	var inOnes []time.Duration
	for range scaleSamples {
		if err := os.WriteFile(one.dbPath, oneDB, 0o600); err != nil {
			return nil, err
		}
		one.seqMark = uint64(one.nOutbox)
		d, res, _, err := scaleTickInProcess(one, tickNow, "")
		if err != nil {
			return nil, fmt.Errorf("scale: tick in-process (1 case): %w", err)
		}
		if res.Actions != oneRes.Actions {
			return nil, fmt.Errorf("scale: tick in-process (1 case) did %d actions, the binary %d", res.Actions, oneRes.Actions)
		}
		inOnes = append(inOnes, d)
	}
	inOne := scaleMedian(inOnes)
	logf("tick exec: %d cases, %d actions (%v); in-process next day: %d cases, %d actions (%v)",
		bigRes.Cases, bigRes.Actions, tickBig.Round(time.Millisecond), inRes.Cases, inRes.Actions, inBig.Round(time.Millisecond))

	// Cold: the store file dropped from the page cache first, as after a
	// reboot or on a machine with less memory than the store. Only this
	// file's pages are dropped (dd iflag=nocache, GNU coreutils).
	evict := func() error {
		out, err := exec.CommandContext(ctx, "dd", "if="+big.dbPath, "iflag=nocache", "count=0", "status=none").CombinedOutput()
		if err != nil {
			return fmt.Errorf("dd iflag=nocache: %v: %s", err, out)
		}
		return nil
	}
	var coldTick, coldShow time.Duration
	if err := evict(); err != nil {
		o.notef("scale: cold figures left out: %v", err)
	} else {
		var coldRes desk.TickResult
		if coldTick, coldRes, err = scaleExecTick(ctx, bin, big, next); err != nil {
			return nil, fmt.Errorf("scale: cold tick: %w", err)
		}
		if coldRes.Actions != 0 {
			return nil, fmt.Errorf("scale: cold tick did %d actions, want none", coldRes.Actions)
		}
		if coldShow, err = scaleExecMedian(ctx, bin, len(ids), showArgs, showCheck, evict); err != nil {
			return nil, fmt.Errorf("scale: cold case show: %w", err)
		}
	}

	add("scale_case_show_median", scaleMS(showBig), "ms")
	add("scale_case_show_1case_median", scaleMS(showOne), "ms")
	add("process_start_median", scaleMS(startMed), "ms")
	figs = append(figs, ratio("scale_case_show_per_1case", scaleMS(showBig), scaleMS(showOne)))
	if coldShow > 0 {
		add("scale_case_show_cold_median", scaleMS(coldShow), "ms")
	}
	add("scale_case_show_open_inprocess_median", scaleMS(openMed), "ms")
	add("scale_case_show_read_inprocess_median", scaleMS(readMed), "ms")
	add("scale_tick_exec", scaleMS(tickBig), "ms")
	add("scale_tick_exec_actions", float64(bigRes.Actions), "count")
	add("scale_tick_exec_cases", float64(bigRes.Cases), "count")
	add("scale_tick_idle_exec", scaleMS(idleExec), "ms")
	add("scale_tick_inprocess", scaleMS(inBig), "ms")
	add("scale_tick_inprocess_actions", float64(inRes.Actions), "count")
	add("scale_tick_idle_inprocess", scaleMS(idleBig), "ms")
	if coldTick > 0 {
		add("scale_tick_idle_cold_exec", scaleMS(coldTick), "ms")
	}
	add("scale_tick_1case", scaleMS(tickOne), "ms")
	add("scale_tick_1case_actions", float64(oneRes.Actions), "count")
	add("scale_tick_1case_inprocess", scaleMS(inOne), "ms")
	figs = append(figs, ratio("scale_tick_per_1case", scaleMS(tickBig), scaleMS(tickOne)))
	add("scale_store_size", math.Round(float64(fi.Size())/1e5)/10, "MB")
	add("scale_store_bytes_per_case", math.Round(float64(fi.Size())/float64(big.nCases)), "bytes")
	add("scale_cases", float64(big.nCases), "count")
	add("scale_vendors_per_case", float64(scaleVendorsPerCase), "count")
	add("scale_open_cases", float64(big.openCases), "count")
	add("scale_events_per_case", math.Round(float64(big.nEvents)/float64(big.nCases)*10)/10, "count")
	add("scale_outbox_entries", float64(big.nOutbox), "count")
	add("scale_ledger_entries", float64(big.nLedger), "count")
	add("scale_build", math.Round(buildTime.Seconds()*10)/10, "s")
	return figs, nil
}

func scaleMS(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }

func scaleMedian(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// scaleExecMedian runs the binary n times (after an unmeasured warm-up
// round of the same n runs) and returns the median wall time; check, when
// set, looks at each output. With before set, it runs before each measured
// run and there is no warm-up round.
func scaleExecMedian(ctx context.Context, bin string, n int, args func(i int) []string, check func(i int, out []byte) error, before func() error) (time.Duration, error) {
	if n < 1 {
		n = 1
	}
	if before == nil {
		// Warm up: the binary, and the store pages each run reads.
		for i := range n {
			if _, _, err := scaleRunBin(ctx, bin, args(i)); err != nil {
				return 0, err
			}
		}
	}
	var ds []time.Duration
	for i := range n {
		if before != nil {
			if err := before(); err != nil {
				return 0, err
			}
		}
		d, out, err := scaleRunBin(ctx, bin, args(i))
		if err != nil {
			return 0, err
		}
		if check != nil {
			if err := check(i, out); err != nil {
				return 0, err
			}
		}
		ds = append(ds, d)
	}
	return scaleMedian(ds), nil
}

// scaleRunBin runs the binary once and returns its wall time, start to exit.
func scaleRunBin(ctx context.Context, bin string, args []string) (time.Duration, []byte, error) {
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	t0 := time.Now()
	err := cmd.Run()
	d := time.Since(t0)
	if err != nil {
		return 0, nil, fmt.Errorf("coordbot %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return d, out.Bytes(), nil
}

func scaleExecTick(ctx context.Context, bin string, w *scaleWorld, now time.Time) (time.Duration, desk.TickResult, error) {
	d, out, err := scaleRunBin(ctx, bin, []string{"tick", "--now", now.Format(time.RFC3339), "--config", w.cfgPath})
	if err != nil {
		return 0, desk.TickResult{}, err
	}
	var res desk.TickResult
	if _, err := fmt.Sscanf(string(out), "%d cases, %d actions", &res.Cases, &res.Actions); err != nil {
		return 0, res, fmt.Errorf("tick printed %q: %w", out, err)
	}
	return d, res, nil
}

// scaleTickInProcess opens the store as the CLI does and runs Desk.Tick at now
// twice: the first pass does the work, the second finds nothing new.
func scaleTickInProcess(w *scaleWorld, now time.Time, profile string) (first time.Duration, res desk.TickResult, idle time.Duration, err error) {
	cfg, err := config.Load(w.cfgPath)
	if err != nil {
		return 0, res, 0, err
	}
	st, err := store.Open(cfg.StorePath(), store.Options{})
	if err != nil {
		return 0, res, 0, err
	}
	defer st.Close()
	d := desk.New(st, cfg, slog.New(slog.DiscardHandler))
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return 0, res, 0, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return 0, res, 0, err
		}
	}
	t0 := time.Now()
	res, err = d.Tick(now)
	first = time.Since(t0)
	if profile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return 0, res, 0, err
	}
	t0 = time.Now()
	again, err := d.Tick(now)
	idle = time.Since(t0)
	if err != nil {
		return 0, res, 0, err
	}
	if again.Actions != 0 {
		return 0, res, 0, fmt.Errorf("a second pass at the same instant did %d actions", again.Actions)
	}
	w.queued, err = w.newOutbox(st)
	return first, res, idle, err
}

// newOutbox counts, by kind, the outbox entries queued since the last call.
func (w *scaleWorld) newOutbox(st *store.Store) (map[string]int, error) {
	kinds := map[string]int{}
	err := st.View(func(tx *store.Tx) error {
		for {
			e, err := tx.OutboxEntry(w.seqMark + 1)
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			w.seqMark++
			if e.State == store.OutQueued {
				kinds[e.Kind]++
			}
		}
	})
	return kinds, err
}

// newOutboxFile is newOutbox on the closed store.
func (w *scaleWorld) newOutboxFile() (map[string]int, error) {
	st, err := store.Open(w.dbPath, store.Options{})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return w.newOutbox(st)
}

// scaleShowInProcess splits case show: config and store opening, then reading
// the case with its vendors and events and encoding it.
func scaleShowInProcess(w *scaleWorld, ids []string) (open, read time.Duration, err error) {
	var opens, reads []time.Duration
	for _, id := range ids {
		t0 := time.Now()
		cfg, err := config.Load(w.cfgPath)
		if err != nil {
			return 0, 0, err
		}
		// Read-only, as case show opens it.
		st, err := store.Open(cfg.StorePath(), store.Options{ReadOnly: true})
		if err != nil {
			return 0, 0, err
		}
		t1 := time.Now()
		err = st.View(func(tx *store.Tx) error {
			c, err := tx.Case(id)
			if err != nil {
				return err
			}
			parts, err := tx.Participations(id)
			if err != nil {
				return err
			}
			evs, err := tx.Events(id)
			if err != nil {
				return err
			}
			_, err = json.Marshal(map[string]any{"id": c.ID, "title": c.Title, "state": c.State, "vendors": parts, "events": evs})
			return err
		})
		t2 := time.Now()
		st.Close()
		if err != nil {
			return 0, 0, err
		}
		opens = append(opens, t1.Sub(t0))
		reads = append(reads, t2.Sub(t1))
	}
	return scaleMedian(opens), scaleMedian(reads), nil
}

// --- the store ---

// scaleShared is what both stores share: the clock, the coordinator key and
// the vendor registry (keys are slow to make, so they are made once).
type scaleShared struct {
	root          string
	now, lastPass time.Time
	coordKeyFile  string
	coordFpr      string
	vendors       []*store.Vendor
}

func newScaleShared(root string, now time.Time) (*scaleShared, error) {
	s := &scaleShared{root: root, now: now, lastPass: now.Add(-scaleDay)}
	made := now.Add(-time.Hour)
	ck, err := keys.Generate("Coordinator", scaleCoord1, keys.GenOptions{}, made)
	if err != nil {
		return nil, err
	}
	arm, err := keys.ArmoredPublic(ck)
	if err != nil {
		return nil, err
	}
	s.coordKeyFile = filepath.Join(root, "coord.asc")
	s.coordFpr = keys.Fingerprint(ck)
	if err := os.WriteFile(s.coordKeyFile, arm, 0o600); err != nil {
		return nil, err
	}
	s.vendors, err = scaleVendors(rand.New(rand.NewPCG(7, 11)), scaleVendorCount, made)
	return s, err
}

// scaleWorld is one store with its configuration.
type scaleWorld struct {
	dir, cfgPath, dbPath string
	showIDs              []string
	// evCount is the number of events written per sampled case.
	evCount                           map[string]int
	nCases, nEvents, nOutbox, nLedger int
	openCases                         int
	// seqMark is the last outbox entry looked at; queued counts by kind
	// what the last in-process pass queued.
	seqMark uint64
	queued  map[string]int
	// What was written, for the log.
	outKinds              map[string]int
	outBytes, ledgerBytes int
	stuck                 int
	states                map[string]int
}

func (w *scaleWorld) checkShow(id string, out []byte) error {
	var got struct {
		ID      string            `json:"id"`
		Vendors []json.RawMessage `json:"vendors"`
		Events  []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		return fmt.Errorf("case show %s: %w", id, err)
	}
	// Scheduler passes may have added events since the store was built.
	if got.ID != id || len(got.Vendors) != scaleVendorsPerCase || len(got.Events) < w.evCount[id] {
		return fmt.Errorf("case show %s returned %s with %d vendors and %d events, want %d and at least %d",
			id, got.ID, len(got.Vendors), len(got.Events), scaleVendorsPerCase, w.evCount[id])
	}
	return nil
}

// checkTick: the pass visited every open case and did real work: at least
// reminders to silent vendors (and, on the big store, an unreachable
// proposal and a one-year notice to the coordinators, when it has enough
// stuck cases for the ones placed to fall due). Small stores (tests) may
// have nothing due.
func (w *scaleWorld) checkTick(res desk.TickResult, kinds map[string]int, coord bool) error {
	if res.Cases != w.openCases {
		return fmt.Errorf("pass visited %d cases, the store has %d open", res.Cases, w.openCases)
	}
	if w.nCases > 1 && w.openCases < 100 {
		return nil
	}
	if res.Actions == 0 || kinds[desk.KindReminder] == 0 {
		return fmt.Errorf("pass did %d actions, queued %v: reminders were expected", res.Actions, kinds)
	}
	if coord && (kinds[desk.KindUnreachableNotice] == 0 || kinds[desk.KindYearNotice] == 0) {
		return fmt.Errorf("pass queued %v: unreachable proposals and a one-year notice were expected", kinds)
	}
	return nil
}

func buildScaleWorld(ctx context.Context, bin, dir string, sh *scaleShared, nCases int, logf func(string, ...any)) (*scaleWorld, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	w := &scaleWorld{dir: dir, cfgPath: filepath.Join(dir, "coordbot.toml"), evCount: map[string]int{}, outKinds: map[string]int{}, states: map[string]int{}}
	cfgText := fmt.Sprintf(`[bot]
address = %q
name = "coordbot"
data_dir = %q
timezone = "Asia/Tokyo"
[imap]
address = "127.0.0.1:1"
security = "none"
[smtp]
address = "127.0.0.1:1"
security = "none"
[pgp]
key_file = %q
[[coordinator]]
address = %q
fingerprint = %q
key_file = %q
[[coordinator]]
address = %q
`, scaleBotAddr, filepath.Join(dir, "data"), filepath.Join(dir, "robot.asc"), scaleCoord1, sh.coordFpr, sh.coordKeyFile, scaleCoord2)
	if err := os.WriteFile(w.cfgPath, []byte(cfgText), 0o600); err != nil {
		return nil, err
	}
	// init makes the robot key and the empty store, as an operator would.
	if _, out, err := scaleRunBin(ctx, bin, []string{"init", "--config", w.cfgPath}); err != nil {
		return nil, err
	} else if !bytes.Contains(out, []byte("wrote robot key")) {
		return nil, fmt.Errorf("init printed %q", out)
	}
	cfg, err := config.Load(w.cfgPath)
	if err != nil {
		return nil, err
	}
	w.dbPath = cfg.StorePath()
	st, err := store.Open(w.dbPath, store.Options{})
	if err != nil {
		return nil, err
	}
	defer st.Close()

	pol := schedule.DefaultPolicy(cfg.Location())
	pol.FirstReminder = cfg.Policy.FirstReminder.Duration
	pol.ReminderEvery = cfg.Policy.ReminderEvery.Duration
	pol.UnreachableAfterMonths = cfg.Policy.UnreachableAfterMonths
	pol.StageMonths = cfg.Policy.StageMonths
	g := &scaleGen{
		rng: rand.New(rand.NewPCG(uint64(nCases), 42)), pol: pol, loc: cfg.Location(),
		now: sh.now, lastPass: sh.lastPass, vendors: sh.vendors, w: w,
		pubDays: cfg.Policy.PublicationDays, coords: []string{scaleCoord1, scaleCoord2},
	}
	g.pool = scaleRandomPool(g.rng, 256<<10)
	g.to = map[string][]string{}
	for _, v := range sh.vendors {
		if v.Registration != store.RegPending {
			g.registered = append(g.registered, v)
		}
		for _, ct := range v.Contacts {
			if !ct.Public {
				g.to[v.ID] = append(g.to[v.ID], ct.Addr)
			}
		}
	}
	if err := st.Update(func(tx *store.Tx) error {
		for _, v := range sh.vendors {
			if err := tx.PutVendor(v); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	plans := g.planCases(nCases)
	for b := 0; b < len(plans); b += scaleBatch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		end := min(b+scaleBatch, len(plans))
		if err := st.Update(func(tx *store.Tx) error {
			for _, cp := range plans[b:end] {
				if err := g.writeCase(tx, cp); err != nil {
					return fmt.Errorf("case %s: %w", cp.id, err)
				}
			}
			return nil
		}); err != nil {
			return nil, err
		}
		if b%(scaleBatch*20) == 0 && b > 0 {
			logf("%s: %d/%d cases", filepath.Base(dir), b, len(plans))
		}
	}
	if err := st.Update(func(tx *store.Tx) error {
		if err := tx.PutCursor("INBOX", store.Cursor{UIDValidity: 1, LastUID: g.uid}); err != nil {
			return err
		}
		// A desk that ran through those years pruned the rate-limit index
		// every hour: it holds the last two hours, not every notice ever
		// sent, which the first pass timed would otherwise prune.
		n, err := tx.PruneRecent(sh.lastPass.Add(-2 * time.Hour))
		logf("%s: rate-limit index pruned as a running desk would have: %d keys", filepath.Base(dir), n)
		return err
	}); err != nil {
		return nil, err
	}
	w.nCases = len(plans)
	logf("%s: cases by state %v; outbox by kind %v; outbox raw %.1f MB, ledger raw %.1f MB", filepath.Base(dir), w.states, w.outKinds,
		float64(w.outBytes)/1e6, float64(w.ledgerBytes)/1e6)
	w.seqMark = uint64(w.nOutbox)
	// case show samples: spread over the store, every state.
	n := min(scaleSamples, len(plans))
	for i := range n {
		w.showIDs = append(w.showIDs, plans[(i*len(plans))/n+len(plans)/(2*n)].id)
	}
	return w, nil
}

// --- generation ---

type scaleKind int

const (
	scaleDraft scaleKind = iota
	scaleActive
	scaleScheduled
	scalePublished
	scaleClosed
	scaleCancelled
)

type scaleCasePlan struct {
	id      string
	kind    scaleKind
	created time.Time
	start   time.Time // 起算日 (zero for drafts)
	pub     time.Time // publication (scheduled, published, closed)
	ended   time.Time // cancelled or closed
	long    bool
}

type scaleGen struct {
	rng           *rand.Rand
	pool          []byte
	pol           schedule.Policy
	loc           *time.Location
	now, lastPass time.Time
	vendors       []*store.Vendor
	registered    []*store.Vendor
	to            map[string][]string // vendor → private contacts
	coords        []string
	pubDays       int
	w             *scaleWorld
	uid           uint32
	did           int
}

func (g *scaleGen) between(a, b time.Duration) time.Duration {
	if b <= a {
		return a
	}
	return a + time.Duration(g.rng.Int64N(int64(b-a)))
}

// planCases decides every case's state and dates, oldest first.
func (g *scaleGen) planCases(n int) []scaleCasePlan {
	now := g.now
	plans := make([]scaleCasePlan, 0, n)
	seen := map[string]bool{}
	span := 5 * 365 * scaleDay
	stuck := 0
	scheduled := 0
	for i := range n {
		p := scaleCasePlan{created: now.Add(-span + time.Duration(int64(span-scaleDay)/int64(n)*int64(i)))}
		for {
			p.id = fmt.Sprintf("JVNVU#%08d", 10000000+g.rng.IntN(90000000))
			if !seen[p.id] {
				seen[p.id] = true
				break
			}
		}
		age := now.Sub(p.created)
		switch {
		case n == 1:
			// The baseline: one active case whose silent vendors get their
			// first reminder in the measured window.
			p.kind = scaleActive
			p.start = now.Add(-g.pol.FirstReminder - 12*time.Hour)
			p.created = p.start.Add(-2 * time.Hour)
		case i >= n-max(1, n/500):
			p.kind = scaleDraft
		case age <= 45*scaleDay:
			p.kind = scaleActive
		case age <= 65*scaleDay:
			p.kind = scaleScheduled
			p.pub = now.Add(g.between(2*scaleDay, 30*scaleDay))
			switch scheduled {
			case 0: // T-7d reminders due in the measured window
				p.pub = now.Add(7*scaleDay - 12*time.Hour)
			case 1: // and in the next day's
				p.pub = now.Add(8*scaleDay - 12*time.Hour)
			case 2: // T-1d
				p.pub = now.Add(scaleDay - 12*time.Hour)
			}
			scheduled++
		case i%50 == 7 && age <= 425*scaleDay:
			p.kind = scaleActive
			// A one-year notice and unreachable proposals due in the
			// measured window, and in the next day's.
			switch stuck {
			case 0:
				p.start = schedule.AddMonths(now.Add(-12*time.Hour), -11, g.loc)
			case 1:
				p.start = schedule.AddMonths(now.Add(12*time.Hour), -11, g.loc)
			case 2:
				p.start = schedule.AddMonths(now.Add(-12*time.Hour), -g.pol.UnreachableAfterMonths, g.loc)
			case 3:
				p.start = schedule.AddMonths(now.Add(12*time.Hour), -g.pol.UnreachableAfterMonths, g.loc)
			}
			if !p.start.IsZero() {
				p.created = p.start.Add(-2 * time.Hour)
			}
			stuck++
		default:
			p.kind = scalePublished
			p.start = p.created.Add(2 * time.Hour)
			if i%20 == 3 {
				p.long = true
				p.pub = p.start.Add(g.between(180*scaleDay, 365*scaleDay))
			} else {
				p.pub = p.start.Add(time.Duration(g.pubDays)*scaleDay + g.between(-10*scaleDay, 20*scaleDay))
			}
			if p.pub.After(now.Add(-2 * scaleDay)) {
				p.long = false
				p.pub = p.start.Add(time.Duration(g.pubDays) * scaleDay)
			}
			switch {
			case i%33 == 5:
				p.kind = scaleCancelled
				p.ended = p.start.Add(g.between(10*scaleDay, 30*scaleDay))
				p.pub = time.Time{}
			case p.pub.Before(now.Add(-90*scaleDay)) && i%10 != 4:
				p.kind = scaleClosed
				p.ended = p.pub.Add(g.between(30*scaleDay, 90*scaleDay))
			}
		}
		if p.kind != scaleDraft && p.start.IsZero() {
			p.start = p.created.Add(2 * time.Hour)
		}
		plans = append(plans, p)
	}
	g.w.stuck = stuck
	return plans
}

// vendor fate: what the vendor would do, if the case lasted long enough.
type scaleFate struct {
	answer       time.Duration // 0: never answers
	yes          bool
	status       time.Duration // after the detail; 0: never reports
	final        string
	second       time.Duration // a later status update; 0: none
	autoReply    bool
	encryptedAns bool
}

func (g *scaleGen) newFate() scaleFate {
	var f scaleFate
	f.autoReply = g.rng.Float64() < 0.05
	if g.rng.Float64() < 0.08 {
		return f
	}
	f.answer = time.Hour + min(time.Duration(g.rng.ExpFloat64()*float64(3*scaleDay)), 30*scaleDay)
	f.yes = g.rng.Float64() < 0.6
	f.encryptedAns = g.rng.Float64() < 0.3
	if !f.yes || g.rng.Float64() < 0.1 {
		return f
	}
	f.status = 2*scaleDay + min(time.Duration(g.rng.ExpFloat64()*float64(7*scaleDay)), 60*scaleDay)
	switch r := g.rng.Float64(); {
	case r < 0.55:
		f.final = store.StatusAffected
	case r < 0.85:
		f.final = store.StatusNotAffected
	case r < 0.95:
		f.final = store.StatusAffectedInvestigating
	default:
		f.final = store.StatusNotAffectedInvestigating
	}
	if g.rng.Float64() < 0.25 {
		f.second = scaleDay + time.Duration(g.rng.ExpFloat64()*float64(10*scaleDay))
	}
	return f
}

// caseRec collects one case's records before they are written.
type scaleCaseRec struct {
	c      *store.Case
	parts  []*store.Participation
	evs    []store.Event
	out    []*store.OutboxEntry
	ledger []scaleLedgerRec
}

type scaleLedgerRec struct {
	e   *store.LedgerEntry
	raw []byte
}

func (r *scaleCaseRec) event(t time.Time, actor, kind, vendor, msgID, summary string, auth bool) {
	r.evs = append(r.evs, store.Event{Time: t, Actor: actor, Kind: kind, Vendor: vendor, MessageID: msgID, Summary: summary, Authenticated: auth})
}

func (g *scaleGen) writeCase(tx *store.Tx, cp scaleCasePlan) error {
	r := &scaleCaseRec{}
	c := g.newCase(cp)
	r.c = c
	r.event(cp.created, process.ActorCLI, process.EvCaseCreated, "", "", "case created", false)

	// The horizon: where the vendors' story stops.
	horizon := g.lastPass
	switch cp.kind {
	case scalePublished, scaleClosed:
		horizon = cp.pub
	case scaleCancelled:
		horizon = cp.ended
	}
	pool := g.registered
	if cp.kind == scaleActive || cp.kind == scaleDraft {
		pool = g.vendors
	}
	picks := g.rng.Perm(len(pool))[:scaleVendorsPerCase]
	var dateSet time.Time
	if !cp.pub.IsZero() {
		dateSet = cp.start.Add(g.between(15*scaleDay, 30*scaleDay))
		if cp.long {
			dateSet = cp.pub.Add(-30 * scaleDay)
		}
		if dateSet.After(g.lastPass) {
			dateSet = g.lastPass.Add(-time.Hour)
		}
	}
	for j, k := range picks {
		v := pool[k]
		p := &store.Participation{Case: c.ID, Vendor: v.ID, State: store.PartNew, Added: cp.created.Add(time.Duration(j+1) * time.Second)}
		r.parts = append(r.parts, p)
		r.event(p.Added, process.ActorCLI, process.EvVendorAdded, v.ID, "", "vendor "+v.ID+" added", false)
		if cp.kind == scaleDraft {
			continue
		}
		g.vendorStory(r, cp, v, p, g.newFate(), horizon, dateSet)
	}
	if !dateSet.IsZero() && dateSet.Before(horizon) {
		r.event(dateSet, process.ActorCLI, process.EvDateSet, "", "", "publication date set", false)
	}
	switch cp.kind {
	case scalePublished, scaleClosed:
		r.event(cp.pub, process.ActorCLI, process.EvPublished, "", "", "published", false)
		for _, p := range r.parts {
			if scaleInformed(p) {
				g.notice(r, cp.pub, process.KindPublication, p.Vendor, 2500, 3200, false)
			}
		}
		if cp.kind == scaleClosed {
			r.event(cp.ended, process.ActorCLI, process.EvClosed, "", "", "closed", false)
		}
	case scaleCancelled:
		reason := []string{"known", "users-notified"}[g.rng.IntN(2)]
		c.CancelReason = reason
		r.event(cp.ended, process.ActorCLI, process.EvCancelled, "", "", "cancelled: "+reason, false)
		for _, p := range r.parts {
			if scaleInformed(p) {
				g.notice(r, cp.ended, process.KindCancellation, p.Vendor, 2500, 3000, false)
			}
		}
		closed := cp.ended.Add(30 * scaleDay)
		if closed.Before(g.lastPass) {
			c.State = store.CaseClosed
			r.event(closed, process.ActorCLI, process.EvClosed, "", "", "closed", false)
		}
	}

	// Write: the case, its vendors, the trail in time order, the outbox in
	// time order, the ledger.
	sort.SliceStable(r.evs, func(i, j int) bool { return r.evs[i].Time.Before(r.evs[j].Time) })
	sort.SliceStable(r.out, func(i, j int) bool { return r.out[i].Created.Before(r.out[j].Created) })
	if len(r.evs) > 0 {
		c.Updated = r.evs[len(r.evs)-1].Time
	}
	g.w.states[c.State]++
	if err := tx.PutCase(c); err != nil {
		return err
	}
	for _, p := range r.parts {
		if err := tx.PutParticipation(p); err != nil {
			return err
		}
	}
	for _, e := range r.evs {
		if _, err := tx.AddEvent(c.ID, e); err != nil {
			return err
		}
	}
	for _, e := range r.out {
		g.w.outKinds[e.Kind]++
		g.w.outBytes += len(e.Raw)
		if err := tx.Enqueue(e); err != nil {
			return err
		}
	}
	for _, l := range r.ledger {
		g.w.ledgerBytes += len(l.raw)
		if err := tx.PutLedger(l.e, l.raw); err != nil {
			return err
		}
	}
	// The scheduler's pass of the day before: its keys are recorded, and
	// what it alone would have sent (one-year notices) is in the trail.
	if c.State != store.CaseClosed && c.State != store.CaseCancelled && c.State != store.CaseDraft {
		g.w.openCases++
		n, err := g.previousPass(tx, r)
		if err != nil {
			return err
		}
		g.w.nEvents += n
		g.w.evCount[c.ID] += n
	}
	g.w.nEvents += len(r.evs)
	g.w.nOutbox += len(r.out)
	g.w.nLedger += len(r.ledger)
	g.w.evCount[c.ID] += len(r.evs)
	return nil
}

// previousPass runs the scheduler's rules at lastPass and records every due
// action as done, as the daily pass of the day before did.
func (g *scaleGen) previousPass(tx *store.Tx, r *scaleCaseRec) (int, error) {
	var states []schedule.VendorState
	for _, p := range r.parts {
		v, err := tx.Vendor(p.Vendor)
		if err != nil {
			return 0, err
		}
		st := schedule.VendorState{Vendor: v, Part: p, AnsweredAt: p.LastInbound, AllContactsTried: p.State != store.PartNew}
		for _, e := range r.evs {
			switch {
			case e.Vendor != p.Vendor:
			case e.Kind == desk.EvUnreachableStage:
				st.StageAppliedAt = e.Time
			case e.Kind == process.EvRegistrationRequested:
				st.RegistrationRequestedAt = e.Time
			}
		}
		states = append(states, st)
	}
	n := 0
	for _, a := range schedule.Due(g.lastPass, g.pol, r.c, states, tx.Keyed) {
		if a.Kind == schedule.KindElevenMonths || a.Kind == schedule.KindOneYear {
			n++
			if _, err := tx.AddEvent(r.c.ID, store.Event{Time: a.Due, Actor: "scheduler", Kind: desk.EvOneYear, Summary: a.Reason}); err != nil {
				return 0, err
			}
		}
		if err := tx.PutKeyed(a.Key, g.lastPass); err != nil {
			return 0, err
		}
	}
	return n, nil
}

func scaleInformed(p *store.Participation) bool {
	switch p.State {
	case store.PartOverviewSent, store.PartDetailRequested, store.PartDetailHeld, store.PartDetailSent, store.PartNoProduct:
		return true
	}
	return false
}

// vendorStory plays one vendor's part up to the horizon.
func (g *scaleGen) vendorStory(r *scaleCaseRec, cp scaleCasePlan, v *store.Vendor, p *store.Participation, f scaleFate, horizon, dateSet time.Time) {
	s := cp.start
	keyed := len(v.Keys) > 0
	if v.Registration == store.RegPending {
		p.State = store.PartRegistrationRequested
		r.event(s, process.ActorCLI, process.EvRegistrationRequested, v.ID, "", "registration requested", false)
		g.notice(r, s, process.KindRegistration, v.ID, 3000, 3500, false)
		g.reminders(r, p, s, g.unreachableTrack(r, p, s, horizon))
		return
	}
	p.State = store.PartOverviewSent
	p.OverviewSent = s
	r.event(s, process.ActorCLI, process.EvOverviewSent, v.ID, "", "overview queued", false)
	g.notice(r, s, process.KindOverview, v.ID, 3500, 4500, keyed)
	if f.autoReply && s.Add(time.Minute).Before(horizon) {
		at := s.Add(time.Minute)
		id := g.inbound(r, at, v, false, store.OutcomeAutoReply, 1500, 2500)
		r.event(at, process.ActorRobot, process.EvAutoReply, v.ID, id, "auto-reply recorded", false)
	}
	answer := s.Add(f.answer)
	if f.answer == 0 || !answer.Before(horizon) {
		g.reminders(r, p, s, g.unreachableTrack(r, p, s, horizon))
		return
	}
	g.reminders(r, p, s, answer)
	auth := keyed && f.encryptedAns
	id := g.inbound(r, answer, v, f.encryptedAns, store.OutcomeApplied, 2500, 6000)
	p.LastInbound = answer
	if !f.yes {
		p.State = store.PartNoProduct
		r.event(answer, v.ID, process.EvNoProduct, v.ID, id, "vendor has no such product", auth)
		g.notice(r, answer, process.KindAck, v.ID, 2500, 3500, keyed)
		return
	}
	p.State = store.PartDetailRequested
	r.event(answer, v.ID, process.EvDetailRequested, v.ID, id, "vendor asks for the detail", auth)
	g.notice(r, answer, process.KindAck, v.ID, 2500, 3500, keyed)
	if !keyed {
		p.State = store.PartDetailHeld
		r.event(answer, process.ActorRobot, process.EvDetailHeld, v.ID, "", "no usable OpenPGP key: detail held", false)
		g.coordNotice(r, answer, process.KindDetailHeldNote)
		return
	}
	p.State = store.PartDetailSent
	p.DetailSent = answer
	p.Status = store.StatusInfoProvided
	r.event(answer, process.ActorRobot, process.EvDetailSent, v.ID, "", "detail queued", false)
	att := 0
	for _, a := range r.c.Attach {
		att += len(a.Data) * 4 / 3
	}
	g.notice(r, answer, process.KindDetail, v.ID, 6000+att, 9000+att, true)
	if !dateSet.IsZero() && dateSet.After(answer) && dateSet.Before(horizon) {
		g.notice(r, dateSet, process.KindDate, v.ID, 3000, 4000, true)
	}
	status := answer.Add(f.status)
	if f.status == 0 || !status.Before(horizon) {
		g.reminders(r, p, answer, horizon)
		return
	}
	g.reminders(r, p, answer, status)
	g.statusReport(r, v, p, status, f.final, f.encryptedAns)
	if f.second > 0 && (f.final == store.StatusAffectedInvestigating || f.final == store.StatusNotAffectedInvestigating) {
		if at := status.Add(f.second); at.Before(horizon) {
			final := store.StatusAffected
			if f.final == store.StatusNotAffectedInvestigating {
				final = store.StatusNotAffected
			}
			g.statusReport(r, v, p, at, final, f.encryptedAns)
		}
	}
}

var scaleComments = []string{
	"本脆弱性の影響を受ける製品について、修正版を公開しました。",
	"当社製品は本脆弱性の影響を受けません。",
	"We have released a fixed version; see our advisory.",
	"The affected component is not shipped in any supported product.",
	"現在、影響範囲を調査しております。調査結果は追ってご報告いたします。",
}

func (g *scaleGen) statusReport(r *scaleCaseRec, v *store.Vendor, p *store.Participation, at time.Time, status string, enc bool) {
	id := g.inbound(r, at, v, enc, store.OutcomeApplied, 3000, 7000)
	p.Status = status
	p.Comment = scaleComments[g.rng.IntN(len(scaleComments))]
	p.URL = "https://www." + v.ID + ".example/security/advisories/" + strings.ToLower(strings.TrimPrefix(p.Case, "JVNVU#"))
	if status == store.StatusAffected || status == store.StatusAffectedInvestigating {
		p.FixPlan = "修正版 (version 4.2.1) への更新 / update to 4.2.1"
		p.Schedule = "2027年第2四半期 / 2027 Q2"
	}
	p.LastInbound = at
	r.event(at, v.ID, process.EvStatusReported, v.ID, id, "status: "+status, len(v.Keys) > 0 && enc)
	g.notice(r, at, process.KindAck, v.ID, 2800, 3800, len(v.Keys) > 0)
}

// reminders sends the periodic reminders due between from and until.
func (g *scaleGen) reminders(r *scaleCaseRec, p *store.Participation, from, until time.Time) {
	for t := from.Add(g.pol.FirstReminder); t.Before(until); t = t.Add(g.pol.ReminderEvery) {
		p.RemindersSent++
		r.event(t, "scheduler", desk.EvReminderSent, p.Vendor, "", fmt.Sprintf("reminder %d: no answer", p.RemindersSent), false)
		g.notice(r, t, desk.KindReminder, p.Vendor, 2800, 3600, false)
	}
}

// unreachableTrack: a vendor silent for months is proposed unreachable; the
// coordinators apply each stage a couple of days after the proposal. It
// returns when reminders stopped: stage 1 applied, else the horizon.
func (g *scaleGen) unreachableTrack(r *scaleCaseRec, p *store.Participation, s, horizon time.Time) time.Time {
	stop := horizon
	prop := schedule.AddMonths(s, g.pol.UnreachableAfterMonths, g.loc)
	for stage := 1; stage <= schedule.LastStage && prop.Before(horizon); stage++ {
		r.event(prop, "scheduler", desk.EvUnreachableProposed, "", "", fmt.Sprintf("stage %d proposed for %s", stage, p.Vendor), false)
		g.coordNotice(r, prop, desk.KindUnreachableNotice)
		applied := prop.Add(2 * scaleDay)
		if !applied.Before(horizon) {
			return stop
		}
		if stage == 1 {
			stop = applied
		}
		p.UnreachableStage = stage
		if stage == 1 {
			p.State = store.PartUnreachable
			g.did++
			p.DID = fmt.Sprintf("DID#%s%04d", applied.In(g.loc).Format("2006"), g.did)
		}
		r.event(applied, process.ActorCLI, desk.EvUnreachableStage, p.Vendor, "", fmt.Sprintf("stage %d: %s", stage, schedule.StageDescription(stage)), false)
		prop = schedule.AddMonths(applied, g.pol.StageMonths, g.loc)
	}
	return stop
}

// --- records ---

func (g *scaleGen) newCase(cp scaleCasePlan) *store.Case {
	product := scaleProducts[g.rng.IntN(len(scaleProducts))] + " " + strconv.Itoa(1+g.rng.IntN(9)) + "." + strconv.Itoa(g.rng.IntN(20))
	flaw := scaleFlaws[g.rng.IntN(len(scaleFlaws))]
	c := &store.Case{
		ID:       cp.id,
		Title:    product + " における" + flaw[0] + " (" + flaw[1] + ")",
		Overview: g.paragraphs(product, scaleOverviewParas, 3, 5),
		Detail:   g.paragraphs(product, scaleDetailParas, 8, 14),
		Keywords: []string{scaleKeywords[g.rng.IntN(len(scaleKeywords))], scaleKeywords[g.rng.IntN(len(scaleKeywords))], "cwe-" + strconv.Itoa(20+g.rng.IntN(900))},
		Reporter: "reporter-" + strconv.Itoa(g.rng.IntN(5000)) + "@research.example",
		Start:    cp.start,
		State:    store.CaseActive,
		Created:  cp.created,
		Updated:  cp.created,
	}
	if g.rng.IntN(10) == 0 {
		size := 8<<10 + g.rng.IntN(56<<10)
		c.Attach = []store.Attach{{Name: "poc.py", ContentType: "text/x-python", Data: g.slice(size)}}
	}
	if g.rng.IntN(15) == 0 {
		c.Lead = "CERT/CC VU#" + strconv.Itoa(100000+g.rng.IntN(900000))
	}
	if !cp.start.IsZero() {
		c.Target = cp.start.In(g.loc).AddDate(0, 0, g.pubDays)
	}
	c.Publication = cp.pub
	switch cp.kind {
	case scaleDraft:
		c.State = store.CaseDraft
	case scaleScheduled:
		c.State = store.CaseScheduled
	case scalePublished:
		c.State = store.CasePublished
	case scaleClosed:
		c.State = store.CaseClosed
	case scaleCancelled:
		c.State = store.CaseCancelled
	}
	return c
}

func (g *scaleGen) paragraphs(product string, from []string, lo, hi int) string {
	var b strings.Builder
	n := lo + g.rng.IntN(hi-lo+1)
	for i := range n {
		if i > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(strings.ReplaceAll(from[g.rng.IntN(len(from))], "PRODUCT", product))
	}
	b.WriteString("\n")
	return b.String()
}

// notice records one sent notice with a raw message of lo..hi bytes.
func (g *scaleGen) notice(r *scaleCaseRec, at time.Time, kind, vendor string, lo, hi int, encrypted bool) {
	r.out = append(r.out, g.outEntry(r.c.ID, at, kind, vendor, g.to[vendor], lo, hi, encrypted || kind == process.KindDetail))
}

// coordNotice records a notice to each coordinator (encrypted to the one
// with a key).
func (g *scaleGen) coordNotice(r *scaleCaseRec, at time.Time, kind string) {
	for i, co := range g.coords {
		r.out = append(r.out, g.outEntry(r.c.ID, at, kind, "", []string{co}, 2500, 3500, i == 0))
	}
}

func (g *scaleGen) outEntry(caseID string, at time.Time, kind, vendor string, to []string, lo, hi int, encrypted bool) *store.OutboxEntry {
	var rb [8]byte
	for i := range rb {
		rb[i] = byte(g.rng.IntN(256))
	}
	msgID := "coordbot." + kind + "." + strings.ReplaceAll(caseID, "#", "") + "." + hex.EncodeToString(rb[:]) + "@cert.example"
	size := lo + g.rng.IntN(hi-lo+1)
	var h bytes.Buffer
	fmt.Fprintf(&h, "From: coordbot <%s>\r\nTo: %s\r\nSubject: [%s] %s\r\nDate: %s\r\nMessage-ID: <%s>\r\nMIME-Version: 1.0\r\nAuto-Submitted: auto-generated\r\nX-Loop: %s\r\n",
		scaleBotAddr, strings.Join(to, ", "), caseID, kind, at.Format(time.RFC1123Z), msgID, scaleBotAddr)
	if encrypted {
		h.WriteString("Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--b1\r\nContent-Type: application/octet-stream\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n\r\n")
	} else {
		h.WriteString("Content-Type: multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\"; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	}
	raw := append(h.Bytes(), g.slice(max(size-h.Len(), 256))...)
	return &store.OutboxEntry{MessageID: msgID, Case: caseID, Vendor: vendor, Kind: kind, From: scaleBotAddr, To: to, Raw: raw,
		Encrypted: encrypted, Created: at, Attempts: 1, State: store.OutSent, SentAt: at.Add(time.Duration(2+g.rng.IntN(60)) * time.Second)}
}

// inbound records one message from a vendor in the ledger and returns its
// Message-ID.
func (g *scaleGen) inbound(r *scaleCaseRec, at time.Time, v *store.Vendor, encrypted bool, outcome string, lo, hi int) string {
	g.uid++
	id := fmt.Sprintf("%d.%d@mail.%s.example", at.Unix(), g.uid, v.ID)
	var b bytes.Buffer
	fmt.Fprintf(&b, "Received: from mail.%s.example (mail.%s.example [192.0.2.%d]) by mx.cert.example with ESMTPS id %X; %s\r\n",
		v.ID, v.ID, g.uid%250+1, g.uid, at.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "From: PSIRT <%s>\r\nTo: %s\r\nSubject: Re: [%s] overview\r\nDate: %s\r\nMessage-ID: <%s>\r\nMIME-Version: 1.0\r\n",
		v.Contacts[0].Addr, scaleBotAddr, r.c.ID, at.Format(time.RFC1123Z), id)
	size := lo + g.rng.IntN(hi-lo+1)
	if encrypted {
		b.WriteString("Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"e\"\r\n\r\n--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--e\r\nContent-Type: application/octet-stream\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n\r\n")
		b.Write(g.slice(max(size-b.Len(), 256)))
	} else {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		b.WriteString("お世話になっております。\r\n\r\n詳細情報の請求: はい\r\n\r\n")
		for _, l := range strings.Split(r.c.Overview, "\n") {
			if b.Len() >= size {
				break
			}
			b.WriteString("> " + l + "\r\n")
		}
	}
	raw := b.Bytes()
	sum := sha256.Sum256(raw)
	e := &store.LedgerEntry{Hash: hex.EncodeToString(sum[:]), MessageID: id, Mailbox: "INBOX", UIDValid: 1, UID: g.uid, Time: at,
		From: v.Contacts[0].Addr, Case: r.c.ID, Vendor: v.ID, Outcome: outcome, Dest: "Processed", Encrypted: encrypted}
	if encrypted && len(v.Keys) > 0 {
		e.SignedBy, e.Authenticated = v.Keys[0].Fingerprint, true
	}
	r.ledger = append(r.ledger, scaleLedgerRec{e: e, raw: raw})
	return id
}

// randomPool is base64 text in 76-character lines: the body of armored or
// base64 parts, and attachment data.
func scaleRandomPool(rng *rand.Rand, n int) []byte {
	bin := make([]byte, n*3/4)
	for i := range bin {
		bin[i] = byte(rng.Uint32())
	}
	enc := base64.StdEncoding.EncodeToString(bin)
	var b bytes.Buffer
	for len(enc) > 0 {
		k := min(76, len(enc))
		b.WriteString(enc[:k] + "\r\n")
		enc = enc[k:]
	}
	return b.Bytes()
}

// slice returns n bytes of the pool from a random offset (n may exceed the
// pool: then it repeats).
func (g *scaleGen) slice(n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		off := g.rng.IntN(len(g.pool) / 2)
		out = append(out, g.pool[off:min(len(g.pool), off+n-len(out))]...)
	}
	return out
}

// scaleVendors makes the registry: contacts, keys for three in four,
// keywords, languages, a few pending registrations and failing addresses.
func scaleVendors(rng *rand.Rand, n int, made time.Time) ([]*store.Vendor, error) {
	var out []*store.Vendor
	for i := range n {
		base := scaleVendorStems[i%len(scaleVendorStems)]
		id := fmt.Sprintf("%s-%03d", base, i)
		v := &store.Vendor{ID: id, Name: strings.ToUpper(base[:1]) + base[1:] + " " + scaleVendorForms[rng.IntN(len(scaleVendorForms))],
			Registration: store.RegGeneral, Lang: "ja", Created: made.Add(-time.Duration(rng.IntN(2000)) * scaleDay), Updated: made}
		v.Updated = v.Created
		switch r := rng.Float64(); {
		case r < 0.05:
			v.Registration = store.RegPending
		case r < 0.15:
			v.Registration = store.RegIndividual
			v.Manager = "山田 太郎"
		}
		if rng.Float64() < 0.3 {
			v.Lang = "en"
		}
		v.Contacts = []store.Contact{{Addr: "psirt@" + id + ".example"}}
		if rng.Float64() < 0.3 {
			v.Contacts = append(v.Contacts, store.Contact{Addr: "security@" + id + ".example"})
		}
		if rng.Float64() < 0.05 {
			v.Contacts = append(v.Contacts, store.Contact{Addr: "users@lists." + id + ".example", Public: true})
		}
		if rng.Float64() < 0.03 {
			v.Contacts[0].Failing = true
			v.Contacts[0].FailingNote = "550 5.1.1 User unknown"
			v.Contacts[0].FailingAt = made.Add(-30 * scaleDay)
		}
		if rng.Float64() < 0.1 {
			v.Community = true
		}
		if rng.Float64() < 0.5 {
			v.Postal = "東京都千代田区" + strconv.Itoa(1+rng.IntN(9)) + "-" + strconv.Itoa(1+rng.IntN(20))
			v.Phone = "+81-3-" + strconv.Itoa(1000+rng.IntN(9000)) + "-" + strconv.Itoa(1000+rng.IntN(9000))
		}
		for range 3 + rng.IntN(4) {
			v.Keywords = append(v.Keywords, scaleKeywords[rng.IntN(len(scaleKeywords))])
		}
		if rng.Float64() < 0.75 {
			e, err := keys.Generate(v.Name, v.Contacts[0].Addr, keys.GenOptions{}, made)
			if err != nil {
				return nil, err
			}
			arm, err := keys.ArmoredPublic(e)
			if err != nil {
				return nil, err
			}
			v.Keys = []store.Key{{Fingerprint: keys.Fingerprint(e), Armored: string(arm), Added: made}}
		}
		out = append(out, v)
	}
	return out, nil
}

var scaleVendorStems = []string{"acme", "globex", "initech", "umbrella", "hooli", "vandelay", "stark", "wayne", "tyrell", "cyberdyne",
	"soylent", "wonka", "gringotts", "oscorp", "aperture", "blackmesa", "massive", "nakatomi", "yoyodyne", "zorg",
	"kanto-denki", "hokuriku-soft", "sakura-net", "fuji-systems", "kansai-data", "tohoku-works", "mirai-labs", "nagoya-iot"}

var scaleVendorForms = []string{"Corporation", "Inc.", "株式会社", "Co., Ltd.", "Project", "GmbH"}

var scaleKeywords = []string{"tls", "http", "router", "firmware", "camera", "nas", "printer", "vpn", "wordpress", "plugin",
	"openssl", "iot", "scada", "plc", "android", "ios", "browser", "cms", "ssh", "dns", "xml", "json", "image", "pdf"}

var scaleProducts = []string{"SecureGate VPN", "WebCMS Pro", "NetCam HD", "HomeRouter AX", "DataVault NAS", "PrintHub",
	"SmartPLC", "MailWeb", "PhotoShare", "FormBuilder プラグイン", "業務管理システム", "IoT ゲートウェイ"}

var scaleFlaws = [][2]string{{"クロスサイトスクリプティングの脆弱性", "CWE-79"}, {"OS コマンドインジェクションの脆弱性", "CWE-78"},
	{"SQL インジェクションの脆弱性", "CWE-89"}, {"パストラバーサルの脆弱性", "CWE-22"}, {"認証回避の脆弱性", "CWE-287"},
	{"バッファオーバーフローの脆弱性", "CWE-120"}, {"クロスサイトリクエストフォージェリの脆弱性", "CWE-352"}}

var scaleOverviewParas = []string{
	"PRODUCT には、細工されたリクエストを処理する際に入力値の検証が不十分な問題が存在します。この問題を悪用されると、遠隔の第三者によって任意のコードを実行される可能性があります。",
	"PRODUCT contains an input validation flaw in the processing of crafted requests. A remote attacker may execute arbitrary code on the affected device by exploiting this issue.",
	"本脆弱性は報告者により調整機関へ届け出られたものです。現時点で本脆弱性を悪用した攻撃は確認されていません。開発者の皆様には、該当製品の有無についてご回答をお願いいたします。",
	"The reporter notified the coordinator of this issue. No exploitation in the wild is known at this time. Please tell us whether your products are affected.",
	"影響を受けるバージョンは PRODUCT およびそれ以前の全てのバージョンと考えられます。設定によっては認証を必要とせずに攻撃が可能です。",
	"All versions up to and including PRODUCT are believed to be affected. Depending on the configuration, no authentication is needed to exploit it.",
}

var scaleDetailParas = []string{
	"PRODUCT の管理画面は、HTTP リクエストの Host ヘッダの値を検証せずにテンプレートへ埋め込みます。攻撃者が細工した値を送信すると、生成されるページに任意のスクリプトが挿入されます。",
	"The management interface of PRODUCT passes the value of the 'name' parameter to a shell command without escaping. Sending a value such as `a;id` executes the id command as root.",
	"再現手順: 1. 初期設定の状態で PRODUCT を起動します。2. 添付の PoC スクリプトを実行します。3. 応答に含まれる uid=0 を確認します。",
	"Steps to reproduce: 1. Start PRODUCT with its default configuration. 2. Run the attached proof of concept against port 8443. 3. Observe the output of the injected command in the response body.",
	"根本原因は、入力値の長さを検査せずに固定長のスタックバッファへ複写している点にあります。関数 parse_header() の 412 行目を参照してください。",
	"The root cause is a fixed-size stack buffer filled by memcpy() with a length taken from the request. See parse_header() around line 412 of src/http/request.c.",
	"緩和策として、管理画面へのアクセスを信頼できるネットワークからに限定することが考えられます。修正方法としては、入力値の検証とエスケープ処理の追加を推奨します。",
	"As a workaround, restrict access to the management interface to trusted networks. The fix is to validate the length and escape the value before use.",
	"CVSS v3.1 基本値: 9.8 (AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H)。報告者は公表時に謝辞への記載を希望しています。",
	"CVSS v3.1 base score 9.8 (AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H). The reporter would like to be credited in the advisory.",
}
