package operators

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/log/embedded"
	"github.com/runnel/runnel/operators/serde"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// windowFixture is a left stream (K STRING KEY, V STRING) joined with a
// right stream (K STRING KEY, W STRING) on their keys, JSON values, KAFKA
// keys. Each side's row is K, V|W, ROWTIME, ROWPARTITION, ROWOFFSET; the
// joined row is the left's 5 values, the right's 5, the key, ROWTIME.
type windowFixture struct {
	j   *StreamStreamJoin
	got []string
	// offsets per side, so that each record has its own place.
	offsets [2]int64
}

// window is a join's WITHIN (before, after) GRACE PERIOD grace, and its
// type: "inner", "left", "right" or "full".
type within struct {
	before, after, grace int64
	tp                   string
}

func newWindowFixture(t *testing.T, w within, store state.Store, extra expr.Expr) *windowFixture {
	t.Helper()
	f := &windowFixture{}
	var sides [2]StreamSide
	for i, v := range []string{"V", "W"} {
		cols := []types.Column{{Name: "K", Type: types.String, Key: true}, {Name: v, Type: types.String}}
		dec, err := NewDecoder(DecoderSpec{Columns: cols, KeyFormat: "KAFKA", ValueFormat: "JSON"})
		if err != nil {
			t.Fatal(err)
		}
		sides[i] = StreamSide{Decoder: dec, Time: 2, Keys: []expr.Expr{&expr.Column{Index: 0, Name: "K", T: types.String}}}
	}
	kf, err := serde.NewKeyFormat("KAFKA", []types.Column{{Name: "K", Type: types.String, Key: true}}, serde.Props{})
	if err != nil {
		t.Fatal(err)
	}
	spec := &StreamStreamSpec{Sides: sides, Before: w.before, After: w.after, Grace: w.grace, Key: kf, Extra: extra,
		Outer: [2]bool{w.tp == "left" || w.tp == "full", w.tp == "right" || w.tp == "full"}}
	f.j = &StreamStreamJoin{Spec: spec, Store: store, Metrics: &Metrics{}}
	f.j.Output = func(row types.Row, ts int64, _ Emit) error {
		// V, W, the key; then the time.
		parts := make([]string, 0, 4)
		for _, c := range []int{1, 6, 10} {
			if row[c].IsNull() {
				parts = append(parts, "NULL")
			} else {
				parts = append(parts, row[c].Str())
			}
		}
		if row[len(row)-1].Int() != ts {
			t.Errorf("the row's ROWTIME %d is not its time %d", row[len(row)-1].Int(), ts)
		}
		f.got = append(f.got, strings.Join(parts, " ")+fmt.Sprintf(" @%d", ts))
		return nil
	}
	return f
}

// step feeds "l key value@ts" or "r key value@ts" (key "-": NULL, value
// "-": a null value).
func (f *windowFixture) step(t *testing.T, step string) {
	t.Helper()
	var side, key, rest string
	if _, err := fmt.Sscan(step, &side, &key, &rest); err != nil {
		t.Fatalf("bad step %q", step)
	}
	at := strings.LastIndex(rest, "@")
	val := rest[:at]
	var ts int64
	fmt.Sscan(rest[at+1:], &ts)
	input, field := 0, "V"
	if side == "r" {
		input, field = 1, "W"
	}
	rec := log.Record{Timestamp: ts, Offset: f.offsets[input]}
	f.offsets[input]++
	if key != "-" {
		rec.Key = []byte(key)
	}
	if val != "-" {
		rec.Value = fmt.Appendf(nil, `{"%s":%q}`, field, val)
	}
	if err := f.j.ProcessInput(input, &rec, nil); err != nil {
		t.Fatalf("%s: %v", step, err)
	}
}

// TestStreamStreamJoin: window bounds, grace, when unmatched rows are
// emitted and in what order, late records, NULL keys and values, the
// extra condition — as the specification (tests/suites/joins/README.md,
// "Stream ⋈ stream") states them. Rows are "V W key @ROWTIME".
func TestStreamStreamJoin(t *testing.T) {
	const big = 1 << 40 // a grace that closes nothing
	for _, tc := range []struct {
		name  string
		w     within
		extra bool
		steps []string
		want  []string
		late  int64
	}{
		{name: "both bounds are inclusive", w: within{10, 10, big, "inner"},
			steps: []string{"l x A@100", "r x a@90", "r x b@110", "r x c@111", "r x d@89", "r y e@100"},
			want:  []string{"A a x @100", "A b x @110"}},
		{name: "asymmetric window seen from the left", w: within{5, 10, big, "inner"},
			steps: []string{"l x A@100", "r x a@94", "r x b@95", "r x c@110", "r x d@111"},
			want:  []string{"A b x @100", "A c x @110"}},
		{name: "asymmetric window seen from the right", w: within{5, 10, big, "inner"},
			// r at 100 matches l in [100-10, 100+5].
			steps: []string{"r x a@100", "l x A@89", "l x B@90", "l x C@105", "l x D@106"},
			want:  []string{"B a x @100", "C a x @105"}},
		{name: "a record's pairs come in the other side's ROWTIME order", w: within{10, 10, big, "inner"},
			steps: []string{"r x a@20", "r x b@10", "r x c@15", "l x A@15"},
			want:  []string{"A b x @15", "A c x @15", "A a x @20"}},
		{name: "equal ROWTIMEs pair in arrival order", w: within{10, 10, big, "inner"},
			steps: []string{"r x a@5", "r x b@5", "l x A@5"},
			want:  []string{"A a x @5", "A b x @5"}},
		{name: "a left row closes strictly after ROWTIME + after + grace", w: within{100, 10, 5, "left"},
			// A (0) is open at stream time 15 and closes at 16, before Q's pair.
			steps: []string{"l x A@0", "r z q@15", "l z P@15", "l z Q@16"},
			want:  []string{"P q z @15", "A NULL x @0", "Q q z @16"}},
		{name: "a right row closes strictly after ROWTIME + before + grace", w: within{2, 100, 5, "right"},
			steps: []string{"r x a@0", "l z P@7", "r z q@7", "l w Q@8"},
			want:  []string{"P q z @7", "NULL a x @0"}},
		{name: "matched rows are never emitted unmatched", w: within{10, 10, 0, "full"},
			steps: []string{"l x A@0", "r x a@5", "l y B@100"},
			want:  []string{"A a x @5"}},
		{name: "unmatched rows close in ROWTIME order, left first on ties", w: within{10, 10, 0, "full"},
			steps: []string{"r y b@3", "l x A@3", "r w c@1", "l v C@2", "l u D@100"},
			want:  []string{"NULL c w @1", "C NULL v @2", "A NULL x @3", "NULL b y @3"}},
		{name: "asymmetric closing is in ROWTIME order across sides", w: within{20, 1, 0, "full"},
			// Left rows close at ts+1, right rows at ts+20: at 50 the right
			// row (20) and the left row (30) have both closed.
			steps: []string{"r y b@20", "l x A@30", "l z Z@50"},
			want:  []string{"NULL b y @20", "A NULL x @30"}},
		{name: "an out-of-order record closes in its place", w: within{10, 10, 1000, "left"},
			// C (150) arrives after B (200) and closes before it.
			steps: []string{"l a A@100", "l b B@200", "l c C@150", "l d D@1170", "l e E@1300"},
			want:  []string{"A NULL a @100", "C NULL c @150", "B NULL b @200"}},
		{name: "a late record is dropped and counted", w: within{10, 10, 0, "full"},
			// a (89) closed at 99 < 100: never joined, stored or emitted.
			steps: []string{"l x A@100", "r x a@89", "r x b@90", "l z Z@200"},
			want:  []string{"A b x @100"}, late: 1},
		{name: "a record never joins one whose window closed", w: within{10, 10, 0, "left"},
			// A closes at stream time 11 (emitted); a (10) is still open
			// and in A's range, but A has left the state.
			steps: []string{"l x A@0", "r y q@15", "r x a@10", "l z Z@100"},
			want:  []string{"A NULL x @0"}},
		{name: "an inner join never joins a record whose window closed", w: within{10, 10, 0, "inner"},
			// A closes at stream time 14, after the sweep that began at
			// 13 (deleting what closed below 3) passed it: it is still
			// stored, in a's range, but has left the state.
			steps: []string{"l x A@3", "r y p@13", "r y q@14", "r x a@5", "l x B@14"},
			want:  []string{"B a x @14"}},
		{name: "out of order within grace", w: within{10, 10, 100, "inner"},
			steps: []string{"l x A@50", "r y q@90", "r x a@45"},
			want:  []string{"A a x @50"}},
		{name: "a NULL key: LEFT emits at once, INNER drops", w: within{10, 10, 0, "left"},
			steps: []string{"l - A@1", "r - a@2", "l x B@3", "r x b@4"},
			want:  []string{"A NULL NULL @1", "B b x @4"}},
		{name: "a NULL key on both outer sides", w: within{10, 10, 0, "full"},
			steps: []string{"l - A@1", "r - a@2"},
			want:  []string{"A NULL NULL @1", "NULL a NULL @2"}},
		{name: "a NULL key in an inner join", w: within{10, 10, 0, "inner"},
			steps: []string{"l - A@1", "r - a@2"}},
		{name: "a late NULL-key record is not emitted", w: within{10, 10, 0, "left"},
			steps: []string{"l x A@100", "l - B@1"},
			late:  1},
		{name: "null values are ignored and move no time", w: within{10, 10, 0, "left"},
			// Were the null value at 1000 counted, A would close before a.
			steps: []string{"l x A@0", "r y -@1000", "r x a@10"},
			want:  []string{"A a x @10"}},
		{name: "the extra condition decides a match", w: within{10, 10, 0, "left"}, extra: true,
			// V <> 'skip': skip's candidate fails it, so skip is unmatched.
			steps: []string{"l x skip@0", "l x ok@1", "r x a@2", "l z Z@100"},
			want:  []string{"ok a x @2", "skip NULL x @0"}},
		{name: "RIGHT keeps the window relative to the left", w: within{11000, 10000, big, "right"},
			// r at 11000 may be at most 10 s after a left record: zero (0) is out.
			steps: []string{"l x zero@0", "r x blah@11000", "l x foo@13000"},
			want:  []string{"foo blah x @13000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var extra expr.Expr
			if tc.extra {
				extra = notEqual{col: 1, s: "skip"}
			}
			f := newWindowFixture(t, tc.w, NewOrderedMemStore(), extra)
			for _, s := range tc.steps {
				f.step(t, s)
			}
			if strings.Join(f.got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(f.got, "\n"), strings.Join(tc.want, "\n"))
			}
			if n := f.j.Metrics.Late.Load(); n != tc.late {
				t.Errorf("%d late records, want %d", n, tc.late)
			}
		})
	}
}

// TestStreamStreamJoinCloseInBatches: a stream time that jumps far ahead
// closes more windows than one scan reads (expireBatch), on both sides,
// and emits every unmatched row once, in ROWTIME order.
func TestStreamStreamJoinCloseInBatches(t *testing.T) {
	const n = 3*expireBatch + 7
	// A grace that keeps every record open until the last step.
	f := newWindowFixture(t, within{0, 0, 2 * n, "full"}, NewOrderedMemStore(), nil)
	var want []string
	for i := range n {
		// Left at even times, right at odd ones; distinct keys, so
		// nothing matches.
		ts := int64(2 * i)
		side, v := "l", "L"
		if i%2 == 1 {
			side, v = "r", "R"
		}
		f.step(t, fmt.Sprintf("%s k%d %s%d@%d", side, i, v, i, ts))
		if side == "l" {
			want = append(want, fmt.Sprintf("L%d NULL k%d @%d", i, i, ts))
		} else {
			want = append(want, fmt.Sprintf("NULL R%d k%d @%d", i, i, ts))
		}
	}
	// Every record before it closes at once; this one stays open.
	f.got = nil
	f.step(t, "l end E@100000")
	if strings.Join(f.got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %d rows, want %d; first difference:\n%s", len(f.got), len(want), firstDiff(f.got, want))
	}
	if got := f.j.Store.(*OrderedMemStore).Len(); got != 2 {
		t.Errorf("%d keys left in the state, want the open record's 2 entries", got)
	}
}

func firstDiff(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("row %d: %q, want %q", i, got[i], want[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d", len(got), len(want))
}

// TestStreamStreamJoinStreamTimeSurvives: the stream time is written at
// Flush and read back by a join over the same store (a restarted task),
// so a record late before the restart is late after it; Recover reads it
// again rather than keep what the failed batch moved it to.
func TestStreamStreamJoinStreamTimeSurvives(t *testing.T) {
	store := NewOrderedMemStore()
	w := within{10, 10, 0, "left"}
	f := newWindowFixture(t, w, store, nil)
	f.step(t, "l x A@100")
	if err := f.j.Flush(nil); err != nil {
		t.Fatal(err)
	}
	g := newWindowFixture(t, w, store, nil)
	g.offsets = f.offsets
	g.step(t, "r x a@50")
	if g.j.Metrics.Late.Load() != 1 || len(g.got) != 0 {
		t.Errorf("after a restart: %d late, rows %q; want a late record", g.j.Metrics.Late.Load(), g.got)
	}
	// A batch that moved the stream time to 1000 fails: Recover reads
	// 100 back, so c at 95 is on time (at 1000 it would be late).
	g.step(t, "l y B@1000")
	g.j.Recover()
	g.step(t, "r z c@95")
	if n := g.j.Metrics.Late.Load(); n != 1 {
		t.Errorf("after Recover: %d late records, want 1: the failed batch's stream time was kept", n)
	}
}

// TestStreamStreamJoinStateStopsGrowing: over a real Pebble task store,
// committed as a task commits, the join's state holds only the open
// windows: fed at a steady rate far past its window, its bytes level off
// instead of growing with the input — the retention of window + grace
// for an outer join, whose time index closes each record when its window
// does; at most about twice that for an inner join, whose sweeps delete
// the closed records once a retention.
func TestStreamStreamJoinStateStopsGrowing(t *testing.T) {
	for _, tp := range []string{"full", "inner"} {
		t.Run(tp, func(t *testing.T) { testStateStopsGrowing(t, tp) })
	}
}

func testStateStopsGrowing(t *testing.T, tp string) {
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	l, err := embedded.Open(embedded.Options{Dir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	m, err := state.NewManager(state.Options{Log: l, DB: l.DB(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	store, err := m.Open(ctx, state.Spec{Name: "ss/0"})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	// WITHIN 1 SECOND GRACE PERIOD 500 MILLISECONDS, FULL: both sides
	// kept, every record closes 1.5 s of stream time after its ROWTIME.
	f := newWindowFixture(t, within{1000, 1000, 500, tp}, store, nil)
	f.j.Output = func(types.Row, int64, Emit) error { return nil }
	var indexKeys int64
	stateBytes := func() (keys, size int64) {
		err := m.Reader("ss/0").Scan(nil, nil, func(k, v []byte) bool {
			switch k[0] {
			case 'r':
				keys++
			case 'e':
				indexKeys++
			}
			size += int64(len(k) + len(v))
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		return keys, size
	}
	// 75 keys, a record every 10 ms, the sides alternating: 150 records
	// in a window and its grace, each meeting the other side's records
	// of its key 0.75 s before and after it. Measured every 10 s of event
	// time, 60 s in all: 40 times the retention.
	var sizes []int64
	for i := range 6000 {
		ts := int64(i) * 10
		side := "l"
		if i%2 == 1 {
			side = "r"
		}
		f.step(t, fmt.Sprintf("%s k%d v%d@%d", side, i%75, i, ts))
		if i%1000 == 999 {
			if err := f.j.Flush(nil); err != nil {
				t.Fatal(err)
			}
			if err := store.Commit(ctx, log.Txn{Group: "g"}); err != nil {
				t.Fatal(err)
			}
		}
		if i%1000 == 999 {
			keys, size := stateBytes()
			// Records of the last 1.5 s (both sides) stay: 150 of the
			// 1,000 each 10 s bring; an inner join's until a sweep
			// comes by, which starts 1.5 s after the last one did.
			if want := int64(160); tp == "full" && keys > want || tp == "inner" && keys > 3*want {
				t.Fatalf("at %d s: %d records in the state, want at most the open windows' ~150 (%s)", ts/1000, keys, tp)
			}
			sizes = append(sizes, size)
		}
	}
	if tp == "inner" && indexKeys != 0 {
		t.Errorf("an inner join wrote %d time index entries", indexKeys)
	}
	if tp == "inner" {
		// Sweeps make the state saw-toothed: no growth between the
		// first half and the second.
		var a, b int64
		for i, s := range sizes[1:] {
			if i < len(sizes)/2 {
				a = max(a, s)
			} else {
				b = max(b, s)
			}
		}
		if b > a*11/10 {
			t.Errorf("state bytes grew from %d to %d over the run (%v): windows are not expiring", a, b, sizes)
		}
		return
	}
	first, last := sizes[1], sizes[len(sizes)-1]
	for _, s := range sizes[1:] {
		first = min(first, s)
		last = max(last, s)
	}
	if last > first*11/10 {
		t.Errorf("state bytes grew from %d to %d over the run (%v): windows are not expiring", first, last, sizes)
	}
}

// TestOrderedMemStore: ordered scans within bounds, replacement and
// deletion, and the size it counts.
func TestOrderedMemStore(t *testing.T) {
	s := NewOrderedMemStore()
	for _, k := range []string{"b", "a", "c", "ab"} {
		if err := s.Put([]byte(k), []byte("v"+k)); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Put([]byte("a"), []byte("x"))
	_ = s.Delete([]byte("c"))
	var got []string
	_ = s.Scan([]byte("a"), []byte("c"), func(k, v []byte) bool { got = append(got, string(k)+"="+string(v)); return true })
	if strings.Join(got, ",") != "a=x,ab=vab,b=vb" {
		t.Errorf("scan [a, c): %v", got)
	}
	got = nil
	_ = s.Scan([]byte("ab"), nil, func(k, v []byte) bool { got = append(got, string(k)); return len(got) < 1 })
	if strings.Join(got, ",") != "ab" {
		t.Errorf("scan [ab, end) stopped after one: %v", got)
	}
	if v, ok, _ := s.Get([]byte("a")); !ok || string(v) != "x" {
		t.Errorf("get a: %q %v", v, ok)
	}
	if s.Len() != 3 || s.Bytes() != len("a")+len("x")+len("ab")+len("vab")+len("b")+len("vb") {
		t.Errorf("len %d, bytes %d", s.Len(), s.Bytes())
	}
}

// TestStreamStreamJoinRowErrors: a pair whose output fails is the
// record's error, but the record's other pairs come out, the record is
// kept, and neither side of the failed pair comes out unmatched later.
func TestStreamStreamJoinRowErrors(t *testing.T) {
	f := newWindowFixture(t, within{10, 10, 0, "full"}, NewOrderedMemStore(), nil)
	out := f.j.Output
	f.j.Output = func(row types.Row, ts int64, emit Emit) error {
		if !row[1].IsNull() && !row[6].IsNull() && row[6].Str() == "bad" {
			return fmt.Errorf("cannot encode")
		}
		return out(row, ts, emit)
	}
	f.step(t, "r x bad@1")
	f.step(t, "r x good@2")
	rec := log.Record{Key: []byte("x"), Value: []byte(`{"V":"A"}`), Timestamp: 3, Offset: 100}
	if err := f.j.ProcessInput(0, &rec, nil); err == nil || !strings.Contains(err.Error(), "cannot encode") {
		t.Fatalf("the failed pair's error: %v", err)
	}
	// A is kept: it meets b later; nothing closes unmatched.
	f.step(t, "r x b@4")
	f.step(t, "l z Z@100")
	want := []string{"A good x @3", "A b x @4"}
	if strings.Join(f.got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(f.got, "\n"), strings.Join(want, "\n"))
	}
}

// TestStreamStreamJoinInterrupted: a record whose processing stops
// halfway (here a panic while it closes windows, which its task turns into
// a skipped record) leaves no window unclosed: the next record reads the
// time index again and closes them.
func TestStreamStreamJoinInterrupted(t *testing.T) {
	f := newWindowFixture(t, within{0, 0, 50, "full"}, NewOrderedMemStore(), nil)
	out := f.j.Output
	panics := 1
	f.j.Output = func(row types.Row, ts int64, emit Emit) error {
		if panics > 0 {
			panics--
			panic("boom")
		}
		return out(row, ts, emit)
	}
	f.step(t, "l x A@0")
	f.step(t, "l y B@1")
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("no panic")
			}
		}()
		f.step(t, "l z C@100")
	}()
	f.step(t, "l w D@200")
	want := []string{"A NULL x @0", "B NULL y @1"}
	if strings.Join(f.got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(f.got, "\n"), strings.Join(want, "\n"))
	}
}

// TestStreamStreamJoinReusedRow: the join decodes each record into a row
// it reuses, and each stored record a record meets into the same pair
// row, so a column a record lacks must come out NULL rather than the last
// record's, and a joined row's values must not share the record's bytes,
// which the reader reuses once the record is processed.
func TestStreamStreamJoinReusedRow(t *testing.T) {
	f := newWindowFixture(t, within{before: 10, after: 10, grace: 0, tp: "inner"}, NewOrderedMemStore(), nil)
	var kept []types.Value
	f.j.Output = func(row types.Row, ts int64, _ Emit) error {
		kept = append(kept, row[1], row[6])
		return nil
	}
	feed := func(input int, key, value string, ts, offset int64) {
		t.Helper()
		rec := log.Record{Key: []byte(key), Value: []byte(value), Timestamp: ts, Offset: offset}
		if err := f.j.ProcessInput(input, &rec, nil); err != nil {
			t.Fatal(err)
		}
		// The reader reuses a record's bytes once it is processed.
		for i := range rec.Value {
			rec.Value[i] = 'x'
		}
	}
	feed(0, "k", `{"V":"a"}`, 1, 0)
	feed(0, "k", `{}`, 2, 1)
	feed(1, "k", `{"W":"w"}`, 3, 0)
	feed(1, "k", `{}`, 4, 1)
	feed(0, "k", `{"V":"b"}`, 5, 2)
	var got []string
	for _, v := range kept {
		if v.IsNull() {
			got = append(got, "NULL")
		} else {
			got = append(got, v.Str())
		}
	}
	// Pairs (V, W): the right record at 3 meets the left ones at 1 and 2,
	// the one at 4 (W missing) meets them too; the left one at 5 meets
	// both right ones.
	want := []string{"a", "w", "NULL", "w", "a", "NULL", "NULL", "NULL", "b", "w", "b", "NULL"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %v, want %v", got, want)
	}
}

// valueMod is a test condition on a column holding "v<n>": false when n
// is a multiple of 3, an error when of 7, NULL for NULL, true otherwise.
type valueMod struct{ col int }

func (c valueMod) Type() types.Type { return types.Boolean }
func (c valueMod) String() string   { return fmt.Sprintf("mod($%d)", c.col) }
func (c valueMod) Eval(row types.Row) (types.Value, error) {
	if row[c.col].IsNull() {
		return types.NullValue, nil
	}
	var n int
	if _, err := fmt.Sscanf(row[c.col].Str(), "v%d", &n); err != nil {
		return types.NullValue, err
	}
	switch {
	case n%7 == 0:
		return types.NullValue, fmt.Errorf("v%d fails", n)
	case n%3 == 0:
		return types.NewBoolean(false), nil
	}
	return types.NewBoolean(true), nil
}

// TestStreamStreamJoinSideFilter: a side's Filter (an inner join's WHERE
// over that side's columns) changes no row that passes the WHERE: a
// random mix of records, out of order within the grace, some late, over
// a few keys, gives the same rows that pass it with the Filter as
// without, with and without the index; and the records it drops are not
// stored, while those it fails on are.
func TestStreamStreamJoinSideFilter(t *testing.T) {
	for _, side := range []int{0, 1} {
		col := 1 // V, the left's value; W, the right's, is at 6
		if side == 1 {
			col = 6
		}
		where := valueMod{col: col}
		for seed := range uint64(4) {
			rng := rand.New(rand.NewPCG(seed, 11))
			var steps []string
			now := int64(0)
			for i := range 400 {
				now += rng.Int64N(6)
				ts := now - rng.Int64N(40)
				s := "l"
				if rng.IntN(2) > 0 {
					s = "r"
				}
				steps = append(steps, fmt.Sprintf("%s k%d v%d@%d", s, rng.IntN(5), i, ts))
			}
			run := func(filter bool, budget int) ([]string, int) {
				store := NewOrderedMemStore()
				f := newWindowFixture(t, within{15, 8, 1 << 40, "inner"}, store, nil)
				f.j.IndexBytes = budget
				var rows []string
				out := f.j.Output
				f.j.Output = func(row types.Row, ts int64, emit Emit) error {
					// The WHERE above the join, whose failures are
					// reported (here: listed) for each pair.
					v, err := where.Eval(row)
					if err != nil {
						f.got = append(f.got, fmt.Sprintf("failed: %v @%d", err, ts))
						return nil
					}
					if v.IsNull() || !v.Bool() {
						return nil
					}
					return out(row, ts, emit)
				}
				if filter {
					f.j.Spec.Sides[side].Filter = where
				}
				for _, st := range steps {
					f.step(t, st)
				}
				rows = f.got
				return rows, store.Len()
			}
			want, wantLen := run(false, -1)
			if len(want) < 30 {
				t.Fatalf("side %d seed %d: only %d rows: the workload tests little", side, seed, len(want))
			}
			for _, budget := range []int{-1, 0, 2000} {
				got, n := run(true, budget)
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("side %d seed %d index %d: %d rows differ from the %d without the filter:\n%s", side, seed, budget,
						len(got), len(want), firstDiff(got, want))
				}
				// A third of a side's values are dropped (n%3, not n%7),
				// each an entry and its time index entry fewer.
				if n >= wantLen-40 {
					t.Errorf("side %d seed %d index %d: the store holds %d keys with the filter, %d without", side, seed, budget, n, wantLen)
				}
			}
		}
	}
}

// TestStreamStreamJoinInnerOldTimeIndex: an inner join's records stored
// with a time index entry (as versions before the sweeps wrote them)
// still meet what they should and leave the state through that entry
// when their windows close, emitting nothing; records stored from then
// on have no entry.
func TestStreamStreamJoinInnerOldTimeIndex(t *testing.T) {
	store := NewOrderedMemStore()
	w := within{10, 10, 0, "inner"}
	old := newWindowFixture(t, w, store, nil)
	// The earlier versions' store: every record with its index entry, as
	// an outer side's are still written.
	old.j.Spec.Outer = [2]bool{true, true}
	for _, st := range []string{"l x A@0", "l y U@1", "r x a@5"} {
		old.step(t, st)
	}
	if err := old.j.Flush(nil); err != nil {
		t.Fatal(err)
	}
	count := func() (recs, index int) {
		_ = store.Scan(nil, nil, func(k, _ []byte) bool {
			switch k[0] {
			case 'r':
				recs++
			case 'e':
				index++
			}
			return true
		})
		return recs, index
	}
	if r, e := count(); r != 3 || e != 3 {
		t.Fatalf("the old store: %d records, %d index entries; want 3 and 3", r, e)
	}
	f := newWindowFixture(t, w, store, nil)
	f.offsets = old.offsets
	for _, st := range []string{"r y u@8", "l z Z@40", "r z z@41"} {
		f.step(t, st)
	}
	if want := "U u y @8\nZ z z @41"; strings.Join(f.got, "\n") != want {
		t.Errorf("rows:\n%s\nwant\n%s", strings.Join(f.got, "\n"), want)
	}
	// A, U, a and u have closed (below 40 - 10); Z and z are stored
	// without index entries.
	if r, e := count(); r != 2 || e != 0 {
		t.Errorf("after the windows closed: %d records, %d index entries; want 2 and 0", r, e)
	}
}

// TestStreamStreamJoinKeyBytes: a side that reads a repartition topic
// (Restore, KeyBytes) finds its partners by the join key its record
// carries as written, not by serializing the key it computes again; a
// record without one (a null key, or a repartition of an older version)
// falls back to the computed key. The written key here says "x" where
// the record's own key, restored from its header, says "y", which cannot
// happen in a query but shows which of the two the join used.
func TestStreamStreamJoinKeyBytes(t *testing.T) {
	f := newWindowFixture(t, within{10, 10, 1 << 40, "left"}, NewOrderedMemStore(), nil)
	f.j.Spec.Sides[1].Restore = RestoreKey
	f.j.Spec.Sides[1].KeyBytes = true
	f.step(t, "l x A@100")
	f.step(t, "l y B@100")
	right := func(written []byte, own string, w string, off int64) {
		rec := log.Record{Timestamp: 101, Offset: off, Key: written, Value: fmt.Appendf(nil, `{"W":%q}`, w),
			Headers: []log.Header{{Key: RepartitionedKey, Value: []byte(own)}}}
		if err := f.j.ProcessInput(1, &rec, nil); err != nil {
			t.Fatal(err)
		}
	}
	right([]byte("x"), "y", "a", 0)
	right(nil, "y", "b", 1)
	// The joined row's key column is the computed key (the own key's).
	want := []string{"A a y @101", "B b y @101"}
	if strings.Join(f.got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(f.got, "\n"), strings.Join(want, "\n"))
	}
}

// sinkFixture is the windowFixture's join writing to a JoinSink that
// projects V, W and the key into a record of JSON value, as a CREATE
// STREAM AS SELECT over the join does; out collects its records.
func sinkFixture(t *testing.T) (f *windowFixture, out *[]log.ProduceRecord, emit Emit) {
	t.Helper()
	f = newWindowFixture(t, within{before: 10, after: 10, grace: 0, tp: "left"}, NewOrderedMemStore(), nil)
	cols := []types.Column{{Name: "K", Type: types.String, Key: true}, {Name: "V", Type: types.String}, {Name: "W", Type: types.String}}
	enc, err := NewEncoder(cols, "KAFKA", "JSON", serde.Props{})
	if err != nil {
		t.Fatal(err)
	}
	pipe := &Pipeline{TimeIndex: 11, Project: []expr.Expr{
		&expr.Column{Index: 10, Name: "K", T: types.String},
		&expr.Column{Index: 1, Name: "V", T: types.String},
		&expr.Column{Index: 6, Name: "W", T: types.String},
	}}
	js := &JoinSink{Pipeline: pipe, Encoder: enc, Topic: "out"}
	f.j.Output, f.j.Sink = js.Output, js
	out = new([]log.ProduceRecord)
	return f, out, func(pr log.ProduceRecord) { *out = append(*out, pr) }
}

// feedSink feeds a record to the sink fixture's join, then writes over
// its bytes, as a reader that reuses them may: the join decodes its
// strings as views of them (StreamStreamJoin.Sink), and nothing it emits
// or keeps may read them afterwards.
func feedSink(t *testing.T, f *windowFixture, emit Emit, input int, key, value string, ts int64) {
	t.Helper()
	rec := log.Record{Key: []byte(key), Value: []byte(value), Timestamp: ts, Offset: f.offsets[input]}
	f.offsets[input]++
	if err := f.j.ProcessInput(input, &rec, emit); err != nil {
		t.Fatal(err)
	}
	for i := range rec.Value {
		rec.Value[i] = 'x'
	}
	for i := range rec.Key {
		rec.Key[i] = 'x'
	}
}

// joinSinkRecords renders records as "key value @ts".
func joinSinkRecords(recs []log.ProduceRecord) []string {
	var s []string
	for _, pr := range recs {
		s = append(s, fmt.Sprintf("%s %s @%d", pr.Record.Key, pr.Record.Value, pr.Record.Timestamp))
	}
	return s
}

// TestStreamStreamJoinSink: a join writing to a JoinSink emits the rows
// it would emit to any output, its records' values intact until the
// commit after their batch's flush, when the sink reuses their bytes;
// after a failed commit (Recover) it reuses none of them.
func TestStreamStreamJoinSink(t *testing.T) {
	f, out, emit := sinkFixture(t)
	feedSink(t, f, emit, 0, "k", `{"V":"left one, long enough to matter"}`, 1)
	feedSink(t, f, emit, 1, "k", `{"W":"w1"}`, 2)
	feedSink(t, f, emit, 1, "k", `{"W":"w2"}`, 3)
	feedSink(t, f, emit, 0, "j", `{"V":"alone"}`, 4)
	first := []string{
		`k {"V":"left one, long enough to matter","W":"w1"} @2`,
		`k {"V":"left one, long enough to matter","W":"w2"} @3`,
	}
	if got := joinSinkRecords(*out); strings.Join(got, "\n") != strings.Join(first, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(first, "\n"))
	}
	batch := *out
	if err := f.j.Flush(emit); err != nil {
		t.Fatal(err)
	}
	if got := joinSinkRecords(batch); strings.Join(got, "\n") != strings.Join(first, "\n") {
		t.Fatalf("the flush changed the batch's records: %s", strings.Join(got, "\n"))
	}
	// The commit went through: the next batch's records reuse the
	// chunk of the last one's.
	*out = nil
	feedSink(t, f, emit, 1, "k", `{"W":"w3"}`, 5)
	if len(*out) != 1 || &(*out)[0].Record.Value[0] != &batch[0].Record.Value[0] {
		t.Fatalf("the batch after a commit did not reuse its bytes: %v", joinSinkRecords(*out))
	}
	if got, want := joinSinkRecords(*out), `k {"V":"left one, long enough to matter","W":"w3"} @5`; len(got) != 1 || got[0] != want {
		t.Fatalf("got %v, want %s", got, want)
	}
	// A failed commit: the records it held are left to the collector.
	batch = *out
	if err := f.j.Flush(emit); err != nil {
		t.Fatal(err)
	}
	f.j.Recover()
	*out = nil
	feedSink(t, f, emit, 1, "k", `{"W":"w4"}`, 6)
	if got, want := joinSinkRecords(batch), `k {"V":"left one, long enough to matter","W":"w3"} @5`; got[0] != want {
		t.Fatalf("a record of a failed commit was written over: %s", got[0])
	}
	// The left record "alone" (j, at 4) closes at 4+10+0 < 15 unmatched.
	feedSink(t, f, emit, 1, "z", `{"W":"later"}`, 15)
	want := []string{
		`k {"V":"left one, long enough to matter","W":"w4"} @6`,
		`j {"V":"alone","W":null} @4`,
	}
	if got := joinSinkRecords(*out); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestOutBufEnsure: a chunk without n bytes free is left for the next,
// so that a value of up to n bytes is appended without growing it.
func TestOutBufEnsure(t *testing.T) {
	var o outBuf
	dst := o.room()
	first := o.take(append(dst, make([]byte, outChunk-300)...), len(dst))
	o.ensure(1000)
	dst = o.room()
	if cap(dst)-len(dst) < 1000 || &dst[:1][0] == &first[0] {
		t.Fatalf("%d bytes free after ensure(1000), in the same chunk: %v", cap(dst)-len(dst), &dst[:1][0] == &first[0])
	}
	o.take(append(dst, make([]byte, 1000)...), len(dst))
	if cap(o.b) != outChunk {
		t.Fatalf("the value grew its chunk to %d bytes", cap(o.b))
	}
	o.ensure(10)
	if dst = o.room(); len(dst) != 1000 {
		t.Fatalf("ensure left a chunk with room: %d bytes used", len(dst))
	}
}
