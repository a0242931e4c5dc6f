package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/coordbot/coordbot/mailbot/config"
	"github.com/coordbot/coordbot/mailbot/notice"
	"github.com/coordbot/coordbot/templates"
)

// templateLangs are the languages notices are rendered in.
var templateLangs = []string{"ja", "en"}

// cmdTemplates: templates check [--config FILE | --dir DIR].
func cmdTemplates(e *env, args []string) error {
	const usage = "usage: coordbot templates check [--config FILE | --dir DIR]"
	if len(args) == 0 || args[0] != "check" {
		return usagef(usage)
	}
	f := newFlags("templates check")
	dirFlag := f.String("dir", "", "an override folder with ja/*.tmpl and en/*.tmpl (default: bot.template_dir of the config)")
	pos, err := f.parse(args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef(usage)
	}
	if *dirFlag != "" && f.config != "" {
		return usagef("templates check: give --config or --dir, not both")
	}
	dir := e.abs(*dirFlag)
	if dir == "" {
		// The config's template_dir; without --config or COORDBOT_CONFIG a
		// missing default config just means the embedded templates.
		p := f.configPath(e)
		explicit := f.config != "" || os.Getenv("COORDBOT_CONFIG") != ""
		if _, err := os.Stat(p); explicit || err == nil {
			cfg, err := config.Load(p)
			if err != nil {
				return err
			}
			dir = cfg.Bot.TemplateDir
		}
	}
	res, err := checkTemplates(dir)
	if err != nil {
		return err
	}
	failed := 0
	for _, r := range res {
		switch {
		case r.err != nil:
			failed++
			fmt.Fprintln(e.stdout, "FAIL "+oneLine(r.name+": "+r.err.Error()))
		case r.override:
			fmt.Fprintln(e.stdout, "ok   "+r.name+" (override)")
		default:
			fmt.Fprintln(e.stdout, "ok   "+r.name)
		}
	}
	if failed > 0 {
		return fmt.Errorf("templates check: %d of %d templates failed", failed, len(res))
	}
	return nil
}

// templateResult is the outcome for one lang/kind.
type templateResult struct {
	name     string // "ja/overview"
	override bool   // the file comes from the override folder
	err      error
}

// checkTemplates renders every notice kind in every language, with the
// override folder dir ("" = embedded only) on top of the embedded
// templates, as the desk does. The kinds are the embedded ones plus any in
// dir; an error is returned only when dir itself is unusable.
func checkTemplates(dir string) ([]templateResult, error) {
	builtin, err := templateKinds(templates.FS)
	if err != nil {
		return nil, fmt.Errorf("embedded templates: %w", err)
	}
	kinds := slices.Clone(builtin)
	if dir != "" {
		fi, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("template dir: %w", err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("template dir %s is not a folder", dir)
		}
		extra, err := templateKinds(os.DirFS(dir))
		if err != nil {
			return nil, fmt.Errorf("template dir %s: %w", dir, err)
		}
		if !hasLangFolder(dir) {
			return nil, fmt.Errorf("template dir %s has neither a ja/ nor an en/ folder", dir)
		}
		kinds = append(kinds, extra...)
		slices.Sort(kinds)
		kinds = slices.Compact(kinds)
	}
	r := notice.NewRenderer(dir)
	var out []templateResult
	for _, lang := range templateLangs {
		for _, kind := range kinds {
			res := templateResult{name: lang + "/" + kind}
			if dir != "" {
				_, err := os.Stat(filepath.Join(dir, lang, kind+".tmpl"))
				res.override = err == nil
			}
			if !slices.Contains(builtin, kind) {
				res.err = fmt.Errorf("%q is not a kind of notice coordbot sends (a misspelt file name?): it would never be used", kind)
			} else {
				res.err = renderSamples(r, lang, kind)
			}
			out = append(out, res)
		}
	}
	return out, nil
}

func hasLangFolder(dir string) bool {
	for _, lang := range templateLangs {
		if fi, err := os.Stat(filepath.Join(dir, lang)); err == nil && fi.IsDir() {
			return true
		}
	}
	return false
}

// templateKinds lists the kinds (file names without .tmpl) under ja/ and en/.
func templateKinds(fsys fs.FS) ([]string, error) {
	var kinds []string
	for _, lang := range templateLangs {
		ents, err := fs.ReadDir(fsys, lang)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, ent := range ents {
			if ent.IsDir() || path.Ext(ent.Name()) != ".tmpl" {
				continue
			}
			kinds = append(kinds, strings.TrimSuffix(ent.Name(), ".tmpl"))
		}
	}
	slices.Sort(kinds)
	return slices.Compact(kinds), nil
}

// Vendor-supplied values of the sample data: template syntax that must
// come out as text, and header injection that must never reach a Subject.
const (
	hostileMarker = "attacker.example"
	hostileLine   = "{{.Detail}}\r\nBcc: victim@" + hostileMarker + "\r\n{{template \"body\" .}}"
)

// sampleData fills every field of notice.Data: both branches of the
// conditionals are tried (variant true and false). Strings a vendor,
// reporter or stranger can choose are hostile.
func sampleData(variant bool) notice.Data {
	h := func(s string) string { return s + " " + hostileLine }
	d := notice.Data{
		Desk:            "coordbot",
		CaseID:          "JVNVU#12345678",
		Title:           h("Buffer overflow in the TLS handshake"),
		Overview:        h("A remote attacker may crash the server.\n細工された通信で停止させられる可能性があります。"),
		VendorID:        "acme",
		VendorName:      h("ACME株式会社"),
		AnswerFrom:      h("psirt@acme.example"),
		AnswerMessageID: h("<answer.1@acme.example>"),
		RecordedJA:      []string{h("詳細情報の請求: はい"), h("該当状況: 該当製品あり")},
		RecordedEN:      []string{h("Request detail: yes"), h("Status: affected")},
		Detail:          h("The length of the session ID is not checked in handshake.c."),
		TargetDate:      "2027-01-15 11:00 JST",
		PublicationDate: "2027-01-15 11:00 JST",
		CancelReasonJA:  "既に公知となったため",
		CancelReasonEN:  "the vulnerability is already known",
		Reason:          h("unknown sender"),
		From:            h("stranger@elsewhere.example"),
		MessageID:       h("<1.stranger@elsewhere.example>"),
		Quarantine:      "Quarantine",
		OldKey:          "0123456789ABCDEF0123456789ABCDEF01234567",
		NewKey:          "89ABCDEF0123456789ABCDEF0123456789ABCDEF",
		PublicKey:       h("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ...\n-----END PGP PUBLIC KEY BLOCK-----"),
		State:           "overview-sent",
		Stage:           "stage-1",
		StageText:       "連絡不能開発者一覧への掲載 / listing as unreachable",
		Commands:        []string{"coordbot case unreachable JVNVU#12345678 gamma advance", h("#coordbot unreachable gamma advance")},
		Before:          true,
		Months:          "11",
		Transcript:      h("> #coordbot notify detail acme\nok: detail queued for acme"),
		Errors:          "2",
		Preview:         true,
	}
	if !variant {
		d.Before, d.Preview = false, false
		d.StageText = ""
		d.Errors = "0"
		d.Months = "12"
		d.RecordedJA, d.RecordedEN, d.Commands = nil, nil, nil
	}
	return d
}

// renderSamples renders kind in lang with both sample variants and checks
// that the outer Subject names only the kind of notice.
func renderSamples(r *notice.Renderer, lang, kind string) error {
	for _, variant := range []bool{true, false} {
		subj, body, err := r.Render(lang, kind, sampleData(variant))
		if err != nil {
			return err
		}
		switch {
		case strings.TrimSpace(subj) == "":
			return errors.New("empty subject")
		case strings.TrimSpace(body) == "":
			return errors.New("empty body")
		case strings.Contains(subj, hostileMarker) || strings.Contains(subj, "{{"):
			return fmt.Errorf("the subject %q carries case or vendor text: the outer Subject must name only the kind of notice", subj)
		}
	}
	return nil
}
