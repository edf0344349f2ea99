package server_test

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/runnel/runnel/server"
)

// Every connection that ends on an error gets an ErrorResponse first: the
// tests below drive each way a connection can fail, with a raw socket or
// pgx, and require the error before the end of the stream.

// expectFatal reads from fe until an ErrorResponse, which must be FATAL
// with code and mention fragment, and then the end of the stream.
func expectFatal(t *testing.T, fe *pgproto3.Frontend, code, fragment string) {
	t.Helper()
	for {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatalf("the connection ended without an ErrorResponse: %v", err)
		}
		e, ok := msg.(*pgproto3.ErrorResponse)
		if !ok {
			continue
		}
		if e.Severity != "FATAL" || e.Code != code || !strings.Contains(e.Message, fragment) {
			t.Fatalf("got %s %s %q, want FATAL %s mentioning %q", e.Severity, e.Code, e.Message, code, fragment)
		}
		break
	}
	if msg, err := fe.Receive(); err == nil {
		t.Fatalf("after the FATAL error: %T, want the end of the stream", msg)
	}
}

// TestPanicFailsOnlyItsStatement: a panic while the server answers a
// message (in Prepare or in Execute, simple or extended protocol) fails
// that statement with XX000, and the session goes on. It used to close the
// connection without a word.
func TestPanicFailsOnlyItsStatement(t *testing.T) {
	ts := startServer(t, server.Options{})
	nc, fe := rawStartup(t, ts.addr)
	defer nc.Close()
	send := func(msgs ...pgproto3.FrontendMessage) string {
		t.Helper()
		for _, m := range msgs {
			fe.Send(m)
		}
		if err := fe.Flush(); err != nil {
			t.Fatal(err)
		}
		return strings.Join(receiveAll(t, fe), " ")
	}
	for _, tc := range []struct {
		name string
		msgs []pgproto3.FrontendMessage
		want string
	}{
		{"simple execute", []pgproto3.FrontendMessage{&pgproto3.Query{String: "panic"}},
			"ErrorResponse(XX000) ReadyForQuery"},
		{"simple prepare", []pgproto3.FrontendMessage{&pgproto3.Query{String: "panicprepare"}},
			"ErrorResponse(XX000) ReadyForQuery"},
		{"extended execute", []pgproto3.FrontendMessage{&pgproto3.Parse{Query: "panic"}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{}},
			"ParseComplete BindComplete ErrorResponse(XX000) ReadyForQuery"},
		{"extended prepare", []pgproto3.FrontendMessage{&pgproto3.Parse{Query: "panicprepare"}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{}},
			"ErrorResponse(XX000) ReadyForQuery"},
	} {
		if got := send(tc.msgs...); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
		if got := send(&pgproto3.Query{String: "count 1"}); got != "RowDescription DataRow(0) CommandComplete(SELECT 1) ReadyForQuery" {
			t.Errorf("%s: the session after the panic: %s", tc.name, got)
		}
	}
	if got := ts.watch.take(); len(got) != 4 {
		t.Errorf("logged panics: %q, want the 4", got)
	}
}

// TestUnexpectedMessagesGetAFatalError: messages that are not valid after
// the startup get FATAL 08P01 before the server hangs up. A password
// message used to close the connection silently.
func TestUnexpectedMessagesGetAFatalError(t *testing.T) {
	ts := startServer(t, server.Options{})
	for _, tc := range []struct {
		name     string
		raw      []byte
		fragment string
	}{
		{"password", []byte{'p', 0, 0, 0, 8, 'a', 'b', 'c', 0}, "unexpected message type *pgproto3.PasswordMessage"},
		{"unknown type", []byte{'Z', 0, 0, 0, 4}, "invalid message: unknown message type"},
		{"length below 4", []byte{'Q', 0, 0, 0, 2}, "invalid message: invalid message length"},
		{"truncated bind", []byte{'B', 0, 0, 0, 6, 0xff, 0xff}, "invalid message"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc, fe := rawStartup(t, ts.addr)
			defer nc.Close()
			if _, err := nc.Write(tc.raw); err != nil {
				t.Fatal(err)
			}
			expectFatal(t, fe, "08P01", tc.fragment)
		})
	}
}

// TestOversizedMessageGetsItsError: a message over MaxMessageSize ends the
// connection with FATAL 08P01, and the client reads it even though it was
// still sending the message when the server refused it. Closing a socket
// with unread input resets the connection, which used to lose the error:
// the client saw a broken pipe or a reset instead.
func TestOversizedMessageGetsItsError(t *testing.T) {
	ts := startServer(t, server.Options{MaxMessageSize: 1 << 20})
	huge := "count 1 -- " + strings.Repeat("x", 8<<20)
	ctx := testCtx(t)
	for i := range 10 {
		conn := ts.connect(t)
		_, err := conn.Exec(ctx, huge, pgx.QueryExecModeSimpleProtocol)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "08P01" || pe.Severity != "FATAL" || !strings.Contains(pe.Message, "message too large: 8388620 bytes, more than this server's limit of 1048576") {
			t.Fatalf("attempt %d: %v, want FATAL 08P01 about the size", i, err)
		}
	}
	// The extended protocol too, over a raw socket that keeps writing
	// while it reads.
	nc, fe := rawStartup(t, ts.addr)
	defer nc.Close()
	go func() {
		fe.Send(&pgproto3.Parse{Query: huge})
		fe.Send(&pgproto3.Sync{})
		_ = fe.Flush()
	}()
	expectFatal(t, fe, "08P01", "message too large")
	// The server is fine.
	var n int64
	if err := ts.connect(t).QueryRow(ctx, "count 1").Scan(&n); err != nil {
		t.Fatal(err)
	}
}

// TestStartupErrorsAreAnswered: a handshake that fails gets an error, as
// PostgreSQL sends one: an unsupported protocol version, a malformed
// length, a client that says nothing until the startup timeout, and a
// session that cannot be created.
func TestStartupErrorsAreAnswered(t *testing.T) {
	ts := startServer(t, server.Options{StartupTimeout: 200 * time.Millisecond})
	for _, tc := range []struct {
		name     string
		raw      []byte
		code     string
		fragment string
	}{
		{"protocol 2.0", []byte{0, 0, 0, 8, 0, 2, 0, 0}, "0A000", "unsupported frontend protocol"},
		{"length below the minimum", []byte{0, 0, 0, 3}, "08P01", "invalid length of startup packet"},
		{"length above the maximum", []byte{0x7f, 0xff, 0xff, 0xff}, "08P01", "invalid length of startup packet"},
		{"silence", nil, "08P01", "timeout waiting for the startup message"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", ts.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := nc.Write(tc.raw); err != nil {
				t.Fatal(err)
			}
			expectFatal(t, pgproto3.NewFrontend(nc, nc), tc.code, tc.fragment)
		})
	}
	t.Run("session panics", func(t *testing.T) {
		nc, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
		fe := pgproto3.NewFrontend(nc, nc)
		fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: map[string]string{"user": "panic"}})
		if err := fe.Flush(); err != nil {
			t.Fatal(err)
		}
		expectFatal(t, fe, "XX000", "internal error: fake: new session panicked")
		if got := ts.watch.take(); len(got) != 1 {
			t.Errorf("logged panics: %q", got)
		}
	})
}

// TestShutdownSays57P01: when the server shuts down, an idle session and
// one streaming a push query each get PostgreSQL's 57P01 before the end.
func TestShutdownSays57P01(t *testing.T) {
	ts := startServer(t, server.Options{})
	idle, fe := rawStartup(t, ts.addr)
	defer idle.Close()
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
	expectFatal(t, fe, "57P01", "terminating connection due to administrator command")
	for rows.Next() {
	}
	var pe *pgconn.PgError
	if !errors.As(rows.Err(), &pe) || pe.Code != "57P01" {
		t.Errorf("push query at shutdown: %v, want 57P01", rows.Err())
	}
	if _, err := idle.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("idle socket after shutdown: %v", err)
	}
}
