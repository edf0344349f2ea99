package expr

import (
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// TestCallArgsReused: a call's argument list is reused from row to row
// (apply's pool), so a value returned from one row must not change when
// the next is evaluated, whatever the function returns of its arguments;
// and a call that returns an ARRAY, MAP or STRUCT, which may be built on
// its argument list, gets a list of its own every row.
func TestCallArgsReused(t *testing.T) {
	for _, text := range []string{
		"COALESCE(S, 'none')",
		"CONCAT(S, '!')",
		"LCASE(S)",
		"IFNULL(S, 'x')",
		"GREATEST(I, 3)",
		"ARRAY_UNION(ARRAY[S], ARRAY[S, 'z'])",
		"SPLIT(S, ' ')",
		"AS_MAP(ARRAY['k'], ARRAY[S])",
	} {
		e, err := bindLine(text)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		r1 := append(types.Row(nil), row...)
		r2 := append(types.Row(nil), row...)
		r2[0], r2[4] = types.NewInt(1), types.NewString("Other Text")
		first, err := e.Eval(r1)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		want := types.Format(first, e.Type())
		for range 3 {
			if _, err := e.Eval(r2); err != nil {
				t.Fatalf("%s: %v", text, err)
			}
		}
		if got := types.Format(first, e.Type()); got != want {
			t.Errorf("%s: the first row's value became %s, was %s", text, got, want)
		}
	}
}
