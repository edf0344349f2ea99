package expr

import (
	"cmp"
	"math"
	"math/big"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/opcode"

	"github.com/runnel/runnel/sql/types"
)

// Typing rules (ksqlDB's, with errors where ksqlDB silently overflows):
//
//   - Arithmetic (+ - * / %) takes numerics only; the result type is the
//     wider operand by INT < BIGINT < DECIMAL < DOUBLE. INT and BIGINT
//     overflow is an ErrOutOfRange error; integer division truncates;
//     x/0 and x%0 are ErrDivisionByZero for INT, BIGINT and DECIMAL, and
//     IEEE 754's ±Infinity or NaN for DOUBLE, as in ksqlDB. DECIMAL
//     results follow ksqlDB: + and - scale max(s1,s2), precision
//     max(p1-s1,p2-s2)+scale+1; * precision p1+p2+1, scale s1+s2; / scale
//     max(6, s1+p2+1), precision p1-s1+s2+scale; % scale max(s1,s2),
//     precision min(p1-s1,p2-s2)+scale. INT is DECIMAL(10,0) and BIGINT
//     DECIMAL(19,0) there. STRING + STRING concatenates, as in ksqlDB
//     (NULL on either side gives NULL).
//   - Comparisons: any numerics with each other (exactly, unless a DOUBLE
//     is involved), STRING with STRING, BOOLEAN, TIMESTAMP, DATE, TIME
//     with their own kind, and a TIMESTAMP/DATE/TIME with a STRING, which
//     is parsed as ISO-8601 (at bind time for a literal), and a DATE with
//     a TIMESTAMP (at its midnight). BOOLEAN, ARRAY, MAP and STRUCT
//     compare for equality only (=, <>, IS [NOT] DISTINCT FROM, IN), as
//     in ksqlDB; ARRAY, MAP and STRUCT when their types unify.
//   - AND, OR, NOT, IS [NOT] TRUE take BOOLEAN; NULL follows SQL's
//     three-valued logic.

var (
	trueV  = types.NewBoolean(true)
	falseV = types.NewBoolean(false)
)

func boolV(b bool) types.Value {
	if b {
		return trueV
	}
	return falseV
}

func nullOf(t types.Type, sql []any, kids ...Expr) Expr {
	return &node{t: t, sql: sql, kids: kids, eval: func(types.Row) (types.Value, error) { return types.Value{}, nil }}
}

// requireBoolean checks that e can be a condition.
func requireBoolean(b *Binder, e Expr, what string) error {
	b.infer(e, types.Boolean)
	if k := e.Type().Kind; k != types.KindBoolean && k != types.KindNull {
		return errorf(ErrTypeMismatch, "argument of %s must be BOOLEAN, not %s: %s", what, e.Type(), clip(e))
	}
	return nil
}

func not(b *Binder, x Expr) (Expr, error) {
	if err := requireBoolean(b, x, "NOT"); err != nil {
		return nil, err
	}
	return &node{t: types.Boolean, sql: []any{"(NOT ", x, ")"}, kids: []Expr{x},
		eval: func(row types.Row) (types.Value, error) {
			v, err := x.Eval(row)
			if err != nil || v.IsNull() {
				return types.Value{}, err
			}
			return boolV(!v.Bool()), nil
		}}, nil
}

// logic is AND/OR of two operands; see logicN.
func logic(b *Binder, and bool, l, r Expr) (Expr, error) { return logicN(b, and, []Expr{l, r}) }

// logicN is AND/OR over any number of operands, one n-ary node, as
// PostgreSQL keeps its boolean expressions: a chain of a thousand ORs is
// one node with a thousand children, not a thousand levels of tree. SQL's
// three-valued logic is evaluated left to right and stops at the deciding
// value (FALSE for AND, TRUE for OR), exactly as the nested binary form
// would: an operand after the decider is never evaluated, so its errors
// never surface; a NULL before it only matters if nothing decides.
func logicN(b *Binder, and bool, operands []Expr) (Expr, error) {
	opName := "OR"
	if and {
		opName = "AND"
	}
	for _, e := range operands {
		if err := requireBoolean(b, e, opName); err != nil {
			return nil, err
		}
	}
	return logicNode(and, operands), nil
}

// logicNode is the node of logicN over operands already checked to be
// BOOLEAN.
func logicNode(and bool, operands []Expr) *node {
	opName := "OR"
	if and {
		opName = "AND"
	}
	decider := !and // AND stops at FALSE, OR at TRUE
	return &node{t: types.Boolean, sql: []any{"(", joined{sep: " " + opName + " ", items: operands}, ")"}, kids: operands, and: and,
		eval: func(row types.Row) (types.Value, error) {
			sawNull := false
			for _, e := range operands {
				v, err := e.Eval(row)
				if err != nil {
					return types.Value{}, err
				}
				if v.IsNull() {
					sawNull = true
					continue
				}
				if v.Bool() == decider {
					return v, nil
				}
			}
			if sawNull {
				return types.Value{}, nil
			}
			return boolV(!decider), nil
		}}
}

func negate(b *Binder, x Expr) (Expr, error) {
	b.infer(x, types.Double)
	t := x.Type()
	text := []any{"(-", x, ")"}
	switch t.Kind {
	case types.KindNull:
		return nullOf(t, text, x), nil
	case types.KindInt, types.KindBigint, types.KindDouble, types.KindDecimal:
	default:
		return nil, errorf(ErrTypeMismatch, "cannot negate %s: %s is not numeric", clip(x), t)
	}
	return &node{t: t, sql: text, kids: []Expr{x}, eval: func(row types.Row) (types.Value, error) {
		v, err := x.Eval(row)
		if err != nil || v.IsNull() {
			return types.Value{}, err
		}
		switch v.Kind() {
		case types.KindInt:
			if v.Int() == math.MinInt32 {
				return types.Value{}, errorf(ErrOutOfRange, "integer out of range: -(%d)", v.Int())
			}
			return types.NewInt(int32(-v.Int())), nil
		case types.KindBigint:
			if v.Int() == math.MinInt64 {
				return types.Value{}, errorf(ErrOutOfRange, "bigint out of range: -(%d)", v.Int())
			}
			return types.NewBigint(-v.Int()), nil
		case types.KindDouble:
			return types.NewDouble(-v.Float()), nil
		case types.KindDecimal:
			if u, s, ok := v.Decimal64(); ok && u != math.MinInt64 {
				return types.NewDecimal64(-u, s), nil
			}
			u, s := v.Decimal()
			return types.NewDecimal(new(big.Int).Neg(u), s), nil
		}
		return types.Value{}, errorf(ErrTypeMismatch, "cannot negate a %s value", v.Kind())
	}}, nil
}

var arithSymbols = map[opcode.Op]byte{
	opcode.Plus: '+', opcode.Minus: '-', opcode.Mul: '*', opcode.Div: '/', opcode.Mod: '%', opcode.IntDiv: 'D',
}

// arith binds + - * / % and DIV. Both operands must be numeric (string +
// string is not concatenation in ksqlDB: use CONCAT or ||).
func arith(b *Binder, o opcode.Op, l, r Expr) (Expr, error) {
	op := arithSymbols[o]
	sym := string(op)
	if op == 'D' {
		sym = "DIV"
	}
	inferPair(b, l, r, types.Double)
	lt, rt := l.Type(), r.Type()
	text := []any{"(", l, " " + sym + " ", r, ")"}
	if op == '+' && (lt.Kind == types.KindString || rt.Kind == types.KindString) &&
		(lt.Kind == types.KindString || lt.Kind == types.KindNull) && (rt.Kind == types.KindString || rt.Kind == types.KindNull) {
		return concatPlus(b, l, r, text), nil
	}
	for _, t := range []types.Type{lt, rt} {
		if !t.IsNumeric() && t.Kind != types.KindNull {
			return nil, errorf(ErrTypeMismatch, "operator %s cannot be applied to %s and %s", sym, lt, rt)
		}
	}
	if lt.Kind == types.KindNull || rt.Kind == types.KindNull {
		t := lt
		if t.Kind == types.KindNull {
			t = rt
		}
		return nullOf(t, text, l, r), nil
	}
	var t types.Type
	var f func(a, c types.Value) (types.Value, error)
	if op == 'D' {
		if numRank(lt.Kind) > 2 || numRank(rt.Kind) > 2 {
			return nil, errorf(ErrTypeMismatch, "operator DIV needs INT or BIGINT operands, not %s and %s", lt, rt)
		}
		op = '/'
	}
	switch w := widerNumeric(lt, rt); w.Kind {
	case types.KindInt:
		t = types.Int
		f = func(a, c types.Value) (types.Value, error) { return intArith(true, op, a.Int(), c.Int()) }
	case types.KindBigint:
		t = types.Bigint
		f = func(a, c types.Value) (types.Value, error) { return intArith(false, op, a.Int(), c.Int()) }
	case types.KindDouble:
		t = types.Double
		f = func(a, c types.Value) (types.Value, error) {
			x, y := a.AsFloat(), c.AsFloat()
			switch op {
			case '+':
				return types.NewDouble(x + y), nil
			case '-':
				return types.NewDouble(x - y), nil
			case '*':
				return types.NewDouble(x * y), nil
			case '/':
				// IEEE 754, as ksqlDB's Java doubles: x/0 is ±Infinity
				// or NaN, not an error.
				return types.NewDouble(x / y), nil
			}
			return types.NewDouble(math.Mod(x, y)), nil
		}
	case types.KindDecimal:
		t = decimalResult(op, lt, rt)
		if t.Precision > maxDecimalPrecision {
			// Each * adds the operands' precisions: a nest of them
			// doubles it per level, and the values' digits with it.
			return nil, ErrValueTooLarge.Errorf("%s would have type %s: DECIMAL arithmetic is limited to %d digits", clip(&node{sql: text}), t, maxDecimalPrecision)
		}
		scale := int32(t.Scale)
		f = func(a, c types.Value) (types.Value, error) {
			if v, ok := decimalArith64(op, scale, a, c); ok {
				return v, nil
			}
			return decimalArithBig(op, scale, a, c)
		}
	}
	if lit, ok := r.(*Literal); ok && !lit.Value.IsNull() && isIntegral(t) {
		return intByConstant(t, op, l, lit, text), nil
	}
	return &node{t: t, sql: text, kids: []Expr{l, r}, eval: func(row types.Row) (types.Value, error) {
		a, err := l.Eval(row)
		if err != nil || a.IsNull() {
			return types.Value{}, err
		}
		c, err := r.Eval(row)
		if err != nil || c.IsNull() {
			return types.Value{}, err
		}
		return f(a, c)
	}}, nil
}

// intByConstant is an INT or BIGINT operation (t) of l with a constant k
// on the right: Nexmark q8's UNIX_TIMESTAMP(dateTime) / 10000 in its join
// key and % 10000 in its group key, per record and per joined pair. The
// constant is read once, and the operation applied without the generic
// path's evaluation of the literal and call through an operator
// function; intOp still checks each row's overflow and zero divisor, so
// the values and errors are the generic path's.
func intByConstant(t types.Type, op byte, l Expr, r *Literal, text []any) Expr {
	k := r.Value.Int()
	narrow := t.Kind == types.KindInt
	return &node{t: t, sql: text, kids: []Expr{l, r}, eval: func(row types.Row) (types.Value, error) {
		a, err := l.Eval(row)
		if err != nil || a.IsNull() {
			return types.Value{}, err
		}
		return intArith(narrow, op, a.Int(), k)
	}}
}

// intArith is a op c as an INT (narrow) or BIGINT value: intOp's result,
// and for an INT its range checked.
func intArith(narrow bool, op byte, a, c int64) (types.Value, error) {
	v, err := intOp(op, a, c)
	switch {
	case err != nil:
		return types.Value{}, err
	case !narrow:
		return types.NewBigint(v), nil
	case !int32Range(v):
		return types.Value{}, errorf(ErrOutOfRange, "integer out of range: %d %c %d", a, op, c)
	}
	return types.NewInt(int32(v)), nil
}

// concatPlus is STRING + STRING, which ksqlDB concatenates. NULL on
// either side gives NULL, as SQL's operators do (unlike CONCAT, which
// skips NULLs).
func concatPlus(b *Binder, l, r Expr, text []any) Expr {
	n := &node{t: types.String, sql: text, kids: []Expr{l, r}, text: textConcat, textCtx: b.evalCtx()}
	n.eval = func(row types.Row) (types.Value, error) {
		// A chain of + (a + '/' + b is (a + '/') + b) is written into one
		// buffer, its casts of integers too, and copied out once: one
		// string a row rather than one per + and per CAST.
		bp := textBufs.Get().(*[]byte)
		out, null, err := appendConcat((*bp)[:0], n, row)
		var v types.Value
		if err == nil && !null {
			v = types.NewString(string(out))
		}
		putTextBuf(bp, out)
		return v, err
	}
	return n
}

// intOp computes a op c on 64-bit integers, reporting overflow and
// division by zero. Division truncates toward zero, as in ksqlDB (Java).
func intOp(op byte, a, c int64) (int64, error) {
	switch op {
	case '+', '-', '*':
		v, ok := arith64(op, a, c)
		if !ok {
			return 0, errorf(ErrOutOfRange, "bigint out of range: %d %c %d", a, op, c)
		}
		return v, nil
	case '/':
		if c == 0 {
			return 0, errorf(ErrDivisionByZero, "division by zero")
		}
		if a == math.MinInt64 && c == -1 {
			return 0, errorf(ErrOutOfRange, "bigint out of range: %d / %d", a, c)
		}
		return a / c, nil
	}
	if c == 0 {
		return 0, errorf(ErrDivisionByZero, "division by zero (modulo)")
	}
	if c == -1 {
		return 0, nil
	}
	return a % c, nil
}

// inferPair gives an open parameter the other operand's type, or def when
// both are open.
func inferPair(b *Binder, l, r Expr, def types.Type) {
	lo, ro := isOpenParam(l), isOpenParam(r)
	switch {
	case lo && ro:
		b.infer(l, def)
		b.infer(r, def)
	case lo:
		b.infer(l, r.Type())
	case ro:
		b.infer(r, l.Type())
	}
}

// convFunc converts one non-NULL value.
type convFunc func(types.Value) (types.Value, error)

// cmpFunc orders two non-NULL values.
type cmpFunc func(a, c types.Value) int

// comparer decides how l and r compare: it infers parameters, converts a
// string compared with a TIMESTAMP, DATE or TIME (a literal at bind time,
// anything else per row), and picks the comparison for the operand types.
func comparer(b *Binder, l, r Expr, opText string) (Expr, Expr, cmpFunc, error) {
	return comparerOp(b, l, r, opText, true)
}

// ksqlDB's names of the comparison operators, for its error message.
var cmpNames = map[string]string{
	"=": "EQUAL", "<>": "NOT_EQUAL", "<": "LESS_THAN", "<=": "LESS_THAN_OR_EQUAL",
	">": "GREATER_THAN", ">=": "GREATER_THAN_OR_EQUAL",
}

// comparerOp is comparer for an operator that is an equality (=, <>,
// IS [NOT] DISTINCT FROM, IN, NULLIF, ...) or an ordering (<, >, ...,
// BETWEEN). As in ksqlDB, BOOLEAN, ARRAY, MAP and STRUCT values only
// compare for equality.
func comparerOp(b *Binder, l, r Expr, opText string, equality bool) (Expr, Expr, cmpFunc, error) {
	l, r, cf, err := comparer0(b, l, r, opText)
	if err != nil || equality {
		return l, r, cf, err
	}
	switch k := l.Type().Kind; k {
	case types.KindBoolean, types.KindArray, types.KindMap, types.KindStruct:
		name := cmpNames[opText]
		if name == "" {
			name = opText
		}
		return nil, nil, nil, errorf(ErrTypeMismatch, "Cannot compare %s (%s) to %s (%s) with %s.", clip(l), l.Type(), clip(r), r.Type(), name)
	}
	return l, r, cf, nil
}

func comparer0(b *Binder, l, r Expr, opText string) (Expr, Expr, cmpFunc, error) {
	inferPair(b, l, r, types.String)
	// A quoted literal compared with a number, a boolean or bytes is read
	// as one (id = '1'), as PostgreSQL reads its unknown-typed literals.
	if b != nil {
		var err error
		if l, r, err = b.coerceUnknownPair(l, r); err != nil {
			return nil, nil, nil, err
		}
	}
	lt, rt := l.Type(), r.Type()
	if lt.Kind == types.KindNull || rt.Kind == types.KindNull {
		return l, r, types.Compare, nil
	}
	switch {
	case lt.IsNumeric() && rt.IsNumeric():
		if numRank(lt.Kind) <= 2 && numRank(rt.Kind) <= 2 {
			return l, r, cmpInts, nil
		}
		if lt.Kind != types.KindDecimal && rt.Kind != types.KindDecimal {
			return l, r, func(a, c types.Value) int { return cmp.Compare(a.AsFloat(), c.AsFloat()) }, nil
		}
		return l, r, cmpDecimal, nil
	case isTemporal(lt.Kind) && rt.Kind == types.KindString:
		nr, err := Coerce(r, lt)
		return l, nr, cmpInts, err
	case isTemporal(rt.Kind) && lt.Kind == types.KindString:
		nl, err := Coerce(l, rt)
		return nl, r, cmpInts, err
	case lt.Kind == types.KindDate && rt.Kind == types.KindTimestamp:
		// ksqlDB compares a DATE with a TIMESTAMP as its midnight.
		nl, err := Cast(l, types.Timestamp)
		return nl, r, cmpInts, err
	case lt.Kind == types.KindTimestamp && rt.Kind == types.KindDate:
		nr, err := Cast(r, types.Timestamp)
		return l, nr, cmpInts, err
	case lt.Kind != rt.Kind:
	case lt.Kind == types.KindString, lt.Kind == types.KindBytes:
		return l, r, func(a, c types.Value) int { return strings.Compare(a.Str(), c.Str()) }, nil
	case lt.Kind == types.KindBoolean || isTemporal(lt.Kind):
		return l, r, cmpInts, nil
	default: // ARRAY, MAP, STRUCT
		if _, ok := commonType(lt, rt); ok {
			return l, r, types.Compare, nil
		}
	}
	return nil, nil, nil, errorf(ErrTypeMismatch, "cannot compare %s (%s) with %s (%s) using %s", clip(l), lt, clip(r), rt, opText)
}

func cmpInts(a, c types.Value) int { return cmp.Compare(a.Int(), c.Int()) }

// isIntegral reports whether t is INT or BIGINT: two such values compare
// as cmpInts does.
func isIntegral(t types.Type) bool { return t.Kind == types.KindInt || t.Kind == types.KindBigint }

func isTemporal(k types.Kind) bool {
	return k == types.KindTimestamp || k == types.KindDate || k == types.KindTime
}

var cmpSymbols = map[opcode.Op]string{
	opcode.EQ: "=", opcode.NE: "<>", opcode.LT: "<", opcode.LE: "<=", opcode.GT: ">", opcode.GE: ">=", opcode.NullEQ: "<=>",
}

// cmpResult maps an ordering to the truth of op.
func cmpResult(op opcode.Op, c int) bool {
	switch op {
	case opcode.EQ, opcode.NullEQ:
		return c == 0
	case opcode.NE:
		return c != 0
	case opcode.LT:
		return c < 0
	case opcode.LE:
		return c <= 0
	case opcode.GT:
		return c > 0
	}
	return c >= 0
}

func compare(b *Binder, op opcode.Op, l, r Expr) (Expr, error) {
	sym := cmpSymbols[op]
	l, r, cf, err := comparerOp(b, l, r, sym, op == opcode.EQ || op == opcode.NE || op == opcode.NullEQ)
	if err != nil {
		return nil, err
	}
	if op == opcode.NullEQ {
		return nullSafeEqual(l, r, cf, false), nil
	}
	if lit, ok := r.(*Literal); ok && !lit.Value.IsNull() && isIntegral(l.Type()) && isIntegral(r.Type()) {
		// An INT or BIGINT against a constant (q15's `price < 10000`,
		// q2's `MOD(auction, 123) = 0`), which comparer compares with
		// cmpInts: the constant is read once, not evaluated per row.
		k := lit.Value.Int()
		return &node{t: types.Boolean, sql: []any{"(", l, " " + sym + " ", r, ")"}, kids: []Expr{l, r}, eval: func(row types.Row) (types.Value, error) {
			a, err := l.Eval(row)
			if err != nil || a.IsNull() {
				return types.Value{}, err
			}
			return boolV(cmpResult(op, cmp.Compare(a.Int(), k))), nil
		}}, nil
	}
	return &node{t: types.Boolean, sql: []any{"(", l, " " + sym + " ", r, ")"}, kids: []Expr{l, r}, eval: func(row types.Row) (types.Value, error) {
		a, err := l.Eval(row)
		if err != nil || a.IsNull() {
			return types.Value{}, err
		}
		c, err := r.Eval(row)
		if err != nil || c.IsNull() {
			return types.Value{}, err
		}
		return boolV(cmpResult(op, cf(a, c))), nil
	}}, nil
}

// distinctFrom binds l IS DISTINCT FROM r: comparable as = is, never
// NULL.
func distinctFrom(b *Binder, l, r Expr) (Expr, error) {
	l, r, cf, err := comparer(b, l, r, "IS DISTINCT FROM")
	if err != nil {
		return nil, err
	}
	return nullSafeEqual(l, r, cf, true), nil
}

// nullSafeEqual is IS NOT DISTINCT FROM (negate: IS DISTINCT FROM): NULL
// is not distinct from NULL and distinct from any value.
func nullSafeEqual(l, r Expr, cf cmpFunc, negate bool) Expr {
	text := " IS NOT DISTINCT FROM "
	if negate {
		text = " IS DISTINCT FROM "
	}
	return &node{t: types.Boolean, sql: []any{"(", l, text, r, ")"}, kids: []Expr{l, r}, eval: func(row types.Row) (types.Value, error) {
		a, err := l.Eval(row)
		if err != nil {
			return types.Value{}, err
		}
		c, err := r.Eval(row)
		if err != nil {
			return types.Value{}, err
		}
		same := a.IsNull() && c.IsNull()
		if !a.IsNull() && !c.IsNull() {
			same = cf(a, c) == 0
		}
		return boolV(same != negate), nil
	}}
}

// coerceUnknownPair reads a string literal of the source on one side of
// a comparison as a value of the other side's type, when that type is a
// number, a boolean or bytes (temporal types already coerce strings).
func (b *Binder) coerceUnknownPair(l, r Expr) (Expr, Expr, error) {
	scalar := func(t types.Type) bool {
		return t.IsNumeric() || t.Kind == types.KindBoolean || t.Kind == types.KindBytes
	}
	// A DECIMAL side gives its kind, not its scale: '1.555' compared with
	// a DECIMAL(4, 2) is 1.555, not 1.56.
	target := func(t types.Type) types.Type {
		if t.Kind == types.KindDecimal {
			return types.Type{Kind: types.KindDecimal}
		}
		return t
	}
	if lt := l.Type(); scalar(lt) {
		if c, ok, err := b.coerceUnknown(r, target(lt)); ok {
			return l, c, err
		}
	}
	if rt := r.Type(); scalar(rt) {
		if c, ok, err := b.coerceUnknown(l, target(rt)); ok {
			return c, r, err
		}
	}
	return l, r, nil
}
