package window

import "time"

// SessionSearchBounds returns the bounds the operator uses to look up, in its
// store for the record's key, the sessions a record at ts may join: every
// session with End >= minEnd and Start <= maxStart. These are the arguments
// Kafka Streams passes to SessionStore.findSessions(key, ts-gap, ts+gap).
func SessionSearchBounds(gap time.Duration, ts int64) (minEnd, maxStart int64) {
	g := gap.Milliseconds()
	return satAdd(ts, -g), satAdd(ts, g)
}

// SessionTouches reports whether a record at ts joins session w: Start-gap
// <= ts <= End+gap, both bounds inclusive, so a record exactly one gap after
// a session's last record still extends it (Kafka Streams' findSessions
// keeps sessions with end >= ts-gap and start <= ts+gap).
func SessionTouches(gap time.Duration, ts int64, w Window) bool {
	minEnd, maxStart := SessionSearchBounds(gap, ts)
	return w.End >= minEnd && w.Start <= maxStart
}

// TouchingSessions appends to dst the indexes of the candidates a record at
// ts joins (see SessionTouches) and returns the extended slice. The operator
// deletes exactly these sessions from its store, merges their aggregates and
// stores the result under MergeSession's window.
func TouchingSessions(gap time.Duration, ts int64, candidates []Window, dst []int) []int {
	for i, w := range candidates {
		if SessionTouches(gap, ts, w) {
			dst = append(dst, i)
		}
	}
	return dst
}

// MergeSession returns the session a record at ts forms with the candidate
// sessions it touches: from the earliest of their starts and ts to the latest
// of their ends and ts. Candidates it does not touch are ignored, so the
// operator may pass everything its store lookup returned. With no touching
// candidate the result is the one-point session [ts, ts].
//
// Merging is not transitive, exactly as in Kafka Streams: the sessions of a
// key stay more than a gap apart, so a session the record does not touch
// cannot touch the merged one either.
func MergeSession(gap time.Duration, ts int64, candidates []Window) (merged Window) {
	merged = Window{Start: ts, End: ts}
	for _, w := range candidates {
		if !SessionTouches(gap, ts, w) {
			continue
		}
		merged.Start = min(merged.Start, w.Start)
		merged.End = max(merged.End, w.End)
	}
	return merged
}
