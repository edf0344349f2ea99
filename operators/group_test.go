package operators

import (
	"math/big"
	"strings"
	"testing"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/sql/types"
)

// TestGroupCodecRoundTrip: a group input written to the repartition topic
// reads back, through Decode and through Input (which leaves the key to
// the Aggregator), with the same arguments, kinds and flag; values of the
// JSON layout written before the binary one still read; a damaged binary
// value is an error, not a wrong row.
func TestGroupCodecRoundTrip(t *testing.T) {
	dec := types.Decimal(10, 2)
	argTypes := [][]types.Type{nil, {types.Bigint}, {types.Int, types.Double}, {types.String}, {dec}, {types.Boolean}, {types.Array(types.Bigint)}}
	codec, err := NewGroupCodec([]types.Type{types.Bigint, types.String}, argTypes)
	if err != nil {
		t.Fatal(err)
	}
	key := types.Row{types.NewBigint(1007), types.NewString("2015-07-15")}
	kb, err := codec.EncodeKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    [][]types.Value
		retract bool
	}{
		{"values", [][]types.Value{nil, {types.NewBigint(-5)}, {types.NewInt(7), types.NewDouble(0.1)}, {types.NewString("a \"b\" é")},
			{types.NewDecimal(big.NewInt(-12345), 2)}, {types.NewBoolean(true)}, {types.NewArray([]types.Value{types.NewBigint(1), types.NullValue})}}, false},
		{"nulls, retracted", [][]types.Value{nil, {types.NullValue}, {types.NullValue, types.NullValue}, {types.NullValue},
			{types.NullValue}, {types.NullValue}, {types.NullValue}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := GroupInput{Key: key, KeyBytes: kb, Args: tc.args, Time: 42, Retract: tc.retract}
			rec, err := codec.Encode(&in)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Value[0] != groupValueBinary {
				t.Fatalf("value %x is not in the binary layout", rec.Value)
			}
			var vals types.Row
			for _, a := range tc.args {
				vals = append(vals, a...)
			}
			jsonValue, err := codec.value.Encode(append(vals, types.NewBoolean(tc.retract)))
			if err != nil {
				t.Fatal(err)
			}
			old := log.Record{Key: kb, Value: jsonValue, Timestamp: 42}
			check := func(what string, got GroupInput, wantKey bool) {
				t.Helper()
				if got.Retract != tc.retract || got.Time != 42 || string(got.KeyBytes) != string(kb) {
					t.Fatalf("%s: retract %v time %d key %q", what, got.Retract, got.Time, got.KeyBytes)
				}
				if wantKey != (got.Key != nil) || (wantKey && (len(got.Key) != 2 || !types.Equal(got.Key[0], key[0]) || !types.Equal(got.Key[1], key[1]))) {
					t.Fatalf("%s: key %v", what, got.Key)
				}
				if len(got.Args) != len(tc.args) {
					t.Fatalf("%s: %d calls, want %d", what, len(got.Args), len(tc.args))
				}
				for i := range tc.args {
					for j, want := range tc.args[i] {
						g := got.Args[i][j]
						if g.Kind() != want.Kind() || !types.Equal(g, want) {
							t.Fatalf("%s: argument %d.%d is %v (%v), want %v (%v)", what, i, j, g, g.Kind(), want, want.Kind())
						}
					}
				}
			}
			got, err := codec.Decode(&rec)
			if err != nil {
				t.Fatal(err)
			}
			check("Decode", got, true)
			got, ok, err := codec.Input(&rec)
			if err != nil || !ok {
				t.Fatal(err)
			}
			check("Input", got, false)
			got, err = codec.Decode(&old)
			if err != nil {
				t.Fatal(err)
			}
			check("Decode of JSON", got, true)
			// Re-encoding a decoded input (a table's retraction) writes
			// the same bytes with the flag set.
			got.Retract = true
			again, err := codec.Encode(&got)
			if err != nil {
				t.Fatal(err)
			}
			if want := append(rec.Value[:len(rec.Value)-1:len(rec.Value)-1], 1); string(again.Value) != string(want) {
				t.Fatalf("re-encoded as %x, want %x", again.Value, want)
			}
			for _, bad := range [][]byte{rec.Value[:len(rec.Value)-1], append(rec.Value[:len(rec.Value):len(rec.Value)], 0), rec.Value[:3], {groupValueBinary}} {
				if _, _, err := codec.Input(&log.Record{Key: kb, Value: bad}); err == nil {
					t.Errorf("damaged value %x read without an error", bad)
				}
			}
		})
	}
}

// TestGroupCodecEncodeOnce: a repartition value is encoded into one
// buffer, made large enough for the row's strings, so that a row with a
// wide one (a LATEST_BY_OFFSET of Nexmark's bid extra) costs one
// allocation, not a second to grow it; an update's two rows alike.
func TestGroupCodecEncodeOnce(t *testing.T) {
	argTypes := [][]types.Type{{types.Bigint}, {types.String}, {types.Bigint}}
	codec, err := NewGroupCodec([]types.Type{types.String}, argTypes)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := codec.EncodeKey(types.Row{types.NewString("0/1")})
	if err != nil {
		t.Fatal(err)
	}
	row := func(s string) [][]types.Value {
		return [][]types.Value{{types.NewBigint(1_436_918_400_123)}, {types.NewString(s)}, {types.NewBigint(-1)}}
	}
	wide := strings.Repeat("extra ", 50)
	for _, in := range []GroupInput{
		{KeyBytes: kb, Args: row(wide), Time: 1},
		{KeyBytes: kb, Args: row(wide), Prev: row(wide + wide), Time: 1},
	} {
		var rec log.Record
		allocs := testing.AllocsPerRun(100, func() {
			if rec, err = codec.Encode(&in); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 1 {
			t.Errorf("encoding a value of %d bytes took %.0f allocations, want 1", len(rec.Value), allocs)
		}
		back, err := codec.Decode(&rec)
		if err != nil {
			t.Fatal(err)
		}
		if got := back.Args[1][0].Str(); got != wide || (in.Prev != nil) != (back.Prev != nil) {
			t.Fatalf("decoded %d bytes of the string, update %v", len(got), back.Prev != nil)
		}
	}
}
