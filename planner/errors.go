package planner

import "github.com/runnel/runnel/internal/sqlstate"

// The planner's sentinels. Every error it returns wraps one of them and so
// carries its SQLSTATE; callers may test with errors.Is.
var (
	ErrUnsupported      = sqlstate.New(sqlstate.FeatureNotSupported, "not supported")
	ErrSyntax           = sqlstate.New(sqlstate.Syntax, "syntax error")
	ErrUnknownSource    = sqlstate.New(sqlstate.UndefinedTable, "unknown stream or table")
	ErrUnknownColumn    = sqlstate.New(sqlstate.UndefinedColumn, "unknown column")
	ErrDuplicateColumn  = sqlstate.New(sqlstate.DuplicateColumn, "duplicate column")
	ErrAmbiguousColumn  = sqlstate.New(sqlstate.AmbiguousColumn, "ambiguous column")
	ErrTypeMismatch     = sqlstate.New(sqlstate.DatatypeMismatch, "type mismatch")
	ErrInvalidColumnRef = sqlstate.New(sqlstate.InvalidColumnRef, "invalid column reference")
	ErrGrouping         = sqlstate.New(sqlstate.Grouping, "grouping error")
	ErrInvalidProperty  = sqlstate.New(sqlstate.InvalidParameter, "invalid property")
	ErrWrongObjectType  = sqlstate.New(sqlstate.WrongObjectType, "wrong object type")
	ErrReservedName     = sqlstate.New(sqlstate.ReservedName, "reserved name")
	ErrInvalidTableDef  = sqlstate.New(sqlstate.InvalidTableDef, "invalid table definition")
	ErrUnknownFunction  = sqlstate.New(sqlstate.UndefinedFunction, "unknown function")
	// ErrUpgrade refuses a CREATE OR REPLACE whose new schema would break
	// the old one's readers and writers.
	ErrUpgrade = sqlstate.New(sqlstate.FeatureNotSupported, "incompatible upgrade")
)
