package desk

import (
	"strings"
	"time"

	"github.com/coordbot/coordbot/mailbot/export"
	"github.com/coordbot/coordbot/store"
)

// UnreachableList gathers the public unreachable developers list (§7-1,
// Fig. 3): every vendor a coordinator put on the unreachable track.
func (d *Desk) UnreachableList() (*export.UnreachableList, error) {
	l := &export.UnreachableList{Location: d.Cfg.Location(), Publisher: d.Cfg.Bot.Name, Contact: d.Cfg.Bot.Address}
	err := d.Store.View(func(tx *store.Tx) error {
		cases, err := tx.Cases()
		if err != nil {
			return err
		}
		for _, c := range cases {
			parts, err := tx.Participations(c.ID)
			if err != nil {
				return err
			}
			evs, err := tx.Events(c.ID)
			if err != nil {
				return err
			}
			for _, p := range parts {
				if p.UnreachableStage < 1 || p.DID == "" {
					continue
				}
				v, err := tx.Vendor(p.Vendor)
				if err != nil {
					return err
				}
				e := export.UnreachableEntry{DID: p.DID, Vendor: v.Name, Stage: p.UnreachableStage, Community: v.Community}
				stageAt := map[int]time.Time{}
				n := 0
				for _, ev := range evs {
					if ev.Kind == EvUnreachableStage && ev.Vendor == p.Vendor {
						n++
						stageAt[n] = ev.Time
						e.Timeline = append(e.Timeline, export.Entry{Time: ev.Time, Text: ev.Summary})
					}
				}
				e.Added, e.Disclosed, e.DeadlineAdded = stageAt[1], stageAt[2], stageAt[3]
				if e.Added.IsZero() {
					e.Added = p.Added
				}
				if c.State == store.CasePublished || c.State == store.CaseClosed {
					e.Related = c.ID
				}
				for _, pr := range p.Products {
					name, ver, _ := strings.Cut(pr, " ")
					e.Products = append(e.Products, export.Product{Name: name, Version: ver})
				}
				if e.Stage >= 2 && len(e.Products) == 0 {
					e.Products = []export.Product{{Name: "製品情報は登録待ち / product to be named"}}
				}
				if e.Stage >= 3 {
					// §7-2: the contact deadline is three months after it is appended.
					e.Deadline = e.DeadlineAdded.AddDate(0, d.Cfg.Policy.StageMonths, 0)
					if e.DeadlineAdded.IsZero() {
						e.Deadline = time.Now().AddDate(0, d.Cfg.Policy.StageMonths, 0)
					}
				}
				if e.Stage < 4 {
					e.Timeline = nil
				}
				l.Entries = append(l.Entries, e)
				if e.Added.After(l.Updated) {
					l.Updated = e.Added
				}
			}
		}
		return nil
	})
	return l, err
}
