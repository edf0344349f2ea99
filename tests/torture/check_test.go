package torture

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// world is what a server holds: the rows of the two streams, and the two
// tables computed from the source as the server would.
type world struct {
	src  []sourceRow
	sink []sinkRow
	// tables are recomputed from src unless a case replaces them.
	perUser   map[string]agg
	perRegion map[winKey]agg
}

const testUsers = 7

func srcRow(id int64) sourceRow {
	return sourceRow{ID: id, User: userOf(id, testUsers), Amount: amountOf(id), Region: regionOf(id), Rowtime: rowtimeOf(id)}
}

func snkRow(id int64) sinkRow {
	return sinkRow{ID: id, User: userOf(id, testUsers), Dbl: 2 * amountOf(id), Region: regionOf(id), Rowtime: rowtimeOf(id)}
}

// honest is what a correct server holds for the outcomes, given which
// unknown ids landed.
func honest(outcomes []outcome, landed map[int64]bool) world {
	var w world
	for id := int64(1); id < int64(len(outcomes)); id++ {
		if outcomes[id] == acked || (outcomes[id] == unknown && landed[id]) {
			w.src = append(w.src, srcRow(id))
			if passes(id) {
				w.sink = append(w.sink, snkRow(id))
			}
		}
	}
	return w
}

// tables computes the tables of the world's source, written out here
// rather than taken from the checker, so a slip in one shows in the other.
func (w *world) tables() {
	w.perUser, w.perRegion = map[string]agg{}, map[winKey]agg{}
	for _, r := range w.src {
		u := w.perUser[r.User]
		w.perUser[r.User] = agg{N: u.N + 1, Total: u.Total + r.Amount}
		if r.Amount%5 != 0 {
			k := winKey{r.Region, r.Rowtime - r.Rowtime%10000}
			g := w.perRegion[k]
			w.perRegion[k] = agg{N: g.N + 1, Total: g.Total + 2*r.Amount}
		}
	}
}

// firstID returns the first id from 1 whose passing the filter is want.
func firstID(want bool) int64 {
	for id := int64(1); ; id++ {
		if passes(id) == want {
			return id
		}
	}
}

func TestCheckerFindsEachViolation(t *testing.T) {
	// Ids 1..2000: mostly acknowledged; a few of every other outcome.
	outcomes := make([]outcome, 2001)
	for i := 1; i < len(outcomes); i++ {
		outcomes[i] = acked
	}
	in, out := firstID(true), firstID(false) // acked, passing and not
	// The unknown ids pass the filter, so the sink's handling of them
	// is tested too.
	unknownLanded := 1500 + firstID(true)
	for !passes(unknownLanded) {
		unknownLanded++
	}
	unknownLost := unknownLanded + 1
	for !passes(unknownLost) {
		unknownLost++
	}
	gapID := unknownLost + 1
	for !passes(gapID) {
		gapID++
	}
	refusedID := gapID + 1
	for !passes(refusedID) {
		refusedID++
	}
	outcomes[unknownLanded], outcomes[unknownLost] = unknown, unknown
	outcomes[gapID], outcomes[refusedID] = neverSent, refused // gapID: allocated by no writer
	landed := map[int64]bool{unknownLanded: true}
	// index returns the position of id in the source.
	index := func(w *world, id int64) int {
		return slices.IndexFunc(w.src, func(r sourceRow) bool { return r.ID == id })
	}
	sinkIndex := func(w *world, id int64) int {
		return slices.IndexFunc(w.sink, func(r sinkRow) bool { return r.ID == id })
	}

	for _, tc := range []struct {
		name string
		// break_ damages the honest world; keepTables leaves the tables
		// as the honest source gives them rather than recomputing.
		break_     func(w *world)
		keepTables bool
		want       map[string]int64
		lost, dup  int64
		phantom    int64
	}{
		{name: "honest", break_: func(*world) {}},
		{name: "acknowledged row lost from the source", break_: func(w *world) {
			w.src = slices.Delete(w.src, index(w, in), index(w, in)+1)
			w.sink = slices.Delete(w.sink, sinkIndex(w, in), sinkIndex(w, in)+1)
		}, want: map[string]int64{vLostSource: 1}, lost: 1},
		{name: "acknowledged row twice in the source and the sink", break_: func(w *world) {
			w.src = append(w.src, srcRow(in))
			w.sink = append(w.sink, snkRow(in))
		}, want: map[string]int64{vDupSource: 1}, dup: 1},
		{name: "unknown row twice", break_: func(w *world) {
			w.src = append(w.src, srcRow(unknownLanded))
			w.sink = append(w.sink, snkRow(unknownLanded))
		}, want: map[string]int64{vDupSource: 1}, dup: 1},
		{name: "row never sent present", break_: func(w *world) {
			w.src = append(w.src, srcRow(gapID))
			w.sink = append(w.sink, snkRow(gapID))
		}, want: map[string]int64{vPhantomSource: 1}, phantom: 1},
		{name: "refused row present", break_: func(w *world) {
			w.src = append(w.src, srcRow(refusedID))
			w.sink = append(w.sink, snkRow(refusedID))
		}, want: map[string]int64{vPhantomSource: 1}, phantom: 1},
		{name: "id never allocated", break_: func(w *world) {
			w.src = append(w.src, srcRow(5000))
			w.sink = append(w.sink, snkRow(9000))
		}, want: map[string]int64{vPhantomSource: 1, vPhantomSink: 1}, phantom: 2},
		{name: "row never sent in the source only", break_: func(w *world) {
			// Present where it must not be, and then missing from
			// the sink that should mirror the source.
			w.src = append(w.src, srcRow(gapID))
		}, want: map[string]int64{vPhantomSource: 1, vLostSink: 1}, phantom: 1},
		{name: "source row corrupted", break_: func(w *world) {
			w.src[index(w, in)].Amount++
		}, want: map[string]int64{vBadSource: 1}},
		{name: "sink lost an acknowledged row", break_: func(w *world) {
			w.sink = slices.Delete(w.sink, sinkIndex(w, in), sinkIndex(w, in)+1)
		}, want: map[string]int64{vLostSink: 1}, lost: 1},
		{name: "sink lost an unknown row that landed", break_: func(w *world) {
			w.sink = slices.Delete(w.sink, sinkIndex(w, unknownLanded), sinkIndex(w, unknownLanded)+1)
		}, want: map[string]int64{vLostSink: 1}},
		{name: "sink repeated a row", break_: func(w *world) {
			w.sink = append(w.sink, snkRow(in))
		}, want: map[string]int64{vDupSink: 1}, dup: 1},
		{name: "sink let a filtered row through", break_: func(w *world) {
			w.sink = append(w.sink, snkRow(out))
		}, want: map[string]int64{vPhantomSink: 1}, phantom: 1},
		{name: "sink has the unknown row that did not land", break_: func(w *world) {
			w.sink = append(w.sink, snkRow(unknownLost))
		}, want: map[string]int64{vPhantomSink: 1}, phantom: 1},
		{name: "sink row corrupted", break_: func(w *world) {
			w.sink[sinkIndex(w, in)].Dbl++
		}, want: map[string]int64{vBadSink: 1}},
		{name: "per_user count off", keepTables: true, break_: func(w *world) {
			u := userOf(in, testUsers)
			w.perUser[u] = agg{N: w.perUser[u].N + 1, Total: w.perUser[u].Total}
		}, want: map[string]int64{vPerUser: 1}},
		{name: "per_user group missing and one extra", keepTables: true, break_: func(w *world) {
			delete(w.perUser, userOf(in, testUsers))
			w.perUser["nobody"] = agg{N: 1, Total: 1}
		}, want: map[string]int64{vPerUser: 2}},
		{name: "per_region window sum off", keepTables: true, break_: func(w *world) {
			k := winKey{regionOf(in), windowOf(rowtimeOf(in))}
			w.perRegion[k] = agg{N: w.perRegion[k].N, Total: w.perRegion[k].Total - 1}
		}, want: map[string]int64{vPerRegion: 1}},
		{name: "tables miss a row the source lost", keepTables: true, break_: func(w *world) {
			// The source lost a row but the tables counted it: the
			// tables are judged against the source as it is.
			w.src = slices.Delete(w.src, index(w, in), index(w, in)+1)
			w.sink = slices.Delete(w.sink, sinkIndex(w, in), sinkIndex(w, in)+1)
		}, want: map[string]int64{vLostSource: 1, vPerUser: 1, vPerRegion: 1}, lost: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := honest(outcomes, landed)
			w.tables()
			tc.break_(&w)
			if !tc.keepTables {
				w.tables()
			}
			c := newChecker(outcomes, testUsers)
			for _, r := range w.src {
				c.addSource(r)
			}
			for _, r := range w.sink {
				c.addSink(r)
			}
			got := c.finish(w.perUser, w.perRegion)
			want := tc.want
			if want == nil {
				want = map[string]int64{}
			}
			if len(c.v.counts) != len(want) || !maps.Equal(c.v.counts, want) && len(want) > 0 {
				t.Fatalf("violations:\n%s\nwant %v", c.v.String(), want)
			}
			if got.Lost != tc.lost || got.Duplicated != tc.dup || got.Phantom != tc.phantom {
				t.Fatalf("lost %d, duplicated %d, phantom %d; want %d, %d, %d", got.Lost, got.Duplicated, got.Phantom, tc.lost, tc.dup, tc.phantom)
			}
			if tc.name == "honest" {
				if got.UnknownLanded != 1 || got.SourceRows != int64(len(w.src)) || got.SinkRows != int64(len(w.sink)) {
					t.Fatalf("honest tallies %+v, want 1 unknown landed, %d source and %d sink rows", got, len(w.src), len(w.sink))
				}
				if got.Users != testUsers || got.Windows == 0 {
					t.Fatalf("honest tallies %+v, want %d users and some windows", got, testUsers)
				}
			}
		})
	}
}

// TestViolationsBounded: a run that loses everything still reports in a
// few lines, with the full count.
func TestViolationsBounded(t *testing.T) {
	var v violations
	for i := range 10000 {
		v.add(vLostSource, "id %d", i)
	}
	if v.total() != 10000 || len(v.examples[vLostSource]) != maxExamples {
		t.Fatalf("total %d with %d examples", v.total(), len(v.examples[vLostSource]))
	}
	if lines := strings.Count(v.String(), "\n"); lines != maxExamples+1 {
		t.Fatalf("%d lines:\n%s", lines, v.String())
	}
}
