package agg

import (
	"encoding/binary"

	"github.com/runnel/runnel/sql/types"
)

// COLLECT_LIST keeps the non-NULL values in arrival order, up to
// CollectLimit values and CollectMaxBytes bytes: as ksqlDB does at its
// ksql.functions.collect_list.limit, values past the cap are ignored
// silently (the row is not an error). Retract removes the earliest equal
// occurrence, and ignores a value it does not hold (the cap may have
// dropped it, as ksqlDB's undo does); Merge appends the other
// accumulator's values while they fit.

type listAcc struct {
	vals  []types.Value
	bytes int64 // the Size of vals' values
}

var _ Accumulator = (*listAcc)(nil)

func newListFunc(t types.Type) *function {
	return &function{
		name: "COLLECT_LIST", result: types.Array(t), retractable: true,
		newAcc: func() Accumulator { return &listAcc{} },
		decodeFrom: func(d *decoder) Accumulator {
			a := &listAcc{}
			n := d.count(1)
			if n > 0 {
				a.vals = make([]types.Value, 0, n)
			}
			for i := 0; i < n && d.err == nil; i++ {
				v := d.value()
				a.vals = append(a.vals, v)
				a.bytes += v.Size()
			}
			return a
		},
	}
}

// offer appends v if it fits under the caps.
func (a *listAcc) offer(v types.Value) {
	if len(a.vals) >= CollectLimit || a.bytes+v.Size() > CollectMaxBytes {
		return
	}
	a.vals = append(a.vals, v)
	a.bytes += v.Size()
}

func (a *listAcc) Add(args []types.Value) error {
	if len(args) != 1 {
		return errArity("COLLECT_LIST", 1, len(args))
	}
	if !args[0].IsNull() {
		a.offer(args[0])
	}
	return nil
}

func (a *listAcc) Retract(args []types.Value) error {
	if len(args) != 1 {
		return errArity("COLLECT_LIST", 1, len(args))
	}
	if args[0].IsNull() {
		return nil
	}
	for i, v := range a.vals {
		if v.Kind() == args[0].Kind() && types.Equal(v, args[0]) {
			a.bytes -= v.Size()
			copy(a.vals[i:], a.vals[i+1:])
			a.vals[len(a.vals)-1] = types.NullValue
			a.vals = a.vals[:len(a.vals)-1]
			return nil
		}
	}
	return nil // never held: the cap ignored it
}

func (a *listAcc) Merge(other Accumulator) error {
	o, ok := other.(*listAcc)
	if !ok {
		return errMerge("COLLECT_LIST", other)
	}
	for _, v := range o.vals {
		a.offer(v)
	}
	return nil
}

// Result copies: the accumulator keeps changing, a Value may not.
func (a *listAcc) Result() types.Value {
	return types.NewArray(append([]types.Value(nil), a.vals...))
}

func (a *listAcc) AppendEncode(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(a.vals)))
	for _, v := range a.vals {
		dst = AppendValue(dst, v)
	}
	return dst
}
