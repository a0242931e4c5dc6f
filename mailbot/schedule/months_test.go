package schedule

import (
	"testing"
	"time"
	_ "time/tzdata" // Asia/Tokyo, America/New_York on hosts without zoneinfo
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// Calendar months, clamped to the end of a shorter month (DESIGN §11).
func TestAddMonths(t *testing.T) {
	tokyo := mustZone(t, "Asia/Tokyo")
	ny := mustZone(t, "America/New_York")
	tests := []struct {
		name string
		from time.Time
		n    int
		loc  *time.Location
		want time.Time
	}{
		{"Jan 31 + 1 clamps to Feb 28 (AddDate gives Mar 3)", time.Date(2027, 1, 31, 9, 0, 0, 0, tokyo), 1, tokyo, time.Date(2027, 2, 28, 9, 0, 0, 0, tokyo)},
		{"leap year: Jan 31 + 1 is Feb 29", time.Date(2028, 1, 31, 9, 0, 0, 0, tokyo), 1, tokyo, time.Date(2028, 2, 29, 9, 0, 0, 0, tokyo)},
		{"Jan 31 + 2 is Mar 31 (counted from the anchor)", time.Date(2027, 1, 31, 9, 0, 0, 0, tokyo), 2, tokyo, time.Date(2027, 3, 31, 9, 0, 0, 0, tokyo)},
		{"Mar 31 + 1 clamps to Apr 30", time.Date(2027, 3, 31, 23, 59, 0, 0, tokyo), 1, tokyo, time.Date(2027, 4, 30, 23, 59, 0, 0, tokyo)},
		{"Nov 30 + 3 crosses into a leap February", time.Date(2027, 11, 30, 9, 0, 0, 0, tokyo), 3, tokyo, time.Date(2028, 2, 29, 9, 0, 0, 0, tokyo)},
		{"Jan 10 + 3 (§4-5)", time.Date(2027, 1, 10, 9, 0, 0, 0, tokyo), 3, tokyo, time.Date(2027, 4, 10, 9, 0, 0, 0, tokyo)},
		{"Jan 10 + 12 (one year)", time.Date(2027, 1, 10, 9, 0, 0, 0, tokyo), 12, tokyo, time.Date(2028, 1, 10, 9, 0, 0, 0, tokyo)},
		{"zero months", time.Date(2027, 5, 31, 9, 0, 0, 0, tokyo), 0, tokyo, time.Date(2027, 5, 31, 9, 0, 0, 0, tokyo)},
		{"negative months clamp too", time.Date(2027, 3, 31, 9, 0, 0, 0, tokyo), -1, tokyo, time.Date(2027, 2, 28, 9, 0, 0, 0, tokyo)},
		// The calendar is the zone's: 2027-01-31 00:30 in Tokyo is still
		// January 30 in UTC.
		{"the zone decides the day", time.Date(2027, 1, 31, 0, 30, 0, 0, tokyo), 1, tokyo, time.Date(2027, 2, 28, 0, 30, 0, 0, tokyo)},
		{"same instant counted in UTC", time.Date(2027, 1, 31, 0, 30, 0, 0, tokyo), 1, time.UTC, time.Date(2027, 2, 28, 15, 30, 0, 0, time.UTC)},
		{"wall clock kept across DST", time.Date(2027, 1, 15, 9, 0, 0, 0, ny), 3, ny, time.Date(2027, 4, 15, 9, 0, 0, 0, ny)},
		{"nil location is UTC", time.Date(2027, 1, 31, 9, 0, 0, 0, time.UTC), 1, nil, time.Date(2027, 2, 28, 9, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AddMonths(tt.from, tt.n, tt.loc)
			if !got.Equal(tt.want) {
				t.Fatalf("AddMonths(%v, %d) = %v, want %v", tt.from, tt.n, got, tt.want)
			}
		})
	}
}
