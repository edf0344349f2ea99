package build

import (
	"context"
	"io"

	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/sql/types"
)

// Constant computes the one row of a query without FROM: the plan's root
// is a Result in Constant mode over a Project over Values.
func Constant(plan *planner.Plan) (RowIter, error) {
	root := plan.Result()
	if root == nil || root.Mode != planner.Constant {
		return nil, errShape(plan.Root)
	}
	project, rest := peel[*planner.Project](root.Input)
	if _, ok := rest.(*planner.Values); project == nil || !ok {
		return nil, errShape(plan.Root)
	}
	row := make(types.Row, len(project.Exprs))
	for i, e := range project.Exprs {
		var err error
		if row[i], err = e.Eval(nil); err != nil {
			return nil, err
		}
	}
	return &rowsIter{rows: []types.Row{row}}, nil
}

// rowsIter returns rows already computed.
type rowsIter struct{ rows []types.Row }

// Next implements RowIter.
func (r *rowsIter) Next(context.Context) (types.Row, error) {
	if len(r.rows) == 0 {
		return nil, io.EOF
	}
	row := r.rows[0]
	r.rows = r.rows[1:]
	return row, nil
}

// Close implements RowIter.
func (r *rowsIter) Close() { r.rows = nil }
