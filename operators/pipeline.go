package operators

import (
	"sync"

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
	// Keys are the indexes of Project's outputs that make up the output's
	// key, and KeyOnly tells, for each, whether it reads nothing but the
	// input's key columns: over a record whose value is null only those
	// are computed, the others are NULL (ksqlDB's rule for PARTITION BY
	// over a null value, partition-by.json "... with null value"). Used by
	// Stateless.Tombstones and Stateless.Table; nil otherwise.
	Keys    []int
	KeyOnly []bool
	// KeyPass is set when the output key is the input key unchanged:
	// each of the input's key columns, and nothing else, projected as it
	// is (renamed or not). A record without a key then gives output
	// records without a key, as ksqlDB passes its null key through
	// (Decoder.KeyAbsent); a computed key (PARTITION BY) is written as
	// computed.
	KeyPass bool
	// FlatMap, when set, expands each filtered row by the query's table
	// functions before the projection: use ApplyFlat, not Apply
	// (flatmap.go).
	FlatMap *FlatMap

	// shared is what the first stateless task found to share between
	// Filter and Project (expr.Share): how many values its rows need
	// after the input's for that. Set once, before any task evaluates.
	shared struct {
		once  sync.Once
		slots int
	}
}

// share marks the subexpressions that Filter and Project have in common,
// once for every task of the pipeline, so that each is computed once per
// row (expr.Share: Nexmark's q21 extracts a URL's channel_id in both), and
// returns how many values a stateless task's input rows need beyond width, the
// input's own. The Pipeline is immutable apart from this, which happens
// before its first evaluation (sync.Once orders it before every task's).
func (p *Pipeline) share(width int) int {
	p.shared.once.Do(func() {
		exprs := append([]expr.Expr(nil), p.Project...)
		if p.Filter != nil {
			exprs = append(exprs, p.Filter)
		}
		p.shared.slots = expr.Share(exprs, width)
	})
	return p.shared.slots
}

// shareFlat is share for a pipeline with table functions (a pipeline is
// one or the other: the same once serves both). The filter and the
// calls' arguments, evaluated over the input row, share their common
// subexpressions, in places after the input's width values and one per
// call: a stateless task's input row holds the calls' values there for
// the projection, which reads the input row too but takes no part. The
// projection is evaluated over rows of one value per call after the
// input's (ApplyFlat's, a task's) and none of its nodes is marked, so a
// shared node never reads a call's value as its own. It returns how many
// values the row needs past the calls' places.
func (p *Pipeline) shareFlat(width int) int {
	p.shared.once.Do(func() {
		var exprs []expr.Expr
		for _, c := range p.FlatMap.Calls {
			exprs = append(exprs, c.Args...)
		}
		if p.Filter != nil {
			exprs = append(exprs, p.Filter)
		}
		p.shared.slots = expr.Share(exprs, width+len(p.FlatMap.Calls))
	})
	return p.shared.slots
}

// Key computes the output key over an input row. When keyOnly is set the
// row holds only the input's key and pseudo columns (its value was null),
// and a key part that reads other columns is NULL.
func (p *Pipeline) Key(in types.Row, keyOnly bool) (types.Row, error) {
	out := make(types.Row, len(p.Keys))
	for i, k := range p.Keys {
		if keyOnly && !p.KeyOnly[i] {
			continue // NULL
		}
		v, err := p.Project[k].Eval(in)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
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
	return p.project(in, out)
}

// keep runs the filter over one input row: ok is false when it drops the
// row. With projectSkip, it is Apply in two steps, into an output row the
// caller reuses (a stateless task: the row is encoded and dropped before
// the next one), over an input row of width + share(width) values, the
// last ones NULL; between the two, the task learns which output columns
// it copies as text.
func (p *Pipeline) keep(in types.Row) (ok bool, err error) {
	if p.Filter == nil {
		return true, nil
	}
	v, err := p.Filter.Eval(in)
	if err != nil {
		return false, err
	}
	return !v.IsNull() && v.Bool(), nil
}

// projectSkip is project into out, leaving out[i] as it is where skip[i]
// is set (skip may be nil): the output columns a stateless task's encoder
// writes as the input's text (passPlan), whose values nothing reads. Such
// a place keeps whatever value it last held. It returns the output's
// event time.
func (p *Pipeline) projectSkip(in, out types.Row, skip []bool) (ts int64, err error) {
	for i, e := range p.Project {
		if skip != nil && skip[i] {
			continue
		}
		v, err := e.Eval(in)
		if err != nil {
			return 0, err
		}
		out[i] = v
	}
	return in[p.TimeIndex].Int(), nil
}

// project computes the output row into out.
func (p *Pipeline) project(in, out types.Row) (types.Row, int64, bool, error) {
	for i, e := range p.Project {
		v, err := e.Eval(in)
		if err != nil {
			return nil, 0, false, err
		}
		out[i] = v
	}
	return out, in[p.TimeIndex].Int(), true, nil
}
