package expr

import (
	"slices"
	"strings"

	"github.com/runnel/runnel/sql/types"
)

// Common subexpressions.
//
// A query often computes one thing twice over a row: Nexmark's q21 tests
// REGEXP_EXTRACT(p, url, 2) in its WHERE and returns it in a CASE of its
// SELECT, and LCASE(channel) five times. Bound expressions are closures
// over their children, built once and shared by every task, so the
// second computation cannot be rewired to read the first; instead the
// repeated nodes are marked, and a marked node keeps its value for the
// row in the row itself, in two places after the row's own values: a
// flag, set once the value is there, and the value. The caller of Eval
// provides those places, NULL at the start of each row; a row without
// them (any other caller's) evaluates the node as before.
//
// A marked node is still evaluated lazily, where and when its first
// occurrence is reached: a CASE branch or an OR operand that does not run
// does not compute it, so sharing can neither add an error nor a cost.
// An error is not kept: it ends the row's evaluation.

// memoSlots is the number of row places one shared node takes.
const memoSlots = 2

// Share marks the subexpressions that occur more than once in exprs
// (expressions evaluated over the same rows: a query's WHERE and its
// SELECT list) so that each is computed at most once per row, and returns
// how many values a row needs beyond its width values for that:
// 0 when nothing is shared. Eval must then be given rows of width+slots
// values whose last slots are NULL when each row starts; rows of width
// values still evaluate without sharing.
//
// Shared are the repeated calls, operators and the like, compared by
// their text, their types and the columns they read; not columns and
// literals, which cost nothing to read; not a call of a function whose
// value changes from call to call (RANDOM, UUID, ...) nor anything
// containing one; not anything within a lambda, whose body is evaluated
// over rows extended with its arguments.
//
// Share marks the nodes in place: call it before the expressions are
// evaluated, once, for the one set of expressions that owns them (trees
// shared with other users keep working, without sharing, on rows of width
// values). Marks already made are kept.
func Share(exprs []Expr, width int) (slots int) {
	// The key of every node that may be shared; each node object once
	// (one bound twice is two objects, and counts twice).
	keys := map[*node]string{}
	for _, e := range exprs {
		shareKey(e, keys)
	}
	count := map[string]int{}
	for _, key := range keys {
		count[key]++
	}
	var repeated []*node
	for n, key := range keys {
		if count[key] > 1 {
			repeated = append(repeated, n)
		}
	}
	// Slots in the order of the keys, so that they do not depend on
	// the maps' order (they are immaterial otherwise).
	slices.SortFunc(repeated, func(a, b *node) int { return strings.Compare(keys[a], keys[b]) })
	slot := map[string]int{}
	for _, n := range repeated {
		if n.memo.Load() != 0 {
			continue
		}
		s, ok := slot[keys[n]]
		if !ok {
			s = width + slots
			slots += memoSlots
			slot[keys[n]] = s
		}
		n.memo.Store(int32(s))
	}
	return slots
}

// shareKey returns e's key for Share and records, in keys, the key of
// every node of e that may be shared. The key is "" for what must not
// be: then no node above it may be either.
func shareKey(e Expr, keys map[*node]string) string {
	switch x := e.(type) {
	case *Column:
		return "#" + itoaInt(x.Index) + ":" + x.T.String()
	case *Literal:
		return literalSQL(x.Value, x.T) + ":" + x.T.String()
	case *node:
		if x.unrepeatable() {
			return ""
		}
		kidKeys := make(map[Expr]string, len(x.kids))
		ok := true
		for _, k := range x.kids {
			kk := shareKey(k, keys)
			if kk == "" {
				ok = false
			}
			kidKeys[k] = kk
		}
		if !ok {
			return ""
		}
		var b strings.Builder
		b.WriteString(x.t.String())
		b.WriteByte('{')
		for _, p := range x.sql {
			switch p := p.(type) {
			case string:
				b.WriteString(p)
			case Expr:
				b.WriteString(keyOf(p, kidKeys))
			case joined:
				for i, it := range p.items {
					if i > 0 {
						b.WriteString(p.sep)
					}
					b.WriteString(keyOf(it, kidKeys))
				}
			}
		}
		b.WriteByte('}')
		key := b.String()
		keys[x] = key
		return key
	}
	// A lambda's argument, a parameter, an Expr from elsewhere: never
	// shared, nor anything that contains one.
	return ""
}

// keyOf is the key of a piece of a node's text: its child's, or for an
// Expr that is not one of its children (none today), its text.
func keyOf(e Expr, kidKeys map[Expr]string) string {
	if k, ok := kidKeys[e]; ok {
		return "<" + k + ">"
	}
	return "<" + e.String() + ">"
}

func itoaInt(i int) string { return types.Format(types.NewBigint(int64(i)), types.Bigint) }

// evalMemo evaluates n over a row that has n's places at s: the value
// kept there, or computed and kept.
func (n *node) evalMemo(row types.Row, s int) (types.Value, error) {
	if !row[s].IsNull() {
		return row[s+1], nil
	}
	v, err := n.eval(row)
	if err != nil {
		return v, err
	}
	row[s+1] = v
	row[s] = types.NewBoolean(true)
	return v, nil
}

// ReadsColumns calls fn with the index of every column e reads (as many
// times as it reads it), and reports whether it knows them all: false
// when e holds an Expr of another package, whose reads it cannot see.
func ReadsColumns(e Expr, fn func(index int)) bool {
	known := true
	Walk(e, func(x Expr) bool {
		switch x := x.(type) {
		case *Column:
			fn(x.Index)
		case *Literal, *lambdaVar, *paramExpr, *node:
		default:
			known = false
		}
		return known
	})
	return known
}
