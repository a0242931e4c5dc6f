package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/coordbot/coordbot/mailbot/config"
)

// strs is a repeatable string flag.
type strs []string

func (s *strs) String() string { return strings.Join(*s, ",") }
func (s *strs) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// cmdFlags is a flag set with the --config flag every verb takes.
type cmdFlags struct {
	*flag.FlagSet
	config string
}

func newFlags(name string) *cmdFlags {
	f := &cmdFlags{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError)}
	f.SetOutput(io.Discard)
	f.StringVar(&f.config, "config", "", "configuration file (default $COORDBOT_CONFIG or "+config.DefaultPath+")")
	return f
}

// parse accepts flags before or after positional arguments (DESIGN §11).
func (f *cmdFlags) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, usagef("%s: see coordbot help", f.Name())
			}
			return nil, usagef("%s: %v", f.Name(), err)
		}
		args = f.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func (f *cmdFlags) configPath(e *env) string {
	p := f.config
	if p == "" {
		p = os.Getenv("COORDBOT_CONFIG")
	}
	if p == "" {
		p = config.DefaultPath
	}
	return e.abs(p)
}

// abs resolves a path against the invoking command's folder (which may be
// a CLI client's, when the daemon runs the command).
func (e *env) abs(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(e.cwd, p)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
