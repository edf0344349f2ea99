package operators

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/serde"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// flatScope resolves A and B, two ARRAY<INT> columns, and S, a STRING.
type flatScope struct{}

func (flatScope) Resolve(_, name string) (int, types.Type, error) {
	switch name {
	case "A":
		return 0, types.Array(types.Int), nil
	case "B":
		return 1, types.Array(types.Int), nil
	case "S":
		return 2, types.String, nil
	}
	return 0, types.Type{}, expr.Errorf(expr.ErrUnknownColumn, "no column %s", name)
}

// tableCalls binds the table function calls of a select list.
func tableCalls(t *testing.T, list string) []*expr.TableCall {
	t.Helper()
	p := parser.New()
	p.SetSQLMode(mysql.ModeANSIQuotes)
	st, err := p.ParseOneStmt("SELECT "+list+" FROM t", "", "")
	if err != nil {
		t.Fatal(err)
	}
	var out []*expr.TableCall
	for _, f := range st.(*ast.SelectStmt).Fields.Fields {
		c, err := (&expr.Binder{Scope: flatScope{}}).BindTableCall(f.Expr.(*ast.FuncCallExpr))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func ints(vs ...int32) types.Value {
	out := make([]types.Value, len(vs))
	for i, v := range vs {
		out[i] = types.NewInt(v)
	}
	return types.NewArray(out)
}

// failOn fails on the rows whose column i is v.
type failOn struct {
	i int
	v int32
}

func (f failOn) Type() types.Type { return types.Int }
func (f failOn) String() string   { return "FAIL_ON" }
func (f failOn) Eval(row types.Row) (types.Value, error) {
	if !row[f.i].IsNull() && row[f.i].Int() == int64(f.v) {
		return types.Value{}, errors.New("boom")
	}
	return row[f.i], nil
}

// TestFlatMap: the calls of one row are zipped, a shorter one padded
// with NULLs; a row whose calls give nothing gives no row; an error of
// any output row fails the whole input row; MaxBytes bounds one input
// row's output.
func TestFlatMap(t *testing.T) {
	calls := tableCalls(t, "EXPLODE(A), EXPLODE(B)")
	// Input rows: A, B, S, ROWTIME; the FlatMap appends the calls' columns.
	a := &expr.Column{Index: 4, Name: "KSQL_SYNTH_0", T: types.Int}
	b := &expr.Column{Index: 5, Name: "KSQL_SYNTH_1", T: types.Int}
	s := &expr.Column{Index: 2, Name: "S", T: types.String}
	show := func(rows []types.Row) string {
		var parts []string
		for _, r := range rows {
			var cells []string
			for _, v := range r {
				if v.IsNull() {
					cells = append(cells, "NULL")
				} else {
					cells = append(cells, types.Format(v, types.Int))
				}
			}
			parts = append(parts, strings.Join(cells, ","))
		}
		return strings.Join(parts, " ")
	}
	tests := []struct {
		name     string
		in       types.Row
		project  []expr.Expr
		maxBytes int64
		want     string
		code     sqlstate.Code // of an error
		failed   bool
	}{
		{name: "zipped and padded", in: types.Row{ints(1, 2), ints(10, 11, 12), types.NewString("x"), types.NewBigint(5)},
			project: []expr.Expr{a, b}, want: "1,10 2,11 NULL,12"},
		{name: "a NULL array beside a longer one", in: types.Row{{}, ints(7), types.NewString("x"), types.NewBigint(5)},
			project: []expr.Expr{a, b}, want: "NULL,7"},
		{name: "nothing to explode: no row", in: types.Row{{}, types.NewArray(nil), types.NewString("x"), types.NewBigint(5)},
			project: []expr.Expr{a, b}, want: ""},
		{name: "the second row fails: no row at all", in: types.Row{ints(1, 2, 3), ints(1), types.NewString("x"), types.NewBigint(5)},
			project: []expr.Expr{failOn{4, 2}}, failed: true},
		{name: "over MaxBytes", in: types.Row{ints(1, 2, 3), {}, types.NewString(strings.Repeat("x", 100)), types.NewBigint(5)},
			project: []expr.Expr{s}, maxBytes: 250, code: sqlstate.ProgramLimitExceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &Pipeline{Project: tc.project, TimeIndex: 3, FlatMap: &FlatMap{Calls: calls, MaxBytes: tc.maxBytes}}
			rows, ts, err := p.ApplyFlat(tc.in)
			switch {
			case tc.code != "":
				if sqlstate.Of(err) != tc.code || rows != nil {
					t.Fatalf("rows %v, error %v; want SQLSTATE %s", rows, err, tc.code)
				}
			case tc.failed:
				if err == nil || rows != nil {
					t.Fatalf("rows %v, error %v; want an error and no rows", rows, err)
				}
			case err != nil:
				t.Fatal(err)
			default:
				if got := show(rows); got != tc.want {
					t.Errorf("got %q, want %q", got, tc.want)
				}
				if len(rows) > 0 && ts != 5 {
					t.Errorf("time %d, want the input's 5", ts)
				}
			}
		})
	}
}

// TestStatelessFlat: a stateless stage with table functions emits the
// rows of one record together, in order, under the record's key and
// time; a record that fails, or whose value is null, emits none.
func TestStatelessFlat(t *testing.T) {
	// The source: ID INT KEY, A ARRAY<INT>; rows are ID, A, ROWTIME,
	// ROWPARTITION, ROWOFFSET, then EXPLODE(A).
	src := []types.Column{{Name: "ID", Type: types.Int, Key: true}, {Name: "A", Type: types.Array(types.Int)}}
	out := []types.Column{{Name: "ID", Type: types.Int, Key: true}, {Name: "V", Type: types.Int}}
	dec, err := NewDecoder(DecoderSpec{Columns: src, KeyFormat: "KAFKA", ValueFormat: "JSON"})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := NewEncoder(out, "KAFKA", "JSON", serde.Props{})
	if err != nil {
		t.Fatal(err)
	}
	// flatScope's B is ARRAY<INT> at index 1: the source's A.
	call, err := (&expr.Binder{Scope: flatScope{}}).BindTableCall(parseCall(t, "EXPLODE(B)"))
	if err != nil {
		t.Fatal(err)
	}
	id := &expr.Column{Index: 0, Name: "ID", T: types.Int}
	// The value is KSQL_SYNTH_0 (index 5), failing on 13.
	pipe := &Pipeline{Project: []expr.Expr{id, failOn{5, 13}}, TimeIndex: 2, Keys: []int{0}, KeyOnly: []bool{true},
		FlatMap: &FlatMap{Calls: []*expr.TableCall{call}}}
	s := &Stateless{Decoder: dec, Pipeline: pipe, Encoder: enc, Sink: "out", Tombstones: true}
	recs := []log.Record{
		{Key: []byte{0, 0, 0, 1}, Value: []byte(`{"A":[1,2,3]}`), Timestamp: 10},
		{Key: []byte{0, 0, 0, 2}, Value: nil, Timestamp: 11},                        // a null value: no rows
		{Key: []byte{0, 0, 0, 3}, Value: []byte(`{"A":[11,12,13]}`), Timestamp: 12}, // 13 fails: no rows at all
		{Key: []byte{0, 0, 0, 4}, Value: []byte(`{"A":[]}`), Timestamp: 13},
		{Key: []byte{0, 0, 0, 5}, Value: []byte(`{"A":[5]}`), Timestamp: 14},
	}
	var calls []string
	for i := range recs {
		var got []string
		err := s.Process(&recs[i], func(r log.ProduceRecord) { got = append(got, showRecord(t, out, r.Record)) })
		if err != nil {
			got = append(got, "error")
		}
		calls = append(calls, strings.Join(got, " "))
	}
	want := []string{`1={"V":1}@10 1={"V":2}@10 1={"V":3}@10`, ``, `error`, ``, `5={"V":5}@14`}
	if strings.Join(calls, " | ") != strings.Join(want, " | ") {
		t.Errorf("got  %q\nwant %q", calls, want)
	}
}

// parseCall parses one function call.
func parseCall(t testing.TB, text string) *ast.FuncCallExpr {
	t.Helper()
	p := parser.New()
	st, err := p.ParseOneStmt("SELECT "+text+" FROM t", "", "")
	if err != nil {
		t.Fatal(err)
	}
	return st.(*ast.SelectStmt).Fields.Fields[0].Expr.(*ast.FuncCallExpr)
}

// BenchmarkApplyFlat: one input row of a 100-element array exploded and
// projected (the key and the element): the per-record cost of EXPLODE.
func BenchmarkApplyFlat(b *testing.B) {
	call, err := (&expr.Binder{Scope: flatScope{}}).BindTableCall(parseCall(b, "EXPLODE(A)"))
	if err != nil {
		b.Fatal(err)
	}
	elems := make([]int32, 100)
	for i := range elems {
		elems[i] = int32(i)
	}
	in := types.Row{ints(elems...), {}, types.NewString("k"), types.NewBigint(1)}
	p := &Pipeline{Project: []expr.Expr{&expr.Column{Index: 2, T: types.String}, &expr.Column{Index: 4, T: types.Int}},
		TimeIndex: 3, FlatMap: &FlatMap{Calls: []*expr.TableCall{call}}}
	b.ReportAllocs()
	for b.Loop() {
		rows, _, err := p.ApplyFlat(in)
		if err != nil || len(rows) != 100 {
			b.Fatal(len(rows), err)
		}
	}
}

// TestStatelessFlatShared: a stateless task whose filter and table
// functions' arguments share subexpressions (Pipeline.shareFlat), its two
// calls of different lengths, writes for each record what the same query
// computes without sharing (ApplyFlat over rows without the shared
// places, of expressions bound apart), over records the filter keeps and
// drops.
func TestStatelessFlatShared(t *testing.T) {
	cols := []types.Column{{Name: "AUCTION", Type: types.Bigint}, {Name: "DATETIME", Type: types.Timestamp}}
	dec, err := NewDecoder(DecoderSpec{Columns: cols, KeyFormat: "NONE", ValueFormat: "JSON"})
	if err != nil {
		t.Fatal(err)
	}
	out := []types.Column{{Name: "AUCTION", Type: types.Bigint}, {Name: "X", Type: types.Bigint}, {Name: "Y", Type: types.Bigint}}
	enc, err := NewEncoder(out, "NONE", "JSON", serde.Props{})
	if err != nil {
		t.Fatal(err)
	}
	w := dec.Width()
	pipeline := func() *Pipeline {
		var calls []*expr.TableCall
		for _, text := range []string{
			"EXPLODE(RUNNEL_ARRAY(UNIX_TIMESTAMP(DATETIME) % 7, UNIX_TIMESTAMP(DATETIME) % 7 + AUCTION, AUCTION))",
			"EXPLODE(RUNNEL_ARRAY(UNIX_TIMESTAMP(DATETIME) % 7 * 2))",
		} {
			c, err := (&expr.Binder{Scope: bidScope{}}).BindTableCall(parseCall(t, text))
			if err != nil {
				t.Fatal(err)
			}
			calls = append(calls, c)
		}
		filter, err := (&expr.Binder{Scope: bidScope{}}).Bind(parseExprText(t, "UNIX_TIMESTAMP(DATETIME) % 7 <> 3"))
		if err != nil {
			t.Fatal(err)
		}
		project := []expr.Expr{&expr.Column{Index: 0, T: types.Bigint}, &expr.Column{Index: w, T: types.Bigint}, &expr.Column{Index: w + 1, T: types.Bigint}}
		return &Pipeline{Filter: filter, Project: project, TimeIndex: 2, FlatMap: &FlatMap{Calls: calls}}
	}
	s := &Stateless{Decoder: dec, Encoder: enc, Sink: "out", Pipeline: pipeline()}
	plain := pipeline()
	kept := 0
	for ts := int64(1000); ts < 1020; ts++ {
		rec := log.Record{Value: fmt.Appendf(nil, `{"auction":%d,"dateTime":%d}`, ts%5, ts), Timestamp: ts}
		var got []string
		if err := s.Process(&rec, func(r log.ProduceRecord) { got = append(got, string(r.Record.Value)) }); err != nil {
			t.Fatal(err)
		}
		row, _, err := dec.Decode(&rec)
		if err != nil {
			t.Fatal(err)
		}
		rows, _, err := plain.ApplyFlat(row)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, r := range rows {
			e, err := enc.Encode(r, ts)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, string(e.Value))
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("dateTime %d: got %q, want %q", ts, got, want)
		}
		if len(want) > 0 {
			kept++
			if len(want) != 3 || !strings.HasSuffix(want[2], `"Y":null}`) {
				t.Fatalf("dateTime %d: %q, want three rows, the last without Y", ts, want)
			}
		}
	}
	if kept == 0 || kept == 20 {
		t.Fatalf("the filter kept %d records of 20: it should keep some and drop some", kept)
	}
}

// parseExprText parses one scalar expression.
func parseExprText(t testing.TB, text string) ast.ExprNode {
	t.Helper()
	st, err := parser.New().ParseOneStmt("SELECT "+text+" FROM t", "", "")
	if err != nil {
		t.Fatal(err)
	}
	return st.(*ast.SelectStmt).Fields.Fields[0].Expr
}
