package window

// Window is a window's bounds in ms since the epoch. For time windows
// (TUMBLING, HOPPING) Start is inclusive and End exclusive: End = Start +
// size. For sessions both are inclusive: Start is the first record's
// timestamp and End the last one's, so a one-record session has Start == End.
type Window struct {
	Start, End int64
}

// Assign appends to dst every time window that contains ts, in ascending
// order of Start, and returns the extended slice.
//
// Windows are aligned to the epoch on multiples of the advance (the size for
// TUMBLING), so a window contains ts when Start <= ts < Start+Size. As Kafka
// Streams' TimeWindows.windowsFor does, no window starts before 0: a record
// at ts < Size-Advance belongs to fewer hopping windows, and a record with a
// negative ts belongs to none (the operator drops and counts it). When Size
// is not a multiple of Advance the number of windows per record varies by
// one. End saturates at math.MaxInt64.
//
// Assign must only be called on a validated TUMBLING or HOPPING spec; for a
// SESSION spec it returns dst unchanged.
func (s Spec) Assign(ts int64, dst []Window) []Window {
	if s.Kind == Session || ts < 0 {
		return dst
	}
	size, adv := s.SizeMs(), s.AdvanceMs()
	if size <= 0 || adv <= 0 {
		return dst
	}
	// The first window is the earliest aligned start with Start+size > ts.
	// ts-size+adv cannot overflow: adv <= size and ts >= 0.
	start := (max(0, ts-size+adv) / adv) * adv
	for {
		dst = append(dst, Window{Start: start, End: satAdd(start, size)})
		if start > ts-adv { // the next start would be past ts (or overflow)
			return dst
		}
		start += adv
	}
}

// At returns the time window that starts at start: [start, start+size),
// its end saturating as Assign's do. For a validated TUMBLING or HOPPING
// spec only.
func (s Spec) At(start int64) Window { return Window{Start: start, End: satAdd(start, s.SizeMs())} }

// lastWindow returns the time window containing ts that ends last, the one
// that closes last; ok is false when ts belongs to no window.
func (s Spec) lastWindow(ts int64) (w Window, ok bool) {
	if s.Kind == Session || ts < 0 {
		return Window{}, false
	}
	size, adv := s.SizeMs(), s.AdvanceMs()
	if size <= 0 || adv <= 0 {
		return Window{}, false
	}
	start := (ts / adv) * adv
	return Window{Start: start, End: satAdd(start, size)}, true
}
