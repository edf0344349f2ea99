package expr

import (
	"testing"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/runnel/runnel/sql/types"
)

func TestParamInference(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		want []string // ParamTypes
	}{
		{"I = RUNNEL_PARAM(1)", []string{"INTEGER"}},
		{"RUNNEL_PARAM(1) < TS", []string{"TIMESTAMP"}},
		{"N + RUNNEL_PARAM(1)", []string{"DECIMAL(10, 2)"}},
		{"S LIKE RUNNEL_PARAM(1)", []string{"STRING"}},
		{"I IN (RUNNEL_PARAM(1), RUNNEL_PARAM(2))", []string{"INTEGER", "INTEGER"}},
		{"RUNNEL_PARAM(1) IN (1, 2)", []string{"INTEGER"}},
		{"D BETWEEN RUNNEL_PARAM(1) AND RUNNEL_PARAM(2)", []string{"DOUBLE", "DOUBLE"}},
		{"RUNNEL_CAST(RUNNEL_PARAM(1), 'BIGINT')", []string{"BIGINT"}},
		{"SUBSTRING(RUNNEL_PARAM(1), RUNNEL_PARAM(2))", []string{"STRING", "INTEGER"}},
		{"RUNNEL_PARAM(1) AND T", []string{"BOOLEAN"}},
		{"COALESCE(RUNNEL_PARAM(1), B)", []string{"BIGINT"}},
		{"CASE WHEN T THEN RUNNEL_PARAM(1) ELSE 1.5e0 END", []string{"DOUBLE"}},
		{"RUNNEL_INDEX(A, RUNNEL_PARAM(1))", []string{"INTEGER"}},
		{"RUNNEL_INDEX(M, RUNNEL_PARAM(1))", []string{"STRING"}},
		{"RUNNEL_PARAM(1)", []string{"STRING"}},
		{"RUNNEL_PARAM(1) = RUNNEL_PARAM(2)", []string{"STRING", "STRING"}},
		{"I = RUNNEL_PARAM(2)", []string{"NULL", "INTEGER"}},
		{"I = RUNNEL_PARAM(1) OR B = RUNNEL_PARAM(1)", []string{"INTEGER"}},
	} {
		b := &Binder{}
		e, err := bindSQL(t, b, tc.sql)
		if err != nil {
			t.Errorf("%s: %v", tc.sql, err)
			continue
		}
		var got []string
		for _, pt := range b.ParamTypes {
			got = append(got, pt.String())
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: param types %v, want %v", tc.sql, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: param types %v, want %v", tc.sql, got, tc.want)
				break
			}
		}
		if _, err := e.Eval(row); err != nil && SQLState(err) != "42P02" {
			t.Errorf("%s: describe-mode Eval: %v", tc.sql, err)
		}
	}
	e, _ := bindSQL(t, &Binder{}, "RUNNEL_PARAM(1)")
	if _, err := e.Eval(row); SQLState(err) != "42P02" {
		t.Errorf("describe-mode Eval: %v", err)
	}
}

func TestParamValues(t *testing.T) {
	for _, tc := range []struct {
		sql    string
		params []types.Value
		want   string
		code   string
	}{
		{"I = RUNNEL_PARAM(1)", []types.Value{types.NewInt(7)}, "true", ""},
		{"I = RUNNEL_PARAM(1)", []types.Value{types.NewString("7")}, "true", ""}, // text from the wire
		{"I = RUNNEL_PARAM(1)", []types.Value{types.NewString("x")}, "", "22P02"},
		{"TS > RUNNEL_PARAM(1)", []types.Value{types.NewString("2026-01-01")}, "true", ""},
		{"I + RUNNEL_PARAM(1)", []types.Value{{}}, "NULL", ""},
		{"CONCAT(RUNNEL_PARAM(1), RUNNEL_PARAM(2))", []types.Value{types.NewString("a"), types.NewString("b")}, "ab", ""},
		{"RUNNEL_PARAM(2)", []types.Value{types.NewString("a")}, "", "42P02"},
	} {
		b := &Binder{Params: tc.params}
		e, err := bindSQL(t, b, tc.sql)
		var got string
		if err == nil {
			var v types.Value
			v, err = e.Eval(row)
			got = show(v, e.Type())
		}
		if tc.code != "" {
			if SQLState(err) != tc.code {
				t.Errorf("%s %v: error %v, want %s", tc.sql, tc.params, err, tc.code)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s %v = %q, %v; want %q", tc.sql, tc.params, got, err, tc.want)
		}
	}
}

func TestBindAs(t *testing.T) {
	b := &Binder{Params: []types.Value{types.NewString("42")}}
	for _, tc := range []struct {
		sql  string
		to   types.Type
		want string
		code string
	}{
		{"1", types.Bigint, "1", ""},
		{"1", types.Double, "1.0", ""},
		{"1.5", types.Decimal(5, 2), "1.50", ""},
		{"NULL", types.String, "NULL", ""},
		{"'2026-11-23T10:00:00'", types.Timestamp, "2026-11-23T10:00:00.000", ""},
		{"RUNNEL_ARRAY(1, 2)", types.Array(types.Bigint), "[1, 2]", ""},
		{"RUNNEL_PARAM(1)", types.Int, "42", ""},
		{"'x'", types.Int, "", "22P02"}, // an unknown-typed literal read as INT
		{"1.5e0", types.Int, "", "42804"},
		{"'bad'", types.Date, "", "22P02"},
	} {
		e, err := b.BindAs(parseExpr(t, tc.sql), tc.to)
		if tc.code != "" {
			if SQLState(err) != tc.code {
				t.Errorf("BindAs(%s, %s): %v, want %s", tc.sql, tc.to, err, tc.code)
			}
			continue
		}
		if err != nil {
			t.Errorf("BindAs(%s, %s): %v", tc.sql, tc.to, err)
			continue
		}
		v, err := e.Eval(nil)
		if err != nil || !e.Type().Equal(tc.to) || show(v, e.Type()) != tc.want {
			t.Errorf("BindAs(%s, %s) = %s %s %v, want %s", tc.sql, tc.to, show(v, e.Type()), e.Type(), err, tc.want)
		}
		if !v.IsNull() && v.Kind() != tc.to.Kind {
			t.Errorf("BindAs(%s, %s): value kind %s", tc.sql, tc.to, v.Kind())
		}
	}
}

func TestAggregateHook(t *testing.T) {
	type call struct {
		name     string
		nargs    int
		distinct bool
	}
	var calls []call
	b := &Binder{Scope: scope, Aggregate: func(name string, args []ast.ExprNode, distinct bool, node ast.ExprNode) (Expr, error) {
		calls = append(calls, call{name, len(args), distinct})
		if name == "TOPK" { // pretend the result is column A
			return &Column{Index: 9, Name: "A", T: types.Array(types.Int)}, nil
		}
		// Pretend the aggregate's result is column B.
		return &Column{Index: 1, Name: "B", T: types.Bigint}, nil
	}}
	e, err := b.Bind(parseExpr(t, "COUNT(*) + SUM(DISTINCT I) + latest_by_offset(I) + ARRAY_LENGTH(TOPK(I, 3)) + 1"))
	if err != nil {
		t.Fatal(err)
	}
	want := []call{{"COUNT", 1, false}, {"SUM", 1, true}, {"LATEST_BY_OFFSET", 1, false}, {"TOPK", 2, false}}
	if len(calls) != len(want) {
		t.Fatalf("calls %v, want %v", calls, want)
	}
	for i := range want {
		if calls[i] != want[i] {
			t.Errorf("call %d = %v, want %v", i, calls[i], want[i])
		}
	}
	if e.Type().Kind != types.KindBigint {
		t.Errorf("type %s", e.Type())
	}
	if v, err := e.Eval(row); err != nil || v.Int() != 3*10000000000+3+1 {
		t.Errorf("Eval = %v, %v", v.Int(), err)
	}
}

func TestWalkAndConstant(t *testing.T) {
	e, err := bindSQL(t, &Binder{}, "LCASE(S) = 'x' AND I + 1 > B")
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	Walk(e, func(x Expr) bool {
		if c, ok := x.(*Column); ok {
			cols = append(cols, c.Name)
		}
		return true
	})
	if len(cols) != 3 || cols[0] != "S" || cols[1] != "I" || cols[2] != "B" {
		t.Errorf("columns %v", cols)
	}
	if IsConstant(e) {
		t.Error("IsConstant of a column expression")
	}
	c, _ := bindSQL(t, &Binder{}, "1 + 2 * 3")
	if !IsConstant(c) {
		t.Error("IsConstant(1 + 2 * 3) = false")
	}
	if v, _ := c.Eval(nil); v.Int() != 7 {
		t.Errorf("1 + 2 * 3 = %d", v.Int())
	}
}

func TestNoScope(t *testing.T) {
	b := &Binder{}
	_, err := b.Bind(parseExpr(t, "I + 1"))
	if SQLState(err) != "42703" {
		t.Errorf("column without scope: %v", err)
	}
}

func TestConcurrentEval(t *testing.T) {
	e, err := bindSQL(t, &Binder{}, "CONCAT(UCASE(S), '-', RUNNEL_CAST(I * 2, 'STRING'), REGEXP_EXTRACT('[A-Z]+', S))")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 8)
	for i := 0; i < 8; i++ {
		go func() {
			var v types.Value
			for j := 0; j < 200; j++ {
				v, _ = e.Eval(row)
			}
			done <- v.Str()
		}()
	}
	for i := 0; i < 8; i++ {
		if got := <-done; got != "HELLO WORLD-14H" {
			t.Errorf("concurrent Eval = %q", got)
		}
	}
}

func BenchmarkEvalFilter(b *testing.B) {
	e, err := bindSQL(b, &Binder{}, "I > 5 AND S LIKE 'Hello%' AND D * 2 < 10")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Eval(row); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvalFunction(b *testing.B) {
	e, err := bindSQL(b, &Binder{}, "SUBSTRING(UCASE(S), 1, 5)")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Eval(row); err != nil {
			b.Fatal(err)
		}
	}
}
