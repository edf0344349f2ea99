// Package pgcatalog answers the queries PostgreSQL tools send about a
// database: psql's \d, \dt, \d name, \l, \dn, \du and \df, pgjdbc's
// DatabaseMetaData, and the information_schema queries of other drivers.
// It presents Runnel's streams and tables as PostgreSQL relations in
// virtual tables of pg_catalog and information_schema, built from the
// catalog when a query runs, and evaluates the query over them.
//
// The pipeline for one query:
//
//	sql.Query (TiDB AST; PostgreSQL's syntax spelled by sql/pgsyntax.go)
//	   ──bind (bind.go)──▶ a tree of relations: virtual tables, derived
//	                        tables, table functions, nested-loop joins
//	                        and selects (filter, group, window, project,
//	                        distinct, order, limit), unions
//	   ──run (run.go)──▶ rows, materialized at each step
//
// Expressions are bound by sql/expr's Binder; its Hook lets this package
// bind what only catalog queries have: subqueries (scalar, EXISTS, IN,
// ARRAY(...)), x = ANY(array), regular-expression matches, casts to the
// catalog's types (regclass, oid, ...) and PostgreSQL's catalog functions
// (functions.go), including the session's (version(), current_user, ...).
//
// Why here. The package needs the catalog (what to present) and the SQL
// front end (what to evaluate), which is the planner's position in the
// house; it needs neither the planner's streaming plans nor the operators,
// the log or the wire. tests/layers gives it its own rule to say so.
//
// How Runnel appears (see tables.go): every stream and table is a
// relation of kind 'r' in schema public; pg_description (\dt+, \d+)
// says which it is and over which topic. A name that Runnel folded to
// upper case appears in PostgreSQL's folded form, lower case, so that
// psql's \d pageviews and tools that write unquoted names find it; a
// name with lower-case letters (created quoted) appears as it is. Column
// types are the PostgreSQL types the server sends for them (the mapping
// of server.OID, checked by a test in tests/drivers).
//
// What it refuses. A function, cast or construct it does not implement
// binds to a node that fails with 0A000 when it is evaluated, never to a
// guess: psql's queries over catalogs that are always empty here (row
// security policies, publications, inheritance) then succeed with no
// rows, and a query that would need the missing piece fails clearly.
// Reading a stream or table in a catalog query fails with 0A000 too.
//
// Bounds. The catalog is small, but a query is arbitrary: every
// intermediate result holds at most Env.MaxRows rows, and one query
// examines at most Env.MaxWork row combinations (joins, subqueries,
// sorts); past either it fails with 54000. Memory is then bounded by
// MaxRows times the width of a row.
package pgcatalog
