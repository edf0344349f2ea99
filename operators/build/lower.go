package build

import (
	"fmt"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/operators"
	"github.com/runnel/runnel/operators/agg"
	"github.com/runnel/runnel/operators/window"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// Lowering: reading a plan tree into the runtime's immutable specs —
// decoders, pipelines, groupers, aggregate specs — without touching the
// log. It is pure, so Check runs it to refuse a statement before anything
// is written, and the builder runs it again to start what Check accepted.

// ErrUnsupported refuses a plan the runtime cannot run.
var ErrUnsupported = sqlstate.New(sqlstate.FeatureNotSupported, "not supported")

// errShape is a plan whose shape the builder does not know: a planner bug,
// not a user's mistake.
func errShape(n planner.Node) error {
	return sqlstate.Errorf(sqlstate.Internal, "build: no operators for a plan of this shape:\n%s", planner.Explain(n))
}

// peel returns n as a T and its single input when it is one; otherwise
// the zero T and n itself. It reads the optional nodes of a linear chain.
func peel[T planner.Node](n planner.Node) (T, planner.Node) {
	if t, ok := n.(T); ok {
		if kids := n.Children(); len(kids) == 1 {
			return t, kids[0]
		}
	}
	var zero T
	return zero, n
}

// rows is a linear chain of row operators over one scan, as one stage or
// one reader runs it: Project over [PartitionBy] over [Sort] over
// [FlatMap] over [Filter] over Scan. (PartitionBy needs no operator: the
// project marks the new key, and the sink's records are partitioned by
// it.)
type rows struct {
	scan    *planner.Scan
	filter  expr.Expr
	sort    *planner.Sort
	flat    *planner.FlatMap // the table functions, or nil
	project *planner.Project
	dec     *operators.Decoder
	// partitioned is set under a PARTITION BY: its key is computed, so
	// a record without a key is not written without one
	// (operators.Pipeline.KeyPass).
	partitioned bool
}

// lowerRows reads a chain topped by a Project.
func lowerRows(n planner.Node) (*rows, error) {
	r := &rows{}
	var rest planner.Node
	if r.project, rest = peel[*planner.Project](n); r.project == nil {
		return nil, errShape(n)
	}
	var pb *planner.PartitionBy
	pb, rest = peel[*planner.PartitionBy](rest)
	r.partitioned = pb != nil
	r.sort, rest = peel[*planner.Sort](rest)
	r.flat, rest = peel[*planner.FlatMap](rest)
	var f *planner.Filter
	if f, rest = peel[*planner.Filter](rest); f != nil {
		r.filter = f.Predicate
	}
	scan, ok := rest.(*planner.Scan)
	if !ok {
		return nil, errShape(n)
	}
	r.scan = scan
	var err error
	if r.dec, err = NewScanDecoder(scan); err != nil {
		return nil, err
	}
	return r, nil
}

// pipeline is the chain's per-row work, with the output key's parts and
// which of them read only the source's key columns (what a record with a
// null value still gives: Pipeline.KeyOnly).
func (r *rows) pipeline() *operators.Pipeline {
	p := &operators.Pipeline{Filter: r.filter, Project: r.project.Exprs, TimeIndex: len(r.scan.Source.Columns)}
	if r.flat != nil {
		p.FlatMap = &operators.FlatMap{Calls: r.flat.Calls}
	}
	cols := r.scan.Source.Columns
	for i, c := range r.project.Cols {
		if !c.Key {
			continue
		}
		keyOnly := true
		expr.Walk(r.project.Exprs[i], func(e expr.Expr) bool {
			if c, ok := e.(*expr.Column); ok && (c.Index >= len(cols) || !cols[c.Index].Key) {
				keyOnly = false
			}
			return keyOnly
		})
		p.Keys, p.KeyOnly = append(p.Keys, i), append(p.KeyOnly, keyOnly)
	}
	p.KeyPass = !r.partitioned && keyPass(r.project.Cols, r.project.Exprs, cols)
	return p
}

// keyPass reports whether a projection's key is its input's key
// unchanged (operators.Pipeline.KeyPass): every key column a bare
// reference to a distinct input key column, each of those referenced.
func keyPass(out []types.Column, exprs []expr.Expr, in []types.Column) bool {
	inKeys := 0
	for _, c := range in {
		if c.Key {
			inKeys++
		}
	}
	seen := make(map[int]bool, inKeys)
	for i, c := range out {
		if !c.Key {
			continue
		}
		ref, ok := exprs[i].(*expr.Column)
		if !ok || ref.Index >= len(in) || !in[ref.Index].Key || seen[ref.Index] {
			return false
		}
		seen[ref.Index] = true
	}
	return inKeys > 0 && len(seen) == inKeys
}

// aggregation is a lowered Aggregate with what surrounds it: Project over
// [Having] over Aggregate over [Repartition] over [Filter] over Scan.
type aggregation struct {
	scan *planner.Scan
	// repartition is the Repartition under the aggregate, or nil when the
	// groups already live in the input's partitions.
	repartition *planner.Repartition
	spec        *operators.AggregateSpec
	grouper     *operators.Grouper
}

// lowerAggregation reads an aggregating chain topped by a Project; ok is
// false when n is not one.
func lowerAggregation(n planner.Node) (a *aggregation, ok bool, err error) {
	project, rest := peel[*planner.Project](n)
	if project == nil {
		return nil, false, nil
	}
	_, rest = peel[*planner.Having](rest)
	node, rest := peel[*planner.Aggregate](rest)
	if node == nil {
		return nil, false, nil
	}
	repartition, rest := peel[*planner.Repartition](rest)
	filter, rest := peel[*planner.Filter](rest)
	scan, isScan := rest.(*planner.Scan)
	if !isScan {
		if planner.Find[*planner.Join](rest) != nil {
			return nil, false, nil // an aggregation over a join (join.go)
		}
		return nil, true, errShape(n)
	}
	src := scan.Source
	if src.Kind == catalog.KindTable && node.Window != nil {
		return nil, true, ErrUnsupported.Errorf("windowed aggregation of a table is not supported: aggregate a stream")
	}
	if a, err = lowerAggregate(n, node, src); err != nil {
		return nil, true, err
	}
	// The scan's decoder builds only the columns the query reads.
	if a.grouper.Decoder, err = NewScanDecoder(scan); err != nil {
		return nil, true, err
	}
	a.scan, a.repartition = scan, repartition
	if filter != nil {
		a.grouper.Filter = filter.Predicate
	}
	return a, true, nil
}

// lowerAggregate builds the specs of an Aggregate node under the select
// list n (Project over [Having] over the node): its functions, codec,
// window, HAVING and projection, and a grouper of its input rows. src is
// the source the rows are decoded from, which gives the grouper its
// decoder and time index; nil for rows that come from a join, whose
// caller sets them.
func lowerAggregate(n planner.Node, node *planner.Aggregate, src *catalog.Source) (*aggregation, error) {
	project, rest := peel[*planner.Project](n)
	having, _ := peel[*planner.Having](rest)
	table := src != nil && src.Kind == catalog.KindTable
	funcs := make([]agg.Func, len(node.Calls))
	args := make([][]expr.Expr, len(node.Calls))
	argTypes := make([][]types.Type, len(node.Calls))
	for i, c := range node.Calls {
		f, err := agg.Resolve(c.Name, c.ArgTypes(), c.Consts, c.Distinct)
		if err != nil {
			return nil, err
		}
		if table && !f.Retractable() {
			return nil, ErrUnsupported.Errorf("%s cannot aggregate a table: its result cannot retract an updated or deleted row", c.Text)
		}
		funcs[i], args[i], argTypes[i] = f, c.Args, c.ArgTypes()
	}
	groupTypes := make([]types.Type, len(node.GroupBy))
	for i, g := range node.GroupBy {
		groupTypes[i] = g.Type()
	}
	codec, err := operators.NewGroupCodec(groupTypes, argTypes)
	if err != nil {
		return nil, err
	}
	ws, err := windowSpec(node.Window)
	if err != nil {
		return nil, err
	}
	var hv expr.Expr
	if having != nil {
		hv = having.Predicate
	}
	a := &aggregation{}
	a.spec = &operators.AggregateSpec{Funcs: funcs, Codec: codec, Window: ws, Final: node.Emit == sql.EmitFinal, Having: hv, Project: project.Exprs,
		// A stream's rows are only ever added; a join's rows (src nil)
		// may be retracted by a table's changes, so they are counted.
		AddsOnly: src != nil && !table}
	a.grouper = &operators.Grouper{GroupBy: node.GroupBy, Args: args, Codec: codec}
	if src != nil {
		dec, err := NewDecoder(src)
		if err != nil {
			return nil, err
		}
		a.grouper.Decoder, a.grouper.TimeIndex = dec, len(src.Columns)
	}
	return a, nil
}

// windowSpec converts a WINDOW clause.
func windowSpec(w *sql.Window) (*window.Spec, error) {
	if w == nil {
		return nil, nil
	}
	s := &window.Spec{Size: w.Size, Advance: w.Advance, Grace: w.Grace, HasGrace: w.HasGrace, Retention: w.Retention}
	switch w.Kind {
	case sql.Tumbling:
		s.Kind = window.Tumbling
	case sql.Hopping:
		s.Kind = window.Hopping
	case sql.Session:
		s.Kind, s.Gap, s.Size = window.Session, w.Size, 0
	}
	if err := s.Validate(); err != nil {
		return nil, sqlstate.Errorf(sqlstate.InvalidParameter, "%s", err.Error())
	}
	return s, nil
}

// Check reports whether the builder can run plan, without touching the log
// or the state: what it would build is built and dropped. The engine calls
// it among a statement's checks, before anything is written.
func Check(plan *planner.Plan) error {
	switch root := plan.Root.(type) {
	case *planner.Sink:
		_, err := lowerPersistent("CHECK", root)
		return err
	case *planner.Result:
		switch root.Mode {
		case planner.Constant:
			return nil
		case planner.Pull:
			_, err := lowerRows(root.Input)
			return err
		}
		if planner.Find[*planner.Join](root) != nil {
			if tableJoinOf(root) != nil {
				return checkTableJoin(root)
			}
			if _, ok, err := lowerJoinAggregation(root.Input); ok || err != nil {
				return err
			}
			if _, ok, err := lowerJoinRows(root.Input); ok || err != nil {
				return err
			}
			return errShape(root)
		}
		if _, ok, err := lowerAggregation(root.Input); ok || err != nil {
			return err
		}
		_, err := lowerRows(root.Input)
		return err
	}
	return errShape(plan.Root)
}

// sinkEncoder checks that the sink's formats encode its rows.
func sinkEncoder(sink *catalog.Source) (*operators.Encoder, error) {
	enc, err := NewEncoder(sink)
	if err != nil {
		return nil, fmt.Errorf("sink %s: %w", sink.Name, err)
	}
	return enc, nil
}
