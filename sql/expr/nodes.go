package expr

import (
	"strconv"
	"strings"

	"github.com/runnel/runnel/sql/types"
)

// evalFunc computes one expression over a row. Bound expressions are trees
// of these closures, chosen once at bind time for the operand types.
type evalFunc func(row types.Row) (types.Value, error)

// Column is a bound column reference: it evaluates to row[Index].
// The planner may inspect it (e.g. to spot key columns in PARTITION BY).
type Column struct {
	Index     int
	Qualifier string // as written; "" when unqualified
	Name      string
	T         types.Type
}

var _ Expr = (*Column)(nil)

func (c *Column) Type() types.Type                        { return c.T }
func (c *Column) Eval(row types.Row) (types.Value, error) { return row[c.Index], nil }

func (c *Column) String() string {
	if c.Qualifier != "" {
		return quoteIdent(c.Qualifier) + "." + quoteIdent(c.Name)
	}
	return quoteIdent(c.Name)
}

// Literal is a constant.
type Literal struct {
	Value types.Value
	T     types.Type
}

var _ Expr = (*Literal)(nil)

func (l *Literal) Type() types.Type                    { return l.T }
func (l *Literal) Eval(types.Row) (types.Value, error) { return l.Value, nil }
func (l *Literal) String() string                      { return literalSQL(l.Value, l.T) }

// node is every other expression: a typed closure with its SQL text and
// its children (for Walk).
type node struct {
	t    types.Type
	text string
	eval evalFunc
	kids []Expr
}

var _ Expr = (*node)(nil)

func (n *node) Type() types.Type                        { return n.t }
func (n *node) Eval(row types.Row) (types.Value, error) { return n.eval(row) }
func (n *node) String() string                          { return n.text }

// Walk calls fn for e and, while fn returns true, for its children,
// depth first. Columns, literals and parameters have no children.
func Walk(e Expr, fn func(Expr) bool) {
	if !fn(e) {
		return
	}
	if n, ok := e.(*node); ok {
		for _, k := range n.kids {
			Walk(k, fn)
		}
	}
}

// IsConstant reports whether e references no column (a literal, a
// parameter, or an expression of those). Non-deterministic functions
// (RANDOM, UUID, UNIX_TIMESTAMP()) count as constant here too; callers
// that fold constants must not fold those, which Eval does not do.
func IsConstant(e Expr) bool {
	c := true
	Walk(e, func(x Expr) bool {
		if _, ok := x.(*Column); ok {
			c = false
		}
		return c
	})
	return c
}

func quoteIdent(s string) string {
	if s == "" {
		return `""`
	}
	plain := true
	for i, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || (i > 0 && r >= '0' && r <= '9')) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

func quoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// literalSQL renders a constant as SQL that binds back to the same value.
func literalSQL(v types.Value, t types.Type) string {
	if v.IsNull() {
		return "NULL"
	}
	switch v.Kind() {
	case types.KindString:
		return quoteString(v.Str())
	case types.KindBoolean:
		if v.Bool() {
			return "TRUE"
		}
		return "FALSE"
	case types.KindInt, types.KindDecimal:
		return types.Format(v, t)
	case types.KindBigint:
		s := strconv.FormatInt(v.Int(), 10)
		if v.Int() >= -1<<31 && v.Int() < 1<<31 {
			return "CAST(" + s + " AS BIGINT)"
		}
		return s
	case types.KindDouble:
		s := types.FormatDouble(v.Float())
		if !strings.ContainsAny(s, "E") {
			s += "E0"
		}
		return s
	}
	return "CAST(" + quoteString(types.Format(v, t)) + " AS " + t.String() + ")"
}
