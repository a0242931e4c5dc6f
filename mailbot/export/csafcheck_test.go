package export

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// checkCSAF checks a document against the structural rules of CSAF 2.0
// that matter for what we write (there is no network here to fetch the
// JSON schema): the schema's required fields, enums, patterns and shapes,
// the mandatory tests on product IDs (6.1.1, 6.1.2, 6.1.6), on the revision
// history (6.1.14, 6.1.16 to 6.1.18, 6.1.20 to 6.1.22), the
// csaf_security_advisory profile (6.1.27.4 to 6.1.27.6, 6.1.27.11), RFC 3339
// dates and the release dates against the history (6.2.5, 6.2.6). Unknown
// keys are errors too: they catch a field put at the wrong level (2.0 puts
// the generator under tracking, for instance).
//
// It returns one line per problem, nil when the document passes.
func checkCSAF(data []byte) []string {
	c := &csafChecker{defined: map[string]int{}}
	var root map[string]any
	if err := json.Unmarshal(data, &root); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	c.root(root)
	return c.problems
}

type csafChecker struct {
	problems []string
	defined  map[string]int // product_id → definitions
	refs     []ref          // product IDs used outside definitions
}

type ref struct{ path, id string }

func (c *csafChecker) bad(path, format string, args ...any) {
	c.problems = append(c.problems, path+": "+fmt.Sprintf(format, args...))
}

var (
	csafKeys = map[string][]string{
		"root":              {"document", "product_tree", "vulnerabilities"},
		"document":          {"acknowledgments", "aggregate_severity", "category", "csaf_version", "distribution", "lang", "notes", "publisher", "references", "source_lang", "title", "tracking"},
		"distribution":      {"text", "tlp"},
		"tlp":               {"label", "url"},
		"note":              {"audience", "category", "text", "title"},
		"publisher":         {"category", "contact_details", "issuing_authority", "name", "namespace"},
		"tracking":          {"aliases", "current_release_date", "generator", "id", "initial_release_date", "revision_history", "status", "version"},
		"generator":         {"date", "engine"},
		"engine":            {"name", "version"},
		"revision":          {"date", "legacy_version", "number", "summary"},
		"product_tree":      {"branches", "full_product_names", "product_groups", "relationships"},
		"branch":            {"branches", "category", "name", "product"},
		"full_product_name": {"name", "product_id", "product_identification_helper"},
		"vulnerability":     {"acknowledgments", "cve", "cwe", "discovery_date", "flags", "ids", "involvements", "notes", "product_status", "references", "release_date", "remediations", "scores", "threats", "title"},
		"product_status":    {"first_affected", "first_fixed", "fixed", "known_affected", "known_not_affected", "last_affected", "recommended", "under_investigation"},
		"reference":         {"category", "summary", "url"},
		"id":                {"system_name", "text"},
		"remediation":       {"category", "date", "details", "entitlements", "group_ids", "product_ids", "restart_required", "url"},
		"threat":            {"category", "date", "details", "group_ids", "product_ids"},
	}
	noteCategories      = []string{"description", "details", "faq", "general", "legal_disclaimer", "other", "summary"}
	publisherCategories = []string{"coordinator", "discoverer", "other", "translator", "user", "vendor"}
	branchCategories    = []string{"architecture", "host_name", "language", "legacy", "patch_level", "product_family", "product_name", "product_version", "product_version_range", "service_pack", "specification", "vendor"}
	tlpLabels           = []string{"AMBER", "GREEN", "RED", "WHITE"}
	trackingStatuses    = []string{"draft", "final", "interim"}
	referenceCategories = []string{"external", "self"}
	documentCategoryRe  = regexp.MustCompile(`^[^\s\-_.](.*[^\s\-_.])?$`)
	trackingIDRe        = regexp.MustCompile(`^[\S](.*[\S])?$`)
	versionRe           = regexp.MustCompile(`^(0|[1-9][0-9]*)$|^((0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?)$`)
	uriCharsRe          = regexp.MustCompile(`^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+$`)
)

// object checks that v is an object of the given kind with only known keys
// and the required ones.
func (c *csafChecker) object(path string, v any, kind string, required ...string) map[string]any {
	m, ok := v.(map[string]any)
	if !ok {
		c.bad(path, "not an object")
		return nil
	}
	allowed := csafKeys[kind]
	for k := range m {
		if !contains(allowed, k) {
			c.bad(path, "unknown key %q for %s", k, kind)
		}
	}
	for _, k := range required {
		if _, ok := m[k]; !ok {
			c.bad(path, "missing required %q", k)
		}
	}
	return m
}

func (c *csafChecker) str(path string, m map[string]any, key string) (string, bool) {
	v, ok := m[key]
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		c.bad(path+"/"+key, "not a string")
		return "", false
	}
	if s == "" {
		c.bad(path+"/"+key, "empty string (minLength 1)")
	}
	return s, true
}

func (c *csafChecker) enum(path string, m map[string]any, key string, values []string) {
	if s, ok := c.str(path, m, key); ok && !contains(values, s) {
		c.bad(path+"/"+key, "%q is not one of %v", s, values)
	}
}

func (c *csafChecker) date(path string, m map[string]any, key string) (time.Time, bool) {
	s, ok := c.str(path, m, key)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		c.bad(path+"/"+key, "not RFC 3339: %q", s)
		return time.Time{}, false
	}
	return t, true
}

func (c *csafChecker) uri(path string, m map[string]any, key string) {
	s, ok := c.str(path, m, key)
	if !ok {
		return
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" || !uriCharsRe.MatchString(s) {
		c.bad(path+"/"+key, "not an absolute URI: %q", s)
	}
}

func (c *csafChecker) array(path string, v any) []any {
	a, ok := v.([]any)
	if !ok {
		c.bad(path, "not an array")
		return nil
	}
	if len(a) == 0 {
		c.bad(path, "empty array (minItems 1)")
	}
	return a
}

// products checks a products_t list and records its IDs as references.
func (c *csafChecker) products(path string, v any) []string {
	var ids []string
	seen := map[string]bool{}
	for i, x := range c.array(path, v) {
		s, ok := x.(string)
		if !ok || s == "" {
			c.bad(fmt.Sprintf("%s/%d", path, i), "not a product ID")
			continue
		}
		if seen[s] {
			c.bad(path, "duplicate item %q (uniqueItems)", s)
		}
		seen[s] = true
		ids = append(ids, s)
		c.refs = append(c.refs, ref{path, s})
	}
	return ids
}

func (c *csafChecker) notes(path string, v any) []map[string]any {
	var out []map[string]any
	for i, x := range c.array(path, v) {
		p := fmt.Sprintf("%s/%d", path, i)
		n := c.object(p, x, "note", "category", "text")
		if n == nil {
			continue
		}
		c.enum(p, n, "category", noteCategories)
		c.str(p, n, "text")
		c.str(p, n, "title")
		out = append(out, n)
	}
	return out
}

func (c *csafChecker) references(path string, v any) {
	for i, x := range c.array(path, v) {
		p := fmt.Sprintf("%s/%d", path, i)
		r := c.object(p, x, "reference", "summary", "url")
		if r == nil {
			continue
		}
		c.str(p, r, "summary")
		c.uri(p, r, "url")
		if _, ok := r["category"]; ok {
			c.enum(p, r, "category", referenceCategories)
		}
	}
}

func (c *csafChecker) root(root map[string]any) {
	m := c.object("", root, "root", "document")
	if m == nil {
		return
	}
	category := c.document(m["document"])

	if pt, ok := m["product_tree"]; ok {
		c.productTree("/product_tree", pt)
	} else if category == "csaf_security_advisory" || category == "csaf_vex" {
		c.bad("/product_tree", "missing (6.1.27.4)")
	}
	if vs, ok := m["vulnerabilities"]; ok {
		for i, v := range c.array("/vulnerabilities", vs) {
			c.vulnerability(fmt.Sprintf("/vulnerabilities/%d", i), v, category)
		}
	} else if category == "csaf_security_advisory" || category == "csaf_vex" {
		c.bad("/vulnerabilities", "missing (6.1.27.11)")
	}

	// 6.1.2: each product_id defined once; 6.1.1: every one used is defined.
	for id, n := range c.defined {
		if n > 1 {
			c.bad("/product_tree", "product_id %q defined %d times (6.1.2)", id, n)
		}
	}
	for _, r := range c.refs {
		if c.defined[r.id] == 0 {
			c.bad(r.path, "product_id %q is not defined in product_tree (6.1.1)", r.id)
		}
	}
	sort.Strings(c.problems)
}

func (c *csafChecker) document(v any) string {
	const p = "/document"
	d := c.object(p, v, "document", "category", "csaf_version", "publisher", "title", "tracking")
	if d == nil {
		return ""
	}
	category, _ := c.str(p, d, "category")
	if !documentCategoryRe.MatchString(category) {
		c.bad(p+"/category", "%q does not match the pattern", category)
	}
	if s, _ := c.str(p, d, "csaf_version"); s != "2.0" {
		c.bad(p+"/csaf_version", "%q, want 2.0", s)
	}
	c.str(p, d, "title")
	if pub := c.object(p+"/publisher", d["publisher"], "publisher", "category", "name", "namespace"); pub != nil {
		c.enum(p+"/publisher", pub, "category", publisherCategories)
		c.str(p+"/publisher", pub, "name")
		c.uri(p+"/publisher", pub, "namespace")
	}
	if dist, ok := d["distribution"]; ok {
		if dm := c.object(p+"/distribution", dist, "distribution"); dm != nil {
			if len(dm) == 0 {
				c.bad(p+"/distribution", "empty (minProperties 1)")
			}
			c.str(p+"/distribution", dm, "text")
			if tlp, ok := dm["tlp"]; ok {
				if tm := c.object(p+"/distribution/tlp", tlp, "tlp", "label"); tm != nil {
					c.enum(p+"/distribution/tlp", tm, "label", tlpLabels)
				}
			}
		}
	}
	if n, ok := d["notes"]; ok {
		c.notes(p+"/notes", n)
	}
	if r, ok := d["references"]; ok {
		c.references(p+"/references", r)
	}
	c.tracking(d["tracking"])
	return category
}

func (c *csafChecker) tracking(v any) {
	const p = "/document/tracking"
	tr := c.object(p, v, "tracking", "current_release_date", "id", "initial_release_date", "revision_history", "status", "version")
	if tr == nil {
		return
	}
	id, _ := c.str(p, tr, "id")
	if !trackingIDRe.MatchString(id) {
		c.bad(p+"/id", "%q does not match the pattern", id)
	}
	c.enum(p, tr, "status", trackingStatuses)
	status, _ := tr["status"].(string)
	version, _ := c.str(p, tr, "version")
	if !versionRe.MatchString(version) {
		c.bad(p+"/version", "%q is not a version", version)
	}
	initial, _ := c.date(p, tr, "initial_release_date")
	current, _ := c.date(p, tr, "current_release_date")
	if current.Before(initial) {
		c.bad(p, "current_release_date before initial_release_date")
	}
	if g, ok := tr["generator"]; ok {
		if gm := c.object(p+"/generator", g, "generator", "engine"); gm != nil {
			if _, ok := gm["date"]; ok {
				c.date(p+"/generator", gm, "date")
			}
			if em := c.object(p+"/generator/engine", gm["engine"], "engine", "name"); em != nil {
				c.str(p+"/generator/engine", em, "name")
				c.str(p+"/generator/engine", em, "version")
			}
		}
	}

	type rev struct {
		date   time.Time
		number string
	}
	var revs []rev
	for i, x := range c.array(p+"/revision_history", tr["revision_history"]) {
		rp := fmt.Sprintf("%s/revision_history/%d", p, i)
		r := c.object(rp, x, "revision", "date", "number", "summary")
		if r == nil {
			continue
		}
		t, _ := c.date(rp, r, "date")
		n, _ := c.str(rp, r, "number")
		if !versionRe.MatchString(n) {
			c.bad(rp+"/number", "%q is not a version", n)
		}
		c.str(rp, r, "summary")
		revs = append(revs, rev{t, n})
	}
	if len(revs) == 0 {
		return
	}
	seen := map[string]bool{}
	for i, r := range revs {
		if seen[r.number] {
			c.bad(p+"/revision_history", "number %q twice (6.1.22)", r.number)
		}
		seen[r.number] = true
		if i > 0 && r.date.Before(revs[i-1].date) {
			c.bad(p+"/revision_history", "not sorted by date (6.1.14)")
		}
		if i > 0 {
			// Integer versioning: each number follows the previous one (6.1.21).
			prev, err1 := strconv.Atoi(revs[i-1].number)
			cur, err2 := strconv.Atoi(r.number)
			if err1 == nil && err2 == nil && cur != prev+1 {
				c.bad(p+"/revision_history", "number %d after %d (6.1.21)", cur, prev)
			}
		}
		if status != "draft" && (r.number == "0" || strings.HasPrefix(r.number, "0.")) {
			c.bad(p+"/revision_history", "version 0 in a %s document (6.1.18)", status)
		}
	}
	newest := revs[len(revs)-1]
	if version != newest.number {
		c.bad(p+"/version", "%q is not the newest revision %q (6.1.16)", version, newest.number)
	}
	isZero := version == "0" || strings.HasPrefix(version, "0.")
	if status == "draft" && !isZero && !strings.Contains(version, "-") {
		c.bad(p+"/version", "draft with version %q (6.1.17)", version)
	}
	if status != "draft" && (isZero || strings.Contains(version, "-")) {
		c.bad(p+"/version", "%s document with version %q (6.1.20)", status, version)
	}
	if initial.After(revs[0].date) {
		c.bad(p+"/initial_release_date", "after the oldest revision (6.2.5)")
	}
	if current.Before(newest.date) {
		c.bad(p+"/current_release_date", "before the newest revision (6.2.6)")
	}
}

func (c *csafChecker) productTree(p string, v any) {
	pt := c.object(p, v, "product_tree")
	if pt == nil {
		return
	}
	if len(pt) == 0 {
		c.bad(p, "empty (minProperties 1)")
	}
	if b, ok := pt["branches"]; ok {
		c.branches(p+"/branches", b)
	}
	if f, ok := pt["full_product_names"]; ok {
		for i, x := range c.array(p+"/full_product_names", f) {
			c.fullProductName(fmt.Sprintf("%s/full_product_names/%d", p, i), x)
		}
	}
}

func (c *csafChecker) branches(p string, v any) {
	for i, x := range c.array(p, v) {
		bp := fmt.Sprintf("%s/%d", p, i)
		b := c.object(bp, x, "branch", "category", "name")
		if b == nil {
			continue
		}
		if len(b) != 3 {
			// min/maxProperties 3: category, name and one of branches/product.
			c.bad(bp, "has %d properties, want 3", len(b))
		}
		c.enum(bp, b, "category", branchCategories)
		c.str(bp, b, "name")
		_, hasB := b["branches"]
		_, hasP := b["product"]
		if hasB == hasP {
			c.bad(bp, "needs exactly one of branches and product")
		}
		if hasB {
			c.branches(bp+"/branches", b["branches"])
		}
		if hasP {
			c.fullProductName(bp+"/product", b["product"])
		}
	}
}

func (c *csafChecker) fullProductName(p string, v any) {
	f := c.object(p, v, "full_product_name", "name", "product_id")
	if f == nil {
		return
	}
	c.str(p, f, "name")
	if id, ok := c.str(p, f, "product_id"); ok {
		c.defined[id]++
	}
}

func (c *csafChecker) vulnerability(p string, v any, category string) {
	vm := c.object(p, v, "vulnerability")
	if vm == nil {
		return
	}
	if len(vm) == 0 {
		c.bad(p, "empty (minProperties 1)")
	}
	advisory := category == "csaf_security_advisory" || category == "csaf_vex"
	if n, ok := vm["notes"]; ok {
		c.notes(p+"/notes", n)
	} else if advisory {
		c.bad(p+"/notes", "missing (6.1.27.5)")
	}
	if _, ok := vm["title"]; ok {
		c.str(p, vm, "title")
	}
	if ids, ok := vm["ids"]; ok {
		for i, x := range c.array(p+"/ids", ids) {
			ip := fmt.Sprintf("%s/ids/%d", p, i)
			if im := c.object(ip, x, "id", "system_name", "text"); im != nil {
				c.str(ip, im, "system_name")
				c.str(ip, im, "text")
			}
		}
	}
	if r, ok := vm["references"]; ok {
		c.references(p+"/references", r)
	}
	for _, k := range []string{"remediations", "threats"} {
		x, ok := vm[k]
		if !ok {
			continue
		}
		for i, item := range c.array(p+"/"+k, x) {
			ip := fmt.Sprintf("%s/%s/%d", p, k, i)
			if im := c.object(ip, item, strings.TrimSuffix(k, "s"), "category", "details"); im != nil {
				if ids, ok := im["product_ids"]; ok {
					c.products(ip+"/product_ids", ids)
				}
			}
		}
	}
	ps, ok := vm["product_status"]
	if !ok {
		if category == "csaf_security_advisory" {
			c.bad(p+"/product_status", "missing (6.1.27.6)")
		}
		return
	}
	psm := c.object(p+"/product_status", ps, "product_status")
	if psm == nil {
		return
	}
	if len(psm) == 0 {
		c.bad(p+"/product_status", "empty (minProperties 1)")
	}
	// 6.1.6: a product in at most one of these sets.
	set := map[string]string{
		"first_affected": "affected", "known_affected": "affected", "last_affected": "affected",
		"known_not_affected": "not affected",
		"first_fixed":        "fixed", "fixed": "fixed",
		"under_investigation": "under investigation",
	}
	where := map[string]string{}
	keys := make([]string, 0, len(psm))
	for k := range psm {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, id := range c.products(p+"/product_status/"+k, psm[k]) {
			s, ok := set[k]
			if !ok {
				continue
			}
			if w, dup := where[id]; dup && w != s {
				c.bad(p+"/product_status", "%q is both %s and %s (6.1.6)", id, w, s)
			}
			where[id] = s
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
