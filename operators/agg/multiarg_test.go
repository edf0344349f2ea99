package agg

import (
	"math"
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// TestCorrelation follows ksqlDB's correlation-udaf.json: NaN until two
// rows with both values, rows with a NULL ignored, a table's updates
// retracted.
func TestCorrelation(t *testing.T) {
	f, err := Resolve("CORRELATION", []types.Type{types.Double, types.Double}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if !f.ResultType().Equal(types.Double) || !f.Retractable() {
		t.Fatalf("type %s, retractable %v", f.ResultType(), f.Retractable())
	}
	pair := func(x, y types.Value) []types.Value { return []types.Value{x, y} }
	// "correlation double", key alice: each row and the result after it.
	a := f.New()
	steps := []struct {
		x, y types.Value
		want float64
	}{
		{f64(1.5), f64(8.0), math.NaN()},
		{f64(-1.0), f64(-2.0), 1.0},
		{f64(-4.5), f64(-1.0), 0.7580764521133173},
		{null, f64(-6.0), 0.7580764521133173},
	}
	for i, s := range steps {
		if err := a.Add(pair(s.x, s.y)); err != nil {
			t.Fatal(err)
		}
		a = roundTrip(t, f, a, false)
		if got := a.Result(); !same(got, f64(s.want), false) {
			t.Errorf("step %d: %s, want %v", i, show(got), s.want)
		}
	}
	// "correlation udaf with table": alice (1.5, 8) then bob (-3.5, -2);
	// alice becomes (-1, -2) (retract, add), charlie (-4.5, -1) joins.
	b := f.New()
	for i, s := range []struct {
		retract bool
		x, y    float64
		want    float64
	}{
		{false, 1.5, 8.0, math.NaN()},
		{false, -3.5, -2.0, 1.0},
		{true, 1.5, 8.0, math.NaN()},
		{false, -1.0, -2.0, math.NaN()},
		{false, -4.5, -1.0, -0.7205766921228921},
	} {
		op := b.Add
		if s.retract {
			op = b.Retract
		}
		if err := op(pair(f64(s.x), f64(s.y))); err != nil {
			t.Fatal(err)
		}
		if got := b.Result(); !same(got, f64(s.want), false) {
			t.Errorf("table step %d: %s, want %v", i, show(got), s.want)
		}
	}
	// INT and BIGINT are taken; strings and a third argument are not.
	if _, err := Resolve("CORRELATION", []types.Type{types.Int, types.Bigint}, nil, false); err != nil {
		t.Error(err)
	}
	for _, args := range [][]types.Type{{types.String, types.Double}, {types.Double}, {types.Double, types.Double, types.Double}} {
		if _, err := Resolve("CORRELATION", args, nil, false); err == nil {
			t.Errorf("CORRELATION%v resolved", args)
		}
	}
}

// TestTopkWithColumns follows ksqlDB's topk-group-by.json "topk integer
// struct": TOPK(value, name, 3) keeps the rows of the three largest
// values, earlier rows first among equal values.
func TestTopkWithColumns(t *testing.T) {
	f, err := Resolve("TOPK", []types.Type{types.Int, types.String}, []types.Value{i32(3)}, false)
	if err != nil {
		t.Fatal(err)
	}
	want := types.Array(types.Struct(types.Field{Name: "sort_col", Type: types.Int}, types.Field{Name: "col0", Type: types.String}))
	if !f.ResultType().Equal(want) {
		t.Fatalf("type %s, want %s", f.ResultType(), want)
	}
	row := func(v int32, name string) types.Value { return types.NewStruct([]types.Value{i32(v), str(name)}) }
	a := f.New()
	steps := []struct {
		v    int32
		name string
		want types.Value
	}{
		{0, "zero", arr(row(0, "zero"))},
		{100, "one", arr(row(100, "one"), row(0, "zero"))},
		{99, "two", arr(row(100, "one"), row(99, "two"), row(0, "zero"))},
		{7, "three", arr(row(100, "one"), row(99, "two"), row(7, "three"))},
		{100, "four", arr(row(100, "one"), row(100, "four"), row(99, "two"))},
	}
	for i, s := range steps {
		if err := a.Add([]types.Value{i32(s.v), str(s.name)}); err != nil {
			t.Fatal(err)
		}
		a = roundTrip(t, f, a, false)
		if got := a.Result(); !same(got, s.want, false) {
			t.Errorf("step %d: %s, want %s", i, show(got), show(s.want))
		}
	}
	// A NULL sort value is ignored; a NULL other column is kept.
	if err := a.Add([]types.Value{null, str("x")}); err != nil {
		t.Fatal(err)
	}
	if err := a.Add([]types.Value{i32(200), null}); err != nil {
		t.Fatal(err)
	}
	if got, w := a.Result(), arr(types.NewStruct([]types.Value{i32(200), null}), row(100, "one"), row(100, "four")); !same(got, w, false) {
		t.Errorf("with NULLs: %s, want %s", show(got), show(w))
	}
	// Merging: the top 3 of both.
	b := f.New()
	if err := b.Add([]types.Value{i32(150), str("b")}); err != nil {
		t.Fatal(err)
	}
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	if got, w := a.Result(), arr(types.NewStruct([]types.Value{i32(200), null}), row(150, "b"), row(100, "one")); !same(got, w, false) {
		t.Errorf("merged: %s, want %s", show(got), show(w))
	}
	// Several other columns name col0, col1; TOPKDISTINCT takes none.
	g, err := Resolve("TOPK", []types.Type{types.Double, types.String, types.Bigint}, []types.Value{i32(2)}, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := g.ResultType().String(); got != "ARRAY<STRUCT<`sort_col` DOUBLE, `col0` STRING, `col1` BIGINT>>" {
		t.Errorf("type %s", got)
	}
	if _, err := Resolve("TOPKDISTINCT", []types.Type{types.Int, types.String}, []types.Value{i32(2)}, false); err == nil {
		t.Error("TOPKDISTINCT with other columns resolved")
	}
}
