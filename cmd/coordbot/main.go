// Command coordbot runs a CSIRT's vulnerability coordination desk by mail.
// This file only parses flags and wires the packages together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cwd, _ := os.Getwd()
	e := &env{ctx: ctx, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, cwd: cwd}
	// COORDBOT_CPUPROFILE names a file for a CPU profile of this run (for
	// finding where a benchmark's time goes; see cmd/coordbench).
	if path := os.Getenv("COORDBOT_CPUPROFILE"); path != "" {
		if f, err := os.Create(fmt.Sprintf("%s.%d", path, os.Getpid())); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				code := run(e, os.Args[1:])
				pprof.StopCPUProfile()
				f.Close()
				os.Exit(code)
			}
		}
	}
	os.Exit(run(e, os.Args[1:]))
}

// env is what one command invocation sees. Inside the daemon (admin
// socket) it carries the daemon's open desk instead of opening the store.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	cwd    string
	daemon *daemonState
}

// usageError exits with status 2.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

const usageText = `usage: coordbot COMMAND [ARGS] [--config FILE]

commands:
  demo                         run a whole case on embedded mail servers and print it
  dev [--config-out FILE]      embedded mail servers and the daemon until Ctrl-C (--keep)
  check [--create]             validate config, keys, store, IMAP mailboxes and SMTP login
  templates check [--dir DIR]  render every notice template (and bot.template_dir's or DIR's)
  init                         write a config skeleton (if missing) and the robot key
  serve                        run the daemon
  poll --once                  process the mailbox once, send the outbox, exit
  tick [--now TIME]            one scheduler pass (reminders, unreachable, one year)
  unreachable list --format html|md|json   the unreachable developers list (§7)
  key export                   print the robot's public key
  vendor add|list|show         manage vendors
  case new|list|show|vendors|notify
  backup FILE                  consistent copy of the store
  version                      print the version
`

// run executes one command line and returns the exit status: 0 success,
// 1 runtime failure, 2 usage error; errors are one line on stderr.
func run(e *env, args []string) int {
	err := dispatch(e, args)
	if err == nil {
		return 0
	}
	var ue usageError
	var ce exitCode
	switch {
	case errors.As(err, &ce):
		return int(ce)
	case errors.As(err, &ue):
		fmt.Fprintln(e.stderr, "coordbot: "+oneLine(ue.msg))
		return 2
	case errors.Is(err, flag.ErrHelp):
		return 0
	}
	fmt.Fprintln(e.stderr, "coordbot: "+oneLine(err.Error()))
	return 1
}

// exitCode carries a status already reported (forwarded commands).
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func dispatch(e *env, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usageText)
		return usagef("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "demo":
		return cmdDemo(e, rest)
	case "dev":
		return cmdDev(e, rest)
	case "check":
		return cmdCheck(e, rest)
	case "templates":
		return cmdTemplates(e, rest)
	case "init":
		return cmdInit(e, rest)
	case "serve":
		return cmdServe(e, rest)
	case "poll":
		return cmdPoll(e, rest)
	case "key":
		return cmdKey(e, rest)
	case "vendor":
		return cmdVendor(e, rest)
	case "case":
		return cmdCase(e, rest)
	case "tick":
		return cmdTick(e, rest)
	case "unreachable":
		return cmdUnreachable(e, rest)
	case "backup":
		return cmdBackup(e, rest)
	case "version":
		fmt.Fprintln(e.stdout, "coordbot", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usageText)
		return nil
	}
	return usagef("unknown command %q (see coordbot help)", cmd)
}
