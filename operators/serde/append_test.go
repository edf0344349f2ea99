package serde

import (
	"bytes"
	"testing"
	"unsafe"

	"github.com/runnel/runnel/sql/types"
)

// TestAppendEncode: AppendEncode appends exactly what Encode returns, for
// every format, after what dst held; reports a null encoding as null; and
// leaves dst as it was on an error.
func TestAppendEncode(t *testing.T) {
	two := []types.Column{col("A", types.Bigint), col("S", types.String)}
	one := []types.Column{col("S", types.String)}
	for _, tc := range []struct {
		name   string
		format string
		cols   []types.Column
		props  Props
		row    types.Row
		null   bool
	}{
		{"JSON row", "JSON", two, Props{}, types.Row{types.NewBigint(7), types.NewString(`quote " back \ é`)}, false},
		{"JSON NULLs", "JSON", two, Props{}, types.Row{types.NullValue, types.NullValue}, false},
		{"JSON nil row", "JSON", two, Props{}, nil, true},
		{"JSON bare NULL", "JSON", one, Props{WrapSingleValue: WrapOff}, types.Row{types.NullValue}, true},
		{"JSON bare empty string", "JSON", one, Props{WrapSingleValue: WrapOff}, types.Row{types.NewString("")}, false},
		{"DELIMITED", "DELIMITED", two, Props{}, types.Row{types.NewBigint(-1), types.NewString("a,b")}, false},
		{"KAFKA", "KAFKA", one, Props{}, types.Row{types.NewString("k")}, false},
		{"KAFKA empty string", "KAFKA", one, Props{}, types.Row{types.NewString("")}, false},
		{"KAFKA NULL", "KAFKA", one, Props{}, types.Row{types.NullValue}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := mustValue(t, tc.format, tc.cols, tc.props)
			want, err := f.Encode(tc.row)
			if err != nil {
				t.Fatal(err)
			}
			prefix := []byte("prefix|")
			out, null, err := f.(AppendEncoder).AppendEncode(append([]byte(nil), prefix...), tc.row)
			if err != nil {
				t.Fatal(err)
			}
			if null != tc.null || null != (want == nil) {
				t.Fatalf("null = %v, want %v (Encode gave %q)", null, tc.null, want)
			}
			if !bytes.HasPrefix(out, prefix) {
				t.Fatalf("dst's bytes lost: %q", out)
			}
			if got := out[len(prefix):]; !null && !bytes.Equal(got, want) {
				t.Fatalf("appended %q, Encode gives %q", got, want)
			}
			if null && len(out) != len(prefix) {
				t.Fatalf("a null encoding appended %q", out[len(prefix):])
			}
		})
	}
	t.Run("error", func(t *testing.T) {
		f := mustValue(t, "JSON", two, Props{})
		dst := []byte("keep")
		out, _, err := f.(AppendEncoder).AppendEncode(dst, types.Row{types.NewBigint(1)})
		if err == nil || string(out) != "keep" {
			t.Fatalf("a short row: %q, %v", out, err)
		}
	})
}

// TestDecodeRowAlias: with Projection.Alias, JSON strings without escapes
// share the record's bytes, and every value is the one a copying decode
// gives.
func TestDecodeRowAlias(t *testing.T) {
	cols := []types.Column{col("A", types.String), col("B", types.String), col("C", types.Array(types.String)), col("N", types.Bigint)}
	f := mustValue(t, "JSON", cols, Props{})
	b := []byte(`{"A":"plain text","B":"esc\"aped\u00e9","C":["x","yz"],"N":12}`)
	copied := make(types.Row, 4)
	aliased := make(types.Row, 4)
	idx := []int{0, 1, 2, 3}
	if err := f.(RowDecoder).DecodeRow(b, copied, &Projection{Index: idx}); err != nil {
		t.Fatal(err)
	}
	if err := f.(RowDecoder).DecodeRow(b, aliased, &Projection{Index: idx, Alias: true}); err != nil {
		t.Fatal(err)
	}
	if !sameRow(copied, aliased) {
		t.Fatalf("aliased %s, copied %s", showRow(aliased), showRow(copied))
	}
	within := func(s string) bool {
		p, lo := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(&b[0]))
		return p >= lo && p < lo+uintptr(len(b))
	}
	if !within(aliased[0].Str()) || !within(aliased[2].List()[1].Str()) {
		t.Fatalf("plain strings were copied under Alias")
	}
	if within(copied[0].Str()) {
		t.Fatalf("a string shares the record's bytes without Alias")
	}
	if within(aliased[1].Str()) {
		t.Fatalf("an unescaped string cannot be a slice of the record")
	}
}
