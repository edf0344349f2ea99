// Package slt runs sqllogictest files (.slt) against a server that speaks
// PostgreSQL's wire protocol: Runnel's, in process or running elsewhere, or
// PostgreSQL itself.
//
// The package is kept in three parts, as dolthub/sqllogictest's logictest is:
//
//	parser.go  .slt text -> []*Record (record.go), with each record's line
//	runner.go  records -> executions over one pgx connection per file
//	judge.go   an execution -> pass, or a failure message
//
// with render.go (values as text, sorting, the two result layouts), hash.go
// (the C sqllogictest's MD5 of a result), rewrite.go (-rewrite: replacing
// expected results in place) and testing.go (RunFiles, the -slt.rewrite
// test flag). README.md describes the dialect.
//
// The package knows nothing of Runnel's engine or server: it takes a
// function that opens a connection, and never starts a server itself.
package slt
