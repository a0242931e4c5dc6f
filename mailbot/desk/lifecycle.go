package desk

import (
	"fmt"
	"time"

	"github.com/coordbot/coordbot/mailbot/process"
	"github.com/coordbot/coordbot/store"
)

// caseRule runs one rule over a case and its vendors, and persists the
// case, the participations and the effect.
func (o *Op) caseRule(caseID string, fn func(tx *store.Tx, now time.Time, c *store.Case, parts []*store.Participation) (process.Effect, error)) error {
	c, err := o.tx.Case(caseID)
	if err != nil {
		return err
	}
	parts, err := o.tx.Participations(caseID)
	if err != nil {
		return err
	}
	eff, err := fn(o.tx, o.now, c, parts)
	if err != nil {
		return err
	}
	for _, p := range parts {
		if err := o.tx.PutParticipation(p); err != nil {
			return err
		}
	}
	if err := o.tx.PutCase(c); err != nil {
		return err
	}
	return o.apply(c, eff)
}

// cli runs one Op method for the CLI, with the log line and error context.
func (d *Desk) cli(what, caseID string, fn func(o *Op) error) error {
	if err := d.Run(process.ActorCLI, fn); err != nil {
		return fmt.Errorf("%s %s: %w", what, caseID, err)
	}
	d.Log.Info("case "+what, "case", caseID)
	return nil
}

// SetDate sets or moves the publication date (CLI: the operator speaks for
// the desk, like a signed coordinator command).
func (d *Desk) SetDate(caseID string, when time.Time, coordinator bool) error {
	return d.cli("date", caseID, func(o *Op) error { o.coordinator = coordinator; return o.SetDate(caseID, when) })
}

// SetDate sets or moves the publication date (§4-1, §8-5).
func (o *Op) SetDate(caseID string, when time.Time) error {
	return o.rule(caseID, func(now time.Time, c *store.Case, parts []*store.Participation) (process.Effect, error) {
		return process.SetDate(now, c, when, parts, o.actor, o.coordinator)
	})
}

// SetLead records a foreign coordinator leading the case (§4-6).
func (d *Desk) SetLead(caseID, lead string) error {
	return d.cli("lead", caseID, func(o *Op) error { return o.SetLead(caseID, lead) })
}

// SetLead records the lead.
func (o *Op) SetLead(caseID, lead string) error {
	return o.rule(caseID, func(now time.Time, c *store.Case, _ []*store.Participation) (process.Effect, error) {
		return process.SetLead(now, c, lead, o.actor)
	})
}

// Publish marks a case published and tells its vendors.
func (d *Desk) Publish(caseID string) error {
	return d.cli("publish", caseID, func(o *Op) error { return o.Publish(caseID) })
}

// Publish marks a case published.
func (o *Op) Publish(caseID string) error {
	return o.rule(caseID, func(now time.Time, c *store.Case, parts []*store.Participation) (process.Effect, error) {
		return process.Publish(now, c, parts, o.actor)
	})
}

// Cancel ends a case without publication (§4-2).
func (d *Desk) Cancel(caseID, reason string) error {
	return d.cli("cancel", caseID, func(o *Op) error { return o.Cancel(caseID, reason) })
}

// Cancel ends a case without publication.
func (o *Op) Cancel(caseID, reason string) error {
	return o.rule(caseID, func(now time.Time, c *store.Case, parts []*store.Participation) (process.Effect, error) {
		return process.Cancel(now, c, reason, parts, o.actor)
	})
}

// Close files a finished case.
func (d *Desk) Close(caseID string) error {
	return d.cli("close", caseID, func(o *Op) error { return o.Close(caseID) })
}

// Close files a finished case.
func (o *Op) Close(caseID string) error {
	return o.rule(caseID, func(now time.Time, c *store.Case, _ []*store.Participation) (process.Effect, error) {
		return process.Close(now, c, o.actor)
	})
}

// ApproveCustomerNotice records consent to a vendor's pre-publication
// customer notice (§6-3) and tells the vendor.
func (d *Desk) ApproveCustomerNotice(caseID, vendorID string) error {
	return d.cli("customer-notice", caseID, func(o *Op) error { return o.ApproveCustomerNotice(caseID, vendorID) })
}

// ApproveCustomerNotice records consent to a customer notice.
func (o *Op) ApproveCustomerNotice(caseID, vendorID string) error {
	return o.rule(caseID, func(now time.Time, c *store.Case, parts []*store.Participation) (process.Effect, error) {
		for _, p := range parts {
			if p.Vendor == vendorID {
				return process.ApproveCustomerNotice(now, c, p, o.actor)
			}
		}
		return process.Effect{}, fmt.Errorf("vendor %s on case %s: %w", vendorID, caseID, store.ErrNotFound)
	})
}

// PriorityNotify sends the early notice to the configured
// critical-infrastructure list (§4-4).
func (d *Desk) PriorityNotify(caseID string) error {
	return d.cli("priority-notify", caseID, func(o *Op) error { return o.PriorityNotify(caseID) })
}

// PriorityNotify sends the early notice.
func (o *Op) PriorityNotify(caseID string) error {
	return o.rule(caseID, func(now time.Time, c *store.Case, _ []*store.Participation) (process.Effect, error) {
		return process.PriorityNotify(now, c, len(o.d.Cfg.Priority), o.actor)
	})
}

// rule is caseRule for rules that do not need the transaction.
func (o *Op) rule(caseID string, fn func(now time.Time, c *store.Case, parts []*store.Participation) (process.Effect, error)) error {
	return o.caseRule(caseID, func(_ *store.Tx, now time.Time, c *store.Case, parts []*store.Participation) (process.Effect, error) {
		return fn(now, c, parts)
	})
}
