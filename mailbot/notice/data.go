package notice

// Data is everything a notice template may use. Vendor-supplied strings are
// data here: text/template never parses them.
type Data struct {
	Desk            string
	CaseID          string
	Title           string
	Overview        string
	VendorID        string
	VendorName      string
	AnswerFrom      string
	AnswerMessageID string
	RecordedJA      []string
	RecordedEN      []string
	Detail          string
	TargetDate      string
	PublicationDate string
	CancelReasonJA  string
	CancelReasonEN  string
	Reason          string
	From            string
	MessageID       string
	Quarantine      string
	OldKey          string
	NewKey          string
	PublicKey       string
	// Scheduler notices.
	State     string // the vendor's participation state (reminders)
	Stage     string // the unreachable stage proposed or answered
	StageText string
	Commands  []string // the exact command lines that apply a proposal
	Before    bool     // a reminder before the publication date
	Months    string   // 11 or 12 (one-year notices)
	// Command transcripts.
	Transcript string
	Errors     string
	Preview    bool
}
