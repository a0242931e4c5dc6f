package zzold

import (
	"mime"
	"net/mail"
	"strings"
	"time"
)

// maxIDs bounds the message identifiers kept from one field; a thread's root
// (the robot's notice) comes first in References, so the head is kept.
const maxIDs = 1000

// identity fills the fields that say who wrote the message and what it
// answers.
func (p *parser) identity() {
	m, h := p.m, p.m.Header
	if ids := msgIDs(h.Get("Message-Id")); len(ids) > 0 {
		m.MessageID = ids[0]
	}
	for _, v := range h.Values("In-Reply-To") {
		m.InReplyTo = append(m.InReplyTo, msgIDs(v)...)
	}
	if len(m.InReplyTo) > maxIDs {
		m.InReplyTo = m.InReplyTo[:maxIDs]
	}
	m.References = msgIDs(h.Get("References"))

	from, n := p.addressList(h.Values("From"))
	m.FromCount = n
	if len(from) > 0 {
		m.From = from[0]
	}
	m.ReplyTo, _ = p.addressList(h.Values("Reply-To"))
	m.To, _ = p.addressList(h.Values("To"))
	m.Cc, _ = p.addressList(h.Values("Cc"))
	m.Subject = p.headerText(h.Get("Subject"))
	if v := h.Get("Date"); v != "" {
		if t, ok := parseDate(v); ok {
			m.Date = t
		} else {
			p.defect("unreadable date")
		}
	}
}

// msgIDs extracts message identifiers without angle brackets. It scans for
// <...> by hand: real References fields hold comments, missing "@", stray
// spaces, and a strict parser would drop the one ID that links the reply to
// the robot's notice.
func msgIDs(v string) []string {
	var out []string
	for len(out) < maxIDs {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(v[i+1:], '>')
		if j < 0 {
			break
		}
		if id := stripSpace(v[i+1 : i+1+j]); id != "" {
			out = append(out, id)
		}
		v = v[i+1+j+1:]
	}
	if len(out) == 0 {
		// Some clients omit the brackets altogether.
		for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' }) {
			if strings.Contains(f, "@") && len(out) < maxIDs {
				out = append(out, strings.Trim(f, "<>"))
			}
		}
	}
	return out
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
}

// addressList parses address fields; count is the number of addresses over
// all fields, at least one for every non-empty field (an unreadable From
// still counts as a From).
func (p *parser) addressList(values []string) (list []Address, count int) {
	ap := mail.AddressParser{WordDecoder: &mime.WordDecoder{CharsetReader: p.wordCharset}}
	for _, v := range values {
		if strings.TrimSpace(v) == "" {
			continue
		}
		var got []Address
		if addrs, err := ap.ParseList(v); err == nil {
			for _, a := range addrs {
				got = append(got, Address{Name: p.headerText(a.Name), Addr: cleanAddr(a.Address)})
			}
		} else {
			got = p.lenientAddresses(v)
		}
		list = append(list, got...)
		count += max(1, len(got))
	}
	return list, count
}

// lenientAddresses reads what a strict parser refuses (raw 8-bit names,
// unquoted specials): every <addr>, else every bare word with an "@".
func (p *parser) lenientAddresses(v string) []Address {
	var out []Address
	rest := v
	for len(out) < maxIDs {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i+1:], '>')
		if j < 0 {
			break
		}
		addr := cleanAddr(rest[i+1 : i+1+j])
		name := rest[:i]
		if k := strings.LastIndexByte(name, ','); k >= 0 {
			name = name[k+1:]
		}
		name = strings.Trim(strings.TrimSpace(name), `"`)
		if addr != "" {
			out = append(out, Address{Name: p.headerText(name), Addr: addr})
		}
		rest = rest[i+1+j+1:]
	}
	if len(out) > 0 {
		return out
	}
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' || r == ';' }) {
		if strings.Contains(f, "@") && len(out) < maxIDs {
			out = append(out, Address{Addr: cleanAddr(strings.Trim(f, `<>"()`))})
		}
	}
	return out
}

func cleanAddr(s string) string {
	return strings.ToLower(oneLine(stripSpace(s)))
}

// parseDate accepts RFC 5322 dates and the usual deviations.
func parseDate(v string) (time.Time, bool) {
	v = oneLine(v)
	if t, err := mail.ParseDate(v); err == nil {
		return t, true
	}
	// Drop a trailing comment such as "(JST)" and retry common layouts.
	if i := strings.IndexByte(v, '('); i > 0 {
		v = strings.TrimSpace(v[:i])
	}
	for _, layout := range []string{
		"Mon, 2 Jan 2006 15:04:05 -0700",
		"Mon, 2 Jan 2006 15:04:05 MST",
		"2 Jan 2006 15:04:05 -0700",
		"Mon, 2 Jan 2006 15:04 -0700",
		"Mon, 2 Jan 06 15:04:05 -0700",
		"Mon Jan 2 15:04:05 2006",
		"Mon Jan 2 15:04:05 MST 2006",
		time.RFC3339,
	} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
