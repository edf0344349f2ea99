package expr

import (
	"cmp"
	"math"
	"math/big"

	"github.com/runnel/runnel/sql/types"
)

// Numeric promotion: INT < BIGINT < DECIMAL < DOUBLE, as in ksqlDB.

// maxDecimalPrecision bounds the precision of a DECIMAL that arithmetic
// computes: 10,000 digits, ten times what a column may declare. Values of
// that many digits are some 4 KB; without a bound, (x*x)*(x*x)... doubles
// the digits at every level.
const maxDecimalPrecision = 10_000

func numRank(k types.Kind) int {
	switch k {
	case types.KindInt:
		return 1
	case types.KindBigint:
		return 2
	case types.KindDecimal:
		return 3
	case types.KindDouble:
		return 4
	}
	return 0
}

// asDecimalType is the DECIMAL an integral or decimal type widens to.
func asDecimalType(t types.Type) types.Type {
	switch t.Kind {
	case types.KindInt:
		return types.Decimal(10, 0)
	case types.KindBigint:
		return types.Decimal(19, 0)
	}
	return t
}

// widerNumeric is the type two numeric types are compared or unified in.
func widerNumeric(a, b types.Type) types.Type {
	if a.Kind == types.KindDouble || b.Kind == types.KindDouble {
		return types.Double
	}
	if a.Kind == types.KindDecimal || b.Kind == types.KindDecimal {
		da, db := asDecimalType(a), asDecimalType(b)
		scale := max(da.Scale, db.Scale)
		return types.Decimal(max(da.Precision-da.Scale, db.Precision-db.Scale)+scale, scale)
	}
	if a.Kind == types.KindBigint || b.Kind == types.KindBigint {
		return types.Bigint
	}
	return types.Int
}

// commonType is the type a set of branches (CASE, COALESCE, IN, an
// ARRAY constructor) unify to: NULL gives way to anything, numerics widen,
// otherwise the types must be equal.
func commonType(a, b types.Type) (types.Type, bool) {
	switch {
	case a.Kind == types.KindNull:
		return b, true
	case b.Kind == types.KindNull:
		return a, true
	case a.IsNumeric() && b.IsNumeric():
		return widerNumeric(a, b), true
	case a.Kind == types.KindArray && b.Kind == types.KindArray:
		e, ok := commonType(*a.Elem, *b.Elem)
		return types.Array(e), ok
	case a.Kind == types.KindMap && b.Kind == types.KindMap:
		k, ok1 := commonType(*a.Key, *b.Key)
		e, ok2 := commonType(*a.Elem, *b.Elem)
		return types.Map(k, e), ok1 && ok2
	}
	return a, a.Equal(b)
}

// decOf returns the unscaled value and scale of an INT, BIGINT or DECIMAL.
func decOf(v types.Value) (*big.Int, int32) {
	if v.Kind() == types.KindDecimal {
		return v.Decimal()
	}
	return big.NewInt(v.Int()), 0
}

var bigTen = big.NewInt(10)

func pow10(n int32) *big.Int {
	return new(big.Int).Exp(bigTen, big.NewInt(int64(n)), nil)
}

// rescale converts unscaled u from scale from to scale to, rounding half
// away from zero (Java's HALF_UP) when digits are dropped.
func rescale(u *big.Int, from, to int32) *big.Int {
	switch {
	case to == from:
		return u
	case to > from:
		return new(big.Int).Mul(u, pow10(to-from))
	}
	return divHalfUp(u, pow10(from-to))
}

// divHalfUp is num/den rounded half away from zero.
func divHalfUp(num, den *big.Int) *big.Int {
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	if r.Sign() == 0 {
		return q
	}
	r2 := new(big.Int).Abs(r)
	r2.Lsh(r2, 1)
	if r2.Cmp(new(big.Int).Abs(den)) >= 0 {
		if (num.Sign() < 0) != (den.Sign() < 0) {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q
}

// fitsPrecision reports whether unscaled u has at most p digits.
func fitsPrecision(u *big.Int, p int) bool {
	if p >= 40 {
		return true
	}
	lim := pow10(int32(p))
	return new(big.Int).Abs(u).Cmp(lim) < 0
}

// toDecimal converts a numeric value to DECIMAL(p, s).
func toDecimal(v types.Value, t types.Type) (types.Value, error) {
	var u *big.Int
	switch v.Kind() {
	case types.KindDouble:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return types.Value{}, errorf(ErrOutOfRange, "%s cannot be represented as %s", types.FormatDouble(f), t)
		}
		r, _ := new(big.Rat).SetString(types.FormatDouble(f))
		if r == nil {
			r = new(big.Rat).SetFloat64(f)
		}
		num := new(big.Int).Mul(r.Num(), pow10(int32(t.Scale)))
		u = divHalfUp(num, r.Denom())
	default:
		du, ds := decOf(v)
		u = rescale(du, ds, int32(t.Scale))
	}
	if !fitsPrecision(u, t.Precision) {
		return types.Value{}, errorf(ErrOutOfRange, "value %s does not fit %s", types.Format(v, valueType(v)), t)
	}
	return types.NewDecimal(u, int32(t.Scale)), nil
}

// decimalArithBig is a op c (+ - * / %) at the result's scale, in
// math/big: exact for any operands. decimalArith64 answers first where
// the unscaled values fit an int64; this is the path it must agree with.
func decimalArithBig(op byte, scale int32, a, c types.Value) (types.Value, error) {
	ua, sa := decOf(a)
	uc, sc := decOf(c)
	var u *big.Int
	switch op {
	case '+', '-':
		s := max(sa, sc)
		x, y := rescale(ua, sa, s), rescale(uc, sc, s)
		if op == '+' {
			u = new(big.Int).Add(x, y)
		} else {
			u = new(big.Int).Sub(x, y)
		}
		u = rescale(u, s, scale)
	case '*':
		u = rescale(new(big.Int).Mul(ua, uc), sa+sc, scale)
	case '/':
		if uc.Sign() == 0 {
			return types.Value{}, errorf(ErrDivisionByZero, "division by zero")
		}
		// a/c at scale S is ua·10^(S+sc-sa) / uc.
		e := scale + sc - sa
		num := ua
		den := uc
		if e >= 0 {
			num = new(big.Int).Mul(ua, pow10(e))
		} else {
			den = new(big.Int).Mul(uc, pow10(-e))
		}
		u = divHalfUp(num, den)
	case '%':
		if uc.Sign() == 0 {
			return types.Value{}, errorf(ErrDivisionByZero, "division by zero (modulo)")
		}
		s := max(sa, sc)
		u = new(big.Int).Rem(rescale(ua, sa, s), rescale(uc, sc, s))
		u = rescale(u, s, scale)
	}
	return types.NewDecimal(u, scale), nil
}

// decimalResult computes the DECIMAL type of l op r with ksqlDB's rules.
func decimalResult(op byte, l, r types.Type) types.Type {
	a, b := asDecimalType(l), asDecimalType(r)
	p1, s1, p2, s2 := a.Precision, a.Scale, b.Precision, b.Scale
	var p, s int
	switch op {
	case '+', '-':
		s = max(s1, s2)
		p = max(p1-s1, p2-s2) + s + 1
	case '*':
		p, s = p1+p2+1, s1+s2
	case '/':
		s = max(6, s1+p2+1)
		p = p1 - s1 + s2 + s
	case '%':
		s = max(s1, s2)
		p = min(p1-s1, p2-s2) + s
	}
	return types.Decimal(max(p, 1), s)
}

func int32Range(v int64) bool { return v >= math.MinInt32 && v <= math.MaxInt32 }

// cmpDecimal orders two numbers of which one at least is a DECIMAL (the
// other an INT, a BIGINT, a DECIMAL or a DOUBLE), as types.Compare does.
// When both are integral or DECIMAL and their unscaled values fit an
// int64, it compares them in int64 at a common scale: types.Compare goes
// through two big.Rat and a power of ten each, which was a quarter of
// Nexmark q14's CPU (`0.908 * price > 1000000`). Otherwise it is
// types.Compare.
func cmpDecimal(a, c types.Value) int {
	if x, sx, ok := smallDecimal(a); ok {
		if y, sy, ok := smallDecimal(c); ok {
			if r, ok := cmpScaled(x, sx, y, sy); ok {
				return r
			}
		}
	}
	return types.Compare(a, c)
}

// smallDecimal returns the unscaled value and scale of an INT, BIGINT or
// DECIMAL whose unscaled value fits an int64; ok is false otherwise.
func smallDecimal(v types.Value) (int64, int32, bool) {
	switch v.Kind() {
	case types.KindInt, types.KindBigint:
		return v.Int(), 0, true
	case types.KindDecimal:
		return v.Decimal64()
	}
	return 0, 0, false
}

// pow10s are the powers of ten an int64 holds: 10^0 to 10^18.
var pow10s = func() (p [19]int64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// cmpScaled orders x·10^-sx and y·10^-sy; ok is false when bringing one
// to the other's scale would overflow an int64 (the caller then compares
// exactly in math/big).
func cmpScaled(x int64, sx int32, y int64, sy int32) (int, bool) {
	// Opposite signs (or a zero) order themselves at any scale.
	if sgx, sgy := sign64(x), sign64(y); sgx != sgy {
		return cmp.Compare(sgx, sgy), true
	}
	switch {
	case sx < sy:
		var ok bool
		if x, ok = mulPow10(x, sy-sx); !ok {
			return 0, false
		}
	case sy < sx:
		var ok bool
		if y, ok = mulPow10(y, sx-sy); !ok {
			return 0, false
		}
	}
	return cmp.Compare(x, y), true
}

// The checked int64 operations: the result, and false when it overflows.
// BIGINT arithmetic (intOp) raises the overflow as an error; DECIMAL's
// int64 path (decimalArith64) and the time functions fall back or
// refuse.

// add64 is x+y.
func add64(x, y int64) (int64, bool) {
	s := x + y
	// Overflow iff both operands have the sign the sum lacks.
	if (x^s)&(y^s) < 0 {
		return 0, false
	}
	return s, true
}

// sub64 is x-y.
func sub64(x, y int64) (int64, bool) {
	s := x - y
	// Overflow iff the operands' signs differ and the difference lacks x's.
	if (x^y)&(x^s) < 0 {
		return 0, false
	}
	return s, true
}

// mulInt64 is x·y.
func mulInt64(x, y int64) (int64, bool) {
	m := x * y
	if x != 0 && (m/x != y || (x == -1 && y == math.MinInt64) || (y == -1 && x == math.MinInt64)) {
		return 0, false
	}
	return m, true
}

// arith64 is x op y for op + - or *.
func arith64(op byte, x, y int64) (int64, bool) {
	switch op {
	case '+':
		return add64(x, y)
	case '-':
		return sub64(x, y)
	}
	return mulInt64(x, y)
}

// mulPow10 is x·10^n, ok false when it does not fit an int64.
func mulPow10(x int64, n int32) (int64, bool) {
	if n < 0 || int(n) >= len(pow10s) {
		return 0, x == 0
	}
	p := pow10s[n]
	if x > math.MaxInt64/p || x < math.MinInt64/p {
		return 0, false
	}
	return x * p, true
}

func sign64(x int64) int {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}
