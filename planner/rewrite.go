package planner

import (
	"slices"

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
		for _, i := range keyOrder(p) {
			exprs, cols = append(exprs, p.Exprs[i]), append(cols, p.Cols[i])
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

// keyOrder returns the indexes of p's key columns in the order a sink
// lays them out: re-keyed by PARTITION BY, in the order of its
// expressions (ksqlDB's partition-by.json "multiple key columns -
// reordered": PARTITION BY ID, NAME of a key NAME, ID writes "10,bob"),
// whatever the select list's order; otherwise in the select list's.
func keyOrder(p *Project) []int {
	var order []int
	for i, c := range p.Cols {
		if c.Key {
			order = append(order, i)
		}
	}
	pb := partitionByUnder(p.Input)
	if pb == nil || len(pb.Keys) != len(order) {
		return order
	}
	// Each key column is the first select item that is exactly its
	// PARTITION BY expression (Planner.project); match them by text.
	byKey := make([]int, 0, len(order))
	used := make([]bool, len(order))
	for _, k := range pb.Keys {
		want := k.String()
		found := false
		for j, i := range order {
			if !used[j] && p.Exprs[i].String() == want {
				used[j], found = true, true
				byKey = append(byKey, i)
				break
			}
		}
		if !found {
			return order
		}
	}
	return byKey
}

// partitionByUnder returns the PartitionBy under a Project's input (below
// a Sort), or nil.
func partitionByUnder(n Node) *PartitionBy {
	if s, ok := n.(*Sort); ok {
		n = s.Input
	}
	pb, _ := n.(*PartitionBy)
	return pb
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

// ReadColumns marks on a Scan which of its columns are read (Scan.Reads)
// by the Project or Aggregate over it and by the nodes between them that
// pass its rows through unchanged (Filter, PartitionBy, Repartition,
// Sort), so that the scan's records are decoded only as far as the query
// needs. A scan under anything else (a Join, or a scan with nothing over
// it) is left as it is: all its columns may be read. Apply it with
// Transform to a whole tree; it copies the chain down to the scan.
func ReadColumns(n Node) (Node, bool, error) {
	var exprs []expr.Expr
	var in Node
	switch x := n.(type) {
	case *Project:
		exprs, in = x.Exprs, x.Input
	case *Aggregate:
		exprs, in = append(exprs, x.GroupBy...), x.Input
		for _, c := range x.Calls {
			exprs = append(exprs, c.Args...)
		}
	default:
		return n, false, nil
	}
	// chain is the pass-through nodes from the top down.
	var chain []Node
	var scan *Scan
	for scan == nil {
		if _, ok := in.(*Scan); !ok {
			chain = append(chain, in)
		}
		switch x := in.(type) {
		case *Filter:
			exprs, in = append(exprs, x.Predicate), x.Input
		case *PartitionBy:
			exprs, in = append(exprs, x.Keys...), x.Input
		case *Repartition:
			exprs, in = append(exprs, x.Keys...), x.Input
		case *Sort:
			for _, it := range x.Items {
				exprs = append(exprs, it.Expr)
			}
			in = x.Input
		case *Scan:
			scan = x
			continue
		default:
			return n, false, nil
		}
	}
	reads := make([]bool, len(scan.Cols))
	for _, e := range exprs {
		expr.Walk(e, func(x expr.Expr) bool {
			if c, ok := x.(*expr.Column); ok && c.Index >= 0 && c.Index < len(reads) {
				reads[c.Index] = true
			}
			return true
		})
	}
	if slices.Equal(reads, scan.Reads) {
		return n, false, nil
	}
	s := *scan
	s.Reads = reads
	// Rebuild the chain over the new scan, bottom up.
	var out Node = &s
	for i := len(chain) - 1; i >= 0; i-- {
		var err error
		if out, err = chain[i].WithChildren(out); err != nil {
			return nil, false, err
		}
	}
	out, err := n.WithChildren(out)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}
