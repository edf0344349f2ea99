package window

import "math"

// NoStreamTime is what StreamTime.Now returns before any record has been
// observed: earlier than every timestamp, so no window is closed yet.
const NoStreamTime int64 = math.MinInt64

// StreamTime is a task's event-time clock: the largest record timestamp it
// has observed. It never goes backwards. The zero value is ready to use and
// has observed nothing.
//
// A StreamTime belongs to one task and is not safe for concurrent use. On
// restore the task observes the stream time it persisted with its state (or
// replays its records), so closing decisions repeat exactly after a restart.
type StreamTime struct {
	max  int64
	seen bool
}

// Observe advances the clock to ts if ts is later than every timestamp seen
// so far, and returns the (possibly unchanged) stream time.
func (t *StreamTime) Observe(ts int64) int64 {
	if !t.seen || ts > t.max {
		t.max, t.seen = ts, true
	}
	return t.max
}

// Now returns the stream time: the largest timestamp observed, or
// NoStreamTime if none has been.
func (t *StreamTime) Now() int64 {
	if !t.seen {
		return NoStreamTime
	}
	return t.max
}

// Seen reports whether any timestamp has been observed.
func (t *StreamTime) Seen() bool { return t.seen }
