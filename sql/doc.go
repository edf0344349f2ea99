// Package sql is Runnel's front end: it turns statement text in ksqlDB's
// dialect into the AST of ast.go. It owns the dialect's syntax and
// nothing else: it never looks at the catalog, binds a name or checks a
// type (the planner does), and knows nothing of pgwire or the log.
//
// The pipeline for one Parse call:
//
//	text ──lex──▶ tokens ──split on top-level ';'──▶ statements
//	  statement ──our grammar──▶ CREATE / DROP / SHOW / ... AST
//	  query     ──lift WINDOW, PARTITION BY, EMIT──▶ remaining tokens
//	            ──rewrite (RUNNEL_* calls, identifier case, quoting)──▶ text
//	            ──TiDB parser (ANSI_QUOTES|PIPES_AS_CONCAT|NO_BACKSLASH_ESCAPES)──▶ *ast.SelectStmt
//
// The lexer (lexer.go) understands strings, quoted identifiers and
// comments, so nothing inside them is ever mistaken for structure; every
// later step works on tokens, never on raw text. Commands without
// expressions (commands.go, ddl.go, stmts.go's PAUSE, RESUME, ALTER and
// the ksqlDB statements read only to be refused, and PostgreSQL's
// transaction, cursor and COPY statements in session.go, cursor.go and
// copy.go) are parsed by
// a small recursive-descent parser; SELECT and the VALUES of INSERT go through TiDB's parser after
// rewrite.go has spelled the syntax TiDB lacks as function calls (see the
// conventions on Query) and upper-cased unquoted identifiers, so that
// TiDB's CIStr.O holds ksqlDB's canonical name.
//
// Names TiDB reserves but ksqlDB users give to columns (KEY, WINDOW,
// PARTITION, ROWS, RANGE, ...) are quoted by the rewrite wherever they are
// not followed by '('. Words that are keywords of ksqlDB's own SELECT
// grammar (SELECT, FROM, WHERE, GROUP, AND, ...) must be quoted by the user
// to be used as names, as in ksqlDB.
//
// Two things a statement's text may name that only its runner knows are
// resolved through Options, never by reading the catalog: custom types
// (CREATE TYPE), which Options.Types resolves wherever a type is written
// and which StoredText spells out in the text a persistent query is
// recorded with (customtypes.go); and session variables (DEFINE), ${name}:
// a statement that references one is returned unparsed, an
// *Unsubstituted, which its runner substitutes (Substitute) and parses
// when its turn comes (variables.go).
//
// Errors: every error is a *SyntaxError (SQLSTATE 42601) whose Pos is a
// 1-based character offset into the text given to Parse. The rewrite keeps
// a map from each byte of the text handed to TiDB back to the original, so
// TiDB's errors point at the user's token too. The same map places the
// nodes of a parsed query: Query.Pos says where a node is written, in the
// same convention, so that a later room's error about it can say where
// (positions.go).
//
// Limits (limits.go): a text of more than MaxTokens tokens or a statement
// nested more than MaxExprDepth levels fails with 54001, an identifier of
// more than MaxIdentifierLength characters with 42622, each checked before
// the work it protects, so that no statement costs more than memory in
// proportion to its length or stack in proportion to the depth limit.
// Chains of AND and of OR are balanced right after TiDB parses them, so a
// WHERE of 100,000 ORed terms is some 17 levels deep, not 100,000.
package sql
