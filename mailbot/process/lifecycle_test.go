package process

import (
	"errors"
	"testing"
	"time"

	"github.com/coordbot/coordbot/store"
)

func parts(states ...string) []*store.Participation {
	var out []*store.Participation
	for i, s := range states {
		out = append(out, &store.Participation{Case: "JVNVU#12345678", Vendor: string(rune('a' + i)), State: s})
	}
	return out
}

func kindsTo(eff Effect) map[string]int {
	m := map[string]int{}
	for _, n := range eff.Notices {
		m[n.Kind+":"+n.Vendor]++
	}
	return m
}

func TestSetDate(t *testing.T) {
	later := t0.AddDate(0, 0, 30)
	tests := []struct {
		name        string
		state, lead string
		when        time.Time
		coordinator bool
		parts       []*store.Participation
		wantErr     error
		wantNotices int
	}{
		{"set: date notice to vendors with the detail only (§8-1)", store.CaseActive, "", later, true,
			parts(store.PartDetailSent, store.PartOverviewSent, store.PartDetailSent, store.PartNoProduct), nil, 2},
		{"moved earlier after a leak (§8-5)", store.CaseScheduled, "", t0.Add(time.Hour), true, parts(store.PartDetailSent), nil, 1},
		{"in the past", store.CaseActive, "", t0.Add(-time.Hour), true, nil, ErrDateInPast, 0},
		{"foreign lead, not from a coordinator (§4-6)", store.CaseActive, "CERT/CC VU#123456", later, false, nil, ErrLeadSetsDate, 0},
		{"foreign lead, from a coordinator", store.CaseActive, "CERT/CC VU#123456", later, true, parts(store.PartDetailSent), nil, 1},
		{"published", store.CasePublished, "", later, true, nil, ErrBadState, 0},
		{"cancelled", store.CaseCancelled, "", later, true, nil, ErrBadState, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &store.Case{ID: "JVNVU#12345678", State: tt.state, Lead: tt.lead}
			eff, err := SetDate(t0, c, tt.when, tt.parts, ActorCLI, tt.coordinator)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if len(eff.Notices) != tt.wantNotices {
				t.Fatalf("notices %+v", eff.Notices)
			}
			if err == nil && (c.State != store.CaseScheduled || !c.Publication.Equal(tt.when)) {
				t.Fatalf("case %+v", c)
			}
			for _, n := range eff.Notices {
				if n.Kind != KindDate {
					t.Fatalf("kind %s", n.Kind)
				}
			}
		})
	}
}

func TestPublishCancelClose(t *testing.T) {
	ps := parts(store.PartDetailSent, store.PartNoProduct, store.PartRegistrationRequested, store.PartNew)
	tests := []struct {
		name      string
		state     string
		run       func(c *store.Case) (Effect, error)
		wantErr   error
		wantState string
		notices   int
	}{
		{"publish scheduled", store.CaseScheduled, func(c *store.Case) (Effect, error) { return Publish(t0, c, ps, ActorCLI) }, nil, store.CasePublished, 2},
		{"publish twice", store.CasePublished, func(c *store.Case) (Effect, error) { return Publish(t0, c, ps, ActorCLI) }, ErrBadState, store.CasePublished, 0},
		{"publish a draft", store.CaseDraft, func(c *store.Case) (Effect, error) { return Publish(t0, c, ps, ActorCLI) }, ErrBadState, store.CaseDraft, 0},
		{"cancel known", store.CaseActive, func(c *store.Case) (Effect, error) { return Cancel(t0, c, "known", ps, ActorCLI) }, nil, store.CaseCancelled, 2},
		{"cancel users-notified", store.CaseScheduled, func(c *store.Case) (Effect, error) { return Cancel(t0, c, "users-notified", ps, ActorCLI) }, nil, store.CaseCancelled, 2},
		{"no-impact, several vendors (§4-2)", store.CaseActive, func(c *store.Case) (Effect, error) { return Cancel(t0, c, "no-impact", ps, ActorCLI) }, ErrNoImpactSingle, store.CaseActive, 0},
		{"no-impact, single vendor", store.CaseActive, func(c *store.Case) (Effect, error) { return Cancel(t0, c, "no-impact", ps[:1], ActorCLI) }, nil, store.CaseCancelled, 1},
		{"bad reason", store.CaseActive, func(c *store.Case) (Effect, error) { return Cancel(t0, c, "bored", ps, ActorCLI) }, ErrBadReason, store.CaseActive, 0},
		{"cancel published", store.CasePublished, func(c *store.Case) (Effect, error) { return Cancel(t0, c, "known", ps, ActorCLI) }, ErrBadState, store.CasePublished, 0},
		{"close published", store.CasePublished, func(c *store.Case) (Effect, error) { return Close(t0, c, ActorCLI) }, nil, store.CaseClosed, 0},
		{"close active", store.CaseActive, func(c *store.Case) (Effect, error) { return Close(t0, c, ActorCLI) }, ErrBadState, store.CaseActive, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &store.Case{ID: "JVNVU#12345678", State: tt.state}
			eff, err := tt.run(c)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if c.State != tt.wantState || len(eff.Notices) != tt.notices {
				t.Fatalf("state %s notices %v", c.State, kindsTo(eff))
			}
		})
	}
}

func TestRegistrationFlow(t *testing.T) {
	c := &store.Case{ID: "JVNVU#12345678", State: store.CaseDraft}
	v := vendor(store.RegPending, store.Contact{Addr: "info@gamma.example"})
	p := &store.Participation{Case: c.ID, Vendor: v.ID}
	if _, err := NotifyOverview(t0, pol, c, v, p, ActorCLI); !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("overview to an unregistered vendor: %v", err)
	}
	eff, err := RequestRegistration(t0, pol, c, v, p, ActorCLI)
	if err != nil || p.State != store.PartRegistrationRequested || eff.Notices[0].Kind != KindRegistration {
		t.Fatalf("request: %v %+v", err, eff)
	}
	if !c.Start.Equal(t0) || !c.Target.Equal(t0.AddDate(0, 0, 45)) {
		t.Fatalf("start %v target %v: the registration request is the first notice", c.Start, c.Target)
	}
	if _, err := RequestRegistration(t0, pol, c, v, p, ActorCLI); err == nil {
		t.Fatal("second request accepted")
	}
	later := t0.Add(48 * time.Hour)
	effs, err := Registered(later, pol, v, "Taro", []*store.Case{c}, []*store.Participation{p}, Inbound{MessageID: "r1"})
	if err != nil || len(effs) != 1 {
		t.Fatal(err)
	}
	eff = effs[0]
	if v.Registration != store.RegIndividual || v.Manager != "Taro" || p.State != store.PartOverviewSent {
		t.Fatalf("after registration: %+v %+v", v, p)
	}
	if k := kindsTo(eff); k["overview:acme"] != 1 {
		t.Fatalf("held overview not released: %v", k)
	}
	if _, err := Registered(later, pol, v, "", nil, nil, Inbound{}); !errors.Is(err, ErrBadState) {
		t.Fatalf("registering twice: %v", err)
	}
}
