package operators

import (
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// Pipeline is the per-row work of a stateless query: filter, then project.
// It is immutable after construction and shared by a query's tasks.
type Pipeline struct {
	// Filter keeps rows for which it is TRUE; nil keeps all.
	Filter expr.Expr
	// Project computes the output row.
	Project []expr.Expr
	// TimeIndex is the index of ROWTIME in the input row: the output
	// record keeps the input's event time.
	TimeIndex int
}

// Apply runs the pipeline over one input row. It returns ok == false when
// the filter drops the row, and an error when an expression fails on it
// (the caller skips the record and reports it).
func (p *Pipeline) Apply(in types.Row) (out types.Row, ts int64, ok bool, err error) {
	if p.Filter != nil {
		v, err := p.Filter.Eval(in)
		if err != nil {
			return nil, 0, false, err
		}
		if v.IsNull() || !v.Bool() {
			return nil, 0, false, nil
		}
	}
	out = make(types.Row, len(p.Project))
	for i, e := range p.Project {
		if out[i], err = e.Eval(in); err != nil {
			return nil, 0, false, err
		}
	}
	return out, in[p.TimeIndex].Int(), true, nil
}
