package operators

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/agg"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/operators/window"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// combineFixture is a stream aggregation of JSON records {K, V, S}:
// GROUP BY K with COUNT(*), COUNT(V), MIN(V), MAX(S), every function one
// that combines. Its records are written into one buffer that the next
// record overwrites, so that a partial that kept a view of a record's
// bytes (a MAX of strings) would change under it.
type combineFixture struct {
	grouper *Grouper
	funcs   []agg.Func
	buf     []byte
}

func newCombineFixture(t testing.TB) *combineFixture {
	t.Helper()
	cols := []types.Column{{Name: "K", Type: types.Bigint}, {Name: "V", Type: types.Bigint}, {Name: "S", Type: types.String}}
	dec, err := NewDecoder(DecoderSpec{Columns: cols, KeyFormat: "NONE", ValueFormat: "JSON"})
	if err != nil {
		t.Fatal(err)
	}
	col := func(i int) expr.Expr { return &expr.Column{Index: i, Name: cols[i].Name, T: cols[i].Type} }
	resolve := func(name string, arg ...types.Type) agg.Func {
		f, err := agg.Resolve(name, arg, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	f := &combineFixture{funcs: []agg.Func{resolve("COUNT"), resolve("COUNT", types.Bigint), resolve("MIN", types.Bigint), resolve("MAX", types.String)}}
	for _, fn := range f.funcs {
		if !agg.Combines(fn) {
			t.Fatalf("%s does not combine", fn.Name())
		}
	}
	argTypes := [][]types.Type{nil, {types.Bigint}, {types.Bigint}, {types.String}}
	codec, err := NewGroupCodec([]types.Type{types.Bigint}, argTypes)
	if err != nil {
		t.Fatal(err)
	}
	f.grouper = &Grouper{Decoder: dec, TimeIndex: len(cols), GroupBy: []expr.Expr{col(0)},
		Args: [][]expr.Expr{nil, {col(1)}, {col(1)}, {col(2)}}, Codec: codec}
	return f
}

// record writes row i of a seeded sequence into the fixture's buffer.
func (f *combineFixture) record(rng *rand.Rand, ts int64) log.Record {
	v := "null"
	if rng.IntN(5) > 0 {
		v = fmt.Sprint(rng.IntN(2000) - 1000)
	}
	s := strings.Repeat(string(rune('a'+rng.IntN(26))), 1+rng.IntN(4))
	f.buf = fmt.Appendf(f.buf[:0], `{"K":%d,"V":%s,"S":"%s"}`, rng.IntN(40), v, s)
	return log.Record{Value: f.buf, Timestamp: ts, Partition: 0}
}

// aggregator is the second stage: every change it emits is recorded in
// out by group, the last one winning.
func (f *combineFixture) aggregator(out map[int64]string) *Aggregator {
	project := []expr.Expr{&expr.Column{Index: 0, T: types.Bigint}, &expr.Column{Index: 1, T: types.Bigint},
		&expr.Column{Index: 2, T: types.Bigint}, &expr.Column{Index: 3, T: types.Bigint}, &expr.Column{Index: 4, T: types.String}}
	return &Aggregator{
		Spec:  &AggregateSpec{Funcs: f.funcs, Codec: f.grouper.Codec, Project: project, AddsOnly: true},
		Store: state.NewMemStore(), Metrics: &Metrics{}, Input: f.grouper.Codec.Reader(), EmitCacheBytes: 1 << 20,
		Output: func(o AggOutput, _ Emit) error {
			out[o.Key[0].Int()] = fmt.Sprintf("%v@%d", o.Row, o.Time)
			return nil
		},
	}
}

// TestCombineMatchesRows feeds the same batches of rows to an aggregation
// whose first stage writes a record per row and to one whose first stage
// combines them (with a bound small enough to write partials mid-batch
// too): the groups' final rows, and their timestamps, are the same, and
// the combining stage writes fewer records. The combining stage's second
// stage also reads records of the row layout, as a query's does after an
// upgrade: the first batches are written by a stage that does not
// combine.
func TestCombineMatchesRows(t *testing.T) {
	for _, bound := range []int{0, 600} {
		t.Run(fmt.Sprintf("bound=%d", bound), func(t *testing.T) {
			f := newCombineFixture(t)
			rows := &Repartition{Grouper: f.grouper, Topic: "rp"}
			comb := &Repartition{Grouper: f.grouper, Topic: "rp", Combine: f.funcs, CombineBytes: bound}
			wantOut, gotOut := map[int64]string{}, map[int64]string{}
			want, got := f.aggregator(wantOut), f.aggregator(gotOut)
			rng := rand.New(rand.NewPCG(1, uint64(bound)))
			var rowRecs, combRecs, partials int
			for batch := range 60 {
				var a, b []log.ProduceRecord
				emitA := func(pr log.ProduceRecord) { a = append(a, pr) }
				emitB := func(pr log.ProduceRecord) { b = append(b, pr) }
				first := comb
				if batch < 5 {
					first = rows // the stage before an upgrade
				}
				n := 1 + rng.IntN(300)
				for i := range n {
					// Times out of order, as a partition's may be.
					ts := int64(batch*1000 + rng.IntN(1500) + i%3)
					rec := f.record(rng, ts)
					if err := rows.Process(&rec, emitA); err != nil {
						t.Fatal(err)
					}
					if err := first.Process(&rec, emitB); err != nil {
						t.Fatal(err)
					}
				}
				if err := rows.Flush(emitA); err != nil {
					t.Fatal(err)
				}
				if err := first.Flush(emitB); err != nil {
					t.Fatal(err)
				}
				rowRecs += len(a)
				combRecs += len(b)
				for _, pr := range b {
					if isPartial(pr.Value) {
						partials++
					}
				}
				// The second stage reads the topic in its own batches.
				for _, in := range []struct {
					agg  *Aggregator
					recs []log.ProduceRecord
				}{{want, a}, {got, b}} {
					for i := range in.recs {
						if err := in.agg.Process(&in.recs[i].Record, func(log.ProduceRecord) {}); err != nil {
							t.Fatal(err)
						}
					}
					if err := in.agg.Flush(func(log.ProduceRecord) {}); err != nil {
						t.Fatal(err)
					}
				}
			}
			if len(wantOut) == 0 || !mapsEqual(wantOut, gotOut) {
				t.Fatalf("results differ:\nrows     %v\ncombined %v", wantOut, gotOut)
			}
			if partials == 0 || combRecs >= rowRecs {
				t.Fatalf("the combining stage wrote %d records (%d partials) for %d rows", combRecs, partials, rowRecs)
			}
			t.Logf("%d rows, %d records combined", rowRecs, combRecs)
		})
	}
}

func mapsEqual(a, b map[int64]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestCombineBounded checks that a batch of more groups than the bound
// holds is written out as it goes: the partials never hold much more
// than the bound, and every group is written.
func TestCombineBounded(t *testing.T) {
	f := newCombineFixture(t)
	const bound = 2000
	r := &Repartition{Grouper: f.grouper, Topic: "rp", Combine: f.funcs, CombineBytes: bound}
	var keys []string
	emit := func(pr log.ProduceRecord) { keys = append(keys, string(pr.Key)) }
	for i := range 5000 {
		f.buf = fmt.Appendf(f.buf[:0], `{"K":%d,"V":1,"S":"x"}`, i)
		rec := log.Record{Value: f.buf, Timestamp: int64(i)}
		if err := r.Process(&rec, emit); err != nil {
			t.Fatal(err)
		}
		if r.comb.bytes > bound+partialGroupBytes(16, len(f.funcs)+1) {
			t.Fatalf("after %d rows the partials hold %d bytes, bound %d", i+1, r.comb.bytes, bound)
		}
	}
	if len(keys) == 0 {
		t.Fatal("nothing was written before the flush")
	}
	if err := r.Flush(emit); err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	if len(slices.Compact(keys)) != 5000 {
		t.Fatalf("%d groups written, want 5000", len(keys))
	}
}

// TestCombineRecover checks that a replayed batch's partials are not
// written twice: Recover drops what the failed batch folded.
func TestCombineRecover(t *testing.T) {
	f := newCombineFixture(t)
	r := &Repartition{Grouper: f.grouper, Topic: "rp", Combine: f.funcs}
	rng := rand.New(rand.NewPCG(2, 2))
	for range 50 {
		rec := f.record(rng, 1)
		if err := r.Process(&rec, func(log.ProduceRecord) { t.Fatal("written before the flush") }); err != nil {
			t.Fatal(err)
		}
	}
	r.Recover()
	n := 0
	if err := r.Flush(func(log.ProduceRecord) { n++ }); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d records after Recover, want 0", n)
	}
}

// TestPartialWindowed checks that an aggregation refuses partials of
// another windowing: a windowed one an unwindowed group's (it would judge
// their rows by one time), a session window's any, and an unwindowed one
// a window's.
func TestPartialWindowed(t *testing.T) {
	f := newCombineFixture(t)
	for _, c := range []struct {
		spec     *window.Spec
		inWindow bool
	}{
		{&window.Spec{Kind: window.Tumbling, Size: time.Minute, HasGrace: true}, false},
		{&window.Spec{Kind: window.Session, Gap: time.Minute, HasGrace: true}, true},
		{nil, true},
	} {
		a := f.aggregator(map[int64]string{})
		a.Spec.Window = c.spec
		in := GroupInput{KeyBytes: []byte("1"), Partials: []byte{}, Time: 5, InWindow: c.inWindow}
		if err := a.Apply(&in, func(log.ProduceRecord) {}); err != errPartialWindowed {
			t.Fatalf("window %v, partials in a window %v: Apply = %v, want errPartialWindowed", c.spec, c.inWindow, err)
		}
	}
}

// BenchmarkAggregatorPartials is the second stage of Nexmark's q5 counts
// without the log: COUNT(*) by auction and window start over 20,000
// groups, read as a record per row ("rows") or as the partials a
// combining first stage writes of the same rows, flushed every 4,096
// rows ("partials"). The rows come four to a group and batch, about
// q5's. An op is a record; rows/op says how many rows one carries, so
// cpu-ns/op divided by it is the cost of a row.
func BenchmarkAggregatorPartials(b *testing.B) {
	count, err := agg.Resolve("COUNT", nil, nil, false)
	if err != nil {
		b.Fatal(err)
	}
	funcs := []agg.Func{count}
	codec, err := NewGroupCodec([]types.Type{types.Bigint, types.Bigint}, [][]types.Type{nil})
	if err != nil {
		b.Fatal(err)
	}
	const rows = 100_000
	in := func(i int) GroupInput {
		// Four consecutive runs of 1,024 groups in each 4,096 rows.
		g := (i/4096)*1024 + i%1024
		return GroupInput{Key: types.Row{types.NewBigint(int64(1000 + g%20_000)), types.NewBigint(int64(g % 5))},
			Args: [][]types.Value{nil}, Time: int64(i)}
	}
	rowRecs := repartitionRecords(b, codec, rows, in)
	c, err := newCombiner(funcs, 0)
	if err != nil {
		b.Fatal(err)
	}
	var partRecs []log.Record
	emit := func(g *partialGroup) { partRecs = append(partRecs, partialRecord(g)) }
	for i := range rows {
		g := in(i)
		if g.KeyBytes, err = codec.EncodeKey(g.Key); err != nil {
			b.Fatal(err)
		}
		if err := c.add(&g, emit); err != nil {
			b.Fatal(err)
		}
		if i%4096 == 4095 {
			c.flush(emit)
		}
	}
	c.flush(emit)
	for _, bc := range []struct {
		name string
		recs []log.Record
	}{{"rows", rowRecs}, {"partials", partRecs}} {
		b.Run(bc.name, func(b *testing.B) {
			a := benchAggregator(funcs, codec, types.Bigint, types.Bigint, types.Bigint)
			a.EmitCacheBytes = 10_000_000
			// A flush every 4,096 rows' worth of records, as a task
			// commits after a batch: the changes emitted per row are
			// then the same in both.
			every := max(1, 4096*len(bc.recs)/rows)
			emit := func(log.ProduceRecord) {}
			b.ReportAllocs()
			cpu := startCPU()
			for i := 0; b.Loop(); i++ {
				if err := a.Process(&bc.recs[i%len(bc.recs)], emit); err != nil {
					b.Fatal(err)
				}
				if i%every == every-1 {
					if err := a.Flush(emit); err != nil {
						b.Fatal(err)
					}
				}
			}
			cpu.report(b)
			b.ReportMetric(float64(rows)/float64(len(bc.recs)), "rows/op")
		})
	}
}
