package agg

import (
	"strings"
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// TestCollectCaps: COLLECT_LIST, COLLECT_SET and HISTOGRAM keep at most
// CollectLimit values (distinct ones for the last two) and CollectMaxBytes
// bytes; further values are ignored without an error, as ksqlDB ignores
// values past ksql.functions.collect_list.limit; retracting an ignored
// value is ignored too, and a merge fills only up to the cap.
func TestCollectCaps(t *testing.T) {
	for _, tc := range []struct {
		fn     string
		arg    types.Type
		result func(types.Value) int
	}{
		{"COLLECT_LIST", types.Int, func(v types.Value) int { return len(v.List()) }},
		{"COLLECT_SET", types.Int, func(v types.Value) int { return len(v.List()) }},
		{"HISTOGRAM", types.String, func(v types.Value) int { return v.MapLen() }},
	} {
		t.Run(tc.fn, func(t *testing.T) {
			f, err := Resolve(tc.fn, []types.Type{tc.arg}, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			val := func(i int) types.Value {
				if tc.arg.Kind == types.KindString {
					return types.NewString(strings.Repeat("v", i%7) + string(rune('a'+i%26)) + string(rune('A'+i/26%26)) + string(rune('0'+i/676)))
				}
				return types.NewInt(int32(i))
			}
			a := f.New()
			for i := range CollectLimit + 500 {
				if err := a.Add([]types.Value{val(i)}); err != nil {
					t.Fatalf("Add past the cap: %v", err)
				}
			}
			if n := tc.result(a.Result()); n != CollectLimit {
				t.Fatalf("%d values kept, want %d", n, CollectLimit)
			}
			// An ignored value retracts to nothing; a kept one leaves room
			// for one more.
			if err := a.Retract([]types.Value{val(CollectLimit + 10)}); err != nil {
				t.Fatalf("retracting an ignored value: %v", err)
			}
			if n := tc.result(a.Result()); n != CollectLimit {
				t.Fatalf("after retracting an ignored value: %d values", n)
			}
			if err := a.Retract([]types.Value{val(0)}); err != nil {
				t.Fatal(err)
			}
			if err := a.Add([]types.Value{val(CollectLimit + 20)}); err != nil {
				t.Fatal(err)
			}
			if n := tc.result(a.Result()); n != CollectLimit {
				t.Fatalf("after a retract and an add: %d values", n)
			}
			// A merge fills up to the cap and no further, and survives
			// encoding.
			b := f.New()
			for i := range CollectLimit / 2 {
				_ = b.Add([]types.Value{val(i)})
			}
			c := f.New()
			for i := CollectLimit; i < 2*CollectLimit; i++ {
				_ = c.Add([]types.Value{val(i)})
			}
			if err := b.Merge(c); err != nil {
				t.Fatal(err)
			}
			if n := tc.result(b.Result()); n != CollectLimit {
				t.Fatalf("merge: %d values, want %d", n, CollectLimit)
			}
			d, err := f.Decode(b.AppendEncode(nil))
			if err != nil {
				t.Fatal(err)
			}
			_ = d.Add([]types.Value{val(5 * CollectLimit)})
			if n := tc.result(d.Result()); n != CollectLimit {
				t.Fatalf("decoded then added: %d values", n)
			}
		})
	}
}

// TestCollectByteCap: large values stop being kept at CollectMaxBytes.
func TestCollectByteCap(t *testing.T) {
	for _, fn := range []string{"COLLECT_LIST", "COLLECT_SET"} {
		f, err := Resolve(fn, []types.Type{types.String}, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		a := f.New()
		const mib = 1 << 20
		for i := range 40 {
			_ = a.Add([]types.Value{types.NewString(strings.Repeat(string(rune('a'+i)), mib))})
		}
		got := a.Result()
		if n := len(got.List()); n != CollectMaxBytes/mib-1 {
			t.Errorf("%s kept %d values of 1 MiB, want %d", fn, n, CollectMaxBytes/mib-1)
		}
		if got.Size() > CollectMaxBytes+1024 {
			t.Errorf("%s result of %d bytes", fn, got.Size())
		}
	}
}
