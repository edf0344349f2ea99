package engine

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/server"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/types"
)

// Session properties a user may SET.
const (
	propOffsetReset = "auto.offset.reset"
	// propWrapSingleValues is ksqlDB's default for WRAP_SINGLE_VALUE
	// where a CREATE statement's WITH gives none: 'true' or 'false';
	// unset, each format's own default (planner.Planner.WrapSingleValues).
	propWrapSingleValues = "ksql.persistence.wrap.single.values"
	// propCacheMaxBytes is Kafka Streams' cache.max.bytes.buffering
	// (ksqlDB's ksql.streams.cache.max.bytes.buffering): the bytes of
	// changed groups an aggregation holds before it emits each one's
	// latest change, at most once a batch; 0 emits every update. A
	// persistent query keeps the value it was created with (queryProps);
	// unset, ksqlDB's default, planner.DefaultCacheMaxBytes.
	propCacheMaxBytes = "cache.max.bytes.buffering"
)

// propName is the name a property is stored under: Kafka Streams'
// settings that take the ksql.streams. prefix are one property with it
// or without.
func propName(name string) string {
	lower := strings.ToLower(name)
	switch strings.TrimPrefix(lower, "ksql.streams.") {
	case propStandbyReplicas:
		return propStandbyReplicas
	case propCacheMaxBytes:
		return propCacheMaxBytes
	}
	return name
}

// session is one client's session: its SET properties, its transaction
// (txn.go) and its cursors (cursor.go).
type session struct {
	e    *Engine
	user string
	// params are the client's startup parameters (database, ...).
	params map[string]string

	mu    sync.Mutex
	props map[string]string // guarded by mu
	// vars are the session's variables (DEFINE), by lower-case name;
	// guarded by mu.
	vars map[string]string

	// tx, cursors and cursorSeq belong to the connection goroutine (see
	// txn.go); cursorSeq counts the cursors declared.
	tx        txnState
	cursors   map[string]*cursor
	cursorSeq uint64
}

var _ server.Session = (*session)(nil)

// Prepare implements server.Session.
func (s *session) Prepare(ctx context.Context, text string) ([]server.Statement, error) {
	// The size is checked before anything reads the text: parsing costs
	// memory in proportion to it.
	if limit := s.e.opts.MaxStatementBytes; len(text) > limit {
		return nil, sqlstate.Errorf(sqlstate.ProgramLimitExceeded,
			"statement of %d bytes is over the limit of %d bytes (--max-statement-bytes)", len(text), limit)
	}
	// Another node's request (cluster_pull.go) is not SQL.
	if st, ok, err := s.internalStatement(text); ok {
		if err != nil {
			return nil, err
		}
		return []server.Statement{st}, nil
	}
	stmts, err := sql.ParseWith(text, s.e.parseOptions())
	if err != nil {
		return nil, err
	}
	if s.tx.failed && len(stmts) > 0 && !isTxnExit(stmts[0]) {
		return nil, errInFailedTxn
	}
	out := make([]server.Statement, 0, len(stmts))
	if len(stmts) > 1 {
		// A text of several statements (the simple protocol) runs them in
		// order, and each may depend on the ones before it (CREATE STREAM
		// s ...; SELECT * FROM s): describe each only when its turn comes.
		for _, st := range stmts {
			out = append(out, &lazyStatement{s: s, st: st})
		}
		return out, nil
	}
	for _, st := range stmts {
		ps, err := s.prepare(st)
		if err != nil {
			return nil, err
		}
		out = append(out, ps)
	}
	return out, nil
}

// Close implements server.Session: the transaction's writes are dropped
// and the cursors closed.
func (s *session) Close() {
	s.dropWrites(0, 0)
	s.closeAllCursors()
}

func (s *session) prop(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.props[name]
}

func (s *session) setProp(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if value == "" {
		delete(s.props, name)
		return
	}
	s.props[name] = value
}

func (s *session) clearProps() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.props)
}

// serverSettings answer PostgreSQL's SHOW for settings a session has not
// set: the values the server reports at startup, and what drivers ask.
var serverSettings = map[string]string{
	"server_version":                "15.0 (Runnel)",
	"server_version_num":            "150000",
	"server_encoding":               "UTF8",
	"client_encoding":               "UTF8",
	"datestyle":                     "ISO, MDY",
	"timezone":                      "UTC",
	"integer_datetimes":             "on",
	"standard_conforming_strings":   "on",
	"transaction isolation level":   "read committed",
	"transaction_isolation":         "read committed",
	"default_transaction_isolation": "read committed",
	"transaction_read_only":         "off",
	"max_identifier_length":         "63",
	"search_path":                   "public",
	"application_name":              "",
	"extra_float_digits":            "1",
}

// prepareShowVariable answers SHOW name (one row, one column named after
// the setting) and SHOW ALL (name, setting rows).
func (s *session) prepareShowVariable(st *sql.ShowVariable) (*statement, error) {
	if st.Name == "all" {
		return listing(strCols("name", "setting"), func(context.Context) ([]types.Row, error) {
			vals := map[string]string{}
			for k, v := range serverSettings {
				vals[k] = v
			}
			for _, kv := range s.propList() {
				vals[strings.ToLower(kv[0])] = kv[1]
			}
			names := make([]string, 0, len(vals))
			for k := range vals {
				names = append(names, k)
			}
			sort.Strings(names)
			rows := make([]types.Row, len(names))
			for i, k := range names {
				rows[i] = strRow(k, vals[k])
			}
			return rows, nil
		}), nil
	}
	col := strings.ReplaceAll(st.Name, " ", "_")
	return listing(strCols(col), func(context.Context) ([]types.Row, error) {
		for _, kv := range s.propList() {
			if strings.EqualFold(kv[0], st.Name) {
				return []types.Row{strRow(kv[1])}, nil
			}
		}
		if v, ok := serverSettings[st.Name]; ok {
			return []types.Row{strRow(v)}, nil
		}
		return nil, errUnknownObject.Errorf("unrecognized configuration parameter %q (SHOW also lists STREAMS, TABLES, QUERIES, TOPICS, PROPERTIES, FUNCTIONS)", st.Name)
	}), nil
}

func (s *session) propList() [][2]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][2]string, 0, len(s.props)+1)
	if _, ok := s.props[propOffsetReset]; !ok {
		out = append(out, [2]string{propOffsetReset, "latest"})
	}
	for k, v := range s.props {
		out = append(out, [2]string{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// fromEarliest reports whether new push queries and persistent queries
// start at the beginning of their topics.
func (s *session) fromEarliest() bool {
	return strings.EqualFold(s.prop(propOffsetReset), "earliest")
}

// statement is a prepared statement: described once, executed any number
// of times.
type statement struct {
	params []types.Type
	cols   []types.Column
	exec   func(ctx context.Context, args []types.Value) (server.Result, error)
	// s and kind are set by session.prepare: the transaction rules of
	// txn.go apply to the statement when s is set.
	s       *session
	kind    stmtKind
	txnExit bool
}

// stmtKind classes statements for the transaction rules.
type stmtKind int

const (
	// kindOther reads, or only touches the session (SELECT, SHOW, SET,
	// DECLARE, FETCH, COPY TO, ...): in an implicit transaction it
	// commits the writes before it first.
	kindOther stmtKind = iota
	// kindWrite joins the transaction (INSERT VALUES, COPY FROM).
	kindWrite
	// kindTxn is a transaction statement.
	kindTxn
	// kindDDL changes the catalog or the running queries, at once and
	// outside any transaction.
	kindDDL
)

// kindOf classes a statement.
func kindOf(st sql.Statement) stmtKind {
	switch st := st.(type) {
	case *sql.Insert:
		if st.Query == nil {
			return kindWrite
		}
		return kindDDL
	case *sql.Copy:
		if st.From {
			return kindWrite
		}
	case *sql.Transaction:
		return kindTxn
	case *sql.CreateSource, *sql.Drop, *sql.Terminate, *sql.CreateType, *sql.DropType, *sql.PauseResume, *sql.AlterSource:
		return kindDDL
	}
	return kindOther
}

var _ server.Statement = (*statement)(nil)

func (st *statement) Params() []types.Type    { return st.params }
func (st *statement) Columns() []types.Column { return st.cols }
func (st *statement) Execute(ctx context.Context, args []types.Value) (server.Result, error) {
	if len(args) != len(st.params) {
		return server.Result{}, errProtocol.Errorf("statement takes %d parameters, %d given", len(st.params), len(args))
	}
	s := st.s
	if s == nil {
		return st.exec(ctx, args)
	}
	switch {
	case s.tx.failed && !st.exitsTxn():
		return server.Result{}, errInFailedTxn
	case s.tx.block && s.tx.readOnly && st.kind == kindDDL:
		return server.Result{}, errReadOnlyTxn.Errorf("cannot run DDL or start a persistent query in a read-only transaction")
	case !s.tx.block && st.kind != kindWrite && st.kind != kindTxn:
		// A read or DDL ends the implicit transaction's atomic part:
		// what it wrote so far commits first, so that the read sees it.
		if err := s.commitWrites(ctx); err != nil {
			return server.Result{}, err
		}
	}
	res, err := st.exec(ctx, args)
	if err == nil && st.kind == kindDDL && s.tx.block {
		res.Notices = append(res.Notices, fmt.Sprintf("%s took effect at once: DDL and persistent queries are not part of transactions, and ROLLBACK will not undo it", res.Tag))
	}
	return res, err
}

// exitsTxn reports whether the statement may run in a failed block.
func (st *statement) exitsTxn() bool { return st.kind == kindTxn && st.txnExit }

// lazyStatement is prepared when it executes; it takes no parameters (the
// simple protocol has none to give).
type lazyStatement struct {
	s    *session
	st   sql.Statement
	cols []types.Column
}

func (l *lazyStatement) Params() []types.Type    { return nil }
func (l *lazyStatement) Columns() []types.Column { return l.cols }
func (l *lazyStatement) Execute(ctx context.Context, args []types.Value) (server.Result, error) {
	ps, err := l.s.prepare(l.st)
	if err != nil {
		return server.Result{}, err
	}
	l.cols = ps.cols
	return ps.Execute(ctx, args)
}

// prepare describes one statement: its parameter types and result
// columns, under the transaction rules of txn.go.
func (s *session) prepare(st sql.Statement) (*statement, error) {
	if u, ok := st.(*sql.Unsubstituted); ok {
		var err error
		if st, err = s.substitute(u); err != nil {
			return nil, err
		}
	}
	if s.tx.failed && !isTxnExit(st) {
		return nil, errInFailedTxn
	}
	ps, err := s.prepareStatement(st)
	if err != nil {
		return nil, err
	}
	ps.s, ps.kind, ps.txnExit = s, kindOf(st), isTxnExit(st)
	return ps, nil
}

// prepareStatement describes one statement, without the transaction
// rules (DECLARE and COPY describe their queries with it).
func (s *session) prepareStatement(st sql.Statement) (*statement, error) {
	switch st := st.(type) {
	case *sql.Select:
		if ps, ok, err := s.prepareCatalog(st.Query); ok {
			return ps, err
		}
		return s.prepareSelect(st)
	case *sql.Insert:
		if st.Query != nil {
			return s.prepareInsertSelect(st)
		}
		return s.prepareInsertValues(st)
	case *sql.CreateSource:
		if st.Query != nil {
			return s.prepareCreateAs(st)
		}
		return simple("CREATE "+st.Kind.String(), func(ctx context.Context) error { return s.e.createSource(ctx, st, s.prop(propWrapSingleValues)) }), nil
	case *sql.Drop:
		return simple("DROP "+st.Kind.String(), func(ctx context.Context) error { return s.e.dropSource(ctx, st) }), nil
	case *sql.Terminate:
		return simple("TERMINATE", func(ctx context.Context) error { return s.e.terminate(ctx, st) }), nil
	case *sql.PauseResume:
		tag := "PAUSE"
		if st.Resume {
			tag = "RESUME"
		}
		return simple(tag, func(ctx context.Context) error { return s.e.pauseResume(ctx, st) }), nil
	case *sql.AlterSource:
		return simple("ALTER "+st.Kind.String(), func(ctx context.Context) error { return s.e.alterSource(ctx, st) }), nil
	case *sql.RunScript, *sql.Connector:
		return nil, refuseKsqlOnly(st)
	case *sql.Set:
		return simple("SET", func(ctx context.Context) error { return s.set(st.Name, st.Value) }), nil
	case *sql.Unset:
		tag := "UNSET"
		if strings.HasPrefix(strings.ToUpper(st.Text()), "RESET") {
			tag = "RESET"
		}
		return simple(tag, func(ctx context.Context) error {
			name := propName(st.Name) // as set stores it
			if st.All {
				s.clearProps()
			} else {
				s.setProp(name, "")
			}
			return nil
		}), nil
	case *sql.ShowVariable:
		return s.prepareShowVariable(st)
	case *sql.Transaction:
		return s.prepareTransaction(st)
	case *sql.Declare:
		return s.prepareDeclare(st)
	case *sql.Fetch:
		return s.prepareFetch(st)
	case *sql.CloseCursor:
		return s.prepareClose(st)
	case *sql.Copy:
		return s.prepareCopy(st)
	case *sql.Show:
		return s.prepareShow(st)
	case *sql.Describe:
		return s.prepareDescribe(st)
	case *sql.Print:
		return s.preparePrint(st)
	case *sql.Explain:
		return s.prepareExplain(st)
	case *sql.CreateType:
		return simple("CREATE TYPE", func(ctx context.Context) error { return s.e.createType(ctx, st) }), nil
	case *sql.DropType:
		return simple("DROP TYPE", func(ctx context.Context) error { return s.e.dropType(ctx, st) }), nil
	case *sql.Define:
		return simple("DEFINE", func(context.Context) error { return s.define(st.Name, st.Value) }), nil
	case *sql.Undefine:
		return simple("UNDEFINE", func(context.Context) error { s.undefine(st.Name); return nil }), nil
	case *sql.Assert:
		return s.prepareAssert(st)
	case *sql.DescribeSources:
		return s.prepareDescribeSources(st.Kind, st.Extended)
	case *sql.Unsubstituted:
		sub, err := s.substitute(st)
		if err != nil {
			return nil, err
		}
		return s.prepareStatement(sub)
	}
	return nil, errUnsupported.Errorf("statement not supported: %s", st.Text())
}

// simple is a statement without parameters or rows.
func simple(tag string, run func(ctx context.Context) error) *statement {
	return &statement{exec: func(ctx context.Context, _ []types.Value) (server.Result, error) {
		if err := run(ctx); err != nil {
			return server.Result{}, err
		}
		return server.Result{Tag: tag}, nil
	}}
}

// set validates and stores a session property.
func (s *session) set(name, value string) error {
	switch strings.ToLower(name) {
	case propOffsetReset:
		v := strings.ToLower(value)
		if v != "earliest" && v != "latest" {
			return errInvalidValue.Errorf("invalid value for %s: %q (expected 'earliest' or 'latest')", propOffsetReset, value)
		}
		s.setProp(propOffsetReset, v)
		return nil
	case propPullTimeout:
		if ms, err := strconv.ParseInt(value, 10, 64); err != nil || ms <= 0 {
			return errInvalidValue.Errorf("invalid value for %s: %q (expected a positive number of milliseconds)", propPullTimeout, value)
		}
	case propStandbyReplicas, "ksql.streams." + propStandbyReplicas:
		// Kafka Streams' INT setting, at least 0; both spellings set
		// one property, which the persistent queries this session
		// starts take (queryProps).
		if n, err := strconv.Atoi(strings.TrimSpace(value)); err != nil || n < 0 {
			return errInvalidValue.Errorf("Invalid value %s for configuration %s: expected a number of standby replicas, at least 0", value, name)
		}
		s.setProp(propStandbyReplicas, strings.TrimSpace(value))
		return nil
	case propCacheMaxBytes, "ksql.streams." + propCacheMaxBytes:
		// Kafka Streams' LONG setting, at least 0; both spellings set
		// one property, which the persistent queries this session
		// starts keep (queryProps).
		v := strings.TrimSpace(value)
		if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 0 {
			return errInvalidValue.Errorf("Invalid value %s for configuration %s: expected a number of bytes, at least 0 (0 emits every update)", value, name)
		}
		s.setProp(propCacheMaxBytes, v)
		return nil
	case propWrapSingleValues:
		// ksqlDB's config parser takes a boolean in any case.
		v := strings.ToLower(strings.TrimSpace(value))
		if v != "true" && v != "false" {
			return errInvalidValue.Errorf("Invalid value %s for configuration %s: Expected value to be either true or false", value, propWrapSingleValues)
		}
		s.setProp(propWrapSingleValues, v)
		return nil
	}
	s.setProp(name, value)
	return nil
}

// define sets a session variable. A session's variables hold at most
// MaxStatementBytes of names and values together: a variable is text for
// statements, and no statement is longer.
func (s *session) define(name, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	size := len(name) + len(value)
	for k, v := range s.vars {
		if k != name {
			size += len(k) + len(v)
		}
	}
	if limit := s.e.opts.MaxStatementBytes; size > limit {
		return sqlstate.Errorf(sqlstate.ProgramLimitExceeded,
			"the session's variables would hold %d bytes, over the limit of %d bytes (--max-statement-bytes): UNDEFINE some", size, limit)
	}
	if s.vars == nil {
		s.vars = map[string]string{}
	}
	s.vars[name] = value
	return nil
}

// undefine removes a session variable; one not defined is no error, as in
// ksqlDB.
func (s *session) undefine(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.vars, name)
}

// variables returns the session's variables, sorted by name.
func (s *session) variables() [][2]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][2]string, 0, len(s.vars))
	for k, v := range s.vars {
		out = append(out, [2]string{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// propSubstitution is ksqlDB's switch for variable substitution
// ('ksql.variable.substitution.enable', default true).
const propSubstitution = "ksql.variable.substitution.enable"

// substitute replaces the session's variables in a statement that
// references them and parses the result (sql.Substitute). It is called
// when the statement's turn comes, so that a DEFINE before it in the same
// text counts. With substitution disabled the text is parsed as written.
func (s *session) substitute(u *sql.Unsubstituted) (sql.Statement, error) {
	text := u.Text()
	if !strings.EqualFold(s.prop(propSubstitution), "false") {
		s.mu.Lock()
		sub, ok := sql.Substitute(text, s.vars, s.e.opts.MaxStatementBytes)
		s.mu.Unlock()
		if !ok {
			return nil, sqlstate.Errorf(sqlstate.ProgramLimitExceeded,
				"statement after variable substitution is over the limit of %d bytes (--max-statement-bytes)", s.e.opts.MaxStatementBytes)
		}
		text = sub
	}
	opts := s.e.parseOptions()
	opts.Substituted = true
	stmts, err := sql.ParseWith(text, opts)
	if err != nil {
		return nil, err
	}
	if len(stmts) != 1 {
		return nil, errSyntax.Errorf("a variable's value made %d statements of one: %s", len(stmts), text)
	}
	return stmts[0], nil
}
