package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/coordbot/coordbot/configs"
	"github.com/coordbot/coordbot/mailbot/config"
	"github.com/coordbot/coordbot/mailbot/desk"
	"github.com/coordbot/coordbot/mailbot/keys"
	"github.com/coordbot/coordbot/mailbot/logging"
	"github.com/coordbot/coordbot/mailbot/registry"
	"github.com/coordbot/coordbot/store"
)

// withDesk runs fn on a desk over the store: the daemon's when running
// inside it, else the file opened here; when `serve` holds the file, the
// whole command line goes to the daemon over its admin socket.
func withDesk(e *env, f *cmdFlags, argv []string, fn func(d *desk.Desk) error) error {
	return deskWith(e, f, argv, false, fn)
}

// withDeskRead is withDesk for a command that only reads: the store is
// opened read-only, which skips loading bbolt's free-page list (the
// larger part of opening a big store) and takes the lock shared.
func withDeskRead(e *env, f *cmdFlags, argv []string, fn func(d *desk.Desk) error) error {
	return deskWith(e, f, argv, true, fn)
}

func deskWith(e *env, f *cmdFlags, argv []string, readOnly bool, fn func(d *desk.Desk) error) error {
	if e.daemon != nil {
		return fn(e.daemon.desk)
	}
	cfg, err := config.Load(f.configPath(e))
	if err != nil {
		return err
	}
	// A running daemon holds the store: ask it at once rather than wait
	// for the file lock first.
	if conn := daemonConn(cfg); conn != nil {
		return forwardOn(e, conn, argv)
	}
	st, err := store.Open(cfg.StorePath(), store.Options{ReadOnly: readOnly, LockTimeout: 500 * time.Millisecond})
	if errors.Is(err, store.ErrLocked) {
		return forward(e, cfg, argv)
	}
	if err != nil && readOnly {
		// A missing store, or one of an older schema: the read-write
		// open creates or migrates it, or says what is wrong.
		return deskWith(e, f, argv, false, fn)
	}
	if err != nil {
		return err
	}
	defer st.Close()
	log := logging.New(e.stderr, "warn", "text")
	return fn(desk.New(st, cfg, log))
}

func loadConfig(e *env, f *cmdFlags) (*config.Config, error) {
	return config.Load(f.configPath(e))
}

// --- init, key ---

func cmdInit(e *env, args []string) error {
	f := newFlags("init")
	rsa := f.Int("rsa", 0, "make an RSA key of this many bits (e.g. 4096) instead of Curve25519")
	if _, err := f.parse(args); err != nil {
		return err
	}
	path := f.configPath(e)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("init: %w", err)
		}
		if err := os.WriteFile(path, configs.Example, 0o600); err != nil {
			return fmt.Errorf("init: write config: %w", err)
		}
		fmt.Fprintf(e.stdout, "wrote config skeleton %s: edit it\n", path)
	} else {
		fmt.Fprintf(e.stdout, "keeping existing config %s\n", path)
	}
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.Bot.DataDir, 0o700); err != nil {
		return fmt.Errorf("init: data folder: %w", err)
	}
	pass, err := config.Secret(cfg.PGP.PassphraseFile, cfg.PGP.PassphraseEnv)
	if err != nil {
		return err
	}
	if _, err := os.Stat(cfg.PGP.KeyFile); err == nil {
		k, err := keys.LoadPrivate(cfg.PGP.KeyFile, []byte(pass))
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "keeping existing robot key %s\n", cfg.PGP.KeyFile)
		fmt.Fprintln(e.stdout, keys.Fingerprint(k))
		return nil
	}
	if *rsa != 0 && *rsa < 3072 {
		return usagef("init: --rsa %d: use at least 3072 bits", *rsa)
	}
	k, err := keys.Generate(cfg.Bot.Name, cfg.Bot.Address, keys.GenOptions{RSABits: *rsa}, time.Now())
	if err != nil {
		return err
	}
	if err := keys.WritePrivate(cfg.PGP.KeyFile, k, []byte(pass)); err != nil {
		return err
	}
	// Create the store too, so that its mode is ours from the start.
	st, err := store.Open(cfg.StorePath(), store.Options{})
	if err == nil {
		st.Close()
	} else if !errors.Is(err, store.ErrLocked) {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote robot key %s\n", cfg.PGP.KeyFile)
	fmt.Fprintln(e.stdout, keys.Fingerprint(k))
	return nil
}

func cmdKey(e *env, args []string) error {
	f := newFlags("key")
	rsa := f.Int("rsa", 0, "with rotate: make an RSA key of this many bits")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) == 1 && pos[0] == "rotate" {
		if *rsa != 0 && *rsa < 3072 {
			return usagef("key rotate: --rsa %d: use at least 3072 bits", *rsa)
		}
		return withDesk(e, f, append([]string{"key"}, args...), func(d *desk.Desk) error {
			oldFpr, newFpr, err := d.RotateKey(keys.GenOptions{RSABits: *rsa})
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "retired %s (kept for reading)\n%s\n", oldFpr, newFpr)
			return nil
		})
	}
	if len(pos) != 1 || pos[0] != "export" {
		return usagef("usage: coordbot key export | key rotate [--rsa BITS]")
	}
	cfg, err := loadConfig(e, f)
	if err != nil {
		return err
	}
	pass, err := config.Secret(cfg.PGP.PassphraseFile, cfg.PGP.PassphraseEnv)
	if err != nil {
		return err
	}
	k, err := keys.LoadPrivate(cfg.PGP.KeyFile, []byte(pass))
	if err != nil {
		return err
	}
	arm, err := keys.ArmoredPublic(k)
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(arm)
	return err
}

// --- vendor ---

func cmdVendor(e *env, args []string) error {
	if len(args) == 0 {
		return usagef("usage: coordbot vendor add|list|show ...")
	}
	argv := append([]string{"vendor"}, args...)
	switch args[0] {
	case "add":
		return vendorAdd(e, args[1:], argv)
	case "list":
		f := newFlags("vendor list")
		asJSON := f.Bool("json", false, "print JSON")
		if _, err := f.parse(args[1:]); err != nil {
			return err
		}
		return withDesk(e, f, argv, func(d *desk.Desk) error {
			var vs []*store.Vendor
			if err := d.Store.View(func(tx *store.Tx) (err error) { vs, err = tx.Vendors(); return }); err != nil {
				return err
			}
			if *asJSON {
				return printJSON(e, vendorsJSON(vs))
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tREGISTRATION\tLANG\tKEY\tCONTACTS")
			for _, v := range vs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\n", v.ID, v.Name, v.Registration, v.Lang, len(v.Keys) > 0, strings.Join(v.Addrs(), ","))
			}
			return tw.Flush()
		})
	case "key":
		return vendorKey(e, args[1:], argv)
	case "import":
		return vendorImport(e, args[1:], argv)
	case "show":
		f := newFlags("vendor show")
		f.Bool("json", true, "print JSON (the only format)")
		pos, err := f.parse(args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("usage: coordbot vendor show ID [--json]")
		}
		return withDesk(e, f, argv, func(d *desk.Desk) error {
			var v *store.Vendor
			if err := d.Store.View(func(tx *store.Tx) (err error) { v, err = tx.Vendor(pos[0]); return }); err != nil {
				return err
			}
			return printJSON(e, vendorsJSON([]*store.Vendor{v})[0])
		})
	}
	return usagef("unknown vendor command %q", args[0])
}

// vendorKey: vendor key VENDOR import FILE | confirm FINGERPRINT | remove FINGERPRINT | list
func vendorKey(e *env, args, argv []string) error {
	f := newFlags("vendor key")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) < 2 || (pos[1] != "list" && len(pos) != 3) {
		return usagef("usage: coordbot vendor key VENDOR import FILE | confirm FINGERPRINT | remove FINGERPRINT | list")
	}
	id, verb := pos[0], pos[1]
	switch verb {
	case "import":
		pub, err := keys.ReadPublicFile(e.abs(pos[2]), time.Now())
		if err != nil {
			return err
		}
		return withDesk(e, f, argv, func(d *desk.Desk) error {
			released, err := d.ImportVendorKey(id, pub)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s: key %s pinned\n", id, pub.Fingerprint)
			for _, c := range released {
				fmt.Fprintf(e.stdout, "%s: held detail of %s queued\n", id, c)
			}
			return nil
		})
	case "remove":
		return withDesk(e, f, argv, func(d *desk.Desk) error { return d.RemoveVendorKey(id, pos[2]) })
	case "confirm":
		return withDesk(e, f, argv, func(d *desk.Desk) error {
			released, err := d.ConfirmVendorKey(id, pos[2])
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s: key %s confirmed and pinned\n", id, strings.ToUpper(pos[2]))
			for _, c := range released {
				fmt.Fprintf(e.stdout, "%s: held detail of %s queued\n", id, c)
			}
			return nil
		})
	case "list":
		return withDesk(e, f, argv, func(d *desk.Desk) error {
			var v *store.Vendor
			if err := d.Store.View(func(tx *store.Tx) (err error) { v, err = tx.Vendor(id); return }); err != nil {
				return err
			}
			for _, k := range v.Keys {
				state := "pinned"
				if k.Pending {
					state = "pending (not trusted until confirmed)"
				}
				fmt.Fprintf(e.stdout, "%s  %s  added %s\n", k.Fingerprint, state, rfc(k.Added))
			}
			return nil
		})
	}
	return usagef("unknown vendor key command %q", verb)
}

// vendorImport registers every vendor of a TOML or CSV file (format by
// extension; see testdata/registry/README.md), all or none; errors name the
// line and field.
func vendorImport(e *env, args, argv []string) error {
	f := newFlags("vendor import")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: coordbot vendor import FILE.toml|FILE.csv")
	}
	path := e.abs(pos[0])
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var recs []registry.Record
	switch strings.ToLower(filepath.Ext(path)) {
	case ".toml":
		recs, err = registry.ParseTOML(data)
	case ".csv":
		recs, err = registry.ParseCSV(data)
	default:
		return usagef("vendor import: %s: use a .toml or .csv file", path)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var ins []desk.VendorInput
	for _, r := range recs {
		in := desk.VendorInput{ID: r.ID, Name: r.Name, Registration: r.Registration, Manager: r.Manager, Lang: r.Lang,
			Emails: r.Emails, PublicEmails: r.PublicEmails, Keywords: r.Keywords, Postal: r.Postal, Phone: r.Phone}
		if kp := r.KeyPath(filepath.Dir(path)); kp != "" {
			pub, err := keys.ReadPublicFile(kp, time.Now())
			if err != nil {
				return fmt.Errorf("%s: line %d: key_file: %w", path, r.Line, err)
			}
			in.Key = &store.Key{Fingerprint: pub.Fingerprint, Armored: pub.Armored, Added: time.Now()}
		}
		ins = append(ins, in)
	}
	return withDesk(e, f, argv, func(d *desk.Desk) error {
		if err := d.ImportVendors(ins); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%d vendors imported\n", len(ins))
		return nil
	})
}

func vendorAdd(e *env, args, argv []string) error {
	f := newFlags("vendor add")
	var in desk.VendorInput
	var emails strs
	f.StringVar(&in.ID, "id", "", "vendor id (slug)")
	f.StringVar(&in.Name, "name", "", "vendor name")
	f.Var(&emails, "email", "contact address (repeatable)")
	keyFile := f.String("key", "", "OpenPGP public key file")
	kw := f.String("keywords", "", "technology keywords, comma-separated")
	f.StringVar(&in.Lang, "lang", "", "ja | en")
	f.StringVar(&in.Registration, "registration", "general", "general | individual | pending")
	f.StringVar(&in.Manager, "manager", "", "manager name")
	var public strs
	f.Var(&public, "public-email", "a public list or forum address: recorded, never sent anything confidential (repeatable)")
	f.BoolVar(&in.Community, "community", false, "an open-source community or individual developer (§7 wording)")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("vendor add: unexpected argument %q", pos[0])
	}
	if in.ID == "" || len(emails) == 0 {
		return usagef("usage: coordbot vendor add --id ID --name NAME --email ADDR [--email ...] [--key FILE] [--keywords K,...] [--lang ja|en] [--registration general|individual|pending] [--manager NAME]")
	}
	in.Emails = emails
	in.PublicEmails = public
	in.Keywords = splitList(*kw)
	if *keyFile != "" {
		pub, err := keys.ReadPublicFile(e.abs(*keyFile), time.Now())
		if err != nil {
			return err
		}
		in.Key = &store.Key{Fingerprint: pub.Fingerprint, Armored: pub.Armored, Added: time.Now()}
	}
	return withDesk(e, f, argv, func(d *desk.Desk) error {
		v, err := d.AddVendor(in)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, v.ID)
		return nil
	})
}

type vendorJSON struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Registration string          `json:"registration"`
	Manager      string          `json:"manager,omitempty"`
	Contacts     []store.Contact `json:"contacts"`
	Keys         []string        `json:"key_fingerprints"`
	Keywords     []string        `json:"keywords"`
	Lang         string          `json:"lang"`
	Created      string          `json:"created"`
	Updated      string          `json:"updated"`
}

func vendorsJSON(vs []*store.Vendor) []vendorJSON {
	out := make([]vendorJSON, 0, len(vs))
	for _, v := range vs {
		j := vendorJSON{ID: v.ID, Name: v.Name, Registration: v.Registration, Manager: v.Manager, Contacts: v.Contacts,
			Keys: []string{}, Keywords: v.Keywords, Lang: v.Lang, Created: rfc(v.Created), Updated: rfc(v.Updated)}
		if j.Keywords == nil {
			j.Keywords = []string{}
		}
		for _, k := range v.Keys {
			j.Keys = append(j.Keys, k.Fingerprint)
		}
		out = append(out, j)
	}
	return out
}

func rfc(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

func printJSON(e *env, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := e.stdout.Write(buf.Bytes())
	return err
}

// --- backup ---

func cmdBackup(e *env, args []string) error {
	f := newFlags("backup")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: coordbot backup FILE")
	}
	target := e.abs(pos[0])
	return withDesk(e, f, append([]string{"backup"}, args...), func(d *desk.Desk) error {
		if err := d.Store.BackupFile(target); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, target)
		return nil
	})
}

func newLogger(e *env, cfg *config.Config) *slog.Logger {
	return logging.New(e.stderr, cfg.Log.Level, cfg.Log.Format)
}
