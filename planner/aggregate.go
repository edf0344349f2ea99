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
	// groupText renders each grouping expression for messages.
	groupText []string
	// copies names, for each group column, the select items that are
	// exactly it (the first is the key; a persistent query allows no
	// second, and needs a first).
	copies [][]string
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
	items, err := groupItems(sel.GroupBy)
	if err != nil {
		return nil, err
	}
	if !hasAggregateCall(sel) {
		return nil, ErrGrouping.Errorf("GROUP BY requires aggregate functions in either the SELECT or HAVING clause.")
	}
	out := &boundAggregate{}
	agg := &Aggregation{Window: q.Window, Emit: q.Emit}
	inBinder := p.NewBinder(sc)
	groups := newGroupMatcher()
	named := map[int]int{}
	for i, item := range items {
		if name := firstAggregate(item); name != "" {
			return nil, ErrGrouping.Errorf("GROUP BY does not support aggregate functions: %s is an aggregate function.", name)
		}
		e, err := inBinder.Bind(item)
		if err != nil {
			return nil, err
		}
		if t := e.Type().Kind; t == types.KindNull {
			return nil, ErrTypeMismatch.Errorf("cannot GROUP BY NULL")
		}
		name := fmt.Sprintf("KSQL_COL_%d", i)
		if cn, ok := unparen(item).(*ast.ColumnNameExpr); ok {
			if n, ok := natural(cn); ok {
				name = n
			}
		}
		dup := !groups.add(item, i)
		if c, ok := e.(*expr.Column); ok {
			if _, seen := named[c.Index]; seen {
				dup = true
			}
			named[c.Index] = i
		}
		if dup {
			return nil, ErrGrouping.Errorf("Duplicate GROUP BY expression: %s", display(item))
		}
		out.groupText = append(out.groupText, display(unparen(item)))
		agg.GroupBy = append(agg.GroupBy, e)
		agg.Row = append(agg.Row, types.Column{Name: name, Type: e.Type(), Key: true})
	}
	if agg.Window != nil {
		agg.Row = append(agg.Row, types.Column{Name: WindowStart, Type: types.Bigint}, types.Column{Name: WindowEnd, Type: types.Bigint})
	}
	groupCol := func(gi int) *expr.Column {
		return &expr.Column{Index: gi, Name: agg.Row[gi].Name, T: agg.Row[gi].Type}
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
				// COUNT(*), COUNT() and COUNT(1) count rows.
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
		b.Hook = chainHooks(groups.hook(groupCol), b.Hook)
		return b
	}
	// grouped tells a group column (or a window bound) from another
	// column of the input, for ksqlDB's errors about the latter.
	grouped := func(cn *ast.ColumnNameExpr) (bool, bool) {
		idx, _, err := sc.Resolve(cn.Name.Table.O, cn.Name.Name.O)
		if err != nil {
			return false, false
		}
		if _, ok := named[idx]; ok {
			return true, true
		}
		n := cn.Name.Name.O
		return cn.Name.Table.O == "" && agg.Window != nil && (n == WindowStart || n == WindowEnd), true
	}
	// Select list: an item that is a grouping expression reads its group
	// column; anything else is bound after aggregation, where a grouping
	// expression anywhere in it reads its group column too.
	type field struct {
		name  string
		e     expr.Expr
		group int // the group column it is, or -1
	}
	var fields []field
	var notGrouped []string
	names := newNamerWith(sel.Fields.Fields, natural)
	for _, sf := range sel.Fields.Fields {
		if sf.WildCard != nil {
			// SELECT * under GROUP BY: every column of the source, each of
			// which must be a group column, as in ksqlDB.
			cols, err := wildcardColumns(sc, sf.WildCard)
			if err != nil {
				return nil, err
			}
			for _, cn := range cols {
				if isGroup, _ := grouped(cn); !isGroup {
					notGrouped = append(notGrouped, display(cn))
					continue
				}
				idx, _, _ := sc.Resolve("", cn.Name.Name.O)
				gi := named[idx]
				fields = append(fields, field{name: cn.Name.Name.O, e: groupCol(gi), group: gi})
			}
			continue
		}
		name := sf.AsName.O
		if name == "" {
			name = names.name(sf.Expr)
		}
		if gi, ok := groups.match(sf.Expr); ok {
			fields = append(fields, field{name: name, e: groupCol(gi), group: gi})
			continue
		}
		if cn, ok := unparen(sf.Expr).(*ast.ColumnNameExpr); ok {
			if idx, _, err := sc.Resolve(cn.Name.Table.O, cn.Name.Name.O); err == nil {
				if gi, ok := named[idx]; ok {
					fields = append(fields, field{name: name, e: groupCol(gi), group: gi})
					continue
				}
			}
		}
		u := &ungrouped{m: groups, grouped: grouped}
		sf.Expr.Accept(u)
		if len(u.found) > 0 {
			notGrouped = append(notGrouped, display(sf.Expr))
			continue
		}
		postScope.row = agg.Row
		e, err := postBinder().Bind(sf.Expr)
		if err != nil {
			return nil, err
		}
		fields = append(fields, field{name: name, e: e, group: -1})
	}
	if len(notGrouped) > 0 {
		return nil, ErrGrouping.Errorf("Non-aggregate SELECT expression(s) not part of GROUP BY: %s\n"+
			"Either add the column(s) to the GROUP BY or remove them from the SELECT.", strings.Join(notGrouped, ", "))
	}
	if sel.Having != nil {
		u := &ungrouped{m: groups, grouped: grouped}
		sel.Having.Expr.Accept(u)
		if len(u.found) > 0 {
			return nil, ErrGrouping.Errorf("Non-aggregate HAVING expression not part of GROUP BY: %s\n"+
				"Consider switching the HAVING clause to a WHERE clause before the GROUP BY.", strings.Join(u.found, ", "))
		}
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
	out.copies = make([][]string, len(agg.GroupBy))
	isKey := make([]bool, len(fields))
	for i, f := range fields {
		if f.group < 0 {
			continue
		}
		if len(out.copies[f.group]) == 0 {
			isKey[i] = true
			agg.KeyNames[f.group] = f.name
		}
		out.copies[f.group] = append(out.copies[f.group], f.name)
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
	out.agg = agg
	return out, nil
}

// checkPersistent applies what ksqlDB requires of an aggregation that
// writes a table (its LogicalPlanner): every grouping expression in the
// projection, each once, and at least one value column.
func (a *boundAggregate) checkPersistent(sink string) error {
	var missing []string
	for gi, c := range a.copies {
		switch {
		case len(c) == 0:
			missing = append(missing, a.groupText[gi])
		case len(c) > 1:
			quoted := make([]string, len(c))
			for i, n := range c {
				quoted[i] = "`" + n + "`"
			}
			return ErrDuplicateColumn.Errorf("The projection contains a key column more than once: %s.\n"+
				"Each key column must only be in the projection once. If you intended to copy the key into the value, "+
				"then consider using the AS_VALUE function to indicate which key reference should be copied.", andList(quoted))
		}
	}
	if len(missing) > 0 {
		plural, s := "", ""
		if len(missing) > 1 {
			plural, s = "s", "s"
		}
		return ErrInvalidColumnRef.Errorf("Key%s missing from projection (ie, SELECT). \nThe query used to build `%s` "+
			"must include the grouping expression%s %s in its projection (eg, SELECT %s...).",
			plural, sink, s, andList(missing), strings.Join(missing, ", "))
	}
	values := 0
	for _, c := range a.cols {
		if !c.Key {
			values++
		}
	}
	if values == 0 {
		return ErrInvalidTableDef.Errorf("The projection contains no value columns.")
	}
	return nil
}

// wildcardColumns expands * (or q.*) over a single source into references
// to its declared columns; a join's * under GROUP BY is not supported.
func wildcardColumns(sc expr.Scope, w *ast.WildCardField) ([]*ast.ColumnNameExpr, error) {
	s, ok := sc.(*scope)
	if !ok {
		return nil, ErrUnsupported.Errorf("SELECT * is not supported with GROUP BY over a join: name the columns")
	}
	if q := w.Table.O; q != "" && q != s.source && q != s.alias {
		return nil, ErrUnknownSource.Errorf("unknown source %s in %s.*", q, q)
	}
	var out []*ast.ColumnNameExpr
	for _, c := range s.cols {
		if c.Name == RowTime {
			break // the pseudo columns and window bounds follow the declared ones
		}
		out = append(out, &ast.ColumnNameExpr{Name: &ast.ColumnName{Name: ast.NewCIStr(c.Name)}})
	}
	return out, nil
}

// chainHooks offers a node to first, then to second.
func chainHooks(first, second func(*expr.Binder, ast.ExprNode) (expr.Expr, bool, error)) func(*expr.Binder, ast.ExprNode) (expr.Expr, bool, error) {
	if second == nil {
		return first
	}
	return func(b *expr.Binder, n ast.ExprNode) (expr.Expr, bool, error) {
		if e, ok, err := first(b, n); ok || err != nil {
			return e, ok, err
		}
		return second(b, n)
	}
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
