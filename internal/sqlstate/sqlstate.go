// Package sqlstate names the PostgreSQL SQLSTATE codes Runnel reports and
// the one coded-error type every room returns them with.
//
// Each room keeps a small catalog of sentinels built with New and returns
// errors that wrap one of them (Errorf, Wrap), so callers test with
// errors.Is and the server only reads the code (Of). This package imports
// nothing of Runnel's and knows nothing of pgwire.
package sqlstate

import (
	"errors"
	"fmt"
)

// Code is a five-character SQLSTATE.
type Code string

// The codes Runnel reports, PostgreSQL's names (Appendix A of its manual).
const (
	SuccessfulCompletion Code = "00000"
	FeatureNotSupported  Code = "0A000"
	InvalidCursorName    Code = "34000"
	InvalidSQLStatement  Code = "26000"

	DataException        Code = "22000"
	StringDataTooLong    Code = "22001"
	NumericOutOfRange    Code = "22003"
	InvalidDatetime      Code = "22007"
	DivisionByZero       Code = "22012"
	InvalidParameter     Code = "22023"
	InvalidEscape        Code = "22025"
	InvalidRegex         Code = "2201B"
	InvalidText          Code = "22P02"
	InvalidBinary        Code = "22P03"
	NotNullViolation     Code = "23502"
	DependentObjects     Code = "2BP01"
	Syntax               Code = "42601"
	InsufficientPriv     Code = "42501"
	Grouping             Code = "42803"
	DatatypeMismatch     Code = "42804"
	UndefinedFunction    Code = "42883"
	UndefinedColumn      Code = "42703"
	AmbiguousColumn      Code = "42702"
	DuplicateColumn      Code = "42701"
	UndefinedTable       Code = "42P01"
	UndefinedParameter   Code = "42P02"
	DuplicateTable       Code = "42P07"
	UndefinedObject      Code = "42704"
	WrongObjectType      Code = "42809"
	ReservedName         Code = "42939"
	NameTooLong          Code = "42622"
	InvalidTableDef      Code = "42P16"
	InvalidColumnRef     Code = "42P10"
	InsufficientResource Code = "53000"
	DiskFull             Code = "53100"
	OutOfMemory          Code = "53200"
	ProgramLimitExceeded Code = "54000"
	StatementTooComplex  Code = "54001"
	QueryCanceled        Code = "57014"
	AdminShutdown        Code = "57P01"
	ObjectInUse          Code = "55006"
	ObjectNotInState     Code = "55000"
	ProtocolViolation    Code = "08P01"
	Internal             Code = "XX000"

	// Transactions, cursors, COPY and connections.
	BadCopyFileFormat       Code = "22P04"
	InvalidCursorState      Code = "24000"
	InvalidTransactionState Code = "25000"
	ActiveSQLTransaction    Code = "25001"
	ReadOnlySQLTransaction  Code = "25006"
	NoActiveSQLTransaction  Code = "25P01"
	InFailedSQLTransaction  Code = "25P02"
	InvalidAuthorization    Code = "28000"
	InvalidPassword         Code = "28P01"
	InvalidSavepoint        Code = "3B001"
	DuplicateCursor         Code = "42P03"
	TooManyConnections      Code = "53300"
	DataCorrupted           Code = "XX001"

	// AssertFailure is a failed ASSERT (ksqlDB's ASSERT TOPIC), as
	// PL/pgSQL's ASSERT fails.
	AssertFailure Code = "P0004"
	// DuplicateObject is a second object of a name (CREATE TYPE).
	DuplicateObject Code = "42710"
	// SerializationFailure says "try again": a cluster's pull query
	// whose partition has no caught-up copy now (it is moving).
	SerializationFailure Code = "40001"
	// CardinalityViolation is a scalar subquery of more than one row.
	CardinalityViolation Code = "21000"
	// DuplicatePreparedStatement is a second prepared statement of a
	// name.
	DuplicatePreparedStatement Code = "42P05"

	// Connections between the nodes of a cluster (internal/peer).
	ConnectionException Code = "08000"
	UnableToConnect     Code = "08001"
	CrashShutdown       Code = "57P02"
	CannotConnectNow    Code = "57P03"
)

// Class returns the generic code of c's class, its first two characters
// and "000": ConnectionException for 08001 and 08P01.
func (c Code) Class() Code {
	if len(c) != 5 {
		return ""
	}
	return c[:2] + "000"
}

// Error is an error with a SQLSTATE. A sentinel has no Cause; an error
// built from one (Errorf, Wrap) has the sentinel as its Cause, so
// errors.Is finds the sentinel and the code travels with the message.
type Error struct {
	Code Code
	Msg  string
	// Cause is what errors.Is and errors.As see next: the sentinel this
	// error belongs to, or the lower-level error it wraps.
	Cause error
}

// New returns a sentinel: an Error with code and msg and no cause.
func New(code Code, msg string) *Error { return &Error{Code: code, Msg: msg} }

// Errorf returns an error with a formatted message that carries code.
// When the arguments hold a %w, that error is its Cause.
func Errorf(code Code, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Msg: err.Error(), Cause: errors.Unwrap(err)}
}

// Errorf returns an error with a formatted message that wraps sentinel e,
// and so carries e's code.
func (e *Error) Errorf(format string, args ...any) error {
	return &Error{Code: e.Code, Msg: fmt.Sprintf(format, args...), Cause: e}
}

// Error returns the message.
func (e *Error) Error() string { return e.Msg }

// Unwrap returns the Cause.
func (e *Error) Unwrap() error { return e.Cause }

// SQLState returns the code as a string, the method the server reads.
func (e *Error) SQLState() string { return string(e.Code) }

// Of returns the SQLSTATE of the first error in err's chain that carries
// one (an *Error or anything with a SQLState() string method), or "" when
// none does.
func Of(err error) Code {
	var s interface{ SQLState() string }
	if errors.As(err, &s) {
		return Code(s.SQLState())
	}
	return ""
}
