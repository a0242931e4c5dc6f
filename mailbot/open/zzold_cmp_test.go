package open

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/coordbot/coordbot/mailbot/open/zzold"
)

func TestZZOldSame(t *testing.T) {
	var files []string
	for _, g := range []string{"../../testdata/mail/*.eml", "../../testdata/mail/pgp/*.eml", "testdata/fuzz/*/*"} {
		f, _ := filepath.Glob(g)
		files = append(files, f...)
	}
	k := RobotKeyring(t)
	plainSame := 0
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		old, errOld := zzold.Parse(raw, zzold.Limits{})
		t0 := time.Now()
		nw, errNew := ParseWith(raw, Limits{}, k)
		_ = t0
		if errOld != nil || errNew != nil {
			if (errOld == nil) != (errNew == nil) {
				t.Logf("%s: err old %v new %v", f, errOld, errNew)
			}
			continue
		}
		if nw.Signature != SigNone || nw.Encrypted || nw.Keys != nil {
			continue
		}
		a := reflect.ValueOf(*old)
		b := reflect.ValueOf(*nw)
		for i := 0; i < a.NumField(); i++ {
			name := a.Type().Field(i).Name
			fb := b.FieldByName(name)
			if !reflect.DeepEqual(fmtv(a.Field(i)), fmtv(fb)) {
				t.Errorf("%s: field %s differs", f, name)
			}
		}
		plainSame++
	}
	t.Logf("%d plain files compared", plainSame)
}

func fmtv(v reflect.Value) string { return fmtAny(v.Interface()) }

func fmtAny(x any) string { return fmt.Sprintf("%+v", x) }

func FuzzZZOld(f *testing.F) {
	addCorpus(f)
	recoverPanics = false
	f.Fuzz(func(t *testing.T, raw []byte) {
		old, errOld := zzold.Parse(raw, zzold.Limits{MaxSize: 1 << 20, MaxDepth: 8, MaxParts: 64})
		nw, errNew := ParseWith(raw, fuzzLimits, nil)
		if errNew != nil && (errors.Is(errNew, ErrUndecryptable) || errors.Is(errNew, ErrNoIntegrity)) {
			return
		}
		if (errOld == nil) != (errNew == nil) {
			if errNew != nil && errors.Is(errNew, ErrMalformed) {
				return // armored pgp block that does not read
			}
			t.Fatalf("err old %v new %v", errOld, errNew)
		}
		if errOld != nil {
			return
		}
		if nw.Signature != SigNone || nw.Encrypted || nw.Keys != nil || len(nw.Defects) != len(old.Defects) {
			return
		}
		a := reflect.ValueOf(*old)
		b := reflect.ValueOf(*nw)
		for i := 0; i < a.NumField(); i++ {
			name := a.Type().Field(i).Name
			if fmtv(a.Field(i)) != fmtv(b.FieldByName(name)) {
				t.Fatalf("field %s differs: %s vs %s", name, fmtv(a.Field(i)), fmtv(b.FieldByName(name)))
			}
		}
	})
}
