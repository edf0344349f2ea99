package window

import "math"

// CloseTime returns the smallest stream time at which w is closed, so that
// Closed(w, t) == (t >= CloseTime(w)) for every t. The EMIT FINAL operator
// keeps its open windows ordered by CloseTime and emits each one when stream
// time reaches it.
//
//   - time windows: End + grace. Kafka Streams (KStreamWindowAggregate)
//     keeps updating a window while End > streamTime - grace.
//   - sessions: End + gap + grace + 1. Kafka Streams
//     (KStreamSessionWindowAggregate) drops a merged session whose
//     End < streamTime - grace - gap, and its EMIT FINAL emits sessions with
//     End <= streamTime - grace - gap - 1. The extra gap is the time in which
//     a new record could still extend the session.
//
// The result saturates at math.MaxInt64 (a window that never closes).
func (s Spec) CloseTime(w Window) int64 {
	if s.Kind == Session {
		return satAdd(satAdd(satAdd(w.End, s.GapMs()), s.GraceMs()), 1)
	}
	return satAdd(w.End, s.GraceMs())
}

// Closed reports whether w no longer accepts records at the given stream
// time: streamTime >= CloseTime(w). Once closed a window's result is final;
// a record for it is dropped and counted.
func (s Spec) Closed(w Window, streamTime int64) bool {
	ct := s.CloseTime(w)
	if ct == math.MaxInt64 {
		return false
	}
	return streamTime >= ct
}

// Late reports whether a record at ts arriving when stream time is
// streamTime is dropped because every window it belongs to has closed.
//
// For time windows that is Closed of the last window containing ts (the one
// ending last); a hopping record may still be late for some of its earlier
// windows, which the operator checks per window with Closed. A negative ts
// belongs to no window and is always late.
//
// For sessions Late only judges the record's own one-point session [ts, ts].
// Merging can stretch a session, so the operator must decide with Closed on
// the merged window, as Kafka Streams does; Late is a cheap pre-check that
// never drops a record Closed(merged) would keep when no stored session
// ends after ts.
func (s Spec) Late(ts, streamTime int64) bool {
	if ts < 0 {
		return true
	}
	if s.Kind == Session {
		return s.Closed(Window{Start: ts, End: ts}, streamTime)
	}
	w, ok := s.lastWindow(ts)
	if !ok {
		return true
	}
	return s.Closed(w, streamTime)
}

// ExpireTime returns the smallest stream time at which w's state may be
// removed from the store, so that Expired(w, t) == (t >= ExpireTime(w)).
//
//   - time windows: Start + retention, the rule of Kafka Streams' segmented
//     window stores, which are keyed by window start and keep starts greater
//     than streamTime - retention.
//   - sessions: End + retention + 1. Kafka's session store counts retention
//     from the end; the extra millisecond keeps Expired from firing before
//     Closed when retention is exactly gap + grace (the minimum Validate
//     allows), so state is never removed while the session is still open.
//
// With a validated spec, Expired(w, t) implies Closed(w, t).
func (s Spec) ExpireTime(w Window) int64 {
	if s.Kind == Session {
		return satAdd(satAdd(w.End, s.RetentionMs()), 1)
	}
	return satAdd(w.Start, s.RetentionMs())
}

// Expired reports whether w is past retention at the given stream time: its
// state can be deleted and pull queries no longer see it.
func (s Spec) Expired(w Window, streamTime int64) bool {
	et := s.ExpireTime(w)
	if et == math.MaxInt64 {
		return false
	}
	return streamTime >= et
}
