package operators

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/operators/window"
	"github.com/runnel/runnel/sql/types"
)

// apply folds one row (retract with a leading '-' key) in without
// flushing: a record of the batch.
func (h *aggHarness) apply(key string, v, ts int64) {
	h.t.Helper()
	in := keyInput(h.t, h.codec, key)
	in.Time, in.Args = ts, [][]types.Value{nil, {types.NewBigint(v)}}
	if err := h.a.Apply(&in, nil); err != nil {
		h.t.Fatal(err)
	}
}

// flush ends the batch.
func (h *aggHarness) flush() {
	h.t.Helper()
	if err := h.a.Flush(nil); err != nil {
		h.t.Fatal(err)
	}
}

// aggRow is a record of a batch for applyBatch: key (retracted with a
// leading '-'), value and timestamp.
type aggRow struct {
	key   string
	v, ts int64
}

// applyBatch folds batch i's rows in, fails if the emit cache let any
// change out before the batch's end, then flushes it.
func (h *aggHarness) applyBatch(i int, rows []aggRow) {
	h.t.Helper()
	for _, r := range rows {
		h.apply(r.key, r.v, r.ts)
	}
	if len(h.out) != 0 {
		h.t.Fatalf("batch %d: emitted before its flush: %q", i, h.out)
	}
	h.flush()
}

func TestAggregatorEmitCache(t *testing.T) {
	tumbling := &window.Spec{Kind: window.Tumbling, Size: time.Minute, Grace: time.Hour, HasGrace: true}
	type row = aggRow
	type batch struct {
		rows []row
		// want is the output at the batch's flush, and times its
		// timestamps.
		want  []string
		times []int64
	}
	tests := []struct {
		name   string
		window *window.Spec
		having int64 // HAVING COUNT(*) >= having when not 0
		batch  []batch
	}{{
		name: "several updates to one group are one change, at the latest time",
		batch: []batch{{
			rows: []row{{"a", 5, 3}, {"b", 1, 2}, {"a", 7, 1}, {"a", 1, 9}},
			// In the order the groups first changed; a's timestamp is
			// the largest of its records' (Kafka Streams' stamping).
			want: []string{"a 3 13", "b 1 1"}, times: []int64{9, 2},
		}, {
			rows: []row{{"b", 4, 10}, {"-a", 5, 11}, {"b", 2, 12}},
			want: []string{"b 3 7", "a 2 8"}, times: []int64{12, 11},
		}},
	}, {
		name:   "a group created and changed in one batch that fails HAVING at its end shows nothing",
		having: 2,
		batch: []batch{{
			rows: []row{{"a", 1, 1}, {"a", 2, 2}, {"-a", 1, 3}, {"b", 1, 4}, {"b", 1, 5}},
			want: []string{"b 2 2"}, times: []int64{5},
		}},
	}, {
		name:   "HAVING turning false within a batch deletes only a row shown before it",
		having: 2,
		batch: []batch{{
			rows: []row{{"a", 1, 1}, {"a", 2, 2}},
			want: []string{"a 2 3"}, times: []int64{2},
		}, {
			// Shown before: deleted at the batch's end.
			rows: []row{{"a", 3, 3}, {"-a", 1, 4}, {"-a", 2, 5}},
			want: []string{"-a"}, times: []int64{5},
		}, {
			// Not shown before (deleted), shown and hidden again within
			// the batch: nothing, as the table never had it.
			rows: []row{{"a", 4, 6}, {"-a", 4, 7}},
		}, {
			// Not shown before, shown at the end: its row.
			rows: []row{{"a", 4, 8}},
			want: []string{"a 2 7"}, times: []int64{8},
		}, {
			// Shown before, hidden and shown again: its new row, no
			// tombstone.
			rows: []row{{"-a", 4, 9}, {"a", 6, 10}},
			want: []string{"a 2 9"}, times: []int64{10},
		}},
	}, {
		name:   "windows are groups of their own",
		window: tumbling,
		batch: []batch{{
			rows:  []row{{"a", 1, 1_000}, {"a", 2, 61_000}, {"a", 3, 2_000}, {"b", 1, 62_000}, {"a", 4, 63_000}},
			want:  []string{"a 0 60000 2 4", "a 60000 120000 2 6", "b 60000 120000 1 1"},
			times: []int64{2_000, 63_000, 62_000},
		}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newAggHarness(t, tt.window, false, state.NewMemStore())
			h.a.EmitCacheBytes = 10_000_000
			if tt.having != 0 {
				if tt.window != nil {
					t.Fatal("countAtLeast reads an unwindowed row")
				}
				h.a.Spec.Having = countAtLeast(tt.having)
			}
			for i, b := range tt.batch {
				h.applyBatch(i, b.rows)
				h.expectTimes(b.times...)
				h.expect(b.want...)
			}
		})
	}
}

// TestAggregatorEmitCacheOff checks that with the cache off (0, the
// zero value) every update is emitted as it is folded in, as before.
func TestAggregatorEmitCacheOff(t *testing.T) {
	h := newAggHarness(t, nil, false, state.NewMemStore())
	h.apply("a", 5, 3)
	h.apply("b", 1, 2)
	h.apply("a", 7, 1)
	h.expect("a 1 5", "b 1 1", "a 2 12")
	h.flush()
	h.expect()
}

// TestAggregatorEmitCacheLimit checks that pending changes over the
// byte limit are emitted before the batch ends.
func TestAggregatorEmitCacheLimit(t *testing.T) {
	h := newAggHarness(t, nil, false, state.NewMemStore())
	h.a.EmitCacheBytes = 1 // any pending group is over it
	h.apply("a", 5, 3)
	h.expect("a 1 5")
	h.apply("a", 7, 4)
	h.expect("a 2 12")
	h.flush()
	h.expect()
}

// TestAggregatorEmitCacheModel runs random batches through an aggregator
// with the cache off and one with it on: at each flush, the one with the
// cache emits, for each group the batch changed, in the order they were
// first changed, the last change the other emitted for it. A small group
// cache makes the second's cache rotate within batches, which emits its
// pending changes early: then its last row of each group must still be
// the other's.
func TestAggregatorEmitCacheModel(t *testing.T) {
	for _, groupCache := range []int{0, 4 << 10} {
		t.Run(fmt.Sprintf("group cache %d", groupCache), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(groupCache)))
			off := newAggHarness(t, nil, false, state.NewMemStore())
			on := newAggHarness(t, nil, false, state.NewMemStore())
			on.a.EmitCacheBytes = 10_000_000
			on.a.CacheBytes = groupCache
			for _, h := range []*aggHarness{off, on} {
				h.a.Spec.Having = countAtLeast(2)
			}
			counts := map[string]int{}
			// shown is whether a group's row is in the result table, as
			// the outputs without the cache tell.
			shown := map[string]bool{}
			lastOff, lastOn := map[string]string{}, map[string]string{}
			ts := int64(0)
			for b := 0; b < 200; b++ {
				n := 1 + rng.IntN(60)
				var first []string // the batch's groups, as first changed
				seen := map[string]bool{}
				for range n {
					key := fmt.Sprintf("k%02d", rng.IntN(40))
					if groupCache != 0 {
						key = fmt.Sprintf("k%03d", rng.IntN(400))
					}
					ts++
					v := int64(1)
					if counts[key] > 0 && rng.IntN(3) == 0 {
						counts[key]--
						key = "-" + key
					} else {
						counts[key]++
					}
					if g := strings.TrimPrefix(key, "-"); !seen[g] {
						seen[g] = true
						first = append(first, g)
					}
					off.apply(key, v, ts)
					on.apply(key, v, ts)
				}
				off.flush()
				early := len(on.out)
				on.flush()
				// Whatever went out early, the flush emits each group
				// once at most.
				emittedOnce(t, b, "group", on.out[early:], groupOf)
				want := lastPerGroup(first, off.out, shown)
				for _, r := range off.out {
					lastOff[groupOf(r)] = r
					shown[groupOf(r)] = !strings.HasPrefix(r, "-")
				}
				for _, r := range on.out {
					lastOn[groupOf(r)] = r
				}
				if groupCache == 0 && strings.Join(on.out, ", ") != strings.Join(want, ", ") {
					t.Fatalf("batch %d:\n cache on  %q\n cache off %q\n (each)    %q", b, on.out, want, off.out)
				}
				if len(on.out) > len(off.out) {
					t.Fatalf("batch %d: %d changes with the cache on, %d without", b, len(on.out), len(off.out))
				}
				off.out, on.out, off.times, on.times = nil, nil, nil, nil
			}
			if fmt.Sprint(lastOn) != fmt.Sprint(lastOff) {
				t.Fatalf("last rows differ:\n cache on  %v\n cache off %v", lastOn, lastOff)
			}
		})
	}
}

// emittedOnce fails t if out, the rows of batch b's flush, holds two
// rows of one group or session (of names it: what).
func emittedOnce(t *testing.T, b int, what string, out []string, of func(string) string) {
	t.Helper()
	once := map[string]bool{}
	for _, r := range out {
		if once[of(r)] {
			t.Fatalf("batch %d: %s %s emitted twice by one flush: %q", b, what, of(r), out)
		}
		once[of(r)] = true
	}
}

// groupOf is the group of a harness output: its key, with or without
// the tombstone's '-'.
func groupOf(r string) string {
	return strings.TrimPrefix(strings.Fields(r)[0], "-")
}

// lastPerGroup is what the cache emits for a batch whose groups, in the
// order first changed, are first, and whose changes without the cache were
// out: each group's last change, unless that deletes a row the table did
// not show before the batch.
func lastPerGroup(first, out []string, shown map[string]bool) []string {
	last := map[string]string{}
	for _, r := range out {
		last[groupOf(r)] = r
	}
	var res []string
	for _, g := range first {
		r, ok := last[g]
		if !ok || (strings.HasPrefix(r, "-") && !shown[g]) {
			continue
		}
		res = append(res, r)
	}
	return res
}

// TestAggregatorFlushOutput: with the emit cache on, what Flush emits is
// what flushOutput said beforehand, one record per group changed, so
// that the task makes room for it at once (batch.reserve).
func TestAggregatorFlushOutput(t *testing.T) {
	h := newAggHarness(t, nil, false, state.NewMemStore())
	h.a.EmitCacheBytes = 10_000_000
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 5 {
		for i := range 200 {
			h.apply(fmt.Sprint("k", rng.IntN(50+round*20)), 1, int64(round*1000+i))
		}
		want := h.a.flushOutput()
		h.out = h.out[:0]
		h.flush()
		if len(h.out) != want || want == 0 {
			t.Fatalf("round %d: flush emitted %d records, flushOutput said %d", round, len(h.out), want)
		}
		if n := h.a.flushOutput(); n != 0 {
			t.Fatalf("round %d: flushOutput %d after the flush, want 0", round, n)
		}
	}
}
