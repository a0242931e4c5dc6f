package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/coordbot/coordbot/mailbot/config"
	"github.com/coordbot/coordbot/mailbot/desk"
	"github.com/coordbot/coordbot/mailbot/health"
	"github.com/coordbot/coordbot/store"
)

// daemonState is what `serve` shares with commands run over its socket.
type daemonState struct {
	desk *desk.Desk
	// mu serialises commands from the socket: each is short.
	mu sync.Mutex
}

func openDesk(e *env, f *cmdFlags) (*desk.Desk, error) {
	cfg, err := loadConfig(e, f)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(cfg.StorePath(), store.Options{LockTimeout: time.Second})
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("%w: is `coordbot serve` already running on %s?", err, cfg.StorePath())
	}
	if err != nil {
		return nil, err
	}
	return desk.New(st, cfg, newLogger(e, cfg)), nil
}

func mailConfig(cfg *config.Config) (desk.Mail, error) {
	ic, err := desk.IMAPConfig(cfg)
	if err != nil {
		return desk.Mail{}, err
	}
	sc, err := desk.SMTPConfig(cfg)
	if err != nil {
		return desk.Mail{}, err
	}
	return desk.Mail{IMAP: ic, SMTP: sc}, nil
}

func cmdPoll(e *env, args []string) error {
	f := newFlags("poll")
	once := f.Bool("once", false, "process the mailbox once and exit")
	if _, err := f.parse(args); err != nil {
		return err
	}
	if !*once {
		return usagef("usage: coordbot poll --once (use serve to keep running)")
	}
	mailGC()
	d, err := openDesk(e, f)
	if err != nil {
		return err
	}
	defer d.Store.Close()
	m, err := mailConfig(d.Cfg)
	if err != nil {
		return err
	}
	return d.PollOnce(e.ctx, m)
}

func cmdServe(e *env, args []string) error {
	f := newFlags("serve")
	if _, err := f.parse(args); err != nil {
		return err
	}
	mailGC()
	d, err := openDesk(e, f)
	if err != nil {
		return err
	}
	defer d.Store.Close()
	m, err := mailConfig(d.Cfg)
	if err != nil {
		return err
	}
	ds := &daemonState{desk: d}
	ln, err := listenAdmin(d.Cfg.Admin.Socket)
	if err != nil {
		return err
	}
	defer ln.Close()
	go serveAdmin(e.ctx, ln, ds, e)
	if d.Cfg.Admin.Listen != "" {
		hl, err := net.Listen("tcp", d.Cfg.Admin.Listen)
		if err != nil {
			return fmt.Errorf("admin.listen: %w", err)
		}
		hs := &http.Server{Handler: health.Handler(d.Health, health.Limits{MaxOutboxAge: d.Cfg.Admin.MaxOutboxAge.Duration,
			MaxPollSilence: d.Cfg.Admin.MaxPollSilence.Duration}, d.Now), ReadHeaderTimeout: 10 * time.Second}
		go hs.Serve(hl)
		defer hs.Close()
		d.Log.Info("admin listener", "address", hl.Addr().String())
	}
	d.Log.Info("serving", "address", d.Cfg.Bot.Address, "store", d.Store.Path(), "socket", d.Cfg.Admin.Socket, "version", version)
	err = d.Serve(e.ctx, m)
	d.Log.Info("stopped")
	return err
}

// mailGC lets the heap grow to three times what is live before the
// collector runs, unless GOGC says otherwise. What stays live in the mail
// loops is small (the parsed keys, the store's pages), and what a backlog
// throws away per message is not: at the default the collector took about
// a tenth of the CPU of a backlog of answers. A large message tightens the
// limit while it is handled (desk.tightenMemory).
func mailGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
}

func listenAdmin(path string) (net.Listener, error) {
	// A socket left by a killed daemon is stale: we hold the store lock, so
	// no other daemon is using it.
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	return ln, nil
}

// adminRequest is one CLI command line forwarded to the daemon.
type adminRequest struct {
	Args []string `json:"args"`
	Cwd  string   `json:"cwd"`
}

type adminResponse struct {
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
	Code   int    `json:"code"`
}

func serveAdmin(ctx context.Context, ln net.Listener, ds *daemonState, parent *env) {
	go func() { <-ctx.Done(); ln.Close() }()
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Minute))
			var req adminRequest
			if err := json.NewDecoder(bufio.NewReader(io.LimitReader(conn, 1<<20))).Decode(&req); err != nil {
				return
			}
			var out, errb bytes.Buffer
			ce := &env{ctx: ctx, stdin: bytes.NewReader(nil), stdout: &out, stderr: &errb, cwd: req.Cwd, daemon: ds}
			if len(req.Args) > 0 && (req.Args[0] == "serve" || req.Args[0] == "poll" || req.Args[0] == "demo" || req.Args[0] == "init") {
				errb.WriteString("coordbot: " + req.Args[0] + " cannot run inside the daemon\n")
				json.NewEncoder(conn).Encode(adminResponse{Stderr: errb.String(), Code: 1})
				return
			}
			ds.mu.Lock()
			code := run(ce, req.Args)
			ds.mu.Unlock()
			json.NewEncoder(conn).Encode(adminResponse{Stdout: out.String(), Stderr: errb.String(), Code: code})
		}()
	}
}

// forward sends the command line to a running daemon and relays its answer.
func forward(e *env, cfg *config.Config, argv []string) error {
	conn, err := net.DialTimeout("unix", cfg.Admin.Socket, 5*time.Second)
	if err != nil {
		return fmt.Errorf("the store is held by another process and its admin socket %s does not answer: %w", cfg.Admin.Socket, err)
	}
	return forwardOn(e, conn, argv)
}

// daemonConn connects to a running daemon's admin socket, or returns nil
// when none answers (no daemon, or a socket file left by a dead one).
func daemonConn(cfg *config.Config) net.Conn {
	if cfg.Admin.Socket == "" {
		return nil
	}
	conn, err := net.DialTimeout("unix", cfg.Admin.Socket, time.Second)
	if err != nil {
		return nil
	}
	return conn
}

func forwardOn(e *env, conn net.Conn, argv []string) error {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Minute))
	// The daemon resolves --config and relative paths from our folder.
	args := append([]string{}, argv...)
	if err := json.NewEncoder(conn).Encode(adminRequest{Args: args, Cwd: e.cwd}); err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	var resp adminResponse
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	io.WriteString(e.stdout, resp.Stdout)
	io.WriteString(e.stderr, resp.Stderr)
	if resp.Code != 0 {
		return exitCode(resp.Code)
	}
	return nil
}
