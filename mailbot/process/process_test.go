package process

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coordbot/coordbot/store"
)

var (
	tokyo, _ = time.LoadLocation("Asia/Tokyo")
	t0       = time.Date(2027, 1, 10, 9, 30, 0, 0, tokyo)
	pol      = Policy{PublicationDays: 45, Location: tokyo, AutoSendDetail: true, RequireEncryptedDetail: true}
)

func vendor(reg string, contacts ...store.Contact) *store.Vendor {
	return &store.Vendor{ID: "acme", Name: "ACME", Registration: reg, Contacts: contacts, Lang: "ja"}
}

func TestNotifyOverview(t *testing.T) {
	priv := store.Contact{Addr: "psirt@acme.example"}
	public := store.Contact{Addr: "list@acme.example", Public: true}
	tests := []struct {
		name      string
		caseState string
		reg       string
		contacts  []store.Contact
		partState string
		wantErr   error
		wantState string
	}{
		{"registered vendor", store.CaseDraft, store.RegGeneral, []store.Contact{priv}, store.PartNew, nil, store.PartOverviewSent},
		{"individual vendor", store.CaseActive, store.RegIndividual, []store.Contact{priv}, store.PartNew, nil, store.PartOverviewSent},
		{"already sent", store.CaseActive, store.RegGeneral, []store.Contact{priv}, store.PartOverviewSent, ErrAlreadySent, store.PartOverviewSent},
		{"not registered (§2-3)", store.CaseActive, store.RegPending, []store.Contact{priv}, store.PartNew, ErrNotRegistered, store.PartNew},
		{"only a public list (§2-3)", store.CaseActive, store.RegGeneral, []store.Contact{public}, store.PartNew, ErrNoContact, store.PartNew},
		{"closed case", store.CaseClosed, store.RegGeneral, []store.Contact{priv}, store.PartNew, ErrCaseClosed, store.PartNew},
		{"cancelled case", store.CaseCancelled, store.RegGeneral, []store.Contact{priv}, store.PartNew, ErrCaseClosed, store.PartNew},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &store.Case{ID: "JVNVU#12345678", State: tt.caseState}
			v := vendor(tt.reg, tt.contacts...)
			p := &store.Participation{Case: c.ID, Vendor: v.ID, State: tt.partState}
			eff, err := NotifyOverview(t0, pol, c, v, p, ActorCLI)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if p.State != tt.wantState {
				t.Fatalf("state %q, want %q", p.State, tt.wantState)
			}
			if tt.wantErr != nil {
				if len(eff.Notices)+len(eff.Events) != 0 || !c.Start.IsZero() {
					t.Fatalf("refusal changed something: %+v %+v", eff, c)
				}
				return
			}
			if len(eff.Notices) != 1 || eff.Notices[0].Kind != KindOverview || eff.Notices[0].Vendor != "acme" {
				t.Fatalf("notices %+v", eff.Notices)
			}
			if len(eff.Events) != 1 || eff.Events[0].Kind != EvOverviewSent {
				t.Fatalf("events %+v", eff.Events)
			}
		})
	}
}

// §4-1: the start is the first notice; the target is 45 days later at the
// same clock time in the desk's zone, and a second notice moves neither.
func TestStartAndTarget(t *testing.T) {
	c := &store.Case{ID: "JVNVU#12345678", State: store.CaseDraft}
	v := vendor(store.RegGeneral, store.Contact{Addr: "psirt@acme.example"})
	p := &store.Participation{Case: c.ID, Vendor: v.ID}
	if _, err := NotifyOverview(t0, pol, c, v, p, ActorCLI); err != nil {
		t.Fatal(err)
	}
	if !c.Start.Equal(t0) || c.State != store.CaseActive {
		t.Fatalf("start %v state %s", c.Start, c.State)
	}
	want := time.Date(2027, 2, 24, 9, 30, 0, 0, tokyo)
	if !c.Target.Equal(want) {
		t.Fatalf("target %v, want %v", c.Target, want)
	}
	v2 := &store.Vendor{ID: "beta", Registration: store.RegGeneral, Contacts: []store.Contact{{Addr: "s@beta.example"}}}
	p2 := &store.Participation{Case: c.ID, Vendor: v2.ID}
	if _, err := NotifyOverview(t0.Add(48*time.Hour), pol, c, v2, p2, ActorCLI); err != nil {
		t.Fatal(err)
	}
	if !c.Start.Equal(t0) || !c.Target.Equal(want) {
		t.Fatal("a later notice moved the start or target")
	}
}

func TestOverviewAnswer(t *testing.T) {
	tests := []struct {
		name       string
		caseState  string
		from       string
		ans        Answer
		wantErr    error
		wantState  string
		wantEvent  string
		wantNotice bool
	}{
		{"yes", store.CaseActive, store.PartOverviewSent, AnswerYes, nil, store.PartDetailRequested, EvDetailRequested, true},
		{"no", store.CaseActive, store.PartOverviewSent, AnswerNo, nil, store.PartNoProduct, EvNoProduct, true},
		{"yes again", store.CaseActive, store.PartDetailRequested, AnswerYes, nil, store.PartDetailRequested, EvAnswerRepeated, false},
		{"no again", store.CaseActive, store.PartNoProduct, AnswerNo, nil, store.PartNoProduct, EvAnswerRepeated, false},
		{"no after yes", store.CaseActive, store.PartDetailRequested, AnswerNo, ErrUnexpectedReply, store.PartDetailRequested, "", false},
		{"yes before any overview", store.CaseActive, store.PartNew, AnswerYes, ErrUnexpectedReply, store.PartNew, "", false},
		{"yes after no", store.CaseActive, store.PartNoProduct, AnswerYes, ErrUnexpectedReply, store.PartNoProduct, "", false},
		{"answer on a closed case", store.CaseClosed, store.PartOverviewSent, AnswerYes, ErrCaseClosed, store.PartOverviewSent, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &store.Case{ID: "JVNVU#12345678", State: tt.caseState}
			v := vendor(store.RegGeneral, store.Contact{Addr: "psirt@acme.example"})
			p := &store.Participation{Case: c.ID, Vendor: v.ID, State: tt.from}
			manual := pol
			manual.AutoSendDetail = false
			eff, err := OverviewAnswer(t0, manual, c, v, p, tt.ans, Inbound{MessageID: "m1@acme.example", From: "psirt@acme.example"})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if p.State != tt.wantState {
				t.Fatalf("state %q, want %q", p.State, tt.wantState)
			}
			if tt.wantEvent == "" {
				if len(eff.Events) != 0 {
					t.Fatalf("events on refusal: %+v", eff.Events)
				}
			} else if len(eff.Events) != 1 || eff.Events[0].Kind != tt.wantEvent || eff.Events[0].MessageID != "m1@acme.example" {
				t.Fatalf("events %+v, want one %s", eff.Events, tt.wantEvent)
			}
			if got := len(eff.Notices) == 1; got != tt.wantNotice {
				t.Fatalf("notices %+v", eff.Notices)
			}
			if tt.wantNotice {
				n := eff.Notices[0]
				if n.Kind != KindAck || n.InReplyTo != "m1@acme.example" || n.Vendor != "acme" {
					t.Fatalf("ack %+v", n)
				}
			}
		})
	}
}

// After "yes" with auto_send_detail: the detail goes when the vendor has a
// key (or plaintext is allowed), else it is held and coordinators told.
func TestAutoDetail(t *testing.T) {
	tests := []struct {
		name       string
		reg        string
		canEncrypt bool
		requireEnc bool
		wantState  string
		wantKinds  []string // notice kinds in order
	}{
		{"key: detail sent", store.RegGeneral, true, true, store.PartDetailSent, []string{KindAck, KindDetail}},
		{"no key: held", store.RegGeneral, false, true, store.PartDetailHeld, []string{KindAck, KindDetailHeldNote}},
		{"no key, plaintext allowed", store.RegIndividual, false, false, store.PartDetailSent, []string{KindAck, KindDetail}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &store.Case{ID: "JVNVU#12345678", State: store.CaseActive, Start: t0}
			v := vendor(tt.reg, store.Contact{Addr: "psirt@acme.example"})
			p := &store.Participation{Case: c.ID, Vendor: v.ID, State: store.PartOverviewSent}
			po := pol
			po.RequireEncryptedDetail = tt.requireEnc
			eff, err := OverviewAnswer(t0, po, c, v, p, AnswerYes, Inbound{MessageID: "m1", CanEncrypt: tt.canEncrypt})
			if err != nil {
				t.Fatal(err)
			}
			if p.State != tt.wantState {
				t.Fatalf("state %s, want %s", p.State, tt.wantState)
			}
			var kinds []string
			for _, n := range eff.Notices {
				kinds = append(kinds, n.Kind)
				if n.Kind == KindDetailHeldNote && !n.ToCoordinators {
					t.Fatal("detail-held notice not to coordinators")
				}
			}
			if strings.Join(kinds, ",") != strings.Join(tt.wantKinds, ",") {
				t.Fatalf("notices %v, want %v", kinds, tt.wantKinds)
			}
			if tt.wantState == store.PartDetailSent && p.Status != store.StatusInfoProvided {
				t.Fatalf("default status %q", p.Status)
			}
		})
	}
}

func TestNotifyDetail(t *testing.T) {
	tests := []struct {
		name      string
		from      string
		reg       string
		canEnc    bool
		wantErr   error
		wantState string
	}{
		{"obvious vendor, straight away (§2)", store.PartNew, store.RegGeneral, true, nil, store.PartDetailSent},
		{"after request", store.PartDetailRequested, store.RegGeneral, true, nil, store.PartDetailSent},
		{"held, key now imported", store.PartDetailHeld, store.RegGeneral, true, nil, store.PartDetailSent},
		{"held, still no key", store.PartDetailHeld, store.RegGeneral, false, ErrNoKey, store.PartDetailHeld},
		{"twice", store.PartDetailSent, store.RegGeneral, true, ErrAlreadySent, store.PartDetailSent},
		{"unregistered (§2-3)", store.PartRegistrationRequested, store.RegPending, true, ErrNotRegistered, store.PartRegistrationRequested},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &store.Case{ID: "JVNVU#12345678", State: store.CaseActive}
			v := vendor(tt.reg, store.Contact{Addr: "psirt@acme.example"})
			p := &store.Participation{Case: c.ID, Vendor: v.ID, State: tt.from}
			eff, err := NotifyDetail(t0, pol, c, v, p, tt.canEnc, ActorCLI)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if p.State != tt.wantState {
				t.Fatalf("state %s, want %s", p.State, tt.wantState)
			}
			if err != nil && len(eff.Notices) > 0 {
				t.Fatal("refusal queued a notice")
			}
			if err == nil && tt.wantState == store.PartDetailSent && (c.Start.IsZero() || eff.Notices[0].Kind != KindDetail) {
				t.Fatalf("start %v notices %+v", c.Start, eff.Notices)
			}
		})
	}
}

func TestStatusReport(t *testing.T) {
	tests := []struct {
		name    string
		from    string
		rep     Report
		wantErr error
		want    string
	}{
		{"affected", store.PartDetailSent, Report{Status: store.StatusAffected, Comment: "fixed in 2.1"}, nil, store.StatusAffected},
		{"comment only keeps status", store.PartDetailSent, Report{Comment: "later"}, nil, store.StatusInfoProvided},
		{"before the detail", store.PartOverviewSent, Report{Status: store.StatusNotAffected}, ErrUnexpectedReply, ""},
		{"unknown status", store.PartDetailSent, Report{Status: "maybe"}, ErrUnexpectedReply, store.StatusInfoProvided},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &store.Case{ID: "JVNVU#12345678", State: store.CaseActive}
			v := vendor(store.RegGeneral, store.Contact{Addr: "psirt@acme.example"})
			p := &store.Participation{Case: c.ID, Vendor: v.ID, State: tt.from}
			if tt.from == store.PartDetailSent {
				p.Status = store.StatusInfoProvided
			}
			eff, err := StatusReport(t0, c, v, p, tt.rep, Inbound{MessageID: "s1", Authenticated: true})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if p.Status != tt.want {
				t.Fatalf("status %q, want %q", p.Status, tt.want)
			}
			if err == nil && (len(eff.Events) != 1 || !eff.Events[0].Authenticated || eff.Notices[0].Kind != KindAck) {
				t.Fatalf("effect %+v", eff)
			}
		})
	}
}
