package planner

import (
	"errors"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
	"github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/runnel/runnel/sql/expr"
)

// This file holds GROUP BY's rules, as ksqlDB 0.29 has them (its
// AggregateAnalyzer and LogicalPlanner; the query-validation tests of
// group-by.json give the cases):
//
//   - GROUP BY 1 groups by the constant 1, not by the first select item
//     (ksqlDB has no ordinals), and GROUP BY (a, b) is GROUP BY a, b;
//   - a select item or HAVING term may use the grouping expressions in
//     any expression of its own (CONCAT(INITCAP(c1), c2) ... GROUP BY
//     INITCAP(c1), c2), but a column outside them only in an aggregate;
//   - an expression may be grouped by once, and never an aggregate.

// groupItems returns the grouping expressions of a GROUP BY clause as
// ksqlDB reads them: an integer (TiDB's ordinal) is that constant, and a
// single parenthesized list is its elements. A list beside other items
// is ksqlDB's syntax error.
func groupItems(gb *ast.GroupByClause) ([]ast.ExprNode, error) {
	var out []ast.ExprNode
	for _, item := range gb.Items {
		switch e := item.Expr.(type) {
		case *ast.PositionExpr:
			if e.P != nil {
				return nil, ErrSyntax.Errorf("GROUP BY takes expressions, not a parameter position")
			}
			// A new node each time: the statement's own AST is planned
			// again at execution and must stay as the parser made it.
			out = append(out, ast.NewValueExpr(int64(e.N), "", ""))
		case *ast.RowExpr:
			if len(gb.Items) > 1 {
				return nil, ErrSyntax.Errorf("Syntax Error: a parenthesized GROUP BY list must be the whole GROUP BY clause: GROUP BY (a, b), not GROUP BY c, (a, b)")
			}
			out = append(out, e.Values...)
		default:
			out = append(out, item.Expr)
		}
	}
	return out, nil
}

// groupMatcher recognises the grouping expressions inside the select
// list and HAVING: a subtree written as one of them reads its group
// column. Texts are compared as TiDB restores them (names quoted
// exactly, so `a` and "A" are one column and "a" another).
type groupMatcher struct {
	// texts maps a grouping expression's text to its group column.
	texts map[string]int
	// roots are the node kinds (Go type and, for calls and operators,
	// the name or operator) of the grouping expressions: only a node of
	// one of these kinds is restored, so that matching costs nothing for
	// the rest of an expression.
	roots map[string]bool
	// longest is the longest text: a restore stops past it, so that no
	// node costs more than that to compare however large its subtree.
	longest int
}

func newGroupMatcher() *groupMatcher {
	return &groupMatcher{texts: map[string]int{}, roots: map[string]bool{}}
}

// add records grouping expression n as group column gi; it reports false
// when an equal text is already recorded.
func (m *groupMatcher) add(n ast.ExprNode, gi int) bool {
	n = unparen(n)
	text := restore(n)
	if _, dup := m.texts[text]; dup {
		return false
	}
	m.texts[text] = gi
	m.roots[nodeKind(n)] = true
	m.longest = max(m.longest, len(text))
	return true
}

// match returns the group column that n is written as, if any.
func (m *groupMatcher) match(n ast.ExprNode) (int, bool) {
	n = unparen(n)
	if !m.roots[nodeKind(n)] {
		return 0, false
	}
	text, ok := restoreAtMost(n, m.longest)
	if !ok {
		return 0, false
	}
	gi, ok := m.texts[text]
	return gi, ok
}

// nodeKind is a cheap key that two equal expressions share.
func nodeKind(n ast.ExprNode) string {
	switch e := n.(type) {
	case *ast.FuncCallExpr:
		return "call " + e.FnName.L
	case *ast.AggregateFuncExpr:
		return "agg " + strings.ToLower(e.F)
	case *ast.BinaryOperationExpr:
		return "op " + e.Op.String()
	case *ast.UnaryOperationExpr:
		return "unary " + e.Op.String()
	case *ast.ColumnNameExpr:
		return "column " + e.Name.Name.O
	}
	return typeName(n)
}

func typeName(n ast.Node) string {
	switch n.(type) {
	case *test_driver.ValueExpr:
		return "value"
	case *ast.CaseExpr:
		return "case"
	case *ast.PatternInExpr:
		return "in"
	case *ast.BetweenExpr:
		return "between"
	case *ast.IsNullExpr:
		return "isnull"
	case *ast.PatternLikeOrIlikeExpr:
		return "like"
	}
	return "other"
}

// errTooLong stops a restore that has written more than its limit.
var errTooLong = errors.New("planner: text longer than any grouping expression")

// limitedWriter is a strings.Builder that refuses to grow past max.
type limitedWriter struct {
	b   strings.Builder
	max int
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.max {
		panic(errTooLong)
	}
	return w.b.Write(p)
}

func (w *limitedWriter) WriteString(p string) (int, error) {
	if w.b.Len()+len(p) > w.max {
		panic(errTooLong)
	}
	return w.b.WriteString(p)
}

// restoreAtMost is restore, or false when the text would be longer than
// max bytes: TiDB's Restore has no way to stop early, so the writer
// panics and this recovers it.
func restoreAtMost(n ast.Node, max int) (text string, ok bool) {
	w := &limitedWriter{max: max}
	defer func() {
		if r := recover(); r != nil {
			if r != errTooLong {
				panic(r)
			}
			text, ok = "", false
		}
	}()
	if err := n.Restore(format.NewRestoreCtx(format.DefaultRestoreFlags, w)); err != nil {
		return "", false
	}
	return w.b.String(), true
}

// hook is the binder hook of the select list and HAVING of an
// aggregation: a subtree written as a grouping expression reads its group
// column of the post-aggregation row.
func (m *groupMatcher) hook(row func(gi int) *expr.Column) func(*expr.Binder, ast.ExprNode) (expr.Expr, bool, error) {
	return func(_ *expr.Binder, n ast.ExprNode) (expr.Expr, bool, error) {
		if _, isCol := n.(*ast.ColumnNameExpr); isCol {
			return nil, false, nil // aggScope resolves columns, qualified or not
		}
		gi, ok := m.match(n)
		if !ok {
			return nil, false, nil
		}
		return row(gi), true, nil
	}
}

// ungrouped finds the column references of n that are outside every
// aggregate call and every grouping expression, and that are no group
// column either: what ksqlDB calls a non-aggregate expression not part of
// GROUP BY. grouped reports whether a column reference is a group column
// or a window bound; it is given only references to columns that exist.
type ungrouped struct {
	m       *groupMatcher
	grouped func(cn *ast.ColumnNameExpr) (isGroup, exists bool)
	found   []string
	// lambdaArgs are the argument names of the lambdas being walked:
	// their references are no columns.
	lambdaArgs []map[string]bool
}

func (u *ungrouped) Enter(n ast.Node) (ast.Node, bool) {
	switch e := n.(type) {
	case *ast.AggregateFuncExpr:
		return n, true
	case *ast.FuncCallExpr:
		if expr.IsAggregate(e.FnName.L) {
			return n, true
		}
		if e.FnName.L == "runnel_lambda" {
			args := map[string]bool{}
			for _, a := range e.Args[:max(len(e.Args)-1, 0)] {
				if v, ok := a.(*test_driver.ValueExpr); ok {
					args[v.GetString()] = true
				}
			}
			u.lambdaArgs = append(u.lambdaArgs, args)
		}
	case *ast.ColumnNameExpr:
		if e.Name.Table.O == "" {
			for _, args := range u.lambdaArgs {
				if args[e.Name.Name.O] {
					return n, true
				}
			}
		}
		if isGroup, exists := u.grouped(e); exists && !isGroup {
			u.found = append(u.found, display(e))
		}
		return n, true
	}
	if en, ok := n.(ast.ExprNode); ok {
		if _, ok := u.m.match(en); ok {
			return n, true
		}
	}
	return n, false
}

func (u *ungrouped) Leave(n ast.Node) (ast.Node, bool) {
	if f, ok := n.(*ast.FuncCallExpr); ok && f.FnName.L == "runnel_lambda" && len(u.lambdaArgs) > 0 {
		u.lambdaArgs = u.lambdaArgs[:len(u.lambdaArgs)-1]
	}
	return n, true
}

// andList joins names as ksqlDB's GrammaticalJoiner.and does: "A", "A and
// B", "A, B and C".
func andList(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// firstAggregate returns the name of the first aggregate call in n, or "".
func firstAggregate(n ast.Node) string {
	name := ""
	v := &aggNamer{name: &name}
	n.Accept(v)
	return name
}

type aggNamer struct{ name *string }

func (v *aggNamer) Enter(n ast.Node) (ast.Node, bool) {
	if *v.name != "" {
		return n, true
	}
	switch e := n.(type) {
	case *ast.AggregateFuncExpr:
		*v.name = strings.ToUpper(e.F)
	case *ast.FuncCallExpr:
		if expr.IsAggregate(e.FnName.L) {
			*v.name = strings.ToUpper(e.FnName.O)
		}
	}
	return n, *v.name != ""
}

func (v *aggNamer) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// withHooks returns a copy of p whose binders know the planner's own
// functions (AS_VALUE). Every entry point that binds a query calls it, so
// that every binder made while planning, a join's included, has them.
func (p *Planner) withHooks() *Planner {
	if p.NewBinder == nil || p.hooked {
		return p
	}
	c := *p
	c.hooked = true
	c.NewBinder = func(sc expr.Scope) *expr.Binder {
		b := p.NewBinder(sc)
		b.Hook = chainHooks(asValueHook, b.Hook)
		return b
	}
	return &c
}

// asValueHook binds ksqlDB's AS_VALUE(x): x itself, as a value column. It
// is the planner's because what it changes is only which select item is
// a key: a select item that is exactly a key column (or a grouping
// expression) is the output's key, and AS_VALUE(k) never is, so
// SELECT k, AS_VALUE(k) AS v copies the key into the value.
func asValueHook(b *expr.Binder, n ast.ExprNode) (expr.Expr, bool, error) {
	call, ok := n.(*ast.FuncCallExpr)
	if !ok || call.FnName.L != "as_value" {
		return nil, false, nil
	}
	if len(call.Args) != 1 {
		return nil, true, ErrUnknownFunction.Errorf("Function 'AS_VALUE' does not accept parameters (%d arguments): it takes one", len(call.Args))
	}
	e, err := b.Bind(call.Args[0])
	return e, true, err
}
