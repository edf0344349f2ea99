package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"sync"

	"github.com/runnel/runnel/server"
	"github.com/runnel/runnel/sql/types"
)

// fakeBackend is a tiny Backend whose "SQL" is a few words:
//
//	types             one row of every type, then a row of NULLs
//	echo <type>       one parameter of <type>, returned as column v
//	count <n>         n BIGINT rows 0..n-1 (n <= 1000)
//	block             a push query: row 0 at once, then one row per
//	                  release, until the test closes release or cancels
//	ddl               no rows, tag CREATE STREAM, one notice
//	fail              fails in Execute with SQLSTATE 42P01
//	syntax            fails in Prepare with 42601 at position 3
//	panic             panics in Execute
//	panicrows         its RowIter panics in Next
//	panicprepare      panics in Prepare
//	begin             BEGIN: the session is in a transaction block
//	commit, rollback  COMMIT (ROLLBACK in a failed block), ROLLBACK
//	write <word>      a write of word, committed with its transaction
//	                  (at COMMIT, or at Sync outside a block)
//	failsync          the next Sync fails with 53100
//	copyout <n> <fmt> COPY TO of n rows (n BIGINT, s STRING) in format
//	                  fmt (text, csv, csvheader or binary)
//	copyin <fmt>      COPY FROM into columns (n BIGINT, s STRING); each
//	                  row becomes a write "<n>:<s>" (NULL s: "<n>:NULL");
//	                  a row with n = 13 fails in the sink
//
// In a failed block every statement but commit and rollback fails with
// 25P02, as the engine does.
//
// A session for the user "panic" panics as it is created.
//
// Statements are separated by ';'.
type fakeBackend struct {
	mu struct {
		sync.Mutex
		sessions, closedSessions int
		// committed are the writes of committed transactions, in order.
		committed []string
		// aborted counts the sinks aborted.
		aborted int
	}
	// blocks receives every block iterator when it starts.
	blocks chan *blockIter
}

var _ server.Backend = (*fakeBackend)(nil)

func newFake() *fakeBackend { return &fakeBackend{blocks: make(chan *blockIter, 100)} }

func (f *fakeBackend) NewSession(params map[string]string) server.Session {
	if params["user"] == "panic" {
		panic("fake: new session panicked")
	}
	f.mu.Lock()
	f.mu.sessions++
	f.mu.Unlock()
	return &fakeSession{f: f, status: server.TxIdle}
}

// committedWrites returns the writes committed so far.
func (f *fakeBackend) committedWrites() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.mu.committed...)
}

func (f *fakeBackend) abortedSinks() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mu.aborted
}

func (f *fakeBackend) openSessions() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mu.sessions - f.mu.closedSessions
}

// fakeSession's fields belong to the connection goroutine.
type fakeSession struct {
	f        *fakeBackend
	status   server.TxStatus
	pending  []string
	failSync bool
}

func (s *fakeSession) TxStatus() server.TxStatus { return s.status }

func (s *fakeSession) Fail() {
	if s.status == server.TxInBlock {
		s.status = server.TxFailed
		return
	}
	if s.status == server.TxIdle {
		s.pending = nil
	}
}

func (s *fakeSession) Sync(ctx context.Context) error {
	if s.status != server.TxIdle {
		return nil
	}
	if s.failSync {
		s.failSync = false
		s.pending = nil
		return &sqlError{"53100", 0, "fake: disk full at commit"}
	}
	s.commit()
	return nil
}

func (s *fakeSession) commit() {
	s.f.mu.Lock()
	s.f.mu.committed = append(s.f.mu.committed, s.pending...)
	s.f.mu.Unlock()
	s.pending = nil
}

func (s *fakeSession) Close() {
	s.f.mu.Lock()
	s.f.mu.closedSessions++
	s.f.mu.Unlock()
}

type sqlError struct {
	code string
	pos  int
	msg  string
}

func (e *sqlError) Error() string    { return e.msg }
func (e *sqlError) SQLState() string { return e.code }
func (e *sqlError) Position() int    { return e.pos }

var echoTypes = map[string]types.Type{
	"bool":      types.Boolean,
	"int":       types.Int,
	"bigint":    types.Bigint,
	"double":    types.Double,
	"decimal":   types.Decimal(10, 2),
	"string":    types.String,
	"bytes":     types.Bytes,
	"timestamp": types.Timestamp,
	"date":      types.Date,
	"time":      types.Time,
	"array":     types.Array(types.Int),
	"map":       types.Map(types.String, types.Double),
	"struct":    types.Struct(types.Field{Name: "A", Type: types.Int}, types.Field{Name: "B", Type: types.String}),
	"null":      types.Null,
}

var allColumns = []types.Column{
	{Name: "b", Type: types.Boolean},
	{Name: "i", Type: types.Int},
	{Name: "bi", Type: types.Bigint},
	{Name: "d", Type: types.Double},
	{Name: "dec", Type: types.Decimal(10, 2)},
	{Name: "s", Type: types.String},
	{Name: "by", Type: types.Bytes},
	{Name: "ts", Type: types.Timestamp},
	{Name: "dt", Type: types.Date},
	{Name: "tm", Type: types.Time},
	{Name: "arr", Type: echoTypes["array"]},
	{Name: "m", Type: echoTypes["map"]},
	{Name: "st", Type: echoTypes["struct"]},
	{Name: "n", Type: types.Null},
}

var allValues = types.Row{
	types.NewBoolean(true),
	types.NewInt(42),
	types.NewBigint(-9000000000),
	types.NewDouble(1.5),
	types.NewDecimal(big.NewInt(12345), 2),
	types.NewString("héllo"),
	types.NewBytes([]byte{0xde, 0xad}),
	types.NewTimestamp(1700000000123),
	types.NewDate(19675),
	types.NewTime(3723004),
	types.NewArray([]types.Value{types.NewInt(1), types.NewInt(2)}),
	types.NewMap([]types.Value{types.NewString("a")}, []types.Value{types.NewDouble(1.5)}),
	types.NewStruct([]types.Value{types.NewInt(1), types.NewString("x")}),
	types.NullValue,
}

// allText is allValues in PostgreSQL's text form.
var allText = []string{"t", "42", "-9000000000", "1.5", "123.45", "héllo", `\xdead`,
	"2023-11-14 22:13:20.123", "2023-11-14", "01:02:03.004", "[1,2]", `{"a":1.5}`, `{"A":1,"B":"x"}`}

func (s *fakeSession) Prepare(ctx context.Context, text string) ([]server.Statement, error) {
	var out []server.Statement
	for _, part := range strings.Split(text, ";") {
		words := strings.Fields(part)
		if len(words) == 0 {
			continue
		}
		st := &fakeStmt{f: s.f, s: s, verb: words[0], words: words}
		switch words[0] {
		case "begin", "commit", "rollback", "write", "failsync":
		case "copyout":
			if len(words) != 3 {
				return nil, &sqlError{"42601", 1, "copyout <n> <format>"}
			}
			st.n, _ = strconv.Atoi(words[1])
		case "copyin":
			if len(words) != 2 {
				return nil, &sqlError{"42601", 1, "copyin <format>"}
			}
		case "panicprepare":
			panic("fake: prepare panicked")
		case "types":
			st.cols = allColumns
		case "echo":
			if len(words) != 2 {
				return nil, &sqlError{"42601", 1, "echo needs a type"}
			}
			t, ok := echoTypes[words[1]]
			if !ok {
				return nil, &sqlError{"42704", 6, "unknown type " + words[1]}
			}
			st.params = []types.Type{t}
			st.cols = []types.Column{{Name: "v", Type: t}}
		case "count":
			n, err := strconv.Atoi(words[len(words)-1])
			if err != nil || n > 1000 || n < 0 {
				return nil, &sqlError{"22P02", 7, "bad count"}
			}
			st.n = n
			st.cols = []types.Column{{Name: "n", Type: types.Bigint}}
		case "block":
			st.cols = []types.Column{{Name: "n", Type: types.Bigint}}
		case "panicrows":
			st.cols = []types.Column{{Name: "n", Type: types.Bigint}}
		case "ddl", "fail", "panic":
		case "syntax":
			return nil, &sqlError{"42601", 3, "syntax error at or near \"x\""}
		default:
			return nil, &sqlError{"42601", 1, "unknown statement " + words[0]}
		}
		out = append(out, st)
	}
	return out, nil
}

type fakeStmt struct {
	f      *fakeBackend
	s      *fakeSession
	verb   string
	words  []string
	params []types.Type
	cols   []types.Column
	n      int
}

func (s *fakeStmt) Params() []types.Type    { return s.params }
func (s *fakeStmt) Columns() []types.Column { return s.cols }

// copyFormat reads a fake COPY format word.
func copyFormat(w string) server.CopyFormat {
	switch w {
	case "csv":
		return server.CopyFormat{Format: "csv"}
	case "csvheader":
		return server.CopyFormat{Format: "csv", Header: true}
	case "binary":
		return server.CopyFormat{Format: "binary"}
	case "badformat":
		return server.CopyFormat{Format: "xml"}
	}
	return server.CopyFormat{}
}

var copyColumns = []types.Column{{Name: "n", Type: types.Bigint}, {Name: "s", Type: types.String}}

// fakeSink turns rows into writes of its session's transaction.
type fakeSink struct {
	s    *fakeSession
	rows []string
}

func (k *fakeSink) Write(ctx context.Context, row types.Row) error {
	if row[0].Int() == 13 {
		return &sqlError{"23502", 0, "fake: thirteen is unlucky"}
	}
	str := "NULL"
	if !row[1].IsNull() {
		str = row[1].Str()
	}
	k.rows = append(k.rows, fmt.Sprintf("%d:%s", row[0].Int(), str))
	return nil
}

func (k *fakeSink) Finish(ctx context.Context) (int64, error) {
	k.s.pending = append(k.s.pending, k.rows...)
	return int64(len(k.rows)), nil
}

func (k *fakeSink) Abort() {
	k.s.f.mu.Lock()
	k.s.f.mu.aborted++
	k.s.f.mu.Unlock()
}

func (s *fakeStmt) Execute(ctx context.Context, args []types.Value) (server.Result, error) {
	ss := s.s
	if ss.status == server.TxFailed && s.verb != "commit" && s.verb != "rollback" {
		return server.Result{}, &sqlError{"25P02", 0, "current transaction is aborted, commands ignored until end of transaction block"}
	}
	switch s.verb {
	case "begin":
		ss.status = server.TxInBlock
		return server.Result{Tag: "BEGIN"}, nil
	case "commit":
		tag := "COMMIT"
		if ss.status == server.TxFailed {
			tag, ss.pending = "ROLLBACK", nil
		}
		ss.commit()
		ss.status = server.TxIdle
		return server.Result{Tag: tag}, nil
	case "rollback":
		ss.pending, ss.status = nil, server.TxIdle
		return server.Result{Tag: "ROLLBACK"}, nil
	case "write":
		ss.pending = append(ss.pending, s.words[1:]...)
		return server.Result{Tag: "INSERT 0 1"}, nil
	case "failsync":
		ss.failSync = true
		return server.Result{Tag: "SET"}, nil
	case "copyout":
		rows := make([]types.Row, s.n)
		for i := range rows {
			rows[i] = types.Row{types.NewBigint(int64(i)), types.NewString(fmt.Sprintf("r%d", i))}
			if i == 1 {
				rows[i][1] = types.NewString("tab\there, \"quoted\"\nline")
			}
			if i == 2 {
				rows[i][1] = types.NullValue
			}
			if i == 3 {
				rows[i][1] = types.NewString("")
			}
		}
		return server.Result{Tag: "COPY", Rows: &sliceIter{rows: rows},
			CopyOut: &server.CopyOut{Format: copyFormat(s.words[2]), Columns: copyColumns}}, nil
	case "copyin":
		return server.Result{Tag: "COPY", CopyIn: &server.CopyIn{Format: copyFormat(s.words[1]), Columns: copyColumns,
			Target: "fake", Sink: &fakeSink{s: ss}}}, nil
	case "types":
		nulls := make(types.Row, len(allValues))
		return server.Result{Tag: "SELECT", Rows: &sliceIter{rows: []types.Row{allValues, nulls}}}, nil
	case "echo":
		return server.Result{Tag: "SELECT", Rows: &sliceIter{rows: []types.Row{{args[0]}}}}, nil
	case "count":
		rows := make([]types.Row, s.n)
		for i := range rows {
			rows[i] = types.Row{types.NewBigint(int64(i))}
		}
		return server.Result{Tag: "SELECT", Rows: &sliceIter{rows: rows}}, nil
	case "block":
		it := &blockIter{release: make(chan struct{}), waiting: make(chan struct{}, 100), closed: make(chan struct{})}
		s.f.blocks <- it
		return server.Result{Tag: "SELECT", Rows: it}, nil
	case "panic":
		panic("fake: execute panicked")
	case "panicrows":
		return server.Result{Tag: "SELECT", Rows: panicIter{}}, nil
	case "ddl":
		return server.Result{Tag: "CREATE STREAM", Notices: []string{"stream created"}}, nil
	case "fail":
		return server.Result{}, fmt.Errorf("fake: run: %w", &sqlError{"42P01", 0, "relation \"nope\" does not exist"})
	}
	return server.Result{}, errors.New("fake: unknown verb")
}

type sliceIter struct{ rows []types.Row }

func (it *sliceIter) Next(ctx context.Context) (types.Row, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(it.rows) == 0 {
		return nil, io.EOF
	}
	r := it.rows[0]
	it.rows = it.rows[1:]
	return r, nil
}

func (it *sliceIter) Close() {}

// blockIter is a push query: row 0 at once, then row i after the i-th
// send on release; EOF when release is closed.
type blockIter struct {
	release chan struct{}
	// waiting gets a value each time Next blocks for a release.
	waiting   chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
	i         int64
}

func (it *blockIter) Next(ctx context.Context) (types.Row, error) {
	if it.i > 0 {
		select {
		case it.waiting <- struct{}{}:
		default:
		}
		select {
		case _, ok := <-it.release:
			if !ok {
				return nil, io.EOF
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	r := types.Row{types.NewBigint(it.i)}
	it.i++
	return r, nil
}

func (it *blockIter) Close() { it.closeOnce.Do(func() { close(it.closed) }) }

type panicIter struct{}

func (panicIter) Next(context.Context) (types.Row, error) { panic("fake: next panicked") }
func (panicIter) Close()                                  {}
