package agg

import (
	"encoding/binary"
	"math"
	"math/big"

	"github.com/runnel/runnel/sql/types"
)

// SUM follows ksqlDB's result types: INT→INT, BIGINT→BIGINT,
// DOUBLE→DOUBLE, DECIMAL(p, s)→DECIMAL(p, s). Where ksqlDB wraps INT and
// BIGINT silently on overflow, Runnel rejects the row with ErrOverflow
// (22003) and leaves the state unchanged, as ksqlDB already does for
// DECIMAL. Every SUM keeps the number of non-NULL rows so that a group
// with none (or whose rows were all retracted) sums to NULL.

func newSumFunc(t types.Type) *function {
	switch t.Kind {
	case types.KindInt, types.KindBigint:
		is32 := t.Kind == types.KindInt
		return &function{
			name: "SUM", result: t, retractable: true, fallible: true,
			newAcc: func() Accumulator { return &sumIntAcc{is32: is32} },
			decodeFrom: func(d *decoder) Accumulator {
				a := &sumIntAcc{is32: is32, n: d.nonNeg(), sum: d.varint()}
				if is32 && (a.sum < math.MinInt32 || a.sum > math.MaxInt32) {
					d.fail("INT sum out of range")
				}
				return a
			},
		}
	case types.KindDouble:
		return &function{
			name: "SUM", result: t, retractable: true,
			newAcc: func() Accumulator { return &sumDoubleAcc{} },
			decodeFrom: func(d *decoder) Accumulator {
				return &sumDoubleAcc{n: d.nonNeg(), sum: d.float()}
			},
		}
	case types.KindDecimal:
		cfg := &decimalCfg{scale: int32(t.Scale), bound: pow10(t.Precision)}
		return &function{
			name: "SUM", result: t, retractable: true, fallible: true,
			newAcc: func() Accumulator { return &sumDecimalAcc{cfg: cfg} },
			decodeFrom: func(d *decoder) Accumulator {
				a := &sumDecimalAcc{cfg: cfg, n: d.nonNeg()}
				d.big(&a.sum)
				return a
			},
		}
	}
	return nil
}

func pow10(n int) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

type sumIntAcc struct {
	n    int64
	sum  int64
	is32 bool
}

var _ Accumulator = (*sumIntAcc)(nil)

// addChecked returns sum+x (sum-x when neg), or false when the result
// leaves the type's range.
func (a *sumIntAcc) addChecked(x int64, neg bool) (int64, bool) {
	var s int64
	var overflow bool
	if neg {
		s = a.sum - x
		overflow = (a.sum >= 0) != (x >= 0) && (s >= 0) != (a.sum >= 0)
	} else {
		s = a.sum + x
		overflow = (a.sum >= 0) == (x >= 0) && (s >= 0) != (a.sum >= 0)
	}
	if overflow || a.is32 && (s < math.MinInt32 || s > math.MaxInt32) {
		return 0, false
	}
	return s, true
}

func (a *sumIntAcc) Add(args []types.Value) error {
	if len(args) != 1 {
		return errArity("SUM", 1, len(args))
	}
	if args[0].IsNull() {
		return nil
	}
	s, ok := a.addChecked(args[0].Int(), false)
	if !ok {
		return newError(ErrOverflow, "SUM overflows %s", a.typeName())
	}
	a.sum, a.n = s, a.n+1
	return nil
}

func (a *sumIntAcc) typeName() string {
	if a.is32 {
		return "INTEGER"
	}
	return "BIGINT"
}

func (a *sumIntAcc) Retract(args []types.Value) error {
	if len(args) != 1 {
		return errArity("SUM", 1, len(args))
	}
	if args[0].IsNull() {
		return nil
	}
	if a.n == 0 {
		return errRetractUnknown("SUM")
	}
	s, ok := a.addChecked(args[0].Int(), true)
	if !ok {
		return newError(ErrOverflow, "SUM overflows %s", a.typeName())
	}
	a.sum, a.n = s, a.n-1
	return nil
}

func (a *sumIntAcc) Merge(other Accumulator) error {
	o, ok := other.(*sumIntAcc)
	if !ok || o.is32 != a.is32 {
		return errMerge("SUM", other)
	}
	s, ok := a.addChecked(o.sum, false)
	if !ok {
		return newError(ErrOverflow, "SUM overflows %s", a.typeName())
	}
	a.sum, a.n = s, a.n+o.n
	return nil
}

func (a *sumIntAcc) Result() types.Value {
	switch {
	case a.n == 0:
		return types.NullValue
	case a.is32:
		return types.NewInt(int32(a.sum))
	}
	return types.NewBigint(a.sum)
}

func (a *sumIntAcc) AppendEncode(dst []byte) []byte {
	dst = binary.AppendVarint(dst, a.n)
	return binary.AppendVarint(dst, a.sum)
}

// sumDoubleAcc sums in float64 as ksqlDB does. Retraction subtracts, so a
// retracted table aggregate can differ from a fresh one in the last bits,
// and an Infinity once added leaves NaN when retracted.
type sumDoubleAcc struct {
	n   int64
	sum float64
}

var _ Accumulator = (*sumDoubleAcc)(nil)

func (a *sumDoubleAcc) Add(args []types.Value) error {
	if len(args) != 1 {
		return errArity("SUM", 1, len(args))
	}
	if !args[0].IsNull() {
		a.sum += args[0].Float()
		a.n++
	}
	return nil
}

func (a *sumDoubleAcc) Retract(args []types.Value) error {
	if len(args) != 1 {
		return errArity("SUM", 1, len(args))
	}
	if args[0].IsNull() {
		return nil
	}
	if a.n == 0 {
		return errRetractUnknown("SUM")
	}
	a.n--
	if a.n == 0 {
		a.sum = 0 // forget rounding residue once the group is empty
	} else {
		a.sum -= args[0].Float()
	}
	return nil
}

func (a *sumDoubleAcc) Merge(other Accumulator) error {
	o, ok := other.(*sumDoubleAcc)
	if !ok {
		return errMerge("SUM", other)
	}
	a.sum += o.sum
	a.n += o.n
	return nil
}

func (a *sumDoubleAcc) Result() types.Value {
	if a.n == 0 {
		return types.NullValue
	}
	return types.NewDouble(a.sum)
}

func (a *sumDoubleAcc) AppendEncode(dst []byte) []byte {
	dst = binary.AppendVarint(dst, a.n)
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(a.sum))
}

// decimalCfg is shared by the accumulators of one DECIMAL(p, s) SUM.
type decimalCfg struct {
	scale int32
	bound *big.Int // 10^p: |unscaled sum| must stay below it
}

// sumDecimalAcc sums unscaled values exactly at the column's scale.
type sumDecimalAcc struct {
	cfg *decimalCfg
	n   int64
	sum big.Int
}

var _ Accumulator = (*sumDecimalAcc)(nil)

// unscaledAt returns v's unscaled value at scale, rescaling (and rounding
// half away from zero) only when v's own scale differs, which a correctly
// typed column never does.
func unscaledAt(v types.Value, scale int32) *big.Int {
	u, s := v.Decimal()
	if u == nil {
		return new(big.Int)
	}
	if s == scale {
		return u
	}
	if s < scale {
		return new(big.Int).Mul(u, pow10(int(scale-s)))
	}
	div := pow10(int(s - scale))
	q, r := new(big.Int).QuoRem(u, div, new(big.Int))
	r.Abs(r).Lsh(r, 1)
	if r.Cmp(div) >= 0 {
		if u.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q
}

func (a *sumDecimalAcc) step(x *big.Int, neg bool) error {
	if neg {
		a.sum.Sub(&a.sum, x)
	} else {
		a.sum.Add(&a.sum, x)
	}
	if a.sum.CmpAbs(a.cfg.bound) >= 0 {
		if neg {
			a.sum.Add(&a.sum, x)
		} else {
			a.sum.Sub(&a.sum, x)
		}
		return newError(ErrOverflow, "SUM overflows DECIMAL precision (%d digits)", len(a.cfg.bound.String())-1)
	}
	return nil
}

func (a *sumDecimalAcc) Add(args []types.Value) error {
	if len(args) != 1 {
		return errArity("SUM", 1, len(args))
	}
	if args[0].IsNull() {
		return nil
	}
	if err := a.step(unscaledAt(args[0], a.cfg.scale), false); err != nil {
		return err
	}
	a.n++
	return nil
}

func (a *sumDecimalAcc) Retract(args []types.Value) error {
	if len(args) != 1 {
		return errArity("SUM", 1, len(args))
	}
	if args[0].IsNull() {
		return nil
	}
	if a.n == 0 {
		return errRetractUnknown("SUM")
	}
	if err := a.step(unscaledAt(args[0], a.cfg.scale), true); err != nil {
		return err
	}
	a.n--
	return nil
}

func (a *sumDecimalAcc) Merge(other Accumulator) error {
	o, ok := other.(*sumDecimalAcc)
	if !ok || o.cfg.scale != a.cfg.scale {
		return errMerge("SUM", other)
	}
	if err := a.step(&o.sum, false); err != nil {
		return err
	}
	a.n += o.n
	return nil
}

func (a *sumDecimalAcc) Result() types.Value {
	if a.n == 0 {
		return types.NullValue
	}
	return types.NewDecimal(new(big.Int).Set(&a.sum), a.cfg.scale)
}

func (a *sumDecimalAcc) AppendEncode(dst []byte) []byte {
	dst = binary.AppendVarint(dst, a.n)
	return appendBig(dst, &a.sum)
}
