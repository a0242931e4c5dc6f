package main

import (
	"fmt"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/coordbot/coordbot/mailbot/desk"
	"github.com/coordbot/coordbot/mailbot/export"
	"github.com/coordbot/coordbot/mailbot/process"
	"github.com/coordbot/coordbot/store"
)

func cmdCase(e *env, args []string) error {
	if len(args) == 0 {
		return usagef("usage: coordbot case new|list|show|vendors|notify ...")
	}
	argv := append([]string{"case"}, args...)
	switch args[0] {
	case "new":
		return caseNew(e, args[1:], argv)
	case "list":
		f := newFlags("case list")
		asJSON := f.Bool("json", false, "print JSON")
		if _, err := f.parse(args[1:]); err != nil {
			return err
		}
		return withDeskRead(e, f, argv, func(d *desk.Desk) error {
			var cs []*store.Case
			if err := d.Store.View(func(tx *store.Tx) (err error) { cs, err = tx.Cases(); return }); err != nil {
				return err
			}
			if *asJSON {
				out := []map[string]string{}
				for _, c := range cs {
					out = append(out, map[string]string{"id": c.ID, "title": c.Title, "state": c.State, "start": rfc(c.Start), "target_date": rfc(c.Target)})
				}
				return printJSON(e, out)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATE\tSTART\tTARGET\tTITLE")
			for _, c := range cs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ID, c.State, rfc(c.Start), rfc(c.Target), c.Title)
			}
			return tw.Flush()
		})
	case "show":
		f := newFlags("case show")
		asJSON := f.Bool("json", false, "print JSON")
		pos, err := f.parse(args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("usage: coordbot case show ID [--json]")
		}
		return withDeskRead(e, f, argv, func(d *desk.Desk) error {
			j, err := caseJSON(d, pos[0])
			if err != nil {
				return err
			}
			if *asJSON {
				return printJSON(e, j)
			}
			return printCase(e, j)
		})
	case "vendors":
		f := newFlags("case vendors")
		pos, err := f.parse(args[1:])
		if err != nil {
			return err
		}
		if len(pos) == 2 && pos[0] == "suggest" {
			return withDesk(e, f, argv, func(d *desk.Desk) error {
				return d.Run(process.ActorCLI, func(o *desk.Op) error {
					cands, err := o.Suggest(pos[1])
					if err != nil {
						return err
					}
					for _, c := range cands {
						fmt.Fprintf(e.stdout, "%s\t%d\t%s\n", c.ID, c.Score, c.Reason)
					}
					return nil
				})
			})
		}
		if len(pos) < 3 || pos[0] != "add" {
			return usagef("usage: coordbot case vendors add ID VENDOR... | case vendors suggest ID")
		}
		return withDesk(e, f, argv, func(d *desk.Desk) error {
			return d.AttachVendors(pos[1], pos[2:])
		})
	case "notify":
		f := newFlags("case notify")
		pos, err := f.parse(args[1:])
		if err != nil {
			return err
		}
		if len(pos) < 3 || (pos[1] != "overview" && pos[1] != "detail") {
			return usagef("usage: coordbot case notify ID overview|detail VENDOR...|all")
		}
		return withDesk(e, f, argv, func(d *desk.Desk) error {
			res, err := d.Notify(pos[0], pos[1], pos[2:])
			if err != nil {
				return err
			}
			for _, r := range res {
				switch {
				case r.Queued && r.Reason == "":
					fmt.Fprintf(e.stdout, "%s: %s queued\n", r.Vendor, pos[1])
				case r.Queued:
					fmt.Fprintf(e.stdout, "%s: %s\n", r.Vendor, r.Reason)
				default:
					fmt.Fprintf(e.stdout, "%s: not sent: %s\n", r.Vendor, r.Reason)
				}
			}
			return nil
		})
	case "export":
		f := newFlags("case export")
		format := f.String("format", "jvn-md", "jvn-html | jvn-md | csaf | json")
		pos, err := f.parse(args[1:])
		if err != nil {
			return err
		}
		render := map[string]func(*export.Advisory) ([]byte, error){
			"jvn-md": export.JVNMarkdown, "jvn-html": export.JVNHTML, "csaf": export.CSAF, "json": export.JSON}[*format]
		if len(pos) != 1 || render == nil {
			return usagef("usage: coordbot case export ID --format jvn-html|jvn-md|csaf|json")
		}
		return withDesk(e, f, argv, func(d *desk.Desk) error {
			a, err := d.Advisory(pos[0])
			if err != nil {
				return err
			}
			out, err := render(a)
			if err != nil {
				return err
			}
			_, err = e.stdout.Write(out)
			return err
		})
	case "share":
		f := newFlags("case share")
		pos, err := f.parse(args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 4 || pos[1] != "approve" {
			return usagef("usage: coordbot case share ID approve VENDOR ADDRESS")
		}
		return withDesk(e, f, argv, func(d *desk.Desk) error {
			id, err := d.ShareApprove(pos[0], pos[2], pos[3])
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s registered as vendor %s; detail queued\n", pos[3], id)
			return nil
		})
	case "unreachable":
		f := newFlags("case unreachable")
		var products strs
		f.Var(&products, "product", "product name and version published from stage 2 (repeatable)")
		pos, err := f.parse(args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 3 || pos[2] != "advance" {
			return usagef("usage: coordbot case unreachable ID VENDOR advance [--product \"NAME VERSION\" ...]")
		}
		return withDesk(e, f, argv, func(d *desk.Desk) error {
			stage, err := d.AdvanceUnreachable(pos[0], pos[1], products...)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s: unreachable stage %d applied\n", pos[1], stage)
			return nil
		})
	case "date", "publish", "cancel", "close", "lead", "customer-notice", "priority-notify":
		return caseLifecycle(e, args[0], args[1:], argv)
	}
	return usagef("unknown case command %q", args[0])
}

// caseLifecycle: case date ID TIME | publish ID | cancel ID REASON | close ID
// | lead ID TEXT... | customer-notice ID approve VENDOR | priority-notify ID
func caseLifecycle(e *env, verb string, args, argv []string) error {
	f := newFlags("case " + verb)
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	usage := map[string]string{
		"date": "case date ID 2027-01-15T11:00+09:00", "publish": "case publish ID", "cancel": "case cancel ID known|no-impact|users-notified",
		"close": "case close ID", "lead": "case lead ID TEXT...", "customer-notice": "case customer-notice ID approve VENDOR",
		"priority-notify": "case priority-notify ID",
	}[verb]
	want := map[string]int{"date": 2, "publish": 1, "cancel": 2, "close": 1, "customer-notice": 3, "priority-notify": 1}[verb]
	if (verb == "lead" && len(pos) < 2) || (verb != "lead" && len(pos) != want) || (verb == "customer-notice" && pos[1] != "approve") {
		return usagef("usage: coordbot %s", usage)
	}
	return withDesk(e, f, argv, func(d *desk.Desk) error {
		id := pos[0]
		switch verb {
		case "date":
			when, err := parseTime(pos[1], d.Cfg.Location())
			if err != nil {
				return usagef("case date: %v", err)
			}
			return d.SetDate(id, when, true)
		case "publish":
			return d.Publish(id)
		case "cancel":
			return d.Cancel(id, pos[1])
		case "close":
			return d.Close(id)
		case "lead":
			return d.SetLead(id, strings.Join(pos[1:], " "))
		case "customer-notice":
			return d.ApproveCustomerNotice(id, pos[2])
		default:
			return d.PriorityNotify(id)
		}
	})
}

// parseTime reads RFC 3339 with optional seconds; a time without a zone is
// in the desk's time zone (DESIGN §11).
func parseTime(s string, loc *time.Location) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time like 2027-01-15T11:00+09:00", s)
}

func caseNew(e *env, args, argv []string) error {
	f := newFlags("case new")
	var in desk.CaseInput
	var attach strs
	f.StringVar(&in.Title, "title", "", "case title")
	ovFile := f.String("overview-file", "", "file with the overview (no technical detail)")
	dtFile := f.String("detail-file", "", "file with the technical detail (confidential)")
	kw := f.String("keywords", "", "technology keywords, comma-separated")
	f.StringVar(&in.Lead, "lead", "", "foreign coordinator leading the case, e.g. CERT/CC VU#123456")
	f.StringVar(&in.Reporter, "reporter", "", "reporter")
	f.Var(&attach, "attach", "detail attachment (repeatable)")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("case new: unexpected argument %q", pos[0])
	}
	if in.Title == "" || *ovFile == "" {
		return usagef("usage: coordbot case new --title TEXT --overview-file F --detail-file F [--keywords K,...] [--attach FILE ...]")
	}
	read := func(p string) (string, error) {
		if p == "" {
			return "", nil
		}
		b, err := os.ReadFile(e.abs(p))
		return string(b), err
	}
	if in.Overview, err = read(*ovFile); err != nil {
		return fmt.Errorf("case new: %w", err)
	}
	if in.Detail, err = read(*dtFile); err != nil {
		return fmt.Errorf("case new: %w", err)
	}
	in.Keywords = splitList(*kw)
	for _, a := range attach {
		data, err := os.ReadFile(e.abs(a))
		if err != nil {
			return fmt.Errorf("case new: %w", err)
		}
		ct := mime.TypeByExtension(filepath.Ext(a))
		if ct == "" {
			ct = "application/octet-stream"
		}
		in.Attach = append(in.Attach, store.Attach{Name: filepath.Base(a), ContentType: ct, Data: data})
	}
	return withDesk(e, f, argv, func(d *desk.Desk) error {
		c, err := d.NewCase(in)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, c.ID)
		return nil
	})
}

// The JSON of `case show --json` (DESIGN §8). Scripts rely on these names.
type caseOut struct {
	ID              string      `json:"id"`
	Title           string      `json:"title"`
	State           string      `json:"state"`
	CancelReason    string      `json:"cancel_reason,omitempty"`
	Lead            string      `json:"lead"`
	Keywords        []string    `json:"keywords"`
	Start           string      `json:"start"`
	TargetDate      string      `json:"target_date"`
	PublicationDate string      `json:"publication_date"`
	Vendors         []vendorOut `json:"vendors"`
	Events          []eventOut  `json:"events"`
}

type vendorOut struct {
	Vendor           string `json:"vendor"`
	State            string `json:"state"`
	Status           string `json:"status"`
	Comment          string `json:"comment"`
	URL              string `json:"url"`
	FixPlan          string `json:"fix_plan,omitempty"`
	Schedule         string `json:"schedule,omitempty"`
	LastInbound      string `json:"last_inbound"`
	RemindersSent    int    `json:"reminders_sent"`
	UnreachableStage int    `json:"unreachable_stage"`
	DID              string `json:"did,omitempty"`
}

type eventOut struct {
	Time          string `json:"time"`
	Actor         string `json:"actor"`
	Kind          string `json:"kind"`
	Vendor        string `json:"vendor,omitempty"`
	MessageID     string `json:"message_id"`
	Summary       string `json:"summary,omitempty"`
	Authenticated bool   `json:"authenticated,omitempty"`
}

func caseJSON(d *desk.Desk, id string) (*caseOut, error) {
	var out *caseOut
	err := d.Store.View(func(tx *store.Tx) error {
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
		loc := d.Cfg.Location()
		out = &caseOut{ID: c.ID, Title: c.Title, State: c.State, CancelReason: c.CancelReason, Lead: c.Lead, Keywords: c.Keywords,
			Start: rfcIn(c.Start, loc), TargetDate: rfcIn(c.Target, loc), PublicationDate: rfcIn(c.Publication, loc),
			Vendors: []vendorOut{}, Events: []eventOut{}}
		if out.Keywords == nil {
			out.Keywords = []string{}
		}
		for _, p := range parts {
			out.Vendors = append(out.Vendors, vendorOut{Vendor: p.Vendor, State: p.State, Status: p.Status, Comment: p.Comment, URL: p.URL,
				FixPlan: p.FixPlan, Schedule: p.Schedule, LastInbound: rfcIn(p.LastInbound, loc), RemindersSent: p.RemindersSent,
				UnreachableStage: p.UnreachableStage, DID: p.DID})
		}
		for _, ev := range evs {
			out.Events = append(out.Events, eventOut{Time: rfcIn(ev.Time, loc), Actor: ev.Actor, Kind: ev.Kind, Vendor: ev.Vendor,
				MessageID: ev.MessageID, Summary: ev.Summary, Authenticated: ev.Authenticated})
		}
		return nil
	})
	return out, err
}

func printCase(e *env, c *caseOut) error {
	fmt.Fprintf(e.stdout, "%s  %s\nstate: %s  start: %s  target: %s  publication: %s\n", c.ID, c.Title, c.State,
		orDash(c.Start), orDash(c.TargetDate), orDash(c.PublicationDate))
	if c.Lead != "" {
		fmt.Fprintf(e.stdout, "lead: %s\n", c.Lead)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VENDOR\tSTATE\tSTATUS\tLAST INBOUND")
	for _, v := range c.Vendors {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", v.Vendor, orDash(v.State), orDash(v.Status), orDash(v.LastInbound))
	}
	tw.Flush()
	fmt.Fprintln(e.stdout, "events:")
	for _, ev := range c.Events {
		fmt.Fprintf(e.stdout, "  %s  %-10s %-18s %s\n", ev.Time, ev.Actor, ev.Kind, strings.TrimSpace(ev.Summary))
	}
	return nil
}

func rfcIn(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(time.RFC3339)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cmdTick(e *env, args []string) error {
	f := newFlags("tick")
	nowFlag := f.String("now", "", "run the pass as of this time (RFC 3339)")
	if _, err := f.parse(args); err != nil {
		return err
	}
	return withDesk(e, f, append([]string{"tick"}, args...), func(d *desk.Desk) error {
		now := time.Now()
		if *nowFlag != "" {
			t, err := parseTime(*nowFlag, d.Cfg.Location())
			if err != nil {
				return usagef("tick: %v", err)
			}
			now = t
		}
		res, err := d.Tick(now)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%d cases, %d actions\n", res.Cases, res.Actions)
		return nil
	})
}

func cmdUnreachable(e *env, args []string) error {
	f := newFlags("unreachable")
	format := f.String("format", "md", "html | md | json")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	render := map[string]func(*export.UnreachableList) ([]byte, error){
		"md": export.UnreachableMarkdown, "html": export.UnreachableHTML, "json": export.UnreachableJSON}[*format]
	if len(pos) != 1 || pos[0] != "list" || render == nil {
		return usagef("usage: coordbot unreachable list --format html|md|json")
	}
	return withDesk(e, f, append([]string{"unreachable"}, args...), func(d *desk.Desk) error {
		l, err := d.UnreachableList()
		if err != nil {
			return err
		}
		out, err := render(l)
		if err != nil {
			return err
		}
		_, err = e.stdout.Write(out)
		return err
	})
}
