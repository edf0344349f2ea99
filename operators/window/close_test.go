package window

import (
	"math"
	"testing"
	"time"
)

func TestClosedAndCloseTime(t *testing.T) {
	tumbling := Spec{Kind: Tumbling, Size: 10 * time.Millisecond, HasGrace: true}
	tumblingGrace := Spec{Kind: Tumbling, Size: 10 * time.Millisecond, Grace: 5 * time.Millisecond, HasGrace: true}
	tumblingDefault := Spec{Kind: Tumbling, Size: time.Hour} // grace 23h
	session := Spec{Kind: Session, Gap: 10 * time.Millisecond, HasGrace: true}
	sessionGrace := Spec{Kind: Session, Gap: 10 * time.Millisecond, Grace: 5 * time.Millisecond, HasGrace: true}
	const hour = int64(3_600_000)

	tests := []struct {
		name       string
		spec       Spec
		w          Window
		streamTime int64
		closeTime  int64
		closed     bool
	}{
		{"tumbling no grace before end", tumbling, Window{0, 10}, 9, 10, false},
		{"tumbling no grace at end", tumbling, Window{0, 10}, 10, 10, true},
		{"tumbling grace at end", tumblingGrace, Window{0, 10}, 10, 15, false},
		{"tumbling grace one before", tumblingGrace, Window{0, 10}, 14, 15, false},
		{"tumbling grace at end+grace", tumblingGrace, Window{0, 10}, 15, 15, true},
		{"tumbling default grace open", tumblingDefault, Window{0, hour}, 24*hour - 1, 24 * hour, false},
		{"tumbling default grace closed", tumblingDefault, Window{0, hour}, 24 * hour, 24 * hour, true},
		{"no stream time yet", tumbling, Window{0, 10}, NoStreamTime, 10, false},
		{"session no grace at end+gap", session, Window{0, 5}, 15, 16, false},
		{"session no grace past end+gap", session, Window{0, 5}, 16, 16, true},
		{"session grace at end+gap+grace", sessionGrace, Window{0, 5}, 20, 21, false},
		{"session grace past end+gap+grace", sessionGrace, Window{0, 5}, 21, 21, true},
		{"saturated window never closes", tumblingGrace, Window{math.MaxInt64 - 10, math.MaxInt64}, math.MaxInt64, math.MaxInt64, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.spec.CloseTime(tt.w); got != tt.closeTime {
				t.Errorf("CloseTime(%v) = %d, want %d", tt.w, got, tt.closeTime)
			}
			if got := tt.spec.Closed(tt.w, tt.streamTime); got != tt.closed {
				t.Errorf("Closed(%v, %d) = %v, want %v", tt.w, tt.streamTime, got, tt.closed)
			}
		})
	}
}

// TestClosedIsCloseTime checks Closed(w, t) == (t >= CloseTime(w)) around
// the close time of every kind.
func TestClosedIsCloseTime(t *testing.T) {
	specs := []Spec{
		{Kind: Tumbling, Size: 10 * time.Millisecond, Grace: 3 * time.Millisecond, HasGrace: true},
		{Kind: Hopping, Size: 10 * time.Millisecond, Advance: 3 * time.Millisecond},
		{Kind: Session, Gap: 7 * time.Millisecond, Grace: 2 * time.Millisecond, HasGrace: true},
	}
	for _, s := range specs {
		w := Window{Start: 100, End: 110}
		ct := s.CloseTime(w)
		for st := ct - 3; st <= ct+3; st++ {
			if got, want := s.Closed(w, st), st >= ct; got != want {
				t.Errorf("%s: Closed(%v, %d) = %v, want %v (close time %d)", s.Kind, w, st, got, want, ct)
			}
		}
	}
}

func TestLate(t *testing.T) {
	tumbling := Spec{Kind: Tumbling, Size: 10 * time.Millisecond, Grace: 5 * time.Millisecond, HasGrace: true}
	// Windows of ts=12: [5,15) and [10,20); the last closes at 20+2.
	hopping := Spec{Kind: Hopping, Size: 10 * time.Millisecond, Advance: 5 * time.Millisecond, Grace: 2 * time.Millisecond, HasGrace: true}
	session := Spec{Kind: Session, Gap: 10 * time.Millisecond, Grace: 5 * time.Millisecond, HasGrace: true}
	tests := []struct {
		name       string
		spec       Spec
		ts, stream int64
		late       bool
	}{
		{"tumbling on time", tumbling, 12, 12, false},
		{"tumbling within grace", tumbling, 3, 14, false},
		{"tumbling at close", tumbling, 3, 15, true},
		{"tumbling next window still open", tumbling, 10, 15, false},
		{"hopping first window closed, last open", hopping, 12, 17, false},
		{"hopping just before last close", hopping, 12, 21, false},
		{"hopping last closed", hopping, 12, 22, true},
		{"session point within gap+grace", session, 100, 115, false},
		{"session point past gap+grace", session, 100, 116, true},
		{"negative ts", tumbling, -1, 0, true},
		{"negative ts session", session, -1, NoStreamTime, true},
		{"nothing seen", tumbling, 0, NoStreamTime, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.spec.Late(tt.ts, tt.stream); got != tt.late {
				t.Fatalf("Late(%d, %d) = %v, want %v", tt.ts, tt.stream, got, tt.late)
			}
		})
	}
}

// TestLateMeansAllWindowsClosed checks Late against its definition: every
// window Assign gives is Closed.
func TestLateMeansAllWindowsClosed(t *testing.T) {
	s := Spec{Kind: Hopping, Size: 10 * time.Millisecond, Advance: 4 * time.Millisecond, Grace: 3 * time.Millisecond, HasGrace: true}
	for ts := int64(0); ts < 40; ts++ {
		for st := ts; st < ts+30; st++ {
			all := true
			for _, w := range s.Assign(ts, nil) {
				all = all && s.Closed(w, st)
			}
			if got := s.Late(ts, st); got != all {
				t.Fatalf("Late(%d, %d) = %v, but all windows closed = %v", ts, st, got, all)
			}
		}
	}
}

func TestExpired(t *testing.T) {
	tumbling := Spec{Kind: Tumbling, Size: 10 * time.Millisecond, Grace: 5 * time.Millisecond, HasGrace: true} // retention 15
	retained := Spec{Kind: Tumbling, Size: 10 * time.Millisecond, Grace: 5 * time.Millisecond, HasGrace: true, Retention: 100 * time.Millisecond}
	session := Spec{Kind: Session, Gap: 10 * time.Millisecond, Grace: 5 * time.Millisecond, HasGrace: true} // retention 15
	tests := []struct {
		name       string
		spec       Spec
		w          Window
		stream     int64
		expireTime int64
		expired    bool
	}{
		{"default retention before", tumbling, Window{20, 30}, 34, 35, false},
		{"default retention at start+retention", tumbling, Window{20, 30}, 35, 35, true},
		{"explicit retention before", retained, Window{20, 30}, 119, 120, false},
		{"explicit retention at", retained, Window{20, 30}, 120, 120, true},
		{"session before", session, Window{20, 30}, 45, 46, false},
		{"session at end+retention+1", session, Window{20, 30}, 46, 46, true},
		{"saturated never expires", retained, Window{math.MaxInt64 - 5, math.MaxInt64}, math.MaxInt64, math.MaxInt64, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.spec.ExpireTime(tt.w); got != tt.expireTime {
				t.Errorf("ExpireTime(%v) = %d, want %d", tt.w, got, tt.expireTime)
			}
			if got := tt.spec.Expired(tt.w, tt.stream); got != tt.expired {
				t.Errorf("Expired(%v, %d) = %v, want %v", tt.w, tt.stream, got, tt.expired)
			}
		})
	}
}

// TestExpiredImpliesClosed checks that, at the minimum retention Validate
// allows, state is never removed while its window is still open.
func TestExpiredImpliesClosed(t *testing.T) {
	specs := []Spec{
		{Kind: Tumbling, Size: 10 * time.Millisecond, Grace: 3 * time.Millisecond, HasGrace: true, Retention: 13 * time.Millisecond},
		{Kind: Hopping, Size: 10 * time.Millisecond, Advance: 4 * time.Millisecond, HasGrace: true, Retention: 10 * time.Millisecond},
		{Kind: Session, Gap: 7 * time.Millisecond, Grace: 2 * time.Millisecond, HasGrace: true, Retention: 9 * time.Millisecond},
		{Kind: Session, Gap: 7 * time.Millisecond, HasGrace: true},
	}
	for _, s := range specs {
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		for _, w := range []Window{{0, 10}, {50, 60}, {5, 5}} {
			if s.Kind != Session {
				w.End = w.Start + s.SizeMs()
			}
			for st := w.Start; st < w.End+40; st++ {
				if s.Expired(w, st) && !s.Closed(w, st) {
					t.Fatalf("%s: window %v expired but open at stream time %d", s.Kind, w, st)
				}
			}
		}
	}
}
