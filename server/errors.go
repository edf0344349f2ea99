package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/runnel/runnel/internal/sqlstate"
)

// Sentinel errors of the server itself. Each has its SQLSTATE in sqlStates.
var (
	// ErrProtocolViolation is a message that is valid on its own but not
	// in this state (a Bind with the wrong number of parameters, ...).
	ErrProtocolViolation = errors.New("server: protocol violation")
	// ErrUnknownStatement is a reference to a prepared statement that
	// does not exist.
	ErrUnknownStatement = errors.New("server: prepared statement does not exist")
	// ErrUnknownPortal is a reference to a portal that does not exist.
	ErrUnknownPortal = errors.New("server: portal does not exist")
	// ErrDuplicateStatement is a Parse naming an existing statement.
	ErrDuplicateStatement = errors.New("server: prepared statement already exists")
	// ErrMultipleStatements is a Parse whose text holds more than one
	// statement.
	ErrMultipleStatements = errors.New("server: cannot insert multiple commands into a prepared statement")
	// ErrUndefinedParameter is a statement with parameters run through
	// the simple query protocol, which has no way to bind them.
	ErrUndefinedParameter = errors.New("server: no value for parameter")
	// ErrInvalidText is a parameter (or a COPY value) whose text cannot
	// be read as its type.
	ErrInvalidText = sqlstate.New(sqlstate.InvalidText, "server: invalid input syntax")
	// ErrInvalidBinary is a parameter whose binary form is malformed.
	ErrInvalidBinary = sqlstate.New(sqlstate.InvalidBinary, "server: invalid binary representation")
	// ErrOutOfRange is a parameter that does not fit its type.
	ErrOutOfRange = sqlstate.New(sqlstate.NumericOutOfRange, "server: value out of range")
	// ErrResultTypeChanged is the execution of a prepared statement (or
	// portal) whose result columns are no longer those described when it
	// was prepared. PostgreSQL's code and message: drivers that cache
	// prepared statements (pgx, JDBC) drop the statement on it, and a
	// retry prepares it again.
	ErrResultTypeChanged = sqlstate.New(sqlstate.FeatureNotSupported, "cached plan must not change result type")
	// ErrFeatureNotSupported is a protocol feature the server lacks
	// (COPY, function calls).
	ErrFeatureNotSupported = errors.New("server: feature not supported")
	// ErrCannotEncode is a result value that cannot be sent as its
	// column's type.
	ErrCannotEncode = errors.New("server: cannot encode value")
)

// sqlStates maps sentinel errors to SQLSTATE codes, checked in order with
// errors.Is. The first match wins, so put specific sentinels first.
var sqlStates = []struct {
	err  error
	code sqlstate.Code
}{
	{context.Canceled, sqlstate.QueryCanceled},
	{context.DeadlineExceeded, sqlstate.QueryCanceled},
	{ErrProtocolViolation, sqlstate.ProtocolViolation},
	{ErrUnknownStatement, sqlstate.InvalidSQLStatement},
	{ErrUnknownPortal, sqlstate.InvalidCursorName},
	{ErrDuplicateStatement, sqlstate.DuplicatePreparedStatement},
	{ErrMultipleStatements, sqlstate.Syntax},
	{ErrUndefinedParameter, sqlstate.UndefinedParameter},
	{ErrInvalidText, sqlstate.InvalidText},
	{ErrInvalidBinary, sqlstate.InvalidBinary},
	{ErrOutOfRange, sqlstate.NumericOutOfRange},
	{ErrFeatureNotSupported, sqlstate.FeatureNotSupported},
	{ErrCannotEncode, sqlstate.Internal},
}

// messages overrides the text sent for some sentinels, PostgreSQL's words
// where clients and people expect them.
var messages = map[error]string{
	context.Canceled:         "canceling statement due to user request",
	context.DeadlineExceeded: "canceling statement due to statement timeout",
}

// ErrorResponse maps err to the ErrorResponse a client receives: the
// SQLSTATE of the first matching sentinel in the table, else the code of
// an error in the chain implementing SQLState() string, else XX000; the
// Position (1-based, in characters) of an error in the chain implementing
// Position() int, when positive; the Where (psql's CONTEXT line) and Hint
// of errors implementing Where() string and Hint() string.
func ErrorResponse(err error) *pgproto3.ErrorResponse {
	resp := &pgproto3.ErrorResponse{
		Severity:            "ERROR",
		SeverityUnlocalized: "ERROR",
		Code:                string(sqlstate.Internal),
		Message:             err.Error(),
	}
	found := false
	for _, e := range sqlStates {
		if errors.Is(err, e.err) {
			resp.Code = string(e.code)
			if m, ok := messages[e.err]; ok {
				resp.Message = m
			}
			found = true
			break
		}
	}
	if !found {
		var s interface{ SQLState() string }
		if errors.As(err, &s) {
			if code := s.SQLState(); len(code) == 5 {
				resp.Code = code
			}
		}
	}
	var p interface{ Position() int }
	if errors.As(err, &p) {
		if pos := p.Position(); pos > 0 {
			resp.Position = int32(pos)
		}
	}
	var w interface{ Where() string }
	if errors.As(err, &w) {
		resp.Where = w.Where()
	}
	var h interface{ Hint() string }
	if errors.As(err, &h) {
		resp.Hint = h.Hint()
	}
	return resp
}

// valueError wraps a sentinel with the detail of one bad value. A coded
// sentinel's message is the detail alone, as PostgreSQL words it
// (invalid input syntax for type BIGINT: "abc").
func valueError(sentinel error, format string, args ...any) error {
	if se, ok := sentinel.(*sqlstate.Error); ok {
		return se.Errorf(format, args...)
	}
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}
