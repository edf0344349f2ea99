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

// BackendPIDParam is the key of NewSession's params that holds the
// process id the client was given in BackendKeyData (what PostgreSQL's
// pg_backend_pid() returns), in decimal.
const BackendPIDParam = "runnel.backend_pid"

// Session is one client's SQL session: its settings (SET/UNSET), its
// transaction and its cursors live here. A Session is used by one
// connection goroutine at a time (the pump goroutines of doc.go only call
// RowIter.Next).
//
// Transactions. The server keeps the protocol's side of PostgreSQL's
// transactions and the session the rest: the session's statements (BEGIN,
// COMMIT, ROLLBACK, ...) move it between its TxStatus values, and the
// server tells it where implicit transactions end (Sync) and when
// anything failed (Fail). A statement outside a transaction block runs
// in an implicit transaction that lasts until the end of its simple
// Query message, or until the next Sync message of the extended protocol
// (so a pipeline of several Executes before one Sync is one transaction,
// as in PostgreSQL).
type Session interface {
	// Prepare parses text into its statements, in order, and binds each
	// far enough to describe its parameters and result columns. Text with
	// no statement (only spaces, comments or semicolons) yields none.
	Prepare(ctx context.Context, text string) ([]Statement, error)
	// TxStatus is the transaction status ReadyForQuery reports. The
	// server reads it at every ReadyForQuery and after every statement:
	// when it turns from TxInBlock or TxFailed to TxIdle (a COMMIT or
	// ROLLBACK ran), the transaction's other portals are closed, as they
	// are at a Sync that leaves it TxIdle.
	TxStatus() TxStatus
	// Fail tells the session that a statement or a protocol message
	// failed, after its ErrorResponse was sent: the transaction, implicit
	// or in a block, is aborted. In a block the session reports TxFailed
	// until ROLLBACK.
	Fail()
	// Sync ends the implicit transaction: at the end of every simple
	// Query message (just before the CommandComplete of its last
	// statement when that one succeeds, so that a failure to commit is
	// that statement's error, or after the error otherwise) and at every
	// Sync message. Outside a transaction block it commits what the
	// implicit transaction wrote (nothing once Fail was called); in a
	// block it does nothing. The implicit transaction is over either
	// way: its error is sent as an ErrorResponse, not followed by Fail.
	Sync(ctx context.Context) error
	// Close releases the session's resources: its transaction is rolled
	// back and its cursors closed.
	Close()
}

// TxStatus is a session's transaction status, as ReadyForQuery reports
// it.
type TxStatus byte

const (
	// TxIdle: not in a transaction block.
	TxIdle TxStatus = 'I'
	// TxInBlock: in a transaction block (after BEGIN).
	TxInBlock TxStatus = 'T'
	// TxFailed: in a failed transaction block, where statements other
	// than ROLLBACK (and COMMIT, which rolls back) fail with 25P02.
	TxFailed TxStatus = 'E'
)

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
	// appends the row count. For COPY it is "COPY"; the server appends
	// the count of rows sent, or the count CopyIn's Finish returns.
	Tag string
	// Rows streams the result rows; nil for statements without rows.
	Rows RowIter
	// Columns, when set, are the columns Rows hold as the statement was
	// planned again for this execution; nil means Statement.Columns. They
	// differ from Statement.Columns when the catalog changed since the
	// statement was prepared (SELECT * after ALTER STREAM ... ADD
	// COLUMN): the client decodes rows by the columns it was told at
	// Parse/Describe, so the server closes Rows and answers 0A000, as
	// PostgreSQL does for a prepared statement whose result type changed
	// (ErrResultTypeChanged).
	Columns []types.Column
	// Notices are informational messages sent before the rows.
	Notices []string
	// Binary asks for the rows in binary format when the statement runs
	// through the simple query protocol (a FETCH from a BINARY cursor).
	// In the extended protocol, Bind's result formats decide.
	Binary bool
	// CopyOut, when set, makes the statement a COPY ... TO STDOUT: Rows
	// are sent as COPY data in CopyOut's format (CopyOutResponse,
	// CopyData per row, CopyDone), not as DataRows. The statement's
	// Columns are nil (Describe answers NoData, as PostgreSQL does); the
	// rows' columns are CopyOut.Columns. A row limit on Execute does not
	// apply to it.
	CopyOut *CopyOut
	// CopyIn, when set, makes the statement a COPY ... FROM STDIN: the
	// server sends CopyInResponse, reads the client's COPY data, decodes
	// each row by CopyIn.Columns' types and hands it to CopyIn.Sink. Rows
	// must be nil.
	CopyIn *CopyIn
}

// CopyOut describes the rows of a COPY ... TO STDOUT.
type CopyOut struct {
	Format  CopyFormat
	Columns []types.Column
}

// CopyIn describes a COPY ... FROM STDIN.
type CopyIn struct {
	Format CopyFormat
	// Columns are the columns each row of data holds, in order.
	Columns []types.Column
	// Target names what is copied into, for the CONTEXT of errors
	// ("COPY pageviews, line 3, column viewtime: ...").
	Target string
	Sink   CopySink
}

// CopySink receives the rows of one COPY ... FROM STDIN. The connection
// goroutine calls it: Write for each row in order, then exactly one of
// Finish (the client sent CopyDone and every row was written) or Abort
// (anything failed: bad data, CopyFail, a cancel, the client leaving).
type CopySink interface {
	// Write takes one row, a value per CopyIn column; the row is the
	// sink's to keep. An error fails the COPY (it is reported with the
	// row's line) and is followed by Abort.
	Write(ctx context.Context, row types.Row) error
	// Finish makes the COPY's rows durable, or part of the current
	// transaction, and returns their number for the CommandComplete tag.
	// After an error nothing of the COPY is written.
	Finish(ctx context.Context) (int64, error)
	// Abort discards every row written.
	Abort()
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
