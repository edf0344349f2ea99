package expr

import (
	"fmt"
	"testing"
	"time"

	"github.com/runnel/runnel/sql/types"
)

// TestShare: which subexpressions Share finds in common, and that
// evaluating with them shared gives every row the values evaluating
// without gives, errors included, over rows that reach the shared nodes
// in every order (a CASE branch, an OR operand, neither).
func TestShare(t *testing.T) {
	// A clock that stands still, so that UNIX_TIMESTAMP() evaluated
	// with and without sharing gives one value.
	fixed := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	now = func() time.Time { return fixed }
	defer func() { now = time.Now }()
	for _, tc := range []struct {
		name  string
		exprs []string
		slots int // values after the row's: 2 per shared subexpression
	}{
		{
			name: "q21: the regex in WHERE and in a CASE of SELECT, LCASE five times",
			exprs: []string{
				`CASE WHEN LCASE(S) = 'apple' THEN '0' WHEN LCASE(S) = 'hello world' THEN '1' ELSE REGEXP_EXTRACT('(&|^)x=([^&]*)', JS, 2) END`,
				`REGEXP_EXTRACT('(&|^)x=([^&]*)', JS, 2) IS NOT NULL OR LCASE(S) IN ('apple', 'google')`,
			},
			slots: 4,
		},
		{
			name:  "a repeated tree shares its repeated subtrees too",
			exprs: []string{`UCASE(LCASE(S)) || 'a'`, `UCASE(LCASE(S)) || 'b'`},
			slots: 4,
		},
		{
			name:  "a division only a CASE branch reaches: shared, still lazy",
			exprs: []string{`CASE WHEN I = 0 THEN 0 ELSE 100 / I END`, `CASE WHEN I = 0 THEN 0 ELSE 100 / I END + 1`},
			slots: 6, // the CASE, and I = 0 and 100 / I within it
		},
		{
			name: "q22: subscripts of a shared SPLIT, before and after its array is built",
			exprs: []string{
				`SPLIT(JS, '=')[2]`, `ARRAY_LENGTH(SPLIT(JS, '='))`, `SPLIT(JS, '=')[-1]`, `SPLIT(JS, '=')[I]`,
			},
			slots: 2,
		},
		{
			name:  "a concatenation shared within another, written into its buffer (text.go)",
			exprs: []string{`RUNNEL_CAST(B, 'STRING') + '/' + S`, `RUNNEL_CAST(B, 'STRING') + '/' + RUNNEL_CAST(I, 'STRING')`, `RUNNEL_CAST(I, 'STRING')`},
			slots: 6,
		},
		{
			name:  "columns and literals are not shared",
			exprs: []string{`I`, `I`, `'x'`, `'x'`},
		},
		{
			name:  "nothing in common",
			exprs: []string{`I + 1`, `I + 2`},
		},
		{
			name:  "RANDOM() differs from call to call",
			exprs: []string{`RANDOM()`, `RANDOM()`, `RANDOM() * I`, `RANDOM() * I`},
		},
		{
			name:  "q5: UNIX_TIMESTAMP of a column is a function of it, shared",
			exprs: []string{`UNIX_TIMESTAMP(TS) - UNIX_TIMESTAMP(TS) % 2000 - 8000`, `UNIX_TIMESTAMP(TS) - UNIX_TIMESTAMP(TS) % 2000`},
			slots: 6, // UNIX_TIMESTAMP(TS), its remainder, the difference
		},
		{
			name:  "UNIX_TIMESTAMP() reads the clock: not shared",
			exprs: []string{`UNIX_TIMESTAMP() + I`, `UNIX_TIMESTAMP() + I`},
		},
		{
			name:  "nothing within a lambda",
			exprs: []string{`TRANSFORM(A, x => x + I)`, `TRANSFORM(A, x => x + I)`, `TRANSFORM(A, x => I + 1)`, `I + 1`},
		},
		{
			name:  "other casts are other values",
			exprs: []string{`CAST(I AS BIGINT) + 1`, `CAST(I AS DOUBLE) + 1`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bind := func() []Expr {
				var es []Expr
				for _, s := range tc.exprs {
					e, err := bindLine(s)
					if err != nil {
						t.Fatalf("bind %s: %v", s, err)
					}
					es = append(es, e)
				}
				return es
			}
			plain, shared := bind(), bind()
			width := len(row)
			slots := Share(shared, width)
			if slots != tc.slots {
				t.Fatalf("Share: %d slots, want %d", slots, tc.slots)
			}
			// Rows that take each way through: I is 0, 7 and NULL; S
			// matches a CASE arm or not.
			for _, r := range variants() {
				ext := make(types.Row, width+slots)
				copy(ext, r)
				for i := range plain {
					want, werr := plain[i].Eval(r)
					got, gerr := shared[i].Eval(ext)
					if fmt.Sprint(werr) != fmt.Sprint(gerr) {
						t.Fatalf("%s over I=%s S=%s: error %v, want %v", tc.exprs[i], showV(r[0]), showV(r[4]), gerr, werr)
					}
					if tc.name[:6] != "RANDOM" && !sameV(got, want) {
						t.Fatalf("%s over I=%s S=%s: %s, want %s", tc.exprs[i], showV(r[0]), showV(r[4]), showV(got), showV(want))
					}
				}
				// Rows without the slots evaluate without sharing.
				for i := range shared {
					a, aerr := shared[i].Eval(r)
					b, berr := plain[i].Eval(r)
					if fmt.Sprint(aerr) != fmt.Sprint(berr) || (tc.name[:6] != "RANDOM" && !sameV(a, b)) {
						t.Fatalf("%s over a row without slots: %s %v, want %s %v", tc.exprs[i], showV(a), aerr, showV(b), berr)
					}
				}
			}
		})
	}
}

// variants are the test row with I and S varied.
func variants() []types.Row {
	var out []types.Row
	for _, i := range []types.Value{types.NewInt(0), types.NewInt(7), types.NullValue} {
		for _, s := range []types.Value{types.NewString("APPLE"), types.NewString("Hello World"), types.NewString("x"), types.NullValue} {
			for _, js := range []types.Value{types.NewString("a=1&x=42"), types.NewString("y=1"), types.NullValue} {
				r := append(types.Row(nil), row...)
				r[0], r[4], r[18] = i, s, js
				out = append(out, r)
			}
		}
	}
	return out
}

func showV(v types.Value) string {
	if v.IsNull() {
		return "NULL"
	}
	return fmt.Sprintf("%v:%s", v.Kind(), types.Format(v, types.Type{Kind: v.Kind()}))
}

func sameV(a, b types.Value) bool { return types.Compare(a, b) == 0 && a.Kind() == b.Kind() }

// TestShareComputesOnce counts the evaluations of a shared node: once per
// row however often the expressions reach it, twice without the slots,
// never when no expression reaches it.
func TestShareComputesOnce(t *testing.T) {
	calls := 0
	col := &Column{Index: 0, Name: "I", T: types.Int}
	counted := func() *node {
		return &node{t: types.Int, sql: []any{"F(", col, ")"}, kids: []Expr{col}, eval: func(r types.Row) (types.Value, error) {
			calls++
			return r[0], nil
		}}
	}
	// G1(x) and G2(x) are x when I > 0, NULL otherwise, so that x is reached only then.
	gate := func(name string, x Expr) Expr {
		return &node{t: types.Int, sql: []any{name + "(", x, ")"}, kids: []Expr{x}, eval: func(r types.Row) (types.Value, error) {
			if r[0].IsNull() || r[0].Int() <= 0 {
				return types.Value{}, nil
			}
			return x.Eval(r)
		}}
	}
	a, b, c := counted(), counted(), counted()
	exprs := []Expr{gate("G1", a), gate("G2", b), c}
	slots := Share(exprs[:2], 1)
	if slots != 2 || a.memo.Load() != 1 || b.memo.Load() != 1 || c.memo.Load() != 0 {
		t.Fatalf("slots %d, marks %d %d %d", slots, a.memo.Load(), b.memo.Load(), c.memo.Load())
	}
	for _, tc := range []struct {
		i     int64
		slots bool
		calls int
	}{{5, true, 1}, {5, false, 2}, {-1, true, 0}} {
		calls = 0
		r := types.Row{types.NewInt(int32(tc.i))}
		if tc.slots {
			r = append(r, types.Value{}, types.Value{})
		}
		for _, e := range exprs[:2] {
			if _, err := e.Eval(r); err != nil {
				t.Fatal(err)
			}
		}
		if calls != tc.calls {
			t.Errorf("I=%d, slots %v: %d evaluations, want %d", tc.i, tc.slots, calls, tc.calls)
		}
	}
}
