package agg

import (
	"fmt"

	"github.com/runnel/runnel/internal/sqlstate"
)

// Sentinel errors, with their SQLSTATEs. Every error Resolve, Add,
// Retract, Merge and Decode return wraps one of these (or
// ErrNotRetractable), so callers test with errors.Is and sqlstate.Of
// finds the code through any wrapping.
var (
	// ErrUnknownFunction: no aggregate of that name.
	ErrUnknownFunction = sqlstate.New(sqlstate.UndefinedFunction, "agg: unknown aggregate function")
	// ErrBadArguments: the aggregate exists but not for these argument
	// types or this number of arguments.
	ErrBadArguments = sqlstate.New(sqlstate.UndefinedFunction, "agg: no aggregate variant for these arguments")
	// ErrBadConstant: a constant argument such as TOPK's k is out of
	// range.
	ErrBadConstant = sqlstate.New(sqlstate.InvalidParameter, "agg: invalid constant argument")
	// ErrUnsupported: a valid but unsupported form, e.g. DISTINCT on an
	// aggregate where it means nothing.
	ErrUnsupported = sqlstate.New(sqlstate.FeatureNotSupported, "agg: unsupported aggregate form")
	// ErrOverflow: a SUM left its type's range; the row was not added.
	ErrOverflow = sqlstate.New(sqlstate.NumericOutOfRange, "agg: numeric value out of range")
	// ErrCorrupt: Decode was given bytes AppendEncode did not produce.
	ErrCorrupt = sqlstate.New(sqlstate.DataCorrupted, "agg: corrupt accumulator encoding")
	// ErrMismatch: Merge was given an accumulator of another Func, or
	// Retract a row that was never added: both are bugs of the caller.
	ErrMismatch = sqlstate.New(sqlstate.Internal, "agg: accumulator misuse")
)

// newError returns an error wrapping sentinel, its message the
// sentinel's and then the formatted detail.
func newError(sentinel *sqlstate.Error, format string, args ...any) error {
	return sentinel.Errorf("%s: %s", sentinel.Msg, fmt.Sprintf(format, args...))
}

// errNotRetractable wraps ErrNotRetractable with the function's name.
func errNotRetractable(name string) error {
	return newError(ErrNotRetractable, "%s cannot undo a row; it cannot aggregate a table", name)
}

func errMerge(name string, other Accumulator) error {
	return newError(ErrMismatch, "%s cannot merge an accumulator of type %T", name, other)
}

func errRetractUnknown(name string) error {
	return newError(ErrMismatch, "%s: retracting a row that was never added", name)
}

func errArity(name string, want, got int) error {
	return newError(ErrMismatch, "%s: %d argument values, want %d", name, got, want)
}
