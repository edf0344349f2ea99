package agg

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// TestI128Quo checks the quotient's fast way against math/big's exact
// rounding, around the edges where the fast way must give up (2^53) and
// over random sums and counts.
func TestI128Quo(t *testing.T) {
	exact := func(x i128, n int64) float64 {
		f, _ := new(big.Rat).SetFrac(x.big(), big.NewInt(n)).Float64()
		return f
	}
	of := func(v int64) i128 { return i128{}.add64(v) }
	cases := []struct {
		x i128
		n int64
	}{
		{of(7), 3}, {of(-7), 3}, {of(0), 5}, {of(1), 1},
		{of(maxExact), 3}, {of(-maxExact), 3}, {of(maxExact + 1), 3}, {of(-maxExact - 1), 7},
		{of(maxExact - 1), maxExact}, {of(10), maxExact + 1},
		{of(math.MaxInt64), 1}, {of(math.MinInt64), 3},
		{of(math.MaxInt64).add64(math.MaxInt64), 2},
		{of(math.MinInt64).add64(math.MinInt64), 3},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		var x i128
		for range 1 + r.IntN(4) {
			x = x.add64(r.Int64N(1<<(10+r.IntN(50))) - 1<<(9+r.IntN(40)))
		}
		cases = append(cases, struct {
			x i128
			n int64
		}{x, 1 + r.Int64N(1<<(1+r.IntN(60)))})
	}
	for _, c := range cases {
		if got, want := c.x.quo(c.n), exact(c.x, c.n); got != want {
			t.Errorf("%v / %d = %v, want %v", c.x.big(), c.n, got, want)
		}
	}
}
