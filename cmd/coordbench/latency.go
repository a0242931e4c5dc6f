package main

// Phase latency: serve runs (IMAP IDLE); encrypted and signed status
// reports are submitted to Postfix one after another, each waiting for the
// acknowledgement of the one before. Per answer: from Postfix accepting
// the answer (the reply to our final dot) to Postfix accepting the
// robot's acknowledgement (the time of its "notice sent" log line).
// Baseline: the same path without coordbot, Postfix to Dovecot to an IMAP
// client in IDLE, for a plain message.

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/coordbot/coordbot/internal/realmail"
)

// latencySettle is the pause between an acknowledgement and the next
// answer. Without it the next answer reaches the INBOX while the robot is
// still busy after the previous one (its scheduler pass after a mailbox
// pass) and is found at once, which no real answer enjoys; with IDLE the
// robot learns of new mail only from Dovecot's notification.
var latencySettle = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("COORDBENCH_SETTLE")); err == nil {
		return d
	}
	return 250 * time.Millisecond
}()

func runLatency(ctx context.Context, o *options) ([]Figure, error) {
	n := o.latencyN
	r, err := newRobot(ctx, o, "latency", 0)
	if err != nil {
		return nil, err
	}
	vs, err := makeVendors(ctx, "lat", "gamma.example", n)
	if err != nil {
		return nil, err
	}
	if err := register(ctx, r, vs); err != nil {
		return nil, err
	}
	caseID, err := newCase(ctx, r, "Camera web UI authentication bypass", vs)
	if err != nil {
		return nil, err
	}
	if err := sendDetails(ctx, r, caseID, n); err != nil {
		return nil, err
	}
	answers, err := statusAnswers(ctx, r, caseID, vs)
	if err != nil {
		return nil, err
	}
	s, err := r.startServe(ctx)
	if err != nil {
		return nil, err
	}
	defer s.stop()
	if _, err := s.scan(ctx, 0, time.Minute, func(l *logLine) bool { return l.Msg == "IMAP connected" }); err != nil {
		return nil, err
	}
	// Let the first pass end and IDLE begin.
	time.Sleep(time.Second)

	o.logf("latency: %d answers, one at a time", n)
	lat := make([]time.Duration, 0, n)
	for i, a := range answers {
		// Let the robot finish the previous answer and wait in IDLE again,
		// as it does when a real answer arrives.
		time.Sleep(latencySettle)
		from := s.count()
		accepted, err := submit(o.srv.SMTPAddr, a.v.addr, botAddr, a.raw)
		if err != nil {
			return nil, err
		}
		var acked time.Time
		var bad string
		if _, err := s.scan(ctx, from, 2*time.Minute, func(l *logLine) bool {
			switch {
			case l.Msg == "inbound" && (l.Outcome != "applied" || l.Vendor != a.v.id):
				bad = fmt.Sprintf("answer of %s: inbound %s %s (vendor %q)", a.v.id, l.Outcome, l.Reason, l.Vendor)
				return true
			case l.Msg == "notice sent" && l.Kind == "ack" && l.Vendor == a.v.id:
				acked = l.Time
				return true
			}
			return false
		}); err != nil {
			return nil, fmt.Errorf("waiting for the acknowledgement of answer %d (%s): %w", i+1, a.v.id, err)
		}
		if bad != "" {
			return nil, fmt.Errorf("%s", bad)
		}
		lat = append(lat, acked.Sub(accepted))
		if o.verbose && (i+1)%50 == 0 {
			o.logf("latency: %d/%d, last %v", i+1, n, lat[len(lat)-1].Round(time.Millisecond))
		}
	}
	if err := s.stop(); err != nil {
		return nil, err
	}
	c, err := showCase(ctx, r, caseID)
	if err != nil {
		return nil, err
	}
	if err := checkStatuses(c, vs); err != nil {
		return nil, err
	}

	// The baseline varies little: 50 samples are enough for its p50 and
	// save a minute.
	base, err := deliveryLatency(ctx, o, min(n, 50))
	if err != nil {
		return nil, err
	}
	o.notef("latency: %d encrypted and signed status reports through Postfix, one at a time, %v apart after each acknowledgement; baseline: %d plain messages Postfix to IMAP IDLE",
		n, latencySettle, len(base))
	early, half := 0, percentile(base, 50)/2
	for _, d := range lat {
		if d < half {
			early++
		}
	}
	if early > 0 {
		o.notef("latency: %d of %d acknowledgements came sooner than half the delivery p50: the robot found those answers before Dovecot's IDLE notification (still busy with the one before?)",
			early, n)
	}
	return []Figure{
		{"latency_ack_p50_ms", ms(percentile(lat, 50)), "ms"},
		{"latency_ack_p99_ms", ms(percentile(lat, 99)), "ms"},
		{"latency_delivery_p50_ms", ms(percentile(base, 50)), "ms"},
		{"latency_delivery_p99_ms", ms(percentile(base, 99)), "ms"},
	}, nil
}

// submit sends one message through Postfix in its own session, as a mail
// client does, and returns when Postfix accepted it.
func submit(addr, from, to string, raw []byte) (time.Time, error) {
	s, err := dialSMTP(addr)
	if err != nil {
		return time.Time{}, err
	}
	defer s.close()
	if err := s.send(from, []string{to}, raw); err != nil {
		return time.Time{}, fmt.Errorf("submitting the message of %s: %w", from, err)
	}
	return time.Now(), nil
}

// deliveryLatency measures n plain messages, one at a time, from Postfix
// accepting them to an IMAP client in IDLE on the recipient's INBOX seeing
// EXISTS: the part of the latency coordbot cannot shorten.
func deliveryLatency(ctx context.Context, o *options, n int) ([]time.Duration, error) {
	const user = "idlewatch@example.org"
	if err := o.srv.CreateUsers(user); err != nil {
		return nil, err
	}
	exists := make(chan uint32, 16)
	conn, err := net.DialTimeout("tcp", o.srv.IMAPAddr, 30*time.Second)
	if err != nil {
		return nil, err
	}
	c := imapclient.New(conn, &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Mailbox: func(data *imapclient.UnilateralDataMailbox) {
			if data.NumMessages != nil {
				select {
				case exists <- *data.NumMessages:
				default:
				}
			}
		},
	}})
	defer c.Close()
	if err := c.Login(user, realmail.Password).Wait(); err != nil {
		return nil, err
	}
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return nil, err
	}
	idle, err := c.Idle()
	if err != nil {
		return nil, err
	}
	var out []time.Duration
	for i := range n {
		raw := []byte(fmt.Sprintf("From: reporter@example.com\r\nTo: %s\r\nSubject: ping %d\r\nMessage-ID: <ping.%d.%d@example.com>\r\n"+
			"Date: %s\r\n\r\nping\r\n", user, i, i, time.Now().UnixNano(), time.Now().Format(time.RFC1123Z)))
		accepted, err := submit(o.srv.SMTPAddr, "reporter@example.com", user, raw)
		if err != nil {
			return nil, err
		}
		deadline := time.After(time.Minute)
	wait:
		for {
			select {
			case k := <-exists:
				if k >= uint32(i+1) {
					out = append(out, time.Since(accepted))
					break wait
				}
			case <-deadline:
				return nil, fmt.Errorf("IDLE saw no EXISTS for message %d within a minute", i+1)
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	if err := idle.Close(); err == nil {
		idle.Wait()
	}
	return out, nil
}
