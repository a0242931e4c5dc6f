package zzold

import "strings"

// unflow undoes format=flowed (RFC 3676): soft line breaks (a trailing space)
// are joined within one quote depth and space-stuffing is removed, so a
// wrapped answer or URL reads as one line. Quoted lines come out as ">"
// markers, one per level, then a space.
func unflow(s string, delsp bool) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	var out strings.Builder
	out.Grow(len(s))
	var para strings.Builder
	paraDepth, open := 0, false
	emit := func() {
		if paraDepth > 0 {
			out.WriteString(strings.Repeat(">", paraDepth))
			out.WriteByte(' ')
		}
		out.WriteString(para.String())
		out.WriteByte('\n')
		para.Reset()
		open = false
	}
	for _, line := range lines {
		depth := 0
		for depth < len(line) && line[depth] == '>' {
			depth++
		}
		content := line[depth:]
		content = strings.TrimPrefix(content, " ") // space-stuffing
		if open && depth != paraDepth {
			// A depth change ends the paragraph (RFC 3676 §4.5).
			emit()
		}
		paraDepth = depth
		flowed := strings.HasSuffix(content, " ") && content != "-- "
		if flowed && delsp {
			content = content[:len(content)-1]
		}
		para.WriteString(content)
		open = true
		if !flowed {
			emit()
		}
	}
	if open {
		emit()
	}
	return strings.TrimSuffix(out.String(), "\n")
}
