package agg

import (
	"encoding/binary"

	"github.com/runnel/runnel/sql/types"
)

// COLLECT_LIST keeps every non-NULL value in arrival order, without
// ksqlDB's 1000-entry limit. Retract removes the earliest equal
// occurrence; Merge appends the other accumulator's values.

type listAcc struct {
	vals []types.Value
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
				a.vals = append(a.vals, d.value())
			}
			return a
		},
	}
}

func (a *listAcc) Add(args []types.Value) error {
	if len(args) != 1 {
		return errArity("COLLECT_LIST", 1, len(args))
	}
	if !args[0].IsNull() {
		a.vals = append(a.vals, args[0])
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
			copy(a.vals[i:], a.vals[i+1:])
			a.vals[len(a.vals)-1] = types.NullValue
			a.vals = a.vals[:len(a.vals)-1]
			return nil
		}
	}
	return errRetractUnknown("COLLECT_LIST")
}

func (a *listAcc) Merge(other Accumulator) error {
	o, ok := other.(*listAcc)
	if !ok {
		return errMerge("COLLECT_LIST", other)
	}
	a.vals = append(a.vals, o.vals...)
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
