package expr

import (
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// BenchmarkLambda evaluates TRANSFORM, FILTER and REDUCE over an ARRAY of
// 1,000 INTs: a call allocates its extended row once, not per element.
func BenchmarkLambda(b *testing.B) {
	elems := make([]types.Value, 1000)
	for i := range elems {
		elems[i] = types.NewInt(int32(i))
	}
	r := append(types.Row(nil), row...)
	r[9] = types.NewArray(elems) // A
	benchEval(b, r,
		"TRANSFORM(A, x => x + 1)",
		"FILTER(A, x => x % 2 = 0)",
		"REDUCE(A, CAST(0 AS BIGINT), (acc, x) => acc + x)",
	)
}
