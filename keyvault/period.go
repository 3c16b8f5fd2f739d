package keyvault

import (
	"fmt"
	"time"
)

// Period is how long one epoch key covers. Epochs are aligned to UTC calendar
// boundaries, so every node of a federation that uses the same period agrees
// on where epochs begin, whatever its local time zone.
type Period uint8

// Epoch periods. The numbers are stored in the vault file.
const (
	// PeriodDay: from 00:00 UTC to the next 00:00 UTC.
	PeriodDay Period = 1
	// PeriodWeek: an ISO 8601 week, from Monday 00:00 UTC to the next Monday.
	PeriodWeek Period = 2
	// PeriodMonth: from the 1st of a month 00:00 UTC to the 1st of the next.
	PeriodMonth Period = 3
)

// DefaultPeriod is used when [Options.Period] is zero. A week bounds how long
// one pseudonym stays linkable while still showing weekly traffic patterns,
// which is what most analyses of shared flow data need.
const DefaultPeriod = PeriodWeek

func (p Period) valid() bool { return p >= PeriodDay && p <= PeriodMonth }

// String returns "day", "week" or "month".
func (p Period) String() string {
	switch p {
	case PeriodDay:
		return "day"
	case PeriodWeek:
		return "week"
	case PeriodMonth:
		return "month"
	}
	return fmt.Sprintf("Period(%d)", uint8(p))
}

// ParsePeriod parses "day", "week" or "month". Other input returns an error
// wrapping [ErrInvalid].
func ParsePeriod(s string) (Period, error) {
	for _, p := range []Period{PeriodDay, PeriodWeek, PeriodMonth} {
		if s == p.String() {
			return p, nil
		}
	}
	return 0, fmt.Errorf("parsing period %q: want day, week or month: %w", s, ErrInvalid)
}

// MarshalText implements [encoding.TextMarshaler].
func (p Period) MarshalText() ([]byte, error) {
	if !p.valid() {
		return nil, fmt.Errorf("marshaling period %d: %w", uint8(p), ErrInvalid)
	}
	return []byte(p.String()), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler].
func (p *Period) UnmarshalText(text []byte) error {
	v, err := ParsePeriod(string(text))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Bounds returns the UTC interval [start, end) of the epoch containing t. It
// panics if p is not one of the defined periods.
func (p Period) Bounds(t time.Time) (start, end time.Time) {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	switch p {
	case PeriodDay:
		return day, day.AddDate(0, 0, 1)
	case PeriodWeek:
		// time.Weekday counts from Sunday; ISO weeks start on Monday.
		back := (int(t.Weekday()) + 6) % 7
		start = day.AddDate(0, 0, -back)
		return start, start.AddDate(0, 0, 7)
	case PeriodMonth:
		start = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 1, 0)
	}
	panic(fmt.Sprintf("keyvault: Bounds on invalid %v", p))
}
