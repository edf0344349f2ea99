package operators

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/runnel/runnel/internal/membudget"
	"github.com/runnel/runnel/operators/agg"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/operators/window"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// countingStore counts the writes and point reads that reach a store.
type countingStore struct {
	*state.MemStore
	puts, deletes, gets int
}

func (s *countingStore) Get(k []byte) ([]byte, bool, error) { s.gets++; return s.MemStore.Get(k) }

func (s *countingStore) Put(k, v []byte) error { s.puts++; return s.MemStore.Put(k, v) }
func (s *countingStore) Delete(k []byte) error { s.deletes++; return s.MemStore.Delete(k) }

// sumsHarness aggregates COUNT(*), SUM(x) and SUM(y) of BIGINTs by a
// STRING key, unwindowed; its rows print as "key count sumx sumy".
type sumsHarness struct {
	t     *testing.T
	codec *GroupCodec
	a     *Aggregator
	store *countingStore
	out   []string
}

func newSumsHarness(t *testing.T, cacheBytes int) *sumsHarness {
	t.Helper()
	count, err := agg.Resolve("COUNT", nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := agg.Resolve("SUM", []types.Type{types.Bigint}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	codec, err := NewGroupCodec([]types.Type{types.String}, [][]types.Type{nil, {types.Bigint}, {types.Bigint}})
	if err != nil {
		t.Fatal(err)
	}
	project := make([]expr.Expr, 4)
	for i := range project {
		project[i] = &expr.Column{Index: i, T: types.Bigint}
	}
	h := &sumsHarness{t: t, codec: codec, store: &countingStore{MemStore: state.NewMemStore()}}
	h.a = &Aggregator{
		Spec:       &AggregateSpec{Funcs: []agg.Func{count, sum, sum}, Codec: codec, Project: project},
		Store:      h.store,
		Metrics:    &Metrics{},
		CacheBytes: cacheBytes,
		Output: func(out AggOutput, _ Emit) error {
			if out.Row == nil {
				h.out = append(h.out, "-"+out.Key[0].Str())
				return nil
			}
			h.out = append(h.out, fmt.Sprintf("%s %d %d %d", out.Row[0].Str(), out.Row[1].Int(), out.Row[2].Int(), out.Row[3].Int()))
			return nil
		},
	}
	return h
}

// apply folds one row in (a leading '-' retracts) and returns its error.
func (h *sumsHarness) apply(key string, x, y int64) error {
	in := keyInput(h.t, h.codec, key)
	in.Args = [][]types.Value{nil, {types.NewBigint(x)}, {types.NewBigint(y)}}
	return h.a.Apply(&in, nil)
}

func (h *sumsHarness) last() string {
	if len(h.out) == 0 {
		return ""
	}
	return h.out[len(h.out)-1]
}

// stored reads a group's state from the store as a row "key count sumx
// sumy", or "" when the store has none.
func (h *sumsHarness) stored(key string) string {
	h.t.Helper()
	kb, err := h.codec.EncodeKey(types.Row{types.NewString(key)})
	if err != nil {
		h.t.Fatal(err)
	}
	v, ok, err := h.store.Get(stateKey(kb, nil))
	if err != nil || !ok {
		return ""
	}
	accs, _, err := h.a.decodeState(v)
	if err != nil {
		h.t.Fatal(err)
	}
	return fmt.Sprintf("%s %d %d %d", key, accs[1].Result().Int(), accs[2].Result().Int(), accs[3].Result().Int())
}

// TestAggregatorCacheWritesBackAtFlush: a hot group's updates all emit,
// but reach the store once, when the task flushes before its commit.
func TestAggregatorCacheWritesBackAtFlush(t *testing.T) {
	h := newSumsHarness(t, 0)
	for i := 1; i <= 100; i++ {
		if err := h.apply("a", int64(i), 1); err != nil {
			t.Fatal(err)
		}
	}
	if len(h.out) != 100 || h.last() != "a 100 5050 100" {
		t.Fatalf("%d rows, the last %q; want 100, the last a 100 5050 100", len(h.out), h.last())
	}
	if h.store.puts != 0 || h.stored("a") != "" {
		t.Fatalf("%d puts before the flush, stored %q; want none", h.store.puts, h.stored("a"))
	}
	if err := h.a.Flush(nil); err != nil {
		t.Fatal(err)
	}
	if h.store.puts != 1 || h.stored("a") != "a 100 5050 100" {
		t.Fatalf("after the flush: %d puts, stored %q; want 1 put of a 100 5050 100", h.store.puts, h.stored("a"))
	}
	// Retracting every row empties the group but keeps it, COUNT 0, as
	// ksqlDB does: no tombstone, and the store holds the emptied group
	// after the next flush (one more put, no delete).
	for i := 1; i <= 100; i++ {
		if err := h.apply("-a", int64(i), 1); err != nil {
			t.Fatal(err)
		}
	}
	if h.last() != "a 0 0 0" || h.stored("a") != "a 100 5050 100" {
		t.Fatalf("last row %q, stored %q; want a 0 0 0, the stored state unchanged until the flush", h.last(), h.stored("a"))
	}
	if err := h.a.Flush(nil); err != nil {
		t.Fatal(err)
	}
	if h.stored("a") != "a 0 0 0" || h.store.puts != 2 || h.store.deletes != 0 {
		t.Fatalf("after the flush: stored %q, %d puts, %d deletes; want a 0 0 0, 2 puts, no delete", h.stored("a"), h.store.puts, h.store.deletes)
	}
}

// TestAggregatorCacheBound: past its bound the cache writes its groups
// back and forgets them; they are read back as they were.
func TestAggregatorCacheBound(t *testing.T) {
	h := newSumsHarness(t, 2000)
	want := map[string]string{}
	for round := 1; round <= 3; round++ {
		for k := 0; k < 100; k++ {
			key := fmt.Sprintf("k%03d", k)
			if err := h.apply(key, int64(k), int64(round)); err != nil {
				t.Fatal(err)
			}
			want[key] = fmt.Sprintf("%s %d %d %d", key, round, k*round, round*(round+1)/2)
			if h.last() != want[key] {
				t.Fatalf("round %d: %q, want %q", round, h.last(), want[key])
			}
		}
	}
	if h.store.puts == 0 {
		t.Fatalf("nothing was written back before the flush: the cache holds 100 groups in 2000 bytes")
	}
	if n := h.a.cache.youngBytes + h.a.cache.oldBytes; n > 2000+500 {
		t.Fatalf("the cache holds %d bytes, bound 2000", n)
	}
	if err := h.a.Flush(nil); err != nil {
		t.Fatal(err)
	}
	for key, w := range want {
		if got := h.stored(key); got != w {
			t.Fatalf("stored %q, want %q", got, w)
		}
	}
}

// TestAggregatorFailedRowLeavesGroup: a row whose SUM(x) overflows is
// skipped whole; the group keeps what it had, in the cache and then in the
// store. The fallible SUMs are folded first, SUM(y) before SUM(x), so the
// failing row's y was added before its x failed, and is taken back.
func TestAggregatorFailedRowLeavesGroup(t *testing.T) {
	h := newSumsHarness(t, 0)
	if err := h.apply("a", math.MaxInt64, 1); err != nil {
		t.Fatal(err)
	}
	err := h.apply("a", 1, 2)
	if !errors.Is(err, agg.ErrOverflow) {
		t.Fatalf("overflowing row: %v, want ErrOverflow", err)
	}
	if err := h.apply("a", -1, 3); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("a 2 %d 4", int64(math.MaxInt64-1))
	if h.last() != want {
		t.Fatalf("after the skipped row: %q, want %q", h.last(), want)
	}
	if err := h.a.Flush(nil); err != nil {
		t.Fatal(err)
	}
	if got := h.stored("a"); got != want {
		t.Fatalf("stored %q, want %q", got, want)
	}
}

// TestAggregatorRecoverDropsCache: what was folded since the last flush
// goes with the store's pending writes; the group is read back as the
// store has it.
func TestAggregatorRecoverDropsCache(t *testing.T) {
	h := newSumsHarness(t, 0)
	if err := h.apply("a", 1, 1); err != nil {
		t.Fatal(err)
	}
	if err := h.a.Flush(nil); err != nil {
		t.Fatal(err)
	}
	if err := h.apply("a", 10, 10); err != nil {
		t.Fatal(err)
	}
	h.a.Recover()
	if err := h.apply("a", 100, 100); err != nil {
		t.Fatal(err)
	}
	if h.last() != "a 2 101 101" {
		t.Fatalf("after Recover: %q, want a 2 101 101", h.last())
	}
}

// TestGenCache: a key used again survives a rotation while keys used once
// pass through; a rotation needs what changed written back first; a
// dropped key is not written back.
func TestGenCache(t *testing.T) {
	c := newGenCache[int](400) // generations of 200 bytes
	var written []string
	writeBack := func() {
		t.Helper()
		if err := c.writeBack(func(e *genEntry[int]) (int, error) {
			written = append(written, fmt.Sprintf("%s=%d", e.key, e.val))
			return e.size, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	hot := c.add([]byte("hot"), 0, 50)
	for i := 0; i < 20; i++ {
		key := []byte(fmt.Sprintf("cold%02d", i))
		if c.get(key) != nil {
			t.Fatalf("%s cached before it was added", key)
		}
		if c.full() {
			writeBack()
			c.rotate()
		}
		e := c.add(key, i, 50)
		c.changed(e)
		h := c.get([]byte("hot"))
		if h != hot {
			t.Fatalf("step %d: the hot key was forgotten", i)
		}
		h.val++
		c.changed(h)
	}
	if c.get([]byte("cold00")) != nil {
		t.Fatalf("a key used once is still cached after many rotations")
	}
	// Each generation may pass its half by the entry that fills it.
	if n := c.youngBytes + c.oldBytes; n > 400+2*50 {
		t.Fatalf("%d bytes cached, limit 400 and an entry per generation", n)
	}
	c.drop([]byte("cold19"))
	written = nil
	writeBack()
	for _, w := range written {
		if strings.HasPrefix(w, "cold19=") {
			t.Fatalf("a dropped key was written back: %v", written)
		}
	}
	if len(written) == 0 || !strings.Contains(strings.Join(written, " "), "hot=20") {
		t.Fatalf("written back %v; want hot=20 among them", written)
	}
}

// TestGenCacheWriteBackOld: before a rotation, only the old generation's
// changes are written back, in the order they were made; the young ones'
// stay listed, in theirs, and are written back by the next rotation
// (they are old then) or the next writeBack.
func TestGenCacheWriteBackOld(t *testing.T) {
	c := newGenCache[int](400)
	var written []string
	put := func(e *genEntry[int]) (int, error) {
		written = append(written, e.key)
		return e.size, nil
	}
	for _, k := range []string{"a", "b", "c"} {
		c.changed(c.add([]byte(k), 0, 10))
	}
	c.rotate() // a, b and c old, and dirty: rotate forgets nothing yet
	c.get([]byte("b"))
	for _, k := range []string{"d", "e"} {
		c.changed(c.add([]byte(k), 0, 10))
	}
	c.drop([]byte("c"))
	if err := c.writeBackOld(put); err != nil {
		t.Fatal(err)
	}
	// b moved back to the young generation, c was dropped.
	if got := strings.Join(written, " "); got != "a" {
		t.Fatalf("written back %q before the rotation; want the old generation's a", got)
	}
	c.rotate()
	if c.get([]byte("a")) != nil {
		t.Fatalf("the rotation kept the old generation")
	}
	written = nil
	c.changed(c.add([]byte("f"), 0, 10))
	if err := c.writeBackOld(put); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(written, " "); got != "b d e" {
		t.Fatalf("written back %q at the second rotation; want b d e", got)
	}
	c.rotate()
	written = nil
	if err := c.writeBack(put); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(written, " "); got != "f" {
		t.Fatalf("written back %q at the flush; want f", got)
	}
}

// TestAggregatorRotationEmitsOld: a group cache that rotates within a
// batch emits the pending changes of the generation it forgets, each
// once, and keeps the young generation's pending: a hot group updated
// throughout the batch changes once, at the flush, and every group's
// state is in the store after it.
func TestAggregatorRotationEmitsOld(t *testing.T) {
	store := &countingStore{MemStore: state.NewMemStore()}
	h := newAggHarness(t, nil, false, store)
	h.a.EmitCacheBytes = 10_000_000
	h.a.CacheBytes = 4 << 10 // a few dozen groups
	const n = 300
	early := hotAndCold(t, h, n, func(i int) int64 { return int64(i) }, "group", groupOf)
	for i, r := range h.out {
		if groupOf(r) == "hot" {
			if i < early || r != "hot 300 300" {
				t.Fatalf("the hot group's change %q is #%d, %d of them before the flush; want hot 300 300 at the flush", r, i, early)
			}
		} else if !strings.HasSuffix(r, " 1 1") {
			t.Fatalf("change %q; want a count and sum of 1", r)
		}
	}
	// The groups forgotten and those kept young are all in the store.
	h.out, h.times = nil, nil
	h.a.Recover()
	h.apply("hot", 1, n)
	h.apply("c000", 1, n)
	h.apply(fmt.Sprintf("c%03d", n-1), 1, n)
	h.flush()
	h.expect("hot 301 301", "c000 2 2", fmt.Sprintf("c%03d 2 2", n-1))
}

// hotAndCold applies a batch of n records to h, each to the hot key and
// to a cold key of its own (c000, c001, ...), at time at(i), flushes it,
// and fails unless the cache rotated within it (some changes went out
// before the flush) and every group or session (of names it: what)
// changed once. It returns how many changes went out before the flush.
func hotAndCold(t *testing.T, h *aggHarness, n int, at func(i int) int64, what string, of func(string) string) (early int) {
	t.Helper()
	for i := range n {
		h.apply("hot", 1, at(i))
		h.apply(fmt.Sprintf("c%03d", i), 1, at(i))
	}
	early = len(h.out)
	if early == 0 {
		t.Fatalf("no change before the flush: the cache never rotated")
	}
	h.flush()
	emittedOnce(t, 0, what, h.out, of)
	if len(h.out) != n+1 {
		t.Fatalf("%d changes for %d %ss: %q", len(h.out), n+1, what, h.out)
	}
	return early
}

// TestAggregatorSessionsCached: sessions change in the cache between
// flushes, merges included, and the store holds what the records made of
// them once flushed: one session with its index entry (and the entry of
// the session merged into it, until it comes due), read back by a
// restarted aggregator.
func TestAggregatorSessionsCached(t *testing.T) {
	w := &window.Spec{Kind: window.Session, Gap: 5 * time.Second, Grace: 10 * time.Second, HasGrace: true}
	store := state.NewMemStore()
	h := newAggHarness(t, w, false, store)
	apply := func(h *aggHarness, key string, v, ts int64) {
		t.Helper()
		in := keyInput(t, h.codec, key)
		in.Time, in.Args = ts, [][]types.Value{nil, {types.NewBigint(v)}}
		if err := h.a.Apply(&in, nil); err != nil {
			t.Fatal(err)
		}
	}
	apply(h, "a", 1, 100_000)
	apply(h, "a", 2, 110_000)
	apply(h, "a", 3, 101_000) // extends the first session
	apply(h, "a", 4, 105_000) // bridges both
	h.expect("a 100000 100000 1 1", "a 110000 110000 1 2", "-a", "a 100000 101000 2 4", "-a", "-a", "a 100000 110000 4 10")
	if n := keysWith(t, store, 'a'); n != 0 {
		t.Fatalf("%d sessions in the store before the flush", n)
	}
	if err := h.a.Flush(nil); err != nil {
		t.Fatal(err)
	}
	if n, x := keysWith(t, store, 'a'), keysWith(t, store, 'x'); n != 1 || x != 2 {
		t.Fatalf("after the flush: %d sessions and %d expiry entries, want 1 and 2 (the merged-away session's entry goes when it comes due: sessionDue)", n, x)
	}
	h2 := newAggHarness(t, w, false, store)
	apply(h2, "a", 5, 112_000)
	h2.expect("-a", "a 100000 112000 5 15")
}

// TestAggregatorGroupFilter: a new group is known new without a read of
// the store; a group that left the cache is read back, with the filter
// on, after it is rebuilt full, once it is off (too many groups), and in
// a task started again on the same store.
func TestAggregatorGroupFilter(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int
		// newGets bounds the store reads of the 20 new groups: a Bloom
		// filter's false positives (1%) may cost a read or two.
		newGets int
	}{
		{"on", 0, 2},
		{"rebuilt, then off", 8, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newSumsHarness(t, 600) // about one group a generation
			h.a.groups.limit = tc.limit
			run := func(h *sumsHarness, round int) {
				t.Helper()
				for i := range 20 {
					key := fmt.Sprintf("k%02d", i)
					if err := h.apply(key, int64(i), 1); err != nil {
						t.Fatal(err)
					}
					want := fmt.Sprintf("%s %d %d %d", key, round, round*i, round)
					if h.last() != want {
						t.Fatalf("round %d: %q, want %q", round, h.last(), want)
					}
					if i%5 == 4 {
						if err := h.a.Flush(nil); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			if err := h.apply("k00", 0, 1); err != nil { // init: the stream time, the layout
				t.Fatal(err)
			}
			h.store.gets = 0
			h.a.Recover() // k00 is forgotten with its cache, and built again
			run(h, 1)
			if h.store.gets > tc.newGets {
				t.Fatalf("%d store reads for 20 new groups, want at most %d", h.store.gets, tc.newGets)
			}
			if tc.limit != 0 && !h.a.groups.off {
				t.Fatalf("the filter is still on with %d groups, more than half its limit %d", 20, tc.limit)
			}
			run(h, 2) // every group is read back from the store
			// A task started again on the same store.
			h2 := newSumsHarness(t, 600)
			h2.store.MemStore = h.store.MemStore
			h2.a.groups.limit = tc.limit
			run(h2, 3)
		})
	}
}

// TestAggregatorGroupFilterKeepsUnstoredGroups: a group that a
// retraction brought into the cache without rows is not written back,
// so a filter built again from the store lacks it; it is added from the
// cache, since a new group's lookup trusts the filter for the cache too:
// the next row finds the cached group instead of caching a second one.
func TestAggregatorGroupFilterKeepsUnstoredGroups(t *testing.T) {
	h := newSumsHarness(t, 0)
	if err := h.apply("-r", 1, 1); err != nil { // a row the group never had
		t.Fatal(err)
	}
	if err := h.apply("a", 1, 1); err != nil {
		t.Fatal(err)
	}
	kb, err := h.codec.EncodeKey(types.Row{types.NewString("r")})
	if err != nil {
		t.Fatal(err)
	}
	sk := string(stateKey(kb, nil))
	cached := h.a.cache.young[sk]
	if cached == nil || cached.val.live {
		t.Fatalf("the retraction's group: %+v, want a cached group that is not live", cached)
	}
	h.a.groups.rebuild = true
	if err := h.a.Flush(nil); err != nil {
		t.Fatal(err)
	}
	if h.stored("r") != "" {
		t.Fatalf("the group without rows was written back: %q", h.stored("r"))
	}
	if !h.a.groups.mayHave([]byte(sk)) {
		t.Fatal("the rebuilt filter lacks the cached group the store does not have")
	}
	if err := h.apply("r", 2, 3); err != nil {
		t.Fatal(err)
	}
	if h.last() != "r 1 2 3" {
		t.Fatalf("%q, want r 1 2 3", h.last())
	}
	if e := h.a.cache.young[sk]; e != cached {
		t.Fatal("the row cached a second group instead of the one cached")
	}
}

// TestAggregatorGroupFilterLayers: a task that sees many new groups
// builds its group filter again in one layer at a Flush once it has more
// than maxGroupFilterLayers, so new groups keep costing few probes and
// few store reads; and every group the store holds is still found (a
// group that left the cache is read back, not started afresh).
func TestAggregatorGroupFilterLayers(t *testing.T) {
	const keys = 40_000
	// Small enough a cache for about one group a generation.
	h := newSumsHarness(t, 600)
	if err := h.apply("k00000", 0, 1); err != nil { // init: the stream time, the layout
		t.Fatal(err)
	}
	h.store.gets = 0
	maxLayers := 0
	for i := 1; i < keys; i++ {
		if err := h.apply(fmt.Sprintf("k%05d", i), int64(i), 1); err != nil {
			t.Fatal(err)
		}
		if i%500 == 0 {
			if err := h.a.Flush(nil); err != nil {
				t.Fatal(err)
			}
			maxLayers = max(maxLayers, len(h.a.groups.f.layers))
		}
	}
	if maxLayers > maxGroupFilterLayers+1 {
		t.Fatalf("the filter had %d layers after a flush, want at most %d", maxLayers, maxGroupFilterLayers+1)
	}
	// 1% of false positives a full layer, fewer in a fuller one.
	if h.store.gets > keys/50 {
		t.Fatalf("%d store reads for %d new groups", h.store.gets, keys)
	}
	if err := h.a.Flush(nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < keys; i += 997 {
		key := fmt.Sprintf("k%05d", i)
		if err := h.apply(key, int64(i), 1); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("%s 2 %d 2", key, 2*i); h.last() != want {
			t.Fatalf("%q, want %q", h.last(), want)
		}
	}
}

// TestBudgetBoundsManyTasks: 64 aggregation tasks and 64 table join
// stores, each with far more keys than a 1 MiB budget holds, keep their
// caches and filters within it together when they draw from it; with the
// fixed limits they had before the budget (no account) they hold many
// times it. Their results do not change.
func TestBudgetBoundsManyTasks(t *testing.T) {
	const tasks, keys, budget = 64, 1000, 1 << 20
	for _, shared := range []bool{true, false} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			b := membudget.New(budget)
			acct := b.Account()
			if !shared {
				acct = nil
			}
			aggs := make([]*sumsHarness, tasks)
			joins := make([]*TableJoinStore, tasks)
			for i := range aggs {
				aggs[i] = newSumsHarness(t, 0)
				aggs[i].a.Memory = acct
				joins[i] = &TableJoinStore{Store: state.NewMemStore(), Memory: acct}
			}
			value := []byte(strings.Repeat("v", 100))
			held := func() int {
				n := 0
				for i := range aggs {
					n += aggs[i].a.cache.bytes()
					if f := aggs[i].a.groups.f; f != nil {
						n += f.size()
					}
					n += joins[i].cacheBytes() + joins[i].filter.size()
				}
				return n
			}
			most := 0
			for round := 1; round <= 2; round++ {
				for k := range keys {
					for i := range aggs {
						key := fmt.Sprintf("t%02d-k%04d", i, k)
						if err := aggs[i].apply(key, int64(k), 1); err != nil {
							t.Fatal(err)
						}
						if round == 1 {
							if err := joins[i].Put([]byte(key), value); err != nil {
								t.Fatal(err)
							}
						} else if _, ok, err := joins[i].Get([]byte(key)); err != nil || !ok {
							t.Fatalf("join store %d lost %s: %v", i, key, err)
						}
					}
					if k%100 == 99 {
						for i := range aggs {
							if err := aggs[i].a.Flush(nil); err != nil {
								t.Fatal(err)
							}
						}
						most = max(most, held())
					}
				}
			}
			t.Logf("held at most %d bytes (budget %d)", most, budget)
			if shared && most > budget {
				t.Errorf("the caches and filters of %d aggregations and %d joins held up to %d bytes, budget %d", tasks, tasks, most, budget)
			}
			if shared && most < budget/4 {
				t.Errorf("they held at most %d bytes of a budget of %d: the test does not fill it", most, budget)
			}
			if !shared && most <= 4*budget {
				t.Errorf("with fixed limits they held at most %d bytes; the test means them to pass %d", most, 4*budget)
			}
			if got, want := aggs[7].stored("t07-k0734"), "t07-k0734 2 1468 2"; got != want {
				t.Errorf("stored %q, want %q", got, want)
			}
			acct.Release()
			if b.Shares() != 0 {
				t.Errorf("%d shares held after the release", b.Shares())
			}
		})
	}
}

// TestBudgetBoundsJoinIndexes: the stream-stream joins' indexes of recent
// records and the foreign-key joins' index caches of 32 tasks, drawing
// from one 256 KiB budget, hold within it together, where their fixed
// limits (32 MiB and 4 MiB a task) would let them hold every record.
func TestBudgetBoundsJoinIndexes(t *testing.T) {
	const tasks, records, budget = 32, 2000, 256 << 10
	b := membudget.New(budget)
	acct := b.Account()
	idx := make([]*windowIndex, tasks)
	fks := make([]*fkIndexCache, tasks)
	for i := range idx {
		idx[i] = newWindowIndex(DefaultJoinIndexBytes)
		idx[i].share = acct.Share(DefaultJoinIndexBytes)
		fks[i] = &fkIndexCache{share: acct.Share(fkIndexCacheBytes)}
	}
	v := []byte(strings.Repeat("v", 60))
	most := 0
	for r := range records {
		for i := range idx {
			k := appendBE64(binary32(appendTime(recordPrefix(nil, r%2, fmt.Appendf(nil, "k%d", r)), int64(r)), 0), uint64(r))
			idx[i].put(r%2, k, v)
			fks[i].put(fmt.Appendf(nil, "fk%05d", r), [][]byte{fmt.Appendf(nil, "left%05d", r)})
		}
		if r%100 == 99 {
			n := 0
			for i := range idx {
				n += idx[i].bytes + fks[i].bytes
			}
			most = max(most, n)
		}
	}
	if most > budget || most < budget/4 {
		t.Fatalf("the indexes held up to %d bytes, budget %d", most, budget)
	}
	acct.Release()
}
