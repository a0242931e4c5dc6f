// Package health tracks what an operator needs to know about a running
// coordbot: connection state, outbox depth and age, the last successful
// passes; it serves /healthz and the Prometheus metrics (coordbot_*).
package health

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the daemon's Prometheus metrics. Labels carry outcomes and
// kinds only: never addresses, subjects or bodies.
var (
	Inbound = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "coordbot_inbound_total", Help: "Inbound messages handled, by outcome."}, []string{"outcome"})
	Notices = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "coordbot_notices_total", Help: "Notices sent, by kind and result (sent, retry, failed)."}, []string{"kind", "result"})
	OutboxDepth = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "coordbot_outbox_depth", Help: "Notices waiting in the outbox."})
	OutboxOldest = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "coordbot_outbox_oldest_seconds", Help: "Age of the oldest waiting notice."})
	Connected = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "coordbot_connected", Help: "1 when the IMAP or SMTP connection works."}, []string{"server"})
	SchedulerLag = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "coordbot_scheduler_lag_seconds", Help: "Time since the last scheduler pass."})
	Cases = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "coordbot_cases", Help: "Cases by state."}, []string{"state"})
)

// Registry holds the metrics above.
var Registry = prometheus.NewRegistry()

func init() {
	Registry.MustRegister(Inbound, Notices, OutboxDepth, OutboxOldest, Connected, SchedulerLag, Cases)
}

// State is the daemon's health, updated by its loops.
type State struct {
	mu          sync.Mutex
	imapOK      bool
	imapErr     string
	imapSince   time.Time
	smtpOK      bool
	smtpErr     string
	lastPoll    time.Time
	lastTick    time.Time
	outboxDepth int
	outboxAge   time.Duration
	started     time.Time
}

// New starts tracking at now.
func New(now time.Time) *State { return &State{started: now} }

// IMAP records the IMAP connection state.
func (s *State) IMAP(ok bool, err error, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok != s.imapOK {
		s.imapSince = now
	}
	s.imapOK = ok
	s.imapErr = errText(err)
	Connected.WithLabelValues("imap").Set(b2f(ok))
}

// SMTP records the result of the last send attempt.
func (s *State) SMTP(ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.smtpOK = ok
	s.smtpErr = errText(err)
	Connected.WithLabelValues("smtp").Set(b2f(ok))
}

// Polled records a successful mailbox pass.
func (s *State) Polled(now time.Time) {
	s.mu.Lock()
	s.lastPoll = now
	s.mu.Unlock()
}

// Ticked records a successful scheduler pass.
func (s *State) Ticked(now time.Time) {
	s.mu.Lock()
	s.lastTick = now
	s.mu.Unlock()
	SchedulerLag.Set(0)
}

// Outbox records the outbox's depth and the age of its oldest entry.
func (s *State) Outbox(depth int, oldest time.Duration) {
	s.mu.Lock()
	s.outboxDepth, s.outboxAge = depth, oldest
	s.mu.Unlock()
	OutboxDepth.Set(float64(depth))
	OutboxOldest.Set(oldest.Seconds())
}

// Report is the /healthz body.
type Report struct {
	Healthy  bool     `json:"healthy"`
	Problems []string `json:"problems"`
	IMAP     struct {
		Connected bool   `json:"connected"`
		Error     string `json:"error,omitempty"`
		Since     string `json:"since,omitempty"`
	} `json:"imap"`
	SMTP struct {
		OK    bool   `json:"ok"`
		Error string `json:"error,omitempty"`
	} `json:"smtp"`
	Outbox struct {
		Depth         int     `json:"depth"`
		OldestSeconds float64 `json:"oldest_seconds"`
	} `json:"outbox"`
	LastPoll string `json:"last_poll,omitempty"`
	LastTick string `json:"last_tick,omitempty"`
}

// Limits decide health.
type Limits struct {
	MaxOutboxAge   time.Duration // an older waiting notice is unhealthy
	MaxPollSilence time.Duration // no successful mailbox pass for this long is unhealthy
}

// Check builds the report at now.
func (s *State) Check(now time.Time, lim Limits) Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	var r Report
	r.IMAP.Connected, r.IMAP.Error = s.imapOK, s.imapErr
	if !s.imapSince.IsZero() {
		r.IMAP.Since = s.imapSince.UTC().Format(time.RFC3339)
	}
	r.SMTP.OK, r.SMTP.Error = s.smtpOK, s.smtpErr
	r.Outbox.Depth, r.Outbox.OldestSeconds = s.outboxDepth, s.outboxAge.Seconds()
	if !s.lastPoll.IsZero() {
		r.LastPoll = s.lastPoll.UTC().Format(time.RFC3339)
	}
	if !s.lastTick.IsZero() {
		r.LastTick = s.lastTick.UTC().Format(time.RFC3339)
		SchedulerLag.Set(now.Sub(s.lastTick).Seconds())
	}
	r.Problems = []string{}
	if lim.MaxOutboxAge > 0 && s.outboxAge > lim.MaxOutboxAge {
		r.Problems = append(r.Problems, "outbox: oldest notice waits longer than "+lim.MaxOutboxAge.String())
	}
	last := s.lastPoll
	if last.IsZero() {
		last = s.started
	}
	if lim.MaxPollSilence > 0 && now.Sub(last) > lim.MaxPollSilence {
		r.Problems = append(r.Problems, "imap: no successful mailbox pass for "+now.Sub(last).Round(time.Second).String())
	}
	r.Healthy = len(r.Problems) == 0
	return r
}

// Handler serves /healthz (200 healthy, 503 not, JSON either way) and
// /metrics.
func Handler(s *State, lim Limits, now func() time.Time) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		rep := s.Check(now(), lim)
		w.Header().Set("Content-Type", "application/json")
		if !rep.Healthy {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(rep)
	})
	mux.Handle("/metrics", promhttp.HandlerFor(Registry, promhttp.HandlerOpts{}))
	return mux
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
