package agg

import (
	"encoding/binary"
	"sort"

	"github.com/runnel/runnel/sql/types"
)

// TOPK(col, k) keeps the k largest values, duplicates included;
// TOPKDISTINCT(col, k) the k largest distinct values. Both return them in
// descending order. Merge is exact (the top k of a union is the top k of
// the two top-k lists); neither is retractable, since a value that left
// the top k is forgotten.

type topkAcc struct {
	name     string
	k        int
	distinct bool
	vals     []types.Value // descending, at most k
}

var _ Accumulator = (*topkAcc)(nil)

func newTopkFunc(name string, k int, distinct bool, t types.Type) *function {
	return &function{
		name: name, result: types.Array(t),
		newAcc: func() Accumulator { return &topkAcc{name: name, k: k, distinct: distinct} },
		decodeFrom: func(d *decoder) Accumulator {
			a := &topkAcc{name: name, k: k, distinct: distinct}
			n := d.count(1)
			if n > k {
				d.fail("more values than k")
				return a
			}
			for i := 0; i < n && d.err == nil; i++ {
				v := d.value()
				if v.IsNull() {
					d.fail("NULL in TOPK state")
				}
				if i > 0 {
					c := compareValues(a.vals[i-1], v)
					if c < 0 || distinct && c == 0 {
						d.fail("TOPK state out of order")
					}
				}
				a.vals = append(a.vals, v)
			}
			return a
		},
	}
}

func (a *topkAcc) offer(x types.Value) {
	if x.IsNull() {
		return
	}
	// First position whose value is smaller than x (or, for distinct,
	// not larger, to find an equal one).
	i := sort.Search(len(a.vals), func(i int) bool {
		c := compareValues(a.vals[i], x)
		return c < 0 || a.distinct && c == 0
	})
	if a.distinct && i < len(a.vals) && compareValues(a.vals[i], x) == 0 {
		return
	}
	if i >= a.k {
		return
	}
	if len(a.vals) < a.k {
		a.vals = append(a.vals, types.NullValue)
	}
	copy(a.vals[i+1:], a.vals[i:len(a.vals)-1])
	a.vals[i] = x
}

func (a *topkAcc) Add(args []types.Value) error {
	if len(args) != 1 {
		return errArity(a.name, 1, len(args))
	}
	a.offer(args[0])
	return nil
}

func (a *topkAcc) Retract([]types.Value) error { return errNotRetractable(a.name) }

func (a *topkAcc) Merge(other Accumulator) error {
	o, ok := other.(*topkAcc)
	if !ok || o.k != a.k || o.distinct != a.distinct {
		return errMerge(a.name, other)
	}
	for _, v := range o.vals {
		a.offer(v)
	}
	return nil
}

func (a *topkAcc) Result() types.Value {
	return types.NewArray(append([]types.Value(nil), a.vals...))
}

func (a *topkAcc) AppendEncode(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(a.vals)))
	for _, v := range a.vals {
		dst = AppendValue(dst, v)
	}
	return dst
}
