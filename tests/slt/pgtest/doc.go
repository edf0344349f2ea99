// Package pgtest starts a throwaway PostgreSQL server for a test: a fresh
// cluster in t.TempDir(), reached only through a unix socket in that
// directory (no TCP port, so parallel tests never collide), stopped in
// t.Cleanup. It lets the slt runner, and anything else that speaks pgwire,
// be checked against the real thing.
//
// When the server binaries are missing the test fails (never skips) with a
// message saying what to install: the Debian/Ubuntu package "postgresql",
// or any directory holding initdb and postgres named by RUNNEL_PG_BINDIR.
//
// As root, initdb and postgres refuse to run, so they run as the
// "postgres" user (or "nobody" when there is none), and the temporary
// directory is handed to that user.
package pgtest
