package expr

import (
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/runnel/runnel/internal/sqlstate"
)

// Error is the one coded-error type (internal/sqlstate's): binding errors
// are of class 42 (syntax error or access rule violation), evaluation
// errors of class 22 (data exception). The sentinels below are *Error
// values; errors returned by this package wrap one of them, so
// errors.Is(err, ErrDivisionByZero) works and errors.As(err, &e) yields
// the code.
type Error = sqlstate.Error

// The sentinels, one per SQLSTATE this package reports.
var (
	ErrUnknownColumn   = sqlstate.New(sqlstate.UndefinedColumn, "expr: unknown column")
	ErrAmbiguousColumn = sqlstate.New(sqlstate.AmbiguousColumn, "expr: ambiguous column")
	ErrUnknownFunction = sqlstate.New(sqlstate.UndefinedFunction, "expr: unknown function")
	ErrTypeMismatch    = sqlstate.New(sqlstate.DatatypeMismatch, "expr: type mismatch")
	ErrAggregate       = sqlstate.New(sqlstate.Grouping, "expr: aggregate not allowed here")
	ErrUnsupported     = sqlstate.New(sqlstate.FeatureNotSupported, "expr: not supported")
	ErrUndefinedParam  = sqlstate.New(sqlstate.UndefinedParameter, "expr: undefined parameter")
	ErrDivisionByZero  = sqlstate.New(sqlstate.DivisionByZero, "expr: division by zero")
	ErrInvalidText     = sqlstate.New(sqlstate.InvalidText, "expr: invalid text representation")
	ErrOutOfRange      = sqlstate.New(sqlstate.NumericOutOfRange, "expr: numeric value out of range")
	ErrInvalidArgument = sqlstate.New(sqlstate.InvalidParameter, "expr: invalid argument value")
	ErrInvalidRegex    = sqlstate.New(sqlstate.InvalidRegex, "expr: invalid regular expression")
	ErrInvalidEscape   = sqlstate.New(sqlstate.InvalidEscape, "expr: invalid escape sequence")
	ErrInvalidDatetime = sqlstate.New(sqlstate.InvalidDatetime, "expr: invalid datetime format")
	// ErrLambda: a lambda that cannot be bound (its arguments' number, a
	// name taken by a column or an enclosing lambda). SQLSTATE 42P10
	// (invalid_column_reference): a lambda's arguments are names.
	ErrLambda = sqlstate.New(sqlstate.InvalidColumnRef, "expr: invalid lambda")
)

// errorf returns an error wrapping sentinel with a formatted message.
func errorf(sentinel *Error, format string, args ...any) error {
	return sentinel.Errorf(format, args...)
}

// Errorf returns an error with its own message that wraps sentinel (and so
// carries its SQLSTATE), for Scope implementations and other callers that
// report this package's errors.
func Errorf(sentinel *Error, format string, args ...any) error {
	return errorf(sentinel, format, args...)
}

// SQLState returns the SQLSTATE of an error (found with errors.As through
// any wrapping), or "" when it carries none.
func SQLState(err error) string { return string(sqlstate.Of(err)) }

// NodeError is an error about one node of the tree being bound — a column
// or a STRUCT field that does not exist — which Node names, so that a
// caller that knows where the statement's nodes are (sql.Query.Pos) can
// say where it is. Its message and SQLSTATE are Err's.
type NodeError struct {
	Node ast.Node
	Err  error
}

func (e *NodeError) Error() string { return e.Err.Error() }

// Unwrap returns Err: errors.Is and errors.As see through a NodeError.
func (e *NodeError) Unwrap() error { return e.Err }

// SQLState is Err's.
func (e *NodeError) SQLState() string { return string(sqlstate.Of(e.Err)) }

// atNode returns err about node n.
func atNode(n ast.Node, err error) error { return &NodeError{Node: n, Err: err} }
