package agg

import (
	"encoding/binary"
	"math"

	"github.com/runnel/runnel/sql/types"
)

// CORRELATION(x, y) is the Pearson correlation coefficient of the rows
// where neither is NULL, as ksqlDB 0.29 computes it: single-pass sums of
// x, y, x², y² and xy in DOUBLE, and
//
//	(n·Σxy − Σx·Σy) / √((n·Σx² − (Σx)²) · (n·Σy² − (Σy)²))
//
// which is NaN for fewer than two rows or a column without variance
// (0/0), as ksqlDB gives it. Retraction subtracts, so it aggregates
// tables; merging adds.

type corrAcc struct {
	n                     int64
	sx, sy, sxx, syy, sxy float64
}

var _ Accumulator = (*corrAcc)(nil)

func newCorrelationFunc() *function {
	return &function{
		name: "CORRELATION", result: types.Double, retractable: true,
		newAcc: func() Accumulator { return &corrAcc{} },
		decodeFrom: func(d *decoder) Accumulator {
			return &corrAcc{n: d.nonNeg(), sx: d.float(), sy: d.float(), sxx: d.float(), syy: d.float(), sxy: d.float()}
		},
	}
}

// step adds (sign 1) or removes (sign -1) one row; ok is false when x or
// y is NULL (the row does not count).
func (a *corrAcc) step(args []types.Value, sign float64) (bool, error) {
	if len(args) != 2 {
		return false, errArity("CORRELATION", 2, len(args))
	}
	if args[0].IsNull() || args[1].IsNull() {
		return false, nil
	}
	x, y := args[0].AsFloat(), args[1].AsFloat()
	a.sx += sign * x
	a.sy += sign * y
	a.sxx += sign * x * x
	a.syy += sign * y * y
	a.sxy += sign * x * y
	return true, nil
}

func (a *corrAcc) Add(args []types.Value) error {
	ok, err := a.step(args, 1)
	if ok {
		a.n++
	}
	return err
}

func (a *corrAcc) Retract(args []types.Value) error {
	ok, err := a.step(args, -1)
	if ok {
		a.n--
	}
	return err
}

func (a *corrAcc) Merge(other Accumulator) error {
	o, ok := other.(*corrAcc)
	if !ok {
		return errMerge("CORRELATION", other)
	}
	a.n += o.n
	a.sx += o.sx
	a.sy += o.sy
	a.sxx += o.sxx
	a.syy += o.syy
	a.sxy += o.sxy
	return nil
}

func (a *corrAcc) Result() types.Value {
	n := float64(a.n)
	num := n*a.sxy - a.sx*a.sy
	dx := n*a.sxx - a.sx*a.sx
	dy := n*a.syy - a.sy*a.sy
	return types.NewDouble(num / math.Sqrt(dx*dy))
}

func (a *corrAcc) AppendEncode(dst []byte) []byte {
	dst = binary.AppendVarint(dst, a.n)
	for _, f := range [5]float64{a.sx, a.sy, a.sxx, a.syy, a.sxy} {
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(f))
	}
	return dst
}
