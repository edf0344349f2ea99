package build

import (
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/sql/expr"
)

// The WHERE over a two-way join, pushed into its sides: each term of its
// top-level AND that reads one side's columns only becomes part of that
// side's filter, so that a row or record that fails it is dropped before
// it is stored or meets anything. The WHERE above keeps the whole
// condition: a pushed term is evaluated again on the rows that pass it,
// which costs a comparison, and the WHERE stays the one place that
// decides (and reports a term's evaluation error, since a row a filter
// fails to evaluate is kept).
//
// A term may go to a side only when every result row made of a row of
// that side contains that row's values: then a term FALSE or NULL for
// the side's row is FALSE or NULL for every result row it makes, which
// the WHERE drops. That holds for both sides of an INNER join, the kept
// side of a LEFT join (the left) or of a RIGHT join (the right); not for
// the other side of an outer join, whose rows are NULL-extended when
// they have no match (a term over NULLs may well be TRUE, `x IS NULL`),
// so a filtered row there would make a NULL-extended row the WHERE may
// keep, where the unfiltered one made a row it drops.

// sideFilters returns, for the left and right sides of a join of type t
// whose joined row starts with the left side's lw columns then the right
// side's rw, the AND of where's terms that read that side's columns only
// and may go to it (nil for none). A term that reads no column, the
// joined row's key or ROWTIME (past lw+rw), or is volatile (RANDOM: once
// per row is not once per pair) stays above only.
func sideFilters(where expr.Expr, t planner.JoinType, lw, rw int) (left, right expr.Expr) {
	if where == nil {
		return nil, nil
	}
	takes := [2]bool{
		t == planner.InnerJoin || t == planner.LeftJoin,
		t == planner.InnerJoin || t == planner.RightJoin,
	}
	var terms [2][]expr.Expr
	for _, term := range expr.Conjuncts(where) {
		if expr.Volatile(term) {
			continue
		}
		lo, hi := -1, -1
		known := expr.ReadsColumns(term, func(i int) {
			if lo < 0 || i < lo {
				lo = i
			}
			hi = max(hi, i)
		})
		switch {
		case !known || lo < 0:
		case hi < lw && takes[0]:
			terms[0] = append(terms[0], term)
		case lo >= lw && hi < lw+rw && takes[1]:
			terms[1] = append(terms[1], term)
		}
	}
	return expr.AllOf(terms[0]), expr.AllOf(terms[1])
}
