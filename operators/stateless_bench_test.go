package operators

import (
	"strings"
	"testing"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/serde"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// nexmarkBidCols and nexmarkBidValue are a Nexmark bid's columns and one
// bid's JSON, as the generator writes it; the benchmarks that read them
// do not modify them.
var (
	nexmarkBidCols = []types.Column{
		{Name: "AUCTION", Type: types.Bigint}, {Name: "BIDDER", Type: types.Bigint}, {Name: "PRICE", Type: types.Bigint},
		{Name: "CHANNEL", Type: types.String}, {Name: "URL", Type: types.String},
		{Name: "DATETIME", Type: types.Bigint}, {Name: "EXTRA", Type: types.String},
	}
	nexmarkBidValue = []byte(`{"auction":1007,"bidder":2001,"price":4386,"channel":"Google","url":"https://www.nexmark.com/inzq/xsb/nfbd/item.htm?query=1&channel_id=1650458112","dateTime":1436918400123,"extra":"[WUYOYLdtcebocQJLBZR_QYKHOS]RXTPYhyx[ZJK_PZ]OXSQIT^UKX\\BKDJJJDPZP_]TMXU^\\]J_\\QKSTQPM"}`)
)

// BenchmarkStatelessBid runs a stateless task's processor over a
// Nexmark bid, as q0 (five of its seven columns passed through) and q2
// (a filter that keeps one auction in 123), its output chunks recycled
// every 4,096 records as a task's commits do: the per-record work of
// the task between the log's read and its commit.
func BenchmarkStatelessBid(b *testing.B) {
	cols := nexmarkBidCols
	col := func(i int) *expr.Column { return &expr.Column{Index: i, Name: cols[i].Name, T: cols[i].Type} }
	value := nexmarkBidValue
	for _, bc := range []struct {
		name   string
		out    []int
		filter expr.Expr
	}{
		{"q0", []int{0, 1, 2, 5, 6}, nil},
		{"q2", []int{0, 2}, modIs{col(0), 123}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			// The columns the query reads, as the planner marks them.
			read := make([]bool, len(cols))
			for _, i := range bc.out {
				read[i] = true
			}
			dec, err := NewDecoder(DecoderSpec{Columns: cols, KeyFormat: "NONE", ValueFormat: "JSON", Read: read})
			if err != nil {
				b.Fatal(err)
			}
			var outCols []types.Column
			var project []expr.Expr
			for _, i := range bc.out {
				outCols = append(outCols, cols[i])
				project = append(project, col(i))
			}
			enc, err := NewEncoder(outCols, "NONE", "JSON", serde.Props{})
			if err != nil {
				b.Fatal(err)
			}
			s := &Stateless{Decoder: dec, Encoder: enc, Sink: "out",
				Pipeline: &Pipeline{Filter: bc.filter, Project: project, TimeIndex: len(cols)}}
			rec := log.Record{Value: value, Timestamp: 1436918400123}
			emitted := 0
			emit := func(log.ProduceRecord) { emitted++ }
			b.SetBytes(int64(len(value)))
			n := benchStateless(b, s, &rec, emit)
			if bc.filter == nil && emitted != n {
				b.Fatalf("%d records emitted of %d", emitted, n)
			}
		})
	}
}

// benchStateless runs s over rec for the benchmark's loop, recycling its
// output chunks every 4,096 records as a task's commits do, and returns
// how many times it ran.
func benchStateless(b *testing.B, s *Stateless, rec *log.Record, emit Emit) int {
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := s.Process(rec, emit); err != nil {
			b.Fatal(err)
		}
		if n++; n%4096 == 0 {
			s.recycleBatch()
		}
	}
	return n
}

// modIs is col % m = 0 over a BIGINT.
type modIs struct {
	col *expr.Column
	m   int64
}

func (e modIs) Type() types.Type { return types.Boolean }
func (e modIs) String() string   { return e.col.String() + " % m = 0" }
func (e modIs) Eval(row types.Row) (types.Value, error) {
	v := row[e.col.Index]
	if v.IsNull() {
		return types.NullValue, nil
	}
	return types.NewBoolean(v.Int()%e.m == 0), nil
}

// bidScope resolves the columns of BenchmarkStatelessExplode's bid rows:
// AUCTION, DATETIME and ROWTIME.
type bidScope struct{}

func (bidScope) Resolve(_, name string) (int, types.Type, error) {
	switch name {
	case "AUCTION":
		return 0, types.Bigint, nil
	case "DATETIME":
		return 1, types.Timestamp, nil
	}
	return 0, types.Type{}, expr.Errorf(expr.ErrUnknownColumn, "no column %s", name)
}

// BenchmarkStatelessExplode runs the stateless task of Nexmark q5's
// first stage over a bid: the bid's five hopping windows, each start an
// expression over UNIX_TIMESTAMP(dateTime), EXPLODEd into five records
// of the auction and the start, its output chunks recycled every 4,096
// records as a task's commits do.
func BenchmarkStatelessExplode(b *testing.B) {
	cols := []types.Column{{Name: "AUCTION", Type: types.Bigint}, {Name: "DATETIME", Type: types.Timestamp}}
	dec, err := NewDecoder(DecoderSpec{Columns: cols, KeyFormat: "NONE", ValueFormat: "JSON"})
	if err != nil {
		b.Fatal(err)
	}
	var starts []string
	for _, back := range []string{" - 8000", " - 6000", " - 4000", " - 2000", ""} {
		starts = append(starts, "UNIX_TIMESTAMP(DATETIME) - UNIX_TIMESTAMP(DATETIME) % 2000"+back)
	}
	call, err := (&expr.Binder{Scope: bidScope{}}).BindTableCall(parseCall(b, "EXPLODE(RUNNEL_ARRAY("+strings.Join(starts, ", ")+"))"))
	if err != nil {
		b.Fatal(err)
	}
	out := []types.Column{{Name: "AUCTION", Type: types.Bigint}, {Name: "STARTTIME", Type: types.Bigint}}
	enc, err := NewEncoder(out, "NONE", "JSON", serde.Props{})
	if err != nil {
		b.Fatal(err)
	}
	// The row: AUCTION, DATETIME, ROWTIME, ROWPARTITION, ROWOFFSET, then
	// the EXPLODE's value.
	project := []expr.Expr{&expr.Column{Index: 0, Name: "AUCTION", T: types.Bigint}, &expr.Column{Index: dec.Width(), Name: "STARTTIME", T: types.Bigint}}
	s := &Stateless{Decoder: dec, Encoder: enc, Sink: "out",
		Pipeline: &Pipeline{Project: project, TimeIndex: 2, FlatMap: &FlatMap{Calls: []*expr.TableCall{call}}}}
	value := []byte(`{"auction":1007,"bidder":2001,"price":4386,"channel":"Google","url":"https://www.nexmark.com/inzq/xsb/nfbd/item.htm?query=1&channel_id=1650458112","dateTime":1436918400123,"extra":"[WUYOYLdtcebocQJLBZR_QYKHOS]"}`)
	rec := log.Record{Value: value, Timestamp: 1436918400123}
	var last []byte
	emitted := 0
	emit := func(r log.ProduceRecord) { emitted, last = emitted+1, r.Record.Value }
	n := benchStateless(b, s, &rec, emit)
	if emitted != 5*n || string(last) != `{"AUCTION":1007,"STARTTIME":1436918400000}` {
		b.Fatalf("%d records emitted of %d, the last %s", emitted, 5*n, last)
	}
}
