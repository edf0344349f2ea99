package serde

import (
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// TestPrunerKeepsWhatTheDecoderReads holds a narrowed object against the
// whole one: decoded with the same format, the kept columns get the same
// values (duplicates, other cases of a name, escaped names, whitespace,
// nested and non-canonical values included) and the others NULL.
func TestPrunerKeepsWhatTheDecoderReads(t *testing.T) {
	cols := []types.Column{col("AUCTION", types.Bigint), col("URL", types.String),
		col("PRICE", types.Bigint), col("TAGS", types.Array(types.String)), col("EXTRA", types.String)}
	f, err := NewValueFormat("JSON", cols, Props{})
	if err != nil {
		t.Fatal(err)
	}
	keep := []bool{true, false, true, true, false}
	p := NewPruner(f, keep)
	if p == nil {
		t.Fatal("no pruner for a JSON row")
	}
	// The repartition's decoder builds only the columns it reads (here
	// AUCTION) and checks the others; the kept ones give their text.
	proj := Projection{Index: []int{0, 1, 2, 3, 4}, Skip: []bool{false, true, true, true, true}, Alias: true}
	raw := make([][]byte, len(cols))
	for _, in := range []string{
		`{"AUCTION":1,"URL":"https://x/y","PRICE":20,"TAGS":["a"],"EXTRA":"zzz"}`,
		`{"auction":1,"url":"u","price":20}`,
		` { "URL" : "u" , "PRICE" : 7 , "AUCTION" : -3 } `,
		`{"PRICE":1,"price":2,"Price":3,"EXTRA":{"deep":[1,{"x":null}]},"AUCTION":null}`,
		`{"\u0050RICE":5,"URL":"\"q\"","unknown":[1,2],"TAGS":null}`,
		`{"PRICE":2.0,"TAGS":["\u0041", "b"],"AUCTION":1e2}`,
		`{"EXTRA":"only dropped members"}`,
	} {
		row := make(types.Row, len(cols))
		if err := f.(RawDecoder).DecodeRowRaw([]byte(in), row, &proj, p.Keep(), raw); err != nil {
			t.Fatal(err)
		}
		out, err := p.Append([]byte("kept"), row, proj.Index, raw)
		if err != nil {
			t.Fatal(err)
		}
		if string(out[:4]) != "kept" {
			t.Fatalf("%s: appended %q", in, out)
		}
		whole, err := f.Decode([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		narrow, err := f.Decode(out[4:])
		if err != nil {
			t.Fatalf("%s: narrowed to %s: %v", in, out[4:], err)
		}
		for i := range cols {
			want := whole[i]
			if !keep[i] {
				want = types.NullValue
			}
			if !sameValue(narrow[i], want) {
				t.Errorf("%s narrowed to %s: %s is %s, want %s", in, out[4:], cols[i].Name, showValue(narrow[i]), showValue(want))
			}
		}
	}
	if got, err := p.Append(nil, types.Row{types.NewBigint(4), types.NullValue, types.NullValue, types.NullValue, types.NullValue},
		proj.Index, make([][]byte, len(cols))); err != nil || string(got) != `{"AUCTION":4}` {
		t.Errorf("a built value alone: %s, %v", got, err)
	}
	if NewPruner(f, []bool{true, true, true, true, true}) != nil {
		t.Error("a pruner that keeps every column")
	}
	d, err := NewValueFormat("DELIMITED", []types.Column{col("A", types.Bigint), col("B", types.Bigint)}, Props{})
	if err != nil {
		t.Fatal(err)
	}
	if NewPruner(d, []bool{true, false}) != nil {
		t.Error("a pruner of DELIMITED rows")
	}
}
