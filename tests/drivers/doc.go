// Package drivers runs one scenario from every PostgreSQL client Runnel
// promises to work with: psql, pgx (its default extended-protocol mode and
// its simple-protocol mode), lib/pq through database/sql, psycopg2,
// node-postgres and pgjdbc, each against a real server started by the
// test.
//
// The scenario, the same in every client:
//
//	create stream      CREATE STREAM <p>_views (...)
//	insert with        three INSERTs with the driver's parameters
//	  parameters
//	create table as    CREATE TABLE <p>_counts AS SELECT ... GROUP BY
//	  select
//	pull query with    SELECT n FROM <p>_counts WHERE userid = <param>
//	  a parameter
//	push query         EMIT CHANGES read through a cursor (DECLARE/FETCH,
//	  through a cursor   a portal with a row limit, or a named cursor)
//	cancel             a push query without LIMIT, ended by the driver's
//	                     cancel request: 57014
//	transactions       a rolled-back and a committed INSERT
//	copy in and out    COPY FROM STDIN, COPY (SELECT ...) TO STDOUT
//	metadata           list tables and columns: psql's \dt and \d,
//	                     pgjdbc's getTables/getColumns, information_schema
//
// The scripts (psql/, python/, node/, java/) print "ok <step>" per step.
// The clients are installed by `make deps` (Debian's postgresql-client,
// python3-psycopg2, libpostgresql-jdbc-java and a JDK, and node-postgres
// from npm into node/node_modules); a missing one fails the test, naming
// `make deps`, never skips it.
package drivers
