package serde

import (
	"math"
	"math/big"

	"github.com/runnel/runnel/sql/types"
)

// The helpers below read a Value's payload for a column type, accepting
// the kinds an operator may reasonably hand over for it (an INT where a
// BIGINT is declared, a BIGINT sum into a DOUBLE column), and refusing
// the rest. They never see NULL.

// intPayload returns the payload of an integer-like value for t (INT,
// BIGINT, TIMESTAMP, DATE, TIME), checking INT's range.
func intPayload(t *types.Type, v types.Value) (int64, error) {
	switch v.Kind() {
	case types.KindInt, types.KindBigint, types.KindTimestamp, types.KindDate, types.KindTime:
	default:
		return 0, failf("a %s value where %s is declared", v.Kind(), t)
	}
	i := v.Int()
	if t.Kind == types.KindInt && (i < math.MinInt32 || i > math.MaxInt32) {
		return 0, failf("%d is out of range for INTEGER", i)
	}
	return i, nil
}

// floatPayload returns a DOUBLE column's value.
func floatPayload(t *types.Type, v types.Value) (float64, error) {
	switch v.Kind() {
	case types.KindDouble, types.KindInt, types.KindBigint, types.KindDecimal:
		return v.AsFloat(), nil
	}
	return 0, failf("a %s value where %s is declared", v.Kind(), t)
}

// decimalPayload returns a DECIMAL column's unscaled value and scale;
// integers are scaled to the column's scale.
func decimalPayload(t *types.Type, v types.Value) (*big.Int, int32, error) {
	switch v.Kind() {
	case types.KindDecimal:
		d, s := v.Decimal()
		return d, s, nil
	case types.KindInt, types.KindBigint:
		d := big.NewInt(v.Int())
		if t.Scale > 0 {
			d.Mul(d, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(t.Scale)), nil))
		}
		return d, int32(t.Scale), nil
	}
	return nil, 0, failf("a %s value where %s is declared", v.Kind(), t)
}

// strPayload returns a STRING or BYTES column's value.
func strPayload(t *types.Type, v types.Value) (string, error) {
	switch v.Kind() {
	case types.KindString, types.KindBytes:
		return v.Str(), nil
	}
	return "", failf("a %s value where %s is declared", v.Kind(), t)
}

// boolPayload returns a BOOLEAN column's value.
func boolPayload(t *types.Type, v types.Value) (bool, error) {
	if v.Kind() != types.KindBoolean {
		return false, failf("a %s value where %s is declared", v.Kind(), t)
	}
	return v.Bool(), nil
}

// newIntValue builds a Value of integer-like type t from i.
func newIntValue(t *types.Type, i int64) types.Value {
	switch t.Kind {
	case types.KindInt:
		return types.NewInt(int32(i))
	case types.KindTimestamp:
		return types.NewTimestamp(i)
	case types.KindDate:
		return types.NewDate(i)
	case types.KindTime:
		return types.NewTime(i)
	}
	return types.NewBigint(i)
}

// intBits is the width an integer-like type's values must fit.
func intBits(t *types.Type) int {
	if t.Kind == types.KindInt {
		return 32
	}
	return 64
}
