package desk

import (
	"github.com/coordbot/coordbot/mailbot/export"
	"github.com/coordbot/coordbot/store"
)

// Advisory gathers the public view of a case for the exports (§6-4):
// only vendors that received the detail appear, with their status.
func (d *Desk) Advisory(caseID string) (*export.Advisory, error) {
	var a *export.Advisory
	err := d.Store.View(func(tx *store.Tx) error {
		c, err := tx.Case(caseID)
		if err != nil {
			return err
		}
		parts, err := tx.Participations(caseID)
		if err != nil {
			return err
		}
		a = &export.Advisory{ID: c.ID, Title: c.Title, Overview: c.Overview, Lead: c.Lead, State: c.State,
			Location: d.Cfg.Location(), Generator: "coordbot", Publisher: d.Cfg.Bot.Name, Namespace: "https://" + d.domain() + "/"}
		if c.State == store.CasePublished || c.State == store.CaseClosed {
			a.Published, a.Updated = c.Publication, c.Updated
		}
		for _, p := range parts {
			v, err := tx.Vendor(p.Vendor)
			if err != nil {
				return err
			}
			a.Vendors = append(a.Vendors, export.Vendor{ID: v.ID, Name: v.Name, ReceivedDetail: !p.DetailSent.IsZero(),
				Status: p.Status, Comment: p.Comment, URL: p.URL, Updated: p.LastInbound})
		}
		return nil
	})
	return a, err
}
