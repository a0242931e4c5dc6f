package desk

import (
	"fmt"
	"time"

	"github.com/coordbot/coordbot/mailbot/process"
	"github.com/coordbot/coordbot/store"
)

// caseOp runs one rule over a case and its vendors, and persists the case,
// the participations and the effect in one transaction.
func (d *Desk) caseOp(what, caseID string, fn func(now time.Time, c *store.Case, parts []*store.Participation) (process.Effect, error)) error {
	return d.caseOpTx(what, caseID, func(_ *store.Tx, now time.Time, c *store.Case, parts []*store.Participation) (process.Effect, error) {
		return fn(now, c, parts)
	})
}

// caseOpTx is caseOp for rules that need the transaction too.
func (d *Desk) caseOpTx(what, caseID string, fn func(tx *store.Tx, now time.Time, c *store.Case, parts []*store.Participation) (process.Effect, error)) error {
	now := d.Now()
	queued := false
	err := d.Store.Update(func(tx *store.Tx) error {
		c, err := tx.Case(caseID)
		if err != nil {
			return err
		}
		parts, err := tx.Participations(caseID)
		if err != nil {
			return err
		}
		eff, err := fn(tx, now, c, parts)
		if err != nil {
			return err
		}
		for _, p := range parts {
			if err := tx.PutParticipation(p); err != nil {
				return err
			}
		}
		if err := tx.PutCase(c); err != nil {
			return err
		}
		queued = len(eff.Notices) > 0
		return d.apply(tx, now, c, eff)
	})
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, caseID, err)
	}
	d.Log.Info("case "+what, "case", caseID)
	if queued {
		d.queued()
	}
	return nil
}

// SetDate sets or moves the publication date. coordinator is true for the
// CLI and for signed coordinator commands: both speak for the desk.
func (d *Desk) SetDate(caseID string, when time.Time, coordinator bool) error {
	return d.caseOp("date", caseID, func(now time.Time, c *store.Case, parts []*store.Participation) (process.Effect, error) {
		return process.SetDate(now, c, when, parts, process.ActorCLI, coordinator)
	})
}

// SetLead records a foreign coordinator leading the case (§4-6).
func (d *Desk) SetLead(caseID, lead string) error {
	return d.caseOp("lead", caseID, func(now time.Time, c *store.Case, _ []*store.Participation) (process.Effect, error) {
		return process.SetLead(now, c, lead, process.ActorCLI)
	})
}

// Publish marks a case published and tells its vendors.
func (d *Desk) Publish(caseID string) error {
	return d.caseOp("publish", caseID, func(now time.Time, c *store.Case, parts []*store.Participation) (process.Effect, error) {
		return process.Publish(now, c, parts, process.ActorCLI)
	})
}

// Cancel ends a case without publication (§4-2).
func (d *Desk) Cancel(caseID, reason string) error {
	return d.caseOp("cancel", caseID, func(now time.Time, c *store.Case, parts []*store.Participation) (process.Effect, error) {
		return process.Cancel(now, c, reason, parts, process.ActorCLI)
	})
}

// Close files a finished case.
func (d *Desk) Close(caseID string) error {
	return d.caseOp("close", caseID, func(now time.Time, c *store.Case, _ []*store.Participation) (process.Effect, error) {
		return process.Close(now, c, process.ActorCLI)
	})
}

// ApproveCustomerNotice records consent to a vendor's pre-publication
// customer notice (§6-3) and tells the vendor.
func (d *Desk) ApproveCustomerNotice(caseID, vendorID string) error {
	return d.caseOp("customer-notice", caseID, func(now time.Time, c *store.Case, parts []*store.Participation) (process.Effect, error) {
		for _, p := range parts {
			if p.Vendor == vendorID {
				return process.ApproveCustomerNotice(now, c, p, process.ActorCLI)
			}
		}
		return process.Effect{}, fmt.Errorf("vendor %s on case %s: %w", vendorID, caseID, store.ErrNotFound)
	})
}

// PriorityNotify sends the early notice to the configured
// critical-infrastructure list (§4-4).
func (d *Desk) PriorityNotify(caseID string) error {
	return d.caseOp("priority-notify", caseID, func(now time.Time, c *store.Case, _ []*store.Participation) (process.Effect, error) {
		return process.PriorityNotify(now, c, len(d.Cfg.Priority), process.ActorCLI)
	})
}
