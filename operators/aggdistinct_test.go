package operators

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/runnel/runnel/operators/agg"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/operators/window"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// distinctHarness aggregates COUNT(DISTINCT x) and SUM(DISTINCT x) of a
// BIGINT by a STRING key, optionally windowed; rows print as "key
// [start] count sum".
type distinctHarness struct {
	t     *testing.T
	codec *GroupCodec
	a     *Aggregator
	store *state.MemStore
	out   []string
}

func newDistinctHarness(t *testing.T, store *state.MemStore, w *window.Spec) *distinctHarness {
	t.Helper()
	cd, err := agg.Resolve("COUNT", []types.Type{types.Bigint}, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := agg.Resolve("SUM", []types.Type{types.Bigint}, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	codec, err := NewGroupCodec([]types.Type{types.String}, [][]types.Type{{types.Bigint}, {types.Bigint}})
	if err != nil {
		t.Fatal(err)
	}
	width := 3
	if w != nil {
		width = 5
	}
	project := make([]expr.Expr, width)
	for i := range project {
		project[i] = &expr.Column{Index: i, T: types.Bigint}
	}
	h := &distinctHarness{t: t, codec: codec, store: store}
	h.a = &Aggregator{
		Spec:    &AggregateSpec{Funcs: []agg.Func{cd, sd}, Codec: codec, Window: w, Project: project},
		Store:   store,
		Metrics: &Metrics{},
		Output: func(out AggOutput, _ Emit) error {
			if out.Row == nil {
				h.out = append(h.out, "-"+out.Key[0].Str())
				return nil
			}
			parts := []string{out.Row[0].Str()}
			if w != nil {
				parts = append(parts, fmt.Sprint(out.Row[1].Int()))
			}
			for _, v := range out.Row[width-2:] {
				parts = append(parts, fmt.Sprint(v.Int()))
			}
			h.out = append(h.out, strings.Join(parts, " "))
			return nil
		},
	}
	return h
}

func (h *distinctHarness) apply(key string, x, ts int64) {
	h.t.Helper()
	in := keyInput(h.t, h.codec, key)
	in.Time, in.Args = ts, [][]types.Value{{types.NewBigint(x)}, {types.NewBigint(x)}}
	if err := h.a.Apply(&in, nil); err != nil {
		h.t.Fatal(err)
	}
}

func (h *distinctHarness) last() string { return h.out[len(h.out)-1] }

func (h *distinctHarness) flush() {
	h.t.Helper()
	if err := h.a.Flush(nil); err != nil {
		h.t.Fatal(err)
	}
}

// keysWith counts the store's keys with a first byte of kind.
func keysWith(t *testing.T, s state.Store, kind byte) int {
	t.Helper()
	n := 0
	if err := s.Scan([]byte{kind}, []byte{kind + 1}, func(_, _ []byte) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAggregatorDistinctSetsInStore: COUNT(DISTINCT x) and SUM(DISTINCT
// x) keep a count per distinct value in the store, not in the group's
// state, whose size stays the same however many values there are; values
// leave when their last row is retracted.
func TestAggregatorDistinctSetsInStore(t *testing.T) {
	h := newDistinctHarness(t, state.NewMemStore(), nil)
	h.apply("a", 5, 0)
	h.apply("a", 5, 0)
	h.apply("a", 7, 0)
	if h.last() != "a 2 12" {
		t.Fatalf("%q, want a 2 12", h.last())
	}
	h.apply("-a", 5, 0) // one of two 5s: still there
	if h.last() != "a 2 12" {
		t.Fatalf("after retracting one 5: %q, want a 2 12", h.last())
	}
	h.apply("-a", 5, 0) // the last 5
	if h.last() != "a 1 7" {
		t.Fatalf("after retracting the last 5: %q, want a 1 7", h.last())
	}
	h.flush()
	if n := keysWith(t, h.store, 'd'); n != 2 {
		t.Fatalf("%d distinct value keys, want 2 (7, for each call)", n)
	}
	kb, _ := h.codec.EncodeKey(types.Row{types.NewString("a")})
	small, _, _ := h.store.Get(stateKey(kb, nil))
	for x := int64(100); x < 1100; x++ {
		h.apply("a", x, 0)
	}
	if want := fmt.Sprintf("a 1001 %d", 7+(100+1099)*1000/2); h.last() != want {
		t.Fatalf("%q, want %q", h.last(), want)
	}
	h.flush()
	big, _, _ := h.store.Get(stateKey(kb, nil))
	if len(big) > len(small)+16 {
		t.Fatalf("the group's state grew from %d to %d bytes with 1000 values", len(small), len(big))
	}
	if n := keysWith(t, h.store, 'd'); n != 2002 {
		t.Fatalf("%d distinct value keys, want 2002", n)
	}
	// A new aggregator over the same store (a restart) reads it back.
	h2 := newDistinctHarness(t, h.store, nil)
	h2.apply("a", 7, 0)
	h2.apply("a", 1, 0)
	if want := fmt.Sprintf("a 1002 %d", 8+(100+1099)*1000/2); h2.last() != want {
		t.Fatalf("after a restart: %q, want %q", h2.last(), want)
	}
	// A new group gets an id of its own, not a's again.
	h2.apply("b", 7, 0)
	if h2.last() != "b 1 7" {
		t.Fatalf("a new group after a restart: %q, want b 1 7", h2.last())
	}
	// A value's key is short: the group's id, not its key.
	_ = h.store.Scan([]byte{'d'}, []byte{'e'}, func(k, _ []byte) bool {
		if len(k) > 8 {
			t.Fatalf("distinct value key %x is %d bytes long", k, len(k))
		}
		return true
	})
}

// TestAggregatorDistinctOldLayout: a store whose groups hold their sets
// in the accumulators, as an older Runnel wrote them, is read and written
// that way still.
func TestAggregatorDistinctOldLayout(t *testing.T) {
	h := newDistinctHarness(t, state.NewMemStore(), nil)
	// The old layout: the full DISTINCT accumulators in the group's state.
	star, err := agg.Resolve("COUNT", nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	accs := []agg.Accumulator{star.New(), nil, nil}
	for i, f := range h.a.Spec.Funcs {
		accs[i+1] = f.New()
		for _, x := range []int64{5, 7} {
			if err := accs[i+1].Add([]types.Value{types.NewBigint(x)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range 2 {
		if err := accs[0].Add(nil); err != nil {
			t.Fatal(err)
		}
	}
	kb, _ := h.codec.EncodeKey(types.Row{types.NewString("a")})
	fresh := state.NewMemStore()
	if err := fresh.Put(stateKey(kb, nil), encodeState(accs, 0)); err != nil {
		t.Fatal(err)
	}
	h2 := newDistinctHarness(t, fresh, nil)
	h2.apply("a", 7, 0)
	h2.apply("a", 9, 0)
	if h2.last() != "a 3 21" {
		t.Fatalf("over the old layout: %q, want a 3 21", h2.last())
	}
	h2.flush()
	if n := keysWith(t, fresh, 'd'); n != 0 {
		t.Fatalf("%d distinct value keys in an old store", n)
	}
	if _, ok, _ := fresh.Get(layoutKey); ok {
		t.Fatalf("an old store was marked with the new layout")
	}
}

// TestAggregatorDistinctWindowExpiry: an expired window's distinct value
// keys go with it.
func TestAggregatorDistinctWindowExpiry(t *testing.T) {
	w := &window.Spec{Kind: window.Tumbling, Size: time.Minute, HasGrace: true, Retention: 2 * time.Minute}
	h := newDistinctHarness(t, state.NewMemStore(), w)
	for x := int64(0); x < 10; x++ {
		h.apply("a", x, 1000)
	}
	h.flush()
	if n := keysWith(t, h.store, 'd'); n != 20 {
		t.Fatalf("%d distinct value keys, want 20", n)
	}
	h.apply("a", 3, 600_000) // far past the first window's retention
	h.flush()
	var left [][]byte
	_ = h.store.Scan([]byte{'d'}, []byte{'e'}, func(k, _ []byte) bool { left = append(left, bytes.Clone(k)); return true })
	if len(left) != 2 {
		t.Fatalf("%d distinct value keys after the first window expired, want 2 (the new window's)", len(left))
	}
	if h.last() != "a 600000 1 3" {
		t.Fatalf("%q, want a 600000 1 3", h.last())
	}
}

// TestAggregatorDistinctThroughEvictions: with caches small enough that
// groups and counts leave them all the time, every value is still counted
// once per group: the filter of a group's values is rebuilt from the
// store when the group comes back, with the counts still cached written
// back first.
func TestAggregatorDistinctThroughEvictions(t *testing.T) {
	h := newDistinctHarness(t, state.NewMemStore(), nil)
	h.a.CacheBytes = 3000
	want := map[string]map[int64]bool{}
	r := 0
	for i := 0; i < 3000; i++ {
		key := fmt.Sprintf("k%d", i%7)
		r = (r*1103515245 + 12345) & 0x7fffffff
		x := int64(r % 50)
		h.apply(key, x, 0)
		if want[key] == nil {
			want[key] = map[int64]bool{}
		}
		want[key][x] = true
		var sum int64
		for v := range want[key] {
			sum += v
		}
		if exp := fmt.Sprintf("%s %d %d", key, len(want[key]), sum); h.last() != exp {
			t.Fatalf("row %d: %q, want %q", i, h.last(), exp)
		}
		if i%500 == 499 {
			h.flush()
		}
	}
}

// TestAggregatorDistinctValueWhileGroupAway: a value a group gets, then
// the group leaves the cache and comes back while the value's count is
// still only cached; the count leaves its cache after; the value seen
// again is not new.
func TestAggregatorDistinctValueWhileGroupAway(t *testing.T) {
	h := newDistinctHarness(t, state.NewMemStore(), nil)
	h.apply("a", 1, 0) // initializes the caches
	h.flush()
	h.a.cache = newGroupCache(800) // about one group a generation
	h.a.counts = newCountCache(1 << 20)
	h.apply("a", 2, 0) // a's count of 2 is cached, dirty
	for _, k := range []string{"b", "c", "d", "e"} {
		h.apply(k, 9, 0) // a leaves the group cache
	}
	if h.a.cache.get(mustKey(t, h, "a")) != nil {
		t.Fatalf("a is still cached")
	}
	h.apply("a", 3, 0) // a comes back: its filter is built from the store
	// The counts leave their cache, written back.
	if err := h.a.writeBackCounts(); err != nil {
		t.Fatal(err)
	}
	h.a.counts.rotate()
	h.a.counts.rotate()
	h.apply("a", 2, 0)
	if h.last() != "a 3 6" {
		t.Fatalf("%q, want a 3 6: 2 was counted twice", h.last())
	}
}

func mustKey(t *testing.T, h *distinctHarness, key string) []byte {
	t.Helper()
	kb, err := h.codec.EncodeKey(types.Row{types.NewString(key)})
	if err != nil {
		t.Fatal(err)
	}
	return stateKey(kb, nil)
}

// TestAggregatorDistinctAddsOnly: over a stream (AddsOnly) a DISTINCT
// value's key is written once, when the group first gets it, whatever
// the rows that repeat it after; the results are those of exact counts,
// across flushes, a cache that forgets, and a restart on the same
// store; a retraction is refused.
func TestAggregatorDistinctAddsOnly(t *testing.T) {
	mem := state.NewMemStore()
	h := newDistinctHarness(t, mem, nil)
	h.a.Spec.AddsOnly = true
	counting := &countingStore{MemStore: mem}
	h.a.Store = counting
	steps := []struct {
		key  string
		x    int64
		want string
	}{
		{"a", 5, "a 1 5"}, {"a", 5, "a 1 5"}, {"a", 7, "a 2 12"}, {"b", 5, "b 1 5"},
		{"a", 7, "a 2 12"}, {"a", 5, "a 2 12"}, {"b", 9, "b 2 14"}, {"a", 1, "a 3 13"},
	}
	for i, s := range steps {
		h.apply(s.key, s.x, 0)
		if h.last() != s.want {
			t.Fatalf("step %d (%s %d): %q, want %q", i, s.key, s.x, h.last(), s.want)
		}
		h.flush()
	}
	// Five values of a group (a: 5, 7, 1; b: 5, 9), a key each per call,
	// each holding 1 however many rows repeat it.
	values := 0
	if err := mem.Scan([]byte{'d'}, []byte{'e'}, func(_, v []byte) bool {
		values++
		if string(v) != "\x01" {
			t.Errorf("a value's key holds %x, want 01", v)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if values != 10 {
		t.Fatalf("%d value keys, want 10 (5 values of two calls)", values)
	}
	// Every flush wrote the group it changed and, when a value was new,
	// its two keys (and the next id, when a group got its id); the
	// layout mark was written once. The repeats (steps 1, 4 and 5) wrote
	// only their group.
	if want := len(steps) + 10 + 2 + 1; counting.puts != want {
		t.Fatalf("%d puts, want %d", counting.puts, want)
	}

	// A new task on the same store, its caches empty, goes on exactly.
	h2 := newDistinctHarness(t, mem, nil)
	h2.a.Spec.AddsOnly = true
	for _, s := range []struct {
		key  string
		x    int64
		want string
	}{{"a", 7, "a 3 13"}, {"b", 5, "b 2 14"}, {"b", 4, "b 3 18"}} {
		h2.apply(s.key, s.x, 0)
		if h2.last() != s.want {
			t.Fatalf("after a restart, %s %d: %q, want %q", s.key, s.x, h2.last(), s.want)
		}
	}
	in := keyInput(t, h2.codec, "-a")
	in.Args = [][]types.Value{{types.NewBigint(7)}, {types.NewBigint(7)}}
	if err := h2.a.Apply(&in, nil); err == nil {
		t.Fatal("a retraction in an aggregation that only adds was accepted")
	}
}
