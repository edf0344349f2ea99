package sql

import (
	"testing"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"
)

// firstField parses SELECT <expr> FROM s and returns the expression.
func firstField(t *testing.T, expr string) ast.ExprNode {
	t.Helper()
	q := parseQuery(t, "SELECT "+expr+" FROM s")
	return q.Select.Fields.Fields[0].Expr
}

func TestRewriteConventions(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a->b", "RUNNEL_FIELD(`A`, _UTF8MB4'B')"},
		{"a->b->c", "RUNNEL_FIELD(RUNNEL_FIELD(`A`, _UTF8MB4'B'), _UTF8MB4'C')"},
		{"a->`b`->\"C d\"", "RUNNEL_FIELD(RUNNEL_FIELD(`A`, _UTF8MB4'b'), _UTF8MB4'C d')"},
		{"s.a->b", "RUNNEL_FIELD(`S`.`A`, _UTF8MB4'B')"},
		{"a[1]", "RUNNEL_INDEX(`A`, 1)"},
		{"a[1][i+1]", "RUNNEL_INDEX(RUNNEL_INDEX(`A`, 1), `I`+1)"},
		{"m['k']->f", "RUNNEL_FIELD(RUNNEL_INDEX(`M`, _UTF8MB4'k'), _UTF8MB4'F')"},
		{"a->arr[2]", "RUNNEL_INDEX(RUNNEL_FIELD(`A`, _UTF8MB4'ARR'), 2)"},
		{"f(x)->y", "RUNNEL_FIELD(F(`X`), _UTF8MB4'Y')"},
		{"(a)->b", "RUNNEL_FIELD((`A`), _UTF8MB4'B')"},
		{"CAST(x AS varchar)", "RUNNEL_CAST(`X`, _UTF8MB4'STRING')"},
		{"cast(x as int)", "RUNNEL_CAST(`X`, _UTF8MB4'INTEGER')"},
		{"CAST(x AS DECIMAL(10,2))", "RUNNEL_CAST(`X`, _UTF8MB4'DECIMAL(10, 2)')"},
		{"CAST(x->y AS STRUCT<a INT, `b` ARRAY<STRING>>)", "RUNNEL_CAST(RUNNEL_FIELD(`X`, _UTF8MB4'Y'), _UTF8MB4'STRUCT<`A` INTEGER, `b` ARRAY<STRING>>')"},
		{"CAST(CAST(x AS BIGINT) AS STRING)", "RUNNEL_CAST(RUNNEL_CAST(`X`, _UTF8MB4'BIGINT'), _UTF8MB4'STRING')"},
		{"CAST(x AS STRUCT<`it's` INT>)", "RUNNEL_CAST(`X`, _UTF8MB4'STRUCT<`it''s` INTEGER>')"},
		{"$1", "RUNNEL_PARAM(1)"},
		{"$12 + $2", "RUNNEL_PARAM(12)+RUNNEL_PARAM(2)"},
		{"ARRAY[1, 2, a]", "RUNNEL_ARRAY(1, 2, `A`)"},
		{"ARRAY[]", "RUNNEL_ARRAY()"},
		{"ARRAY[ARRAY[1], ARRAY[2]][1]", "RUNNEL_INDEX(RUNNEL_ARRAY(RUNNEL_ARRAY(1), RUNNEL_ARRAY(2)), 1)"},
		{"MAP('a' := 1, 'b' := x + 1)", "RUNNEL_MAP(_UTF8MB4'a', 1, _UTF8MB4'b', `X`+1)"},
		{"MAP()", "RUNNEL_MAP()"},
		{"STRUCT(name := 'x', `Id` := 2)", "RUNNEL_STRUCT(_UTF8MB4'NAME', _UTF8MB4'x', _UTF8MB4'Id', 2)"},
		{"STRUCT(a := STRUCT(b := 1))->a->b", "RUNNEL_FIELD(RUNNEL_FIELD(RUNNEL_STRUCT(_UTF8MB4'A', RUNNEL_STRUCT(_UTF8MB4'B', 1)), _UTF8MB4'A'), _UTF8MB4'B')"},
		{"'a->b[1]' || \"c->d\"", "CONCAT(_UTF8MB4'a->b[1]', `c->d`)"},
		{"key", "`KEY`"},
		{"s.key", "`S`.`KEY`"},
		{"rowtime + rowpartition + rowoffset + windowstart + windowend", "`ROWTIME`+`ROWPARTITION`+`ROWOFFSET`+`WINDOWSTART`+`WINDOWEND`"},
		{"rows + range + value + `order`", "`ROWS`+`RANGE`+`VALUE`+`order`"},
		{"LEFT(s, 2)", "LEFT(`S`, 2)"},
		{"IF(x, 1, 2)", "IF(`X`, 1, 2)"},
		{"CASE WHEN a->b = 1 THEN 'x' ELSE 'y' END", "CASE WHEN RUNNEL_FIELD(`A`, _UTF8MB4'B')=1 THEN _UTF8MB4'x' ELSE _UTF8MB4'y' END"},
		{"x IN (1, 2) AND NOT (y BETWEEN 1 AND 2)", "`X` IN (1,2) AND NOT (`Y` BETWEEN 1 AND 2)"},
		// ksqlDB's COUNT() is COUNT(*); other calls keep their empty list.
		{"COUNT()", "COUNT(1)"},
		{"count( ) * cost", "COUNT(1)*`COST`"},
		{"NOW()", "NOW()"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := restore(t, firstField(t, tc.in)); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestRewriteASTShape(t *testing.T) {
	// RUNNEL_FIELD(a, 'B'): a generic call whose first argument is the
	// column and whose second is a string constant.
	call, ok := firstField(t, "a->b").(*ast.FuncCallExpr)
	if !ok || call.FnName.O != "RUNNEL_FIELD" || len(call.Args) != 2 {
		t.Fatalf("got %#v", call)
	}
	col, ok := call.Args[0].(*ast.ColumnNameExpr)
	if !ok || col.Name.Name.O != "A" {
		t.Errorf("first arg = %#v, want column A", call.Args[0])
	}
	lit, ok := call.Args[1].(*driver.ValueExpr)
	if !ok || lit.GetString() != "B" {
		t.Errorf("second arg = %#v, want 'B'", call.Args[1])
	}

	// Nested: the inner call is the first argument.
	call = firstField(t, "a->b->c").(*ast.FuncCallExpr)
	inner, ok := call.Args[0].(*ast.FuncCallExpr)
	if !ok || inner.FnName.O != "RUNNEL_FIELD" {
		t.Errorf("first arg = %#v, want RUNNEL_FIELD call", call.Args[0])
	}

	// A qualified column keeps its table.
	call = firstField(t, "s.a->b").(*ast.FuncCallExpr)
	col = call.Args[0].(*ast.ColumnNameExpr)
	if col.Name.Table.O != "S" || col.Name.Name.O != "A" {
		t.Errorf("column = %+v", col.Name)
	}

	// RUNNEL_PARAM(n): n is an integer constant.
	call = firstField(t, "$3").(*ast.FuncCallExpr)
	if n, ok := call.Args[0].(*driver.ValueExpr); !ok || call.FnName.O != "RUNNEL_PARAM" || n.GetInt64() != 3 {
		t.Errorf("got %#v", call)
	}

	// RUNNEL_CAST's type parses back with ParseType.
	call = firstField(t, "CAST(x AS MAP<STRING, ARRAY<DECIMAL(4, 1)>>)").(*ast.FuncCallExpr)
	typ, err := ParseType(call.Args[1].(*driver.ValueExpr).GetString())
	if err != nil || typ.String() != "MAP<STRING, ARRAY<DECIMAL(4, 1)>>" {
		t.Errorf("ParseType = %v, %v", typ, err)
	}

	// No backslash escapes: a backslash is itself.
	if lit := firstField(t, `'a\nb'`).(*driver.ValueExpr); lit.GetString() != `a\nb` {
		t.Errorf("'a\\nb' = %q", lit.GetString())
	}

	// A lambda: RUNNEL_LAMBDA with its arguments' canonical names, then
	// its body; the body ends at the call's next argument.
	call = firstField(t, "TRANSFORM(m, (k, \"v\") => k, (k, v) => v + 1)").(*ast.FuncCallExpr)
	if len(call.Args) != 3 {
		t.Fatalf("TRANSFORM has %d arguments", len(call.Args))
	}
	for i, want := range []string{"K", "v"} {
		l := call.Args[1].(*ast.FuncCallExpr)
		if l.FnName.O != "RUNNEL_LAMBDA" || len(l.Args) != 3 || l.Args[i].(*driver.ValueExpr).GetString() != want {
			t.Errorf("lambda = %#v, want argument %d %s", l, i, want)
		}
	}
	if body, ok := call.Args[2].(*ast.FuncCallExpr).Args[2].(*ast.BinaryOperationExpr); !ok || body.Op != opcode.Plus {
		t.Errorf("second lambda's body = %#v, want v + 1", call.Args[2])
	}

	// IS DISTINCT FROM: (a <=> RUNNEL_DISTINCT()) <=> b + 1.
	cmp := firstField(t, "a IS DISTINCT FROM b + 1").(*ast.BinaryOperationExpr)
	marker, ok := cmp.L.(*ast.BinaryOperationExpr)
	if cmp.Op != opcode.NullEQ || !ok || marker.Op != opcode.NullEQ || marker.R.(*ast.FuncCallExpr).FnName.O != "RUNNEL_DISTINCT" {
		t.Errorf("IS DISTINCT FROM = %#v", cmp)
	}
	if cmp := firstField(t, "a IS NOT DISTINCT FROM b").(*ast.BinaryOperationExpr); cmp.Op != opcode.NullEQ {
		t.Errorf("IS NOT DISTINCT FROM = %#v", cmp)
	}

	// A quoted reserved word is an ordinary column.
	if col, ok := firstField(t, "key").(*ast.ColumnNameExpr); !ok || col.Name.Name.O != "KEY" {
		t.Errorf("key = %#v", firstField(t, "key"))
	}
}

func TestRewriteErrors(t *testing.T) {
	tests := []struct {
		text string
		pos  int
	}{
		{"SELECT ->b FROM s", 8},
		{"SELECT a-> , b FROM s", 12},
		{"SELECT a->1 FROM s", 11},
		{"SELECT a[] FROM s", 10},
		{"SELECT CAST(x AS INTT) FROM s", 18},
		{"SELECT CAST(x) FROM s", 8},
		{"SELECT MAP(1, 2) FROM s", 12},
		{"SELECT STRUCT(1 := 2) FROM s", 15},
		{"SELECT TRANSFORM(a, x =>) FROM s", 25},
		{"SELECT TRANSFORM(a, (x, 1) => x) FROM s", 25},
		{"SELECT x => 1 FROM s", 10},
		{"SELECT a := 1 FROM s", 10},
		{"SELECT (a FROM s", 8},
		{"SELECT a] FROM s", 9},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			_, err := Parse(tc.text)
			se, ok := err.(*SyntaxError)
			if !ok {
				t.Fatalf("err = %v (%T), want *SyntaxError", err, err)
			}
			if se.Pos != tc.pos {
				t.Errorf("Pos = %d, want %d (%s)", se.Pos, tc.pos, se.Msg)
			}
		})
	}
}
