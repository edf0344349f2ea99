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
	for _, text := range []string{
		"SPLIT(S, '/')",
		"SPLIT(S, '/')[4]",
		"FORMAT_TIMESTAMP(TS, 'yyyy-MM-dd', 'UTC')",
		"FORMAT_TIMESTAMP(TS, 'HH:mm', 'UTC')",
	} {
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
