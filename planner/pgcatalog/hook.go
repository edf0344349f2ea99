package pgcatalog

import (
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	"github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// fnode is an expression this package builds.
type fnode struct {
	t    types.Type
	text string
	eval func(row types.Row) (types.Value, error)
}

var _ expr.Expr = (*fnode)(nil)

func (f *fnode) Type() types.Type                        { return f.t }
func (f *fnode) Eval(row types.Row) (types.Value, error) { return f.eval(row) }
func (f *fnode) String() string                          { return f.text }
func node(t types.Type, text string, eval func(types.Row) (types.Value, error)) *fnode {
	return &fnode{t: t, text: text, eval: eval}
}

// unsupported is a node that fails when it is evaluated (see doc.go).
func unsupported(t types.Type, what string) *fnode {
	return node(t, what, func(types.Row) (types.Value, error) {
		return types.Value{}, ErrUnsupported.Errorf("%s is not supported by Runnel's PostgreSQL catalog", what)
	})
}

// hook binds what only catalog queries have (see doc.go). sel is the
// SELECT whose select list, HAVING or ORDER BY is bound, where
// aggregates and window functions may be; nil elsewhere.
func (c *compiler) hook(sc *scope, sel *selectRel) func(b *expr.Binder, n ast.ExprNode) (expr.Expr, bool, error) {
	return func(b *expr.Binder, n ast.ExprNode) (expr.Expr, bool, error) {
		switch n := n.(type) {
		case *ast.AggregateFuncExpr:
			e, err := c.aggregate(b, sel, strings.ToLower(n.F), n.Args, n.Distinct)
			return e, true, err
		case *ast.WindowFuncExpr:
			e, err := c.window(b, sel, n)
			return e, true, err
		case *ast.SubqueryExpr:
			e, err := c.scalarSubquery(n, sc)
			return e, true, err
		case *ast.ExistsSubqueryExpr:
			e, err := c.exists(n, sc)
			return e, true, err
		case *ast.PatternInExpr:
			if n.Sel == nil {
				return nil, false, nil
			}
			e, err := c.inSubquery(b, n, sc)
			return e, true, err
		case *ast.CompareSubqueryExpr:
			e, err := c.compareSubquery(b, n, sc)
			return e, true, err
		case *ast.PatternRegexpExpr:
			e, err := c.regexpMatch(b, n)
			return e, true, err
		case *ast.BinaryOperationExpr:
			return c.arrayCompare(b, n)
		case *ast.FuncCallExpr:
			return c.call(b, sel, sc, n)
		}
		return nil, false, nil
	}
}

// call binds the function calls this package gives a meaning.
func (c *compiler) call(b *expr.Binder, sel *selectRel, sc *scope, n *ast.FuncCallExpr) (expr.Expr, bool, error) {
	name := strings.ToLower(n.FnName.O)
	switch name {
	case "runnel_pgcast":
		e, err := c.pgCast(b, n)
		return e, true, err
	case "runnel_arrayq":
		e, err := c.arraySubquery(n, sc)
		return e, true, err
	case "runnel_srf":
		return nil, true, ErrUnsupported.Errorf("set-returning functions are only supported in FROM")
	case "runnel_any", "runnel_all":
		return nil, true, ErrUnsupported.Errorf("ANY(array) and ALL(array) must follow a comparison operator")
	case "concat":
		return c.arrayConcat(b, n)
	case "string_agg", "array_agg", "bool_and", "bool_or", "every":
		e, err := c.aggregate(b, sel, name, n.Args, false)
		return e, true, err
	}
	args := make([]expr.Expr, len(n.Args))
	bindArgs := func() error {
		for i, a := range n.Args {
			e, err := b.Bind(a)
			if err != nil {
				return err
			}
			args[i] = e
		}
		return nil
	}
	if f, ok := functions[name]; ok {
		if len(args) < f.min || len(args) > f.max {
			return nil, true, expr.Errorf(expr.ErrUnknownFunction, "function %s does not take %d arguments", name, len(args))
		}
		if err := bindArgs(); err != nil {
			return nil, true, err
		}
		return c.apply(name, f, args), true, nil
	}
	if _, ok := expr.Lookup(name); ok || strings.HasPrefix(name, "runnel_") {
		return nil, false, nil // one of Runnel's own functions or conventions
	}
	if err := bindArgs(); err != nil {
		return nil, true, err
	}
	// NULL's type goes anywhere (AND, CASE, comparisons), so that a
	// query binds and fails only if the call is evaluated.
	return unsupported(types.Null, "function "+name+"()"), true, nil
}

// arrayConcat binds a || b (CONCAT(a, b) after the front end) when one
// side is an ARRAY: PostgreSQL's array concatenation. ok is false for
// strings, which Runnel's CONCAT joins.
func (c *compiler) arrayConcat(b *expr.Binder, n *ast.FuncCallExpr) (expr.Expr, bool, error) {
	args := make([]expr.Expr, len(n.Args))
	var elem *types.Type
	for i, a := range n.Args {
		e, err := b.Bind(a)
		if err != nil {
			return nil, true, err
		}
		args[i] = e
		if t := e.Type(); t.Kind == types.KindArray && elem == nil {
			elem = t.Elem
		}
	}
	if elem == nil {
		return nil, false, nil
	}
	return node(types.Array(*elem), "||", func(row types.Row) (types.Value, error) {
		var out []types.Value
		for _, a := range args {
			v, err := a.Eval(row)
			if err != nil {
				return types.Value{}, err
			}
			if v.IsNull() {
				continue
			}
			if v.Kind() == types.KindArray {
				out = append(out, v.List()...)
			} else {
				out = append(out, v)
			}
		}
		return types.NewArray(out), nil
	}), true, nil
}

// apply builds a call of a catalog function.
func (c *compiler) apply(name string, f *pgFunc, args []expr.Expr) expr.Expr {
	p := c.plan
	return node(f.ret(args), name+"(...)", func(row types.Row) (types.Value, error) {
		vals := make([]types.Value, len(args))
		for i, a := range args {
			v, err := a.Eval(row)
			if err != nil {
				return types.Value{}, err
			}
			if v.IsNull() && f.strict {
				return types.Value{}, nil
			}
			vals[i] = v
		}
		return f.eval(p, vals)
	})
}

// aggregate binds an aggregate call into a slot of sel.
func (c *compiler) aggregate(b *expr.Binder, sel *selectRel, name string, argNodes []ast.ExprNode, distinct bool) (expr.Expr, error) {
	if sel == nil {
		return nil, ErrGrouping.Errorf("aggregate functions are not allowed here")
	}
	var args []expr.Expr
	star := name == "count" && len(argNodes) == 1
	if star {
		if v, ok := argNodes[0].(*test_driver.ValueExpr); !ok || v.Kind() != test_driver.KindInt64 {
			star = false
		}
	}
	if !star {
		inner := &expr.Binder{Scope: b.Scope, Set: c.params, Hook: c.hook(sel.sc, nil)}
		for _, a := range argNodes {
			e, err := inner.Bind(a)
			if err != nil {
				return nil, err
			}
			args = append(args, e)
		}
	}
	t, ok := aggType(name, args)
	if !ok {
		return unsupported(types.String, "aggregate "+name+"()"), nil
	}
	a := &aggSlot{name: name, args: args, distinct: distinct, t: t}
	a.idx = sel.slot(t)
	sel.aggs = append(sel.aggs, a)
	return &expr.Column{Index: a.idx, Name: name, T: t}, nil
}

// window binds row_number(), rank() and dense_rank() OVER (...).
func (c *compiler) window(b *expr.Binder, sel *selectRel, n *ast.WindowFuncExpr) (expr.Expr, error) {
	name := strings.ToLower(n.Name)
	if sel == nil {
		return nil, ErrGrouping.Errorf("window functions are not allowed here")
	}
	if name != "row_number" && name != "rank" && name != "dense_rank" {
		return unsupported(types.Bigint, "window function "+name+"()"), nil
	}
	w := &winSlot{name: name}
	inner := &expr.Binder{Scope: b.Scope, Set: c.params, Hook: c.hook(sel.sc, sel)}
	if n.Spec.Name.O != "" || n.Spec.Ref.O != "" || n.Spec.Frame != nil {
		return nil, ErrUnsupported.Errorf("named windows and frames are not supported in catalog queries")
	}
	if p := n.Spec.PartitionBy; p != nil {
		for _, it := range p.Items {
			e, err := inner.Bind(it.Expr)
			if err != nil {
				return nil, err
			}
			w.partition = append(w.partition, e)
		}
	}
	if o := n.Spec.OrderBy; o != nil {
		for _, it := range o.Items {
			e, err := inner.Bind(it.Expr)
			if err != nil {
				return nil, err
			}
			w.order = append(w.order, e)
			w.desc = append(w.desc, it.Desc)
		}
	}
	w.idx = sel.slot(types.Bigint)
	sel.windows = append(sel.windows, w)
	return &expr.Column{Index: w.idx, Name: name, T: types.Bigint}, nil
}

// subquery binds a subquery of an expression in scope sc.
func (c *compiler) subquery(n ast.ResultSetNode, sc *scope) (rel, error) {
	return c.query(n, sc)
}

func subqueryNode(n ast.ExprNode) (ast.ResultSetNode, bool) {
	for {
		p, ok := n.(*ast.ParenthesesExpr)
		if !ok {
			break
		}
		n = p.Expr
	}
	s, ok := n.(*ast.SubqueryExpr)
	if !ok {
		return nil, false
	}
	return s.Query, true
}

func (c *compiler) scalarSubquery(n *ast.SubqueryExpr, sc *scope) (expr.Expr, error) {
	r, err := c.subquery(n.Query, sc)
	if err != nil {
		return nil, err
	}
	cols := r.columns()
	if len(cols) != 1 {
		return nil, expr.Errorf(expr.ErrTypeMismatch, "subquery must return only one column")
	}
	p := c.plan
	return node(cols[0].t, "(subquery)", func(row types.Row) (types.Value, error) {
		rows, err := r.run(p.x, row)
		if err != nil {
			return types.Value{}, err
		}
		switch len(rows) {
		case 0:
			return types.Value{}, nil
		case 1:
			return rows[0][0], nil
		}
		return types.Value{}, ErrCardinality.Errorf("more than one row returned by a subquery used as an expression")
	}), nil
}

func (c *compiler) exists(n *ast.ExistsSubqueryExpr, sc *scope) (expr.Expr, error) {
	q, ok := subqueryNode(n.Sel)
	if !ok {
		return nil, ErrUnsupported.Errorf("EXISTS needs a subquery")
	}
	r, err := c.subquery(q, sc)
	if err != nil {
		return nil, err
	}
	p := c.plan
	return node(types.Boolean, "EXISTS (subquery)", func(row types.Row) (types.Value, error) {
		rows, err := r.run(p.x, row)
		if err != nil {
			return types.Value{}, err
		}
		return types.NewBoolean((len(rows) > 0) != n.Not), nil
	}), nil
}

// anyMatch is the three-valued result of comparing x with each value:
// TRUE when one matches (any) or all do (all), NULL when that depends on
// a NULL, else FALSE.
func anyMatch(op opcode.Op, x types.Value, vals []types.Value, all bool) (types.Value, error) {
	sawNull := x.IsNull()
	for _, v := range vals {
		if v.IsNull() || x.IsNull() {
			sawNull = true
			continue
		}
		ok, err := compareOp(op, x, v)
		if err != nil {
			return types.Value{}, err
		}
		if ok != all {
			return types.NewBoolean(ok), nil
		}
	}
	if sawNull {
		return types.Value{}, nil
	}
	return types.NewBoolean(all), nil
}

func (c *compiler) inSubquery(b *expr.Binder, n *ast.PatternInExpr, sc *scope) (expr.Expr, error) {
	q, ok := subqueryNode(n.Sel)
	if !ok {
		return nil, ErrUnsupported.Errorf("IN needs a subquery or a list")
	}
	x, err := b.Bind(n.Expr)
	if err != nil {
		return nil, err
	}
	r, err := c.subquery(q, sc)
	if err != nil {
		return nil, err
	}
	p := c.plan
	return node(types.Boolean, "IN (subquery)", func(row types.Row) (types.Value, error) {
		xv, err := x.Eval(row)
		if err != nil {
			return types.Value{}, err
		}
		rows, err := r.run(p.x, row)
		if err != nil {
			return types.Value{}, err
		}
		vals := make([]types.Value, len(rows))
		for i, rr := range rows {
			vals[i] = rr[0]
		}
		res, err := anyMatch(opcode.EQ, xv, vals, false)
		if err != nil || res.IsNull() || !n.Not {
			return res, err
		}
		return types.NewBoolean(!res.Bool()), nil
	}), nil
}

func (c *compiler) compareSubquery(b *expr.Binder, n *ast.CompareSubqueryExpr, sc *scope) (expr.Expr, error) {
	q, ok := subqueryNode(n.R)
	if !ok {
		return nil, ErrUnsupported.Errorf("ANY and ALL need a subquery or an array")
	}
	x, err := b.Bind(n.L)
	if err != nil {
		return nil, err
	}
	r, err := c.subquery(q, sc)
	if err != nil {
		return nil, err
	}
	p := c.plan
	return node(types.Boolean, "op ANY (subquery)", func(row types.Row) (types.Value, error) {
		xv, err := x.Eval(row)
		if err != nil {
			return types.Value{}, err
		}
		rows, err := r.run(p.x, row)
		if err != nil {
			return types.Value{}, err
		}
		vals := make([]types.Value, len(rows))
		for i, rr := range rows {
			vals[i] = rr[0]
		}
		return anyMatch(n.Op, xv, vals, n.All)
	}), nil
}

// arraySubquery binds ARRAY(SELECT ...): the first column's values.
func (c *compiler) arraySubquery(n *ast.FuncCallExpr, sc *scope) (expr.Expr, error) {
	if len(n.Args) != 1 {
		return nil, ErrUnsupported.Errorf("ARRAY(...) needs a subquery")
	}
	q, ok := subqueryNode(n.Args[0])
	if !ok {
		return nil, ErrUnsupported.Errorf("ARRAY(...) needs a subquery")
	}
	r, err := c.subquery(q, sc)
	if err != nil {
		return nil, err
	}
	cols := r.columns()
	if len(cols) != 1 {
		return nil, expr.Errorf(expr.ErrTypeMismatch, "subquery must return only one column")
	}
	elem := cols[0].t
	if elem.Kind == types.KindNull {
		elem = types.String
	}
	p := c.plan
	return node(types.Array(elem), "ARRAY(subquery)", func(row types.Row) (types.Value, error) {
		rows, err := r.run(p.x, row)
		if err != nil {
			return types.Value{}, err
		}
		vals := make([]types.Value, len(rows))
		for i, rr := range rows {
			vals[i] = rr[0]
		}
		return types.NewArray(vals), nil
	}), nil
}

// regexps caches compiled patterns, bounded.
var regexps struct {
	sync.Mutex
	m map[string]*regexp.Regexp // guarded by the mutex
}

func compileRegexp(p string) (*regexp.Regexp, error) {
	regexps.Lock()
	defer regexps.Unlock()
	if re, ok := regexps.m[p]; ok {
		return re, nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, ErrInvalidRegex.Errorf("invalid regular expression %q: %v", clip(p), err)
	}
	if regexps.m == nil || len(regexps.m) >= 256 {
		regexps.m = map[string]*regexp.Regexp{}
	}
	regexps.m[p] = re
	return re, nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// regexpMatch binds x ~ pattern (x REGEXP pattern after the front end).
func (c *compiler) regexpMatch(b *expr.Binder, n *ast.PatternRegexpExpr) (expr.Expr, error) {
	x, err := b.Bind(n.Expr)
	if err != nil {
		return nil, err
	}
	pat, err := b.Bind(n.Pattern)
	if err != nil {
		return nil, err
	}
	return node(types.Boolean, "~", func(row types.Row) (types.Value, error) {
		xv, err := x.Eval(row)
		if err != nil || xv.IsNull() {
			return types.Value{}, err
		}
		pv, err := pat.Eval(row)
		if err != nil || pv.IsNull() {
			return types.Value{}, err
		}
		re, err := compileRegexp(pv.Str())
		if err != nil {
			return types.Value{}, err
		}
		return types.NewBoolean(re.MatchString(types.Format(xv, valueType(xv))) != n.Not), nil
	}), nil
}

// arrayCompare binds x op ANY(array), x op ALL(array) and an array
// compared with an array literal ('{0}').
func (c *compiler) arrayCompare(b *expr.Binder, n *ast.BinaryOperationExpr) (expr.Expr, bool, error) {
	switch n.Op {
	case opcode.EQ, opcode.NE, opcode.LT, opcode.LE, opcode.GT, opcode.GE:
	default:
		return nil, false, nil
	}
	if call, ok := n.R.(*ast.FuncCallExpr); ok && len(call.Args) == 1 &&
		(strings.EqualFold(call.FnName.O, "RUNNEL_ANY") || strings.EqualFold(call.FnName.O, "RUNNEL_ALL")) {
		all := strings.EqualFold(call.FnName.O, "RUNNEL_ALL")
		x, err := b.Bind(n.L)
		if err != nil {
			return nil, true, err
		}
		arr, err := b.Bind(call.Args[0])
		if err != nil {
			return nil, true, err
		}
		return node(types.Boolean, "op ANY (array)", func(row types.Row) (types.Value, error) {
			xv, err := x.Eval(row)
			if err != nil {
				return types.Value{}, err
			}
			av, err := arr.Eval(row)
			if err != nil || av.IsNull() {
				return types.Value{}, err
			}
			if av.Kind() == types.KindString {
				av = parseArray(av.Str(), types.String)
			}
			return anyMatch(n.Op, xv, av.List(), all)
		}), true, nil
	}
	lit, other := n.R, n.L
	if v, ok := n.L.(*test_driver.ValueExpr); ok && v.Kind() == test_driver.KindString {
		lit, other = n.L, n.R
	}
	v, ok := lit.(*test_driver.ValueExpr)
	if !ok || v.Kind() != test_driver.KindString || !strings.HasPrefix(v.GetString(), "{") {
		return nil, false, nil
	}
	if _, ok := other.(*test_driver.ValueExpr); ok {
		return nil, false, nil
	}
	x, err := b.Bind(other)
	if err != nil || x.Type().Kind != types.KindArray {
		return nil, err != nil, err
	}
	want := parseArray(v.GetString(), *x.Type().Elem)
	return node(types.Boolean, "array = literal", func(row types.Row) (types.Value, error) {
		xv, err := x.Eval(row)
		if err != nil || xv.IsNull() {
			return types.Value{}, err
		}
		c := compareValues(xv, want)
		ok, err := opResult(n.Op, c)
		return types.NewBoolean(ok), err
	}), true, nil
}

// parseArray reads PostgreSQL's array text form ({a,"b c",NULL}) as an
// ARRAY of elem (one dimension; nested braces are read as text).
func parseArray(s string, elem types.Type) types.Value {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return types.Value{}
	}
	body := s[1 : len(s)-1]
	var vals []types.Value
	for i := 0; i < len(body); {
		var b strings.Builder
		quoted := false
		if body[i] == '"' {
			quoted = true
			i++
			for i < len(body) && body[i] != '"' {
				if body[i] == '\\' && i+1 < len(body) {
					i++
				}
				b.WriteByte(body[i])
				i++
			}
			i++
		}
		for i < len(body) && body[i] != ',' {
			b.WriteByte(body[i])
			i++
		}
		i++
		text := b.String()
		if !quoted {
			text = strings.TrimSpace(text)
		}
		if !quoted && strings.EqualFold(text, "NULL") {
			vals = append(vals, types.Value{})
			continue
		}
		vals = append(vals, textValue(text, elem))
	}
	return types.NewArray(vals)
}

// textValue reads text as a value of t, or keeps it a STRING.
func textValue(text string, t types.Type) types.Value {
	switch t.Kind {
	case types.KindInt:
		if n, err := strconv.ParseInt(text, 10, 32); err == nil {
			return types.NewInt(int32(n))
		}
	case types.KindBigint:
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return types.NewBigint(n)
		}
	case types.KindBoolean:
		switch strings.ToLower(text) {
		case "t", "true":
			return types.NewBoolean(true)
		case "f", "false":
			return types.NewBoolean(false)
		}
	}
	return types.NewString(text)
}

// compareValues orders two values; a STRING compared with a number is
// read as a number first (an oid column against '16384').
func compareValues(a, b types.Value) int {
	if a.IsNull() || b.IsNull() {
		return types.Compare(a, b)
	}
	num := func(k types.Kind) bool {
		return k == types.KindInt || k == types.KindBigint || k == types.KindDouble || k == types.KindDecimal
	}
	if a.Kind() == types.KindString && num(b.Kind()) {
		a = numberOf(a.Str())
	} else if b.Kind() == types.KindString && num(a.Kind()) {
		b = numberOf(b.Str())
	}
	return types.Compare(a, b)
}

func numberOf(s string) types.Value {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return types.NewBigint(n)
	}
	if r, ok := new(big.Rat).SetString(s); ok {
		f, _ := r.Float64()
		return types.NewDouble(f)
	}
	return types.NewString(s)
}

func compareOp(op opcode.Op, a, b types.Value) (bool, error) {
	return opResult(op, compareValues(a, b))
}

func opResult(op opcode.Op, c int) (bool, error) {
	switch op {
	case opcode.EQ:
		return c == 0, nil
	case opcode.NE:
		return c != 0, nil
	case opcode.LT:
		return c < 0, nil
	case opcode.LE:
		return c <= 0, nil
	case opcode.GT:
		return c > 0, nil
	case opcode.GE:
		return c >= 0, nil
	}
	return false, ErrUnsupported.Errorf("operator %s is not supported with ANY or ALL", op)
}
