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
		stage4 := false
		for _, p := range parts {
			stage4 = stage4 || p.UnreachableStage >= 4
		}
		if stage4 && a.State != store.CaseDraft {
			// Fig. 6: a case published through the unreachable track carries
			// its history: stages applied and publication.
			evs, err := tx.Events(caseID)
			if err != nil {
				return err
			}
			for _, e := range evs {
				switch e.Kind {
				case EvUnreachableStage, "published", "date-set":
					a.Timeline = append(a.Timeline, export.Entry{Time: e.Time, Text: timelineText(e)})
				}
			}
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

// timelineText words an event for the public Fig. 6 history: the stage,
// never the vendor's identity beyond what the list already shows.
func timelineText(e store.Event) string {
	switch e.Kind {
	case "published":
		return "公表 / published"
	case "date-set":
		return "公表日決定 / publication date set"
	}
	return e.Summary
}
