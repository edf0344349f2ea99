package window

import (
	"math"
	"slices"
	"testing"
	"time"
)

func ws(pairs ...int64) []Window {
	var out []Window
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, Window{Start: pairs[i], End: pairs[i+1]})
	}
	return out
}

func TestAssign(t *testing.T) {
	tumbling := Spec{Kind: Tumbling, Size: 10 * time.Millisecond}
	hopping := Spec{Kind: Hopping, Size: 10 * time.Millisecond, Advance: 5 * time.Millisecond}
	// Size not a multiple of advance: 2 or 3 windows per record.
	odd := Spec{Kind: Hopping, Size: 10 * time.Millisecond, Advance: 4 * time.Millisecond}
	hopEqual := Spec{Kind: Hopping, Size: 10 * time.Millisecond, Advance: 10 * time.Millisecond}
	tiny := Spec{Kind: Hopping, Size: 3 * time.Millisecond, Advance: time.Millisecond}
	session := Spec{Kind: Session, Gap: time.Second}
	big := int64(1_700_000_000_123)

	tests := []struct {
		name string
		spec Spec
		ts   int64
		want []Window
	}{
		{"tumbling ts=0", tumbling, 0, ws(0, 10)},
		{"tumbling inside", tumbling, 7, ws(0, 10)},
		{"tumbling last ms", tumbling, 9, ws(0, 10)},
		{"tumbling exact boundary starts next", tumbling, 10, ws(10, 20)},
		{"tumbling large ts", tumbling, big, ws(1_700_000_000_120, 1_700_000_000_130)},
		{"tumbling negative ts", tumbling, -1, nil},
		{"tumbling near max", Spec{Kind: Tumbling, Size: time.Hour}, math.MaxInt64,
			ws(math.MaxInt64-math.MaxInt64%3_600_000, math.MaxInt64)},
		{"hopping ts=0 clamps at 0", hopping, 0, ws(0, 10)},
		{"hopping ts=4", hopping, 4, ws(0, 10)},
		{"hopping ts=5 boundary", hopping, 5, ws(0, 10, 5, 15)},
		{"hopping ts=9", hopping, 9, ws(0, 10, 5, 15)},
		{"hopping ts=10 leaves first", hopping, 10, ws(5, 15, 10, 20)},
		{"hopping large", hopping, big, ws(big-3-5, big-3+5, big-3, big-3+10)},
		{"hopping negative", hopping, -5, nil},
		{"odd ts=0", odd, 0, ws(0, 10)},
		{"odd ts=8", odd, 8, ws(0, 10, 4, 14, 8, 18)},
		{"odd ts=9", odd, 9, ws(0, 10, 4, 14, 8, 18)},
		{"odd ts=10", odd, 10, ws(4, 14, 8, 18)},
		{"odd ts=12", odd, 12, ws(4, 14, 8, 18, 12, 22)},
		{"hopping advance=size is tumbling", hopEqual, 19, ws(10, 20)},
		{"tiny advance", tiny, 3, ws(1, 4, 2, 5, 3, 6)},
		{"tiny advance near max", tiny, math.MaxInt64,
			ws(math.MaxInt64-2, math.MaxInt64, math.MaxInt64-1, math.MaxInt64, math.MaxInt64, math.MaxInt64)},
		{"session assigns nothing", session, 100, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.spec.Assign(tt.ts, nil)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Assign(%d) = %v, want %v", tt.ts, got, tt.want)
			}
			for _, w := range got {
				if tt.spec.Kind != Session && !(w.Start <= tt.ts && (tt.ts < w.End || w.End == math.MaxInt64)) {
					t.Errorf("window %v does not contain %d", w, tt.ts)
				}
			}
		})
	}
}

// TestAssignMatchesBruteForce checks Assign against the definition for many
// specs and timestamps: every aligned window with 0 <= start <= ts <
// start+size, ascending.
func TestAssignMatchesBruteForce(t *testing.T) {
	for size := int64(1); size <= 12; size++ {
		for adv := int64(1); adv <= size; adv++ {
			s := Spec{Kind: Hopping, Size: time.Duration(size) * time.Millisecond, Advance: time.Duration(adv) * time.Millisecond}
			for ts := int64(0); ts < 60; ts++ {
				var want []Window
				for start := int64(0); start <= ts; start += adv {
					if ts < start+size {
						want = append(want, Window{start, start + size})
					}
				}
				if got := s.Assign(ts, nil); !slices.Equal(got, want) {
					t.Fatalf("size=%d adv=%d ts=%d: Assign = %v, want %v", size, adv, ts, got, want)
				}
				for _, w := range want {
					if got := s.At(w.Start); got != w {
						t.Fatalf("size=%d adv=%d: At(%d) = %v, want %v", size, adv, w.Start, got, w)
					}
				}
			}
		}
	}
}

func TestAtSaturates(t *testing.T) {
	s := Spec{Kind: Tumbling, Size: 10 * time.Millisecond}
	if got := s.At(math.MaxInt64 - 5); got.End != math.MaxInt64 {
		t.Fatalf("At near the end of time = %v, want its end saturated", got)
	}
}

func TestAssignAppends(t *testing.T) {
	s := Spec{Kind: Tumbling, Size: 10 * time.Millisecond}
	dst := []Window{{1, 2}}
	got := s.Assign(15, dst)
	if want := ws(1, 2, 10, 20); !slices.Equal(got, want) {
		t.Fatalf("Assign appended = %v, want %v", got, want)
	}
}
