package expr

import "github.com/runnel/runnel/sql/types"

// DECIMAL + - * in int64. The values Nexmark and most streams compute
// with (a price times a rate: q1's and q14's `0.908 * price`) have
// unscaled values far inside an int64. Going through math/big cost a
// big.Int for each result, two allocations a row (three products in
// q14); here the operands are read as int64s and the result is a
// DECIMAL without a big.Int (types.NewDecimal64), no allocation at all.
// Division and modulo, and anything that overflows an int64 or needs a
// rounding, stay on decimalArithBig, which this path must agree with
// bit for bit (TestDecimalArith64).

// decimalArith64 is a op c at scale when op is + - or *, both operands
// are INT, BIGINT or DECIMAL with unscaled values that fit an int64, and
// the exact result at scale fits an int64 too; ok is false otherwise
// (the caller then computes in math/big). The operands are not NULL.
func decimalArith64(op byte, scale int32, a, c types.Value) (types.Value, bool) {
	x, sx, ok := smallDecimal(a)
	if !ok {
		return types.Value{}, false
	}
	y, sy, ok := smallDecimal(c)
	if !ok {
		return types.Value{}, false
	}
	var u int64
	var s int32
	switch op {
	case '*':
		s = sx + sy
		if u, ok = mulInt64(x, y); !ok {
			return types.Value{}, false
		}
	case '+', '-':
		s = max(sx, sy)
		if x, ok = mulPow10(x, s-sx); !ok {
			return types.Value{}, false
		}
		if y, ok = mulPow10(y, s-sy); !ok {
			return types.Value{}, false
		}
		if u, ok = arith64(op, x, y); !ok {
			return types.Value{}, false
		}
	default:
		return types.Value{}, false
	}
	// The result type's scale is the operands' (s1+s2 for *, the larger
	// for + -), so s == scale for values of their declared types; a
	// value of another scale widens exactly, and one that would need
	// rounding goes to math/big's HALF_UP.
	if s > scale {
		return types.Value{}, false
	}
	if u, ok = mulPow10(u, scale-s); !ok {
		return types.Value{}, false
	}
	return types.NewDecimal64(u, scale), true
}
