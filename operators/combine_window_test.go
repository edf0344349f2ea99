package operators

import (
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/operators/window"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// windowModel is one side of TestCombineWindowedModel: a first stage (one
// input partition) and the second stages of the repartition topic's
// partitions, each with what it emitted.
type windowModel struct {
	first *Repartition
	aggs  []*Aggregator
	// queues are each partition's records not yet read.
	queues [][]log.ProduceRecord
	// last is each (key, window start)'s last change; final every
	// change a partition emitted, in order (EMIT FINAL's records).
	last  map[string]string
	final [][]string
	// partials and rows count the records of each layout written.
	partials, rows int
}

func newWindowModel(f *combineFixture, spec *AggregateSpec, parts int, combine bool, bound int) *windowModel {
	m := &windowModel{first: &Repartition{Grouper: f.grouper, Topic: "rp"}, last: map[string]string{},
		final: make([][]string, parts), queues: make([][]log.ProduceRecord, parts)}
	if combine {
		m.first.Combine, m.first.Window, m.first.CombineBytes = f.funcs, spec.Window, bound
	}
	for p := range parts {
		m.aggs = append(m.aggs, &Aggregator{
			Spec: spec, Store: state.NewMemStore(), Metrics: &Metrics{}, Input: f.grouper.Codec.Reader(),
			EmitCacheBytes: 1 << 20,
			Output: func(o AggOutput, _ Emit) error {
				s := fmt.Sprintf("%s [%d,%d) %s@%d", formatKey(o.Key), o.Window.Start, o.Window.End, formatKey(o.Row), o.Time)
				m.last[fmt.Sprintf("%s/%d", formatKey(o.Key), o.Window.Start)] = s
				m.final[p] = append(m.final[p], s)
				return nil
			},
		})
	}
	return m
}

// write is the first stage's emit: a record goes to its key's partition.
func (m *windowModel) write(pr log.ProduceRecord) {
	if isPartial(pr.Value) {
		m.partials++
	} else {
		m.rows++
	}
	h := fnv.New32a()
	h.Write(pr.Key)
	p := int(h.Sum32() % uint32(len(m.queues)))
	// The record's value is the stage's own (a new slice per record).
	m.queues[p] = append(m.queues[p], pr)
}

// read has each partition's second stage read what is queued, in batches
// that end where rng says.
func (m *windowModel) read(t *testing.T, rng *rand.Rand) {
	t.Helper()
	for p, a := range m.aggs {
		for i := range m.queues[p] {
			if err := a.Process(&m.queues[p][i].Record, func(log.ProduceRecord) {}); err != nil {
				t.Fatal(err)
			}
			if rng.IntN(8) == 0 {
				if err := a.Flush(func(log.ProduceRecord) {}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := a.Flush(func(log.ProduceRecord) {}); err != nil {
			t.Fatal(err)
		}
		m.queues[p] = m.queues[p][:0]
	}
}

func (m *windowModel) late() int64 {
	var n int64
	for _, a := range m.aggs {
		n += a.Metrics.Late.Load()
	}
	return n
}

// TestCombineWindowedModel feeds one input partition's random rows, out
// of order and some late, through a windowed aggregation whose first
// stage writes a record per row and through one whose first stage
// combines them per group and window, with tumbling and hopping windows,
// grace periods from none to more than the disorder, retention, EMIT
// CHANGES and EMIT FINAL, one to three partitions in the repartition
// topic, and second stages whose batches end anywhere. The combining
// first stage also fails batches half-way (Recover, then the batch
// again: its stream time starts over). The results must be the same: the
// last change of every window (EMIT CHANGES), every record EMIT FINAL
// emits, in order, per partition, and the count of late rows.
func TestCombineWindowedModel(t *testing.T) {
	specs := []window.Spec{
		{Kind: window.Tumbling, Size: 10 * time.Millisecond},
		{Kind: window.Hopping, Size: 10 * time.Millisecond, Advance: 2 * time.Millisecond},
		{Kind: window.Hopping, Size: 10 * time.Millisecond, Advance: 3 * time.Millisecond},
	}
	graces := []time.Duration{0, 3 * time.Millisecond, 12 * time.Millisecond, -1}
	var raw, combinedRecs, rowRecs int
	for seed := range uint64(48) {
		ws := specs[seed%3]
		if g := graces[(seed/3)%4]; g >= 0 {
			ws.Grace, ws.HasGrace = g, true
			if seed%5 == 0 {
				ws.Retention = ws.Size + g + 7*time.Millisecond
			}
		}
		final := (seed/12)%2 == 1
		parts := 1 + int(seed/2%3)
		grace := "default"
		if ws.HasGrace {
			grace = ws.Grace.String()
		}
		name := fmt.Sprintf("%s/grace=%s/final=%v/parts=%d/seed=%d", ws.Kind, grace, final, parts, seed)
		t.Run(name, func(t *testing.T) {
			if err := ws.Validate(); err != nil {
				t.Fatal(err)
			}
			f := newCombineFixture(t)
			col := func(i int, ty types.Type) expr.Expr { return &expr.Column{Index: i, T: ty} }
			spec := &AggregateSpec{Funcs: f.funcs, Codec: f.grouper.Codec, Window: &ws, Final: final, AddsOnly: true,
				Project: []expr.Expr{col(0, types.Bigint), col(1, types.Bigint), col(2, types.Bigint), col(3, types.Bigint),
					col(4, types.Bigint), col(5, types.Bigint), col(6, types.String)}}
			bound := 0
			if seed%4 == 3 {
				bound = 900 // partials written mid-batch too
			}
			want := newWindowModel(f, spec, parts, false, 0)
			got := newWindowModel(f, spec, parts, true, bound)
			rng := rand.New(rand.NewPCG(seed, 7))
			readRng := rand.New(rand.NewPCG(seed, 8))
			base := int64(0)
			for range 40 {
				n := 1 + rng.IntN(120)
				recs := make([]log.Record, n)
				for i := range recs {
					// Time mostly moves on, with rows up to 20 ms behind
					// (late for a small grace) and a few before the epoch.
					base += int64(rng.IntN(3))
					ts := base - int64(rng.IntN(4))
					if rng.IntN(6) == 0 {
						ts = base - int64(rng.IntN(20))
					}
					if rng.IntN(200) == 0 {
						ts = -1 - int64(rng.IntN(5))
					}
					// Few keys, so that a batch has several rows of a
					// group; each record its own bytes.
					v := "null"
					if rng.IntN(5) > 0 {
						v = fmt.Sprint(rng.IntN(2000) - 1000)
					}
					value := fmt.Sprintf(`{"K":%d,"V":%s,"S":"%c"}`, rng.IntN(5), v, 'a'+rng.IntN(26))
					recs[i] = log.Record{Value: []byte(value), Timestamp: ts}
				}
				for i := range recs {
					if err := want.first.Process(&recs[i], want.write); err != nil {
						t.Fatal(err)
					}
				}
				if err := want.first.Flush(want.write); err != nil {
					t.Fatal(err)
				}
				if rng.IntN(5) == 0 {
					// A batch that fails half-way: what it wrote is
					// not committed, and it is processed again.
					for i := range recs[:rng.IntN(n)] {
						if err := got.first.Process(&recs[i], func(log.ProduceRecord) {}); err != nil {
							t.Fatal(err)
						}
					}
					got.first.Recover()
				}
				for i := range recs {
					if err := got.first.Process(&recs[i], got.write); err != nil {
						t.Fatal(err)
					}
				}
				if err := got.first.Flush(got.write); err != nil {
					t.Fatal(err)
				}
				want.read(t, readRng)
				got.read(t, readRng)
			}
			if len(want.last) == 0 && !(final && !ws.HasGrace) {
				t.Fatal("no window was emitted")
			}
			if d := mapDiff(want.last, got.last); d != "" {
				t.Fatalf("windows differ (rows, then combined):\n%s", d)
			}
			if final {
				for p := range parts {
					if i := firstStringDiff(want.final[p], got.final[p]); i >= 0 {
						t.Fatalf("partition %d: EMIT FINAL's record %d (of %d, %d) is\n%s from rows, and\n%s combined",
							p, i, len(want.final[p]), len(got.final[p]), at(want.final[p], i), at(got.final[p], i))
					}
				}
			}
			if w, g := want.late(), got.late(); w != g {
				t.Fatalf("late rows: %d from rows, %d combined", w, g)
			}
			if got.partials == 0 {
				t.Fatal("the combining stage wrote no partials")
			}
			raw += got.rows
			combinedRecs += got.rows + got.partials
			rowRecs += want.rows
		})
	}
	if raw == 0 {
		t.Fatal("no row was written as a row: the late path went untested")
	}
	t.Logf("%d records from rows, %d combined (%d of them rows)", rowRecs, combinedRecs, raw)
}

// mapDiff lists the first few keys whose values differ in a and b.
func mapDiff(a, b map[string]string) string {
	keys := slices.Sorted(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	var d []string
	for _, k := range keys {
		if a[k] != b[k] && len(d) < 6 {
			d = append(d, fmt.Sprintf("%s: %q / %q", k, a[k], b[k]))
		}
	}
	return strings.Join(d, "\n")
}

// firstStringDiff is the index of the first element where a and b differ, or
// -1 when they are equal.
func firstStringDiff(a, b []string) int {
	for i := range max(len(a), len(b)) {
		if at(a, i) != at(b, i) {
			return i
		}
	}
	return -1
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "(none)"
}

// TestWindowPartialRecord checks the 0x04 layout's round trip through the
// repartition codec, and that a corrupt one is an error.
func TestWindowPartialRecord(t *testing.T) {
	f := newCombineFixture(t)
	c, err := newCombiner(f.funcs, 0)
	if err != nil {
		t.Fatal(err)
	}
	c.windowed = true
	in := GroupInput{KeyBytes: []byte("k"), Time: 40, Args: [][]types.Value{nil, {types.NewBigint(3)}, {types.NewBigint(3)}, {types.NewString("x")}}}
	if err := c.foldWindows(&in, []window.Window{{Start: 36, End: 46}}); err != nil {
		t.Fatal(err)
	}
	var recs []log.Record
	c.flush(func(g *partialGroup) { recs = append(recs, windowPartialRecord(g)) })
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	got, ok, err := f.grouper.Codec.Input(&recs[0])
	if err != nil || !ok {
		t.Fatalf("Input = %v, %v", ok, err)
	}
	if !got.InWindow || got.WindowStart != 36 || got.LastRows != 1 || got.Time != 40 || len(got.Partials) == 0 {
		t.Fatalf("Input = %+v, want window 36, 1 last row, time 40", got)
	}
	bad := log.Record{Key: []byte("k"), Value: []byte{groupValueWindowPartial, 0x80}}
	if _, _, err := f.grouper.Codec.Input(&bad); err == nil {
		t.Fatal("a corrupt window partial decoded")
	}
}

// TestCombinerWindowsAcrossFlushes: a windowed combiner's partials, found
// by their key and then their window's start in the key's list, are per
// flush what a map keyed by (key, window) makes (counts, times, last
// rows, the order of their times, first made first on a tie), rows out
// of time order included, and a flush's reused accumulators start again
// from nothing.
func TestCombinerWindowsAcrossFlushes(t *testing.T) {
	type part struct {
		key         string
		start, time int64
		last, count int64
	}
	rng := rand.New(rand.NewPCG(5, 8))
	c, err := newCombiner(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	c.windowed = true
	var got []part
	emit := func(g *partialGroup) {
		got = append(got, part{string(g.key), g.start, g.time, g.last, g.accs[0].Result().Int()})
	}
	for round := range 50 {
		var want []part
		at := map[[2]string]int{}
		got = got[:0]
		for range rng.IntN(60) {
			key := fmt.Sprint("k", rng.IntN(4))
			ts := int64(round*20 + rng.IntN(30))
			// Hopping windows of 10 advancing by 2: the five that
			// contain ts, by start.
			var wins []window.Window
			for s := ts - ts%2 - 8; s <= ts; s += 2 {
				wins = append(wins, window.Window{Start: s, End: s + 10})
			}
			for n, w := range wins {
				id := [2]string{key, fmt.Sprint(w.Start)}
				i, ok := at[id]
				if !ok {
					i = len(want)
					at[id] = i
					want = append(want, part{key: key, start: w.Start, time: ts})
				}
				p := &want[i]
				p.time, p.count = max(p.time, ts), p.count+1
				if n == len(wins)-1 {
					p.last++
				}
			}
			in := GroupInput{KeyBytes: []byte(key), Time: ts}
			if err := c.foldWindows(&in, wins); err != nil {
				t.Fatal(err)
			}
		}
		slices.SortStableFunc(want, func(a, b part) int { return int(a.time - b.time) })
		// What the stage's flush is about to write, for its task to
		// make room for (flushSizer).
		if n := (&Repartition{comb: c}).flushOutput(); n != len(want) {
			t.Fatalf("round %d: flushOutput %d, want %d partials", round, n, len(want))
		}
		c.flush(emit)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: partials\n%v\nwant\n%v", round, got, want)
		}
	}
}
