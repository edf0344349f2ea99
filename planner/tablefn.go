package planner

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// Table functions (EXPLODE, CUBE_EXPLODE) in a select list: ksqlDB's
// FlatMapNode. The calls are taken out of the select list into a FlatMap
// under the Project, and each call becomes a column that the select list
// reads (KSQL_SYNTH_n), so that EXPLODE(a) + 1 or EXPLODE(a)->F work:
//
//	SELECT id, EXPLODE(arr) AS v FROM s WHERE x > 1
//
//	Project    ID, KSQL_SYNTH_0 AS V
//	 └─ FlatMap   EXPLODE(ARR) AS KSQL_SYNTH_0
//	     └─ Filter   X > 1
//	         └─ Scan S
//
// ksqlDB's rules (its Analyzer and LogicalPlanner): a table function
// only in the select list of a query over a stream, not nested, not in
// CASE, not with an aggregation.

// FlatMap expands each input row by its table function calls: as many
// rows as the longest call gives, each the input row followed by one
// value per call (a shorter call's values padded with NULLs).
type FlatMap struct {
	Input Node
	// Calls are the table function calls, bound over Input's columns.
	Calls []*expr.TableCall
	// Cols are Input's columns, then one per call.
	Cols []types.Column
}

var _ Node = (*FlatMap)(nil)

// Columns implements Node.
func (f *FlatMap) Columns() []types.Column { return f.Cols }

// Children implements Node.
func (f *FlatMap) Children() []Node { return []Node{f.Input} }

// WithChildren implements Node.
func (f *FlatMap) WithChildren(children ...Node) (Node, error) {
	if err := wantChildren(f, children, 1); err != nil {
		return nil, err
	}
	c := *f
	c.Input = children[0]
	return &c, nil
}

// Describe implements Node.
func (f *FlatMap) Describe() string {
	var b strings.Builder
	b.WriteString("[ FLAT MAP ] | ")
	base := len(f.Cols) - len(f.Calls)
	for i, c := range f.Calls {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.String() + " AS " + quoteName(f.Cols[base+i].Name))
	}
	return b.String()
}

// synthName names the column of a query's i-th table function call.
func synthName(i int) string { return fmt.Sprintf("KSQL_SYNTH_%d", i) }

// findTableFunctions reports whether the select list calls a table
// function, and refuses those that ksqlDB refuses by where they stand:
// nested in another's arguments, or in a CASE.
func findTableFunctions(sel *ast.SelectStmt) (bool, error) {
	v := &tableFnFinder{}
	for _, f := range sel.Fields.Fields {
		if f.Expr != nil {
			f.Expr.Accept(v)
			if v.err != nil {
				return false, v.err
			}
		}
	}
	return v.found, nil
}

// tableFnFinder walks a select item: outer is the table function call it
// is inside (""), cases how many CASEs.
type tableFnFinder struct {
	found bool
	outer []string
	cases []*ast.CaseExpr
	err   error
}

func (v *tableFnFinder) Enter(n ast.Node) (ast.Node, bool) {
	switch n := n.(type) {
	case *ast.CaseExpr:
		v.cases = append(v.cases, n)
	case *ast.FuncCallExpr:
		if !expr.IsTableFunction(n.FnName.L) {
			break
		}
		name := strings.ToUpper(n.FnName.O)
		switch {
		case len(v.outer) > 0:
			v.err = ErrUnsupported.Errorf("Table functions cannot be nested: %s(%s())", v.outer[len(v.outer)-1], name)
		case len(v.cases) > 0:
			v.err = ErrUnsupported.Errorf("Table functions cannot be used in CASE: %s", display(v.cases[len(v.cases)-1]))
		}
		v.found = true
		v.outer = append(v.outer, name)
	}
	return n, v.err != nil
}

func (v *tableFnFinder) Leave(n ast.Node) (ast.Node, bool) {
	switch n := n.(type) {
	case *ast.CaseExpr:
		v.cases = v.cases[:len(v.cases)-1]
	case *ast.FuncCallExpr:
		if expr.IsTableFunction(n.FnName.L) && len(v.outer) > 0 {
			v.outer = v.outer[:len(v.outer)-1]
		}
	}
	return n, v.err == nil
}

// checkTableFunctions refuses table functions where ksqlDB refuses them
// by the query's shape, with its messages.
func checkTableFunctions(aggregating bool, from *fromClause) error {
	switch {
	case aggregating:
		return ErrUnsupported.Errorf("Table functions cannot be used with aggregations.")
	case from.kind == catalog.KindTable:
		// A table source or a join of tables: ksqlDB refuses both. A
		// join whose result is a stream expands its joined rows.
		return ErrUnsupported.Errorf("Table source is not supported with table functions")
	}
	return nil
}

// tableFnHook binds the table function calls of a select list: each
// becomes a column after the base columns of the FlatMap's input.
type tableFnHook struct {
	base  int
	calls []*expr.TableCall
}

func (h *tableFnHook) hook(b *expr.Binder, n ast.ExprNode) (expr.Expr, bool, error) {
	call, ok := n.(*ast.FuncCallExpr)
	if !ok || !expr.IsTableFunction(call.FnName.L) {
		return nil, false, nil
	}
	tc, err := b.BindTableCall(call)
	if err != nil {
		return nil, true, err
	}
	i := len(h.calls)
	h.calls = append(h.calls, tc)
	return &expr.Column{Index: h.base + i, Name: synthName(i), T: tc.T}, true, nil
}

// flatMap is the FlatMap of the calls bound, over input; nil when there
// are none.
func (h *tableFnHook) flatMap(input Node) Node {
	if len(h.calls) == 0 {
		return input
	}
	cols := append([]types.Column(nil), input.Columns()...)
	for i, c := range h.calls {
		cols = append(cols, types.Column{Name: synthName(i), Type: c.T})
	}
	return &FlatMap{Input: input, Calls: h.calls, Cols: cols}
}
