package expr

import (
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// BenchmarkNexmarkFuncs evaluates the per-row function calls of Nexmark's
// stateless q22 (SPLIT and a subscript) and q10 (FORMAT_TIMESTAMP with a
// constant pattern and zone), the ones their profiles point at.
func BenchmarkNexmarkFuncs(b *testing.B) {
	r := append(types.Row(nil), row...)
	r[4] = types.NewString("https://www.nexmark.com/abcd/efgh/ijkl/item.htm?query=1")
	benchEval(b, r,
		"SPLIT(S, '/')",
		"SPLIT(S, '/')[4]",
		"FORMAT_TIMESTAMP(TS, 'yyyy-MM-dd', 'UTC')",
		"FORMAT_TIMESTAMP(TS, 'HH:mm', 'UTC')",
	)
}

// benchEval runs one sub-benchmark per expression text, each evaluating
// it over r.
func benchEval(b *testing.B, r types.Row, texts ...string) {
	for _, text := range texts {
		e, err := bindLine(text)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(text, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Eval(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkQ22Row evaluates q22's three subscripts of one SPLIT over a
// row, shared as a query shares them (Share), per row.
func BenchmarkQ22Row(b *testing.B) {
	var es []Expr
	for _, text := range []string{"SPLIT(S, '/')[4]", "SPLIT(S, '/')[5]", "SPLIT(S, '/')[6]"} {
		e, err := bindLine(text)
		if err != nil {
			b.Fatal(err)
		}
		es = append(es, e)
	}
	slots := Share(es, len(row))
	r := make(types.Row, len(row)+slots)
	copy(r, row)
	r[4] = types.NewString("https://www.nexmark.com/abcd/efgh/ijkl/item.htm?query=1")
	b.ReportAllocs()
	for b.Loop() {
		for i := len(row); i < len(r); i++ {
			r[i] = types.Value{}
		}
		for _, e := range es {
			if _, err := e.Eval(r); err != nil {
				b.Fatal(err)
			}
		}
	}
}
