package expr

import (
	"errors"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/runnel/runnel/sql/types"
)

// Lambdas: ksqlDB's invocation functions TRANSFORM, FILTER and REDUCE
// take a lambda, x => e or (x, y) => e, which the front end spells
// RUNNEL_LAMBDA('X', 'Y', e). A lambda is typed when its call is bound:
// its arguments take the types of the collection's elements (of the map's
// keys and values, of REDUCE's state), then its body is bound with them in
// scope, before the row's columns.
//
// Evaluating the body for one element must not copy the row per element,
// nor may an Expr hold mutable state (Eval is safe for concurrent use).
// So a call evaluates its lambda over an extended row: the row's values
// followed by the lambda's arguments, allocated once per call and
// refilled for each element. A lambda argument reads its value from the
// end of the row it is given (lambdaVar.fromEnd): a nested lambda appends
// its own arguments after its enclosing lambda's, so at bind time each
// reference knows how far from the end its argument will be.
//
// The rules are ksqlDB's: a lambda's argument may not be named as a column
// of the query's sources, nor as an argument of an enclosing lambda, nor
// twice; a lambda has exactly as many arguments as its function passes.

// lambdaFrame is one lambda being bound: its arguments' names and types.
type lambdaFrame struct {
	names []string
	types []types.Type
}

// lambdaVar is a reference to a lambda's argument inside its body.
type lambdaVar struct {
	name    string
	t       types.Type
	fromEnd int // the argument is row[len(row)-fromEnd]
}

var _ Expr = (*lambdaVar)(nil)

func (v *lambdaVar) Type() types.Type { return v.t }
func (v *lambdaVar) String() string   { return quoteIdent(v.name) }
func (v *lambdaVar) Eval(row types.Row) (types.Value, error) {
	return row[len(row)-v.fromEnd], nil
}

// lookupLambdaVar resolves an unqualified name against the lambdas being
// bound, innermost first.
func (b *Binder) lookupLambdaVar(name string) (Expr, bool) {
	after := 0 // arguments of the frames inside the one searched
	for f := len(b.lambdas) - 1; f >= 0; f-- {
		fr := b.lambdas[f]
		for k := len(fr.names) - 1; k >= 0; k-- {
			if fr.names[k] == name {
				return &lambdaVar{name: name, t: fr.types[k], fromEnd: after + len(fr.names) - k}, true
			}
		}
		after += len(fr.names)
	}
	return nil, false
}

// lambdaNode is a bound lambda: its arguments and its body.
type lambdaNode struct {
	names []string
	body  Expr
}

// lambdaArgs reads a RUNNEL_LAMBDA call: its argument names and body.
func lambdaArgs(n ast.ExprNode) ([]string, ast.ExprNode, bool) {
	call, ok := n.(*ast.FuncCallExpr)
	if !ok || !strings.EqualFold(call.FnName.O, "RUNNEL_LAMBDA") || len(call.Args) < 2 {
		return nil, nil, false
	}
	names := make([]string, len(call.Args)-1)
	for i := range names {
		s, ok := stringArg(call, i)
		if !ok {
			return nil, nil, false
		}
		names[i] = s
	}
	return names, call.Args[len(call.Args)-1], true
}

// bindLambda binds the lambda n of function fn with arguments of types
// argTypes.
func (b *Binder) bindLambda(fn string, n ast.ExprNode, argTypes []types.Type) (*lambdaNode, error) {
	names, body, ok := lambdaArgs(n)
	if !ok {
		return nil, errorf(ErrLambda, "%s expects a lambda (x => ...) here, not %s", fn, restore(n))
	}
	if len(names) != len(argTypes) {
		return nil, errorf(ErrLambda, "%s: was expecting %d lambda arguments but found %d, [%s]. Check your lambda statement.",
			fn, len(argTypes), len(names), strings.Join(names, ", "))
	}
	seen := map[string]bool{}
	for _, name := range names {
		if seen[name] {
			return nil, errorf(ErrLambda, "Lambda arguments have duplicates: [%s]", strings.Join(names, ", "))
		}
		seen[name] = true
		if _, taken := b.lookupLambdaVar(name); taken {
			return nil, errorf(ErrLambda, "Reusing lambda arguments in nested lambda is not allowed: %s", name)
		}
		if b.Scope != nil {
			if _, _, err := b.Scope.Resolve("", name); err == nil || errors.Is(err, ErrAmbiguousColumn) {
				return nil, errorf(ErrLambda, "Lambda function argument can't be a column name: %s", name)
			}
		}
	}
	b.lambdas = append(b.lambdas, lambdaFrame{names: names, types: argTypes})
	e, err := b.Bind(body)
	b.lambdas = b.lambdas[:len(b.lambdas)-1]
	if err != nil {
		return nil, err
	}
	return &lambdaNode{names: names, body: e}, nil
}

// sqlPieces renders the lambda for the call's text.
func (l *lambdaNode) sqlPieces() []any {
	head := quoteIdent(l.names[0])
	if len(l.names) != 1 {
		q := make([]string, len(l.names))
		for i, n := range l.names {
			q[i] = quoteIdent(n)
		}
		head = "(" + strings.Join(q, ", ") + ")"
	}
	return []any{head + " => ", l.body}
}

// lambdaRow is the extended row one call evaluates its lambda over: the
// row, then room for n arguments. set fills them.
type lambdaRow struct {
	row types.Row
	n   int
}

func newLambdaRow(row types.Row, n int) lambdaRow {
	ext := make(types.Row, len(row)+n)
	copy(ext, row)
	return lambdaRow{row: ext, n: n}
}

func (r lambdaRow) eval(body Expr, args ...types.Value) (types.Value, error) {
	copy(r.row[len(r.row)-r.n:], args)
	return body.Eval(r.row)
}

func init() {
	register(
		&Function{Name: "TRANSFORM", Category: "LAMBDA",
			Description: "Applies a lambda to each element of an ARRAY (x => ...), or to each entry of a MAP: the first lambda gives the new key, the second the new value ((k, v) => ...).",
			customSigs:  []string{"TRANSFORM(ARRAY<T>, T => R) -> ARRAY<R>", "TRANSFORM(MAP<K, V>, (K, V) => R, (K, V) => U) -> MAP<R, U>"},
			lambda:      (*Binder).transform},
		&Function{Name: "FILTER", Category: "LAMBDA",
			Description: "The elements of an ARRAY (x => ...), or the entries of a MAP ((k, v) => ...), for which a lambda is TRUE.",
			customSigs:  []string{"FILTER(ARRAY<T>, T => BOOLEAN) -> ARRAY<T>", "FILTER(MAP<K, V>, (K, V) => BOOLEAN) -> MAP<K, V>"},
			lambda:      (*Binder).filter},
		&Function{Name: "REDUCE", Category: "LAMBDA",
			Description: "Folds an ARRAY ((s, x) => ...) or a MAP ((s, k, v) => ...) into a state, from an initial state: NULL when the state is NULL, the initial state when the collection is NULL.",
			customSigs:  []string{"REDUCE(ARRAY<T>, S, (S, T) => S) -> S", "REDUCE(MAP<K, V>, S, (S, K, V) => S) -> S"},
			lambda:      (*Binder).reduce},
	)
}

// collection binds the first argument of a lambda function: an ARRAY or a
// MAP.
func (b *Binder) collection(fn string, n *ast.FuncCallExpr, minArgs int) (Expr, error) {
	if len(n.Args) < minArgs {
		return nil, errorf(ErrUnknownFunction, "function %s needs a collection and a lambda: %s", fn, strings.Join(mustSigs(fn), "; "))
	}
	c, err := b.Bind(n.Args[0])
	if err != nil {
		return nil, err
	}
	switch c.Type().Kind {
	case types.KindArray, types.KindMap, types.KindNull:
		return c, nil
	}
	return nil, errorf(ErrUnknownFunction, "function %s does not accept %s; valid: %s", fn, c.Type(), strings.Join(mustSigs(fn), "; "))
}

func mustSigs(name string) []string {
	f, _ := Lookup(name)
	return f.Signatures()
}

func wantArgs(fn string, n *ast.FuncCallExpr, want int) error {
	if len(n.Args) != want {
		return errorf(ErrUnknownFunction, "function %s takes %d arguments here, not %d; valid: %s", fn, want, len(n.Args), strings.Join(mustSigs(fn), "; "))
	}
	return nil
}

// elemTypes are the types a lambda over collection type t receives first:
// an array's element, a map's key and value.
func elemTypes(t types.Type) []types.Type {
	switch t.Kind {
	case types.KindArray:
		return []types.Type{*t.Elem}
	case types.KindMap:
		return []types.Type{*t.Key, *t.Elem}
	}
	return nil
}

func (b *Binder) transform(n *ast.FuncCallExpr) (Expr, error) {
	c, err := b.collection("TRANSFORM", n, 2)
	if err != nil {
		return nil, err
	}
	ct := c.Type()
	if ct.Kind == types.KindNull {
		return nullOf(types.Null, []any{"TRANSFORM(", c, ", ...)"}, c), nil
	}
	if ct.Kind == types.KindArray {
		if err := wantArgs("TRANSFORM", n, 2); err != nil {
			return nil, err
		}
		l, err := b.bindLambda("TRANSFORM", n.Args[1], elemTypes(ct))
		if err != nil {
			return nil, err
		}
		ctx := b.evalCtx()
		sql := append([]any{"TRANSFORM(", c, ", "}, append(l.sqlPieces(), ")")...)
		return &node{t: types.Array(l.body.Type()), sql: sql, kids: []Expr{c, l.body}, ext: true, eval: func(row types.Row) (types.Value, error) {
			a, err := c.Eval(row)
			if err != nil || a.IsNull() {
				return types.Value{}, err
			}
			in := a.List()
			lr := newLambdaRow(row, 1)
			out := make([]types.Value, len(in))
			size := types.ElementSize(len(in) + 1)
			for i, e := range in {
				if out[i], err = lr.eval(l.body, e); err != nil {
					return types.Value{}, err
				}
				if size = sizeAdd(size, out[i].Size()-valueOverhead); size > ctx.maxBytes {
					return types.Value{}, ctx.tooLarge("TRANSFORM", size)
				}
			}
			return types.NewArray(out), nil
		}}, nil
	}
	if err := wantArgs("TRANSFORM", n, 3); err != nil {
		return nil, err
	}
	kl, err := b.bindLambda("TRANSFORM", n.Args[1], elemTypes(ct))
	if err != nil {
		return nil, err
	}
	vl, err := b.bindLambda("TRANSFORM", n.Args[2], elemTypes(ct))
	if err != nil {
		return nil, err
	}
	ctx := b.evalCtx()
	sql := append([]any{"TRANSFORM(", c, ", "}, kl.sqlPieces()...)
	sql = append(append(append(sql, ", "), vl.sqlPieces()...), ")")
	return &node{t: types.Map(kl.body.Type(), vl.body.Type()), sql: sql, kids: []Expr{c, kl.body, vl.body}, ext: true, eval: func(row types.Row) (types.Value, error) {
		m, err := c.Eval(row)
		if err != nil || m.IsNull() {
			return types.Value{}, err
		}
		lr := newLambdaRow(row, 2)
		n := m.MapLen()
		ks, vs := make([]types.Value, n), make([]types.Value, n)
		size := types.ElementSize(2*n + 1)
		for i := 0; i < n; i++ {
			k, v := m.MapEntry(i)
			if ks[i], err = lr.eval(kl.body, k, v); err != nil {
				return types.Value{}, err
			}
			if vs[i], err = lr.eval(vl.body, k, v); err != nil {
				return types.Value{}, err
			}
			if size = sizeAdd(size, ks[i].Size()+vs[i].Size()-2*valueOverhead); size > ctx.maxBytes {
				return types.Value{}, ctx.tooLarge("TRANSFORM", size)
			}
		}
		if dup, ok := firstDuplicate(ks); ok {
			// ksqlDB collects the entries into a map that refuses a
			// second equal key.
			return types.Value{}, errorf(ErrInvalidArgument, "TRANSFORM: the key lambda gives the key %s to two entries", clipText(show1(dup, kl.body.Type())))
		}
		return types.NewMap(ks, vs), nil
	}}, nil
}

// firstDuplicate returns a value that l holds twice, in O(n log n).
func firstDuplicate(l []types.Value) (types.Value, bool) {
	if len(distinct(l)) == len(l) {
		return types.Value{}, false
	}
	idx := sortedOrder(l)
	for i := 1; i < len(idx); i++ {
		if types.Compare(l[idx[i-1]], l[idx[i]]) == 0 {
			return l[idx[i]], true
		}
	}
	return types.Value{}, false
}

// show1 renders a value for an error message.
func show1(v types.Value, t types.Type) string {
	if v.IsNull() {
		return "NULL"
	}
	return types.Format(v, t)
}

// predicate checks that a FILTER lambda's body is a condition.
func predicate(b *Binder, l *lambdaNode) error {
	b.infer(l.body, types.Boolean)
	if k := l.body.Type().Kind; k != types.KindBoolean && k != types.KindNull {
		return errorf(ErrTypeMismatch, "FILTER's lambda must return BOOLEAN, not %s: %s", l.body.Type(), clip(l.body))
	}
	return nil
}

func (b *Binder) filter(n *ast.FuncCallExpr) (Expr, error) {
	c, err := b.collection("FILTER", n, 2)
	if err != nil {
		return nil, err
	}
	if err := wantArgs("FILTER", n, 2); err != nil {
		return nil, err
	}
	ct := c.Type()
	if ct.Kind == types.KindNull {
		return nullOf(types.Null, []any{"FILTER(", c, ", ...)"}, c), nil
	}
	l, err := b.bindLambda("FILTER", n.Args[1], elemTypes(ct))
	if err != nil {
		return nil, err
	}
	if err := predicate(b, l); err != nil {
		return nil, err
	}
	sql := append([]any{"FILTER(", c, ", "}, append(l.sqlPieces(), ")")...)
	isArray := ct.Kind == types.KindArray
	return &node{t: ct, sql: sql, kids: []Expr{c, l.body}, ext: true, eval: func(row types.Row) (types.Value, error) {
		coll, err := c.Eval(row)
		if err != nil || coll.IsNull() {
			return types.Value{}, err
		}
		// A NULL condition keeps nothing, as ksqlDB's comparisons with
		// NULL are false. The result is a part of the input: no larger.
		if isArray {
			lr := newLambdaRow(row, 1)
			var out []types.Value
			for _, e := range coll.List() {
				keep, err := lr.eval(l.body, e)
				if err != nil {
					return types.Value{}, err
				}
				if !keep.IsNull() && keep.Bool() {
					out = append(out, e)
				}
			}
			return types.NewArray(out), nil
		}
		lr := newLambdaRow(row, 2)
		var ks, vs []types.Value
		for i := 0; i < coll.MapLen(); i++ {
			k, v := coll.MapEntry(i)
			keep, err := lr.eval(l.body, k, v)
			if err != nil {
				return types.Value{}, err
			}
			if !keep.IsNull() && keep.Bool() {
				ks, vs = append(ks, k), append(vs, v)
			}
		}
		return types.NewMap(ks, vs), nil
	}}, nil
}

func (b *Binder) reduce(n *ast.FuncCallExpr) (Expr, error) {
	c, err := b.collection("REDUCE", n, 3)
	if err != nil {
		return nil, err
	}
	if err := wantArgs("REDUCE", n, 3); err != nil {
		return nil, err
	}
	init, err := b.Bind(n.Args[1])
	if err != nil {
		return nil, err
	}
	st := init.Type()
	ct := c.Type()
	argTypes := append([]types.Type{st}, elemTypes(ct)...)
	if ct.Kind == types.KindNull {
		// A NULL collection gives the initial state; its elements' types
		// are unknown, and the lambda is never called.
		return &node{t: st, sql: []any{"REDUCE(", c, ", ", init, ", ...)"}, kids: []Expr{c, init}, eval: init.Eval}, nil
	}
	l, err := b.bindLambda("REDUCE", n.Args[2], argTypes)
	if err != nil {
		return nil, err
	}
	body := l.body
	if st.Kind == types.KindNull {
		// A NULL state makes the result NULL, whatever the lambda.
		return nullOf(body.Type(), append(append([]any{"REDUCE(", c, ", ", init, ", "}, l.sqlPieces()...), ")"), c, init, body), nil
	}
	if !body.Type().Equal(st) {
		if body, err = Coerce(body, st); err != nil {
			return nil, errorf(ErrTypeMismatch, "REDUCE's lambda returns %s, but its state is %s: %s", l.body.Type(), st, clip(l.body))
		}
	}
	sql := append(append([]any{"REDUCE(", c, ", ", init, ", "}, l.sqlPieces()...), ")")
	isArray := ct.Kind == types.KindArray
	return &node{t: st, sql: sql, kids: []Expr{c, init, body}, ext: true, eval: func(row types.Row) (types.Value, error) {
		s, err := init.Eval(row)
		if err != nil || s.IsNull() {
			return types.Value{}, err
		}
		coll, err := c.Eval(row)
		if err != nil || coll.IsNull() {
			return s, err
		}
		if isArray {
			lr := newLambdaRow(row, 2)
			for _, e := range coll.List() {
				if s, err = lr.eval(body, s, e); err != nil {
					return types.Value{}, err
				}
			}
			return s, nil
		}
		lr := newLambdaRow(row, 3)
		for i := 0; i < coll.MapLen(); i++ {
			k, v := coll.MapEntry(i)
			if s, err = lr.eval(body, s, k, v); err != nil {
				return types.Value{}, err
			}
		}
		return s, nil
	}}, nil
}
