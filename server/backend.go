package server

import (
	"context"

	"github.com/runnel/runnel/sql/types"
)

// Backend executes SQL for the server. The engine implements it; the server
// knows nothing else of what lies behind it.
type Backend interface {
	// NewSession starts a session for one client connection. params are the
	// startup parameters (user, database, application_name, ...).
	NewSession(params map[string]string) Session
}

// Session is one client's SQL session: its settings (SET/UNSET) live here.
// A Session is used by one connection goroutine at a time.
type Session interface {
	// Prepare parses text into its statements, in order, and binds each
	// far enough to describe its parameters and result columns. Text with
	// no statement (only spaces, comments or semicolons) yields none.
	Prepare(ctx context.Context, text string) ([]Statement, error)
	// Close releases the session's resources.
	Close()
}

// Statement is a parsed and described statement, ready to run any number of
// times.
type Statement interface {
	// Params are the types of $1, $2, ...; empty when there are none.
	Params() []types.Type
	// Columns describe the rows Execute returns; nil for a statement that
	// returns no rows.
	Columns() []types.Column
	// Execute runs the statement with bound parameters. ctx is cancelled
	// when the client sends a CancelRequest or goes away.
	Execute(ctx context.Context, args []types.Value) (Result, error)
}

// Result is what a statement produced.
type Result struct {
	// Tag is the CommandComplete tag ("CREATE STREAM", "INSERT 0 1").
	// For statements with rows it is the verb alone ("SELECT"); the server
	// appends the row count.
	Tag string
	// Rows streams the result rows; nil for statements without rows.
	Rows RowIter
	// Notices are informational messages sent before the rows.
	Notices []string
}

// RowIter streams rows as they are produced. Its owner must Close it.
type RowIter interface {
	// Next blocks until the next row is ready and returns it. It returns
	// io.EOF when the rows end (LIMIT reached, finite result done) and
	// ctx.Err() when ctx is done. The row is the caller's to keep.
	Next(ctx context.Context) (types.Row, error)
	// Close stops the producer and releases it.
	Close()
}
