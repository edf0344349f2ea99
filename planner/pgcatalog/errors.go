package pgcatalog

import "github.com/runnel/runnel/internal/sqlstate"

// The package's errors.
var (
	// ErrUnsupported: a construct, function or relation a catalog query
	// may not use here.
	ErrUnsupported = sqlstate.New(sqlstate.FeatureNotSupported, "pgcatalog: not supported")
	// ErrTooLarge: an intermediate result over Env.MaxRows rows, or a
	// query examining more than Env.MaxWork row combinations.
	ErrTooLarge = sqlstate.New(sqlstate.ProgramLimitExceeded, "pgcatalog: query too large")
	// ErrUnknownRelation: a relation that no schema has.
	ErrUnknownRelation = sqlstate.New(sqlstate.UndefinedTable, "pgcatalog: unknown relation")
	// ErrCardinality: a scalar subquery that returned more than one row.
	ErrCardinality = sqlstate.New(sqlstate.CardinalityViolation, "pgcatalog: more than one row")
	// ErrGrouping: an aggregate where none may be.
	ErrGrouping = sqlstate.New(sqlstate.Grouping, "pgcatalog: aggregate not allowed")
	// ErrInvalidRegex: a pattern that does not compile.
	ErrInvalidRegex = sqlstate.New(sqlstate.InvalidRegex, "pgcatalog: invalid regular expression")
	// ErrInvalidText: a value that does not read as its type.
	ErrInvalidText = sqlstate.New(sqlstate.InvalidText, "pgcatalog: invalid text")
)
