package registry

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// errShape is what every line of an error looks like: placed on a line
// (or on a table when lines are unknown), or about the file as a whole.
var errShape = regexp.MustCompile(`^(line [1-9][0-9]*: |vendor [1-9][0-9]*: |toml: |empty file|no vendors in the file|the file is )`)

// checkParsed holds for any successful parse: records are valid, already
// normal, IDs and addresses unique.
func checkParsed(t *testing.T, recs []Record, err error) {
	t.Helper()
	if err != nil {
		if recs != nil {
			t.Fatalf("records %v with error %v", recs, err)
		}
		for _, l := range strings.Split(err.Error(), "\n") {
			if !errShape.MatchString(l) {
				t.Fatalf("error line %q is not placed", l)
			}
		}
		return
	}
	if len(recs) == 0 {
		t.Fatal("no records and no error")
	}
	ids, addrs := map[string]bool{}, map[string]bool{}
	for _, r := range recs {
		if err := Validate(r); err != nil {
			t.Fatalf("parsed record %#v invalid: %v", r, err)
		}
		n := Normalize(r)
		n.Line = r.Line
		if !reflect.DeepEqual(n, r) {
			t.Fatalf("parsed record not normal:\n%#v\n%#v", r, n)
		}
		if ids[r.ID] {
			t.Fatalf("id %q twice", r.ID)
		}
		ids[r.ID] = true
		for _, a := range append(append([]string{}, r.Emails...), r.PublicEmails...) {
			if addrs[a] {
				t.Fatalf("address %q twice", a)
			}
			addrs[a] = true
		}
	}
}

func seeds(f *testing.F, ext string, extra ...string) {
	for _, s := range extra {
		f.Add([]byte(s))
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "registry", "vendors."+ext))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
}

func withoutLines(recs []Record) []Record {
	out := make([]Record, len(recs))
	for i, r := range recs {
		r.Line = 0
		out[i] = r
	}
	return out
}

func FuzzParseCSV(f *testing.F) {
	seeds(f, "csv",
		"id,name,emails\nacme,A,a@x.example\n",
		"id,name,emails,keywords,postal\n\"a\",\"A, B\",\"a@x.example; b@x.example\",\"tls,http\",\"x\ny\"\n",
		"\uFEFFid,name,emails\r\nACME,,psirt@\r\n",
		"id,name,emails\na,\x83A,a@x.example\n",
		"id,name,emails,,\n,,,,\n")
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := ParseCSV(data)
		checkParsed(t, recs, err)
		if err != nil {
			return
		}
		// Written back with the documented cell conventions, the records
		// read the same.
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Write(csvColumns)
		for _, r := range recs {
			w.Write([]string{r.ID, r.Name, r.Registration, r.Manager, r.Lang, strings.Join(r.Emails, "; "),
				strings.Join(r.PublicEmails, "; "), r.KeyFile, strings.Join(r.Keywords, ", "), r.Postal, r.Phone})
		}
		w.Flush()
		again, err := ParseCSV(buf.Bytes())
		if err != nil {
			t.Fatalf("written back: %v\n%s", err, buf.String())
		}
		if !reflect.DeepEqual(withoutLines(again), withoutLines(recs)) {
			t.Fatalf("written back reads differently:\n%#v\n%#v", again, recs)
		}
	})
}

type tomlOut struct {
	Vendor []tomlVendor `toml:"vendor"`
}

type tomlVendor struct {
	ID           string   `toml:"id"`
	Name         string   `toml:"name"`
	Registration string   `toml:"registration"`
	Manager      string   `toml:"manager,omitempty"`
	Lang         string   `toml:"lang,omitempty"`
	Emails       []string `toml:"emails"`
	PublicEmails []string `toml:"public_emails,omitempty"`
	KeyFile      string   `toml:"key_file,omitempty"`
	Keywords     []string `toml:"keywords,omitempty"`
	Postal       string   `toml:"postal,omitempty"`
	Phone        string   `toml:"phone,omitempty"`
}

func FuzzParseTOML(f *testing.F) {
	seeds(f, "toml",
		"[[vendor]]\nid = \"a\"\nname = \"A\"\nemails = [\"a@x.example\"]\n",
		"[[vendor]]\nid = \"a\"\nname = '''\n[[vendor]]'''\nemails = \"a@x.example; b@x.example\"\nkeywords = \"tls, http\"\n",
		"vendor = [{id = \"A\"}]\n",
		"[vendor]\nid = 1\n",
		"[[vendor]]\n[vendor.x]\ny = \"\"\"\n\"\"\"\n")
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := ParseTOML(data)
		checkParsed(t, recs, err)
		if err != nil {
			return
		}
		var out tomlOut
		for _, r := range recs {
			out.Vendor = append(out.Vendor, tomlVendor{r.ID, r.Name, r.Registration, r.Manager, r.Lang, r.Emails,
				r.PublicEmails, r.KeyFile, r.Keywords, r.Postal, r.Phone})
		}
		var buf bytes.Buffer
		if err := toml.NewEncoder(&buf).Encode(out); err != nil {
			t.Fatal(err)
		}
		again, err := ParseTOML(buf.Bytes())
		if err != nil {
			t.Fatalf("written back: %v\n%s", err, buf.String())
		}
		if !reflect.DeepEqual(withoutLines(again), withoutLines(recs)) {
			t.Fatalf("written back reads differently:\n%#v\n%#v", again, recs)
		}
		// Our line scan agrees with the decoder on the tables it wrote.
		for _, r := range again {
			if r.Line == 0 {
				t.Fatalf("no line for %q in\n%s", r.ID, buf.String())
			}
		}
	})
}
