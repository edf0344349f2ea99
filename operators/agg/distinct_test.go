package agg

import (
	"math/rand/v2"
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// TestDistinctOf: a DISTINCT aggregate's inner aggregate, fed each value
// when its count leaves zero and retracted when it returns there, gives
// the DISTINCT aggregate's result, over random adds and retractions.
func TestDistinctOf(t *testing.T) {
	for _, tc := range []struct {
		name     string
		distinct bool
		t        types.Type
		inner    bool
	}{
		{"COUNT", true, types.Bigint, true},
		{"COUNT_DISTINCT", false, types.Bigint, true},
		{"SUM", true, types.Bigint, true},
		{"AVG", true, types.Double, true},
		{"COLLECT_LIST", true, types.Bigint, true},
		{"COUNT", false, types.Bigint, false},
		{"SUM", false, types.Bigint, false},
		{"COLLECT_SET", false, types.Bigint, false},
		{"HISTOGRAM", false, types.String, false},
	} {
		f, err := Resolve(tc.name, []types.Type{tc.t}, nil, tc.distinct)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		inner, ok := DistinctOf(f)
		if ok != tc.inner {
			t.Fatalf("%s (distinct %v): DistinctOf ok = %v", tc.name, tc.distinct, ok)
		}
		if !ok {
			continue
		}
		full, in := f.New(), inner.New()
		counts := map[int64]int{}
		r := rand.New(rand.NewPCG(1, 2))
		var added []int64
		for step := 0; step < 2000; step++ {
			val := func(x int64) types.Value {
				if tc.t.Kind == types.KindDouble {
					return types.NewDouble(float64(x))
				}
				return types.NewBigint(x)
			}
			if len(added) > 0 && r.IntN(3) == 0 {
				i := r.IntN(len(added))
				x := added[i]
				added = append(added[:i], added[i+1:]...)
				args := []types.Value{val(x)}
				if err := full.Retract(args); err != nil {
					t.Fatalf("%s: retract %d: %v", tc.name, x, err)
				}
				if counts[x]--; counts[x] == 0 {
					if err := in.Retract(args); err != nil {
						t.Fatalf("%s: inner retract %d: %v", tc.name, x, err)
					}
				}
			} else {
				x := int64(r.IntN(50))
				added = append(added, x)
				args := []types.Value{val(x)}
				if err := full.Add(args); err != nil {
					t.Fatal(err)
				}
				if counts[x]++; counts[x] == 1 {
					if err := in.Add(args); err != nil {
						t.Fatal(err)
					}
				}
			}
			if a, b := full.Result(), in.Result(); types.Compare(a, b) != 0 && !(a.IsNull() && b.IsNull()) {
				t.Fatalf("%s step %d: DISTINCT gives %v, inner over distinct values %v", tc.name, step, a, b)
			}
		}
	}
}
