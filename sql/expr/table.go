package expr

import (
	"sort"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/runnel/runnel/sql/types"
)

// Table functions: one input row, zero or more output values (ksqlDB's
// UDTFs). A table function is not an expression — it changes how many
// rows there are — so the Binder never binds one itself: the planner
// takes the calls of a select list out (BindTableCall) into a flat-map
// node, and the select list reads each call's value as a column. Met
// anywhere else, a call is refused (ErrTableFunction).

// ErrTableFunction refuses a table function where ksqlDB refuses one:
// outside a select list, nested, in CASE, with an aggregation, over a
// table. SQLSTATE 0A000, as PostgreSQL refuses set-returning functions
// in such places.
var ErrTableFunction = ErrUnsupported

// TableFunction is a table function, as SHOW FUNCTIONS and DESCRIBE
// FUNCTION present it.
type TableFunction struct {
	Name        string // upper-case
	Description string
	Sigs        []string
	// bind checks the arguments' types and returns the type of the values
	// the call produces and its implementation.
	bind func(b *Binder, args []Expr) (types.Type, tableImpl, error)
}

// tableImpl computes a table function's values from its evaluated
// arguments (which may be NULL). It must refuse, before building them,
// values whose total Size is over c's limit.
type tableImpl func(c *evalCtx, args []types.Value) ([]types.Value, error)

var tableFunctions = map[string]*TableFunction{}

func registerTable(fs ...*TableFunction) {
	for _, f := range fs {
		if _, dup := tableFunctions[f.Name]; dup {
			panic("expr: table function " + f.Name + " registered twice")
		}
		tableFunctions[f.Name] = f
	}
}

// IsTableFunction reports whether name (any case) is a table function.
func IsTableFunction(name string) bool {
	_, ok := tableFunctions[strings.ToUpper(name)]
	return ok
}

// TableFunctions lists the table functions' names, sorted.
func TableFunctions() []string {
	out := make([]string, 0, len(tableFunctions))
	for n := range tableFunctions {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// TableCall is a bound call of a table function. It is immutable and
// safe for concurrent use, like an Expr.
type TableCall struct {
	Name string
	Args []Expr
	// T is the type of each value the call produces.
	T   types.Type
	fn  tableImpl
	ctx *evalCtx
	// array is EXPLODE's argument when it is an ARRAY[...] constructor,
	// whose elements EvalInto evaluates into its caller's memory; nil
	// for any other call.
	array *node
}

// String renders the call as SQL.
func (c *TableCall) String() string {
	var w sqlWriter
	w.str(c.Name + "(")
	for i, a := range c.Args {
		if i > 0 {
			w.str(", ")
		}
		w.expr(a)
	}
	w.str(")")
	return w.b.String()
}

// Eval computes the call's values over row: none, one or many. An error
// is the row's, as Expr.Eval's.
func (c *TableCall) Eval(row types.Row) ([]types.Value, error) {
	vals := make([]types.Value, len(c.Args))
	for i, a := range c.Args {
		v, err := a.Eval(row)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	return c.fn(c.ctx, vals)
}

// BindTableCall binds a call of a table function; its arguments are bound
// by b (and so by b's Hook, which is how the planner finds a table
// function nested in one). The caller checks that the call stands where
// a table function may.
func (b *Binder) BindTableCall(n *ast.FuncCallExpr) (*TableCall, error) {
	name := strings.ToUpper(n.FnName.O)
	f, ok := tableFunctions[name]
	if !ok {
		return nil, errorf(ErrUnknownFunction, "table function %s does not exist", name)
	}
	args := make([]Expr, len(n.Args))
	for i, a := range n.Args {
		var err error
		if args[i], err = b.bind(a); err != nil {
			return nil, err
		}
	}
	t, fn, err := f.bind(b, args)
	if err != nil {
		return nil, err
	}
	for _, a := range args {
		b.settle(a)
	}
	c := &TableCall{Name: name, Args: args, T: t, fn: fn, ctx: b.evalCtx()}
	if n, ok := args[0].(*node); ok && n.array && name == "EXPLODE" {
		c.array = n
	}
	return c, nil
}

// Room is how many values EvalInto may write into its dst: the elements
// of EXPLODE(ARRAY[...]); 0 for any other call, which EvalInto evaluates
// as Eval does.
func (c *TableCall) Room() int {
	if c.array == nil {
		return 0
	}
	return len(c.array.kids)
}

// EvalInto is Eval for a caller that is done with the values before its
// next call: EXPLODE(ARRAY[...]) evaluates the array's elements into
// dst (Room long) and returns them, where Eval builds the array and a
// list of its arguments, two allocations a row (Nexmark q5 explodes
// each bid into its five window starts). The constructor's value is
// never NULL, so its elements are EXPLODE's values, NULLs among them.
// An array that Share made a shared subexpression is evaluated by Eval,
// which keeps its value for its other readers.
func (c *TableCall) EvalInto(row types.Row, dst []types.Value) ([]types.Value, error) {
	if c.array == nil || len(dst) < len(c.array.kids) || c.array.memo.Load() != 0 {
		return c.Eval(row)
	}
	dst = dst[:len(c.array.kids)]
	if err := c.ctx.arrayElems(c.array.kids, row, dst); err != nil {
		return nil, err
	}
	return dst, nil
}

// tableCallMisplaced is what the Binder says of a table function that
// reaches it: the planner takes out those it allows.
func tableCallMisplaced(name string) error {
	return errorf(ErrTableFunction, "Table function %s can only be used in the select list of a query over a stream", name)
}

// oneArray checks that a table function takes one ARRAY argument and
// returns that array's type. An open parameter becomes an
// ARRAY<STRING>.
func oneArray(b *Binder, name string, args []Expr) (types.Type, error) {
	if len(args) == 1 {
		if isOpenParam(args[0]) {
			b.infer(args[0], types.Array(types.String))
		}
		if t := args[0].Type(); t.Kind == types.KindArray {
			return t, nil
		}
	}
	ts := make([]string, len(args))
	for i, a := range args {
		ts[i] = a.Type().String()
	}
	return types.Type{}, errorf(ErrUnknownFunction, "Function '%s' does not accept parameters (%s). Valid alternatives are: %s(ARRAY<T>)",
		strings.ToLower(name), strings.Join(ts, ", "), strings.ToLower(name))
}

func init() {
	registerTable(
		&TableFunction{Name: "EXPLODE",
			Description: "Explodes an array: one row for each of its elements, in order; none for an empty or NULL array.",
			Sigs:        []string{"EXPLODE(ARRAY<T>) -> T"},
			bind: func(b *Binder, args []Expr) (types.Type, tableImpl, error) {
				t, err := oneArray(b, "EXPLODE", args)
				if err != nil {
					return types.Type{}, nil, err
				}
				return *t.Elem, explode, nil
			}},
		&TableFunction{Name: "CUBE_EXPLODE",
			Description: "Takes an array of columns and outputs all their grouping-set combinations, each column either itself or NULL; a NULL column gives each combination once.",
			Sigs:        []string{"CUBE_EXPLODE(ARRAY<T>) -> ARRAY<T>"},
			bind: func(b *Binder, args []Expr) (types.Type, tableImpl, error) {
				t, err := oneArray(b, "CUBE_EXPLODE", args)
				if err != nil {
					return types.Type{}, nil, err
				}
				return t, cubeExplode, nil
			}},
	)
}

// explode is EXPLODE: the array's elements. The values share the input
// array's elements, so they cost nothing new.
func explode(_ *evalCtx, args []types.Value) ([]types.Value, error) {
	if args[0].IsNull() {
		return nil, nil
	}
	return args[0].List(), nil
}

// maxCubeColumns bounds CUBE_EXPLODE's array before its 2^n rows are
// counted in bytes (the shift below must not overflow).
const maxCubeColumns = 40

// cubeExplode is CUBE_EXPLODE: for an array of n columns, the 2^n arrays
// in which each column is itself or NULL, in ksqlDB's order (the mask
// counts up, its highest bit the first column: [NULL, NULL], [NULL, b],
// [a, NULL], [a, b]). A NULL column makes the combinations that differ
// only in it equal: each is given once, the first time. A NULL array
// gives no rows; an empty one gives one empty array. 2^n rows of n
// values grow fast: the whole result is refused (SQLSTATE 54000, for
// this row) when it is over the limit on values.
func cubeExplode(c *evalCtx, args []types.Value) ([]types.Value, error) {
	if args[0].IsNull() {
		return nil, nil
	}
	cols := args[0].List()
	n := len(cols)
	if n > maxCubeColumns {
		return nil, c.tooLarge("CUBE_EXPLODE of "+strconv.Itoa(n)+" columns", sizeMul(1<<maxCubeColumns, int64(n)))
	}
	combos := int64(1) << n
	var payload int64
	for _, v := range cols {
		payload = sizeAdd(payload, v.Size()-valueOverhead)
	}
	// Each combination is an array of n values and shares the columns'
	// payloads; count the payloads anyway, as an encoder copies them.
	if err := c.checkElems("CUBE_EXPLODE", sizeMul(combos, int64(n+1)), sizeMul(combos, payload)); err != nil {
		return nil, err
	}
	var nullMask int64
	for j, v := range cols {
		if v.IsNull() {
			nullMask |= 1 << (n - 1 - j)
		}
	}
	out := make([]types.Value, 0, combos)
	for mask := int64(0); mask < combos; mask++ {
		if mask&nullMask != 0 {
			continue // the same as the combination with that column left out
		}
		row := make([]types.Value, n)
		for j := range cols {
			if mask&(1<<(n-1-j)) != 0 {
				row[j] = cols[j]
			}
		}
		out = append(out, types.NewArray(row))
	}
	return out, nil
}
