package operators

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/operators/window"
	"github.com/runnel/runnel/sql/types"
)

// sessionHarness is an aggHarness over session windows whose outputs
// name their session: "key start end count sum@time", or
// "-key start end@time" for a tombstone.
func sessionHarness(t *testing.T, cacheBytes int) *aggHarness {
	t.Helper()
	w := &window.Spec{Kind: window.Session, Gap: 5 * time.Second, Grace: 20 * time.Second, HasGrace: true}
	h := newAggHarness(t, w, false, state.NewMemStore())
	h.a.EmitCacheBytes = cacheBytes
	h.a.Output = func(out AggOutput, _ Emit) error {
		h.times = append(h.times, out.Time)
		if out.Row == nil {
			h.out = append(h.out, fmt.Sprintf("-%s %d %d@%d", out.Key[0].Str(), out.Window.Start, out.Window.End, out.Time))
			return nil
		}
		parts := []string{out.Row[0].Str()}
		for _, v := range out.Row[1:] {
			parts = append(parts, fmt.Sprint(v.Int()))
		}
		h.out = append(h.out, fmt.Sprintf("%s@%d", strings.Join(parts, " "), out.Time))
		return nil
	}
	return h
}

// sessionCountAtLeast is HAVING COUNT(*) >= n over a session's row (key,
// WINDOWSTART, WINDOWEND, count, sum).
type sessionCountAtLeast int64

func (c sessionCountAtLeast) Type() types.Type { return types.Boolean }
func (c sessionCountAtLeast) String() string {
	return fmt.Sprintf("COUNT(*) >= %d", int64(c))
}
func (c sessionCountAtLeast) Eval(row types.Row) (types.Value, error) {
	return types.NewBoolean(row[3].Int() >= int64(c)), nil
}

func TestAggregatorSessionEmitCache(t *testing.T) {
	type row = aggRow
	type batch struct {
		rows []row
		// want is the output at the batch's flush.
		want []string
	}
	tests := []struct {
		name   string
		having int64 // HAVING COUNT(*) >= having when not 0
		batch  []batch
	}{{
		name: "a session changed several times is one change, at its end",
		batch: []batch{{
			rows: []row{{"a", 1, 10_000}, {"b", 2, 10_000}, {"a", 3, 9_000}, {"a", 4, 12_000}},
			// In the order the sessions first changed; a's session
			// grew from [10000,10000] to [9000,12000] by merges of
			// sessions made within the batch: only the last shows.
			want: []string{"b 10000 10000 1 2@10000", "a 9000 12000 3 8@12000"},
		}},
	}, {
		name: "a session shown before and merged away is deleted once",
		batch: []batch{{
			rows: []row{{"a", 1, 10_000}, {"a", 2, 20_000}},
			want: []string{"a 10000 10000 1 1@10000", "a 20000 20000 1 2@20000"},
		}, {
			// 15,000 bridges both; the bridged session grows again.
			rows: []row{{"a", 4, 15_000}, {"a", 8, 24_000}},
			want: []string{"-a 10000 10000@10000", "-a 20000 20000@20000", "a 10000 24000 4 15@24000"},
		}},
	}, {
		name: "a session of the same start that grows is a new row and the old one's tombstone",
		batch: []batch{{
			rows: []row{{"a", 1, 10_000}},
			want: []string{"a 10000 10000 1 1@10000"},
		}, {
			// [10000,10000] becomes [10000,12000], then [10000,13000]:
			// one tombstone for the row shown, one row.
			rows: []row{{"a", 2, 12_000}, {"a", 3, 13_000}, {"a", 4, 11_000}},
			want: []string{"-a 10000 10000@10000", "a 10000 13000 4 10@13000"},
		}},
	}, {
		name: "a record inside a session changes it in place",
		batch: []batch{{
			rows: []row{{"a", 1, 10_000}, {"a", 2, 14_000}},
			want: []string{"a 10000 14000 2 3@14000"},
		}, {
			rows: []row{{"a", 3, 12_000}, {"a", 4, 11_000}},
			want: []string{"a 10000 14000 4 10@14000"},
		}},
	}, {
		name:   "HAVING: a session not shown before is not deleted",
		having: 2,
		batch: []batch{{
			// [10000,10000] fails HAVING: never shown, so its merge
			// into [10000,11000] deletes nothing.
			rows: []row{{"a", 1, 10_000}},
		}, {
			rows: []row{{"a", 2, 11_000}, {"b", 1, 30_000}},
			want: []string{"a 10000 11000 2 3@11000"},
		}, {
			// Shown before, merged into a session that passes HAVING.
			rows: []row{{"a", 3, 13_000}},
			want: []string{"-a 10000 11000@11000", "a 10000 13000 3 6@13000"},
		}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := sessionHarness(t, 10_000_000)
			if tt.having != 0 {
				h.a.Spec.Having = sessionCountAtLeast(tt.having)
			}
			for i, b := range tt.batch {
				h.applyBatch(i, b.rows)
				h.expect(b.want...)
			}
		})
	}
}

// TestAggregatorSessionEmitCacheLimit checks that pending sessions over
// the byte limit are emitted before the batch ends, a merged-away one's
// tombstone among them.
func TestAggregatorSessionEmitCacheLimit(t *testing.T) {
	h := sessionHarness(t, 1) // any pending session is over it
	h.apply("a", 1, 10_000)
	h.expect("a 10000 10000 1 1@10000")
	h.apply("a", 2, 12_000)
	h.expect("-a 10000 10000@10000", "a 10000 12000 2 3@12000")
	h.flush()
	h.expect()
}

// sessionOf is the session a harness output is about: its key and
// window, without the tombstone's '-' and the timestamp.
func sessionOf(r string) string {
	r, _, _ = strings.Cut(strings.TrimPrefix(r, "-"), "@")
	return strings.Join(strings.Fields(r)[:3], " ")
}

// TestAggregatorSessionEmitCacheModel runs random batches of records
// (in order and out of it, some late) through a session aggregator with
// the emit cache off and one with it on. At each flush, the one with the
// cache emits each session the batch changed once: the last change the
// other emitted for it, unless that deletes a row the table did not show
// before the batch. Which changes there are is checked, not their order
// across sessions (the order they were first changed, which the outputs
// without the cache do not tell for a session merged into one of the same
// window). A small session cache makes the second's cache rotate within
// batches, which emits its pending changes early: then its last row of
// each session must still be the other's.
func TestAggregatorSessionEmitCacheModel(t *testing.T) {
	for _, sessionCache := range []int{0, 2 << 10} {
		for _, having := range []bool{false, true} {
			t.Run(fmt.Sprintf("session cache %d having %v", sessionCache, having), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(2, uint64(sessionCache)))
				off := sessionHarness(t, 0)
				on := sessionHarness(t, 10_000_000)
				on.a.CacheBytes = sessionCache
				if having {
					for _, h := range []*aggHarness{off, on} {
						h.a.Spec.Having = sessionCountAtLeast(2)
					}
				}
				keys := 8
				if sessionCache != 0 {
					keys = 200
				}
				shown := map[string]bool{}
				lastOff, lastOn := map[string]string{}, map[string]string{}
				now := int64(100_000)
				// What the test saw, so that it is known to cover them:
				// tombstones with the cache on, and changes emitted
				// before a flush (a rotation of the session cache).
				tombstones, early := 0, 0
				for b := 0; b < 300; b++ {
					for range 1 + rng.IntN(40) {
						key := fmt.Sprintf("k%03d", rng.IntN(keys))
						now += int64(rng.IntN(700))
						// Out of order by up to 25 s: some within a
						// session, some bridging two, some late (the
						// grace is 20 s).
						ts := now - int64(rng.IntN(25_000))
						v := 1 + int64(rng.IntN(9))
						off.apply(key, v, ts)
						on.apply(key, v, ts)
					}
					off.flush()
					before := len(on.out)
					early += before
					on.flush()
					emittedOnce(t, b, "session", on.out[before:], sessionOf)
					// The last change of each session without the
					// cache, but a tombstone of a row not shown.
					last := map[string]string{}
					for _, r := range off.out {
						last[sessionOf(r)] = r
					}
					var want []string
					for s, r := range last {
						if strings.HasPrefix(r, "-") && !shown[s] {
							continue
						}
						want = append(want, r)
					}
					for _, r := range off.out {
						lastOff[sessionOf(r)] = r
						shown[sessionOf(r)] = !strings.HasPrefix(r, "-")
					}
					for _, r := range on.out {
						lastOn[sessionOf(r)] = r
						if strings.HasPrefix(r, "-") {
							tombstones++
						}
					}
					got := slices.Clone(on.out)
					slices.Sort(got)
					slices.Sort(want)
					if sessionCache == 0 && strings.Join(got, ", ") != strings.Join(want, ", ") {
						t.Fatalf("batch %d:\n cache on  %q\n cache off %q\n (each)    %q", b, got, want, off.out)
					}
					if len(on.out) > len(off.out) {
						t.Fatalf("batch %d: %d changes with the cache on, %d without", b, len(on.out), len(off.out))
					}
					off.out, on.out, off.times, on.times = nil, nil, nil, nil
				}
				if got, want := off.a.Metrics.Late.Load(), on.a.Metrics.Late.Load(); got == 0 || got != want {
					t.Fatalf("late records: %d with the cache off, %d on; want the same, some", got, want)
				}
				// Rows that were never shown do not count: a session
				// made and merged away within a batch is only in lastOff.
				for s, r := range lastOff {
					if strings.HasPrefix(r, "-") && lastOn[s] == "" {
						delete(lastOff, s)
					}
				}
				if fmt.Sprint(lastOn) != fmt.Sprint(lastOff) {
					t.Fatalf("last rows differ:\n cache on  %v\n cache off %v", lastOn, lastOff)
				}
				if tombstones == 0 || (sessionCache != 0) != (early != 0) {
					t.Fatalf("%d tombstones, %d changes emitted before a flush", tombstones, early)
				}
				if len(lastOn) < 20 {
					t.Fatalf("only %d sessions: the model test saw too few", len(lastOn))
				}
			})
		}
	}
}

// TestAggregatorSessionRotationEmitsOld: a session cache that rotates
// within a batch emits the pending sessions of the keys it forgets, each
// once, and keeps the young keys' pending: a hot key whose session grows
// throughout the batch changes once, at the flush, and the store holds
// every session after it.
func TestAggregatorSessionRotationEmitsOld(t *testing.T) {
	h := sessionHarness(t, 10_000_000)
	h.a.CacheBytes = 2 << 10 // a few keys a generation
	const n = 100
	base := int64(100_000)
	early := hotAndCold(t, h, n, func(i int) int64 { return base + int64(i)*100 }, "session", sessionOf)
	last := base + (n-1)*100
	wantHot := fmt.Sprintf("hot %d %d %d %d@%d", base, last, n, n, last)
	for i, r := range h.out {
		if strings.HasPrefix(strings.TrimPrefix(r, "-"), "hot ") && (i < early || r != wantHot) {
			t.Fatalf("the hot session's change %q is #%d, %d of them before the flush; want %s at the flush", r, i, early, wantHot)
		}
	}
	// Every key's session is in the store: a restarted aggregator
	// extends them (the sessions it replaces are deleted).
	h.out, h.times = nil, nil
	h.a.Recover()
	h.apply("hot", 1, last+100)
	h.apply("c000", 1, base+100)
	h.flush()
	h.expect(fmt.Sprintf("-hot %d %d@%d", base, last, last),
		fmt.Sprintf("hot %d %d %d %d@%d", base, last+100, n+1, n+1, last+100),
		fmt.Sprintf("-c000 %d %d@%d", base, base, base),
		fmt.Sprintf("c000 %d %d 2 2@%d", base, base+100, base+100))
}
