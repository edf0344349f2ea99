package serde

import (
	"errors"
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// fuzzJSONCols covers every type JSON carries, nested.
var fuzzJSONCols = []types.Column{
	col("B", types.Boolean), col("I", types.Int), col("L", types.Bigint), col("D", types.Double),
	col("P", types.Decimal(12, 3)), col("S", types.String), col("BY", types.Bytes),
	col("TS", types.Timestamp), col("DT", types.Date), col("TM", types.Time),
	col("A", types.Array(types.String)),
	col("M", types.Map(types.String, types.Array(types.Int))),
	col("ST", types.Struct(types.Field{Name: "X", Type: types.Double}, types.Field{Name: "y", Type: types.Map(types.String, types.Boolean)})),
}

// checkDecoder decodes b and, when that succeeds, checks that the row
// survives an encode and a decode unchanged; a failure must be an
// ErrDecode. Panics fail the fuzzer by themselves.
func checkDecoder(t *testing.T, f Format, b []byte) {
	if b == nil {
		b = []byte{} // nil is a tombstone, tested elsewhere
	}
	row, err := f.Decode(b)
	checkDecodeRow(t, f, b, row, err)
	if err != nil {
		if !errors.Is(err, ErrDecode) {
			t.Fatalf("%s Decode(%q): error %v does not wrap ErrDecode", f.Name(), b, err)
		}
		return
	}
	if row == nil || len(row) != len(f.Columns()) {
		t.Fatalf("%s Decode(%q) = %s for %d columns", f.Name(), b, showRow(row), len(f.Columns()))
	}
	enc, err := f.Encode(row)
	if err != nil {
		t.Fatalf("%s Encode(%s) of decoded %q: %v", f.Name(), showRow(row), b, err)
	}
	again, err := f.Decode(enc)
	if err != nil {
		t.Fatalf("%s re-Decode(%q): %v", f.Name(), enc, err)
	}
	if enc == nil {
		// A bare NULL is written as nil bytes: check the row was NULLs.
		for _, v := range row {
			if !v.IsNull() {
				t.Fatalf("%s: %s encoded to nil", f.Name(), showRow(row))
			}
		}
		return
	}
	if !sameRow(again, row) {
		t.Fatalf("%s round trip of %q via %q:\n got %s\nwant %s", f.Name(), b, enc, showRow(again), showRow(row))
	}
}

// checkDecodeRow checks DecodeRow against Decode's row (or error) for b:
// into a wider row, with every column built, and with every other column
// skipped, it must fail exactly when Decode does and build the same values.
func checkDecodeRow(t *testing.T, f Format, b []byte, want types.Row, wantErr error) {
	t.Helper()
	n := len(f.Columns())
	for _, everyOther := range []bool{false, true} {
		p := &Projection{Index: make([]int, n)}
		if everyOther {
			p.Skip = make([]bool, n)
		}
		for i := range p.Index {
			p.Index[i] = n - i // reversed, past a first place left alone
			if everyOther {
				p.Skip[i] = i%2 == 1
			}
		}
		dst := make(types.Row, n+1)
		err := f.(RowDecoder).DecodeRow(b, dst, p)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%s DecodeRow(%q, skip %v): error %v, but Decode's is %v", f.Name(), b, p.Skip, err, wantErr)
		}
		if err != nil {
			if !errors.Is(err, ErrDecode) {
				t.Fatalf("%s DecodeRow(%q): error %v does not wrap ErrDecode", f.Name(), b, err)
			}
			continue
		}
		if !dst[0].IsNull() {
			t.Fatalf("%s DecodeRow(%q) wrote outside its places", f.Name(), b)
		}
		for i := 0; i < n; i++ {
			got := dst[p.Index[i]]
			switch {
			case p.Skip != nil && p.Skip[i]:
				if !got.IsNull() {
					t.Fatalf("%s DecodeRow(%q): skipped column %d is %v", f.Name(), b, i, got)
				}
			case want == nil:
				if !got.IsNull() {
					t.Fatalf("%s DecodeRow(%q): column %d of a null record is %v", f.Name(), b, i, got)
				}
			case !sameValue(got, want[i]):
				t.Fatalf("%s DecodeRow(%q): column %d is %v, Decode's %v", f.Name(), b, i, got, want[i])
			}
		}
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"USERID":"a","VIEWTIME":9000}`,
		`{"b":true,"I":"42","l":-1,"D":1.5e300,"P":"12.5","S":{"k":[1,2]},"BY":"AAE=","TS":1,"A":["x",null],"M":{"k":[1,null]},"ST":{"x":1,"Y":{"3":false}}}`,
		`["a","b"]`, `"str"`, `null`, `{"S":"\ud83d\ude00\u0000"}`, `{"D":"NaN","P":1e2}`,
	} {
		f.Add([]byte(s))
	}
	wrapped, err := NewValueFormat("JSON", fuzzJSONCols, Props{})
	if err != nil {
		f.Fatal(err)
	}
	unwrapped, err := NewValueFormat("JSON", fuzzJSONCols[10:11], Props{WrapSingleValue: WrapOff})
	if err != nil {
		f.Fatal(err)
	}
	key, err := NewKeyFormat("JSON", fuzzJSONCols[5:6], Props{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecoder(t, wrapped, b)
		checkDecoder(t, unwrapped, b)
		checkDecoder(t, key, b)
	})
}

func FuzzDecodeDelimited(f *testing.F) {
	for _, s := range []string{
		`a,9000`, `true,1,2,1.5,-3.25,"x,""y""",AQI=,1,2,3`, `,,,,,,,,,`, `"",,,,,,,,,` + "\r\n",
		`TRUE,+7,-0,NaN,1e1,  s  ,,0,0,0`,
	} {
		f.Add([]byte(s))
	}
	cols := []types.Column{
		col("B", types.Boolean), col("I", types.Int), col("L", types.Bigint), col("D", types.Double),
		col("P", types.Decimal(10, 2)), col("S", types.String), col("BY", types.Bytes),
		col("TS", types.Timestamp), col("DT", types.Date), col("TM", types.Time),
	}
	comma, err := NewValueFormat("DELIMITED", cols, Props{})
	if err != nil {
		f.Fatal(err)
	}
	pipe, err := NewValueFormat("DELIMITED", pageviews, Props{ValueDelimiter: "|"})
	if err != nil {
		f.Fatal(err)
	}
	single, err := NewValueFormat("DELIMITED", pageviews[:1], Props{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecoder(t, comma, b)
		checkDecoder(t, pipe, b)
		checkDecoder(t, single, b)
	})
}
