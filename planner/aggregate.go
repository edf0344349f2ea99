package planner

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// Window bound pseudo columns of a windowed aggregation.
const (
	WindowStart = "WINDOWSTART"
	WindowEnd   = "WINDOWEND"
)

// AggregateResolver gives an aggregate call's result type, or an error for
// a call that does not exist or does not fit its arguments. The engine
// supplies it (from operators/agg) so the planner never imports operators.
type AggregateResolver func(name string, argTypes []types.Type, consts []types.Value, distinct bool) (types.Type, error)

// Aggregation is what an Aggregate node computes. Its output — the post
// aggregation row — is laid out as:
//
//	group values (one per GroupBy), [WINDOWSTART, WINDOWEND], aggregate results
//
// and the Having and Project above it are bound over that row.
type Aggregation struct {
	// GroupBy computes the group key over the input row.
	GroupBy []expr.Expr
	// Calls are the distinct aggregate calls, in result-column order.
	Calls []AggCall
	// Window is the WINDOW clause; nil for an unwindowed aggregation. A
	// window is how an aggregation keys its state, not an operator of its
	// own: it is part of the Aggregate node.
	Window *sql.Window
	// Row is the post-aggregation row's schema.
	Row []types.Column
	// Emit is EMIT CHANGES (every update) or EMIT FINAL (each window once,
	// when it closes).
	Emit sql.EmitMode
	// KeyNames name the output table's key columns, one per GroupBy.
	KeyNames []string
}

// AggCall is one aggregate call, e.g. SUM(viewtime) or TOPK(x, 3).
type AggCall struct {
	// Name is upper-case.
	Name string
	// Args are the non-constant arguments, over the input row.
	Args []expr.Expr
	// Consts are trailing constant arguments (TOPK's k), evaluated.
	Consts   []types.Value
	Distinct bool
	// Type is the result type.
	Type types.Type
	// Text is the call as written, for EXPLAIN and error messages.
	Text string
}

// ArgTypes are the types of the call's non-constant arguments.
func (c AggCall) ArgTypes() []types.Type {
	ts := make([]types.Type, len(c.Args))
	for i, a := range c.Args {
		ts[i] = a.Type()
	}
	return ts
}

// WindowOffset is the index of WINDOWSTART in the post-aggregation row, or
// -1 when the aggregation is not windowed.
func (a *Aggregation) WindowOffset() int {
	if a.Window == nil {
		return -1
	}
	return len(a.GroupBy)
}

// CallOffset is the index of the first aggregate result in the row.
func (a *Aggregation) CallOffset() int {
	if a.Window == nil {
		return len(a.GroupBy)
	}
	return len(a.GroupBy) + 2
}

// aggScope resolves names after aggregation: group columns, window bounds;
// an input column that is neither is a grouping error.
type aggScope struct {
	in  expr.Scope
	row []types.Column
	// named maps the input columns that group columns are plain
	// references to (by input index) to the group column.
	named map[int]int
}

func (s *aggScope) Resolve(qualifier, name string) (int, types.Type, error) {
	idx, _, inErr := s.in.Resolve(qualifier, name)
	if inErr == nil {
		if gi, ok := s.named[idx]; ok {
			return gi, s.row[gi].Type, nil
		}
	}
	if qualifier == "" && (name == WindowStart || name == WindowEnd) {
		for i, c := range s.row {
			if c.Name == name {
				return i, c.Type, nil
			}
		}
		return 0, types.Type{}, ErrInvalidColumnRef.Errorf("%s exists only in a windowed aggregation", name)
	}
	if inErr == nil {
		return 0, types.Type{}, ErrGrouping.Errorf("column %s must appear in the GROUP BY clause or be used in an aggregate function", quoteName(name))
	}
	return 0, types.Type{}, inErr
}

// restore renders an AST node as canonical SQL, quoting names exactly, to
// recognise a GROUP BY expression or an aggregate call written twice.
func restore(n ast.Node) string {
	return restoreWith(n, format.DefaultRestoreFlags)
}

// display renders an AST node for EXPLAIN and messages: names unquoted.
func display(n ast.Node) string {
	return restoreWith(n, format.RestoreStringSingleQuotes|format.RestoreKeyWordUppercase|format.RestoreNameUppercase)
}

func restoreWith(n ast.Node, flags format.RestoreFlags) string {
	var b strings.Builder
	if err := n.Restore(format.NewRestoreCtx(flags, &b)); err != nil {
		return fmt.Sprintf("%p", n)
	}
	return b.String()
}

// aggRef reads an aggregate's result from the post-aggregation row and
// prints as the call it stands for (COUNT(1), SUM(VIEWTIME)).
type aggRef struct{ *expr.Column }

func (a aggRef) String() string { return a.Name }

// hasAggregateCall reports whether the select list or HAVING calls an
// aggregate, i.e. whether the query aggregates.
func hasAggregateCall(sel *ast.SelectStmt) bool {
	found := false
	v := &aggFinder{found: &found}
	for _, f := range sel.Fields.Fields {
		if f.Expr != nil {
			f.Expr.Accept(v)
		}
	}
	if sel.Having != nil {
		sel.Having.Expr.Accept(v)
	}
	return found
}

type aggFinder struct{ found *bool }

func (v *aggFinder) Enter(n ast.Node) (ast.Node, bool) {
	switch n := n.(type) {
	case *ast.AggregateFuncExpr:
		*v.found = true
	case *ast.FuncCallExpr:
		if expr.IsAggregate(n.FnName.L) {
			*v.found = true
		}
	}
	return n, *v.found
}

func (v *aggFinder) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// boundAggregate is an aggregating query's grouping, HAVING and select
// list, bound.
type boundAggregate struct {
	agg *Aggregation
	// having is bound over agg.Row; nil when there is no HAVING.
	having expr.Expr
	// exprs and cols are the select list, over agg.Row.
	exprs []expr.Expr
	cols  []types.Column
}

// bindAggregate binds GROUP BY, the aggregate calls, HAVING and the select
// list of an aggregating query over the rows sc resolves names in. natural
// names unaliased select items that have a name of their own (nil:
// naturalName, a single source's rule).
func (p *Planner) bindAggregate(q *sql.Query, sc expr.Scope, natural func(ast.ExprNode) (string, bool)) (*boundAggregate, error) {
	if natural == nil {
		natural = naturalName
	}
	sel := q.Select
	if p.Aggregates == nil {
		return nil, ErrUnsupported.Errorf("aggregation is not available")
	}
	if sel.GroupBy == nil || len(sel.GroupBy.Items) == 0 {
		return nil, ErrGrouping.Errorf("aggregate functions need a GROUP BY clause")
	}
	if q.Emit == sql.EmitFinal && q.Window == nil {
		return nil, ErrUnsupported.Errorf("EMIT FINAL needs a windowed aggregation: an unwindowed group never closes")
	}
	out := &boundAggregate{}
	agg := &Aggregation{Window: q.Window, Emit: q.Emit}
	inBinder := p.NewBinder(sc)
	groupText := map[string]int{}
	named := map[int]int{}
	for i, item := range sel.GroupBy.Items {
		e, err := inBinder.Bind(item.Expr)
		if err != nil {
			return nil, err
		}
		if t := e.Type().Kind; t == types.KindNull {
			return nil, ErrTypeMismatch.Errorf("cannot GROUP BY NULL")
		}
		name := fmt.Sprintf("KSQL_COL_%d", i)
		if cn, ok := item.Expr.(*ast.ColumnNameExpr); ok {
			if n, ok := natural(cn); ok {
				name = n
			}
			if c, ok := e.(*expr.Column); ok {
				named[c.Index] = i
			}
		}
		groupText[restore(item.Expr)] = i
		agg.GroupBy = append(agg.GroupBy, e)
		agg.Row = append(agg.Row, types.Column{Name: name, Type: e.Type(), Key: true})
	}
	if agg.Window != nil {
		agg.Row = append(agg.Row, types.Column{Name: WindowStart, Type: types.Bigint}, types.Column{Name: WindowEnd, Type: types.Bigint})
	}
	callIndex := map[string]int{}
	hook := func(name string, args []ast.ExprNode, distinct bool, node ast.ExprNode) (expr.Expr, error) {
		key := restore(node)
		text := display(node)
		if i, ok := callIndex[key]; ok {
			return aggRef{&expr.Column{Index: i, Name: text, T: agg.Row[i].Type}}, nil
		}
		call := AggCall{Name: strings.ToUpper(name), Distinct: distinct, Text: text}
		argBinder := p.NewBinder(sc)
		for ai, a := range args {
			e, err := argBinder.Bind(a)
			if err != nil {
				return nil, err
			}
			switch {
			case ai > 0 && expr.IsConstant(e):
				v, err := e.Eval(nil)
				if err != nil {
					return nil, err
				}
				call.Consts = append(call.Consts, v)
			case call.Name == "COUNT" && expr.IsConstant(e):
				// COUNT(*) and COUNT(1) count rows.
			default:
				if len(call.Consts) > 0 {
					return nil, ErrTypeMismatch.Errorf("%s: constant arguments must come last", text)
				}
				call.Args = append(call.Args, e)
			}
		}
		t, err := p.Aggregates(call.Name, call.ArgTypes(), call.Consts, distinct)
		if err != nil {
			return nil, err
		}
		call.Type = t
		i := len(agg.Row)
		callIndex[key] = i
		agg.Calls = append(agg.Calls, call)
		agg.Row = append(agg.Row, types.Column{Name: fmt.Sprintf("KSQL_AGG_%d", len(agg.Calls)-1), Type: t})
		return aggRef{&expr.Column{Index: i, Name: text, T: t}}, nil
	}
	postScope := &aggScope{in: sc, row: nil, named: named}
	postBinder := func() *expr.Binder {
		b := p.NewBinder(postScope)
		b.Aggregate = hook
		return b
	}
	// Select list: a GROUP BY expression repeated verbatim reads its group
	// column; anything else is bound after aggregation.
	type field struct {
		name  string
		e     expr.Expr
		group int // the group column it is, or -1
	}
	var fields []field
	names := newNamerWith(sel.Fields.Fields, natural)
	for _, sf := range sel.Fields.Fields {
		if sf.WildCard != nil {
			return nil, ErrUnsupported.Errorf("SELECT * is not supported with GROUP BY: name the columns")
		}
		name := sf.AsName.O
		if name == "" {
			name = names.name(sf.Expr)
		}
		if gi, ok := groupText[restore(sf.Expr)]; ok {
			fields = append(fields, field{name: name, e: &expr.Column{Index: gi, Name: agg.Row[gi].Name, T: agg.Row[gi].Type}, group: gi})
			continue
		}
		postScope.row = agg.Row
		e, err := postBinder().Bind(sf.Expr)
		if err != nil {
			return nil, err
		}
		fields = append(fields, field{name: name, e: e, group: -1})
	}
	if sel.Having != nil {
		postScope.row = agg.Row
		h, err := postBinder().Bind(sel.Having.Expr)
		if err != nil {
			return nil, err
		}
		if k := h.Type().Kind; k != types.KindBoolean && k != types.KindNull {
			return nil, ErrTypeMismatch.Errorf("HAVING must be a BOOLEAN expression, not %s", h.Type())
		}
		out.having = h
	}
	// The output table's key is the group key: each group column takes the
	// name of the first select item that is exactly it (its alias, if
	// any), or its own name when the select list leaves it out. The
	// output keeps the select list's order; KeysFirst lays out a sink.
	agg.KeyNames = make([]string, len(agg.GroupBy))
	for gi := range agg.GroupBy {
		agg.KeyNames[gi] = agg.Row[gi].Name
	}
	used := make([]bool, len(agg.GroupBy))
	isKey := make([]bool, len(fields))
	for i, f := range fields {
		if f.group >= 0 && !used[f.group] {
			used[f.group], isKey[i] = true, true
			agg.KeyNames[f.group] = f.name
		}
	}
	seen := map[string]bool{}
	for i, f := range fields {
		if seen[f.name] {
			return nil, ErrDuplicateColumn.Errorf("column %s is in the projection more than once: give one an alias", quoteName(f.name))
		}
		seen[f.name] = true
		out.exprs = append(out.exprs, f.e)
		out.cols = append(out.cols, types.Column{Name: f.name, Type: outputType(f.e.Type()), Key: isKey[i]})
	}
	for gi, n := range agg.KeyNames {
		if !used[gi] && seen[n] {
			return nil, ErrDuplicateColumn.Errorf("column %s is in the projection more than once: give one an alias", quoteName(n))
		}
	}
	out.agg = agg
	return out, nil
}

// groupsByKey reports whether the aggregation groups by exactly the
// source's key columns, in order, over a stream: every group then already
// lives in one partition and needs no repartition.
func (a *Aggregation) groupsByKey(src *catalog.Source) bool {
	keys := src.KeyColumns()
	if src.Kind != catalog.KindStream || len(keys) == 0 || len(keys) != len(a.GroupBy) {
		return false
	}
	for i, g := range a.GroupBy {
		c, ok := g.(*expr.Column)
		if !ok || c.Index != i {
			return false
		}
	}
	return true
}

// NeedsRepartition reports whether the aggregation's first stage must
// send rows through an internal topic keyed by group.
func (a *Aggregation) NeedsRepartition(src *catalog.Source) bool {
	return src.Kind == catalog.KindTable || !a.groupsByKey(src)
}
