package expr

import (
	"strings"
	"testing"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/runnel/runnel/sql/types"
)

// TestTableFunctions binds table function calls over the test row and
// checks their values, one line each, rendered "NULL" for a NULL.
func TestTableFunctions(t *testing.T) {
	cases := []struct {
		sql  string
		typ  string
		want []string // nil: no rows
		code string   // SQLSTATE of a bind or evaluation error
	}{
		{sql: "EXPLODE(A)", typ: "INTEGER", want: []string{"3", "1", "2"}},
		{sql: "EXPLODE(NA)", typ: "INTEGER"},                                                          // NULL array: no rows
		{sql: "EXPLODE(ARRAY_REMOVE(RUNNEL_ARRAY(1), 1))", typ: "INTEGER"},                            // empty array: no rows
		{sql: "EXPLODE(RUNNEL_ARRAY(S, NULL))", typ: "STRING", want: []string{"Hello World", "NULL"}}, // a NULL element is a row
		{sql: "EXPLODE(RUNNEL_ARRAY(ST))", typ: "STRUCT<`X` INTEGER, `Y` STRING>", want: []string{"Struct{X=5,Y=x}"}},
		{sql: "CUBE_EXPLODE(RUNNEL_ARRAY(I, Z))", typ: "ARRAY<INTEGER>", want: []string{"[null, null]", "[null, 0]", "[7, null]", "[7, 0]"}},
		{sql: "CUBE_EXPLODE(RUNNEL_ARRAY(I, NI))", typ: "ARRAY<INTEGER>", want: []string{"[null, null]", "[7, null]"}},
		{sql: "CUBE_EXPLODE(RUNNEL_ARRAY(NI, I, NI))", typ: "ARRAY<INTEGER>", want: []string{"[null, null, null]", "[null, 7, null]"}},
		{sql: "CUBE_EXPLODE(ARRAY_REMOVE(RUNNEL_ARRAY(1), 1))", typ: "ARRAY<INTEGER>", want: []string{"[]"}},
		{sql: "CUBE_EXPLODE(NA)", typ: "ARRAY<INTEGER>"},
		{sql: "CUBE_EXPLODE(GENERATE_SERIES(1, 41))", code: "54000"},
		{sql: "CUBE_EXPLODE(GENERATE_SERIES(1, 24))", code: "54000"}, // 2^24 rows are over 16 MiB
		{sql: "EXPLODE(M)", code: "42883"},
		{sql: "EXPLODE(A, A)", code: "42883"},
		{sql: "EXPLODE()", code: "42883"},
		{sql: "CUBE_EXPLODE(I)", code: "42883"},
		{sql: "EXPLODE(1 / Z)", code: "42883"},
	}
	for _, c := range cases {
		t.Run(c.sql, func(t *testing.T) {
			b := &Binder{Scope: scope}
			call, ok := parseExpr(t, c.sql).(*ast.FuncCallExpr)
			if !ok {
				t.Fatalf("%s is not a call", c.sql)
			}
			tc, err := b.BindTableCall(call)
			var vals []types.Value
			if err == nil {
				if got := tc.T.String(); got != c.typ && c.code == "" {
					t.Errorf("type %s, want %s", got, c.typ)
				}
				vals, err = tc.Eval(row)
			}
			if c.code != "" {
				if SQLState(err) != c.code {
					t.Fatalf("error %v, want SQLSTATE %s", err, c.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range vals {
				got = append(got, show(v, tc.T))
			}
			if strings.Join(got, " | ") != strings.Join(c.want, " | ") || len(got) != len(c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// TestTableFunctionMisplaced: the Binder refuses a table function that
// the planner did not take out of a select list.
func TestTableFunctionMisplaced(t *testing.T) {
	for _, sql := range []string{"EXPLODE(A)", "1 + EXPLODE(A)", "ABS(RUNNEL_INDEX(CUBE_EXPLODE(A), 1))"} {
		_, err := bindSQL(t, &Binder{}, sql)
		if SQLState(err) != "0A000" || !strings.Contains(err.Error(), "can only be used in the select list") {
			t.Errorf("%s: %v", sql, err)
		}
	}
}

// TestTableFunctionsDescribed: SHOW FUNCTIONS lists the table functions
// as TABLE.
func TestTableFunctionsDescribed(t *testing.T) {
	for _, name := range []string{"explode", "CUBE_EXPLODE"} {
		d, ok := Describe(name)
		if !ok || d.Kind != KindTable || d.Category != "TABLE" || len(d.Signatures) != 1 {
			t.Errorf("%s: %+v %v", name, d, ok)
		}
		if !IsTableFunction(name) {
			t.Errorf("%s is not a table function", name)
		}
	}
}
