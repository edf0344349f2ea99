package expr

import (
	"errors"
	"fmt"
)

// Error is an error with a PostgreSQL SQLSTATE code. Binding errors are of
// class 42 (syntax error or access rule violation); evaluation errors of
// class 22 (data exception). The sentinels below are *Error values; errors
// returned by this package wrap one of them, so errors.Is(err,
// ErrDivisionByZero) works and errors.As(err, &e) yields the code.
type Error struct {
	Code, Msg string
}

func (e *Error) Error() string { return e.Msg }

// SQLState returns the SQLSTATE code, e.g. "42703".
func (e *Error) SQLState() string { return e.Code }

// The sentinels, one per SQLSTATE this package reports.
var (
	ErrUnknownColumn   = &Error{Code: "42703", Msg: "expr: unknown column"}
	ErrAmbiguousColumn = &Error{Code: "42702", Msg: "expr: ambiguous column"}
	ErrUnknownFunction = &Error{Code: "42883", Msg: "expr: unknown function"}
	ErrTypeMismatch    = &Error{Code: "42804", Msg: "expr: type mismatch"}
	ErrAggregate       = &Error{Code: "42803", Msg: "expr: aggregate not allowed here"}
	ErrUnsupported     = &Error{Code: "0A000", Msg: "expr: not supported"}
	ErrUndefinedParam  = &Error{Code: "42P02", Msg: "expr: undefined parameter"}
	ErrDivisionByZero  = &Error{Code: "22012", Msg: "expr: division by zero"}
	ErrInvalidText     = &Error{Code: "22P02", Msg: "expr: invalid text representation"}
	ErrOutOfRange      = &Error{Code: "22003", Msg: "expr: numeric value out of range"}
	ErrInvalidArgument = &Error{Code: "22023", Msg: "expr: invalid argument value"}
	ErrInvalidRegex    = &Error{Code: "2201B", Msg: "expr: invalid regular expression"}
	ErrInvalidEscape   = &Error{Code: "22025", Msg: "expr: invalid escape sequence"}
	ErrInvalidDatetime = &Error{Code: "22007", Msg: "expr: invalid datetime format"}
)

// codedError is an error carrying its own message and the sentinel it
// belongs to.
type codedError struct {
	sentinel *Error
	msg      string
}

func (e *codedError) Error() string { return e.msg }

// Unwrap returns the sentinel, for errors.Is.
func (e *codedError) Unwrap() error { return e.sentinel }

// SQLState returns the sentinel's code.
func (e *codedError) SQLState() string { return e.sentinel.Code }

// errorf returns an error wrapping sentinel with a formatted message.
func errorf(sentinel *Error, format string, args ...any) error {
	return &codedError{sentinel: sentinel, msg: fmt.Sprintf(format, args...)}
}

// Errorf returns an error with its own message that wraps sentinel (and so
// carries its SQLSTATE), for Scope implementations and other callers that
// report this package's errors.
func Errorf(sentinel *Error, format string, args ...any) error {
	return errorf(sentinel, format, args...)
}

// SQLState returns the SQLSTATE of an error from this package (found with
// errors.As through any wrapping), or "" when it carries none.
func SQLState(err error) string {
	var s interface{ SQLState() string }
	if errors.As(err, &s) {
		return s.SQLState()
	}
	return ""
}
