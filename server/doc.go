// Package server is Runnel's PostgreSQL wire protocol front end, built on
// github.com/jackc/pgx/v5/pgproto3.
//
// It owns connections and sessions: the startup handshake (SSLRequest,
// GSSENCRequest, StartupMessage, SCRAM-SHA-256 authentication,
// BackendKeyData), the simple and extended query protocols, transaction
// status and the life of portals, COPY in and out, CancelRequest, the
// mapping of Runnel's SQL types to PostgreSQL type OIDs with their text
// and binary encodings, and the mapping of errors to SQLSTATE codes
// (errors.go, the one place that does it).
//
//	client ──bytes──▶ conn (one goroutine) ──text──▶ Backend.Session.Prepare
//	                    ▲                                  │
//	                    └──DataRow◀── encode ◀── RowIter ◀─┘ Statement.Execute
//
// Each connection is served by one goroutine owned by the Server, plus a
// reader goroutine that notices a client going away while a statement runs
// (its context is then cancelled), plus, while rows stream, one pump
// goroutine that pulls rows from the RowIter so the connection goroutine can
// flush exactly when the next row is not ready yet: rows of a push query
// reach the client as they are produced, rows of a large result travel in
// batches.
//
// The package knows nothing of Pebble, Kafka, the catalog or the planner:
// only the Backend contract in backend.go and the types in sql/types.
//
// What the server does with the Backend contract (for the engine's
// author):
//
//   - A simple Query calls Session.Prepare once with the whole text, then
//     Executes the statements in order; the first error is sent and the
//     rest are skipped. A statement that depends on an earlier one of the
//     same text (CREATE STREAM s ...; SELECT * FROM s;) must therefore not
//     fail in Prepare: defer what cannot be bound yet to Execute. A
//     statement with parameters fails there with 42P02. Text with no
//     statement gets EmptyQueryResponse.
//   - Parse calls Prepare with one statement's text; more than one
//     statement is 42601. Params() drives ParameterDescription and how Bind
//     values are decoded (a Params() entry of KindNull is announced as
//     text and decoded by the client's declared OID, else as a STRING).
//   - Columns() nil means "no rows": NoData, no RowDescription,
//     CommandComplete with Result.Tag as is (any Result.Rows is closed
//     unread). Columns() non-nil, even empty, means rows: RowDescription,
//     DataRows, then CommandComplete "<Tag> <n>" (Tag "" reads "SELECT").
//   - Result.Notices are sent as NoticeResponse (severity NOTICE, code
//     00000) right after Execute returns, before any row.
//   - Execute's ctx is cancelled by a CancelRequest for that connection,
//     by the client going away, and by server shutdown. The error that
//     results (wrapping context.Canceled) reaches the client as 57014, or
//     at shutdown as FATAL 57P01, which ends the connection.
//   - A panic in Prepare, Execute or RowIter.Next fails that statement
//     with XX000 (logged with its stack); the session goes on.
//   - A connection that ends on an error sends a FATAL ErrorResponse
//     first (a malformed or oversized message, an unexpected message, a
//     failed handshake, shutdown), then stops writing and drops what the
//     client still sends for a moment, so that the error is not lost to
//     a TCP reset.
//   - RowIter.Next is called from a pump goroutine, not the goroutine that
//     called Execute; Close is called by the connection goroutine once
//     Next has returned for the last time. While an extended-protocol
//     portal is suspended (Execute with a row limit), its Next may run
//     concurrently with Prepare and Execute of other statements of the
//     same Session.
//   - Transactions (see Session): ReadyForQuery reports the session's
//     TxStatus. Every ErrorResponse that does not end the connection is
//     followed by Session.Fail; every simple Query message and every Sync
//     ends with Session.Sync, which commits the implicit transaction (for
//     a Query, just before its last statement's CommandComplete). Portals
//     live until their transaction ends: a Sync outside a block, or the
//     COMMIT or ROLLBACK that turns the status back to TxIdle, closes
//     them. A suspended portal of a failed block refuses to go on (25P02).
//   - COPY (Result.CopyOut, Result.CopyIn): COPY TO streams rows as
//     CopyData in the text, CSV or binary format (copyformat.go), flushed
//     as they come; COPY FROM reads CopyData until CopyDone, decodes each
//     row by its columns' types and hands it to the CopySink, and any
//     failure (bad data, with its line and column in the error's Where;
//     CopyFail; a cancel) aborts the sink so that nothing is written.
//   - Authentication (Options.Credentials) is SCRAM-SHA-256 between the
//     StartupMessage and the session (auth.go); MaxConnections is checked
//     before it.
//   - Values are encoded by column type (OID(t)); a value of another
//     numeric kind is converted (INT into a BIGINT column, ...), a value of
//     an unrelated kind fails the statement with XX000.
//   - Errors become ErrorResponse in errors.go: add sentinel rows there;
//     or implement SQLState() string (and Position() int, 1-based
//     characters) on the engine's error types.
package server
