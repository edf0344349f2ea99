package operators

import (
	"fmt"
	"testing"
	"time"

	"github.com/runnel/runnel/internal/cputime"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/agg"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// BenchmarkAggregatorRepartitioned is the second stage of Nexmark's q17
// without the log: records of the repartition topic, keyed by an auction
// and a day, read back and folded into COUNT, MIN, MAX, AVG and SUM of a
// price over 10,000 groups (all cached), every update projected and
// emitted, the cache written back every 4,096 records as a task does
// before it commits. allocs/op is what the machine's load cannot blur.
func BenchmarkAggregatorRepartitioned(b *testing.B) {
	resolve := func(name string, arg ...types.Type) agg.Func {
		f, err := agg.Resolve(name, arg, nil, false)
		if err != nil {
			b.Fatal(err)
		}
		return f
	}
	funcs := []agg.Func{resolve("COUNT"), resolve("COUNT", types.Bigint), resolve("MIN", types.Bigint),
		resolve("MAX", types.Bigint), resolve("AVG", types.Bigint), resolve("SUM", types.Bigint)}
	argTypes := [][]types.Type{nil, {types.Bigint}, {types.Bigint}, {types.Bigint}, {types.Bigint}, {types.Bigint}}
	codec, err := NewGroupCodec([]types.Type{types.Bigint, types.String}, argTypes)
	if err != nil {
		b.Fatal(err)
	}
	a := benchAggregator(funcs, codec, types.Bigint, types.String, types.Bigint, types.Bigint, types.Bigint, types.Bigint, types.Double, types.Bigint)
	recs := repartitionRecords(b, codec, 100_000, func(i int) GroupInput {
		price := types.NewBigint(int64(i*7919) % 1_000_000)
		return GroupInput{
			Key:  types.Row{types.NewBigint(int64(1000 + i%10_000)), types.NewString("2015-07-15")},
			Args: [][]types.Value{nil, {types.NewBigint(1)}, {price}, {price}, {price}, {price}},
			Time: int64(i),
		}
	})
	runAggregator(b, a, recs, nil)
}

// benchAggregator is an aggregation of funcs, read from codec's
// repartition topic, whose result is its post-aggregation row (of
// rowTypes) as it is, emitted nowhere.
func benchAggregator(funcs []agg.Func, codec *GroupCodec, rowTypes ...types.Type) *Aggregator {
	project := make([]expr.Expr, len(rowTypes))
	for i, t := range rowTypes {
		project[i] = &expr.Column{Index: i, T: t}
	}
	return &Aggregator{
		Spec:    &AggregateSpec{Funcs: funcs, Codec: codec, Project: project},
		Store:   state.NewMemStore(),
		Metrics: &Metrics{},
		Input:   codec.Reader(),
		Output:  func(AggOutput, Emit) error { return nil },
	}
}

// repartitionRecords encodes n group inputs, made by in, as records of
// codec's repartition topic.
func repartitionRecords(b *testing.B, codec *GroupCodec, n int, in func(i int) GroupInput) []log.Record {
	recs := make([]log.Record, n)
	for i := range recs {
		g := in(i)
		var err error
		if g.KeyBytes, err = codec.EncodeKey(g.Key); err != nil {
			b.Fatal(err)
		}
		if recs[i], err = codec.Encode(&g); err != nil {
			b.Fatal(err)
		}
	}
	return recs
}

// runAggregator folds recs into a, round and round, flushing every 4,096
// records as a task does before it commits; each time round, wrap (when
// not nil) is called first, outside the timing.
func runAggregator(b *testing.B, a *Aggregator, recs []log.Record, wrap func()) {
	emitted := 0
	emit := func(log.ProduceRecord) { emitted++ }
	b.ReportAllocs()
	cpu := startCPU()
	for i := 0; b.Loop(); i++ {
		if wrap != nil && i > 0 && i%len(recs) == 0 {
			b.StopTimer()
			wrap()
			b.StartTimer()
		}
		if err := a.Process(&recs[i%len(recs)], emit); err != nil {
			b.Fatal(err)
		}
		if i%4096 == 4095 {
			if err := a.Flush(emit); err != nil {
				b.Fatal(err)
			}
		}
	}
	cpu.report(b)
	if testing.Verbose() {
		fmt.Println("emitted", emitted)
	}
}

// cpuClock measures the CPU time the process spends in a benchmark's
// loop: on a machine shared with other work, wall-clock ns/op measures
// the load as much as the code, CPU time much less.
type cpuClock struct{ start time.Duration }

func startCPU() cpuClock { return cpuClock{cputime.Process()} }

// report adds cpu-ns/op to the benchmark's results.
func (c cpuClock) report(b *testing.B) {
	b.ReportMetric(float64(cputime.Process()-c.start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkAggregatorNewGroups is the second stage of the table of one
// row per bid that Nexmark's q7 made until 2026-12-02 (q7_rows), without
// the log: every record a new group (a key of its own), six
// LATEST_BY_OFFSET columns, the emit cache on and the output rows reused
// as a persistent query's table has them, the cache written back every
// 4,096 records as a task does before it commits. What it measures is a
// new group's cost end to end: the cache's miss and entry, the group
// filter, the fresh accumulators, the write-back's encoding and the
// emitted row.
func BenchmarkAggregatorNewGroups(b *testing.B) {
	argTypes := [][]types.Type{{types.Bigint}, {types.Bigint}, {types.Bigint}, {types.Bigint}, {types.String}, {types.Bigint}}
	funcs := make([]agg.Func, len(argTypes))
	for i, t := range argTypes {
		f, err := agg.Resolve("LATEST_BY_OFFSET", t, nil, false)
		if err != nil {
			b.Fatal(err)
		}
		funcs[i] = f
	}
	codec, err := NewGroupCodec([]types.Type{types.String}, argTypes)
	if err != nil {
		b.Fatal(err)
	}
	rowTypes := []types.Type{types.String}
	for _, t := range argTypes {
		rowTypes = append(rowTypes, t[0])
	}
	a := benchAggregator(funcs, codec, rowTypes...)
	a.ReuseRows, a.EmitCacheBytes = true, 10<<20
	v := func(n int) []types.Value { return []types.Value{types.NewBigint(int64(n))} }
	recs := repartitionRecords(b, codec, 50*4096, func(i int) GroupInput {
		return GroupInput{
			Key:  types.Row{types.NewString(fmt.Sprintf("%d/%d", i%4, i))},
			Args: [][]types.Value{v(1000 + i%5000), v(i * 7919 % 100_000), v(2000 + i%3000), v(1_436_000_000_000 + i), {types.NewString("extra extra extra")}, v(i / 10000 * 10000)},
			Time: int64(i),
		}
	})
	// Every key new again each time round: a fresh store, as a longer
	// input's keys would be.
	runAggregator(b, a, recs, func() {
		a.Store, a.loaded = state.NewMemStore(), false
		a.cache.forget()
	})
}

// BenchmarkRepartition is the first stage of an aggregation over a
// Nexmark bid, without the log: the bid decoded, grouped and written as
// a repartition record. "count" is q5_counts' shape (two BIGINT group
// columns, COUNT(*)), "latest" that of q7's former table of one row per
// bid (one group column, six LATEST_BY_OFFSET arguments, the wide extra
// among them).
func BenchmarkRepartition(b *testing.B) {
	cols := nexmarkBidCols
	col := func(i int) expr.Expr { return &expr.Column{Index: i, Name: cols[i].Name, T: cols[i].Type} }
	for _, bc := range []struct {
		name    string
		groupBy []int
		args    [][]int
		// combine makes the stage combine COUNT(*) (combine.go), its
		// partials written every 4,096 records as a task flushes.
		combine bool
	}{
		{"count", []int{0, 5}, [][]int{nil}, false},
		{"count-combined", []int{0, 5}, [][]int{nil}, true},
		{"latest", []int{1}, [][]int{{0}, {2}, {1}, {5}, {6}, {3}}, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dec, err := NewDecoder(DecoderSpec{Columns: cols, KeyFormat: "NONE", ValueFormat: "JSON"})
			if err != nil {
				b.Fatal(err)
			}
			g := &Grouper{Decoder: dec, TimeIndex: len(cols)}
			var groupTypes []types.Type
			for _, i := range bc.groupBy {
				g.GroupBy = append(g.GroupBy, col(i))
				groupTypes = append(groupTypes, cols[i].Type)
			}
			argTypes := make([][]types.Type, len(bc.args))
			g.Args = make([][]expr.Expr, len(bc.args))
			for c, args := range bc.args {
				for _, i := range args {
					g.Args[c] = append(g.Args[c], col(i))
					argTypes[c] = append(argTypes[c], cols[i].Type)
				}
			}
			if g.Codec, err = NewGroupCodec(groupTypes, argTypes); err != nil {
				b.Fatal(err)
			}
			r := &Repartition{Grouper: g, Topic: "rp"}
			if bc.combine {
				count, err := agg.Resolve("COUNT", nil, nil, false)
				if err != nil {
					b.Fatal(err)
				}
				r.Combine = []agg.Func{count}
			}
			rec := log.Record{Value: nexmarkBidValue, Timestamp: 1436918400123, Partition: 1}
			var last log.ProduceRecord
			emit := func(pr log.ProduceRecord) { last = pr }
			b.ReportAllocs()
			cpu := startCPU()
			for i := 0; b.Loop(); i++ {
				if err := r.Process(&rec, emit); err != nil {
					b.Fatal(err)
				}
				if i%4096 == 4095 {
					if err := r.Flush(emit); err != nil {
						b.Fatal(err)
					}
				}
			}
			if err := r.Flush(emit); err != nil {
				b.Fatal(err)
			}
			cpu.report(b)
			if last.Topic != "rp" || len(last.Key) == 0 || last.Timestamp != rec.Timestamp {
				b.Fatalf("wrote %q %x at %d to %q", last.Key, last.Value, last.Timestamp, last.Topic)
			}
		})
	}
}
