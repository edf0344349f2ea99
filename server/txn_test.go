package server_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/runnel/runnel/server"
)

// exchange sends what was queued on fe and collects the answers up to
// ReadyForQuery, which shows its transaction status: ReadyForQuery(T).
func exchange(t *testing.T, fe *pgproto3.Frontend) string {
	t.Helper()
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		name := strings.TrimPrefix(fmt.Sprintf("%T", msg), "*pgproto3.")
		switch m := msg.(type) {
		case *pgproto3.DataRow:
			name += "(" + string(m.Values[0]) + ")"
		case *pgproto3.CommandComplete:
			name += "(" + string(m.CommandTag) + ")"
		case *pgproto3.ErrorResponse:
			name += "(" + m.Code + ")"
		case *pgproto3.ReadyForQuery:
			name += "(" + string(m.TxStatus) + ")"
		}
		got = append(got, name)
		if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
			return strings.Join(got, " ")
		}
	}
}

func query(t *testing.T, fe *pgproto3.Frontend, sql string) string {
	t.Helper()
	fe.Send(&pgproto3.Query{String: sql})
	return exchange(t, fe)
}

// TestTransactionStatus: ReadyForQuery reports I, T inside a block and E
// after an error until ROLLBACK, and writes commit with their
// transaction: at COMMIT, or at the end of the implicit transaction of a
// Query message.
func TestTransactionStatus(t *testing.T) {
	ts := startServer(t, server.Options{})
	nc, fe := rawStartup(t, ts.addr)
	defer nc.Close()
	steps := []struct{ sql, want string }{
		{"begin", "CommandComplete(BEGIN) ReadyForQuery(T)"},
		{"write a", "CommandComplete(INSERT 0 1) ReadyForQuery(T)"},
		{"fail", "ErrorResponse(42P01) ReadyForQuery(E)"},
		{"count 1", "ErrorResponse(25P02) ReadyForQuery(E)"},
		{"syntax x", "ErrorResponse(42601) ReadyForQuery(E)"},
		{"commit", "CommandComplete(ROLLBACK) ReadyForQuery(I)"},
		{"begin; write b; write c", "CommandComplete(BEGIN) CommandComplete(INSERT 0 1) CommandComplete(INSERT 0 1) ReadyForQuery(T)"},
		{"commit", "CommandComplete(COMMIT) ReadyForQuery(I)"},
		{"write d", "CommandComplete(INSERT 0 1) ReadyForQuery(I)"},
		// An error rolls back the whole implicit transaction.
		{"write e; fail", "CommandComplete(INSERT 0 1) ErrorResponse(42P01) ReadyForQuery(I)"},
		// BEGIN inside a Query message makes its implicit transaction a
		// block; ROLLBACK there discards what came before it too.
		{"write f; begin; write g; rollback", "CommandComplete(INSERT 0 1) CommandComplete(BEGIN) CommandComplete(INSERT 0 1) CommandComplete(ROLLBACK) ReadyForQuery(I)"},
		// A failed commit is the last statement's error.
		{"failsync; write h", "CommandComplete(SET) ErrorResponse(53100) ReadyForQuery(I)"},
		{"begin; write i; fail", "CommandComplete(BEGIN) CommandComplete(INSERT 0 1) ErrorResponse(42P01) ReadyForQuery(E)"},
		{"rollback", "CommandComplete(ROLLBACK) ReadyForQuery(I)"},
		{"", "EmptyQueryResponse ReadyForQuery(I)"},
	}
	for _, s := range steps {
		if got := query(t, fe, s.sql); got != s.want {
			t.Errorf("%q:\n got  %s\n want %s", s.sql, got, s.want)
		}
	}
	if got, want := ts.fake.committedWrites(), []string{"b", "c", "d"}; !reflect.DeepEqual(got, want) {
		t.Errorf("committed %v, want %v", got, want)
	}
}

// TestPipelineIsOneTransaction: Executes before one Sync are one implicit
// transaction, committed at the Sync or discarded on an error.
func TestPipelineIsOneTransaction(t *testing.T) {
	ts := startServer(t, server.Options{})
	nc, fe := rawStartup(t, ts.addr)
	defer nc.Close()
	run := func(sql string) {
		fe.SendParse(&pgproto3.Parse{Query: sql})
		fe.SendBind(&pgproto3.Bind{})
		fe.SendExecute(&pgproto3.Execute{})
	}
	run("write a")
	run("write b")
	if got := strings.Join(receiveAllAfterFlush(t, fe, true), " "); !strings.HasSuffix(got, "ReadyForQuery(I)") {
		t.Fatalf("pipeline: %s", got)
	}
	if got := ts.fake.committedWrites(); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Fatalf("committed %v after the Sync", got)
	}
	run("write c")
	run("fail")
	run("write d") // skipped: discarded until Sync
	fe.SendSync(&pgproto3.Sync{})
	if got := exchange(t, fe); !strings.HasSuffix(got, "ErrorResponse(42P01) ReadyForQuery(I)") {
		t.Fatalf("failed pipeline: %s", got)
	}
	if got := ts.fake.committedWrites(); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Fatalf("committed %v after a failed pipeline", got)
	}
	// A failure to commit at Sync is reported there.
	run("failsync")
	run("write e")
	fe.SendSync(&pgproto3.Sync{})
	if got := exchange(t, fe); !strings.HasSuffix(got, "CommandComplete(INSERT 0 1) ErrorResponse(53100) ReadyForQuery(I)") {
		t.Fatalf("failed commit: %s", got)
	}
}

// receiveAllAfterFlush sends a Sync (when sync) and collects the answers.
func receiveAllAfterFlush(t *testing.T, fe *pgproto3.Frontend, sync bool) []string {
	t.Helper()
	if sync {
		fe.SendSync(&pgproto3.Sync{})
	}
	return strings.Fields(exchange(t, fe))
}

// TestPortalsLiveUntilTheTransactionEnds: a suspended portal survives
// Sync inside a block (JDBC's fetch size with autocommit off) and is
// closed by COMMIT; in a failed block it refuses to go on.
func TestPortalsLiveUntilTheTransactionEnds(t *testing.T) {
	ts := startServer(t, server.Options{})
	nc, fe := rawStartup(t, ts.addr)
	defer nc.Close()
	fe.SendParse(&pgproto3.Parse{Query: "begin"})
	fe.SendBind(&pgproto3.Bind{})
	fe.SendExecute(&pgproto3.Execute{})
	fe.SendParse(&pgproto3.Parse{Name: "s", Query: "count 5"})
	fe.SendBind(&pgproto3.Bind{PreparedStatement: "s", DestinationPortal: "C_1"})
	fe.SendExecute(&pgproto3.Execute{Portal: "C_1", MaxRows: 2})
	fe.SendSync(&pgproto3.Sync{})
	want := "ParseComplete BindComplete CommandComplete(BEGIN) ParseComplete BindComplete DataRow(0) DataRow(1) PortalSuspended ReadyForQuery(T)"
	if got := exchange(t, fe); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	fe.SendExecute(&pgproto3.Execute{Portal: "C_1", MaxRows: 2})
	fe.SendSync(&pgproto3.Sync{})
	if got := exchange(t, fe); got != "DataRow(2) DataRow(3) PortalSuspended ReadyForQuery(T)" {
		t.Fatalf("second fetch: %s", got)
	}
	// COMMIT closes it.
	fe.SendParse(&pgproto3.Parse{Query: "commit"})
	fe.SendBind(&pgproto3.Bind{})
	fe.SendExecute(&pgproto3.Execute{})
	fe.SendExecute(&pgproto3.Execute{Portal: "C_1", MaxRows: 2})
	fe.SendSync(&pgproto3.Sync{})
	if got := exchange(t, fe); got != "ParseComplete BindComplete CommandComplete(COMMIT) ErrorResponse(34000) ReadyForQuery(I)" {
		t.Fatalf("after commit: %s", got)
	}

	// In a failed block a suspended portal cannot go on.
	query(t, fe, "begin")
	fe.SendBind(&pgproto3.Bind{PreparedStatement: "s", DestinationPortal: "C_2"})
	fe.SendExecute(&pgproto3.Execute{Portal: "C_2", MaxRows: 1})
	fe.SendSync(&pgproto3.Sync{})
	if got := exchange(t, fe); got != "BindComplete DataRow(0) PortalSuspended ReadyForQuery(T)" {
		t.Fatalf("portal in block: %s", got)
	}
	if got := query(t, fe, "fail"); got != "ErrorResponse(42P01) ReadyForQuery(E)" {
		t.Fatalf("fail: %s", got)
	}
	fe.SendExecute(&pgproto3.Execute{Portal: "C_2", MaxRows: 1})
	fe.SendSync(&pgproto3.Sync{})
	if got := exchange(t, fe); got != "ErrorResponse(25P02) ReadyForQuery(E)" {
		t.Fatalf("portal in failed block: %s", got)
	}
	if got := query(t, fe, "rollback"); got != "CommandComplete(ROLLBACK) ReadyForQuery(I)" {
		t.Fatalf("rollback: %s", got)
	}
}

// TestPortalLimit: a connection keeps at most MaxPortals portals.
func TestPortalLimit(t *testing.T) {
	ts := startServer(t, server.Options{MaxPortals: 3})
	nc, fe := rawStartup(t, ts.addr)
	defer nc.Close()
	query(t, fe, "begin")
	fe.SendParse(&pgproto3.Parse{Name: "s", Query: "count 5"})
	for i := range 4 {
		fe.SendBind(&pgproto3.Bind{PreparedStatement: "s", DestinationPortal: fmt.Sprintf("p%d", i)})
	}
	fe.SendSync(&pgproto3.Sync{})
	if got := exchange(t, fe); got != "ParseComplete BindComplete BindComplete BindComplete ErrorResponse(54000) ReadyForQuery(E)" {
		t.Fatalf("got %s", got)
	}
	query(t, fe, "rollback")
	// Rebinding a name replaces its portal.
	for range 5 {
		fe.SendBind(&pgproto3.Bind{PreparedStatement: "s", DestinationPortal: "same"})
	}
	fe.SendSync(&pgproto3.Sync{})
	if got := exchange(t, fe); strings.Contains(got, "Error") {
		t.Fatalf("rebinding: %s", got)
	}
}

// TestDriverTransactions: pgx's Begin/Commit/Rollback see the statuses
// they expect.
func TestDriverTransactions(t *testing.T) {
	ts := startServer(t, server.Options{})
	conn := ts.connect(t)
	ctx := testCtx(t)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if conn.PgConn().TxStatus() != 'T' {
		t.Fatalf("status after Begin: %c", conn.PgConn().TxStatus())
	}
	if _, err := tx.Exec(ctx, "write x"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	tx, err = conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "write y"); err != nil {
		t.Fatal(err)
	}
	_, err = tx.Exec(ctx, "fail")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42P01" || conn.PgConn().TxStatus() != 'E' {
		t.Fatalf("failing statement: %v, status %c", err, conn.PgConn().TxStatus())
	}
	// pgx's Commit of a failed transaction reports ErrTxCommitRollback.
	if err := tx.Commit(ctx); !errors.Is(err, pgx.ErrTxCommitRollback) {
		t.Fatalf("commit of a failed transaction: %v", err)
	}
	tx, err = conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "write z"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ts.fake.committedWrites(); !reflect.DeepEqual(got, []string{"z"}) {
		t.Fatalf("committed %v, want [z]", got)
	}
}
