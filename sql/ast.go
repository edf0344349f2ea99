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

// CreateSource is CREATE [OR REPLACE] [SOURCE] STREAM|TABLE [IF NOT EXISTS]
// name [(columns)] [WITH (props)] [AS query].
type CreateSource struct {
	text        string
	Kind        SourceKind
	Name        string
	OrReplace   bool
	IfNotExists bool
	// Source is CREATE SOURCE STREAM|TABLE: a read-only source (no AS
	// query).
	Source bool
	// Columns is empty for CREATE ... AS SELECT.
	Columns []ColumnDef
	// With holds the WITH properties: keys upper-cased, values unquoted
	// ('pageviews' → pageviews; 4 → "4").
	With map[string]string
	// Query is set for CREATE ... AS SELECT.
	Query *Query
	// stored is the text to record for the statement when it differs
	// from text: custom types spelled out (see StoredText).
	stored string
}

// CreateType is CREATE TYPE [IF NOT EXISTS] name AS type: a name for a
// type, usable wherever a type is written.
type CreateType struct {
	text        string
	Name        string
	Type        types.Type
	IfNotExists bool
}

// DropType is DROP TYPE [IF EXISTS] name.
type DropType struct {
	text     string
	Name     string
	IfExists bool
}

// Define is DEFINE name = 'value': a session variable, which ${name}
// stands for in later statements of the session (see Substitute). Name is
// lower-case: variables are case-insensitive.
type Define struct {
	text  string
	Name  string
	Value string
}

// Undefine is UNDEFINE name.
type Undefine struct {
	text string
	Name string
}

// AssertKind is what an ASSERT statement asserts.
type AssertKind int

const (
	AssertTopic AssertKind = iota + 1
	AssertSchema
)

// Assert is ksqlDB's ASSERT [NOT EXISTS] TOPIC name [WITH (props)]
// [TIMEOUT n unit], or ASSERT [NOT EXISTS] SCHEMA [SUBJECT name] [ID n]
// [TIMEOUT n unit].
type Assert struct {
	text      string
	Kind      AssertKind
	NotExists bool
	// Name is the topic, or the schema's subject ("" when not given).
	Name string
	// With holds the WITH properties of ASSERT TOPIC, as CreateSource's.
	With map[string]string
	// ID is the schema id, when HasID.
	ID    int64
	HasID bool
	// Timeout is the TIMEOUT clause, when HasTimeout.
	Timeout    time.Duration
	HasTimeout bool
}

// DescribeSources is DESCRIBE STREAMS|TABLES [EXTENDED]: every stream or
// table described.
type DescribeSources struct {
	text     string
	Kind     SourceKind
	Extended bool
}

// Unsubstituted is a statement that references session variables
// (${name}, see Substitute): it is parsed when it runs, after
// substitution, since a DEFINE before it in the same text may define
// them.
type Unsubstituted struct {
	text string
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
//	x::T           RUNNEL_CAST(x, 'T')         also PostgreSQL's type names
//	$n             RUNNEL_PARAM(n)             bind parameter n (1-based)
//	ARRAY[a, b]    RUNNEL_ARRAY(a, b)
//	MAP(k := v)    RUNNEL_MAP(k, v, ...)
//	STRUCT(F := v) RUNNEL_STRUCT('F', v, ...)
//	x => e         RUNNEL_LAMBDA('X', e)       a lambda (a function's argument)
//	(x, y) => e    RUNNEL_LAMBDA('X', 'Y', e)
//	a IS NOT DISTINCT FROM b          a <=> b
//	a IS DISTINCT FROM b              a <=> RUNNEL_DISTINCT() <=> b, which TiDB
//	                                  reads as (a <=> RUNNEL_DISTINCT()) <=> b
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
	text string
	// pos are where its nodes are in the text given to Parse.
	pos *Positions
	// Select is the query; nil when SetOpr is set.
	Select *ast.SelectStmt
	// SetOpr is set instead of Select for a UNION, INTERSECT or EXCEPT of
	// SELECTs without streaming clauses, which only a statement of its
	// own (Select, not CREATE ... AS, INSERT, DECLARE, COPY or EXPLAIN)
	// may be. Only the PostgreSQL catalog answers one.
	SetOpr      *ast.SetOprStmt
	Window      *Window
	PartitionBy []ast.ExprNode
	Emit        EmitMode
}

// Text is the query's source text.
func (q *Query) Text() string { return q.text }

// Pos returns where node n of the query (of Select, SetOpr or
// PartitionBy) starts in the text given to Parse, as a 1-based character
// position (PostgreSQL's error position), or 0 when that is not known:
// a node built after parsing, or a query parsed with Options.Substituted
// (see Positions).
func (q *Query) Pos(n ast.Node) int { return q.pos.Of(n) }

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
	// stored: see CreateSource.
	stored string
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
	ShowTypes
	ShowVariables
	// ShowNodes lists a cluster's live nodes (Runnel's; ksqlDB reports
	// them through its /clusterStatus endpoint).
	ShowNodes
)

// Show is SHOW|LIST STREAMS|TABLES|QUERIES|TOPICS|PROPERTIES|FUNCTIONS|
// TYPES|VARIABLES|NODES [EXTENDED].
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

// TxnKind is what a transaction statement does.
type TxnKind int

const (
	// TxnBegin is BEGIN [WORK|TRANSACTION] [modes] or START TRANSACTION
	// [modes].
	TxnBegin TxnKind = iota + 1
	// TxnCommit is COMMIT or END [WORK|TRANSACTION] [AND [NO] CHAIN].
	TxnCommit
	// TxnRollback is ROLLBACK or ABORT [WORK|TRANSACTION] [AND [NO]
	// CHAIN].
	TxnRollback
	// TxnSavepoint is SAVEPOINT name.
	TxnSavepoint
	// TxnRelease is RELEASE [SAVEPOINT] name.
	TxnRelease
	// TxnRollbackTo is ROLLBACK [WORK|TRANSACTION] TO [SAVEPOINT] name.
	TxnRollbackTo
	// TxnSetModes is SET TRANSACTION modes (this transaction) or SET
	// SESSION CHARACTERISTICS AS TRANSACTION modes (the ones after it).
	TxnSetModes
)

// TxnModes are PostgreSQL's transaction modes. Unset fields were not
// given.
type TxnModes struct {
	// Isolation is the ISOLATION LEVEL, lower-case with single spaces
	// ("read committed", "serializable", ...); "" when not given.
	Isolation string
	// ReadOnly is READ ONLY (true) or READ WRITE (false), when
	// ReadOnlySet.
	ReadOnly    bool
	ReadOnlySet bool
}

// Transaction is one of PostgreSQL's transaction statements (see
// TxnKind). Verb is its CommandComplete tag: BEGIN, COMMIT, ROLLBACK,
// SAVEPOINT, RELEASE or SET.
type Transaction struct {
	text string
	Kind TxnKind
	Verb string
	// Savepoint names the savepoint of TxnSavepoint, TxnRelease and
	// TxnRollbackTo (canonical: upper-cased unless quoted).
	Savepoint string
	// Modes are the modes of TxnBegin and TxnSetModes.
	Modes TxnModes
	// Chain is AND CHAIN: a new transaction with the same modes begins
	// as soon as this one ends.
	Chain bool
	// Session is set for SET SESSION CHARACTERISTICS AS TRANSACTION: the
	// modes are the defaults of later transactions.
	Session bool
}

// Declare is DECLARE name [BINARY] [ASENSITIVE|INSENSITIVE] [[NO] SCROLL]
// CURSOR [{WITH|WITHOUT} HOLD] FOR query.
type Declare struct {
	text string
	// Name is the cursor's canonical name.
	Name   string
	Binary bool
	// Scroll is set by SCROLL (not NO SCROLL): a cursor that may move
	// backward.
	Scroll bool
	// Hold is WITH HOLD: the cursor outlives the transaction.
	Hold  bool
	Query *Query
}

// Fetch is FETCH [direction] [FROM|IN] cursor, or MOVE with the same
// arguments (Move), which skips rows instead of returning them.
type Fetch struct {
	text   string
	Move   bool
	Cursor string
	// Count is how many rows to move forward (NEXT and no direction are
	// 1); All moves to the end.
	Count int64
	All   bool
	// Direction names a direction that is not plain forward motion
	// (PRIOR, FIRST, LAST, ABSOLUTE n, RELATIVE n, BACKWARD ..., a
	// negative or zero count), as written; "" for forward motion.
	Direction string
}

// CloseCursor is CLOSE name | CLOSE ALL.
type CloseCursor struct {
	text string
	Name string
	All  bool
}

// Copy is COPY in one of PostgreSQL's forms:
//
//	COPY name [(columns)] FROM STDIN [[WITH] (options)]
//	COPY name [(columns)] TO STDOUT [[WITH] (options)]
//	COPY (query) TO STDOUT [[WITH] (options)]
//
// and their files and programs ('file', PROGRAM 'cmd'), which are parsed
// so that they can be refused by name. The options of PostgreSQL's old
// syntax (CSV, HEADER, DELIMITER [AS] 'c', ...) become the same Options.
type Copy struct {
	text string
	// Table is the stream or table; "" when Query is set.
	Table   string
	Columns []string
	Query   *Query
	// From is COPY ... FROM (into Table); else COPY ... TO.
	From bool
	// File is the file name or, with Program, the command; "" for
	// STDIN and STDOUT.
	File    string
	Program bool
	Options []CopyOption
}

// CopyOption is one COPY option, in the order written.
type CopyOption struct {
	// Name is lower-case: format, header, delimiter, null, quote,
	// escape, encoding, freeze, force_quote, force_not_null, force_null
	// or whatever else was written.
	Name string
	// Value is the option's argument as written (a string's value, a
	// word, a number, or "*"); "" with HasValue unset when there was
	// none.
	Value    string
	HasValue bool
	// Columns is the column list of FORCE_QUOTE (...) and friends.
	Columns []string
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
func (s *Declare) Text() string      { return s.text }
func (s *Fetch) Text() string        { return s.text }
func (s *CloseCursor) Text() string  { return s.text }
func (s *Copy) Text() string         { return s.text }
func (s *CreateType) Text() string   { return s.text }
func (s *DropType) Text() string     { return s.text }
func (s *Define) Text() string       { return s.text }
func (s *Undefine) Text() string     { return s.text }
func (s *Assert) Text() string       { return s.text }
func (s *DescribeSources) Text() string {
	return s.text
}
func (s *Unsubstituted) Text() string { return s.text }

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
func (*Declare) statement()      {}
func (*Fetch) statement()        {}
func (*CloseCursor) statement()  {}
func (*Copy) statement()         {}
func (*CreateType) statement()   {}
func (*DropType) statement()     {}
func (*Define) statement()       {}
func (*Undefine) statement()     {}
func (*Assert) statement()       {}
func (*DescribeSources) statement() {
}
func (*Unsubstituted) statement() {}

// StoredText is the text to record for a statement that is kept and
// parsed again later (a persistent query's, a source's): its own text,
// with any custom type (CREATE TYPE) spelled out as its definition, so
// that it means the same after a DROP TYPE or a new definition, as
// ksqlDB's queries keep the types they were made with.
func StoredText(st Statement) string {
	switch st := st.(type) {
	case *CreateSource:
		if st.stored != "" {
			return st.stored
		}
	case *Insert:
		if st.stored != "" {
			return st.stored
		}
	case *AlterSource:
		if st.stored != "" {
			return st.stored
		}
	}
	return st.Text()
}
