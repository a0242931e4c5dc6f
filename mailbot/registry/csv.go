package registry

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
)

// csvColumns are the columns ParseCSV knows; id, name and emails are
// required.
var csvColumns = tomlKeys

var csvRequired = []string{"id", "name", "emails"}

// ParseCSV reads a CSV file whose first row names the columns (any order,
// any subset holding id, name and emails; names are case-insensitive, and
// a space or '-' in a name counts as '_'). An unknown column is an error.
// Cells are trimmed. In one cell, emails and public_emails are separated
// by ';' (not ',': a display name may hold one), keywords by ',' or ';' (or
// '、'); a line break inside a quoted cell separates too. postal may span
// several lines. Rows whose cells are all empty are skipped.
//
// The file is UTF-8, with or without a byte order mark; a file that is not
// valid UTF-8 is read as Shift_JIS (Windows-31J), as Japanese Excel saves
// "CSV (コンマ区切り)". Records are normalised (see Normalize) and validated;
// on any problem the result is nil and the error lists every problem.
func ParseCSV(data []byte) ([]Record, error) {
	text, err := csvText(data)
	if err != nil {
		return nil, err
	}
	cr := csv.NewReader(strings.NewReader(text))
	cr.FieldsPerRecord = -1 // rows as short or long as they are; checked below

	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("empty file: the first row must name the columns")
	}
	if err != nil {
		return nil, csvErr(err)
	}
	if len(header) == 1 && strings.ContainsAny(header[0], "\t;") {
		// Excel in some locales separates with ";"; its "text" is tabs.
		return nil, errors.New("line 1: the columns are not separated by commas: save the file as CSV (comma-separated)")
	}
	cols := make([]string, len(header))
	var errs []error
	seen := map[string]int{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		name = strings.NewReplacer(" ", "_", "-", "_").Replace(name)
		cols[i] = name
		switch {
		case name == "":
			// Excel may save empty columns beside the table: allowed as
			// long as they stay empty.
		case !slices.Contains(csvColumns, name):
			errs = append(errs, fmt.Errorf("line 1: unknown column %q (known: %s)", strings.TrimSpace(h), strings.Join(csvColumns, ", ")))
		case seen[name] > 0:
			errs = append(errs, fmt.Errorf("line 1: column %q appears twice (columns %d and %d)", name, seen[name], i+1))
		default:
			seen[name] = i + 1
		}
	}
	for _, c := range csvRequired {
		if seen[c] == 0 {
			errs = append(errs, fmt.Errorf("line 1: column %q is missing (the first row must name the columns)", c))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	var (
		recs   []Record
		srcs   []source
		perrs  []*FieldError
		anyRow bool
	)
	for {
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// Keep reading: the operator gets every problem at once.
			var pe *csv.ParseError
			e := fieldErr("", "", "%v", err)
			if errors.As(err, &pe) {
				e = fieldErr("", "", "%v", pe.Err)
				if pe.StartLine != pe.Line {
					// An unclosed quote runs on: say where the row began.
					e.Msg += fmt.Sprintf(" (the row runs on to line %d)", pe.Line)
				}
				e.place(pe.StartLine, "")
			}
			perrs = append(perrs, e)
			continue
		}
		if isBlankRow(row) {
			continue
		}
		anyRow = true
		line, _ := cr.FieldPos(0)
		cellLine := map[string]int{}
		var r Record
		for i, cell := range row {
			l, _ := cr.FieldPos(i)
			name := ""
			if i < len(cols) {
				name = cols[i]
			}
			if name == "" {
				if strings.TrimSpace(cell) != "" {
					e := fieldErr("", "", "column %d has a value but no name in the first row", i+1)
					e.place(l, "")
					perrs = append(perrs, e)
				}
				continue
			}
			cellLine[name] = l
			switch name {
			case "id":
				r.ID = cell
			case "name":
				r.Name = cell
			case "registration":
				r.Registration = cell
			case "manager":
				r.Manager = cell
			case "lang":
				r.Lang = cell
			case "postal":
				r.Postal = cell
			case "phone":
				r.Phone = cell
			case "key_file":
				r.KeyFile = cell
			case "emails":
				r.Emails = splitCell(cell, emailSeps)
			case "public_emails":
				r.PublicEmails = splitCell(cell, emailSeps)
			case "keywords":
				r.Keywords = splitCell(cell, keywordSeps)
			}
		}
		recs = append(recs, r)
		srcs = append(srcs, source{line: line, field: func(f, _ string) int { return cellLine[f] }})
	}
	if !anyRow && len(perrs) == 0 {
		return nil, errors.New("no vendors in the file: only a header row")
	}
	return checkAll(recs, srcs, perrs)
}

func isBlankRow(row []string) bool {
	for _, c := range row {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

func csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("line %d: %w", pe.Line, pe.Err)
	}
	return fmt.Errorf("csv: %w", err)
}

// csvText returns the file as UTF-8 text without a byte order mark.
func csvText(data []byte) (string, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}), bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		// Excel's "Unicode text" is UTF-16 and tab-separated: not a CSV.
		return "", errors.New("the file is UTF-16: save it as \"CSV UTF-8\" (or \"CSV\")")
	case utf8.Valid(data):
		return string(trimBOM(data)), nil
	}
	// Japanese Excel saves "CSV (コンマ区切り)" as Shift_JIS; x/text's
	// decoder is the WHATWG one, i.e. Windows-31J with NEC and IBM
	// extensions. Bytes it cannot map come out as U+FFFD.
	out, err := japanese.ShiftJIS.NewDecoder().Bytes(data)
	if err != nil || bytes.ContainsRune(out, utf8.RuneError) {
		return "", errors.New("the file is neither UTF-8 nor Shift_JIS: save it as \"CSV UTF-8\"")
	}
	return string(out), nil
}
