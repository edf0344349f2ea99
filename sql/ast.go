package sql

import (
	"time"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/runnel/runnel/sql/types"
)

// Statement is one parsed statement of Runnel's dialect.
type Statement interface {
	// Text is the statement's own source text, without the trailing ';'.
	Text() string
	statement()
}

// SourceKind tells a stream from a table.
type SourceKind int

const (
	Stream SourceKind = iota
	Table
)

func (k SourceKind) String() string {
	if k == Table {
		return "TABLE"
	}
	return "STREAM"
}

// ColumnDef is a column in CREATE STREAM|TABLE.
type ColumnDef struct {
	// Name is canonical: upper-cased unless it was quoted.
	Name string
	Type types.Type
	// Key is set for KEY (streams) and PRIMARY KEY (tables).
	Key bool
}

// CreateSource is CREATE [OR REPLACE] STREAM|TABLE [IF NOT EXISTS] name
// [(columns)] [WITH (props)] [AS query].
type CreateSource struct {
	text        string
	Kind        SourceKind
	Name        string
	OrReplace   bool
	IfNotExists bool
	// Columns is empty for CREATE ... AS SELECT.
	Columns []ColumnDef
	// With holds the WITH properties: keys upper-cased, values unquoted
	// ('pageviews' → pageviews; 4 → "4").
	With map[string]string
	// Query is set for CREATE ... AS SELECT.
	Query *Query
}

// EmitMode is the EMIT clause of a query.
type EmitMode int

const (
	// EmitNone: no EMIT clause (a pull query, or a persistent query that
	// omitted it).
	EmitNone EmitMode = iota
	EmitChanges
	EmitFinal
)

// WindowKind is the kind of a WINDOW clause.
type WindowKind int

const (
	Tumbling WindowKind = iota + 1
	Hopping
	Session
)

// Window is a WINDOW TUMBLING|HOPPING|SESSION (...) clause.
type Window struct {
	Kind WindowKind
	// Size is the window size (TUMBLING, HOPPING) or the inactivity gap
	// (SESSION).
	Size time.Duration
	// Advance is HOPPING's ADVANCE BY.
	Advance time.Duration
	// Retention and Grace are zero when absent; HasGrace tells an explicit
	// GRACE PERIOD 0 from none.
	Retention time.Duration
	Grace     time.Duration
	HasGrace  bool
}

// Query is a SELECT with Runnel's streaming clauses lifted out of it.
//
// Select is the TiDB AST of the SELECT with the WINDOW, PARTITION BY and EMIT
// clauses removed; its FROM, WHERE, GROUP BY, HAVING, ORDER BY and LIMIT are
// TiDB's. Expressions everywhere (Select, PartitionBy, Insert rows) follow
// these conventions, because TiDB's grammar lacks the syntax:
//
//	a->b           RUNNEL_FIELD(a, 'B')        struct field access
//	a[i]           RUNNEL_INDEX(a, i)          array index / map lookup
//	CAST(x AS T)   RUNNEL_CAST(x, 'T')         T in ParseType's syntax
//	$n             RUNNEL_PARAM(n)             bind parameter n (1-based)
//	ARRAY[a, b]    RUNNEL_ARRAY(a, b)
//	MAP(k := v)    RUNNEL_MAP(k, v, ...)
//	STRUCT(F := v) RUNNEL_STRUCT('F', v, ...)
//
// and a join clause's parts that TiDB lacks are folded into its ON
// condition as leading AND terms (within.go):
//
//	a FULL [OUTER] JOIN b ON c           a LEFT JOIN b ON RUNNEL_FULL_JOIN() AND (c)
//	a JOIN b WITHIN (x, y) GRACE PERIOD g ON c
//	                                     a JOIN b ON RUNNEL_WITHIN(x_ms, y_ms, g_ms) AND (c)
//
// Identifiers are canonical: unquoted ones are upper-cased (so TiDB's
// CIStr.O holds the ksqlDB name), quoted ones keep their case.
type Query struct {
	text        string
	Select      *ast.SelectStmt
	Window      *Window
	PartitionBy []ast.ExprNode
	Emit        EmitMode
}

// Text is the query's source text.
func (q *Query) Text() string { return q.text }

// Select is a query run for its rows: a push query (EMIT CHANGES) or a
// pull query (no EMIT).
type Select struct {
	Query *Query
}

// Insert is INSERT INTO target [(columns)] VALUES (...), ... or
// INSERT INTO target SELECT ... (a persistent query).
type Insert struct {
	text    string
	Target  string
	Columns []string
	// Rows are the VALUES rows; nil when Query is set.
	Rows [][]ast.ExprNode
	// Query is set for INSERT INTO ... SELECT.
	Query *Query
}

// ShowKind is what SHOW lists.
type ShowKind int

const (
	ShowStreams ShowKind = iota + 1
	ShowTables
	ShowQueries
	ShowTopics
	ShowProperties
	ShowFunctions
)

// Show is SHOW|LIST STREAMS|TABLES|QUERIES|TOPICS|PROPERTIES|FUNCTIONS
// [EXTENDED].
type Show struct {
	text     string
	What     ShowKind
	Extended bool
}

// Describe is DESCRIBE [EXTENDED] name, or DESCRIBE FUNCTION name.
type Describe struct {
	text     string
	Name     string
	Extended bool
	Function bool
}

// Drop is DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC].
type Drop struct {
	text        string
	Kind        SourceKind
	Name        string
	IfExists    bool
	DeleteTopic bool
}

// Terminate is TERMINATE query_id | ALL.
type Terminate struct {
	text    string
	QueryID string
	All     bool
}

// Set is SET 'name' = 'value'.
type Set struct {
	text        string
	Name, Value string
}

// Unset is UNSET 'name', or PostgreSQL's RESET name | RESET ALL (All).
type Unset struct {
	text string
	Name string
	All  bool
}

// ShowVariable is PostgreSQL's SHOW name: a session or server setting, as
// drivers ask for them (SHOW server_version, SHOW TRANSACTION ISOLATION
// LEVEL). Name is lower-case, words joined by single spaces.
type ShowVariable struct {
	text string
	Name string
}

// Transaction is BEGIN, START TRANSACTION, COMMIT, END, ROLLBACK or ABORT.
// Runnel has no transactions across statements; drivers send these
// around ordinary statements, so they are accepted as no-ops. Verb is the
// CommandComplete tag: BEGIN, COMMIT or ROLLBACK.
type Transaction struct {
	text string
	Verb string
}

// Print is PRINT 'topic'|topic [FROM BEGINNING] [INTERVAL n] [LIMIT n].
type Print struct {
	text          string
	Topic         string
	FromBeginning bool
	// Interval prints every n-th record; 0 or 1 prints all.
	Interval int64
	// Limit stops after n records; 0 means no limit.
	Limit int64
}

// Explain is EXPLAIN statement, or EXPLAIN query_id.
type Explain struct {
	text string
	// Statement is the explained statement (a query, CREATE ... AS SELECT
	// or INSERT ... SELECT); nil when QueryID is set.
	Statement Statement
	QueryID   string
}

func (s *CreateSource) Text() string { return s.text }
func (s *Select) Text() string       { return s.Query.text }
func (s *Insert) Text() string       { return s.text }
func (s *Show) Text() string         { return s.text }
func (s *Describe) Text() string     { return s.text }
func (s *Drop) Text() string         { return s.text }
func (s *Terminate) Text() string    { return s.text }
func (s *Set) Text() string          { return s.text }
func (s *Unset) Text() string        { return s.text }
func (s *Print) Text() string        { return s.text }
func (s *Explain) Text() string      { return s.text }
func (s *ShowVariable) Text() string { return s.text }
func (s *Transaction) Text() string  { return s.text }

func (*CreateSource) statement() {}
func (*Select) statement()       {}
func (*Insert) statement()       {}
func (*Show) statement()         {}
func (*Describe) statement()     {}
func (*Drop) statement()         {}
func (*Terminate) statement()    {}
func (*Set) statement()          {}
func (*Unset) statement()        {}
func (*Print) statement()        {}
func (*Explain) statement()      {}
func (*ShowVariable) statement() {}
func (*Transaction) statement()  {}
