package forms_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/coordbot/coordbot/mailbot/forms"
)

// Benchmarks of reading the answer forms from the text a MIME parser gives,
// with answers from testdata/answers.
//
//	go test ./mailbot/forms -run '^$' -bench . -benchmem

func benchAnswer(b *testing.B, name string) string {
	b.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "answers", name))
	if err != nil {
		b.Fatal(err)
	}
	return string(data)
}

// benchForm times parse on one corpus answer, after checking that it
// reads the answer right (ok): a benchmark of a parser that fails is no
// figure.
func benchForm(b *testing.B, name string, ok func(text string) bool, parse func(text string)) {
	text := benchAnswer(b, name)
	if !ok(text) {
		b.Fatalf("%s is not read as expected", name)
	}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		parse(text)
	}
}

func statusAffected(text string) bool {
	r, ok := forms.StatusReport(text)
	return ok && r.Status == forms.StatusAffected
}

func overviewYes(text string) bool {
	a, ok := forms.OverviewAnswer(text)
	return ok && a == forms.AnswerYes
}

func statusReport(text string)   { forms.StatusReport(text) }
func overviewAnswer(text string) { forms.OverviewAnswer(text) }

// A full Japanese status report (every field, answered at the top, the
// notice quoted below).
func BenchmarkStatusReportJA(b *testing.B) {
	benchForm(b, "20-st-ja-affected-full-top.txt", statusAffected, statusReport)
}

// A full English status report with multi-line values.
func BenchmarkStatusReportEN(b *testing.B) {
	benchForm(b, "26-st-en-affected-full.txt", statusAffected, statusReport)
}

// The overview answer ("詳細情報の請求：はい") at the top of a reply.
func BenchmarkOverviewAnswer(b *testing.B) {
	benchForm(b, "01-ov-ja-yes-fullwidth-colon-top.txt", overviewYes, overviewAnswer)
}

// The overview answer under an Outlook "Original Message" block that is not
// quoted: the original's template must not be read as the answer.
func BenchmarkOverviewAnswerOutlook(b *testing.B) {
	benchForm(b, "05-ov-outlook-original-unquoted.txt", overviewYes, overviewAnswer)
}

// Every answer of the corpus through both parsers, as the desk does when it
// does not know which form to expect.
func BenchmarkCorpusBothForms(b *testing.B) {
	names, err := filepath.Glob(filepath.Join("..", "..", "testdata", "answers", "*.txt"))
	if err != nil || len(names) == 0 {
		b.Fatalf("corpus: %v", err)
	}
	var texts []string
	size := 0
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			b.Fatal(err)
		}
		texts = append(texts, string(data))
		size += len(data)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, t := range texts {
			forms.OverviewAnswer(t)
			forms.StatusReport(t)
		}
	}
}
