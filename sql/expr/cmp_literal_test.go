package expr

import (
	"fmt"
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// TestCompareIntLiteral: an INT or BIGINT compared with a constant on the
// right (read once, at bind time) answers as the same comparison written
// the other way round, which compares two evaluated values; NULL stays
// NULL.
func TestCompareIntLiteral(t *testing.T) {
	mirror := map[string]string{"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
	in := append(types.Row(nil), row...)
	for _, col := range []string{"I", "B", "CAST(NULL AS INT)", "I + 1"} {
		for _, k := range []string{"-1", "6", "7", "8", "10000000000", "9223372036854775807", "-9223372036854775808"} {
			for op, back := range mirror {
				fast, err := bindLine(fmt.Sprintf("%s %s %s", col, op, k))
				if err != nil {
					t.Fatal(err)
				}
				slow, err := bindLine(fmt.Sprintf("%s %s %s", k, back, col))
				if err != nil {
					t.Fatal(err)
				}
				got, err1 := fast.Eval(in)
				want, err2 := slow.Eval(in)
				if err1 != nil || err2 != nil {
					t.Fatalf("%s %s %s: %v, %v", col, op, k, err1, err2)
				}
				if got.IsNull() != want.IsNull() || (!got.IsNull() && got.Bool() != want.Bool()) {
					t.Errorf("%s %s %s = %v, but %s %s %s = %v", col, op, k, got, k, back, col, want)
				}
			}
		}
	}
}

// BenchmarkCompareIntLiteral is one of q15's CASEs.
func BenchmarkCompareIntLiteral(b *testing.B) {
	e, err := bindLine("CASE WHEN B >= 10000 AND B < 1000000 THEN 1 END")
	if err != nil {
		b.Fatal(err)
	}
	in := append(types.Row(nil), row...)
	in[1] = types.NewBigint(50000)
	b.ReportAllocs()
	cpu := cpuPerOp(b)
	for b.Loop() {
		if _, err := e.Eval(in); err != nil {
			b.Fatal(err)
		}
	}
	cpu()
}
