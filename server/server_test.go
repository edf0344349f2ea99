package server_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/runnel/runnel/server"
)

// panicWatch is a slog handler that records recovered panics, so tests
// fail on a panic the server swallowed.
type panicWatch struct {
	mu     sync.Mutex
	panics []string
}

func (p *panicWatch) Enabled(context.Context, slog.Level) bool { return true }
func (p *panicWatch) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panicked") {
		p.mu.Lock()
		var b strings.Builder
		r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, "%s=%v ", a.Key, a.Value); return true })
		p.panics = append(p.panics, b.String())
		p.mu.Unlock()
	}
	return nil
}
func (p *panicWatch) WithAttrs([]slog.Attr) slog.Handler { return p }
func (p *panicWatch) WithGroup(string) slog.Handler      { return p }

// take returns and forgets the panics logged so far.
func (p *panicWatch) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.panics
	p.panics = nil
	return out
}

func (p *panicWatch) check(t testing.TB) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.panics {
		t.Errorf("server panicked: %s", s)
	}
}

type testServer struct {
	addr  string
	fake  *fakeBackend
	watch *panicWatch
	stop  func() error
}

// startServer serves a fresh fake backend on a loopback port until the
// test ends (or stop is called).
func startServer(t testing.TB, opts server.Options) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{addr: ln.Addr().String(), fake: newFake(), watch: &panicWatch{}}
	opts.Logger = slog.New(ts.watch)
	srv := server.New(ts.fake, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	var once sync.Once
	var serveErr error
	ts.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case serveErr = <-done:
			case <-time.After(10 * time.Second):
				serveErr = errors.New("Serve did not return")
			}
		})
		return serveErr
	}
	t.Cleanup(func() {
		if err := ts.stop(); err != nil {
			t.Error(err)
		}
		ts.watch.check(t)
	})
	return ts
}

func (ts *testServer) connect(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, "postgres://tester@"+ts.addr+"/db?sslmode=disable&application_name=tests")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestStartupParameters(t *testing.T) {
	ts := startServer(t, server.Options{})
	conn := ts.connect(t)
	pc := conn.PgConn()
	for k, want := range map[string]string{
		"server_version":              "15.0 (Runnel)",
		"server_encoding":             "UTF8",
		"client_encoding":             "UTF8",
		"DateStyle":                   "ISO, MDY",
		"integer_datetimes":           "on",
		"standard_conforming_strings": "on",
		"TimeZone":                    "UTC",
		"application_name":            "tests",
	} {
		if got := pc.ParameterStatus(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if pc.PID() == 0 {
		t.Error("no BackendKeyData pid")
	}
}

func TestSimpleQuery(t *testing.T) {
	ts := startServer(t, server.Options{})
	conn := ts.connect(t)
	ctx := testCtx(t)
	results, err := conn.PgConn().Exec(ctx, "types; count 3; ddl").ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 3 {
		t.Fatalf("%d results, want 3", len(results))
	}
	r := results[0]
	if got := r.CommandTag.String(); got != "SELECT 2" {
		t.Errorf("tag %q", got)
	}
	if len(r.Rows) != 2 || len(r.FieldDescriptions) != len(allColumns) {
		t.Fatalf("rows %d, fields %d", len(r.Rows), len(r.FieldDescriptions))
	}
	wantOIDs := []uint32{16, 23, 20, 701, 1700, 25, 17, 1114, 1082, 1083, 114, 114, 114, 25}
	for i, fd := range r.FieldDescriptions {
		if fd.DataTypeOID != wantOIDs[i] || fd.Name != allColumns[i].Name || fd.Format != 0 {
			t.Errorf("field %d: %+v", i, fd)
		}
	}
	for i, want := range allText {
		if got := string(r.Rows[0][i]); got != want {
			t.Errorf("column %s text %q, want %q", allColumns[i].Name, got, want)
		}
	}
	for i, v := range r.Rows[1] {
		if v != nil {
			t.Errorf("null row column %d = %q", i, v)
		}
	}
	if got := results[1].CommandTag.String(); got != "SELECT 3" || len(results[1].Rows) != 3 || string(results[1].Rows[2][0]) != "2" {
		t.Errorf("count: %q %q", got, results[1].Rows)
	}
	if got := results[2].CommandTag.String(); got != "CREATE STREAM" || results[2].FieldDescriptions != nil {
		t.Errorf("ddl: %q %v", got, results[2].FieldDescriptions)
	}
	// Empty text: EmptyQueryResponse, no error.
	if _, err := conn.PgConn().Exec(ctx, " ; ").ReadAll(); err != nil {
		t.Errorf("empty query: %v", err)
	}
}

func TestNotice(t *testing.T) {
	ts := startServer(t, server.Options{})
	var mu sync.Mutex
	var notices []string
	cfg, err := pgx.ParseConfig("postgres://tester@" + ts.addr + "/db?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		mu.Lock()
		notices = append(notices, n.Severity+": "+n.Message)
		mu.Unlock()
	}
	ctx := testCtx(t)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tag, err := conn.Exec(ctx, "ddl")
	if err != nil || tag.String() != "CREATE STREAM" {
		t.Fatalf("%q %v", tag, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(notices) != 1 || notices[0] != "NOTICE: stream created" {
		t.Errorf("notices %q", notices)
	}
}

// TestExtendedRoundTrip sends every type through pgx's default mode
// (prepared, cached statements; binary where pgx can) and back.
func TestExtendedRoundTrip(t *testing.T) {
	ts := startServer(t, server.Options{})
	conn := ts.connect(t)
	ctx := testCtx(t)
	ts1 := time.Date(2023, 11, 14, 22, 13, 20, 123e6, time.UTC)
	cases := []struct {
		typ string
		in  any
		out any
		eq  func(got any) bool
	}{
		{"bool", true, new(bool), func(g any) bool { return *g.(*bool) }},
		{"int", int32(-7), new(int32), func(g any) bool { return *g.(*int32) == -7 }},
		{"bigint", int64(1) << 40, new(int64), func(g any) bool { return *g.(*int64) == 1<<40 }},
		{"double", 2.25, new(float64), func(g any) bool { return *g.(*float64) == 2.25 }},
		{"decimal", pgtype.Numeric{Int: big.NewInt(-1234567), Exp: -2, Valid: true}, new(pgtype.Numeric), func(g any) bool {
			n := g.(*pgtype.Numeric)
			v, _ := n.Value()
			return v == "-12345.67"
		}},
		{"string", "hé\"llo", new(string), func(g any) bool { return *g.(*string) == "hé\"llo" }},
		{"bytes", []byte{0, 1, 255}, new([]byte), func(g any) bool { return bytes.Equal(*g.(*[]byte), []byte{0, 1, 255}) }},
		{"timestamp", ts1, new(time.Time), func(g any) bool { return g.(*time.Time).Equal(ts1) }},
		{"date", pgtype.Date{Time: time.Date(1969, 12, 30, 0, 0, 0, 0, time.UTC), Valid: true}, new(pgtype.Date), func(g any) bool {
			return g.(*pgtype.Date).Time.Equal(time.Date(1969, 12, 30, 0, 0, 0, 0, time.UTC))
		}},
		{"time", pgtype.Time{Microseconds: 3723004000, Valid: true}, new(pgtype.Time), func(g any) bool { return g.(*pgtype.Time).Microseconds == 3723004000 }},
		{"array", []int{3, 4}, new([]int), func(g any) bool { s := *g.(*[]int); return len(s) == 2 && s[0] == 3 && s[1] == 4 }},
		{"map", map[string]float64{"k": 0.5}, new(map[string]float64), func(g any) bool { return (*g.(*map[string]float64))["k"] == 0.5 }},
		{"struct", map[string]any{"A": 5, "B": "y"}, new(string), func(g any) bool { return *g.(*string) == `{"A":5,"B":"y"}` }},
		{"string", "", new(string), func(g any) bool { return *g.(*string) == "" }},
		{"bytes", []byte{}, new([]byte), func(g any) bool { b := *g.(*[]byte); return b != nil && len(b) == 0 }},
		{"null", "free text", new(string), func(g any) bool { return *g.(*string) == "free text" }},
	}
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			if err := conn.QueryRow(ctx, "echo "+c.typ, c.in).Scan(c.out); err != nil {
				t.Fatal(err)
			}
			if !c.eq(c.out) {
				t.Errorf("echo %s: %v -> %v", c.typ, c.in, c.out)
			}
			// NULL goes through as NULL.
			var p *string
			if err := conn.QueryRow(ctx, "echo "+c.typ, nil).Scan(&p); err != nil || p != nil {
				t.Errorf("null: %v %v", p, err)
			}
		})
	}
	// Binary results: pgx asks for binary on the types it can decode.
	rows, err := conn.Query(ctx, "types")
	if err != nil {
		t.Fatal(err)
	}
	rows.Next()
	var binaryCols int
	for _, fd := range rows.FieldDescriptions() {
		if fd.Format == 1 {
			binaryCols++
		}
	}
	vals, err := rows.Values()
	if err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if binaryCols < 8 {
		t.Errorf("only %d binary columns", binaryCols)
	}
	if vals[0] != true || vals[1] != int32(42) || vals[2] != int64(-9000000000) || vals[3] != 1.5 || vals[5] != "héllo" {
		t.Errorf("values %v", vals[:6])
	}
	if got := vals[7].(time.Time); !got.Equal(ts1.Add(0)) || got.Sub(time.UnixMilli(1700000000123)) != 0 {
		t.Errorf("timestamp %v", got)
	}
}

// TestBothFormats sends every type's text and binary forms by hand and
// checks what comes back in each result format.
func TestBothFormats(t *testing.T) {
	ts := startServer(t, server.Options{})
	conn := ts.connect(t)
	ctx := testCtx(t)
	pc := conn.PgConn()
	cases := []struct {
		typ        string
		text       string
		binary     []byte
		binaryBack []byte // when it differs from binary
	}{
		{"bool", "t", []byte{1}, nil},
		{"int", "-2147483648", be32(0x80000000), nil},
		{"bigint", "9223372036854775807", be64(1<<63 - 1), nil},
		{"double", "-0.125", be64(0xBFC0000000000000), nil},
		{"decimal", "-12345.67", []byte{0, 3, 0, 1, 0x40, 0, 0, 2, 0, 1, 0x09, 0x29, 0x1A, 0x2C}, nil},
		{"string", "x y", []byte("x y"), nil},
		{"bytes", `\x00ff`, []byte{0, 0xff}, nil},
		{"timestamp", "2000-01-01 00:00:01.5", be64(1500000), nil},
		{"date", "1999-12-31", be32(0xFFFFFFFF), nil},
		{"time", "23:59:59.999", be64(86399999000), nil},
		{"array", "[1,null,3]", []byte("[1,null,3]"), nil},
		{"map", `{"a":1.5,"b":null}`, []byte(`{"a":1.5,"b":null}`), nil},
		{"struct", `{"A":1,"B":"x"}`, []byte(`{"A":1,"B":"x"}`), nil},
	}
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			sql := "echo " + c.typ
			for _, pf := range []int16{0, 1} {
				param := []byte(c.text)
				if pf == 1 {
					param = c.binary
				}
				for _, rf := range []int16{0, 1} {
					res := pc.ExecParams(ctx, sql, [][]byte{param}, nil, []int16{pf}, []int16{rf}).Read()
					if res.Err != nil {
						t.Fatalf("param format %d result format %d: %v", pf, rf, res.Err)
					}
					want := []byte(c.text)
					if rf == 1 {
						want = c.binary
					}
					if len(res.Rows) != 1 || !bytes.Equal(res.Rows[0][0], want) {
						t.Errorf("param format %d result format %d: got %q, want %q", pf, rf, res.Rows, want)
					}
					if res.CommandTag.String() != "SELECT 1" {
						t.Errorf("tag %q", res.CommandTag)
					}
				}
			}
		})
	}
	// A client-declared type wider than the statement's converts.
	res := pc.ExecParams(ctx, "echo int", [][]byte{be64(77)}, []uint32{20}, []int16{1}, nil).Read()
	if res.Err != nil || string(res.Rows[0][0]) != "77" {
		t.Errorf("int8 param for INT: %q %v", res.Rows, res.Err)
	}
	res = pc.ExecParams(ctx, "echo int", [][]byte{be64(1 << 40)}, []uint32{20}, []int16{1}, nil).Read()
	var pgErr *pgconn.PgError
	if !errors.As(res.Err, &pgErr) || pgErr.Code != "22P03" {
		t.Errorf("out of range int8 for INT: %v", res.Err)
	}
	res = pc.ExecParams(ctx, "echo bigint", [][]byte{[]byte("12x")}, nil, nil, nil).Read()
	if !errors.As(res.Err, &pgErr) || pgErr.Code != "22P02" {
		t.Errorf("bad text bigint: %v", res.Err)
	}
}

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func TestErrors(t *testing.T) {
	ts := startServer(t, server.Options{})
	conn := ts.connect(t)
	ctx := testCtx(t)
	var pgErr *pgconn.PgError
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeSimpleProtocol} {
		_, err := conn.Exec(ctx, "syntax", mode)
		if !errors.As(err, &pgErr) || pgErr.Code != "42601" || pgErr.Position != 3 || pgErr.Severity != "ERROR" {
			t.Errorf("mode %v: syntax error: %#v", mode, err)
		}
		_, err = conn.Exec(ctx, "fail", mode)
		if !errors.As(err, &pgErr) || pgErr.Code != "42P01" || pgErr.Position != 0 || !strings.Contains(pgErr.Message, "nope") {
			t.Errorf("mode %v: execute error: %#v", mode, err)
		}
		// The session is usable after an error.
		var n int64
		if err := conn.QueryRow(ctx, "count 5", mode).Scan(&n); err != nil || n != 0 {
			t.Errorf("mode %v: after error: %v", mode, err)
		}
	}
	// An error mid query string skips the rest of it.
	results, err := conn.PgConn().Exec(ctx, "count 1; fail; count 2").ReadAll()
	if !errors.As(err, &pgErr) || pgErr.Code != "42P01" || len(results) != 1 {
		t.Errorf("multi: %d results, %v", len(results), err)
	}
	// Parse of several statements is 42601.
	_, err = conn.PgConn().Prepare(ctx, "two", "count 1; count 2", nil)
	if !errors.As(err, &pgErr) || pgErr.Code != "42601" {
		t.Errorf("two statements in Parse: %v", err)
	}
	// Parameters in the simple protocol have no values.
	_, err = conn.PgConn().Exec(ctx, "echo int").ReadAll()
	if !errors.As(err, &pgErr) || pgErr.Code != "42P02" {
		t.Errorf("params in simple query: %v", err)
	}
	var n int64
	if err := conn.QueryRow(ctx, "count 2").Scan(&n); err != nil {
		t.Errorf("after errors: %v", err)
	}
}

// waitBlock returns the next push query the fake started.
func waitBlock(t *testing.T, ts *testServer) *blockIter {
	t.Helper()
	select {
	case it := <-ts.fake.blocks:
		return it
	case <-time.After(5 * time.Second):
		t.Fatal("no push query started")
		return nil
	}
}

func waitClosed(t *testing.T, it *blockIter) {
	t.Helper()
	select {
	case <-it.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("row iterator not closed")
	}
}

// TestRowsStream reads the first row of a push query while the iterator
// is still blocked on the second.
func TestRowsStream(t *testing.T) {
	ts := startServer(t, server.Options{})
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeSimpleProtocol} {
		conn := ts.connect(t)
		ctx := testCtx(t)
		rows, err := conn.Query(ctx, "block", mode)
		if err != nil {
			t.Fatal(err)
		}
		it := waitBlock(t, ts)
		for want := int64(0); want < 3; want++ {
			if !rows.Next() {
				t.Fatalf("mode %v: no row %d: %v", mode, want, rows.Err())
			}
			var n int64
			if err := rows.Scan(&n); err != nil || n != want {
				t.Fatalf("row %d = %d %v", want, n, err)
			}
			// The iterator is blocked on the next row: the row above came
			// before the statement ended.
			select {
			case <-it.waiting:
			case <-time.After(5 * time.Second):
				t.Fatal("iterator not waiting")
			}
			it.release <- struct{}{}
		}
		rows.Next() // row 3
		close(it.release)
		if rows.Next() {
			t.Error("rows after EOF")
		}
		rows.Close()
		if err := rows.Err(); err != nil || rows.CommandTag().String() != "SELECT 4" {
			t.Errorf("end: %v %q", err, rows.CommandTag())
		}
		waitClosed(t, it)
	}
}

// TestCancel stops a push query with a CancelRequest, by pgconn's
// CancelRequest and by cancelling pgx's context; the connection keeps
// working.
func TestCancel(t *testing.T) {
	ts := startServer(t, server.Options{})
	conn := ts.connect(t)
	ctx := testCtx(t)
	var pgErr *pgconn.PgError

	rows, err := conn.Query(ctx, "block")
	if err != nil {
		t.Fatal(err)
	}
	it := waitBlock(t, ts)
	if !rows.Next() {
		t.Fatal(rows.Err())
	}
	<-it.waiting
	// A wrong secret cancels nothing: send one by hand.
	bad, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := (&pgproto3.CancelRequest{ProcessID: conn.PgConn().PID(), SecretKey: []byte{1, 2, 3, 4}}).Encode(nil)
	bad.Write(msg)
	io.Copy(io.Discard, bad)
	bad.Close()
	if err := conn.PgConn().CancelRequest(ctx); err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
	}
	if !errors.As(rows.Err(), &pgErr) || pgErr.Code != "57014" || pgErr.Message != "canceling statement due to user request" {
		t.Fatalf("cancelled query: %v", rows.Err())
	}
	waitClosed(t, it)
	var n int64
	if err := conn.QueryRow(ctx, "count 1").Scan(&n); err != nil {
		t.Fatalf("after cancel: %v", err)
	}

	// pgx cancels on ctx cancellation by sending a CancelRequest when so
	// configured (its default closes the socket instead).
	cfg, err := pgx.ParseConfig("postgres://tester@" + ts.addr + "/db?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: 5 * time.Second}
	}
	conn, err = pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	qctx, qcancel := context.WithCancel(ctx)
	rows, err = conn.Query(qctx, "block")
	if err != nil {
		t.Fatal(err)
	}
	it = waitBlock(t, ts)
	rows.Next()
	<-it.waiting
	qcancel()
	for rows.Next() {
	}
	if !errors.As(rows.Err(), &pgErr) || pgErr.Code != "57014" {
		t.Fatalf("after ctx cancel: %v", rows.Err())
	}
	waitClosed(t, it)
	if conn.IsClosed() {
		t.Fatal("connection closed by cancel")
	}
	if err := conn.QueryRow(ctx, "count 1").Scan(&n); err != nil {
		t.Fatalf("after ctx cancel: %v", err)
	}
}

// TestClientGoesAway closes the client's socket mid push query: the
// statement's ctx is cancelled and its rows closed.
func TestClientGoesAway(t *testing.T) {
	ts := startServer(t, server.Options{})
	conn := ts.connect(t)
	ctx := testCtx(t)
	rows, err := conn.Query(ctx, "block")
	if err != nil {
		t.Fatal(err)
	}
	it := waitBlock(t, ts)
	rows.Next()
	<-it.waiting
	conn.PgConn().Conn().Close()
	waitClosed(t, it)
	deadline := time.Now().Add(5 * time.Second)
	for ts.fake.openSessions() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := ts.fake.openSessions(); n != 0 {
		t.Errorf("%d sessions open", n)
	}
}

// rawStartup dials and completes a startup by hand.
func rawStartup(t testing.TB, addr string) (net.Conn, *pgproto3.Frontend) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	fe := pgproto3.NewFrontend(nc, nc)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: map[string]string{"user": "raw"}})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	for {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
			return nc, fe
		}
	}
}

// receiveAll collects message type names until ReadyForQuery.
func receiveAll(t *testing.T, fe *pgproto3.Frontend) []string {
	t.Helper()
	var got []string
	for {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(fmt.Sprintf("%T", msg), "*pgproto3.")
		switch m := msg.(type) {
		case *pgproto3.DataRow:
			name += "(" + string(m.Values[0]) + ")"
		case *pgproto3.CommandComplete:
			name += "(" + string(m.CommandTag) + ")"
		case *pgproto3.ErrorResponse:
			name += "(" + m.Code + ")"
		}
		got = append(got, name)
		if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
			return got
		}
	}
}

// TestExtendedMessages drives the extended protocol by hand: portal
// suspension, Describe, NoData, empty query, Close and discarding after
// an error until Sync.
func TestExtendedMessages(t *testing.T) {
	ts := startServer(t, server.Options{})
	nc, fe := rawStartup(t, ts.addr)
	defer nc.Close()
	fe.SendParse(&pgproto3.Parse{Name: "s", Query: "count 5"})
	fe.SendDescribe(&pgproto3.Describe{ObjectType: 'S', Name: "s"})
	fe.SendBind(&pgproto3.Bind{PreparedStatement: "s", DestinationPortal: "p"})
	fe.SendExecute(&pgproto3.Execute{Portal: "p", MaxRows: 2})
	fe.SendExecute(&pgproto3.Execute{Portal: "p", MaxRows: 2})
	fe.SendExecute(&pgproto3.Execute{Portal: "p", MaxRows: 2})
	fe.SendExecute(&pgproto3.Execute{Portal: "p"})
	fe.SendParse(&pgproto3.Parse{Query: "ddl"})
	fe.SendDescribe(&pgproto3.Describe{ObjectType: 'S'})
	fe.SendBind(&pgproto3.Bind{})
	fe.SendExecute(&pgproto3.Execute{})
	fe.SendParse(&pgproto3.Parse{Query: " "})
	fe.SendBind(&pgproto3.Bind{})
	fe.SendDescribe(&pgproto3.Describe{ObjectType: 'P'})
	fe.SendExecute(&pgproto3.Execute{})
	fe.SendClose(&pgproto3.Close{ObjectType: 'S', Name: "s"})
	fe.SendSync(&pgproto3.Sync{})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(receiveAll(t, fe), " ")
	want := "ParseComplete ParameterDescription RowDescription BindComplete " +
		"DataRow(0) DataRow(1) PortalSuspended DataRow(2) DataRow(3) PortalSuspended DataRow(4) CommandComplete(SELECT 1) CommandComplete(SELECT 0) " +
		"ParseComplete ParameterDescription NoData BindComplete NoticeResponse CommandComplete(CREATE STREAM) " +
		"ParseComplete BindComplete NoData EmptyQueryResponse CloseComplete ReadyForQuery"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	// After an error, messages are discarded until Sync.
	fe.SendBind(&pgproto3.Bind{PreparedStatement: "s"}) // closed above
	fe.SendExecute(&pgproto3.Execute{})
	fe.SendParse(&pgproto3.Parse{Query: "count 1"})
	fe.SendSync(&pgproto3.Sync{})
	fe.SendParse(&pgproto3.Parse{Query: "count 1"})
	fe.SendBind(&pgproto3.Bind{})
	fe.SendExecute(&pgproto3.Execute{})
	fe.SendSync(&pgproto3.Sync{})
	fe.Flush()
	if got := strings.Join(receiveAll(t, fe), " "); got != "ErrorResponse(26000) ReadyForQuery" {
		t.Errorf("after error: %s", got)
	}
	if got := strings.Join(receiveAll(t, fe), " "); got != "ParseComplete BindComplete DataRow(0) CommandComplete(SELECT 1) ReadyForQuery" {
		t.Errorf("after sync: %s", got)
	}
	// An error in a query string skips the statements after it.
	fe.Send(&pgproto3.Query{String: "count 1; fail; count 2"})
	fe.Flush()
	if got := strings.Join(receiveAll(t, fe), " "); got != "RowDescription DataRow(0) CommandComplete(SELECT 1) ErrorResponse(42P01) ReadyForQuery" {
		t.Errorf("query string with an error: %s", got)
	}
	// Wrong parameter count.
	fe.SendParse(&pgproto3.Parse{Query: "echo int"})
	fe.SendBind(&pgproto3.Bind{})
	fe.SendSync(&pgproto3.Sync{})
	fe.Flush()
	if got := strings.Join(receiveAll(t, fe), " "); got != "ParseComplete ErrorResponse(08P01) ReadyForQuery" {
		t.Errorf("param count: %s", got)
	}
	fe.Send(&pgproto3.Terminate{})
	fe.Flush()
	if _, err := nc.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("after Terminate: %v", err)
	}
}

// TestGarbage closes a connection that sends garbage, while another
// connection keeps working.
func TestGarbage(t *testing.T) {
	ts := startServer(t, server.Options{MaxMessageSize: 1 << 20})
	conn := ts.connect(t)
	ctx := testCtx(t)
	inputs := [][]byte{
		[]byte("GET / HTTP/1.1\r\n\r\n"),
		{'Q', 0, 0, 0, 2},                     // length below 4
		{'Q', 0x7f, 0xff, 0xff, 0xff, 'x'},    // oversized
		{'Z', 0, 0, 0, 4},                     // unknown type
		{'B', 0, 0, 0, 6, 0xff, 0xff},         // truncated bind
		{'p', 0, 0, 0, 8, 'a', 'b', 'c', 0},   // password after startup
		bytes.Repeat([]byte{0xff}, 64),        // noise
		{'P', 0, 0, 0, 5, 0, 'Q', 0, 0, 0, 4}, // parse without query text
	}
	for i, in := range inputs {
		nc, _ := rawStartup(t, ts.addr)
		nc.Write(in)
		// The server answers (maybe an error) and hangs up.
		if _, err := io.Copy(io.Discard, nc); err != nil {
			t.Errorf("input %d: %v", i, err)
		}
		nc.Close()
		var n int64
		if err := conn.QueryRow(ctx, "count 1").Scan(&n); err != nil {
			t.Fatalf("input %d: other connection: %v", i, err)
		}
	}
	// Garbage instead of a startup message.
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	nc.Write([]byte("\x00\x00\x00\x08garbage!"))
	if _, err := io.Copy(io.Discard, nc); err != nil {
		t.Error(err)
	}
	nc.Close()
	if _, err := conn.Exec(ctx, "count 1"); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentSessions(t *testing.T) {
	ts := startServer(t, server.Options{})
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := pgx.Connect(ctx, "postgres://tester@"+ts.addr+"/db?sslmode=disable")
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close(ctx)
			for i := range 20 {
				var got int32
				if err := conn.QueryRow(ctx, "echo int", int32(g*100+i)).Scan(&got); err != nil || got != int32(g*100+i) {
					errs <- fmt.Errorf("session %d query %d: %d %v", g, i, got, err)
					return
				}
				rows, _ := conn.Query(ctx, "count 50")
				n := 0
				for rows.Next() {
					n++
				}
				if rows.Err() != nil || n != 50 {
					errs <- fmt.Errorf("session %d: %d rows %v", g, n, rows.Err())
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestShutdown cancels Serve's ctx with sessions open, one of them in a
// push query: Serve returns, the query's rows are closed, every session
// is closed and no goroutine is left.
func TestShutdown(t *testing.T) {
	before := runtime.NumGoroutine()
	ts := startServer(t, server.Options{})
	idle := ts.connect(t)
	busy := ts.connect(t)
	ctx := testCtx(t)
	rows, err := busy.Query(ctx, "block")
	if err != nil {
		t.Fatal(err)
	}
	it := waitBlock(t, ts)
	rows.Next()
	<-it.waiting
	if err := ts.stop(); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, it)
	if n := ts.fake.openSessions(); n != 0 {
		t.Errorf("%d sessions open after Serve returned", n)
	}
	for rows.Next() {
	}
	if rows.Err() == nil {
		t.Error("push query survived shutdown")
	}
	if err := idle.Ping(ctx); err == nil {
		t.Error("idle connection survived shutdown")
	}
	idle.Close(ctx)
	busy.Close(ctx)
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines before, %d after:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

// TestPanics: a panicking RowIter fails its statement only, and so does a
// panic in Execute: the client gets XX000 and the connection goes on. Both
// are logged.
func TestPanics(t *testing.T) {
	ts := startServer(t, server.Options{})
	conn := ts.connect(t)
	ctx := testCtx(t)
	var pgErr *pgconn.PgError
	_, err := conn.Exec(ctx, "panicrows")
	if !errors.As(err, &pgErr) || pgErr.Code != "XX000" {
		t.Errorf("panicking rows: %v", err)
	}
	if _, err := conn.Exec(ctx, "count 1"); err != nil {
		t.Errorf("after panicking rows: %v", err)
	}
	if _, err := conn.Exec(ctx, "panic"); !errors.As(err, &pgErr) || pgErr.Code != "XX000" {
		t.Errorf("panicking Execute: %v", err)
	}
	if _, err := conn.Exec(ctx, "count 1"); err != nil {
		t.Errorf("after a panicking Execute: %v", err)
	}
	other := ts.connect(t)
	if _, err := other.Exec(ctx, "count 1"); err != nil {
		t.Errorf("other connection after a panic: %v", err)
	}
	var got []string
	for deadline := time.Now().Add(5 * time.Second); len(got) < 2 && time.Now().Before(deadline); {
		got = append(got, ts.watch.take()...)
		time.Sleep(5 * time.Millisecond)
	}
	if len(got) != 2 {
		t.Errorf("logged panics: %q", got)
	}
}

// TestExecModes runs parameters through each of pgx's extended modes: the
// ones that describe first and the ones that send their own OIDs.
func TestExecModes(t *testing.T) {
	ts := startServer(t, server.Options{})
	conn := ts.connect(t)
	ctx := testCtx(t)
	when := time.Date(2024, 2, 29, 12, 0, 0, 5e6, time.UTC)
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeCacheDescribe,
		pgx.QueryExecModeDescribeExec, pgx.QueryExecModeExec} {
		var n int64
		if err := conn.QueryRow(ctx, "echo bigint", mode, int64(5)).Scan(&n); err != nil || n != 5 {
			t.Errorf("%v bigint: %d %v", mode, n, err)
		}
		var i int32
		if err := conn.QueryRow(ctx, "echo int", mode, 7).Scan(&i); err != nil || i != 7 {
			t.Errorf("%v int from Go int: %d %v", mode, i, err)
		}
		var ts time.Time
		if err := conn.QueryRow(ctx, "echo timestamp", mode, when).Scan(&ts); err != nil || !ts.Equal(when) {
			t.Errorf("%v timestamp: %v %v", mode, ts, err)
		}
		var d float64
		if err := conn.QueryRow(ctx, "echo double", mode, float32(0.5)).Scan(&d); err != nil || d != 0.5 {
			t.Errorf("%v double from float32: %v %v", mode, d, err)
		}
		var s string
		if err := conn.QueryRow(ctx, "echo string", mode, "abc").Scan(&s); err != nil || s != "abc" {
			t.Errorf("%v string: %q %v", mode, s, err)
		}
		var num pgtype.Numeric
		in := pgtype.Numeric{Int: big.NewInt(505), Exp: -2, Valid: true}
		if err := conn.QueryRow(ctx, "echo decimal", mode, in).Scan(&num); err != nil {
			t.Errorf("%v decimal: %v", mode, err)
		} else if v, _ := num.Value(); v != "5.05" {
			t.Errorf("%v decimal: %v", mode, v)
		}
	}
}
