package types

import (
	"math/big"
	"testing"
)

// BenchmarkAppendDouble and BenchmarkAppendDecimal: the formatters the
// JSON and DELIMITED encoders call for every DOUBLE and DECIMAL value.
func BenchmarkAppendDouble(b *testing.B) {
	buf := make([]byte, 0, 32)
	// Usual values; a subnormal (5e-324) costs some 40 µs, for the
	// two-digit check only subnormals need.
	vals := []float64{1.5, 0.1 + 0.2, 1234567.0, 1e-4, 6.02214076e23, 3, 100}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf = AppendDouble(buf[:0], vals[i%len(vals)])
	}
}

func BenchmarkAppendDecimal(b *testing.B) {
	buf := make([]byte, 0, 32)
	u := big.NewInt(-123456789)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendDecimal(buf[:0], u, 4)
	}
}
