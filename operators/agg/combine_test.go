package agg

import (
	"math/rand/v2"
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// TestCombines: the functions that say they combine give, folded in two
// parts that are then merged (the second part through its encoding, as a
// partial travels, restored by DecodeInto into a reused accumulator),
// what folding every row in order gives; those that cannot (SUM, AVG,
// order- or set-keeping ones, DISTINCT sets) say so.
func TestCombines(t *testing.T) {
	type call struct {
		name     string
		args     []types.Type
		distinct bool
	}
	for _, c := range []call{{"SUM", []types.Type{types.Bigint}, false}, {"SUM", []types.Type{types.Double}, false},
		{"AVG", []types.Type{types.Bigint}, false}, {"LATEST_BY_OFFSET", []types.Type{types.Bigint}, false},
		{"COLLECT_LIST", []types.Type{types.Bigint}, false}, {"COUNT", []types.Type{types.Bigint}, true}} {
		f, err := Resolve(c.name, c.args, nil, c.distinct)
		if err != nil {
			t.Fatal(err)
		}
		if Combines(f) {
			t.Errorf("%s (distinct %v) says it combines", c.name, c.distinct)
		}
	}
	rng := rand.New(rand.NewPCG(3, 3))
	for _, c := range []call{{"COUNT", nil, false}, {"COUNT", []types.Type{types.Bigint}, false},
		{"MIN", []types.Type{types.Bigint}, false}, {"MAX", []types.Type{types.Bigint}, false},
		{"MIN", []types.Type{types.String}, false}, {"MAX", []types.Type{types.Double}, false}} {
		f, err := Resolve(c.name, c.args, nil, c.distinct)
		if err != nil {
			t.Fatal(err)
		}
		if !Combines(f) {
			t.Fatalf("%s does not combine", c.name)
		}
		scratch := f.New()
		for round := range 200 {
			whole, head, tail := f.New(), f.New(), f.New()
			n := rng.IntN(20)
			cut := rng.IntN(n + 1)
			for i := range n {
				var args []types.Value
				if len(c.args) == 1 {
					var v types.Value
					switch c.args[0].Kind {
					case types.KindString:
						v = types.NewString(string(rune('a' + rng.IntN(26))))
					case types.KindDouble:
						v = types.NewDouble(rng.NormFloat64())
					default:
						v = types.NewBigint(rng.Int64N(100) - 50)
					}
					if rng.IntN(4) == 0 {
						v = types.NullValue
					}
					args = []types.Value{v}
				}
				part := head
				if i >= cut {
					part = tail
				}
				if err := whole.Add(args); err != nil {
					t.Fatal(err)
				}
				if err := part.Add(args); err != nil {
					t.Fatal(err)
				}
			}
			if scratch, err = DecodeInto(f, scratch, tail.AppendEncode(nil)); err != nil {
				t.Fatal(err)
			}
			if err := head.Merge(scratch); err != nil {
				t.Fatal(err)
			}
			if got, want := head.Result(), whole.Result(); types.Compare(got, want) != 0 || got.IsNull() != want.IsNull() {
				t.Fatalf("%s(%v) round %d: combined %v, in order %v", c.name, c.args, round, got, want)
			}
		}
		if _, err := DecodeInto(f, scratch, []byte{0xff}); err == nil {
			t.Errorf("%s: DecodeInto of a corrupt state did not fail", c.name)
		}
	}
}

// TestReuse: an accumulator of a combining function that has taken rows
// is, once reused, the one New makes (its result and its encoding), in
// place; one of another function is replaced by a new one.
func TestReuse(t *testing.T) {
	for _, c := range []struct {
		name string
		args []types.Type
		arg  types.Value
	}{{"COUNT", nil, types.NullValue}, {"COUNT", []types.Type{types.Bigint}, types.NewBigint(7)},
		{"MIN", []types.Type{types.String}, types.NewString("x")}, {"MAX", []types.Type{types.Bigint}, types.NewBigint(-3)},
		{"SUM", []types.Type{types.Bigint}, types.NewBigint(5)}} {
		f, err := Resolve(c.name, c.args, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		var args []types.Value
		if len(c.args) == 1 {
			args = []types.Value{c.arg}
		}
		acc := f.New()
		for range 3 {
			if err := acc.Add(args); err != nil {
				t.Fatal(err)
			}
		}
		fresh := f.New()
		if string(acc.AppendEncode(nil)) == string(fresh.AppendEncode(nil)) {
			t.Fatalf("%s: three rows encode as none", c.name)
		}
		got := Reuse(f, acc)
		if (got == acc) != Combines(f) {
			t.Errorf("%s: reused in place %v, want %v", c.name, got == acc, Combines(f))
		}
		if string(got.AppendEncode(nil)) != string(fresh.AppendEncode(nil)) || !types.Equal(got.Result(), fresh.Result()) {
			t.Errorf("%s: reused %v (%x), want %v (%x)", c.name, got.Result(), got.AppendEncode(nil), fresh.Result(), fresh.AppendEncode(nil))
		}
		if err := got.Add(args); err != nil {
			t.Fatal(err)
		}
		if err := fresh.Add(args); err != nil {
			t.Fatal(err)
		}
		if string(got.AppendEncode(nil)) != string(fresh.AppendEncode(nil)) {
			t.Errorf("%s: a row after the reuse encodes %x, want %x", c.name, got.AppendEncode(nil), fresh.AppendEncode(nil))
		}
	}
}
