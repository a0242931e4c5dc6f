package health

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHealthz(t *testing.T) {
	t0 := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	s := New(t0)
	lim := Limits{MaxOutboxAge: time.Hour, MaxPollSilence: 15 * time.Minute}
	s.IMAP(true, nil, t0)
	s.Polled(t0)
	s.Outbox(3, 10*time.Minute)
	now := t0.Add(time.Minute)
	h := Handler(s, lim, func() time.Time { return now })
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get(); code != http.StatusOK || !strings.Contains(body, `"healthy":true`) || !strings.Contains(body, `"depth":3`) {
		t.Fatalf("healthy: %d %s", code, body)
	}
	s.Outbox(3, 2*time.Hour)
	if code, body := get(); code != http.StatusServiceUnavailable || !strings.Contains(body, "outbox") {
		t.Fatalf("old outbox: %d %s", code, body)
	}
	s.Outbox(0, 0)
	s.IMAP(false, errors.New("dial tcp: connection refused"), now)
	now = t0.Add(20 * time.Minute)
	if code, body := get(); code != http.StatusServiceUnavailable || !strings.Contains(body, "connection refused") {
		t.Fatalf("imap down: %d %s", code, body)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), `coordbot_connected{server="imap"} 0`) {
		t.Fatalf("metrics:\n%s", rec.Body.String())
	}
}
