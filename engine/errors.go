package engine

import "github.com/runnel/runnel/internal/sqlstate"

// The engine's sentinels: every error a statement gets from the engine
// itself wraps one of them (or one of txn.go's and cursor.go's), so it
// carries its SQLSTATE as internal/sqlstate's one coded-error type, and
// callers may test with errors.Is.
var (
	errUnknownSource   = sqlstate.New(sqlstate.UndefinedTable, "engine: unknown stream, table or topic")
	errSourceExists    = sqlstate.New(sqlstate.DuplicateTable, "engine: stream or table already exists")
	errWrongObject     = sqlstate.New(sqlstate.WrongObjectType, "engine: wrong kind of object")
	errUnknownColumn   = sqlstate.New(sqlstate.UndefinedColumn, "engine: unknown column")
	errDuplicateColumn = sqlstate.New(sqlstate.DuplicateColumn, "engine: column named twice")
	errSyntax          = sqlstate.New(sqlstate.Syntax, "engine: malformed statement")
	errInvalidValue    = sqlstate.New(sqlstate.InvalidParameter, "engine: invalid value")
	errUnsupported     = sqlstate.New(sqlstate.FeatureNotSupported, "engine: not supported")
	errInUse           = sqlstate.New(sqlstate.DependentObjects, "engine: in use")
	errUnknownObject   = sqlstate.New(sqlstate.UndefinedObject, "engine: unknown object")
	errProtocol        = sqlstate.New(sqlstate.ProtocolViolation, "engine: protocol violation")
	errUnknownFunction = sqlstate.New(sqlstate.UndefinedFunction, "engine: unknown function")
	errCanceled        = sqlstate.New(sqlstate.QueryCanceled, "engine: canceled")
	errNotInState      = sqlstate.New(sqlstate.ObjectNotInState, "engine: not in the required state")
	errNotNull         = sqlstate.New(sqlstate.NotNullViolation, "engine: a value is required")
	errData            = sqlstate.New(sqlstate.DataException, "engine: bad data")
	errTypeExists      = sqlstate.New(sqlstate.DuplicateObject, "engine: type already exists")
)
