package serde

import (
	"bytes"
	"math"
	"testing"

	"github.com/runnel/runnel/sql/types"
)

func TestKafkaBytes(t *testing.T) {
	tests := []struct {
		name string
		typ  types.Type
		v    types.Value
		want []byte
	}{
		{"bigint 42", types.Bigint, types.NewBigint(42), []byte{0, 0, 0, 0, 0, 0, 0, 0x2a}},
		{"bigint -1", types.Bigint, types.NewBigint(-1), bytes.Repeat([]byte{0xff}, 8)},
		{"int 42", types.Int, types.NewInt(42), []byte{0, 0, 0, 0x2a}},
		{"int min", types.Int, types.NewInt(math.MinInt32), []byte{0x80, 0, 0, 0}},
		{"double 1.5", types.Double, types.NewDouble(1.5), []byte{0x3f, 0xf8, 0, 0, 0, 0, 0, 0}},
		{"string", types.String, types.NewString("alice"), []byte("alice")},
		{"string empty", types.String, types.NewString(""), []byte{}},
		{"string utf8", types.String, types.NewString("é"), []byte{0xc3, 0xa9}},
		{"bytes", types.Bytes, types.NewBytes([]byte{0, 0xff}), []byte{0, 0xff}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, f := range []Format{
				mustKey(t, "KAFKA", []types.Column{col("K", tc.typ)}, Props{}),
				mustValue(t, "KAFKA", []types.Column{col("V", tc.typ)}, Props{}),
			} {
				b, err := f.Encode(types.Row{tc.v})
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(b, tc.want) || b == nil {
					t.Fatalf("Encode = % x, want % x", b, tc.want)
				}
				got, err := f.Decode(b)
				if err != nil {
					t.Fatal(err)
				}
				if !sameRow(got, types.Row{tc.v}) {
					t.Fatalf("Decode = %s, want %s", showRow(got), showValue(tc.v))
				}
			}
		})
	}
}

func TestKafkaNull(t *testing.T) {
	k := mustKey(t, "KAFKA", []types.Column{col("K", types.Bigint)}, Props{})
	if b, err := k.Encode(types.Row{types.NullValue}); b != nil || err != nil {
		t.Fatalf("Encode(NULL) = %x, %v; want nil", b, err)
	}
	if got, err := k.Decode(nil); err != nil || !sameRow(got, types.Row{types.NullValue}) {
		t.Fatalf("key Decode(nil) = %s, %v", showRow(got), err)
	}
	v := mustValue(t, "KAFKA", []types.Column{col("V", types.String)}, Props{})
	if got, err := v.Decode(nil); err != nil || got != nil {
		t.Fatalf("value Decode(nil) = %s, %v; want a tombstone", showRow(got), err)
	}
}

func TestKafkaDecodeErrors(t *testing.T) {
	tests := []struct {
		typ  types.Type
		in   []byte
		frag string
	}{
		{types.Bigint, []byte{1, 2, 3}, "BIGINT needs 8 bytes, got 3"},
		{types.Bigint, []byte{}, "got 0"},
		{types.Int, []byte{0, 0, 0, 0, 0, 0, 0, 1}, "INT needs 4 bytes, got 8"},
		{types.Double, []byte{1}, "DOUBLE needs 8 bytes"},
	}
	for _, tc := range tests {
		f := mustKey(t, "KAFKA", []types.Column{col("ID", tc.typ)}, Props{})
		_, err := f.Decode(tc.in)
		wantDecodeErr(t, err, "key column ID", tc.frag)
	}
	// Invalid UTF-8 is replaced, as Java's decoder does, not an error.
	f := mustKey(t, "KAFKA", []types.Column{col("ID", types.String)}, Props{})
	got, err := f.Decode([]byte{'a', 0xff})
	if err != nil || !sameRow(got, types.Row{types.NewString("a\uFFFD")}) {
		t.Fatalf("Decode(invalid UTF-8) = %s, %v", showRow(got), err)
	}
}
