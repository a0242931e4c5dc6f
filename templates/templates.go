// Package templates holds the embedded notice templates, one file per
// notice kind and language. Each file defines a "subject" (the kind of
// notice: the outer Subject is "[CASE-ID] " followed by it) and a "body".
// Japanese templates carry Japanese first and English second.
package templates

import "embed"

// FS holds ja/*.tmpl and en/*.tmpl.
//
//go:embed ja/*.tmpl en/*.tmpl
var FS embed.FS
