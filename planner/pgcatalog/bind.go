package pgcatalog

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	"github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// Plan is a bound catalog query: run it with Run. A Plan is used by one
// goroutine at a time.
type Plan struct {
	// Columns are the result's columns as the client sees them: ARRAY
	// values are sent in PostgreSQL's text form ({a,b}), as text, and a
	// column of NULLs is text.
	Columns []types.Column
	// Params are the parameter types inferred while binding.
	Params []types.Type

	env  *Env
	root rel
	cast []bool // columns to render in PostgreSQL's array text form
	x    *execution
}

// col is a column of a relation in binding. Names are in PostgreSQL's
// form, lower-case unless quoted with upper-case letters.
type col struct {
	qual, name string
	t          types.Type
}

// rel is a bound relation. run returns its rows: the values of its
// columns, given the row of the enclosing query (outer), which
// correlated subqueries read.
type rel interface {
	columns() []col
	run(x *execution, outer types.Row) ([]types.Row, error)
}

// Wants reports whether a query is one for this package: it reads a
// relation of pg_catalog or information_schema (qualified, or unqualified
// and named like one, when isSource says no stream or table has that
// name), is a UNION, or has no FROM and uses something only catalog
// queries have (a session function such as version(), a subquery, a
// regular-expression match, a cast to a catalog type).
func Wants(q *sql.Query, isSource func(name string) bool) bool {
	if q.SetOpr != nil {
		return true
	}
	w := &wantVisitor{isSource: isSource}
	q.Select.Accept(w)
	return w.catalogTable || w.tableFunction || (q.Select.From == nil && w.pgOnly)
}

type wantVisitor struct {
	isSource      func(string) bool
	catalogTable  bool
	tableFunction bool
	pgOnly        bool
}

func (v *wantVisitor) Enter(n ast.Node) (ast.Node, bool) {
	switch n := n.(type) {
	case *ast.TableName:
		schema := strings.ToLower(n.Schema.O)
		if schema == "pg_catalog" || schema == "information_schema" {
			v.catalogTable = true
		} else if schema == "" {
			if _, ok := lookupTable("", pgName(n.Name.O)); ok && !v.isSource(n.Name.O) {
				v.catalogTable = true
			}
		}
	case *ast.FuncCallExpr:
		name := strings.ToLower(n.FnName.O)
		if name == "runnel_srf" {
			v.tableFunction = true
		}
		if _, ok := functions[name]; ok || strings.HasPrefix(name, "runnel_pg") || name == "runnel_arrayq" ||
			name == "runnel_any" || name == "runnel_all" || name == "runnel_srf" {
			v.pgOnly = true
		}
	case *ast.SubqueryExpr, *ast.ExistsSubqueryExpr, *ast.PatternRegexpExpr, *ast.CompareSubqueryExpr:
		v.pgOnly = true
	}
	return n, false
}

func (v *wantVisitor) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// Bind binds a query against env. args are the parameter values of an
// execution; nil describes the statement (Plan.Params, Plan.Columns)
// without values, and such a Plan must not run.
func Bind(q *sql.Query, env *Env, args []types.Value) (*Plan, error) {
	env.EnsureDefaults()
	p := &Plan{env: env}
	c := &compiler{plan: p, params: &expr.ParamSet{Values: args}}
	var node ast.ResultSetNode = q.Select
	if q.SetOpr != nil {
		node = q.SetOpr
	}
	r, err := c.query(node, nil)
	if err != nil {
		return nil, err
	}
	p.root = r
	for _, cl := range r.columns() {
		t := cl.t
		array := t.Kind == types.KindArray
		if array || t.Kind == types.KindNull {
			t = types.String
		}
		p.Columns = append(p.Columns, types.Column{Name: cl.name, Type: t})
		p.cast = append(p.cast, array)
	}
	p.Params = c.params.Types
	for i, t := range p.Params {
		if t.Kind == types.KindNull {
			p.Params[i] = types.String
		}
	}
	return p, nil
}

// compiler binds one query.
type compiler struct {
	plan   *Plan
	params *expr.ParamSet
	depth  int
}

// maxDepth bounds the nesting of subqueries and derived tables.
const maxDepth = 32

// scope resolves names for the expressions of one SELECT. The row an
// expression sees is the enclosing query's row (outerW values), then the
// SELECT's own columns, then its aggregate and window slots.
type scope struct {
	cols   []col
	outerW int
	parent *scope
}

func (s *scope) width() int { return s.outerW + len(s.cols) }

// Resolve implements expr.Scope.
func (s *scope) Resolve(qualifier, name string) (int, types.Type, error) {
	q, n := pgName(qualifier), pgName(name)
	found, at := 0, -1
	for i, c := range s.cols {
		if c.name == n && n != "" && (q == "" || c.qual == q) {
			found++
			if at < 0 {
				at = i
			}
		}
	}
	switch {
	case found > 1:
		return 0, types.Type{}, expr.Errorf(expr.ErrAmbiguousColumn, "column reference %q is ambiguous", n)
	case found == 1:
		return s.outerW + at, s.cols[at].t, nil
	case s.parent != nil:
		return s.parent.Resolve(qualifier, name)
	}
	if q != "" {
		return 0, types.Type{}, expr.Errorf(expr.ErrUnknownColumn, "column %s.%s does not exist", q, n)
	}
	return 0, types.Type{}, expr.Errorf(expr.ErrUnknownColumn, "column %q does not exist", n)
}

// query binds a SELECT or a set operation; parent is the scope of the
// enclosing query for a subquery (nil at the top).
func (c *compiler) query(n ast.ResultSetNode, parent *scope) (rel, error) {
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > maxDepth {
		return nil, ErrTooLarge.Errorf("catalog query nests subqueries more than %d levels deep", maxDepth)
	}
	switch n := n.(type) {
	case *ast.SelectStmt:
		return c.selectStmt(n, parent)
	case *ast.SetOprStmt:
		return c.setOpr(n, parent)
	}
	return nil, ErrUnsupported.Errorf("this form of query is not supported in catalog queries")
}

// binder makes the Binder of one clause of a select; sel is nil where
// aggregates and window functions are not allowed.
func (c *compiler) binder(sc *scope, sel *selectRel) *expr.Binder {
	return &expr.Binder{Scope: sc, Set: c.params, Hook: c.hook(sc, sel)}
}

// from binds a FROM item.
func (c *compiler) from(n ast.ResultSetNode, parent *scope, outerW int) (rel, error) {
	switch n := n.(type) {
	case *ast.Join:
		left, err := c.from(n.Left, parent, outerW)
		if err != nil {
			return nil, err
		}
		if n.Right == nil {
			return left, nil
		}
		right, err := c.from(n.Right, parent, outerW)
		if err != nil {
			return nil, err
		}
		if n.NaturalJoin || len(n.Using) > 0 {
			return nil, ErrUnsupported.Errorf("NATURAL and USING joins are not supported in catalog queries")
		}
		j := &joinRel{left: left, right: right, kind: n.Tp, outerW: outerW}
		if n.On != nil {
			sc := &scope{cols: j.columns(), outerW: outerW, parent: parent}
			cond, err := c.binder(sc, nil).Bind(n.On.Expr)
			if err != nil {
				return nil, err
			}
			j.on = cond
		}
		return j, nil
	case *ast.TableSource:
		alias := pgName(n.AsName.O)
		switch src := n.Source.(type) {
		case *ast.TableName:
			schema, name := pgName(src.Schema.O), pgName(src.Name.O)
			if schema != "" && schema != "pg_catalog" && schema != "information_schema" && schema != "public" {
				return nil, ErrUnknownRelation.Errorf("relation \"%s.%s\" does not exist", schema, name)
			}
			t, ok := lookupTable(schema, name)
			if !ok || schema == "public" {
				if _, isSrc := c.plan.env.relationByName(name); isSrc {
					return nil, ErrUnsupported.Errorf("a query of pg_catalog or information_schema cannot also read the stream or table %s", name)
				}
				return nil, ErrUnknownRelation.Errorf("relation \"%s\" does not exist", name)
			}
			if alias == "" {
				alias = name
			}
			return &tableRel{t: t, alias: alias}, nil
		case *ast.SelectStmt:
			if srf, ok, err := c.tableFunction(src, alias, parent, outerW); ok || err != nil {
				return srf, err
			}
			return c.derived(src, alias, parent)
		case *ast.SetOprStmt:
			return c.derived(src, alias, parent)
		case *ast.Join:
			return c.from(src, parent, outerW)
		}
	}
	return nil, ErrUnsupported.Errorf("this FROM item is not supported in catalog queries")
}

// derived binds a subquery in FROM.
func (c *compiler) derived(n ast.ResultSetNode, alias string, parent *scope) (rel, error) {
	inner, err := c.query(n, parent)
	if err != nil {
		return nil, err
	}
	return &aliasRel{inner: inner, alias: alias}, nil
}

// tableFunction binds FROM f(args) [AS] alias, which the front end
// spells as (SELECT RUNNEL_SRF('F', args)) AS alias.
func (c *compiler) tableFunction(sel *ast.SelectStmt, alias string, parent *scope, outerW int) (rel, bool, error) {
	if sel.From != nil || sel.Fields == nil || len(sel.Fields.Fields) != 1 {
		return nil, false, nil
	}
	call, ok := sel.Fields.Fields[0].Expr.(*ast.FuncCallExpr)
	if !ok || !strings.EqualFold(call.FnName.O, "RUNNEL_SRF") || len(call.Args) == 0 {
		return nil, false, nil
	}
	lit, ok := call.Args[0].(*test_driver.ValueExpr)
	if !ok {
		return nil, false, nil
	}
	name := strings.ToLower(lit.GetString())
	sc := &scope{outerW: outerW, parent: parent}
	b := c.binder(sc, nil)
	args := make([]expr.Expr, len(call.Args)-1)
	for i, a := range call.Args[1:] {
		e, err := b.Bind(a)
		if err != nil {
			return nil, true, err
		}
		args[i] = e
	}
	r, err := newSRF(name, args, alias)
	return r, true, err
}

// selectStmt binds a SELECT.
func (c *compiler) selectStmt(sel *ast.SelectStmt, parent *scope) (rel, error) {
	outerW := 0
	if parent != nil {
		outerW = parent.width()
	}
	if sel.With != nil {
		return nil, ErrUnsupported.Errorf("WITH is not supported in catalog queries")
	}
	if sel.LockInfo != nil && sel.LockInfo.LockType != ast.SelectLockNone {
		return nil, ErrUnsupported.Errorf("locking clauses are not supported in catalog queries")
	}
	s := &selectRel{outerW: outerW}
	if sel.From != nil && sel.From.TableRefs != nil {
		f, err := c.from(sel.From.TableRefs, parent, outerW)
		if err != nil {
			return nil, err
		}
		s.from = f
	}
	sc := &scope{outerW: outerW, parent: parent}
	if s.from != nil {
		sc.cols = append(sc.cols, s.from.columns()...)
	}
	s.fromW = len(sc.cols)
	s.sc = sc
	if sel.Where != nil {
		w, err := c.binder(sc, nil).Bind(sel.Where)
		if err != nil {
			return nil, err
		}
		s.where = w
	}
	b := c.binder(sc, s)
	// The select list.
	for _, f := range sel.Fields.Fields {
		if f.WildCard != nil {
			q := pgName(f.WildCard.Table.O)
			n := 0
			for i := 0; i < s.fromW; i++ {
				cl := sc.cols[i]
				if q != "" && cl.qual != q {
					continue
				}
				s.fields = append(s.fields, &expr.Column{Index: outerW + i, Name: cl.name, T: cl.t})
				s.names = append(s.names, cl.name)
				n++
			}
			if n == 0 && q != "" {
				return nil, expr.Errorf(expr.ErrUnknownColumn, "missing FROM-clause entry for table %q", q)
			}
			continue
		}
		e, err := b.Bind(f.Expr)
		if err != nil {
			return nil, err
		}
		name := pgName(f.AsName.O)
		if f.AsName.O == "" {
			name = columnName(f.Expr)
		}
		s.fields = append(s.fields, e)
		s.names = append(s.names, name)
	}
	s.visible = len(s.fields)
	if sel.GroupBy != nil {
		for _, it := range sel.GroupBy.Items {
			e, err := c.outputOrExpr(it.Expr, s, b)
			if err != nil {
				return nil, err
			}
			s.groupBy = append(s.groupBy, e)
		}
		s.grouped = true
	}
	if sel.Having != nil {
		h, err := b.Bind(sel.Having.Expr)
		if err != nil {
			return nil, err
		}
		s.having = h
		s.grouped = true
	}
	if len(s.aggs) > 0 {
		s.grouped = true
	}
	s.distinct = sel.Distinct
	if sel.OrderBy != nil {
		for _, it := range sel.OrderBy.Items {
			k, err := c.orderKey(it, s, b)
			if err != nil {
				return nil, err
			}
			s.order = append(s.order, k)
		}
	}
	if err := c.limit(sel.Limit, &s.limit, &s.offset); err != nil {
		return nil, err
	}
	return s, nil
}

// outputOrExpr binds a GROUP BY item: an output column's number or name,
// or an expression.
func (c *compiler) outputOrExpr(n ast.ExprNode, s *selectRel, b *expr.Binder) (expr.Expr, error) {
	if i, ok := ordinal(n); ok {
		if i < 1 || i > s.visible {
			return nil, expr.Errorf(expr.ErrUnknownColumn, "position %d is not in the select list", i)
		}
		return s.fields[i-1], nil
	}
	if cn, ok := n.(*ast.ColumnNameExpr); ok && cn.Name.Table.O == "" {
		if _, _, err := s.sc.Resolve("", cn.Name.Name.O); err != nil {
			for i := 0; i < s.visible; i++ {
				if s.names[i] == pgName(cn.Name.Name.O) {
					return s.fields[i], nil
				}
			}
		}
	}
	return b.Bind(n)
}

// orderKey binds an ORDER BY item: an output column's number or name
// (which wins over an input column, as in PostgreSQL), or an expression
// over the input, computed as a hidden output column.
func (c *compiler) orderKey(it *ast.ByItem, s *selectRel, b *expr.Binder) (orderKey, error) {
	k := orderKey{desc: it.Desc, nullsFirst: it.Desc}
	if it.NullOrder {
		k.nullsFirst = !k.nullsFirst
	}
	if i, ok := ordinal(it.Expr); ok {
		if i < 1 || i > s.visible {
			return k, expr.Errorf(expr.ErrUnknownColumn, "ORDER BY position %d is not in the select list", i)
		}
		k.col = i - 1
		return k, nil
	}
	if cn, ok := it.Expr.(*ast.ColumnNameExpr); ok && cn.Name.Table.O == "" {
		for i := 0; i < s.visible; i++ {
			if s.names[i] == pgName(cn.Name.Name.O) {
				k.col = i
				return k, nil
			}
		}
	}
	e, err := b.Bind(it.Expr)
	if err != nil {
		return k, err
	}
	k.col = len(s.fields)
	s.fields = append(s.fields, e)
	s.names = append(s.names, "")
	return k, nil
}

// ordinal reads an integer literal.
func ordinal(n ast.ExprNode) (int, bool) {
	if p, ok := n.(*ast.PositionExpr); ok && p.P == nil {
		return p.N, true
	}
	v, ok := n.(*test_driver.ValueExpr)
	if !ok || v.Kind() != test_driver.KindInt64 {
		return 0, false
	}
	return int(v.GetInt64()), true
}

// limit binds LIMIT and OFFSET: literals or parameters.
func (c *compiler) limit(l *ast.Limit, limit, offset *expr.Expr) error {
	if l == nil {
		return nil
	}
	b := &expr.Binder{Set: c.params}
	bind := func(n ast.ExprNode) (expr.Expr, error) {
		// TiDB reads LIMIT's literals as unsigned.
		if v, ok := n.(*test_driver.ValueExpr); ok && v.Kind() == test_driver.KindUint64 {
			return &expr.Literal{Value: types.NewBigint(int64(min(v.GetUint64(), 1<<62))), T: types.Bigint}, nil
		}
		return b.BindAs(n, types.Bigint)
	}
	var err error
	if l.Count != nil {
		if *limit, err = bind(l.Count); err != nil {
			return err
		}
	}
	if l.Offset != nil {
		if *offset, err = bind(l.Offset); err != nil {
			return err
		}
	}
	return nil
}

// setOpr binds a UNION [ALL] of SELECTs.
func (c *compiler) setOpr(n *ast.SetOprStmt, parent *scope) (rel, error) {
	if n.With != nil {
		return nil, ErrUnsupported.Errorf("WITH is not supported in catalog queries")
	}
	u := &unionRel{}
	walk := func(l *ast.SetOprSelectList) error {
		for _, s := range l.Selects {
			var after *ast.SetOprType
			var r rel
			var err error
			switch s := s.(type) {
			case *ast.SelectStmt:
				after = s.AfterSetOperator
				r, err = c.selectStmt(s, parent)
			case *ast.SetOprSelectList:
				after = s.AfterSetOperator
				r, err = c.query(&ast.SetOprStmt{SelectList: s}, parent)
			default:
				return ErrUnsupported.Errorf("this set operation is not supported in catalog queries")
			}
			if err != nil {
				return err
			}
			if len(u.parts) > 0 {
				if after == nil || (*after != ast.Union && *after != ast.UnionAll) {
					return ErrUnsupported.Errorf("INTERSECT and EXCEPT are not supported in catalog queries")
				}
				if len(r.columns()) != len(u.parts[0].columns()) {
					return ErrUnsupported.Errorf("each UNION query must have the same number of columns")
				}
			}
			u.distinct = append(u.distinct, after != nil && *after == ast.Union)
			u.parts = append(u.parts, r)
		}
		return nil
	}
	if err := walk(n.SelectList); err != nil {
		return nil, err
	}
	if n.OrderBy != nil {
		for _, it := range n.OrderBy.Items {
			k := orderKey{desc: it.Desc, nullsFirst: it.Desc}
			if it.NullOrder {
				k.nullsFirst = !k.nullsFirst
			}
			k.col = -1
			if i, ok := ordinal(it.Expr); ok && i >= 1 && i <= len(u.columns()) {
				k.col = i - 1
			} else if cn, ok := it.Expr.(*ast.ColumnNameExpr); ok {
				for i, cl := range u.columns() {
					if cl.name == pgName(cn.Name.Name.O) {
						k.col = i
					}
				}
			}
			if k.col < 0 {
				return nil, ErrUnsupported.Errorf("ORDER BY of a UNION must name an output column")
			}
			u.order = append(u.order, k)
		}
	}
	if err := c.limit(n.Limit, &u.limit, &u.offset); err != nil {
		return nil, err
	}
	return u, nil
}

// columnName is the name PostgreSQL gives an unaliased output column.
func columnName(n ast.ExprNode) string {
	switch n := n.(type) {
	case *ast.ColumnNameExpr:
		return pgName(n.Name.Name.O)
	case *ast.FuncCallExpr:
		name := strings.ToLower(n.FnName.O)
		switch name {
		case "runnel_cast", "runnel_pgcast":
			if len(n.Args) == 2 {
				if _, ok := n.Args[0].(*ast.ColumnNameExpr); ok {
					return columnName(n.Args[0])
				}
				if v, ok := n.Args[1].(*test_driver.ValueExpr); ok {
					return strings.ToLower(strings.TrimSuffix(v.GetString(), "[]"))
				}
			}
		case "runnel_arrayq":
			return "array"
		}
		return name
	case *ast.AggregateFuncExpr:
		return strings.ToLower(n.F)
	case *ast.WindowFuncExpr:
		return strings.ToLower(n.Name)
	case *ast.CaseExpr:
		return "case"
	case *ast.ExistsSubqueryExpr:
		return "exists"
	case *ast.ParenthesesExpr:
		return columnName(n.Expr)
	case *ast.UnaryOperationExpr:
		if n.Op == opcode.Not || n.Op == opcode.Not2 {
			return "?column?"
		}
	}
	return "?column?"
}
