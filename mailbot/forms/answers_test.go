package forms

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// expectation is one entry of testdata/answers/expect.json: what the
// robot must read from a vendor's answer, as the text a MIME parser gives.
type expectation struct {
	Kind string `json:"kind"` // the form the robot awaits: overview | status

	Answer string `json:"answer"` // overview: yes | no | none

	// status; OK defaults to true, false means the robot sends the mail to
	// triage.
	OK       *bool  `json:"ok"`
	Status   string `json:"status"`
	Comment  string `json:"comment"`
	URL      string `json:"url"`
	FixPlan  string `json:"fix_plan"`
	Schedule string `json:"schedule"`

	// OtherVendors marks answers saying other vendors may be affected
	// (§3-4). The parser does not detect it yet; the desk will.
	OtherVendors bool `json:"other_vendors"`

	// Cross is what the other form's parser reads; when absent it must
	// read nothing.
	Cross *expectation `json:"cross"`
}

func readCorpus(t *testing.T) (string, map[string]expectation) {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", "answers")
	b, err := os.ReadFile(filepath.Join(dir, "expect.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp map[string]expectation
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatalf("expect.json: %v", err)
	}
	return dir, exp
}

// TestAnswerCorpus reads every answer in testdata/answers with both form
// parsers and compares with expect.json.
func TestAnswerCorpus(t *testing.T) {
	dir, exp := readCorpus(t)
	names, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 40 {
		t.Fatalf("%d answers in the corpus", len(names))
	}
	for _, path := range names {
		name := filepath.Base(path)
		e, ok := exp[name]
		if !ok {
			t.Errorf("%s: not in expect.json", name)
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		check(t, name, text, e)
		other := expectation{Kind: "status", OK: new(bool)}
		if e.Kind == "status" {
			other = expectation{Kind: "overview", Answer: "none"}
		}
		if e.Cross != nil {
			other = *e.Cross
		}
		check(t, name+" (other form)", text, other)

		// A client that sends CRLF line ends reads the same.
		check(t, name+" (crlf)", strings.ReplaceAll(text, "\n", "\r\n"), e)
	}
	for name := range exp {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("expect.json names %s: %v", name, err)
		}
	}
}

func check(t *testing.T, name, text string, e expectation) {
	t.Helper()
	switch e.Kind {
	case "overview":
		a, ok := OverviewAnswer(text)
		if a.String() != e.Answer || ok != (e.Answer != "none") {
			t.Errorf("%s: OverviewAnswer = %v, %v; want %s", name, a, ok, e.Answer)
		}
	case "status":
		want := Report{Status: e.Status, Comment: e.Comment, URL: e.URL, FixPlan: e.FixPlan, Schedule: e.Schedule}
		wantOK := e.OK == nil || *e.OK
		if !wantOK {
			want = Report{}
		}
		got, ok := StatusReport(text)
		if got != want || ok != wantOK {
			t.Errorf("%s: StatusReport =\n%+v, %v; want\n%+v, %v", name, got, ok, want, wantOK)
		}
	default:
		t.Errorf("%s: kind %q", name, e.Kind)
	}
}

// TestAnswerCorpusCoverage keeps the corpus covering what the brief asks:
// each status, each overview answer, both outcomes.
func TestAnswerCorpusCoverage(t *testing.T) {
	_, exp := readCorpus(t)
	var seen []string
	for _, e := range exp {
		switch {
		case e.Kind == "overview":
			seen = append(seen, "overview:"+e.Answer)
		case e.OK != nil && !*e.OK:
			seen = append(seen, "status:triage")
		default:
			seen = append(seen, "status:"+e.Status)
		}
		if e.OtherVendors {
			seen = append(seen, "other-vendors")
		}
	}
	for _, want := range []string{"overview:yes", "overview:no", "overview:none", "status:triage", "status:",
		"status:" + StatusAffected, "status:" + StatusAffectedInvestigating,
		"status:" + StatusNotAffected, "status:" + StatusNotAffectedInvestigating, "other-vendors"} {
		if !slices.Contains(seen, want) {
			t.Errorf("no answer in the corpus for %s", want)
		}
	}
}

// FuzzCorpus starts from the real answers: whatever is done to them, a
// reading never carries a status outside the four, and a quoted answer is
// never read.
func FuzzCorpus(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "answers", "*.txt"))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, text string) {
		r, ok := StatusReport(text)
		switch r.Status {
		case "", StatusAffected, StatusAffectedInvestigating, StatusNotAffected, StatusNotAffectedInvestigating:
		default:
			t.Fatalf("status %q", r.Status)
		}
		if ok != (r != Report{}) {
			t.Fatalf("StatusReport = %+v, %v", r, ok)
		}
		if _, ok := StatusReport(quote(text, "> ")); ok {
			t.Fatalf("quoted answer read")
		}
		if _, ok := OverviewAnswer(quote(text, "＞")); ok {
			t.Fatalf("quoted answer read")
		}
	})
}
