package operators

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// TestGroupIntKeyAsKeyFormat checks that a key of INT and BIGINT columns,
// written directly (GroupCodec.appendKey), is the JSON key format's
// encoding byte for byte, and decodes back to its values: the key bytes
// are state keys and repartition keys that older binaries wrote with the
// key format.
func TestGroupIntKeyAsKeyFormat(t *testing.T) {
	edges := []int64{0, 1, -1, 9, 10, -10, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64}
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := [][]types.Type{
		{types.Bigint},
		{types.Int},
		{types.Bigint, types.Bigint},
		{types.Int, types.Bigint, types.Int},
		make([]types.Type, 12), // G10 and G11: two-digit names
	}
	for i := range shapes[4] {
		shapes[4][i] = types.Bigint
	}
	for _, ts := range shapes {
		c, err := NewGroupCodec(ts, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.intKey == nil {
			t.Fatalf("%v: no direct integer key", ts)
		}
		generic := c.key
		for n := range 2000 {
			key := make(types.Row, len(ts))
			for i, ty := range ts {
				var v int64
				switch {
				case n < len(edges):
					v = edges[(n+i)%len(edges)]
				default:
					v = rng.Int64() >> rng.IntN(64)
					if rng.IntN(2) == 0 {
						v = -v
					}
				}
				if ty.Kind == types.KindInt {
					key[i] = types.NewInt(int32(v))
				} else {
					key[i] = types.NewBigint(v)
				}
			}
			want, err := generic.Encode(key)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.EncodeKey(key)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%v: key %v written %q, the key format writes %q", ts, key, got, want)
			}
			app, err := c.appendKey([]byte("prefix"), key)
			if err != nil || string(app) != "prefix"+string(want) {
				t.Fatalf("appendKey after a prefix: %q, %v; want prefix%q", app, err, want)
			}
			back, err := c.DecodeKey(got)
			if err != nil {
				t.Fatal(err)
			}
			for i := range key {
				if back[i].Int() != key[i].Int() {
					t.Fatalf("%v: key %v decoded back as %v", ts, key, back)
				}
			}
		}
	}
}

// TestGroupKeyNotIntegers checks that a key with another column type, or
// a NULL value, goes to the key format's encoder.
func TestGroupKeyNotIntegers(t *testing.T) {
	c, err := NewGroupCodec([]types.Type{types.Bigint, types.String}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.intKey != nil {
		t.Fatal("a key with a STRING column is written directly")
	}
	key := types.Row{types.NewBigint(7), types.NewString("a")}
	got, err := c.EncodeKey(key)
	if err != nil || string(got) != `{"G0":7,"G1":"a"}` {
		t.Fatalf("key %q, %v", got, err)
	}
	ci, err := NewGroupCodec([]types.Type{types.Bigint, types.Bigint}, nil)
	if err != nil {
		t.Fatal(err)
	}
	nullKey := types.Row{types.NewBigint(7), {}}
	want, wantErr := ci.key.Encode(nullKey)
	got, err = ci.EncodeKey(nullKey)
	if !bytes.Equal(got, want) || (err == nil) != (wantErr == nil) {
		t.Fatalf("NULL column: %q, %v; the key format: %q, %v", got, err, want, wantErr)
	}
}
