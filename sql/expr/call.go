package expr

import (
	"strings"
	"sync"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/runnel/runnel/sql/types"
)

// call binds a function call: the RUNNEL_* rewrites, aggregates, then
// the scalar registry. The overload is chosen here, once, from the
// argument types.
func (b *Binder) call(n *ast.FuncCallExpr) (Expr, error) {
	name := strings.ToUpper(n.FnName.O)
	switch name {
	case "RUNNEL_FIELD":
		return b.field(n)
	case "RUNNEL_INDEX":
		return b.index(n)
	case "RUNNEL_CAST":
		return b.cast(n)
	case "RUNNEL_PARAM":
		if len(n.Args) == 1 {
			if lit, ok := n.Args[0].(*test_driver.ValueExpr); ok && lit.Kind() == test_driver.KindInt64 {
				return b.param(int(lit.GetInt64()))
			}
		}
		return nil, errorf(ErrUnsupported, "RUNNEL_PARAM needs one integer literal")
	case "RUNNEL_ARRAY":
		return b.arrayCtor(n)
	case "RUNNEL_MAP":
		return b.mapCtor(n)
	case "RUNNEL_STRUCT":
		return b.structCtor(n)
	case "RUNNEL_LAMBDA":
		return nil, errorf(ErrLambda, "a lambda (x => ...) can only be an argument of TRANSFORM, FILTER or REDUCE")
	case "RUNNEL_DISTINCT":
		return nil, errorf(ErrUnsupported, "RUNNEL_DISTINCT() is the front end's marker of IS DISTINCT FROM")
	case "RUNNEL_PGCAST", "RUNNEL_ARRAYQ", "RUNNEL_ANY", "RUNNEL_ALL", "RUNNEL_SRF":
		// PostgreSQL's catalog syntax (sql/pgsyntax.go): only a query of
		// the catalog gives it a meaning.
		what := map[string]string{"RUNNEL_PGCAST": "casts to PostgreSQL's catalog types", "RUNNEL_ARRAYQ": "ARRAY(subquery)",
			"RUNNEL_ANY": "ANY(array)", "RUNNEL_ALL": "ALL(array)", "RUNNEL_SRF": "functions in FROM"}[name]
		return nil, errorf(ErrUnsupported, "%s are only supported in queries of pg_catalog and information_schema", what)
	}
	if IsAggregate(name) {
		return b.aggregate(name, n.Args, false, n)
	}
	if IsTableFunction(name) {
		return nil, tableCallMisplaced(name)
	}
	f, ok := Lookup(name)
	if !ok {
		return nil, errorf(ErrUnknownFunction, "function %s does not exist", name)
	}
	if f.lambda != nil {
		return f.lambda(b, n)
	}
	args := make([]Expr, len(n.Args))
	for i, a := range n.Args {
		var err error
		if tu, ok := a.(*ast.TimeUnitExpr); ok {
			// TIMESTAMPADD(SECOND, ...) arrives with a unit node.
			args[i] = &Literal{Value: types.NewString(tu.Unit.String()), T: types.String}
			continue
		}
		if cn, ok := a.(*ast.ColumnNameExpr); ok && i == 0 && takesUnit[f.Name] && cn.Name.Table.O == "" {
			// TIMESTAMPADD(SECONDS, ...): the unit is a bare word.
			if _, _, ok := timeUnit(cn.Name.Name.O); ok {
				args[i] = &Literal{Value: types.NewString(cn.Name.Name.O), T: types.String}
				continue
			}
		}
		if args[i], err = b.bind(a); err != nil {
			return nil, err
		}
	}
	return b.apply(f, args)
}

// apply resolves f's overload for args and builds the call.
func (b *Binder) apply(f *Function, args []Expr) (Expr, error) {
	var (
		t   types.Type
		fn  impl
		err error
		// one is the overload's fn1, for a call of one argument.
		one func(types.Value) (types.Value, error)
	)
	if f.custom != nil {
		if args, t, fn, err = f.custom(b, args); err != nil {
			return nil, err
		}
	} else {
		var o *overload
		for i := range f.overloads {
			if f.overloads[i].accepts(args) {
				o = &f.overloads[i]
				break
			}
		}
		if o == nil {
			ts := make([]string, len(args))
			for i, a := range args {
				ts[i] = a.Type().String()
			}
			return nil, errorf(ErrUnknownFunction, "function %s does not accept arguments (%s); valid: %s",
				f.Name, strings.Join(ts, ", "), strings.Join(f.Signatures(), "; "))
		}
		at := make([]types.Type, len(args))
		for i, a := range args {
			b.infer(a, pkDefault(o.param(i)))
			at[i] = a.Type()
		}
		t, fn = o.ret(at), o.fn
		if o.fn1 != nil && len(args) == 1 {
			one = o.fn1
		}
		if fl := o.fnL; fl != nil {
			c := b.evalCtx()
			fn = func(a []types.Value) (types.Value, error) { return fl(c, a) }
		}
		if o.prep != nil {
			fn = o.prep(b.evalCtx(), args)
		}
	}
	for _, a := range args {
		b.settle(a)
	}
	nullCall := f.nullCall
	text := []any{f.Name + "(", joined{sep: ", ", items: args}, ")"}
	if one != nil {
		a := args[0]
		return &node{t: t, sql: text, kids: args, fn: f,
			eval: func(row types.Row) (types.Value, error) {
				v, err := a.Eval(row)
				if err != nil || (v.IsNull() && !nullCall) {
					return types.Value{}, err
				}
				return one(v)
			}}, nil
	}
	call := func(row types.Row, vals []types.Value) (types.Value, error) {
		for i, a := range args {
			v, err := a.Eval(row)
			if err != nil {
				return types.Value{}, err
			}
			if v.IsNull() && !nullCall {
				return types.Value{}, nil
			}
			vals[i] = v
		}
		return fn(vals)
	}
	eval := func(row types.Row) (types.Value, error) {
		return call(row, make([]types.Value, len(args)))
	}
	if !compound(t.Kind) && len(args) > 0 {
		// A call whose value is not an ARRAY, MAP or STRUCT cannot return
		// its argument list, and no function keeps it: the list is
		// reused, from a pool (the call is evaluated by every task of a
		// query at once). A new one per row was most of the cost of a
		// FORMAT_TIMESTAMP that finds its text memoized, and of LCASE.
		pool := &sync.Pool{New: func() any {
			vals := make([]types.Value, len(args))
			return &vals
		}}
		eval = func(row types.Row) (types.Value, error) {
			vals := pool.Get().(*[]types.Value)
			v, err := call(row, *vals)
			clear(*vals) // keep no row's strings alive in the pool
			pool.Put(vals)
			return v, err
		}
	}
	return &node{t: t, sql: text, kids: args, volatile: volatile[f.Name] && len(args) == 0, fn: f, eval: eval}, nil
}

// compound reports whether values of kind k hold other values in a list
// of their own (which a function may build from its arguments' slice).
func compound(k types.Kind) bool {
	return k == types.KindArray || k == types.KindMap || k == types.KindStruct
}

// volatile names the functions whose calls without arguments have a
// value that is not a function of the row: two calls over one row may
// differ, so no such call is shared (Share). Their forms with arguments
// (UUID(bytes), UNIX_TIMESTAMP(ts), UNIX_DATE(date)) are functions of
// them, and are shared as any call is: Nexmark q5 computes
// UNIX_TIMESTAMP(dateTime) ten times per bid as written.
var volatile = map[string]bool{"RANDOM": true, "UUID": true, "UNIX_TIMESTAMP": true, "UNIX_DATE": true}

var takesUnit = map[string]bool{
	"TIMESTAMPADD": true, "TIMESTAMPSUB": true, "DATEADD": true, "DATESUB": true, "TIMEADD": true, "TIMESUB": true,
}

// stringArg returns the string literal argument i of a RUNNEL_* call.
func stringArg(n *ast.FuncCallExpr, i int) (string, bool) {
	if i >= len(n.Args) {
		return "", false
	}
	lit, ok := n.Args[i].(*test_driver.ValueExpr)
	if !ok || lit.Kind() != test_driver.KindString {
		return "", false
	}
	return lit.GetString(), true
}

// field binds RUNNEL_FIELD(a, 'B'): a->B on a STRUCT.
func (b *Binder) field(n *ast.FuncCallExpr) (Expr, error) {
	name, ok := stringArg(n, 1)
	if len(n.Args) != 2 || !ok {
		return nil, errorf(ErrUnsupported, "RUNNEL_FIELD needs an expression and a field name literal")
	}
	s, err := b.Bind(n.Args[0])
	if err != nil {
		return nil, err
	}
	st := s.Type()
	if st.Kind != types.KindStruct {
		return nil, errorf(ErrTypeMismatch, "cannot dereference field %s of %s: it is %s, not a STRUCT", name, clip(s), st)
	}
	i := st.FieldIndex(name)
	if i < 0 {
		return nil, atNode(n.Args[1], errorf(ErrUnknownColumn, "field \"%s\" does not exist in %s", name, st))
	}
	return &node{t: st.Fields[i].Type, sql: []any{s, "->" + quoteIdent(name)}, kids: []Expr{s},
		eval: func(row types.Row) (types.Value, error) {
			v, err := s.Eval(row)
			if err != nil || v.IsNull() {
				return types.Value{}, err
			}
			l := v.List()
			if i >= len(l) {
				return types.Value{}, nil
			}
			return l[i], nil
		}}, nil
}

// index binds RUNNEL_INDEX(a, i): a 1-based ARRAY index (negative counts
// from the end; out of range is NULL) or a MAP lookup.
func (b *Binder) index(n *ast.FuncCallExpr) (Expr, error) {
	if len(n.Args) != 2 {
		return nil, errorf(ErrUnsupported, "RUNNEL_INDEX needs two arguments")
	}
	c, err := b.Bind(n.Args[0])
	if err != nil {
		return nil, err
	}
	k, err := b.bind(n.Args[1])
	if err != nil {
		return nil, err
	}
	ct := c.Type()
	text := []any{c, "[", k, "]"}
	switch ct.Kind {
	case types.KindArray:
		b.infer(k, types.Int)
		if kk := k.Type().Kind; kk != types.KindInt && kk != types.KindBigint && kk != types.KindNull {
			return nil, errorf(ErrTypeMismatch, "array index must be INT, not %s: %s", k.Type(), clip(k))
		}
		if e := splitIndex(c, k, text); e != nil {
			return e, nil
		}
		return &node{t: *ct.Elem, sql: text, kids: []Expr{c, k}, eval: func(row types.Row) (types.Value, error) {
			a, err := c.Eval(row)
			if err != nil || a.IsNull() {
				return types.Value{}, err
			}
			iv, err := k.Eval(row)
			if err != nil || iv.IsNull() {
				return types.Value{}, err
			}
			return arrayAt(a.List(), iv.Int()), nil
		}}, nil
	case types.KindMap:
		b.infer(k, *ct.Key)
		k, err = Coerce(k, *ct.Key)
		if err != nil {
			return nil, err
		}
		return &node{t: *ct.Elem, sql: text, kids: []Expr{c, k}, eval: func(row types.Row) (types.Value, error) {
			m, err := c.Eval(row)
			if err != nil || m.IsNull() {
				return types.Value{}, err
			}
			kv, err := k.Eval(row)
			if err != nil || kv.IsNull() {
				return types.Value{}, err
			}
			return m.MapGet(kv), nil
		}}, nil
	case types.KindNull:
		b.settle(k)
		return nullOf(types.Null, text, c, k), nil
	}
	return nil, errorf(ErrTypeMismatch, "cannot subscript %s of type %s", clip(c), ct)
}

// splitIndex binds SPLIT(s, sep)[i] of a STRING and a non-empty literal
// sep, as Nexmark's q22 has, to find the i-th piece of s without building
// the array of them all; nil for any other subscript. When the SPLIT is
// shared (share.go) and this row already holds its array, the piece is
// read from it. Unlike SPLIT itself, it never fails for an array over
// --max-value-bytes: it builds none.
func splitIndex(c, k Expr, text []any) Expr {
	sp, ok := c.(*node)
	if !ok || sp.fn == nil || sp.fn.Name != "SPLIT" || len(sp.kids) != 2 ||
		sp.kids[0].Type().Kind != types.KindString || sp.t.Kind != types.KindArray || sp.t.Elem.Kind != types.KindString {
		return nil
	}
	sep, ok := literalString(sp.kids[1])
	if !ok || sep == "" {
		return nil
	}
	x := sp.kids[0]
	return &node{t: *sp.t.Elem, sql: text, kids: []Expr{c, k}, eval: func(row types.Row) (types.Value, error) {
		if m := int(sp.memo.Load()); m > 0 && m+1 < len(row) && !row[m].IsNull() {
			a := row[m+1]
			if a.IsNull() {
				return types.Value{}, nil
			}
			iv, err := k.Eval(row)
			if err != nil || iv.IsNull() {
				return types.Value{}, err
			}
			return arrayAt(a.List(), iv.Int()), nil
		}
		sv, err := x.Eval(row)
		if err != nil || sv.IsNull() {
			return types.Value{}, err
		}
		iv, err := k.Eval(row)
		if err != nil || iv.IsNull() {
			return types.Value{}, err
		}
		p, ok := splitPiece(sv.Str(), sep, iv.Int())
		if !ok {
			return types.Value{}, nil
		}
		return str(p), nil
	}}
}

// splitPiece is SPLIT(s, sep)[i] for a non-empty sep: ksqlDB's 1-based
// index, negative from the end, and false when out of range. A negative
// index is counted from the front too: the pieces of a separator that
// overlaps itself ("aa" in "aaa") are found left to right, as SPLIT finds
// them.
func splitPiece(s, sep string, i int64) (string, bool) {
	if i < 0 {
		i += int64(strings.Count(s, sep)) + 2 // -1 is the last of Count+1 pieces
	}
	if i < 1 {
		return "", false
	}
	for ; i > 1; i-- {
		j := strings.Index(s, sep)
		if j < 0 {
			return "", false
		}
		s = s[j+len(sep):]
	}
	if j := strings.Index(s, sep); j >= 0 {
		s = s[:j]
	}
	return s, true
}

// arrayAt is ksqlDB's 1-based element access; negative i counts from the
// end; out of range is NULL.
func arrayAt(l []types.Value, i int64) types.Value {
	n := int64(len(l))
	switch {
	case i > 0 && i <= n:
		return l[i-1]
	case i < 0 && i >= -n: // not -i <= n: -(-2^63) overflows
		return l[n+i]
	}
	return types.Value{}
}

func (b *Binder) cast(n *ast.FuncCallExpr) (Expr, error) {
	ts, ok := stringArg(n, 1)
	if len(n.Args) != 2 || !ok {
		return nil, errorf(ErrUnsupported, "RUNNEL_CAST needs an expression and a type literal")
	}
	t, err := types.Parse(ts)
	if err != nil {
		return nil, errorf(ErrTypeMismatch, "CAST: %v", err)
	}
	x, err := b.bind(n.Args[0])
	if err != nil {
		return nil, err
	}
	b.infer(x, t)
	return castWith(x, t, b.evalCtx())
}

func (b *Binder) arrayCtor(n *ast.FuncCallExpr) (Expr, error) {
	elems := make([]Expr, len(n.Args))
	for i, a := range n.Args {
		var err error
		if elems[i], err = b.bind(a); err != nil {
			return nil, err
		}
	}
	et, err := unify(b, elems, "ARRAY")
	if err != nil {
		return nil, err
	}
	for i := range elems {
		if elems[i], err = Coerce(elems[i], et); err != nil {
			return nil, err
		}
	}
	c := b.evalCtx()
	return &node{t: types.Array(et), sql: []any{"ARRAY[", joined{sep: ", ", items: elems}, "]"}, kids: elems, array: true,
		eval: func(row types.Row) (types.Value, error) {
			out := make([]types.Value, len(elems))
			if err := c.arrayElems(elems, row, out); err != nil {
				return types.Value{}, err
			}
			return types.NewArray(out), nil
		}}, nil
}

// arrayElems evaluates an ARRAY[...] constructor's elements over row
// into out (as long as elems), or fails when their size passes the limit
// on values. The size is counted as the elements arrive: never more than
// the limit and one element are held.
func (c *evalCtx) arrayElems(elems []Expr, row types.Row, out []types.Value) error {
	size := valueOverhead
	for i, e := range elems {
		v, err := e.Eval(row)
		if err != nil {
			return err
		}
		if size = sizeAdd(size, v.Size()); size > c.maxBytes {
			return c.tooLarge("ARRAY[...]", size)
		}
		out[i] = v
	}
	return nil
}

func (b *Binder) mapCtor(n *ast.FuncCallExpr) (Expr, error) {
	if len(n.Args)%2 != 0 {
		return nil, errorf(ErrUnsupported, "RUNNEL_MAP needs key, value pairs")
	}
	var keys, vals []Expr
	for i, a := range n.Args {
		e, err := b.bind(a)
		if err != nil {
			return nil, err
		}
		if i%2 == 0 {
			keys = append(keys, e)
		} else {
			vals = append(vals, e)
		}
	}
	kt, err := unify(b, keys, "MAP key")
	if err != nil {
		return nil, err
	}
	if kt.Kind == types.KindNull {
		kt = types.String
	}
	vt, err := unify(b, vals, "MAP value")
	if err != nil {
		return nil, err
	}
	text := make([]any, 0, 4*len(keys)+2)
	text = append(text, "MAP(")
	for i := range keys {
		if keys[i], err = Coerce(keys[i], kt); err != nil {
			return nil, err
		}
		if vals[i], err = Coerce(vals[i], vt); err != nil {
			return nil, err
		}
		if i > 0 {
			text = append(text, ", ")
		}
		text = append(text, keys[i], " := ", vals[i])
	}
	text = append(text, ")")
	kids := append(append([]Expr{}, keys...), vals...)
	c := b.evalCtx()
	return &node{t: types.Map(kt, vt), sql: text, kids: kids,
		eval: func(row types.Row) (types.Value, error) {
			ks := make([]types.Value, 0, len(keys))
			vs := make([]types.Value, 0, len(keys))
			size := valueOverhead
			for i := range keys {
				k, err := keys[i].Eval(row)
				if err != nil {
					return types.Value{}, err
				}
				v, err := vals[i].Eval(row)
				if err != nil {
					return types.Value{}, err
				}
				if size = sizeAdd(size, sizeAdd(k.Size(), v.Size())); size > c.maxBytes {
					return types.Value{}, c.tooLarge("MAP(...)", size)
				}
				ks, vs = append(ks, k), append(vs, v)
			}
			ks, vs = dedupKeys(ks, vs) // a later duplicate key wins
			return types.NewMap(ks, vs), nil
		}}, nil
}

func indexOfKey(ks []types.Value, k types.Value) int {
	for i := range ks {
		if types.Equal(ks[i], k) {
			return i
		}
	}
	return -1
}

func (b *Binder) structCtor(n *ast.FuncCallExpr) (Expr, error) {
	if len(n.Args)%2 != 0 {
		return nil, errorf(ErrUnsupported, "RUNNEL_STRUCT needs name, value pairs")
	}
	var fields []types.Field
	var vals []Expr
	text := []any{"STRUCT("}
	seen := map[string]bool{}
	for i := 0; i < len(n.Args); i += 2 {
		name, ok := stringArg(n, i)
		if !ok {
			return nil, errorf(ErrUnsupported, "RUNNEL_STRUCT field names must be string literals")
		}
		if seen[name] {
			return nil, errorf(ErrTypeMismatch, "Duplicate field names found in STRUCT: %s", quoteIdent(name))
		}
		seen[name] = true
		v, err := b.Bind(n.Args[i+1])
		if err != nil {
			return nil, err
		}
		ft := v.Type()
		if ft.Kind == types.KindNull {
			ft = types.String // ksqlDB types a bare NULL field as STRING
		}
		fields = append(fields, types.Field{Name: name, Type: ft})
		vals = append(vals, v)
		if i > 0 {
			text = append(text, ", ")
		}
		text = append(text, quoteIdent(name)+" := ", v)
	}
	text = append(text, ")")
	c := b.evalCtx()
	return &node{t: types.Struct(fields...), sql: text, kids: vals,
		eval: func(row types.Row) (types.Value, error) {
			out := make([]types.Value, len(vals))
			size := valueOverhead
			for i, e := range vals {
				v, err := e.Eval(row)
				if err != nil {
					return types.Value{}, err
				}
				if size = sizeAdd(size, v.Size()); size > c.maxBytes {
					return types.Value{}, c.tooLarge("STRUCT(...)", size)
				}
				out[i] = v
			}
			return types.NewStruct(out), nil
		}}, nil
}
