// Package agg implements ksqlDB's aggregate functions as accumulators that
// can be encoded into a state store, retracted (for aggregations over
// tables) and merged (for session windows).
//
// It knows nothing of tasks, stores or windows: the aggregate operator owns
// the accumulators and decides when to add, retract, merge and encode.
package agg

import (
	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/sql/types"
)

// Func is one aggregate function resolved for its argument types, e.g.
// SUM over BIGINT or TOPK(x, 3) over DOUBLE. It is immutable and shared by
// every task of a query.
type Func interface {
	// Name is the function's name, upper-case.
	Name() string
	// ResultType is the type of Result.
	ResultType() types.Type
	// New returns an empty accumulator: the state of a group that has seen
	// no rows. Its Result is the aggregate of no rows (0 for COUNT, NULL
	// for SUM/MIN/MAX/..., an empty array for COLLECT_LIST).
	New() Accumulator
	// Decode restores an accumulator from AppendEncode's bytes.
	Decode(b []byte) (Accumulator, error)
	// Retractable reports whether Retract is supported (needed to
	// aggregate a table, whose updated and deleted rows are retracted).
	Retractable() bool
}

// Accumulator is the running state of one aggregate for one group. It is
// used by one goroutine at a time.
type Accumulator interface {
	// Add folds one row's arguments in (args are the values of the call's
	// non-constant arguments, in order; COUNT(*) gets none). NULL arguments
	// are ignored as SQL requires (COUNT(*) counts every row).
	Add(args []types.Value) error
	// Retract removes a row previously added. ErrNotRetractable if the
	// function cannot.
	Retract(args []types.Value) error
	// Merge folds another accumulator of the same Func in (session
	// windows merging).
	Merge(other Accumulator) error
	// Result is the aggregate's current value.
	Result() types.Value
	// AppendEncode appends a self-contained encoding of the state to dst.
	AppendEncode(dst []byte) []byte
}

// ErrNotRetractable is returned by Retract of functions that cannot undo.
var ErrNotRetractable = sqlstate.New(sqlstate.FeatureNotSupported, "agg: aggregate cannot be retracted")
