package engine

import (
	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// flatPlan is the flat view of a single-source plan tree that the engine's
// task code still reads. It goes away when operators/build reads the tree.
type flatPlan struct {
	Source    *catalog.Source
	Filter    expr.Expr
	KeyLookup expr.Expr
	Aggregate *planner.Aggregation
	Having    expr.Expr
	Project   []expr.Expr
	Output    []types.Column
	OrderBy   []planner.OrderItem
	Limit     int64
	Sink      *planner.Sink
}

// flatten reads a plan tree into a flatPlan.
func flatten(p *planner.Plan) *flatPlan {
	f := &flatPlan{Output: p.Output(), Sink: p.Sink()}
	if r := p.Result(); r != nil {
		f.Limit = r.Limit
	}
	projected := false
	planner.Walk(p.Root, func(n planner.Node) bool {
		switch n := n.(type) {
		case *planner.Scan:
			f.Source = n.Source
			if n.Lookup != nil {
				f.KeyLookup = n.Lookup
			}
		case *planner.Filter:
			f.Filter = n.Predicate
		case *planner.Aggregate:
			f.Aggregate = n.Aggregation
		case *planner.Having:
			f.Having = n.Predicate
		case *planner.Sort:
			f.OrderBy = n.Items
		case *planner.Project:
			if !projected {
				f.Project, projected = n.Exprs, true
			}
		}
		return true
	})
	return f
}
