package expr

import (
	"testing"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/runnel/runnel/sql/types"
)

// bindTableCall binds one table function call over the test scope.
func bindTableCall(t *testing.T, b *Binder, sql string) *TableCall {
	t.Helper()
	call, ok := parseExpr(t, sql).(*ast.FuncCallExpr)
	if !ok {
		t.Fatalf("%s is not a call", sql)
	}
	tc, err := b.BindTableCall(call)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return tc
}

// TestTableCallEvalInto: EXPLODE over an array constructor puts the
// elements in the caller's memory, the values Eval gives, NULLs kept;
// other calls need no room and give Eval's values.
func TestTableCallEvalInto(t *testing.T) {
	cases := []struct {
		sql  string
		room int
	}{
		{"EXPLODE(RUNNEL_ARRAY(I, Z, I + 1))", 3},
		{"EXPLODE(RUNNEL_ARRAY(B - B % 2000 - 8000, B - B % 2000))", 2},
		{"EXPLODE(RUNNEL_ARRAY(S, NULL, NS))", 3},
		{"EXPLODE(RUNNEL_ARRAY(NI))", 1},
		{"EXPLODE(A)", 0},
		{"EXPLODE(NA)", 0},
		{"EXPLODE(CASE WHEN T THEN RUNNEL_ARRAY(I) ELSE RUNNEL_ARRAY(Z, Z) END)", 0},
		{"CUBE_EXPLODE(RUNNEL_ARRAY(I, Z))", 0},
	}
	for _, c := range cases {
		t.Run(c.sql, func(t *testing.T) {
			tc := bindTableCall(t, &Binder{Scope: scope}, c.sql)
			if got := tc.Room(); got != c.room {
				t.Fatalf("room %d, want %d", got, c.room)
			}
			want, err := tc.Eval(row)
			if err != nil {
				t.Fatal(err)
			}
			dst := make([]types.Value, c.room+1)
			dst[c.room] = types.NewInt(-99) // past the room: never written
			got, err := tc.EvalInto(row, dst[:c.room])
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%d values, Eval gives %d", len(got), len(want))
			}
			for i := range want {
				if show(got[i], tc.T) != show(want[i], tc.T) {
					t.Errorf("value %d: %s, Eval gives %s", i, show(got[i], tc.T), show(want[i], tc.T))
				}
			}
			if c.room > 0 && len(got) > 0 && &got[0] != &dst[0] {
				t.Error("the values are not in the caller's memory")
			}
			if dst[c.room].Int() != -99 {
				t.Error("a value written past the room")
			}
		})
	}
}

// TestTableCallEvalIntoLimit: the elements are refused over the limit on
// values as the constructor refuses them (SQLSTATE 54000).
func TestTableCallEvalIntoLimit(t *testing.T) {
	b := &Binder{Scope: scope, MaxValueBytes: 40}
	tc := bindTableCall(t, b, "EXPLODE(RUNNEL_ARRAY(S, S, S, S))")
	_, errEval := tc.Eval(row)
	_, errInto := tc.EvalInto(row, make([]types.Value, tc.Room()))
	if SQLState(errEval) != "54000" || SQLState(errInto) != "54000" || errEval.Error() != errInto.Error() {
		t.Fatalf("Eval: %v; EvalInto: %v; want both SQLSTATE 54000, the same", errEval, errInto)
	}
}

// TestTableCallEvalIntoShared: an array that Share made a shared
// subexpression is evaluated by Eval, which keeps its value in the row
// for its other readers; the caller's memory is left alone.
func TestTableCallEvalIntoShared(t *testing.T) {
	b := &Binder{Scope: scope}
	const sql = "EXPLODE(RUNNEL_ARRAY(I, Z))"
	tc, other := bindTableCall(t, b, sql), bindTableCall(t, b, sql)
	w := len(row)
	slots := Share([]Expr{tc.Args[0], other.Args[0]}, w)
	if slots == 0 {
		t.Fatal("the two arrays are not shared")
	}
	r := make(types.Row, w+slots)
	copy(r, row)
	dst := []types.Value{types.NewInt(-1), types.NewInt(-1)}
	got, err := tc.EvalInto(r, dst)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Int() != 7 || got[1].Int() != 0 {
		t.Fatalf("values %v", got)
	}
	if dst[0].Int() != -1 || dst[1].Int() != -1 {
		t.Error("a shared array's elements were written into the caller's memory")
	}
}
