package expr

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// TestMulSmall: the int64 product agrees with math/big's wherever it
// answers, and declines every product that overflows an int64.
func TestMulSmall(t *testing.T) {
	edges := []int64{0, 1, -1, 2, -2, 908, 3037000499, 3037000500, -3037000500, math.MaxInt64, math.MinInt64, math.MaxInt64 / 2, math.MinInt64 / 2}
	check := func(x, y *big.Int) {
		t.Helper()
		want := new(big.Int).Mul(x, y)
		got, ok := mulSmall(x, y)
		if ok != (x.IsInt64() && y.IsInt64() && want.IsInt64()) {
			t.Fatalf("mulSmall(%s, %s) ok = %v, product %s", x, y, ok, want)
		}
		if ok && got.Cmp(want) != 0 {
			t.Fatalf("mulSmall(%s, %s) = %s, want %s", x, y, got, want)
		}
	}
	for _, a := range edges {
		for _, c := range edges {
			check(big.NewInt(a), big.NewInt(c))
		}
	}
	huge := new(big.Int).Lsh(big.NewInt(1), 70)
	check(huge, big.NewInt(1))
	check(big.NewInt(0), huge)
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		x, y := int64(r.Uint64()>>r.IntN(64)), int64(r.Uint64()>>r.IntN(64))
		if r.IntN(2) == 0 {
			x = -x
		}
		check(big.NewInt(x), big.NewInt(y))
	}
}
