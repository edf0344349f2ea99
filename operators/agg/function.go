package agg

import (
	"fmt"

	"github.com/runnel/runnel/sql/types"
)

// function is the one Func implementation: each aggregate supplies its
// constructors and the rest is shared.
type function struct {
	name        string
	result      types.Type
	retractable bool
	// fallible is set when Add or Retract can fail on a well-formed row:
	// SUM's overflow.
	fallible bool
	// combines is set when rows folded into separate accumulators and
	// then merged give the accumulator that folding them one by one, in
	// order, gives, and neither Add nor Merge can fail on well-formed
	// input (see Combines).
	combines bool
	// inner, for a DISTINCT aggregate (COUNT(DISTINCT x), SUM(DISTINCT
	// x), ...), is the aggregate its distinct values are fed to; see
	// DistinctOf.
	inner  *function
	newAcc func() Accumulator
	// decodeFrom reads one accumulator from d; failures are left in d.err.
	decodeFrom func(d *decoder) Accumulator
}

var _ Func = (*function)(nil)

func (f *function) Name() string           { return f.name }
func (f *function) ResultType() types.Type { return f.result }
func (f *function) New() Accumulator       { return f.newAcc() }
func (f *function) Retractable() bool      { return f.retractable }

// Fallible reports whether the accumulators' Add or Retract may fail on a
// well-formed row (SUM's overflow, which leaves the accumulator as it
// was). The others fail only on a wrong number of arguments, on a
// retraction of a row they never had, or never. A caller that folds one
// row into several accumulators and must change all or none folds the
// fallible ones first: if one fails, those before it undo the row
// (Retract what was added, Add what was retracted), which every fallible
// accumulator supports exactly.
func (f *function) Fallible() bool { return f.fallible }

// Combines reports whether f's accumulators may be combined ahead of the
// one that keeps a group's state: rows folded into a fresh accumulator,
// which is then merged into the group's, give exactly what folding each
// row into the group's in turn gives, and neither Add nor Merge fails
// on a well-formed row. An aggregation's first stage may then fold a
// batch's rows of one group into one partial and send that
// (operators/combine.go). COUNT, COUNT(*), MIN and MAX combine: a count
// adds, a minimum or maximum of minima is the minimum. SUM does not:
// its overflow rejects a row by the group's running sum, which a
// partial does not know, and a DOUBLE's sum depends on the order of its
// additions. Order-dependent (LATEST_BY_OFFSET), collecting (COLLECT_*,
// TOPK) and DISTINCT aggregates do not.
func Combines(f Func) bool {
	ff, ok := f.(*function)
	return ok && ff.combines
}

// DistinctOf returns, for a DISTINCT aggregate of one argument
// (COUNT(DISTINCT x), which is COUNT_DISTINCT(x), SUM(DISTINCT x), AVG ...),
// the aggregate of its distinct values: COUNT(x) for COUNT(DISTINCT x),
// SUM(x) for SUM(DISTINCT x). Its accumulators hold the set of values
// they have seen, which costs each row a decoding and an encoding of the
// whole set when the set is stored with them. A caller that keeps the
// set itself (a count per distinct value; see operators' aggdistinct.go)
// feeds inner each value the first time it is seen (Add) and the last
// time it goes (Retract), and gets the same result; NULLs are not values
// of the set. ok is false for every other aggregate (COLLECT_SET and
// HISTOGRAM, whose results are the sets themselves, included).
func DistinctOf(f Func) (inner Func, ok bool) {
	ff, isFunc := f.(*function)
	if !isFunc || ff.inner == nil {
		return nil, false
	}
	return ff.inner, true
}

// Fallible reports whether f's accumulators may fail on a well-formed row;
// see function.Fallible.
func Fallible(f Func) bool {
	ff, ok := f.(interface{ Fallible() bool })
	return ok && ff.Fallible()
}

func (f *function) Decode(b []byte) (Accumulator, error) {
	d := decoder{b: b}
	a := f.decodeFrom(&d)
	if err := d.finish(); err != nil {
		return nil, fmt.Errorf("decode %s state: %w", f.name, err)
	}
	return a, nil
}

// decodesInto is implemented by the accumulators that Decode can restore
// in place: a caller that decodes many states only to merge them (an
// aggregation's partials, operators' combine.go) then reuses one.
type decodesInto interface {
	decodeInto(b []byte) error
}

// DecodeInto restores the state b encodes (AppendEncode's bytes) into
// acc, an accumulator of f that the caller reuses, and returns it; or, for
// a function whose accumulators cannot be restored in place, a new one
// (Decode). On an error acc is not to be read.
func DecodeInto(f Func, acc Accumulator, b []byte) (Accumulator, error) {
	r, ok := acc.(decodesInto)
	if !ok {
		return f.Decode(b)
	}
	if err := r.decodeInto(b); err != nil {
		return nil, fmt.Errorf("decode %s state: %w", f.Name(), err)
	}
	return acc, nil
}

// resetter is implemented by the accumulators that can be made fresh in
// place: a caller that makes many short-lived accumulators (a combining
// stage's partials, made again after every flush) then reuses them.
type resetter interface {
	reset()
}

// Reuse returns acc, an accumulator of f that the caller is done with,
// in the state f.New() makes; or, for a function whose accumulators
// cannot be reset in place, a new one.
func Reuse(f Func, acc Accumulator) Accumulator {
	if r, ok := acc.(resetter); ok {
		r.reset()
		return acc
	}
	return f.New()
}

// Sequenced is implemented by the accumulators whose result depends on the
// order of rows (LATEST_BY_OFFSET, EARLIEST_BY_OFFSET). AddSeq adds a row
// at an explicit position, e.g. its offset in a single-partition input,
// instead of "after every row so far" as Add does. When both sides of a
// Merge were fed only through AddSeq, the merge orders rows by these
// sequences; otherwise it assumes the other accumulator's rows came after
// this one's.
type Sequenced interface {
	AddSeq(seq uint64, args []types.Value) error
}
