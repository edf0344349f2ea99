package expr

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/runnel/runnel/sql/types"
)

// TestPatternUnit: the span over which a pattern's text stays the same.
func TestPatternUnit(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		want    int64
	}{
		{"yyyy-MM-dd", msPerDay},
		{"EEEE, d MMM yyyy z", msPerDay},
		{"HH", 3_600_000},
		{"hh a", 3_600_000},
		{"HH:mm", 60_000},
		{"yyyy-MM-dd'T'HH:mm:ssXXX", 1000},
		{"HH:mm:ss.SSS", 0},
		{"A", 0},
		{"n", 0},
		{"'literal'", msPerDay},
	} {
		toks, err := compileJava(tc.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if got := patternUnit(toks); got != tc.want {
			t.Errorf("patternUnit(%q) = %d, want %d", tc.pattern, got, tc.want)
		}
	}
}

// TestFormatTimestampMemo: FORMAT_TIMESTAMP with a literal pattern and
// zone, which reuses the text of the last span it formatted, writes what
// formatting every row afresh writes: times walked forward and back in
// small and large steps, across the daylight-saving changes of zones
// with whole-hour, half-hour and 45-minute offsets (Lord Howe moves by
// 30 minutes), and around the epoch.
func TestFormatTimestampMemo(t *testing.T) {
	zones := []string{"UTC", "+02:00", "America/New_York", "Europe/London", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe", "America/St_Johns"}
	patterns := []string{"yyyy-MM-dd", "HH", "HH:mm", "yyyy-MM-dd HH:mm:ss z", "hh a", "EEE d MMM XXX", "HH:mm:ss.SSS"}
	starts := []int64{
		0, -1, -86_400_000 - 1,
		time.Date(2026, 3, 8, 6, 0, 0, 0, time.UTC).UnixMilli(),  // New York springs forward
		time.Date(2026, 11, 1, 5, 0, 0, 0, time.UTC).UnixMilli(), // and falls back
		time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC).UnixMilli(), // London
		time.Date(2026, 4, 4, 14, 0, 0, 0, time.UTC).UnixMilli(), // Lord Howe
		time.Date(2026, 10, 3, 15, 0, 0, 0, time.UTC).UnixMilli(),
		1436918400000, // Nexmark's first event
	}
	c := &evalCtx{maxBytes: 1 << 20}
	r := rand.New(rand.NewPCG(5, 6))
	for _, zone := range zones {
		loc, err := loadZone(zone)
		if err != nil {
			t.Fatal(err)
		}
		for _, pattern := range patterns {
			e, err := bindLine(fmt.Sprintf("FORMAT_TIMESTAMP(TS, '%s', '%s')", pattern, zone))
			if err != nil {
				t.Fatal(err)
			}
			in := append(types.Row(nil), row...)
			for _, ms := range starts {
				for range 3000 {
					steps := []int64{1, 997, 59_999, 1_799_999, 3_600_000, -3_600_000, 86_399_999}
					ms += steps[r.IntN(len(steps))] * int64(r.IntN(3))
					in[6] = types.NewTimestamp(ms)
					got, err := e.Eval(in)
					if err != nil {
						t.Fatal(err)
					}
					toks, _ := compileJava(pattern)
					want, err := formatToks(c, "FORMAT_TIMESTAMP", ms, toks, len(pattern), loc)
					if err != nil {
						t.Fatal(err)
					}
					if got.Str() != want.Str() {
						t.Fatalf("FORMAT_TIMESTAMP(%d, %q, %q) = %q, want %q", ms, pattern, zone, got.Str(), want.Str())
					}
				}
			}
		}
	}
}

// BenchmarkFormatTimestampStream is q10's two FORMAT_TIMESTAMP calls over
// times that rise as a Nexmark stream's do (0.1 ms an event).
func BenchmarkFormatTimestampStream(b *testing.B) {
	for _, pattern := range []string{"yyyy-MM-dd", "HH:mm"} {
		e, err := bindLine("FORMAT_TIMESTAMP(TS, '" + pattern + "', 'UTC')")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(pattern, func(b *testing.B) {
			in := append(types.Row(nil), row...)
			ms := int64(1436918400000)
			b.ReportAllocs()
			cpu := cpuPerOp(b)
			for i := 0; b.Loop(); i++ {
				in[6] = types.NewTimestamp(ms + int64(i)/10)
				if _, err := e.Eval(in); err != nil {
					b.Fatal(err)
				}
			}
			cpu()
		})
	}
}
