package process

import (
	"errors"
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
			eff, err := OverviewAnswer(t0, pol, c, v, p, tt.ans, Inbound{MessageID: "m1@acme.example", From: "psirt@acme.example"})
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
