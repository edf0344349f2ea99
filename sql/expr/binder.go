package expr

import (
	"encoding/hex"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	"github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/runnel/runnel/sql/types"
)

// Binder turns TiDB expression ASTs (following the RUNNEL_* conventions
// documented on sql.Query) into typed Exprs.
//
// A Binder is used by one goroutine; the Exprs it returns are immutable
// and safe to share.
//
// Parameters. RUNNEL_PARAM(n) (and TiDB's ?) is bind parameter n,
// 1-based. Its type is inferred from context while binding:
//
//   - compared with, or combined arithmetically with, a typed operand
//     (x = $1, x + $1, x IN ($1), $1 BETWEEN a AND b): that operand's type;
//   - CAST($1 AS T): T;
//   - an argument of a function: the type that function's chosen
//     signature takes at that position;
//   - bound with BindAs (e.g. a VALUES cell of INSERT): the target type;
//   - otherwise STRING.
//
// The first inference wins. ParamTypes collects the results, so a
// statement can be described (pgwire's ParameterDescription) before any
// value is known.
type Binder struct {
	// Scope resolves column names. It may be nil when the expression must
	// not reference columns (VALUES rows); a column is then an error
	// wrapping ErrUnknownColumn.
	Scope Scope

	// Params are the parameter values for execution: RUNNEL_PARAM(n)
	// binds to Params[n-1], converted to the parameter's inferred type (a
	// STRING value is parsed as CAST would, so clients may send text). A
	// parameter with no value is an error wrapping ErrUndefinedParam at
	// bind time — unless Params is nil, which means describing: the
	// parameter binds to a typed placeholder whose Eval fails.
	Params []types.Value

	// ParamTypes is filled in while binding: ParamTypes[n-1] is the type
	// inferred for parameter n (STRING when nothing constrained it). Read
	// it after the last Bind of a statement. Slots of parameter numbers
	// that never occurred are types.Null.
	ParamTypes []types.Type

	// Aggregate, when set, binds an aggregate call: TiDB's
	// *ast.AggregateFuncExpr, or a call whose name IsAggregate. name is
	// upper-cased; args are the raw call arguments (COUNT(*) arrives as
	// TiDB renders it: one literal argument 1); node is the whole call.
	// The returned Expr typically reads the aggregate's result column.
	// When nil, an aggregate is an error wrapping ErrAggregate (42803).
	Aggregate func(name string, args []ast.ExprNode, distinct bool, node ast.ExprNode) (Expr, error)

	// Set, when not nil, holds the parameters instead of Params and
	// ParamTypes: every Binder that binds a part of one statement should
	// share one, so that a parameter has one type wherever it occurs and
	// the statement's parameter types are in one place (Set.Types). Then
	// Params is ignored and ParamTypes stays empty.
	Set *ParamSet

	// MaxValueBytes bounds the size of any value a function, a cast or a
	// constructor of the bound expressions builds, as types.Value.Size
	// counts it (the memory it holds): one that would be larger fails
	// with SQLSTATE 54000 (ErrValueTooLarge) before it is built, so only
	// its row fails. The bound closures keep it. Default (0):
	// DefaultMaxValueBytes.
	MaxValueBytes int

	// Hook, when set, is offered every expression node before the
	// Binder binds it, and binds the nodes it takes itself: it returns
	// ok true with the bound Expr (or an error) for those, ok false for
	// the rest. The PostgreSQL catalog binds its subqueries, operators
	// and functions with it; the Exprs it returns are part of the tree
	// like any other (b.Bind binds their operands).
	Hook func(b *Binder, n ast.ExprNode) (e Expr, ok bool, err error)

	own *ParamSet // the set of a Binder without Set
	// lambdas are the lambdas whose bodies are being bound, outermost
	// first: their arguments resolve before the Scope's columns.
	lambdas []lambdaFrame
	ctx     *evalCtx // the limits bound calls get, made once
	// unknown holds the string literals written in the source, which
	// PostgreSQL types as unknown until context gives them a type (see
	// coerceUnknown). Its size is the number of such literals bound.
	unknown map[*Literal]struct{}
}

// evalCtx returns the limits this Binder's calls evaluate under.
func (b *Binder) evalCtx() *evalCtx {
	if b.ctx == nil {
		b.ctx = &evalCtx{maxBytes: int64(b.maxValueBytes())}
	}
	return b.ctx
}

// ParamSet is the bind parameters of one statement, shared by the Binders
// of its parts (Binder.Set). Its memory is linear in the highest
// parameter number, however many Binders share it.
type ParamSet struct {
	// Values are the parameter values for execution, as Binder.Params;
	// nil means describing.
	Values []types.Value
	// Types is filled in while binding, as Binder.ParamTypes.
	Types []types.Type

	params map[int]*paramExpr
	// open counts the parameters whose type is not inferred yet, so that
	// settling an expression without any costs nothing.
	open int
}

// set returns the parameter set b works with.
func (b *Binder) set() *ParamSet {
	if b.Set != nil {
		return b.Set
	}
	if b.own == nil {
		b.own = &ParamSet{Values: b.Params}
	}
	return b.own
}

// maxValueBytes is MaxValueBytes with its default.
func (b *Binder) maxValueBytes() int {
	if b.MaxValueBytes <= 0 {
		return DefaultMaxValueBytes
	}
	return b.MaxValueBytes
}

// Bind binds node. See Binder for parameters and aggregates.
func (b *Binder) Bind(node ast.ExprNode) (Expr, error) {
	e, err := b.bind(node)
	if err != nil {
		return nil, err
	}
	b.settle(e)
	return e, nil
}

// BindAs binds node as a value of type t: a parameter takes type t, and
// the result is coerced to t as an assignment would (numeric widening,
// NULL, a string literal for TIMESTAMP/DATE/TIME). A quoted literal is
// read as a value of t, as PostgreSQL reads its unknown-typed literals
// ('1' into an INT column is 1; 'x' there fails with 22P02). Use it for
// INSERT VALUES cells.
func (b *Binder) BindAs(node ast.ExprNode, t types.Type) (Expr, error) {
	e, err := b.bind(node)
	if err != nil {
		return nil, err
	}
	if c, ok, err := b.coerceUnknown(e, t); ok {
		return c, err
	}
	b.infer(e, t)
	return Coerce(e, t)
}

// coerceUnknown reads e, when it is a string literal written in the
// source, as a literal of type t: PostgreSQL's rule for unknown-typed
// literals, which is how a text parameter of a client in simple-protocol
// mode (pgx's QueryExecModeSimpleProtocol, PgBouncer setups) reaches the
// server. ok is false when the rule does not apply: e is something else,
// or t is a STRING, NULL or a structured type (those keep ksqlDB's
// rules). A BYTES value is read in PostgreSQL's hex form (\x0a0b) when
// it has one.
func (b *Binder) coerceUnknown(e Expr, t types.Type) (Expr, bool, error) {
	lit, isLit := e.(*Literal)
	if !isLit || lit.Value.IsNull() {
		return nil, false, nil
	}
	if _, ok := b.unknown[lit]; !ok {
		return nil, false, nil
	}
	switch t.Kind {
	case types.KindInt, types.KindBigint, types.KindDouble, types.KindDecimal, types.KindBoolean,
		types.KindTimestamp, types.KindDate, types.KindTime:
	case types.KindBytes:
		s := lit.Value.Str()
		if rest, ok := strings.CutPrefix(s, `\x`); ok {
			raw, err := hex.DecodeString(rest)
			if err != nil {
				return nil, true, errorf(ErrInvalidText, "invalid input syntax for type BYTES: %q", clipText(s))
			}
			return &Literal{Value: types.NewBytes(raw), T: t}, true, nil
		}
		return &Literal{Value: types.NewBytes([]byte(s)), T: t}, true, nil
	default:
		return nil, false, nil
	}
	if t.Kind == types.KindDecimal && t.Precision == 0 {
		// A DECIMAL of no declared precision takes the literal's own.
		text := strings.TrimSpace(lit.Value.Str())
		if len(text) > maxDecimalText {
			// More digits than any DECIMAL holds; big.Int would read
			// them in quadratic time.
			return nil, true, errorf(ErrOutOfRange, "value %q does not fit a DECIMAL", clipText(text))
		}
		v, dt, err := parseDecimalLiteral(text)
		if err != nil || strings.ContainsAny(text, "eE") || dt.Precision > 1000 {
			return nil, true, errorf(ErrInvalidText, "invalid input syntax for type DECIMAL: %q", clipText(lit.Value.Str()))
		}
		return &Literal{Value: v, T: dt}, true, nil
	}
	conv, err := castFunc(types.String, t, b.evalCtx())
	if err != nil {
		return nil, true, err
	}
	v, err := conv(lit.Value)
	if err != nil {
		return nil, true, err
	}
	return &Literal{Value: v, T: t}, true, nil
}

// bind binds without settling parameters, so the caller can infer their
// type from context. Callers that cannot infer call settle.
func (b *Binder) bind(n ast.ExprNode) (Expr, error) {
	if b.Hook != nil {
		if e, ok, err := b.Hook(b, n); ok || err != nil {
			return e, err
		}
	}
	switch n := n.(type) {
	case *test_driver.ParamMarkerExpr:
		return b.param(n.Order + 1)
	case *test_driver.ValueExpr:
		e, err := bindLiteral(n)
		if lit, ok := e.(*Literal); ok && n.Kind() == test_driver.KindString {
			if b.unknown == nil {
				b.unknown = make(map[*Literal]struct{})
			}
			b.unknown[lit] = struct{}{}
		}
		return e, err
	case *ast.ParenthesesExpr:
		return b.bind(n.Expr)
	case *ast.ColumnNameExpr:
		e, err := b.column(n.Name)
		if err != nil {
			return nil, atNode(n, err)
		}
		return e, nil
	case *ast.BinaryOperationExpr:
		return b.binary(n)
	case *ast.UnaryOperationExpr:
		return b.unary(n)
	case *ast.IsNullExpr:
		return b.isNull(n)
	case *ast.IsTruthExpr:
		return b.isTruth(n)
	case *ast.PatternLikeOrIlikeExpr:
		return b.like(n)
	case *ast.PatternInExpr:
		return b.in(n)
	case *ast.BetweenExpr:
		return b.between(n)
	case *ast.CaseExpr:
		return b.caseExpr(n)
	case *ast.FuncCallExpr:
		return b.call(n)
	case *ast.AggregateFuncExpr:
		return b.aggregate(strings.ToUpper(n.F), n.Args, n.Distinct, n)
	case *ast.WindowFuncExpr:
		return nil, errorf(ErrUnsupported, "window functions (OVER) are not supported")
	case *ast.SubqueryExpr, *ast.ExistsSubqueryExpr, *ast.CompareSubqueryExpr:
		return nil, errorf(ErrUnsupported, "subqueries are not supported")
	case *ast.FuncCastExpr:
		return nil, errorf(ErrUnsupported, "this form of CAST is not supported")
	}
	return nil, errorf(ErrUnsupported, "expression %s is not supported", restore(n))
}

func (b *Binder) column(c *ast.ColumnName) (Expr, error) {
	if c.Schema.O != "" {
		return nil, errorf(ErrUnknownColumn, "column \"%s.%s.%s\" does not exist", c.Schema.O, c.Table.O, c.Name.O)
	}
	if c.Table.O == "" {
		if v, ok := b.lookupLambdaVar(c.Name.O); ok {
			return v, nil
		}
	}
	if b.Scope == nil {
		return nil, errorf(ErrUnknownColumn, "column \"%s\" does not exist", c.Name.O)
	}
	idx, t, err := b.Scope.Resolve(c.Table.O, c.Name.O)
	if err != nil {
		return nil, err
	}
	return &Column{Index: idx, Qualifier: c.Table.O, Name: c.Name.O, T: t}, nil
}

func (b *Binder) aggregate(name string, args []ast.ExprNode, distinct bool, n ast.ExprNode) (Expr, error) {
	if b.Aggregate == nil {
		return nil, errorf(ErrAggregate, "aggregate function %s is not allowed here", name)
	}
	return b.Aggregate(name, args, distinct, n)
}

// bindLiteral types a TiDB literal as ksqlDB types it: integers that fit
// 32 bits are INT, larger ones BIGINT; 1.50 is DECIMAL(3, 2); 1e10 is
// DOUBLE; TRUE/FALSE BOOLEAN; NULL has type NULL.
func bindLiteral(n *test_driver.ValueExpr) (Expr, error) {
	switch n.Kind() {
	case test_driver.KindNull:
		return &Literal{T: types.Null}, nil
	case test_driver.KindInt64:
		v := n.GetInt64()
		if mysql.HasIsBooleanFlag(n.Type.GetFlag()) {
			return &Literal{Value: types.NewBoolean(v != 0), T: types.Boolean}, nil
		}
		if v >= -1<<31 && v < 1<<31 {
			return &Literal{Value: types.NewInt(int32(v)), T: types.Int}, nil
		}
		return &Literal{Value: types.NewBigint(v), T: types.Bigint}, nil
	case test_driver.KindUint64:
		u := new(big.Int).SetUint64(n.GetUint64())
		return &Literal{Value: types.NewDecimal(u, 0), T: types.Decimal(len(u.String()), 0)}, nil
	case test_driver.KindFloat32, test_driver.KindFloat64:
		return &Literal{Value: types.NewDouble(n.GetFloat64()), T: types.Double}, nil
	case test_driver.KindMysqlDecimal:
		s := n.GetMysqlDecimal().String()
		v, t, err := parseDecimalLiteral(s)
		if err != nil {
			return nil, err
		}
		return &Literal{Value: v, T: t}, nil
	case test_driver.KindString:
		return &Literal{Value: types.NewString(n.GetString()), T: types.String}, nil
	case test_driver.KindBytes, test_driver.KindBinaryLiteral:
		return &Literal{Value: types.NewBytes(n.GetBytes()), T: types.Bytes}, nil
	}
	return nil, errorf(ErrUnsupported, "literal %s is not supported", restore(n))
}

// parseDecimalLiteral types "1.50" as DECIMAL(3, 2) with unscaled 150.
func parseDecimalLiteral(s string) (types.Value, types.Type, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	intPart, frac, _ := strings.Cut(s, ".")
	digits := strings.TrimLeft(intPart+frac, "0")
	u, ok := new(big.Int).SetString(intPart+frac, 10)
	if !ok {
		return types.Value{}, types.Type{}, errorf(ErrInvalidText, "invalid decimal literal %q", s)
	}
	if neg {
		u.Neg(u)
	}
	prec := max(len(digits), len(frac), 1)
	return types.NewDecimal(u, int32(len(frac))), types.Decimal(prec, len(frac)), nil
}

func (b *Binder) unary(n *ast.UnaryOperationExpr) (Expr, error) {
	switch n.Op {
	case opcode.Plus:
		return b.bind(n.V)
	case opcode.Minus:
		// Fold -literal so that -2147483648 is an INT, as in ksqlDB.
		if lit, ok := n.V.(*test_driver.ValueExpr); ok && lit.Kind() == test_driver.KindInt64 &&
			!mysql.HasIsBooleanFlag(lit.Type.GetFlag()) {
			v := -lit.GetInt64()
			if v >= -1<<31 && v < 1<<31 {
				return &Literal{Value: types.NewInt(int32(v)), T: types.Int}, nil
			}
			return &Literal{Value: types.NewBigint(v), T: types.Bigint}, nil
		}
		x, err := b.bind(n.V)
		if err != nil {
			return nil, err
		}
		return negate(b, x)
	case opcode.Not, opcode.Not2:
		x, err := b.bind(n.V)
		if err != nil {
			return nil, err
		}
		return not(b, x)
	}
	return nil, errorf(ErrUnsupported, "operator %s is not supported", n.Op.String())
}

func (b *Binder) binary(n *ast.BinaryOperationExpr) (Expr, error) {
	if n.Op == opcode.LogicAnd || n.Op == opcode.LogicOr {
		return b.logicChain(n)
	}
	// a IS DISTINCT FROM b arrives as (a <=> RUNNEL_DISTINCT()) <=> b.
	if inner, ok := n.L.(*ast.BinaryOperationExpr); ok && n.Op == opcode.NullEQ && inner.Op == opcode.NullEQ {
		if f, ok := inner.R.(*ast.FuncCallExpr); ok && strings.EqualFold(f.FnName.O, "RUNNEL_DISTINCT") && len(f.Args) == 0 {
			l, err := b.bind(inner.L)
			if err != nil {
				return nil, err
			}
			r, err := b.bind(n.R)
			if err != nil {
				return nil, err
			}
			return distinctFrom(b, l, r)
		}
	}
	l, err := b.bind(n.L)
	if err != nil {
		return nil, err
	}
	r, err := b.bind(n.R)
	if err != nil {
		return nil, err
	}
	switch n.Op {
	case opcode.EQ, opcode.NE, opcode.LT, opcode.LE, opcode.GT, opcode.GE, opcode.NullEQ:
		return compare(b, n.Op, l, r)
	case opcode.Plus, opcode.Minus, opcode.Mul, opcode.Div, opcode.Mod, opcode.IntDiv:
		return arith(b, n.Op, l, r)
	}
	return nil, errorf(ErrUnsupported, "operator %s is not supported", n.Op.String())
}

// logicChain binds a chain of one operator, AND or OR, as one n-ary node
// over its operands in order. The chain is collected without recursion,
// looking through parentheses (they change nothing for an associative
// operator), however it is shaped: TiDB builds it left-deep, the front
// end rebalances long ones.
func (b *Binder) logicChain(n *ast.BinaryOperationExpr) (Expr, error) {
	var operands []ast.ExprNode
	stack := []ast.ExprNode{n}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		inner := x
		for {
			p, ok := inner.(*ast.ParenthesesExpr)
			if !ok {
				break
			}
			inner = p.Expr
		}
		if bo, ok := inner.(*ast.BinaryOperationExpr); ok && bo.Op == n.Op {
			stack = append(stack, bo.R, bo.L)
			continue
		}
		operands = append(operands, x)
	}
	bound := make([]Expr, len(operands))
	for i, o := range operands {
		e, err := b.bind(o)
		if err != nil {
			return nil, err
		}
		bound[i] = e
	}
	return logicN(b, n.Op == opcode.LogicAnd, bound)
}

// param returns the expression of parameter n, one per number per
// parameter set.
func (b *Binder) param(n int) (Expr, error) {
	ps := b.set()
	if n < 1 || n > 65535 {
		return nil, errorf(ErrUndefinedParam, "there is no parameter $%d", n)
	}
	if ps.Values != nil && n > len(ps.Values) {
		return nil, errorf(ErrUndefinedParam, "there is no parameter $%d: %d values were supplied", n, len(ps.Values))
	}
	if p, ok := ps.params[n]; ok {
		return p, nil
	}
	if ps.params == nil {
		ps.params = make(map[int]*paramExpr)
	}
	p := &paramExpr{n: n, t: types.Null}
	if ps.Values != nil {
		p.raw, p.has = ps.Values[n-1], true
	}
	ps.params[n] = p
	ps.open++
	for len(ps.Types) < n {
		ps.Types = append(ps.Types, types.Null)
	}
	if b.Set == nil {
		b.ParamTypes = ps.Types
	}
	return p, nil
}

// infer gives e type t if e is a parameter whose type is still open.
func (b *Binder) infer(e Expr, t types.Type) {
	p, ok := e.(*paramExpr)
	if !ok || p.resolved {
		return
	}
	if t.Kind == types.KindNull {
		t = types.String
	}
	p.resolve(t)
	ps := b.set()
	ps.Types[p.n-1] = t
	ps.open--
}

// settle gives every open parameter in e type STRING. It walks e only
// while some parameter is open: binders settle every argument of every
// call, and a walk each time would be quadratic in the depth of a tree.
func (b *Binder) settle(e Expr) {
	if b.set().open == 0 {
		return
	}
	Walk(e, func(x Expr) bool {
		b.infer(x, types.String)
		return true
	})
}

// isOpenParam reports whether e is a parameter whose type is not inferred
// yet.
func isOpenParam(e Expr) bool {
	p, ok := e.(*paramExpr)
	return ok && !p.resolved
}

// paramExpr is a bind parameter. Its type is settled during binding, then
// it is immutable.
type paramExpr struct {
	n        int
	t        types.Type
	resolved bool
	has      bool        // a value was supplied
	raw      types.Value // the supplied value
	val      types.Value // raw converted to t
	err      error       // the conversion's error
}

func (p *paramExpr) resolve(t types.Type) {
	p.t, p.resolved = t, true
	if !p.has {
		p.err = errorf(ErrUndefinedParam, "no value supplied for parameter $%d", p.n)
		return
	}
	if p.raw.IsNull() || p.raw.Kind() == t.Kind && t.Kind != types.KindDecimal {
		p.val = p.raw
		return
	}
	from := valueType(p.raw)
	conv, err := castFunc(from, t, defaultCtx)
	if err != nil {
		p.err = err
		return
	}
	p.val, p.err = conv(p.raw)
}

func (p *paramExpr) Type() types.Type                    { return p.t }
func (p *paramExpr) Eval(types.Row) (types.Value, error) { return p.val, p.err }
func (p *paramExpr) String() string                      { return "$" + strconv.Itoa(p.n) }

// valueType is the type of a scalar value as far as the value tells it.
func valueType(v types.Value) types.Type {
	switch v.Kind() {
	case types.KindDecimal:
		u, s := v.Decimal()
		return types.Decimal(max(len(new(big.Int).Abs(u).String()), int(s), 1), int(s))
	case types.KindArray, types.KindMap, types.KindStruct:
		return types.Type{Kind: v.Kind()}
	}
	return types.Type{Kind: v.Kind()}
}

// restore renders a node for an error message, cut at maxQuoted bytes.
func restore(n ast.Node) string {
	w := &cappedWriter{max: maxQuoted}
	if err := n.Restore(format.NewRestoreCtx(format.DefaultRestoreFlags, w)); err != nil {
		return "<expr>"
	}
	if w.cut {
		return w.b.String() + "..."
	}
	return w.b.String()
}

// cappedWriter keeps the first max bytes written to it and drops the rest.
type cappedWriter struct {
	b   strings.Builder
	max int
	cut bool
}

// Write and WriteString report the whole input written: what is dropped
// is dropped on purpose.
func (w *cappedWriter) Write(p []byte) (int, error) {
	n, _ := w.WriteString(string(p))
	return n, nil
}

func (w *cappedWriter) WriteString(s string) (int, error) {
	n := len(s)
	if w.cut {
		return n, nil
	}
	if room := w.max - w.b.Len(); len(s) > room {
		room = max(room, 0)
		for room > 0 && !utf8.RuneStart(s[room]) {
			room-- // never cut a character in two
		}
		s, w.cut = s[:room], true
	}
	w.b.WriteString(s)
	return n, nil
}
