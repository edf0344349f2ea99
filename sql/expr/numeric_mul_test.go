package expr

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// TestInt64Ops: mulInt64, add64 and sub64 agree with math/big wherever they
// answer, and decline every result that overflows an int64.
func TestInt64Ops(t *testing.T) {
	ops := []struct {
		name string
		f    func(x, y int64) (int64, bool)
		big  func(z, x, y *big.Int) *big.Int
	}{
		{"mulInt64", mulInt64, (*big.Int).Mul},
		{"add64", add64, (*big.Int).Add},
		{"sub64", sub64, (*big.Int).Sub},
	}
	edges := []int64{0, 1, -1, 2, -2, 908, 3037000499, 3037000500, -3037000500, math.MaxInt64, math.MinInt64,
		math.MaxInt64 - 1, math.MinInt64 + 1, math.MaxInt64 / 2, math.MinInt64 / 2}
	r := rand.New(rand.NewPCG(1, 2))
	for _, op := range ops {
		check := func(x, y int64) {
			t.Helper()
			want := op.big(new(big.Int), big.NewInt(x), big.NewInt(y))
			got, ok := op.f(x, y)
			if ok != want.IsInt64() {
				t.Fatalf("%s(%d, %d) ok = %v, exact %s", op.name, x, y, ok, want)
			}
			if ok && got != want.Int64() {
				t.Fatalf("%s(%d, %d) = %d, want %s", op.name, x, y, got, want)
			}
		}
		for _, a := range edges {
			for _, c := range edges {
				check(a, c)
			}
		}
		for range 100000 {
			check(randInt64(r), randInt64(r))
		}
	}
}

// randInt64 is a signed int64 of a random bit length, so that small,
// middling and huge magnitudes are all common.
func randInt64(r *rand.Rand) int64 {
	x := int64(r.Uint64() >> r.IntN(64))
	if r.IntN(2) == 0 {
		x = -x
	}
	return x
}

// TestDecimalArith64: DECIMAL + - * in int64 give exactly what the
// math/big path gives (the unscaled value and the scale), over INT,
// BIGINT and DECIMAL operands of every sign, scales 0 to 20, the edges of
// int64 (where a carry or a rescale overflows and the int64 path must
// decline), result scales other than the operands' (a widening it does
// exactly, a narrowing it leaves to HALF_UP in math/big), and values
// past int64. It also checks that the int64 path answers the common
// cases (small operands at their declared scales), so that it cannot
// silently decline everything.
func TestDecimalArith64(t *testing.T) {
	decU := func(u int64, s int32) types.Value { return types.NewDecimal(big.NewInt(u), s) }
	huge := new(big.Int).Lsh(big.NewInt(1), 70)
	vals := []types.Value{
		types.NewInt(0), types.NewInt(1), types.NewInt(-1), types.NewInt(math.MaxInt32), types.NewInt(math.MinInt32),
		types.NewBigint(0), types.NewBigint(math.MaxInt64), types.NewBigint(math.MinInt64), types.NewBigint(10000000000),
		types.NewBigint(3037000500), types.NewBigint(-3037000499),
		decU(0, 0), decU(0, 5), decU(908, 3), decU(-908, 3), decU(1, 18), decU(-1, 18), decU(1, 20), decU(5, 1),
		decU(-5, 1), decU(12, 1), decU(999999999999999999, 18), decU(math.MaxInt64, 0), decU(math.MaxInt64, 2),
		decU(math.MinInt64, 0), decU(math.MinInt64, 7), decU(math.MaxInt64/10, 1), decU(math.MinInt64/10+1, 1),
		types.NewDecimal(huge, 3), types.NewDecimal(new(big.Int).Neg(huge), 0),
	}
	scaleOf := func(v types.Value) int32 {
		if v.Kind() == types.KindDecimal {
			_, s := v.Decimal()
			return s
		}
		return 0
	}
	answered := 0
	check := func(op byte, a, c types.Value, scale int32) bool {
		t.Helper()
		want, werr := decimalArithBig(op, scale, a, c)
		got, ok := decimalArith64(op, scale, a, c)
		if !ok {
			return false
		}
		answered++
		if werr != nil {
			t.Fatalf("%s %c %s at scale %d: int64 path answered %s, math/big failed: %v", fmtV(a), op, fmtV(c), scale, fmtV(got), werr)
		}
		gu, gs := got.Decimal()
		wu, ws := want.Decimal()
		if got.Kind() != types.KindDecimal || gs != ws || gu.Cmp(wu) != 0 {
			t.Fatalf("%s %c %s at scale %d = %s (scale %d), math/big %s (scale %d)", fmtV(a), op, fmtV(c), scale, gu, gs, wu, ws)
		}
		return true
	}
	natural := func(op byte, a, c types.Value) int32 {
		if op == '*' {
			return scaleOf(a) + scaleOf(c)
		}
		return max(scaleOf(a), scaleOf(c))
	}
	for _, op := range []byte{'+', '-', '*'} {
		for _, a := range vals {
			for _, c := range vals {
				s := natural(op, a, c)
				for _, scale := range []int32{s, s + 1, s + 3, max(s-1, 0), 0} {
					check(op, a, c, scale)
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(9, 10))
	for range 200000 {
		op := []byte{'+', '-', '*'}[r.IntN(3)]
		a := decU(randInt64(r), int32(r.IntN(21)))
		var c types.Value
		switch r.IntN(3) {
		case 0:
			c = types.NewBigint(randInt64(r))
		case 1:
			c = types.NewInt(int32(randInt64(r) >> 32))
		default:
			c = decU(randInt64(r), int32(r.IntN(21)))
		}
		if r.IntN(2) == 0 {
			a, c = c, a
		}
		scale := natural(op, a, c)
		if r.IntN(8) == 0 {
			scale += int32(r.IntN(5)) - 2
		}
		check(op, a, c, max(scale, 0))
		// Small operands at their own scales: the int64 path must answer.
		x := decU(int64(r.Int32())-math.MaxInt32/2, int32(r.IntN(8)))
		y := types.NewBigint(int64(r.Int32()) - math.MaxInt32/2)
		if r.IntN(2) == 0 {
			y = decU(int64(r.Int32())-math.MaxInt32/2, int32(r.IntN(8)))
		}
		if !check(op, x, y, natural(op, x, y)) {
			t.Fatalf("%s %c %s: the int64 path declined", fmtV(x), op, fmtV(y))
		}
	}
	for _, op := range []byte{'/', '%'} {
		if _, ok := decimalArith64(op, 6, decU(10, 1), decU(3, 0)); ok {
			t.Fatalf("the int64 path answered %c, which it leaves to math/big", op)
		}
	}
	if answered < 200000 {
		t.Fatalf("the int64 path answered %d comparisons, expected at least 200000", answered)
	}
}

func fmtV(v types.Value) string { return types.Format(v, valueType(v)) }

// TestDecimalArithSQL: DECIMAL arithmetic as bound from SQL, NULL
// operands included, through the node that picks the int64 or the
// math/big path: the values and types ksqlDB gives.
func TestDecimalArithSQL(t *testing.T) {
	cases := []struct{ expr, want string }{
		{"0.908 * 1000", "908.000"},
		{"0.908 * -1000", "-908.000"},
		{"0.908 * CAST(NULL AS BIGINT)", "NULL"},
		{"CAST(NULL AS DECIMAL(3, 3)) * 5", "NULL"},
		{"1.5 + 2.25", "3.75"},
		{"1.5 - 2.25", "-0.75"},
		{"0.1 * 0.1", "0.01"},
		{"9223372036854775807 * 1.0", "9223372036854775807.0"},
		{"9223372036854775807 * 10.0", "92233720368547758070.0"},
		{"-9223372036854775807 - 1.0", "-9223372036854775808.0"},
		{"-9223372036854775807 - 2.0", "-9223372036854775809.0"},
		{"99999999999999999.99 + 0.01", "100000000000000000.00"},
		{"7.5 / 2.5", "3.000000"},
	}
	for _, tc := range cases {
		e, err := bindLine(tc.expr)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		v, err := e.Eval(row)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		got := "NULL"
		if !v.IsNull() {
			got = types.Format(v, e.Type())
		}
		if got != tc.want {
			t.Errorf("%s = %s, want %s", tc.expr, got, tc.want)
		}
	}
}

// BenchmarkDecimalMul is q1's `0.908 * price` over a bid's price.
func BenchmarkDecimalMul(b *testing.B) { benchBidPrice(b, "0.908 * B") }
