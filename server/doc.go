// Package server is Runnel's PostgreSQL wire protocol front end, built on
// github.com/jackc/pgx/v5/pgproto3.
//
// It owns connections and sessions: the startup handshake (SSLRequest,
// GSSENCRequest, StartupMessage, BackendKeyData), the simple and extended
// query protocols, CancelRequest, the mapping of Runnel's SQL types to
// PostgreSQL type OIDs with their text and binary encodings, and the
// mapping of errors to SQLSTATE codes (errors.go, the one place that does
// it).
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
package server
