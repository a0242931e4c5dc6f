package main

// Peak resident memory of a child process.
//
// exec.Cmd's ProcessState.SysUsage().Maxrss cannot be used directly: Go
// starts children with clone(CLONE_VM|CLONE_VFORK), so the child runs on
// the parent's address space until its exec, and Linux carries the high
// water mark of the address space left at exec into the child's
// ru_maxrss. A child of coordbench (hundreds of MB after building the
// answers) would report coordbench's peak, not its own. So the child is
// run through a small wrapper: coordbench itself started again with
// rssFileEnv set, whose own address space is a few MB, which runs the
// command, waits for it and writes the command's ru_maxrss to a file.

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// rssFileEnv names the file the wrapper writes the ru_maxrss (KiB) of the
// command it ran to.
const rssFileEnv = "COORDBENCH_RSS_FILE"

// rssWrapperMain runs the wrapper when the process was started as one
// (rssFileEnv set) and returns the exit status; ok is false otherwise.
// main and TestMain call it first.
func rssWrapperMain() (status int, ok bool) {
	path := os.Getenv(rssFileEnv)
	if path == "" {
		return 0, false
	}
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "coordbench rss wrapper: no command")
		return 2, true
	}
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, rssFileEnv+"=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	// The command dies with the wrapper.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "coordbench rss wrapper:", err)
		return 1, true
	}
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	err := cmd.Wait()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		os.WriteFile(path, []byte(strconv.FormatInt(int64(ru.Maxrss), 10)), 0o600)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return max(ee.ExitCode(), 1), true
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "coordbench rss wrapper:", err)
		return 1, true
	}
	return 0, true
}

// wrapForRSS makes cmd (not started) run through the wrapper; after it
// ran, read returns the command's peak resident memory in KiB.
func wrapForRSS(cmd *exec.Cmd, dir string) (read func() (int64, error), err error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "maxrss-")
	if err != nil {
		return nil, err
	}
	path := f.Name()
	f.Close()
	path, _ = filepath.Abs(path)
	cmd.Args = append([]string{self}, append([]string{cmd.Path}, cmd.Args[1:]...)...)
	cmd.Path = self
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(env[:len(env):len(env)], rssFileEnv+"="+path)
	return func() (int64, error) {
		defer os.Remove(path)
		data, err := os.ReadFile(path)
		if err != nil {
			return 0, err
		}
		kib, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
		if err != nil || kib <= 0 {
			return 0, fmt.Errorf("no peak memory reported for %s (%q)", cmd.Args[1], data)
		}
		return kib, nil
	}, nil
}
