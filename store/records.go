// Package store keeps everything coordbot knows in one bbolt file: vendors,
// cases, participations, the per-case event trail, the inbound ledger and the
// outbox. Records are JSON inside bbolt buckets so that migrations stay simple
// and a dump stays readable.
package store

import "time"

// Registration kinds of a vendor (guideline §1-1).
const (
	RegGeneral    = "general"
	RegIndividual = "individual"
	RegPending    = "pending"
)

// Vendor is a product developer registered with the desk.
type Vendor struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Registration string    `json:"registration"`
	Manager      string    `json:"manager,omitempty"`
	Contacts     []Contact `json:"contacts"`
	Postal       string    `json:"postal,omitempty"`
	Phone        string    `json:"phone,omitempty"`
	Keys         []Key     `json:"keys,omitempty"`
	Keywords     []string  `json:"keywords,omitempty"`
	Lang         string    `json:"lang"`
	// Community marks an open-source project or individual developer: the
	// unreachable pages use the community wording (Figs. 4-2, 5-2).
	Community bool      `json:"community,omitempty"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
}

// Contact is one registered address of a vendor.
type Contact struct {
	Addr string `json:"addr"`
	// Public marks a list or forum address: nothing confidential goes there (§2-3).
	Public bool `json:"public,omitempty"`
	// Failing is set when a bounce said the address does not work.
	Failing     bool      `json:"failing,omitempty"`
	FailingNote string    `json:"failing_note,omitempty"`
	FailingAt   time.Time `json:"failing_at,omitempty"`
}

// Key is an OpenPGP public key pinned for a vendor.
type Key struct {
	Fingerprint string    `json:"fingerprint"`
	Armored     string    `json:"armored"`
	Added       time.Time `json:"added"`
	// Pending keys arrived by mail and wait for a coordinator's confirmation.
	Pending bool `json:"pending,omitempty"`
}

// Addrs returns the vendor's contact addresses.
func (v *Vendor) Addrs() []string {
	out := make([]string, 0, len(v.Contacts))
	for _, c := range v.Contacts {
		out = append(out, c.Addr)
	}
	return out
}

// Case states (DESIGN §2).
const (
	CaseDraft     = "draft"
	CaseActive    = "active"
	CaseScheduled = "scheduled"
	CasePublished = "published"
	CaseClosed    = "closed"
	CaseCancelled = "cancelled"
)

// Case is one vulnerability under coordination.
type Case struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Overview string   `json:"overview"`
	Detail   string   `json:"detail"`
	Attach   []Attach `json:"attachments,omitempty"`
	Keywords []string `json:"keywords,omitempty"`
	Lead     string   `json:"lead"`
	Reporter string   `json:"reporter,omitempty"`
	// Start is the 起算日: the instant the first notice to any vendor was queued.
	Start        time.Time `json:"start,omitempty"`
	Target       time.Time `json:"target,omitempty"`
	Publication  time.Time `json:"publication,omitempty"`
	State        string    `json:"state"`
	CancelReason string    `json:"cancel_reason,omitempty"`
	Shares       []Share   `json:"shares,omitempty"`
	Created      time.Time `json:"created"`
	Updated      time.Time `json:"updated"`
}

// Share is a related organisation a vendor asked the desk to serve (§8-2).
// It is served only after it wrote to the desk quoting the case ID and a
// coordinator approved it.
type Share struct {
	Vendor    string    `json:"vendor"`
	Org       string    `json:"org"`
	Person    string    `json:"person,omitempty"`
	Addr      string    `json:"addr"`
	Requested time.Time `json:"requested"`
	Contacted time.Time `json:"contacted,omitempty"`
	// Keys the organisation sent with its first mail, pinned on approval.
	Keys     []string  `json:"keys,omitempty"`
	Approved time.Time `json:"approved,omitempty"`
	VendorID string    `json:"vendor_id,omitempty"`
}

// Attach is a detail attachment: confidential like the detail itself.
type Attach struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Data        []byte `json:"data"`
}

// Participation states (DESIGN §2).
const (
	PartNew                   = ""
	PartRegistrationRequested = "registration-requested"
	PartOverviewSent          = "overview-sent"
	PartNoProduct             = "no-product"
	PartDetailRequested       = "detail-requested"
	PartDetailHeld            = "detail-held"
	PartDetailSent            = "detail-sent"
	PartUnreachable           = "unreachable"
)

// Public statuses (guideline §6-2, §6-4).
const (
	StatusInfoProvided             = "info-provided"
	StatusAffected                 = "affected"
	StatusAffectedInvestigating    = "affected-investigating"
	StatusNotAffected              = "not-affected"
	StatusNotAffectedInvestigating = "not-affected-investigating"
)

// Participation is one vendor's part in one case.
type Participation struct {
	Case             string    `json:"case"`
	Vendor           string    `json:"vendor"`
	State            string    `json:"state"`
	Status           string    `json:"status,omitempty"`
	Comment          string    `json:"comment,omitempty"`
	URL              string    `json:"url,omitempty"`
	FixPlan          string    `json:"fix_plan,omitempty"`
	Schedule         string    `json:"schedule,omitempty"`
	Added            time.Time `json:"added"`
	OverviewSent     time.Time `json:"overview_sent,omitempty"`
	DetailSent       time.Time `json:"detail_sent,omitempty"`
	LastInbound      time.Time `json:"last_inbound,omitempty"`
	RemindersSent    int       `json:"reminders_sent,omitempty"`
	UnreachableStage int       `json:"unreachable_stage"`
	// RegistrationRequested and StageApplied repeat the times of the
	// registration-requested and unreachable-stage events, so that the
	// scheduler need not read the trail.
	RegistrationRequested time.Time `json:"registration_requested,omitempty"`
	StageApplied          time.Time `json:"stage_applied,omitempty"`
	DID                   string    `json:"did,omitempty"`
	// Products are published from unreachable stage 2 on (§7-1, Fig. 4):
	// "name" or "name version", given by a coordinator.
	Products []string `json:"products,omitempty"`
}

// Event is one entry of a case's append-only audit trail. It never holds
// the detail text.
type Event struct {
	Seq       uint64    `json:"seq"`
	Time      time.Time `json:"time"`
	Actor     string    `json:"actor"`
	Kind      string    `json:"kind"`
	Vendor    string    `json:"vendor,omitempty"`
	MessageID string    `json:"message_id,omitempty"`
	Summary   string    `json:"summary,omitempty"`
	// Authenticated tells whether the inbound message behind the event carried
	// a valid signature by the sender's pinned key.
	Authenticated bool `json:"authenticated,omitempty"`
}

// Inbound outcomes recorded in the ledger; the outcome also names the
// mailbox the message belongs in.
const (
	OutcomeApplied    = "applied"
	OutcomeAutoReply  = "auto-reply"
	OutcomeBounce     = "bounce"
	OutcomeOwn        = "own"
	OutcomeDuplicate  = "duplicate"
	OutcomeQuarantine = "quarantine"
)

// LedgerEntry records one inbound message and what became of it. It is
// written in the same transaction as the state change it caused.
type LedgerEntry struct {
	Hash      string    `json:"hash"`
	MessageID string    `json:"message_id,omitempty"`
	Mailbox   string    `json:"mailbox"`
	UIDValid  uint32    `json:"uidvalidity"`
	UID       uint32    `json:"uid"`
	Time      time.Time `json:"time"`
	From      string    `json:"from,omitempty"`
	Case      string    `json:"case,omitempty"`
	Vendor    string    `json:"vendor,omitempty"`
	Outcome   string    `json:"outcome"`
	Reason    string    `json:"reason,omitempty"`
	// Dest is the mailbox the message is moved to after the commit.
	Dest      string `json:"dest"`
	Encrypted bool   `json:"encrypted,omitempty"`
	SignedBy  string `json:"signed_by,omitempty"`
	// RawChunks is set when the raw message was stored in pieces by
	// PutRawChunks (large messages) instead of with the entry.
	RawChunks     int  `json:"raw_chunks,omitempty"`
	Authenticated bool `json:"authenticated,omitempty"`
}

// Outbox entry states.
const (
	OutQueued = "queued"
	OutSent   = "sent"
	OutFailed = "failed"
)

// OutboxEntry is one notice, rendered and sealed before it is queued, so a
// retry sends the same bytes with the same Message-ID.
type OutboxEntry struct {
	Seq       uint64   `json:"seq"`
	MessageID string   `json:"message_id"`
	Case      string   `json:"case,omitempty"`
	Vendor    string   `json:"vendor,omitempty"`
	Kind      string   `json:"kind"`
	From      string   `json:"from"`
	To        []string `json:"to"`
	// Raw is kept in its own bucket, not in the JSON record: rewriting
	// the record after each attempt then costs no base64 of the message.
	Raw         []byte    `json:"-"`
	Encrypted   bool      `json:"encrypted,omitempty"`
	Created     time.Time `json:"created"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt"`
	State       string    `json:"state"`
	LastError   string    `json:"last_error,omitempty"`
	SentAt      time.Time `json:"sent_at,omitempty"`
}

// MessageRef maps a Message-ID the robot wrote to what it was about, so a
// reply without the case ID in its Subject can still be placed.
type MessageRef struct {
	Case   string `json:"case"`
	Vendor string `json:"vendor,omitempty"`
	Kind   string `json:"kind"`
}

// Cursor is how far a mailbox has been read.
type Cursor struct {
	UIDValidity uint32 `json:"uidvalidity"`
	LastUID     uint32 `json:"last_uid"`
}
