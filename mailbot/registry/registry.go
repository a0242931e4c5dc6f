// Package registry reads vendor registrations (§1-1) from the files an
// operator imports, TOML or CSV, and proposes the vendors a new case should
// reach (§2). It is pure: it parses the bytes it is given, and the caller
// reads files (the import file and any key_file it names) and stores what
// comes out.
//
// Every problem in a file is reported at once, each line-numbered and naming
// the field, so that an operator fixes the whole file in one go.
package registry

import (
	"errors"
	"fmt"
	"net/mail"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
)

// Registration kinds (§1-1, §2-3).
const (
	// General registrants get any information that may concern them and
	// give a technology keyword list.
	General = "general"
	// Individual registrants get information on their own products only.
	Individual = "individual"
	// Pending vendors were asked to register and have not yet: nothing
	// is disclosed to them (§2-3).
	Pending = "pending"
)

// Record is one vendor registration as read from an import file.
type Record struct {
	ID           string
	Name         string
	Registration string // general | individual | pending; parsers default to general
	Manager      string // 製品脆弱性対策管理者 (§1-1)
	Lang         string // ja | en; "" = the caller's default
	Postal       string // may hold several lines
	Phone        string

	// Emails are the private contact addresses (at least one), bare and
	// lower-cased by Normalize.
	Emails []string
	// PublicEmails are lists or forums: recorded and flagged, nothing
	// confidential goes there (§2-3).
	PublicEmails []string
	// KeyFile is an optional OpenPGP public key file; a relative path is
	// relative to the import file's folder (see KeyPath).
	KeyFile string
	// Keywords are technology keywords in NormalizeKeyword form, without
	// duplicates.
	Keywords []string

	// Line is where the record starts in the file; 0 when unknown.
	Line int
}

// KeyPath resolves KeyFile against dir, the import file's folder. It is ""
// when the record names no key.
func (r Record) KeyPath(dir string) string {
	if r.KeyFile == "" || filepath.IsAbs(r.KeyFile) {
		return r.KeyFile
	}
	return filepath.Join(dir, r.KeyFile)
}

// FieldError is one problem with one field of a record. Validate and the
// parsers return these joined with errors.Join; errors.As finds them.
type FieldError struct {
	Line  int    // line in the import file; 0 when unknown
	Field string // "id", "emails", ... ("" for the file as a whole)
	Msg   string // the whole message after the line prefix, naming the field

	value string // the value at fault, to find its line
	at    string // "line 7", "vendor 3" or ""
}

func (e *FieldError) Error() string {
	if e.at == "" {
		return e.Msg
	}
	return e.at + ": " + e.Msg
}

func fieldErr(field, value, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...), value: value}
}

// place sets where an error is, for the parsers.
func (e *FieldError) place(line int, fallback string) {
	e.Line = line
	if line > 0 {
		e.at = fmt.Sprintf("line %d", line)
	} else {
		e.at = fallback
	}
}

// Keyword separators inside one cell or string: ASCII and full-width
// commas and semicolons, the Japanese comma, and line breaks.
const keywordSeps = ",;，；、\n\r"

// Address separators: not ',' because a display name may hold one
// ("PSIRT, ACME <psirt@acme.example>").
const emailSeps = ";；\n\r"

func splitCell(s, seps string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(seps, r) }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// NormalizeKeyword gives a keyword the form in which keywords are stored
// and compared: full-width letters and digits as ASCII (and half-width
// katakana as full-width), lower case, inner spaces collapsed to one,
// surrounding spaces removed. "ＴＬＳ　１．３" becomes "tls 1.3". NFC
// composes what folding half-width katakana decomposes ("ｶﾞ" → "ガ").
func NormalizeKeyword(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(norm.NFC.String(width.Fold.String(s)))), " ")
}

// Normalize trims every field, lower-cases registration and lang (with
// general as the default registration), reduces each parseable address to
// its bare lower-cased form ("ACME <PSIRT@acme.example>" →
// "psirt@acme.example"; an unparseable one is kept for Validate to
// report), drops empty entries and normalises and deduplicates keywords.
// It does not change the ID: a wrong ID is an error, not a guess.
func Normalize(r Record) Record {
	r.ID = strings.TrimSpace(r.ID)
	r.Name = strings.TrimSpace(r.Name)
	r.Manager = strings.TrimSpace(r.Manager)
	r.Phone = strings.TrimSpace(r.Phone)
	r.KeyFile = strings.TrimSpace(r.KeyFile)
	r.Postal = strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(r.Postal, "\r\n", "\n"), "\r", "\n"))
	r.Registration = strings.ToLower(strings.TrimSpace(r.Registration))
	if r.Registration == "" {
		r.Registration = General
	}
	r.Lang = strings.ToLower(strings.TrimSpace(r.Lang))
	r.Emails = normAddrs(r.Emails)
	r.PublicEmails = normAddrs(r.PublicEmails)
	var kw []string
	for _, k := range r.Keywords {
		if k = NormalizeKeyword(k); k != "" && !slices.Contains(kw, k) {
			kw = append(kw, k)
		}
	}
	r.Keywords = kw
	return r
}

func normAddrs(in []string) []string {
	var out []string
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if a, err := parseAddr(s); err == nil {
			s = a
		}
		out = append(out, s)
	}
	return out
}

// parseAddr returns the bare, lower-cased address of s, one address with
// an optional display name. The whole address is lower-cased because the
// desk matches senders that way.
func parseAddr(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", err
	}
	return strings.ToLower(a.Address), nil
}

const (
	maxID      = 64
	maxText    = 200 // name, manager, phone: one line each
	maxPostal  = 1000
	maxKeyword = 100
)

// Validate checks one record as Normalize leaves it. It returns every
// problem, each a *FieldError, joined.
func Validate(r Record) error {
	var errs []error
	add := func(e *FieldError) { errs = append(errs, e) }

	switch id := r.ID; {
	case id == "":
		add(fieldErr("id", "", "id is missing"))
	case len(id) > maxID:
		add(fieldErr("id", id, "id %q is longer than %d characters", id, maxID))
	case !isSlug(id):
		add(fieldErr("id", id, "id %q must be a-z, 0-9, '-', '_', '.'", id))
	case !isAlnum(id[0]):
		// "-x" would read as a flag on the command line.
		add(fieldErr("id", id, "id %q must start with a-z or 0-9", id))
	case id == "all":
		// "notify overview all" means every vendor on the case.
		add(fieldErr("id", id, `id "all" is reserved`))
	}

	if r.Name == "" {
		add(fieldErr("name", "", "name is missing"))
	}
	for _, f := range []struct{ field, v string }{{"name", r.Name}, {"manager", r.Manager}, {"phone", r.Phone}} {
		if e := checkText(f.field, f.v, maxText, false); e != nil {
			add(e)
		}
	}
	if e := checkText("postal", r.Postal, maxPostal, true); e != nil {
		add(e)
	}
	if e := checkText("key_file", r.KeyFile, 4096, false); e != nil {
		add(e)
	}

	switch r.Registration {
	case General, Individual, Pending:
	default:
		add(fieldErr("registration", r.Registration, "registration %q must be general, individual or pending", r.Registration))
	}
	switch r.Lang {
	case "", "ja", "en":
	default:
		add(fieldErr("lang", r.Lang, "lang %q must be ja or en (or empty for the default)", r.Lang))
	}

	if len(r.Emails) == 0 {
		add(fieldErr("emails", "", "emails: at least one private contact address is needed"))
	}
	seen := map[string]string{} // address -> field
	for _, list := range []struct {
		field string
		addrs []string
	}{{"emails", r.Emails}, {"public_emails", r.PublicEmails}} {
		for _, s := range list.addrs {
			a, err := parseAddr(s)
			if err != nil {
				msg := fmt.Sprintf("%s: %q is not a mail address", list.field, s)
				if strings.Contains(s, ",") && strings.Count(s, "@") > 1 {
					msg += " (separate addresses with ';')"
				}
				add(&FieldError{Field: list.field, Msg: msg, value: s})
				continue
			}
			switch prev, dup := seen[a]; {
			case dup && prev == list.field:
				add(fieldErr(list.field, s, "%s: %q is listed twice", list.field, a))
			case dup:
				// §2-3: a public list is never a private contact.
				add(fieldErr(list.field, s, "%s: %q is also in %s", list.field, a, prev))
			default:
				seen[a] = list.field
			}
		}
	}

	kw := map[string]bool{}
	for _, k := range r.Keywords {
		switch {
		case strings.TrimSpace(k) == "":
			add(fieldErr("keywords", k, "keywords: empty keyword"))
		case utf8.RuneCountInString(k) > maxKeyword:
			add(fieldErr("keywords", k, "keywords: %q is longer than %d characters", k, maxKeyword))
		case strings.ContainsAny(k, keywordSeps) || hasControl(k, false):
			add(fieldErr("keywords", k, "keywords: %q holds a separator or control character", k))
		case kw[NormalizeKeyword(k)]:
			add(fieldErr("keywords", k, "keywords: %q is listed twice", k))
		}
		kw[NormalizeKeyword(k)] = true
	}
	return errors.Join(errs...)
}

func checkText(field, v string, max int, multiline bool) *FieldError {
	switch {
	case !utf8.ValidString(v):
		return fieldErr(field, "", "%s: not valid UTF-8", field)
	case hasControl(v, multiline):
		// Names go into notices and their headers: a line break there
		// would change the mail.
		return fieldErr(field, v, "%s: %q holds a line break or control character", field, v)
	case utf8.RuneCountInString(v) > max:
		return fieldErr(field, "", "%s: longer than %d characters", field, max)
	}
	return nil
}

func hasControl(s string, newlineOK bool) bool {
	for _, r := range s {
		if r == '\n' && newlineOK {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return true
		}
	}
	return false
}

func isAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

func isSlug(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return s != ""
}

// source is what a parser knows about one record besides its values: where
// it starts and where each field is, so that errors point at the line.
type source struct {
	line  int                           // record start; 0 when unknown
	label string                        // used when line is 0: "vendor 3"
	field func(field, value string) int // line of a field (holding value), 0 when unknown
}

// checkAll normalises and validates the records read from one file, adds
// duplicate checks across records, and places every error. It returns the
// normalised records, or nil and every problem (parse errors first given
// in errs).
func checkAll(recs []Record, srcs []source, errs []*FieldError) ([]Record, error) {
	type firstUse struct {
		rec   int
		where string
		id    string
	}
	ids := map[string]firstUse{}
	addrs := map[string]firstUse{}
	for i := range recs {
		r := Normalize(recs[i])
		src := srcs[i]
		r.Line = src.line
		recs[i] = r
		place := func(e *FieldError) {
			line := 0
			if src.field != nil {
				line = src.field(e.Field, e.value)
			}
			if line == 0 {
				line = src.line
			}
			e.place(line, src.label)
			errs = append(errs, e)
		}
		if err := Validate(r); err != nil {
			for _, e := range unjoin(err) {
				var fe *FieldError
				if errors.As(e, &fe) {
					place(fe)
				}
			}
		}
		here := firstUse{rec: i, where: src.label, id: r.ID}
		if src.line > 0 {
			here.where = fmt.Sprintf("line %d", src.line)
		}
		if r.ID != "" {
			if u, dup := ids[r.ID]; dup {
				place(fieldErr("id", r.ID, "id %q is also used on %s", r.ID, u.where))
			} else {
				ids[r.ID] = here
			}
		}
		for _, list := range []struct {
			field string
			addrs []string
		}{{"emails", r.Emails}, {"public_emails", r.PublicEmails}} {
			for _, a := range list.addrs {
				if _, err := parseAddr(a); err != nil {
					continue // reported by Validate
				}
				// Within one record Validate reports repeats; across records
				// one address would make the sender of a mail ambiguous.
				switch u, dup := addrs[a]; {
				case !dup:
					at := here
					if src.field != nil {
						if l := src.field(list.field, a); l > 0 {
							at.where = fmt.Sprintf("line %d", l)
						}
					}
					addrs[a] = at
				case u.rec != i:
					place(fieldErr(list.field, a, "%s: %q is also used by %q on %s", list.field, a, u.id, u.where))
				}
			}
		}
	}
	if len(errs) > 0 {
		slices.SortStableFunc(errs, func(a, b *FieldError) int { return a.Line - b.Line })
		out := make([]error, len(errs))
		for i, e := range errs {
			out[i] = e
		}
		return nil, errors.Join(out...)
	}
	if len(recs) == 0 {
		return nil, errors.New("no vendors in the file")
	}
	return recs, nil
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
