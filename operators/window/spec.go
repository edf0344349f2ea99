package window

import (
	"fmt"
	"math"
	"time"
)

// Kind is the type of a window, as named in ksqlDB's WINDOW clause.
type Kind int

const (
	// Tumbling windows are fixed-size, gap-less and non-overlapping:
	// WINDOW TUMBLING (SIZE s).
	Tumbling Kind = iota
	// Hopping windows are fixed-size and advance by a hop no larger than
	// their size, so they may overlap: WINDOW HOPPING (SIZE s, ADVANCE BY a).
	Hopping
	// Session windows group records of a key separated by less than an
	// inactivity gap: WINDOW SESSION (g).
	Session
)

// String returns the SQL keyword of k.
func (k Kind) String() string {
	switch k {
	case Tumbling:
		return "TUMBLING"
	case Hopping:
		return "HOPPING"
	case Session:
		return "SESSION"
	default:
		return fmt.Sprintf("Kind(%d)", int(k))
	}
}

// DefaultGraceBase is the 24 hours from which ksqlDB's default grace is
// derived when GRACE PERIOD is omitted (Kafka Streams'
// DEPRECATED_DEFAULT_24_HR_GRACE_PERIOD): grace = max(24h - size, 0).
const DefaultGraceBase = 24 * time.Hour

// Spec describes one window clause. Durations are truncated to whole
// milliseconds, the unit of record timestamps. The zero value is not valid:
// call Validate once when the plan is built.
type Spec struct {
	Kind Kind
	// Size is the duration of a TUMBLING or HOPPING window. Unused by
	// sessions.
	Size time.Duration
	// Advance is the hop of a HOPPING window (ADVANCE BY): 0 < Advance <=
	// Size. A TUMBLING window's advance is its size; leave it zero (or equal
	// to Size). Unused by sessions.
	Advance time.Duration
	// Gap is the inactivity gap of a SESSION window. Unused otherwise.
	Gap time.Duration
	// Grace is the GRACE PERIOD, honoured only when HasGrace is set.
	// Default (HasGrace false): max(24h - Size, 0), or max(24h - Gap, 0)
	// for sessions — what ksqlDB gets from Kafka Streams when the clause is
	// omitted. See GraceMs.
	Grace    time.Duration
	HasGrace bool
	// Retention is the RETENTION: how long a window's state is kept, counted
	// from its start (time windows) or its end (sessions). Zero means the
	// default, Size + grace (Gap + grace for sessions), Kafka Streams'
	// default for a windowed store. See RetentionMs.
	Retention time.Duration
}

// SizeMs returns the window size in ms: Size for hopping and tumbling, Gap
// for sessions (a session's "size" for retention purposes).
func (s Spec) SizeMs() int64 {
	if s.Kind == Session {
		return s.Gap.Milliseconds()
	}
	return s.Size.Milliseconds()
}

// AdvanceMs returns the hop in ms: Advance for hopping windows, Size for
// tumbling ones, 0 for sessions.
func (s Spec) AdvanceMs() int64 {
	switch s.Kind {
	case Hopping:
		return s.Advance.Milliseconds()
	case Tumbling:
		return s.Size.Milliseconds()
	default:
		return 0
	}
}

// GapMs returns the session inactivity gap in ms (0 for time windows).
func (s Spec) GapMs() int64 {
	if s.Kind != Session {
		return 0
	}
	return s.Gap.Milliseconds()
}

// GraceMs returns the effective grace period in ms: Grace when HasGrace,
// otherwise max(24h - size, 0) where size is Gap for sessions.
func (s Spec) GraceMs() int64 {
	if s.HasGrace {
		return s.Grace.Milliseconds()
	}
	return max(DefaultGraceBase.Milliseconds()-s.SizeMs(), 0)
}

// RetentionMs returns the effective retention in ms: Retention when set,
// otherwise size + grace (gap + grace for sessions).
func (s Spec) RetentionMs() int64 {
	if s.Retention != 0 {
		return s.Retention.Milliseconds()
	}
	return satAdd(s.SizeMs(), s.GraceMs())
}

// Validate reports, wrapping ErrInvalidSpec, the first reason ksqlDB (or
// the Kafka Streams window it builds) would refuse s.
func (s Spec) Validate() error {
	switch s.Kind {
	case Tumbling, Hopping:
		if s.Size.Milliseconds() <= 0 {
			return fmt.Errorf("%w: %s window SIZE must be at least 1 millisecond, got %s",
				ErrInvalidSpec, s.Kind, s.Size)
		}
		if s.Kind == Tumbling {
			if s.Advance != 0 && s.Advance.Milliseconds() != s.Size.Milliseconds() {
				return fmt.Errorf("%w: TUMBLING windows take no ADVANCE BY (got %s for SIZE %s); use HOPPING",
					ErrInvalidSpec, s.Advance, s.Size)
			}
			break
		}
		if s.Advance.Milliseconds() <= 0 {
			return fmt.Errorf("%w: HOPPING window ADVANCE BY must be at least 1 millisecond, got %s",
				ErrInvalidSpec, s.Advance)
		}
		if s.Advance.Milliseconds() > s.Size.Milliseconds() {
			return fmt.Errorf("%w: HOPPING window ADVANCE BY (%s) must not be larger than its SIZE (%s)",
				ErrInvalidSpec, s.Advance, s.Size)
		}
	case Session:
		if s.Gap.Milliseconds() <= 0 {
			return fmt.Errorf("%w: SESSION window inactivity gap must be at least 1 millisecond, got %s",
				ErrInvalidSpec, s.Gap)
		}
	default:
		return fmt.Errorf("%w: unknown window kind %d", ErrInvalidSpec, int(s.Kind))
	}
	if s.HasGrace && s.Grace < 0 {
		return fmt.Errorf("%w: GRACE PERIOD must not be negative, got %s", ErrInvalidSpec, s.Grace)
	}
	if s.Retention < 0 {
		return fmt.Errorf("%w: RETENTION must not be negative, got %s", ErrInvalidSpec, s.Retention)
	}
	if s.Retention != 0 {
		need := satAdd(s.SizeMs(), s.GraceMs())
		if s.RetentionMs() < need {
			what := "window SIZE"
			if s.Kind == Session {
				what = "session inactivity gap"
			}
			hint := ""
			if !s.HasGrace {
				// ksqlDB users trip on this: the implicit grace is 24h minus
				// the size, so any RETENTION under a day needs a GRACE PERIOD.
				hint = "; without GRACE PERIOD the grace defaults to 24 hours minus the size, so set GRACE PERIOD explicitly"
			}
			return fmt.Errorf("%w: RETENTION (%s) must be no smaller than the %s plus the GRACE PERIOD (%s + %s)%s",
				ErrInvalidSpec, s.Retention, what,
				time.Duration(s.SizeMs())*time.Millisecond, time.Duration(s.GraceMs())*time.Millisecond, hint)
		}
	}
	return nil
}

// satAdd returns a+b clamped to the int64 range, so that window ends and
// close times near the end of time saturate instead of wrapping (Kafka
// Streams truncates such ends to Long.MAX_VALUE too).
func satAdd(a, b int64) int64 {
	c := a + b
	if b > 0 && c < a {
		return math.MaxInt64
	}
	if b < 0 && c > a {
		return math.MinInt64
	}
	return c
}
