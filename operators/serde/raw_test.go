package serde

import (
	"bytes"
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// TestRawPassThrough: for each record, decoding with the columns' text
// kept (and the copied columns not built) then writing that text gives
// exactly the bytes that decoding everything and encoding it gives; and
// text is kept exactly when it is canonical.
func TestRawPassThrough(t *testing.T) {
	cols := []types.Column{col("B", types.Bigint), col("I", types.Int), col("S", types.String), col("T", types.Boolean),
		col("TS", types.Timestamp), col("D", types.Double), col("A", types.Array(types.Int))}
	f := mustValue(t, "JSON", cols, Props{})
	for _, tc := range []struct {
		in   string
		kept string // per column: k kept, - not
	}{
		{`{"B":1,"I":-2,"S":"x","T":true,"TS":1436918400000,"D":1.5,"A":[1]}`, "kkkkk--"},
		{`{"b":0,"i":2147483647,"s":"q\"b\\s\n\t\r\b\f","t":false,"ts":-5}`, "kkkkk--"},
		{`{"B":-0,"I":"3","S":"\/","T":true,"TS":"5"}`, "---k---"},
		{`{"B":1.0e0,"S":"\u0041","T":null,"TS":null}`, "---kk--"},
		{`{"B":null,"I":null,"S":null}`, "kkk----"},
		{`{"S":7,"B":12}`, "k------"},
		{`{"S":"é€𝄞","B":9223372036854775807}`, "k-k----"},
		{`{"S":"first","S":"\u0041"}`, "-------"}, // the later member counts
		{`{"S":"\u0041","S":"second"}`, "--k----"},
		{`{ "B" : 5 , "S" : "sp" }`, "k-k----"},
		{`{}`, "-------"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			idx := []int{0, 1, 2, 3, 4, 5, 6}
			full := make(types.Row, len(cols))
			if err := f.(RowDecoder).DecodeRow([]byte(tc.in), full, &Projection{Index: idx}); err != nil {
				t.Fatal(err)
			}
			want, err := f.Encode(full)
			if err != nil {
				t.Fatal(err)
			}
			wantRaw := []bool{true, true, true, true, true, true, true}
			skip := []bool{true, true, true, true, true, false, false}
			row := make(types.Row, len(cols))
			raw := make([][]byte, len(cols))
			if err := f.(RawDecoder).DecodeRowRaw([]byte(tc.in), row, &Projection{Index: idx, Skip: skip}, wantRaw, raw); err != nil {
				t.Fatal(err)
			}
			kept := make([]byte, len(cols))
			for i := range raw {
				kept[i] = '-'
				if raw[i] != nil {
					kept[i] = 'k'
					if !row[i].IsNull() {
						t.Errorf("column %s: built although its text was kept", cols[i].Name)
					}
				} else if !sameValue(row[i], full[i]) {
					t.Errorf("column %s: %s without its text, want %s", cols[i].Name, showValue(row[i]), showValue(full[i]))
				}
			}
			if string(kept) != tc.kept {
				t.Errorf("kept %s, want %s", kept, tc.kept)
			}
			got, null, err := f.(RawEncoder).AppendEncodeRaw(nil, row, raw)
			if err != nil || null {
				t.Fatal(null, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("passed through %s\nencoded afresh  %s", got, want)
			}
		})
	}
	// Text for the wrong number of columns is refused, never ignored: a
	// column given as text may hold no value.
	if _, _, err := f.(RawEncoder).AppendEncodeRaw(nil, make(types.Row, len(cols)), make([][]byte, 2)); err == nil {
		t.Fatal("AppendEncodeRaw took text for 2 columns of 7")
	}
	if err := f.(RawDecoder).DecodeRowRaw([]byte(`{}`), make(types.Row, len(cols)), &Projection{Index: []int{0, 1, 2, 3, 4, 5, 6}},
		make([]bool, 2), make([][]byte, 2)); err == nil {
		t.Fatal("DecodeRowRaw took marks for 2 columns of 7")
	}
	if PassesRaw(mustValue(t, "DELIMITED", cols[:3], Props{})) || !PassesRaw(f) ||
		PassesRaw(mustValue(t, "JSON", cols[:1], Props{WrapSingleValue: WrapOff})) {
		t.Fatal("PassesRaw: only a wrapped JSON passes text")
	}
}
