package expr

import (
	"strings"
	"testing"
)

// TestConjuncts: a WHERE's top-level AND splits into its terms, through
// parentheses and nested ANDs, and nothing else does (an OR, a NOT of an
// AND, a lone term); AllOf of the terms is the WHERE again, value for
// value, NULLs included.
func TestConjuncts(t *testing.T) {
	for _, tc := range []struct {
		sql   string
		terms []string
	}{
		{"I > 1 AND (S = 'x' OR T) AND ((B < 3 AND NB) AND D > 0)", []string{"(I > 1)", "((S = 'x') OR T)", "(B < 3)", "NB", "(D > 0)"}},
		{"I > 1 OR B < 3", []string{"((I > 1) OR (B < 3))"}},
		{"NOT (I > 1 AND B < 3)", []string{"(NOT ((I > 1) AND (B < 3)))"}},
		{"T", []string{"T"}},
	} {
		e, err := bindSQL(t, &Binder{}, tc.sql)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range Conjuncts(e) {
			got = append(got, c.String())
		}
		if strings.Join(got, " | ") != strings.Join(tc.terms, " | ") {
			t.Errorf("%s: terms %q, want %q", tc.sql, got, tc.terms)
		}
	}
	// AllOf over the terms evaluates as the whole, over rows where terms
	// are TRUE, FALSE and NULL.
	for _, sql := range []string{"T AND NB", "T AND F", "NB AND F", "T AND T AND T", "NB AND NB"} {
		e, err := bindSQL(t, &Binder{}, sql)
		if err != nil {
			t.Fatal(err)
		}
		all := AllOf(Conjuncts(e))
		want, err1 := e.Eval(row)
		got, err2 := all.Eval(row)
		if err1 != nil || err2 != nil || show(got, all.Type()) != show(want, e.Type()) {
			t.Errorf("%s: AllOf gives %s (%v), the whole %s (%v)", sql, show(got, all.Type()), err2, show(want, e.Type()), err1)
		}
	}
	if AllOf(nil) != nil {
		t.Error("AllOf of no terms is not nil")
	}
}
