package schedule

import "time"

// AddMonths adds n calendar months to t in loc (DESIGN §11: "months" are
// calendar months in bot.timezone), keeping the wall-clock time.
//
// The guideline counts calendar months (§2-3, §4-5: 起算日から 3ヶ月;
// §7-1, §7-2: 3ヶ月程度の猶予, さらに 3ヶ月以上). A day that does not exist in the
// target month is clamped to that month's last day: 2027-01-31 + 1 month
// is 2027-02-28, not Go's AddDate normalisation to 2027-03-03; 2028-01-31
// + 1 month is 2028-02-29; 2027-03-31 + 1 month is 2027-04-30.
//
// Periods are always counted from their anchor (the start, or the instant a
// stage was applied), never month by month, because clamping does not
// compose: 2027-01-31 + 2 months is 2027-03-31, while (2027-01-31 + 1) + 1
// is 2027-03-28.
//
// A wall-clock time that falls into a daylight-saving gap of loc is
// normalised by time.Date (moved forward by the gap). A nil loc means UTC.
func AddMonths(t time.Time, n int, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	y, m, d := lt.Date()
	hh, mm, ss := lt.Clock()
	// The first of the target month is always valid: let time.Date carry
	// the year, then clamp the day.
	ty, tm, _ := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, loc).Date()
	if last := daysIn(ty, tm, loc); d > last {
		d = last
	}
	return time.Date(ty, tm, d, hh, mm, ss, lt.Nanosecond(), loc)
}

// daysIn is the number of days of month m of year y.
func daysIn(y int, m time.Month, loc *time.Location) int {
	// Day 0 of the next month is the last day of this one.
	return time.Date(y, m+1, 0, 12, 0, 0, 0, loc).Day()
}
