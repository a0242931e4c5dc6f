// Command coordbench measures coordbot against real Dovecot and Postfix, as
// an operator runs it: it builds the coordbot binary, starts one server pair
// (internal/realmail, needs root), and drives coordbot only through its
// command line (init, vendor import, case new/vendors/notify, serve,
// poll --once). Every figure is printed with a baseline measured in the same
// run, one line each, "name value unit", on stdout; progress and
// diagnostics go to stderr.
//
//	go run ./cmd/coordbench                      # every phase, default sizes
//	go run ./cmd/coordbench -only inbound,memory -answers 500 -v
//
// Phases and their figures (see README.md in this folder for what each one
// measures and how):
//
//	inbound   inbound_answers_per_s, inbound_gpg_decrypt_per_s,
//	          inbound_floor_1cpu_per_s, inbound_floor_ncpu_per_s,
//	          inbound_ack_send_per_s, inbound_per_gpg,
//	          inbound_floor_per_inbound, inbound_floor_ncpu_per_inbound
//	outbound  outbound_notices_per_s, outbound_gpg_sign_encrypt_per_s,
//	          outbound_raw_smtp_per_s, outbound_raw_smtp_1conn_per_s,
//	          outbound_raw_sealed_smtp_per_s, outbound_per_gpg,
//	          outbound_per_raw, outbound_per_raw_sealed
//	latency   latency_ack_p50_ms, latency_ack_p99_ms,
//	          latency_delivery_p50_ms, latency_delivery_p99_ms
//	memory    memory_poll_small_mb, memory_poll_attach_mb,
//	          memory_attach_message_mb
//	scale     see scale.go
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coordbot/coordbot/internal/realmail"
)

// phases in the order they run.
var phases = []string{"inbound", "outbound", "latency", "memory", "scale"}

// options is what every phase gets.
type options struct {
	// Sizes.
	answers  int // inbound: answers, one per vendor
	vendors  int // outbound: vendors notified
	rounds   int // outbound: rounds of coordbot's burst and the raw baselines
	inRounds int // inbound: cold backlogs timed
	latencyN int // latency: answers sent one after another
	attachMB int // memory: attachment size in MB

	keep    bool // keep workDir
	verbose bool // progress on stderr
	// workDir holds the binary and one folder per phase.
	workDir string
	// bin is the built coordbot binary.
	bin string
	// only are the phases to run.
	only map[string]bool

	// srv is the server pair every phase shares. Phases add their own
	// mailbox users with distinct local parts, so they do not see each
	// other's mail.
	srv *realmail.Servers
	// smtpConns is the number of SMTP connections coordbot sends over: the
	// value written as smtp.connections when configs/coordbot.example.toml
	// has that key, else 1 (coordbot's sender default) and the key is not
	// written (smtpConnsKey false).
	smtpConns    int
	smtpConnsKey bool
	// root is the module root (go.mod), where the example config is.
	root string

	stderr io.Writer
	mu     sync.Mutex // serialises stderr lines
}

// logf prints a progress line on stderr with -v.
func (o *options) logf(format string, args ...any) {
	if !o.verbose {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(o.stderr, "coordbench: "+time.Now().Format("15:04:05.000")+" "+format+"\n", args...)
}

// notef prints a diagnostic line on stderr whatever -v says: how a figure
// was taken, what was left out.
func (o *options) notef(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(o.stderr, "coordbench: "+format+"\n", args...)
}

func main() {
	if status, ok := rssWrapperMain(); ok {
		os.Exit(status)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "coordbench:", err)
		os.Exit(2)
	}
	start := time.Now()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "coordbench: FAILED:", err)
		os.Exit(1)
	}
	o.notef("done in %v", time.Since(start).Round(time.Second))
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("coordbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{stderr: stderr}
	only := fs.String("only", strings.Join(phases, ","), "phases to run, comma separated: "+strings.Join(phases, ","))
	fs.IntVar(&o.answers, "answers", 2000, "inbound: encrypted and signed status answers, one per vendor")
	fs.IntVar(&o.vendors, "vendors", 1000, "outbound: vendors notified with one overview each")
	fs.IntVar(&o.rounds, "rounds", 3, "outbound: rounds of coordbot's burst and the raw baselines (medians)")
	fs.IntVar(&o.inRounds, "inbound-rounds", 3, "inbound: times the same cold backlog is timed, each from the same store (median)")
	fs.IntVar(&o.latencyN, "latency-n", 200, "latency: answers sent one after another through Postfix")
	fs.IntVar(&o.attachMB, "attach-mb", 25, "memory: size of the attachment of the big answer, in MB")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory")
	fs.BoolVar(&o.verbose, "v", false, "progress on stderr")
	fs.StringVar(&o.workDir, "workdir", "", "work directory (default: a new one under the system temp dir)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./cmd/coordbench [flags]  (as root: starts Dovecot and Postfix)\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o.only = map[string]bool{}
	for _, p := range strings.Split(*only, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !slices.Contains(phases, p) {
			return nil, fmt.Errorf("-only: unknown phase %q (phases: %s)", p, strings.Join(phases, ","))
		}
		o.only[p] = true
	}
	if len(o.only) == 0 {
		return nil, errors.New("-only: no phase selected")
	}
	for name, v := range map[string]int{"answers": o.answers, "vendors": o.vendors, "rounds": o.rounds, "inbound-rounds": o.inRounds, "latency-n": o.latencyN, "attach-mb": o.attachMB} {
		if v < 1 {
			return nil, fmt.Errorf("-%s must be at least 1", name)
		}
	}
	return o, nil
}

// run builds coordbot, starts the servers, runs the selected phases and
// prints their figures on stdout as each phase ends. It stops at the first
// failing phase; the servers are stopped in every case.
func run(ctx context.Context, o *options, stdout io.Writer) (err error) {
	if o.stderr == nil {
		o.stderr = os.Stderr
	}
	if os.Geteuid() != 0 {
		return errors.New("must run as root: the real Dovecot and Postfix servers need it (testdata/mailservers.sh)")
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	o.root = root
	if o.workDir == "" {
		if o.workDir, err = os.MkdirTemp("", "coordbench-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(o.workDir, 0o755); err != nil {
		return err
	}
	if o.workDir, err = filepath.Abs(o.workDir); err != nil {
		return err
	}
	defer func() {
		switch {
		case o.keep:
			o.notef("work directory kept: %s", o.workDir)
		case err != nil:
			o.notef("work directory kept for inspection: %s", o.workDir)
		default:
			os.RemoveAll(o.workDir)
		}
	}()
	o.smtpConns, o.smtpConnsKey = smtpConnections(root)
	o.notef("machine: %d CPUs, %s/%s, %s; coordbot SMTP connections: %d%s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH,
		runtime.Version(), o.smtpConns, map[bool]string{true: " (smtp.connections)", false: " (no smtp.connections key: sender default)"}[o.smtpConnsKey])

	o.bin = filepath.Join(o.workDir, "coordbot")
	o.logf("building %s", o.bin)
	build := exec.CommandContext(ctx, "go", "build", "-o", o.bin, "./cmd/coordbot")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/coordbot: %v\n%s", err, out)
	}

	o.logf("starting Dovecot and Postfix")
	srv, err := realmail.StartServers()
	if err != nil {
		return err
	}
	o.srv = srv
	o.logf("servers: IMAP %s, SMTP %s, in %s", srv.IMAPAddr, srv.SMTPAddr, srv.Dir)
	defer func() {
		if err != nil {
			o.notef("server logs:\n%s", srv.LogTails())
		}
		if serr := srv.Stop(); serr != nil {
			o.notef("%v", serr)
			if err == nil {
				err = serr
			}
		}
	}()

	funcs := map[string]func(context.Context, *options) ([]Figure, error){
		"inbound": runInbound, "outbound": runOutbound, "latency": runLatency, "memory": runMemory, "scale": runScale,
	}
	for _, p := range phases {
		if !o.only[p] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("interrupted before phase %s: %w", p, err)
		}
		t0 := time.Now()
		o.notef("phase %s: started", p)
		figs, err := funcs[p](ctx, o)
		if err != nil {
			return fmt.Errorf("phase %s: %w", p, err)
		}
		printFigures(stdout, figs)
		o.notef("phase %s: done in %v", p, time.Since(t0).Round(100*time.Millisecond))
	}
	return nil
}

// moduleRoot walks up from the working directory to the folder with go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run from the coordbot module")
		}
		dir = parent
	}
}
