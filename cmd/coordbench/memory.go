package main

// Phase memory: the peak resident memory (ru_maxrss, through the wrapper of
// rss.go) of `coordbot poll --once` reading
// one encrypted and signed status report that carries an attachment of
// -attach-mb MB (random bytes, base64 inside the encryption), against the
// same poll reading one small report. MB here is 2^20 bytes.

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"
)

func runMemory(ctx context.Context, o *options) ([]Figure, error) {
	r, err := newRobot(ctx, o, "memory", 0)
	if err != nil {
		return nil, err
	}
	vs, err := makeVendors(ctx, "mem", "example.org", 2)
	if err != nil {
		return nil, err
	}
	small, big := vs[0], vs[1]
	if err := register(ctx, r, vs); err != nil {
		return nil, err
	}
	caseID, err := newCase(ctx, r, "NAS share traversal", vs)
	if err != nil {
		return nil, err
	}
	if err := sendDetails(ctx, r, caseID, len(vs)); err != nil {
		return nil, err
	}
	attach := make([]byte, o.attachMB<<20)
	rand.Read(attach)
	now := time.Now()
	smallAns, err := pgpAnswer(small, r.ent, caseID, statusBody(small), nil, now)
	if err != nil {
		return nil, err
	}
	bigAns, err := pgpAnswer(big, r.ent, caseID, statusBody(big), attach, now)
	if err != nil {
		return nil, err
	}
	// The default limit (limits.max_message_bytes, 32 MiB) would quarantine
	// the big answer unread: raise it for both runs.
	r.limitBytes = max(64<<20, 2*int64(len(bigAns.raw)))
	if err := r.writeConfig(); err != nil {
		return nil, err
	}
	o.notef("memory: limits.max_message_bytes raised to %d for both polls (the answer with the attachment is %d bytes)",
		r.limitBytes, len(bigAns.raw))

	rss := func(a *answer) (float64, error) {
		if err := o.srv.AppendAll(botAddr, "INBOX", [][]byte{a.raw}); err != nil {
			return 0, err
		}
		lines, kib, err := r.pollRSS(ctx)
		if err != nil {
			return 0, err
		}
		applied := false
		for _, l := range lines {
			if l.Msg == "inbound" {
				if l.Outcome != "applied" || l.Vendor != a.v.id {
					return 0, fmt.Errorf("answer of %s: %s %s", a.v.id, l.Outcome, l.Reason)
				}
				applied = true
			}
		}
		if !applied {
			return 0, fmt.Errorf("poll --once did not read the answer of %s", a.v.id)
		}
		return round2(float64(kib) / 1024), nil
	}
	smallMB, err := rss(smallAns)
	if err != nil {
		return nil, err
	}
	bigMB, err := rss(bigAns)
	if err != nil {
		return nil, err
	}
	c, err := showCase(ctx, r, caseID)
	if err != nil {
		return nil, err
	}
	if err := checkStatuses(c, vs); err != nil {
		return nil, err
	}
	if err := waitQueueEmpty(ctx, o, time.Minute); err != nil {
		return nil, err
	}
	return []Figure{
		{"memory_poll_small_mb", smallMB, "MB"},
		{"memory_poll_attach_mb", bigMB, "MB"},
		{"memory_attach_message_mb", round2(float64(len(bigAns.raw)) / (1 << 20)), "MB"},
	}, nil
}
