package expr

import (
	"sort"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/runnel/runnel/sql/types"
)

// Function is a scalar function of the registry, as SHOW FUNCTIONS and
// DESCRIBE FUNCTION present it.
type Function struct {
	// Name is upper-case, as ksqlDB spells it.
	Name string
	// Category groups functions, as ksqlDB's categories do: STRING,
	// REGULAR EXPRESSION, MATHEMATICAL, CONDITIONAL, DATE / TIME, ARRAY,
	// MAP, JSON, URL, CONVERSIONS, LAMBDA, OTHER.
	Category    string
	Description string

	overloads []overload
	// custom replaces overload matching for functions whose arguments
	// unify to one type (COALESCE, GREATEST, ...). It returns the
	// (coerced) arguments, the result type and the implementation.
	custom     func(b *Binder, args []Expr) ([]Expr, types.Type, impl, error)
	customSigs []string
	// lambda replaces binding altogether for the functions that take a
	// lambda (TRANSFORM, FILTER, REDUCE), whose arguments' types decide
	// how the lambda is bound (lambda.go). Its signatures are customSigs.
	lambda func(b *Binder, n *ast.FuncCallExpr) (Expr, error)
	// nullCall: the implementation handles NULL arguments itself;
	// otherwise any NULL argument yields NULL without calling it.
	nullCall bool
}

// impl computes a function from its evaluated arguments. args must not be
// retained.
type impl func(args []types.Value) (types.Value, error)

// implL is an implementation that may build a large value: it gets the
// limits of the Binder that bound the call, and must refuse a value over
// them before building it.
type implL func(c *evalCtx, args []types.Value) (types.Value, error)

// overload is one signature of a function.
type overload struct {
	params   []pk
	variadic bool // the last param repeats zero or more times
	ret      func(args []types.Type) types.Type
	retText  string
	fn       impl
	fnL      implL // used instead of fn when set
	// prep, when set, builds the call's implementation from its bound
	// arguments, used instead of fn and fnL: what a literal argument
	// decides (a compiled pattern, a time zone) is then worked out once,
	// when the call is bound, not once per row.
	prep func(c *evalCtx, args []Expr) impl
	// fn1, when set, is a one-parameter fn over the argument itself: a
	// call of it takes no argument list (ov1).
	fn1 func(types.Value) (types.Value, error)
}

// pk is the kind of value a parameter takes.
type pk byte

const (
	pString    pk = 'S'
	pIntegral  pk = 'I' // INT or BIGINT
	pNumeric   pk = 'N' // INT, BIGINT, DECIMAL or DOUBLE
	pBoolean   pk = 'B'
	pTimestamp pk = 'T'
	pDate      pk = 'D'
	pTime      pk = 'E'
	pBytes     pk = 'Y'
	pArray     pk = 'A'
	pMap       pk = 'M'
	pAny       pk = 'X'
)

var pkNames = map[pk]string{
	pString: "STRING", pIntegral: "INT", pNumeric: "NUMERIC", pBoolean: "BOOLEAN",
	pTimestamp: "TIMESTAMP", pDate: "DATE", pTime: "TIME", pBytes: "BYTES",
	pArray: "ARRAY", pMap: "MAP", pAny: "ANY",
}

// pkDefault is the type an open parameter takes in a position of kind k.
func pkDefault(k pk) types.Type {
	switch k {
	case pIntegral:
		return types.Int
	case pNumeric:
		return types.Double
	case pBoolean:
		return types.Boolean
	case pTimestamp:
		return types.Timestamp
	case pDate:
		return types.Date
	case pTime:
		return types.Time
	case pBytes:
		return types.Bytes
	case pArray:
		return types.Array(types.String)
	case pMap:
		return types.Map(types.String, types.String)
	}
	return types.String
}

func (k pk) matches(t types.Type) bool {
	switch k {
	case pAny:
		return true
	case pString:
		return t.Kind == types.KindString
	case pIntegral:
		return t.Kind == types.KindInt || t.Kind == types.KindBigint
	case pNumeric:
		return t.IsNumeric()
	case pBoolean:
		return t.Kind == types.KindBoolean
	case pTimestamp:
		return t.Kind == types.KindTimestamp
	case pDate:
		return t.Kind == types.KindDate
	case pTime:
		return t.Kind == types.KindTime
	case pBytes:
		return t.Kind == types.KindBytes
	case pArray:
		return t.Kind == types.KindArray
	case pMap:
		return t.Kind == types.KindMap
	}
	return false
}

func (o *overload) param(i int) pk {
	if i < len(o.params) {
		return o.params[i]
	}
	return o.params[len(o.params)-1]
}

// accepts reports whether the overload takes arguments of these types;
// NULL and open parameters match any kind.
func (o *overload) accepts(args []Expr) bool {
	if o.variadic {
		if len(args) < len(o.params)-1 {
			return false
		}
	} else if len(args) != len(o.params) {
		return false
	}
	for i, a := range args {
		if isOpenParam(a) || a.Type().Kind == types.KindNull {
			continue
		}
		if !o.param(i).matches(a.Type()) {
			return false
		}
	}
	return true
}

// Signatures renders the function's signatures, e.g.
// "SUBSTRING(STRING, INT[, INT]) -> STRING" as lines for DESCRIBE FUNCTION.
func (f *Function) Signatures() []string {
	if f.custom != nil || f.lambda != nil {
		return f.customSigs
	}
	out := make([]string, 0, len(f.overloads))
	for _, o := range f.overloads {
		var sb strings.Builder
		sb.WriteString(f.Name + "(")
		for i, p := range o.params {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(pkNames[p])
			if o.variadic && i == len(o.params)-1 {
				sb.WriteString("...")
			}
		}
		sb.WriteString(") -> " + o.retText)
		out = append(out, sb.String())
	}
	return out
}

var registry = map[string]*Function{}

// register adds functions to the registry; called from init in the
// function files.
func register(fs ...*Function) {
	for _, f := range fs {
		if _, dup := registry[f.Name]; dup {
			panic("expr: function " + f.Name + " registered twice")
		}
		registry[f.Name] = f
	}
}

// Lookup finds a scalar function by name, case-insensitively.
func Lookup(name string) (*Function, bool) {
	f, ok := registry[strings.ToUpper(name)]
	return f, ok
}

// Functions lists the scalar functions sorted by name, for SHOW
// FUNCTIONS.
func Functions() []*Function {
	out := make([]*Function, 0, len(registry))
	for _, f := range registry {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Overload-building helpers for the function files.

func fixed(t types.Type) func([]types.Type) types.Type {
	return func([]types.Type) types.Type { return t }
}

func argType(i int) func([]types.Type) types.Type {
	return func(a []types.Type) types.Type { return a[i] }
}

func ov(ret types.Type, fn impl, params ...pk) overload {
	return overload{params: params, ret: fixed(ret), retText: ret.String(), fn: fn}
}

// ov1 is ov for a function of one parameter, p, that its calls apply
// to the argument's value as it is, with no argument list: a list to
// pass, from a pool since a call is evaluated by every task at once, was
// most of the cost of UNIX_TIMESTAMP(ts) (Nexmark q8's join and group
// keys, per record and per pair).
func ov1(ret types.Type, fn func(types.Value) (types.Value, error), p pk) overload {
	o := ov(ret, func(a []types.Value) (types.Value, error) { return fn(a[0]) }, p)
	o.fn1 = fn
	return o
}

func ovVar(ret types.Type, fn impl, params ...pk) overload {
	o := ov(ret, fn, params...)
	o.variadic = true
	return o
}

func ovT(ret func([]types.Type) types.Type, retText string, fn impl, params ...pk) overload {
	return overload{params: params, ret: ret, retText: retText, fn: fn}
}

// ovL, ovVarL and ovTL are ov, ovVar and ovT for an implementation that
// may build a large value.
func ovL(ret types.Type, fn implL, params ...pk) overload {
	return overload{params: params, ret: fixed(ret), retText: ret.String(), fnL: fn}
}

func ovVarL(ret types.Type, fn implL, params ...pk) overload {
	o := ovL(ret, fn, params...)
	o.variadic = true
	return o
}

func ovTL(ret func([]types.Type) types.Type, retText string, fn implL, params ...pk) overload {
	return overload{params: params, ret: ret, retText: retText, fnL: fn}
}

func fn(name, category, desc string, ovs ...overload) *Function {
	return &Function{Name: name, Category: category, Description: desc, overloads: ovs}
}
