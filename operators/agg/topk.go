package agg

import (
	"encoding/binary"
	"sort"
	"strconv"

	"github.com/runnel/runnel/sql/types"
)

// TOPK(col, k) keeps the k largest values, duplicates included;
// TOPKDISTINCT(col, k) the k largest distinct values. Both return them in
// descending order. Merge is exact (the top k of a union is the top k of
// the two top-k lists); neither is retractable, since a value that left
// the top k is forgotten.
//
// TOPK(col, other1, ..., k), ksqlDB 0.29's form with other columns,
// keeps the rows of the k largest values of col: each a STRUCT of
// sort_col (col) and col0, col1, ... (the others, as ksqlDB names
// them), ordered by sort_col alone, earlier rows first among equal ones.

type topkAcc struct {
	name     string
	k        int
	distinct bool
	// others is the number of other columns: the values are then STRUCTs
	// whose first field is the sort value.
	others int
	vals   []types.Value // descending, at most k
}

// sortKey is what a kept value is ordered by.
func (a *topkAcc) sortKey(v types.Value) types.Value {
	if a.others > 0 {
		return v.List()[0]
	}
	return v
}

// topkStruct is the result's element type of TOPK with other columns.
func topkStruct(t types.Type, others []types.Type) types.Type {
	fields := []types.Field{{Name: "sort_col", Type: t}}
	for i, o := range others {
		fields = append(fields, types.Field{Name: "col" + strconv.Itoa(i), Type: o})
	}
	return types.Struct(fields...)
}

var _ Accumulator = (*topkAcc)(nil)

func newTopkFunc(name string, k int, distinct bool, t types.Type, others []types.Type) *function {
	elem, cols := t, len(others)
	if cols > 0 {
		elem = topkStruct(t, others)
	}
	return &function{
		name: name, result: types.Array(elem),
		newAcc: func() Accumulator { return &topkAcc{name: name, k: k, distinct: distinct, others: cols} },
		decodeFrom: func(d *decoder) Accumulator {
			a := &topkAcc{name: name, k: k, distinct: distinct, others: cols}
			n := d.count(1)
			if n > k {
				d.fail("more values than k")
				return a
			}
			for i := 0; i < n && d.err == nil; i++ {
				v := d.value()
				if v.IsNull() || cols > 0 && (v.Kind() != types.KindStruct || len(v.List()) != cols+1 || v.List()[0].IsNull()) {
					d.fail("NULL in TOPK state")
					return a
				}
				if i > 0 {
					c := compareValues(a.sortKey(a.vals[i-1]), a.sortKey(v))
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

// offer keeps x (a sort value, or with other columns a STRUCT whose
// first field is one) if it is among the k largest.
func (a *topkAcc) offer(x types.Value) {
	if x.IsNull() {
		return
	}
	key := a.sortKey(x)
	if key.IsNull() {
		return
	}
	// First position whose value is smaller than x (or, for distinct,
	// not larger, to find an equal one).
	i := sort.Search(len(a.vals), func(i int) bool {
		c := compareValues(a.sortKey(a.vals[i]), key)
		return c < 0 || a.distinct && c == 0
	})
	if a.distinct && i < len(a.vals) && compareValues(a.sortKey(a.vals[i]), key) == 0 {
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
	if len(args) != 1+a.others {
		return errArity(a.name, 1+a.others, len(args))
	}
	if a.others == 0 {
		a.offer(args[0])
		return nil
	}
	if args[0].IsNull() {
		return nil
	}
	a.offer(types.NewStruct(append([]types.Value(nil), args...)))
	return nil
}

func (a *topkAcc) Retract([]types.Value) error { return errNotRetractable(a.name) }

func (a *topkAcc) Merge(other Accumulator) error {
	o, ok := other.(*topkAcc)
	if !ok || o.k != a.k || o.distinct != a.distinct || o.others != a.others {
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
