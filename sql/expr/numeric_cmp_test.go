package expr

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// TestCmpDecimal: the int64 comparison of DECIMALs orders every pair as
// types.Compare does (exactly, through big.Rat): across scales, at the
// edges of int64, past them (math/big again), and against INT, BIGINT
// and DOUBLE.
func TestCmpDecimal(t *testing.T) {
	decU := func(u int64, s int32) types.Value { return types.NewDecimal(big.NewInt(u), s) }
	huge := new(big.Int).Lsh(big.NewInt(1), 70)
	vals := []types.Value{
		types.NewInt(0), types.NewInt(1), types.NewInt(-1), types.NewInt(1000000), types.NewInt(50000000),
		types.NewInt(math.MaxInt32), types.NewInt(math.MinInt32),
		types.NewBigint(math.MaxInt64), types.NewBigint(math.MinInt64), types.NewBigint(10000000000),
		types.NewDouble(0.5), types.NewDouble(-2.25), types.NewDouble(math.Inf(1)), types.NewDouble(math.NaN()),
		decU(0, 0), decU(0, 5), decU(908, 3), decU(9080, 4), decU(-908, 3), decU(1000000000, 3),
		decU(1000000000, 4), decU(999999999, 3), decU(1, 18), decU(-1, 18), decU(1, 30), decU(12, 1),
		decU(math.MaxInt64, 0), decU(math.MaxInt64, 2), decU(math.MinInt64, 0), decU(math.MinInt64, 7),
		decU(math.MaxInt64/10, 1), decU(922337203685477581, 0),
		types.NewDecimal(huge, 3), types.NewDecimal(new(big.Int).Neg(huge), 0),
	}
	check := func(a, c types.Value) {
		t.Helper()
		if a.Kind() != types.KindDecimal && c.Kind() != types.KindDecimal {
			return // cmpDecimal is bound only with a DECIMAL on one side
		}
		if got, want := cmpDecimal(a, c), types.Compare(a, c); got != want {
			t.Fatalf("cmpDecimal(%s, %s) = %d, types.Compare = %d", types.Format(a, valueType(a)), types.Format(c, valueType(c)), got, want)
		}
	}
	for _, a := range vals {
		for _, c := range vals {
			check(a, c)
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		x, y := int64(r.Uint64()>>r.IntN(64)), int64(r.Uint64()>>r.IntN(64))
		if r.IntN(2) == 0 {
			x = -x
		}
		if r.IntN(3) == 0 {
			y = x * int64(r.IntN(1000)) // equal values at other scales
		}
		check(decU(x, int32(r.IntN(20))), decU(y, int32(r.IntN(20))))
		check(decU(x, int32(r.IntN(20))), types.NewBigint(y))
	}
}

// BenchmarkCmpDecimal is q14's filter, `0.908 * price > 1000000 AND
// 0.908 * price < 50000000`, over a bid's price.
func BenchmarkCmpDecimal(b *testing.B) {
	benchBidPrice(b, "0.908 * B > 1000000 AND 0.908 * B < 50000000")
}

// benchBidPrice evaluates line over a row whose BIGINT column B is a
// bid's price.
func benchBidPrice(b *testing.B, line string) {
	e, err := bindLine(line)
	if err != nil {
		b.Fatal(err)
	}
	r := append(types.Row(nil), row...)
	r[1] = types.NewBigint(5000000)
	b.ReportAllocs()
	cpu := cpuPerOp(b)
	for b.Loop() {
		if _, err := e.Eval(r); err != nil {
			b.Fatal(err)
		}
	}
	cpu()
}
