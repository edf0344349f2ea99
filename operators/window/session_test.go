package window

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestSessionTouches(t *testing.T) {
	gap := 10 * time.Millisecond
	w := Window{Start: 100, End: 120}
	tests := []struct {
		ts   int64
		want bool
	}{
		{89, false},
		{90, true}, // exactly one gap before the start: inclusive
		{100, true},
		{110, true},
		{120, true},
		{130, true}, // exactly one gap after the end: inclusive
		{131, false},
	}
	for _, tt := range tests {
		if got := SessionTouches(gap, tt.ts, w); got != tt.want {
			t.Errorf("SessionTouches(%d, %v) = %v, want %v", tt.ts, w, got, tt.want)
		}
	}
	minEnd, maxStart := SessionSearchBounds(gap, 50)
	if minEnd != 40 || maxStart != 60 {
		t.Errorf("SessionSearchBounds(10ms, 50) = %d, %d, want 40, 60", minEnd, maxStart)
	}
	minEnd, maxStart = SessionSearchBounds(gap, math.MaxInt64)
	if minEnd != math.MaxInt64-10 || maxStart != math.MaxInt64 {
		t.Errorf("SessionSearchBounds saturates: got %d, %d", minEnd, maxStart)
	}
}

func TestMergeSession(t *testing.T) {
	gap := 10 * time.Millisecond
	tests := []struct {
		name       string
		ts         int64
		candidates []Window
		want       Window
		touching   []int
	}{
		{"new session", 50, nil, Window{50, 50}, nil},
		{"far from all", 50, ws(0, 39, 61, 70), Window{50, 50}, nil},
		{"inside", 105, ws(100, 110), Window{100, 110}, []int{0}},
		{"join right (extends end)", 115, ws(100, 110), Window{100, 115}, []int{0}},
		{"join right at exact gap", 120, ws(100, 110), Window{100, 120}, []int{0}},
		{"one past the gap right", 121, ws(100, 110), Window{121, 121}, nil},
		{"join left (out of order, extends start)", 92, ws(100, 110), Window{92, 110}, []int{0}},
		{"join left at exact gap", 90, ws(100, 110), Window{90, 110}, []int{0}},
		{"one past the gap left", 89, ws(100, 110), Window{89, 89}, nil},
		{"bridge two sessions", 120, ws(100, 115, 128, 140), Window{100, 140}, []int{0, 1}},
		{"bridge at exact gaps", 125, ws(100, 115, 135, 140), Window{100, 140}, []int{0, 1}},
		{"ignores non-touching", 125, ws(0, 10, 100, 115, 300, 310), Window{100, 125}, []int{1}},
		{"point sessions", 5, ws(0, 0, 15, 15), Window{0, 15}, []int{0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MergeSession(gap, tt.ts, tt.candidates); got != tt.want {
				t.Errorf("MergeSession(%d, %v) = %v, want %v", tt.ts, tt.candidates, got, tt.want)
			}
			if got := TouchingSessions(gap, tt.ts, tt.candidates, nil); !slices.Equal(got, tt.touching) {
				t.Errorf("TouchingSessions = %v, want %v", got, tt.touching)
			}
		})
	}
}

// TestSessionizeMatchesDefinition replays records in a scrambled order
// through the operator's loop (find touching sessions, merge, replace) and
// checks that the result is the offline sessionization: sorted timestamps
// split wherever two neighbours are more than a gap apart.
func TestSessionizeMatchesDefinition(t *testing.T) {
	gap := 10 * time.Millisecond
	ts := []int64{50, 3, 75, 14, 0, 62, 25, 40, 100, 88, 24, 200}
	var store []Window
	for _, t0 := range ts {
		merged := MergeSession(gap, t0, store)
		idx := TouchingSessions(gap, t0, store, nil)
		for i := len(idx) - 1; i >= 0; i-- {
			store = slices.Delete(store, idx[i], idx[i]+1)
		}
		store = append(store, merged)
	}
	slices.SortFunc(store, func(a, b Window) int { return int(a.Start - b.Start) })

	sorted := slices.Clone(ts)
	slices.Sort(sorted)
	var want []Window
	cur := Window{sorted[0], sorted[0]}
	for _, t0 := range sorted[1:] {
		if t0-cur.End > gap.Milliseconds() {
			want = append(want, cur)
			cur = Window{t0, t0}
			continue
		}
		cur.End = t0
	}
	want = append(want, cur)
	if !slices.Equal(store, want) {
		t.Fatalf("sessions = %v, want %v", store, want)
	}
}
