package agg

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error Resolve, Add, Retract, Merge and Decode
// return wraps one of these (or ErrNotRetractable) inside an *Error, so
// callers can test with errors.Is and map to SQLSTATE with SQLState.
var (
	// ErrUnknownFunction: no aggregate of that name (SQLSTATE 42883).
	ErrUnknownFunction = errors.New("agg: unknown aggregate function")
	// ErrBadArguments: the aggregate exists but not for these argument
	// types or this number of arguments (SQLSTATE 42883).
	ErrBadArguments = errors.New("agg: no aggregate variant for these arguments")
	// ErrBadConstant: a constant argument such as TOPK's k is out of range
	// (SQLSTATE 22023).
	ErrBadConstant = errors.New("agg: invalid constant argument")
	// ErrUnsupported: a valid but unsupported form, e.g. DISTINCT on an
	// aggregate where it means nothing (SQLSTATE 0A000).
	ErrUnsupported = errors.New("agg: unsupported aggregate form")
	// ErrOverflow: a SUM left its type's range; the row was not added
	// (SQLSTATE 22003).
	ErrOverflow = errors.New("agg: numeric value out of range")
	// ErrCorrupt: Decode was given bytes AppendEncode did not produce
	// (SQLSTATE XX001).
	ErrCorrupt = errors.New("agg: corrupt accumulator encoding")
	// ErrMismatch: Merge was given an accumulator of another Func, or
	// Retract a row that was never added (SQLSTATE XX000): both are bugs
	// of the caller.
	ErrMismatch = errors.New("agg: accumulator misuse")
)

// Error is an aggregate error with a SQLSTATE. It wraps one of the
// package's sentinels.
type Error struct {
	// Code is the SQLSTATE.
	Code string
	// Msg is the human-readable detail.
	Msg string
	err error
}

func (e *Error) Error() string { return e.err.Error() + ": " + e.Msg }

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.err }

// SQLState returns the five-character SQLSTATE for clients.
func (e *Error) SQLState() string { return e.Code }

var sqlStates = map[error]string{
	ErrUnknownFunction: "42883",
	ErrBadArguments:    "42883",
	ErrBadConstant:     "22023",
	ErrUnsupported:     "0A000",
	ErrOverflow:        "22003",
	ErrCorrupt:         "XX001",
	ErrMismatch:        "XX000",
	ErrNotRetractable:  "0A000",
}

func newError(sentinel error, format string, args ...any) *Error {
	return &Error{Code: sqlStates[sentinel], Msg: fmt.Sprintf(format, args...), err: sentinel}
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
