package expr

import (
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/runnel/runnel/sql/types"
)

// testScope is a tiny Scope over typed columns; AMB resolves ambiguously
// unless qualified.
type testScope struct {
	cols []types.Column
}

func (s *testScope) Resolve(qualifier, name string) (int, types.Type, error) {
	if name == "AMB" && qualifier == "" {
		return 0, types.Type{}, errorf(ErrAmbiguousColumn, "column reference \"AMB\" is ambiguous")
	}
	if qualifier != "" && qualifier != "T" {
		return 0, types.Type{}, errorf(ErrUnknownColumn, "column \"%s.%s\" does not exist", qualifier, name)
	}
	for i, c := range s.cols {
		if c.Name == name {
			return i, c.Type, nil
		}
	}
	return 0, types.Type{}, errorf(ErrUnknownColumn, "column \"%s\" does not exist", name)
}

var stType = types.Struct(types.Field{Name: "X", Type: types.Int}, types.Field{Name: "Y", Type: types.String})

var scope = &testScope{cols: []types.Column{
	{Name: "I", Type: types.Int},
	{Name: "B", Type: types.Bigint},
	{Name: "D", Type: types.Double},
	{Name: "N", Type: types.Decimal(10, 2)},
	{Name: "S", Type: types.String},
	{Name: "T", Type: types.Boolean},
	{Name: "TS", Type: types.Timestamp},
	{Name: "DT", Type: types.Date},
	{Name: "TM", Type: types.Time},
	{Name: "A", Type: types.Array(types.Int)},
	{Name: "M", Type: types.Map(types.String, types.Int)},
	{Name: "ST", Type: stType},
	{Name: "NI", Type: types.Int},
	{Name: "NS", Type: types.String},
	{Name: "NB", Type: types.Boolean},
	{Name: "F", Type: types.Boolean},
	{Name: "AS", Type: types.Array(types.String)},
	{Name: "AMB", Type: types.Int},
	{Name: "JS", Type: types.String},
	{Name: "NA", Type: types.Array(types.Int)},
	{Name: "Z", Type: types.Int},
}}

func dec(unscaled int64, scale int32) types.Value {
	return types.NewDecimal(big.NewInt(unscaled), scale)
}

var row = types.Row{
	types.NewInt(7),
	types.NewBigint(10000000000),
	types.NewDouble(2.5),
	dec(1250, 2), // 12.50
	types.NewString("Hello World"),
	types.NewBoolean(true),
	types.NewTimestamp(1795428000000), // 2026-11-23T10:00:00.000
	types.NewDate(20780),              // 2026-11-23
	types.NewTime(36000000),           // 10:00:00
	types.NewArray([]types.Value{types.NewInt(3), types.NewInt(1), types.NewInt(2)}),
	types.NewMap([]types.Value{types.NewString("a"), types.NewString("b")}, []types.Value{types.NewInt(1), types.NewInt(2)}),
	types.NewStruct([]types.Value{types.NewInt(5), types.NewString("x")}),
	{}, {}, {},
	types.NewBoolean(false),
	types.NewArray([]types.Value{types.NewString("b"), types.NewString("a"), types.NewString("b")}),
	types.NewInt(1),
	types.NewString(`{"a":{"b":[10,"x",{"c":true}]},"s":"str","n":null}`),
	{},
	types.NewInt(0),
}

func parseExpr(t testing.TB, sql string) ast.ExprNode {
	t.Helper()
	p := parser.New()
	p.SetSQLMode(mysql.ModeANSIQuotes | mysql.ModePipesAsConcat | mysql.ModeNoBackslashEscapes)
	st, err := p.ParseOneStmt("SELECT "+sql+" FROM t", "", "")
	if err != nil {
		t.Fatalf("parse %q: %v", sql, err)
	}
	e := st.(*ast.SelectStmt).Fields.Fields[0].Expr
	e.Accept(renamer{})
	return e
}

// renamer turns XX_NAME(...) into NAME(...): some ksqlDB function names
// (SPLIT, TIMESTAMPADD) are keywords to TiDB, which the sql package's
// rewriting deals with; tests spell them XX_SPLIT.
type renamer struct{}

func (renamer) Enter(n ast.Node) (ast.Node, bool) {
	if f, ok := n.(*ast.FuncCallExpr); ok && strings.HasPrefix(f.FnName.O, "XX_") {
		f.FnName = ast.NewCIStr(strings.TrimPrefix(f.FnName.O, "XX_"))
	}
	return n, false
}

func (renamer) Leave(n ast.Node) (ast.Node, bool) { return n, true }

func bindSQL(t testing.TB, b *Binder, sql string) (Expr, error) {
	t.Helper()
	if b.Scope == nil {
		b.Scope = scope
	}
	return b.Bind(parseExpr(t, sql))
}

// show renders a value for comparisons: NULL as "NULL".
func show(v types.Value, t types.Type) string {
	if v.IsNull() {
		return "NULL"
	}
	return types.Format(v, t)
}

// evalCase binds and evaluates sql over row, returning the rendered
// value, the type, and any error.
func evalCase(t testing.TB, sql string) (string, types.Type, error) {
	t.Helper()
	e, err := bindSQL(t, &Binder{}, sql)
	if err != nil {
		return "", types.Type{}, err
	}
	v, err := e.Eval(row)
	if err != nil {
		return "", e.Type(), err
	}
	if !v.IsNull() && v.Kind() != e.Type().Kind {
		t.Errorf("%s: value kind %s differs from static type %s", sql, v.Kind(), e.Type())
	}
	return show(v, e.Type()), e.Type(), nil
}

func isErr(err error, target error) bool { return err != nil && errors.Is(err, target) }
