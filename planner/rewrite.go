package planner

import (
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// The planner's rewrites: small pure functions from a node to the node to
// use instead, in the shape of a Rule. None changes the node it is given.

// PushKeyLookup hands a filter's key lookup (Filter.KeyLookup) down to the
// materialized scan right under it, so that a pull query reads one key of
// the table instead of scanning it. The filter stays: the scan narrows
// what is read, the predicate still decides what is kept. Apply it with
// Transform.
func PushKeyLookup(n Node) (Node, bool, error) {
	f, ok := n.(*Filter)
	if !ok || f.KeyLookup == nil {
		return n, false, nil
	}
	s, ok := f.Input.(*Scan)
	if !ok || !s.Materialized || s.Lookup != nil {
		return n, false, nil
	}
	scan := *s
	scan.Lookup = f.KeyLookup
	filter := *f
	filter.Input = &scan
	return &filter, true, nil
}

// KeysFirst lays out the top Project of a persistent query as every ksqlDB
// schema is laid out: key columns first, then the others in select-list
// order. An aggregation's keys are its group columns in GROUP BY order,
// named as the select list names them (Aggregation.KeyNames), including
// group columns the select list left out. Apply it to the root of the
// query, before the Sink goes on top: a Project elsewhere in a tree is not
// a sink's schema.
func KeysFirst(n Node) (Node, bool, error) {
	p, ok := n.(*Project)
	if !ok {
		return n, false, nil
	}
	var exprs []expr.Expr
	var cols []types.Column
	if a := aggregateUnder(p.Input); a != nil {
		for gi := range a.GroupBy {
			exprs = append(exprs, &expr.Column{Index: gi, Name: a.Row[gi].Name, T: a.Row[gi].Type})
			cols = append(cols, types.Column{Name: a.KeyNames[gi], Type: a.Row[gi].Type, Key: true})
		}
	} else {
		for i, c := range p.Cols {
			if c.Key {
				exprs, cols = append(exprs, p.Exprs[i]), append(cols, c)
			}
		}
	}
	for i, c := range p.Cols {
		if !c.Key {
			exprs, cols = append(exprs, p.Exprs[i]), append(cols, c)
		}
	}
	if sameLayout(p, exprs, cols) {
		return n, false, nil
	}
	out := *p
	out.Exprs, out.Cols = exprs, cols
	return &out, true, nil
}

// aggregateUnder returns the Aggregate that n is, or that the Having n is
// stands on; nil otherwise.
func aggregateUnder(n Node) *Aggregate {
	if h, ok := n.(*Having); ok {
		n = h.Input
	}
	a, _ := n.(*Aggregate)
	return a
}

// sameLayout reports whether exprs and cols are p's own, in order.
func sameLayout(p *Project, exprs []expr.Expr, cols []types.Column) bool {
	if len(exprs) != len(p.Exprs) {
		return false
	}
	for i := range exprs {
		c, o := cols[i], p.Cols[i]
		if exprs[i] != p.Exprs[i] || c.Name != o.Name || c.Key != o.Key || !c.Type.Equal(o.Type) {
			return false
		}
	}
	return true
}
