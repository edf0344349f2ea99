package expr

import (
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

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

// node is every other expression: a typed closure, the pieces of its SQL
// text and its children (for Walk).
type node struct {
	t    types.Type
	eval evalFunc
	kids []Expr
	// sql is the node's text as pieces, rendered only when String is
	// called: strings, Exprs and joined lists, written in order. A node
	// that kept its whole text would keep a copy of every descendant's
	// text too, and a tree's texts would be quadratic in its size.
	sql []any
	// volatile marks a call whose value changes from call to call
	// (RANDOM): never shared (share.go).
	volatile bool
	// ext marks a node that evaluates some of its children over rows of
	// its own making (a lambda's body): nothing in it is shared.
	ext bool
	// array marks an ARRAY[...] constructor, its elements its kids, which
	// EXPLODE may evaluate into its caller's memory (TableCall.EvalInto).
	array bool
	// memo is the place in the row where a shared node keeps its value
	// (share.go), 0 when it is not shared. Set by Share before the tree
	// is evaluated; atomic so that a tree shared with other users, who
	// never see it set (their rows are too short), is never raced on.
	memo atomic.Int32
	// and marks an AND of its kids (logicN): Conjuncts splits it.
	and bool
	// fn is the function a call node calls, nil for any other node; a
	// subscript of SPLIT looks for it (splitIndex).
	fn *Function
	// text marks a node whose STRING value appendText can write into
	// its caller's buffer (text.go), textCtx its limits; zero for
	// every other node.
	text    textKind
	textCtx *evalCtx
}

var _ Expr = (*node)(nil)

func (n *node) Type() types.Type { return n.t }

func (n *node) Eval(row types.Row) (types.Value, error) {
	if s := int(n.memo.Load()); s > 0 && s+1 < len(row) {
		return n.evalMemo(row, s)
	}
	return n.eval(row)
}

func (n *node) String() string {
	var w sqlWriter
	w.expr(n)
	return w.b.String()
}

// joined is a piece of a node's text: items separated by sep.
type joined struct {
	sep   string
	items []Expr
}

// sqlWriter renders Exprs, optionally cut at limit bytes.
type sqlWriter struct {
	b     strings.Builder
	limit int // 0: no limit
	cut   bool
}

func (w *sqlWriter) str(s string) {
	if w.cut {
		return
	}
	if w.limit > 0 && w.b.Len()+len(s) > w.limit {
		n := w.limit - w.b.Len()
		for n > 0 && !utf8.RuneStart(s[n]) {
			n-- // never cut a character in two
		}
		w.b.WriteString(s[:n])
		w.cut = true
		return
	}
	w.b.WriteString(s)
}

// expr writes e. Its recursion is as deep as the tree, which the front
// end bounds (chains of AND and OR are one n-ary node).
func (w *sqlWriter) expr(e Expr) {
	if w.cut {
		return
	}
	n, ok := e.(*node)
	if !ok {
		w.str(e.String())
		return
	}
	for _, p := range n.sql {
		switch p := p.(type) {
		case string:
			w.str(p)
		case Expr:
			w.expr(p)
		case joined:
			for i, it := range p.items {
				if i > 0 {
					w.str(p.sep)
				}
				w.expr(it)
			}
		}
		if w.cut {
			return
		}
	}
}

// maxQuoted bounds how much of an expression an error message quotes.
const maxQuoted = 200

// clip renders e for an error message: at most maxQuoted bytes, then
// "...". A message never carries a whole statement's worth of text, and
// building one never costs more than that.
func clip(e Expr) string {
	w := sqlWriter{limit: maxQuoted}
	w.expr(e)
	if w.cut {
		return w.b.String() + "..."
	}
	return w.b.String()
}

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
		switch x.(type) {
		case *Column, *lambdaVar:
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
