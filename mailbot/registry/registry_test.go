package registry

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/encoding/japanese"
)

func ok() Record {
	return Record{ID: "acme", Name: "ACME", Registration: General, Emails: []string{"psirt@acme.example"}}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Record)
		want []string // messages, in order; nil: valid
	}{
		{"ok", func(*Record) {}, nil},
		{"full", func(r *Record) {
			r.ID, r.Lang, r.Manager, r.Phone, r.Postal = "a.b-c_9", "ja", "山田", "+81 3", "東京\n千代田"
			r.PublicEmails, r.Keywords, r.KeyFile = []string{"list@acme.example"}, []string{"tls", "tls 1.3"}, "k.asc"
		}, nil},
		{"individual", func(r *Record) { r.Registration = Individual }, nil},
		{"pending", func(r *Record) { r.Registration = Pending }, nil},
		{"display name", func(r *Record) { r.Emails = []string{"ACME PSIRT <psirt@acme.example>"} }, nil},
		{"id upper", func(r *Record) { r.ID = "ACME Corp" }, []string{`id "ACME Corp" must be a-z, 0-9, '-', '_', '.'`}},
		{"id missing", func(r *Record) { r.ID = "" }, []string{"id is missing"}},
		{"id long", func(r *Record) { r.ID = strings.Repeat("a", 65) }, []string{`id "` + strings.Repeat("a", 65) + `" is longer than 64 characters`}},
		{"id 64", func(r *Record) { r.ID = strings.Repeat("a", 64) }, nil},
		{"id flag", func(r *Record) { r.ID = "-x" }, []string{`id "-x" must start with a-z or 0-9`}},
		{"id dot", func(r *Record) { r.ID = ".." }, []string{`id ".." must start with a-z or 0-9`}},
		{"id all", func(r *Record) { r.ID = "all" }, []string{`id "all" is reserved`}},
		{"id unicode", func(r *Record) { r.ID = "acmé" }, []string{`id "acmé" must be a-z, 0-9, '-', '_', '.'`}},
		{"name missing", func(r *Record) { r.Name = "" }, []string{"name is missing"}},
		{"name newline", func(r *Record) { r.Name = "A\r\nBcc: x" }, []string{`name: "A\r\nBcc: x" holds a line break or control character`}},
		{"manager tab", func(r *Record) { r.Manager = "a\tb" }, []string{`manager: "a\tb" holds a line break or control character`}},
		{"name invalid utf-8", func(r *Record) { r.Name = "\xff" }, []string{"name: not valid UTF-8"}},
		{"name long", func(r *Record) { r.Name = strings.Repeat("名", 201) }, []string{"name: longer than 200 characters"}},
		{"registration", func(r *Record) { r.Registration = "vip" }, []string{`registration "vip" must be general, individual or pending`}},
		{"registration empty", func(r *Record) { r.Registration = "" }, []string{`registration "" must be general, individual or pending`}},
		{"lang", func(r *Record) { r.Lang = "fr" }, []string{`lang "fr" must be ja or en (or empty for the default)`}},
		{"no emails", func(r *Record) { r.Emails = nil }, []string{"emails: at least one private contact address is needed"}},
		{"only public", func(r *Record) { r.Emails, r.PublicEmails = nil, []string{"l@acme.example"} }, []string{"emails: at least one private contact address is needed"}},
		{"bad email", func(r *Record) { r.Emails = []string{"psirt@"} }, []string{`emails: "psirt@" is not a mail address`}},
		{"comma list", func(r *Record) { r.Emails = []string{"a@x.example, b@x.example"} },
			[]string{`emails: "a@x.example, b@x.example" is not a mail address (separate addresses with ';')`}},
		{"twice", func(r *Record) { r.Emails = []string{"psirt@acme.example", "PSIRT@acme.example"} },
			[]string{`emails: "psirt@acme.example" is listed twice`}},
		{"private and public", func(r *Record) { r.PublicEmails = []string{"psirt@acme.example"} },
			[]string{`public_emails: "psirt@acme.example" is also in emails`}},
		{"bad public", func(r *Record) { r.PublicEmails = []string{"list"} }, []string{`public_emails: "list" is not a mail address`}},
		{"keyword separator", func(r *Record) { r.Keywords = []string{"a,b"} }, []string{`keywords: "a,b" holds a separator or control character`}},
		{"keyword empty", func(r *Record) { r.Keywords = []string{" "} }, []string{"keywords: empty keyword"}},
		{"keyword twice", func(r *Record) { r.Keywords = []string{"tls", "TLS"} }, []string{`keywords: "TLS" is listed twice`}},
		{"keyword long", func(r *Record) { r.Keywords = []string{strings.Repeat("k", 101)} },
			[]string{`keywords: "` + strings.Repeat("k", 101) + `" is longer than 100 characters`}},
		{"several", func(r *Record) { r.ID, r.Name, r.Emails = "A", "", []string{"x"} },
			[]string{`id "A" must be a-z, 0-9, '-', '_', '.'`, "name is missing", `emails: "x" is not a mail address`}},
	}
	for _, tt := range tests {
		r := ok()
		tt.edit(&r)
		err := Validate(r)
		var got []string
		if err != nil {
			for _, e := range unjoin(err) {
				var fe *FieldError
				if !errors.As(e, &fe) {
					t.Errorf("%s: %T is not a *FieldError", tt.name, e)
				}
				got = append(got, e.Error())
			}
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Validate =\n%q\nwant\n%q", tt.name, got, tt.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	in := Record{
		ID: " acme ", Name: " ACME ", Registration: " Individual ", Lang: "JA", Manager: " m ", Phone: " 1 ",
		Postal: "\r\n a\r\nb \r\n", KeyFile: " k.asc ",
		Emails:       []string{" ACME PSIRT <PSIRT@Acme.Example> ", "", "bad@"},
		PublicEmails: []string{"List@acme.example"},
		Keywords:     []string{" ＴＬＳ　１．３ ", "tls  1.3", "HTTP", "", "ｶﾞﾝﾏ"},
	}
	want := Record{
		ID: "acme", Name: "ACME", Registration: Individual, Lang: "ja", Manager: "m", Phone: "1",
		Postal: "a\nb", KeyFile: "k.asc",
		Emails:       []string{"psirt@acme.example", "bad@"},
		PublicEmails: []string{"list@acme.example"},
		Keywords:     []string{"tls 1.3", "http", "ガンマ"},
	}
	if got := Normalize(in); !reflect.DeepEqual(got, want) {
		t.Errorf("Normalize =\n%#v\nwant\n%#v", got, want)
	}
	if got := Normalize(Record{}).Registration; got != General {
		t.Errorf("default registration %q", got)
	}
}

func TestKeyPath(t *testing.T) {
	for _, tt := range []struct{ file, dir, want string }{
		{"", "/etc/coordbot", ""},
		{"keys/a.asc", "/etc/coordbot", filepath.Join("/etc/coordbot", "keys/a.asc")},
		{"/abs/a.asc", "/etc/coordbot", "/abs/a.asc"},
	} {
		if got := (Record{KeyFile: tt.file}).KeyPath(tt.dir); got != tt.want {
			t.Errorf("KeyPath(%q, %q) = %q; want %q", tt.file, tt.dir, got, tt.want)
		}
	}
}

// errLines splits a joined error into its messages.
func errLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

func TestParseTOML(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Record // nil: error
		errs []string
	}{
		{"minimal", "[[vendor]]\nid = \"acme\"\nname = \"ACME\"\nemails = [\"psirt@acme.example\"]\n",
			[]Record{{ID: "acme", Name: "ACME", Registration: General, Emails: []string{"psirt@acme.example"}, Line: 1}}, nil},
		{"strings for lists", `
[[vendor]]
id = "acme"
name = "ACME"
emails = "a@acme.example; B <b@acme.example>"
public_emails = "list@acme.example"
keywords = "TLS, http；Ｗｅｂ、ipv6"
`, []Record{{ID: "acme", Name: "ACME", Registration: General, Emails: []string{"a@acme.example", "b@acme.example"},
			PublicEmails: []string{"list@acme.example"}, Keywords: []string{"tls", "http", "web", "ipv6"}, Line: 2}}, nil},
		{"array items are split too", "[[vendor]]\nid = \"a\"\nname = \"A\"\nemails = [\"a@x.example\"]\nkeywords = [\"tls, http\", \"tls\"]\n",
			[]Record{{ID: "a", Name: "A", Registration: General, Emails: []string{"a@x.example"}, Keywords: []string{"tls", "http"}, Line: 1}}, nil},
		{"bom, quoted header, comments", "\uFEFF# vendors\n[[ \"vendor\" ]] # one\n'id' = 'a' # x\nname = \"A # not a comment\"\nemails = [ # list\n  \"a@x.example\", # first\n]\n",
			[]Record{{ID: "a", Name: "A # not a comment", Registration: General, Emails: []string{"a@x.example"}, Line: 2}}, nil},
		{"error lines", `title = "x"
[[vendor]]
id = "ACME Corp"
name = "A"
emails = [
  "ok@a.example",
  "psirt@",
]
keywords = 3

[[vendor]]
id = "b"
name = ""
emails = ["ok@a.example", "x@b.example; x@b.example"]
public_emails = "X@B.example"
lang = "fr"
registration = "General"
color = "red"

[[vendor]]
id = "b"
name = "B2"
emails = 'a@x.example, b@x.example'
postal = """
[[vendor]]
id = "not a key"
"""
[[vendor]]
id = "c"
name = "C\nD"
emails = ["c@c.example"]
`, nil, []string{
			`line 1: unknown key "title": the file holds [[vendor]] tables only`,
			`line 3: id "ACME Corp" must be a-z, 0-9, '-', '_', '.'`,
			`line 7: emails: "psirt@" is not a mail address`,
			`line 9: keywords: must be an array of strings or a string`,
			`line 13: name is missing`,
			`line 14: emails: "x@b.example" is listed twice`,
			`line 14: emails: "ok@a.example" is also used by "ACME Corp" on line 6`,
			`line 15: public_emails: "x@b.example" is also in emails`,
			`line 16: lang "fr" must be ja or en (or empty for the default)`,
			`line 18: unknown key "color" (known: id, name, registration, manager, lang, emails, public_emails, key_file, keywords, postal, phone)`,
			`line 21: id "b" is also used on line 11`,
			`line 23: emails: "a@x.example, b@x.example" is not a mail address (separate addresses with ';')`,
			`line 30: name: "C\nD" holds a line break or control character`,
		}},
		{"syntax error", "[[vendor]]\nid = \"a\nname = \"A\"\n", nil, []string{"line 2: strings cannot contain newlines"}},
		{"duplicate key", "[[vendor]]\nid = \"a\"\nid = \"b\"\n", nil, []string{`line 3: Key 'vendor.id' has already been defined.`}},
		{"single table", "[vendor]\nid = \"a\"\n", nil, []string{"line 1: vendor must be [[vendor]] tables, with two brackets"}},
		{"empty", "", nil, []string{"no vendors in the file"}},
		{"only comments", "# nothing\n", nil, []string{"no vendors in the file"}},
		{"wrong type", "[[vendor]]\nid = 7\nname = \"A\"\nemails = [1]\n", nil, []string{
			"line 2: id: must be a string", "line 2: id is missing", "line 4: emails: must be strings",
			"line 4: emails: at least one private contact address is needed"}},
		{"nested table", "[[vendor]]\nid = \"a\"\nname = \"A\"\nemails = [\"a@x.example\"]\n[vendor.contact]\nx = 1\n", nil, []string{
			`line 5: unknown key "contact" (known: id, name, registration, manager, lang, emails, public_emails, key_file, keywords, postal, phone)`}},
		{"upper-case address found on its line", "[[vendor]]\nid = \"a\"\nname = \"A\"\nemails = [\n  \"A@X.example\",\n  \"a@x.EXAMPLE\",\n]\n", nil, []string{
			`line 5: emails: "a@x.example" is listed twice`}},
		{"inline array of tables: no lines", "vendor = [{id = \"A\", name = \"A\", emails = [\"a@x.example\"]}]\n", nil, []string{
			`vendor 1: id "A" must be a-z, 0-9, '-', '_', '.'`}},
	}
	for _, tt := range tests {
		got, err := ParseTOML([]byte(tt.in))
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: ParseTOML =\n%#v\nwant\n%#v", tt.name, got, tt.want)
		}
		if gl := errLines(err); !reflect.DeepEqual(gl, tt.errs) {
			t.Errorf("%s: errors\n%s\nwant\n%s", tt.name, strings.Join(gl, "\n"), strings.Join(tt.errs, "\n"))
		}
	}
}

func TestParseCSV(t *testing.T) {
	acme := Record{ID: "acme", Name: "ACME 株式会社", Registration: General, Emails: []string{"psirt@acme.example"}, Line: 2}
	tests := []struct {
		name string
		in   string
		want []Record
		errs []string
	}{
		{"minimal", "id,name,emails\nacme,ACME 株式会社,psirt@acme.example\n", []Record{acme}, nil},
		{"bom crlf order case", "\uFEFFEMAILS, Name ,ID\r\npsirt@acme.example,ACME 株式会社,acme\r\n", []Record{acme}, nil},
		{"column name spelling", "id,name,emails,Public Emails,key-file\nacme,A,a@x.example,l@x.example,k.asc\n",
			[]Record{{ID: "acme", Name: "A", Registration: General, Emails: []string{"a@x.example"}, PublicEmails: []string{"l@x.example"}, KeyFile: "k.asc", Line: 2}}, nil},
		{"cells", "id,name,emails,keywords,postal,lang,registration\n" +
			"acme,\"ACME, Inc.\",\"a@x.example; \"\"PSIRT, ACME\"\" <b@x.example>\n c@x.example\",\"TLS,http; web、ipv6\",\"line 1\nline 2\",EN,Individual\n",
			[]Record{{ID: "acme", Name: "ACME, Inc.", Registration: Individual, Lang: "en", Postal: "line 1\nline 2",
				Emails: []string{"a@x.example", "b@x.example", "c@x.example"}, Keywords: []string{"tls", "http", "web", "ipv6"}, Line: 2}}, nil},
		{"blank rows and excel empty columns", "id,name,emails,,\n,,,,\n\nacme,ACME 株式会社,psirt@acme.example,,\n,,,,\n", []Record{{ID: "acme", Name: "ACME 株式会社", Registration: General, Emails: []string{"psirt@acme.example"}, Line: 4}}, nil},
		{"short row", "id,name,emails,phone\nacme,ACME 株式会社,psirt@acme.example\n", []Record{acme}, nil},
		{"value in unnamed column", "id,name,emails\nacme,A,a@x.example,oops\n", nil, []string{"line 2: column 4 has a value but no name in the first row"}},
		{"unknown and missing columns", "id,Name,E-mails,foo,name\n", nil, []string{
			`line 1: unknown column "E-mails" (known: id, name, registration, manager, lang, emails, public_emails, key_file, keywords, postal, phone)`,
			`line 1: unknown column "foo" (known: id, name, registration, manager, lang, emails, public_emails, key_file, keywords, postal, phone)`,
			`line 1: column "name" appears twice (columns 2 and 5)`,
			`line 1: column "emails" is missing (the first row must name the columns)`}},
		{"empty", "", nil, []string{"empty file: the first row must name the columns"}},
		{"semicolons", "id;name;emails\na;A;a@x.example\n", nil, []string{"line 1: the columns are not separated by commas: save the file as CSV (comma-separated)"}},
		{"tabs", "id\tname\temails\n", nil, []string{"line 1: the columns are not separated by commas: save the file as CSV (comma-separated)"}},
		{"header only", "id,name,emails\n", nil, []string{"no vendors in the file: only a header row"}},
		{"row errors", "id,name,emails,lang\n" +
			"ACME Corp,A,psirt@,ja\n" +
			"b,,\"b@x.example\nA@x.example\",fr\n" +
			"b,B,a@x.example,\n" +
			"c,C,\"x@\"y\",en\n" +
			"d,D,d@x.example,\n", nil, []string{
			`line 2: id "ACME Corp" must be a-z, 0-9, '-', '_', '.'`,
			`line 2: emails: "psirt@" is not a mail address`,
			`line 3: name is missing`,
			`line 4: lang "fr" must be ja or en (or empty for the default)`,
			`line 5: id "b" is also used on line 3`,
			`line 5: emails: "a@x.example" is also used by "b" on line 3`,
			`line 6: extraneous or missing " in quoted-field`,
		}},
		{"unclosed quote", "id,name,emails\na,A,\"a@x.example\nb,B,b@x.example\n", nil, []string{
			`line 2: extraneous or missing " in quoted-field (the row runs on to line 3)`}},
		{"utf-16", "\xff\xfei\x00d\x00", nil, []string{`the file is UTF-16: save it as "CSV UTF-8" (or "CSV")`}},
		{"neither", "id,name,emails\na,\x80\xff,a@x.example\n", nil, []string{`the file is neither UTF-8 nor Shift_JIS: save it as "CSV UTF-8"`}},
	}
	for _, tt := range tests {
		got, err := ParseCSV([]byte(tt.in))
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: ParseCSV =\n%#v\nwant\n%#v", tt.name, got, tt.want)
		}
		if gl := errLines(err); !reflect.DeepEqual(gl, tt.errs) {
			t.Errorf("%s: errors\n%s\nwant\n%s", tt.name, strings.Join(gl, "\n"), strings.Join(tt.errs, "\n"))
		}
	}
}

func TestParseCSVShiftJIS(t *testing.T) {
	// As Japanese Excel saves "CSV (コンマ区切り)": Shift_JIS, CRLF, including
	// a Windows-31J character (①, NEC special) and a full-width tilde.
	text := "id,name,manager,emails,keywords\r\nacme,ＡＣＭＥ株式会社①,山田～太郎,psirt@acme.example,\"組込み,ＴＬＳ\"\r\n"
	sjis, err := japanese.ShiftJIS.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseCSV([]byte(sjis))
	if err != nil {
		t.Fatal(err)
	}
	want := []Record{{ID: "acme", Name: "ＡＣＭＥ株式会社①", Manager: "山田～太郎", Registration: General,
		Emails: []string{"psirt@acme.example"}, Keywords: []string{"組込み", "tls"}, Line: 2}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseCSV(Shift_JIS) =\n%#v\nwant\n%#v", got, want)
	}
}

// TestExamples checks that the files operators copy parse, and that both
// formats say the same.
func TestExamples(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "registry")
	tb, err := os.ReadFile(filepath.Join(dir, "vendors.toml"))
	if err != nil {
		t.Fatal(err)
	}
	cb, err := os.ReadFile(filepath.Join(dir, "vendors.csv"))
	if err != nil {
		t.Fatal(err)
	}
	fromTOML, err := ParseTOML(tb)
	if err != nil {
		t.Fatalf("vendors.toml: %v", err)
	}
	fromCSV, err := ParseCSV(cb)
	if err != nil {
		t.Fatalf("vendors.csv: %v", err)
	}
	if len(fromTOML) != 5 {
		t.Fatalf("vendors.toml: %d vendors", len(fromTOML))
	}
	for i := range fromTOML {
		a, b := fromTOML[i], fromCSV[i]
		a.Line, b.Line = 0, 0
		if !reflect.DeepEqual(a, b) {
			t.Errorf("vendor %d differs:\ntoml %#v\ncsv  %#v", i+1, a, b)
		}
	}
	if got := fromTOML[0]; got.Line != 5 || got.KeyPath(dir) != filepath.Join(dir, "keys", "acme.asc") {
		t.Errorf("acme: line %d, key %q", got.Line, got.KeyPath(dir))
	}
	// The README shows the same vendors as Suggest ranks them.
	vs := make([]Vendor, len(fromTOML))
	for i, r := range fromTOML {
		vs[i] = Vendor{ID: r.ID, Registration: r.Registration, Keywords: r.Keywords}
	}
	got := Suggest([]string{"TLS", "HTTP"}, vs, []string{"GammaCMS", "delta_iot"})
	want := []Candidate{
		{ID: "acme", Score: 2, Matched: []string{"tls", "http"}, Reason: "keywords: tls, http"},
		{ID: "beta-networks", Score: 1, Matched: []string{"tls"}, Reason: "keywords: tls"},
		{ID: "epsilon", Score: 1, Matched: []string{"tls"}, Reason: "keywords: tls"},
		{ID: "gamma.soft", Reason: "named: gammacms"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Suggest on the examples =\n%#v\nwant\n%#v", got, want)
	}
}

func TestFieldErrorAs(t *testing.T) {
	_, err := ParseCSV([]byte("id,name,emails\nA,B,c@d.example\n"))
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Line != 2 || fe.Field != "id" {
		t.Fatalf("errors.As: %#v from %v", fe, err)
	}
}

// TestReadmeExamples parses the TOML and CSV blocks operators copy from
// testdata/registry/README.md.
func TestReadmeExamples(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "registry", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[string][]string{}
	var lang string
	var cur []string
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case lang == "" && strings.HasPrefix(l, "```") && len(l) > 3:
			lang, cur = l[3:], nil
		case lang != "" && l == "```":
			blocks[lang] = append(blocks[lang], strings.Join(cur, "\n")+"\n")
			lang = ""
		case lang != "":
			cur = append(cur, l)
		}
	}
	if len(blocks["toml"]) != 1 || len(blocks["csv"]) != 1 {
		t.Fatalf("README blocks: %d toml, %d csv", len(blocks["toml"]), len(blocks["csv"]))
	}
	if recs, err := ParseTOML([]byte(blocks["toml"][0])); err != nil || len(recs) != 2 {
		t.Errorf("README toml: %d records, %v", len(recs), err)
	}
	if recs, err := ParseCSV([]byte(blocks["csv"][0])); err != nil || len(recs) != 2 {
		t.Errorf("README csv: %d records, %v", len(recs), err)
	}
}
