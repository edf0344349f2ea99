package agg

import (
	"encoding/binary"
	"math"

	"github.com/runnel/runnel/sql/types"
)

// SUM_LIST is ksqlDB's ListSumUdaf, a UDAF its function reference leaves
// out but SHOW FUNCTIONS lists: the sum of the elements of every row's
// array, for ARRAY<INT> (to INT), ARRAY<BIGINT> (to BIGINT) and
// ARRAY<DOUBLE> (to DOUBLE). As in ksqlDB, a NULL array and a NULL
// element add nothing, and the sum starts at 0, so a group of no rows
// (or only NULLs) sums to 0, not NULL as SUM does. Where ksqlDB wraps INT
// and BIGINT silently, Runnel rejects the row with ErrOverflow (22003)
// and leaves the state unchanged, as its SUM does.

func newSumListFunc(elem types.Type) *function {
	switch elem.Kind {
	case types.KindInt, types.KindBigint:
		is32 := elem.Kind == types.KindInt
		return &function{
			name: "SUM_LIST", result: elem, retractable: true, fallible: true,
			newAcc: func() Accumulator { return &sumListIntAcc{is32: is32} },
			decodeFrom: func(d *decoder) Accumulator {
				a := &sumListIntAcc{is32: is32, sum: d.varint()}
				if is32 && (a.sum < math.MinInt32 || a.sum > math.MaxInt32) {
					d.fail("INT sum out of range")
				}
				return a
			},
		}
	case types.KindDouble:
		return &function{
			name: "SUM_LIST", result: elem, retractable: true,
			newAcc: func() Accumulator { return &sumListDoubleAcc{} },
			decodeFrom: func(d *decoder) Accumulator {
				return &sumListDoubleAcc{n: d.nonNeg(), sum: d.float()}
			},
		}
	}
	return nil
}

// sumListIntAcc sums INT or BIGINT elements.
type sumListIntAcc struct {
	sum  int64
	is32 bool
}

var _ Accumulator = (*sumListIntAcc)(nil)

// addInt64 returns a+b, or false when it leaves int64.
func addInt64(a, b int64) (int64, bool) {
	s := a + b
	return s, (a >= 0) != (b >= 0) || (s >= 0) == (a >= 0)
}

// listSum returns the sum of an array's non-NULL elements, or false when
// it leaves BIGINT.
func listSum(v types.Value) (int64, bool) {
	var s int64
	for _, e := range v.List() {
		if e.IsNull() {
			continue
		}
		var ok bool
		if s, ok = addInt64(s, e.Int()); !ok {
			return 0, false
		}
	}
	return s, true
}

// step adds (or, when neg, subtracts) one row's array; the state is
// unchanged when the result leaves the type's range.
func (a *sumListIntAcc) step(args []types.Value, neg bool) error {
	if len(args) != 1 {
		return errArity("SUM_LIST", 1, len(args))
	}
	if args[0].IsNull() {
		return nil
	}
	x, ok := listSum(args[0])
	if ok && neg {
		x, ok = -x, x != math.MinInt64
	}
	var s int64
	if ok {
		s, ok = addInt64(a.sum, x)
	}
	if !ok || a.is32 && (s < math.MinInt32 || s > math.MaxInt32) {
		return newError(ErrOverflow, "SUM_LIST overflows %s", a.typeName())
	}
	a.sum = s
	return nil
}

func (a *sumListIntAcc) typeName() string {
	if a.is32 {
		return "INTEGER"
	}
	return "BIGINT"
}

func (a *sumListIntAcc) Add(args []types.Value) error     { return a.step(args, false) }
func (a *sumListIntAcc) Retract(args []types.Value) error { return a.step(args, true) }

func (a *sumListIntAcc) Merge(other Accumulator) error {
	o, ok := other.(*sumListIntAcc)
	if !ok || o.is32 != a.is32 {
		return errMerge("SUM_LIST", other)
	}
	s, ok := addInt64(a.sum, o.sum)
	if !ok || a.is32 && (s < math.MinInt32 || s > math.MaxInt32) {
		return newError(ErrOverflow, "SUM_LIST overflows %s", a.typeName())
	}
	a.sum = s
	return nil
}

func (a *sumListIntAcc) Result() types.Value {
	if a.is32 {
		return types.NewInt(int32(a.sum))
	}
	return types.NewBigint(a.sum)
}

func (a *sumListIntAcc) AppendEncode(dst []byte) []byte {
	return binary.AppendVarint(dst, a.sum)
}

// sumListDoubleAcc sums DOUBLE elements in float64, as ksqlDB does. n
// counts the non-NULL arrays added and not retracted, so that a group
// whose arrays were all retracted is 0 again rather than the rounding
// residue of the subtractions.
type sumListDoubleAcc struct {
	n   int64
	sum float64
}

var _ Accumulator = (*sumListDoubleAcc)(nil)

func doubleListSum(v types.Value) float64 {
	var s float64
	for _, e := range v.List() {
		if !e.IsNull() {
			s += e.Float()
		}
	}
	return s
}

func (a *sumListDoubleAcc) Add(args []types.Value) error {
	if len(args) != 1 {
		return errArity("SUM_LIST", 1, len(args))
	}
	if !args[0].IsNull() {
		a.sum += doubleListSum(args[0])
		a.n++
	}
	return nil
}

func (a *sumListDoubleAcc) Retract(args []types.Value) error {
	if len(args) != 1 {
		return errArity("SUM_LIST", 1, len(args))
	}
	if args[0].IsNull() {
		return nil
	}
	if a.n == 0 {
		return errRetractUnknown("SUM_LIST")
	}
	a.n--
	if a.n == 0 {
		a.sum = 0
	} else {
		a.sum -= doubleListSum(args[0])
	}
	return nil
}

func (a *sumListDoubleAcc) Merge(other Accumulator) error {
	o, ok := other.(*sumListDoubleAcc)
	if !ok {
		return errMerge("SUM_LIST", other)
	}
	a.sum += o.sum
	a.n += o.n
	return nil
}

func (a *sumListDoubleAcc) Result() types.Value { return types.NewDouble(a.sum) }

func (a *sumListDoubleAcc) AppendEncode(dst []byte) []byte {
	dst = binary.AppendVarint(dst, a.n)
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(a.sum))
}
