package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/runnel/runnel/tests/harness"
)

// fetch runs a FETCH (or any query) through the simple protocol, as psql
// and psycopg2 do, and returns its rows' first values.
func fetch(ctx context.Context, c *pgx.Conn, sql string) ([]string, string, error) {
	res, err := c.PgConn().Exec(ctx, sql).ReadAll()
	if err != nil {
		return nil, "", err
	}
	r := res[len(res)-1]
	var out []string
	for _, row := range r.Rows {
		out = append(out, string(row[0]))
	}
	return out, r.CommandTag.String(), r.Err
}

// TestCursorOverPushQuery: psql's FETCH_COUNT conversation over a push
// query. FETCH n returns as soon as n rows are there; a FETCH that waits
// can be cancelled and the connection goes on.
func TestCursorOverPushQuery(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	w := s.Connect(t)
	exec(t, c, `CREATE STREAM ev (id INT KEY, v VARCHAR) WITH (kafka_topic='ev', partitions=1)`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	exec(t, c, `BEGIN`)
	exec(t, c, "DECLARE _psql_cursor NO SCROLL CURSOR FOR\nSELECT id FROM ev EMIT CHANGES")
	// Rows arrive after the DECLARE, two at a time.
	inserted := make(chan error, 1)
	go func() {
		for i := range 3 {
			time.Sleep(50 * time.Millisecond)
			if _, err := w.Exec(ctx, fmt.Sprintf(`INSERT INTO ev (id, v) VALUES (%d, 'x'), (%d, 'y')`, 2*i, 2*i+1)); err != nil {
				inserted <- err
				return
			}
		}
		inserted <- nil
	}()
	var got []string
	for len(got) < 6 {
		rows, tag, err := fetch(ctx, c, `FETCH FORWARD 2 FROM _psql_cursor`)
		if err != nil || len(rows) != 2 || tag != "FETCH 2" {
			t.Fatalf("FETCH: %v %v %v", rows, tag, err)
		}
		got = append(got, rows...)
	}
	if strings.Join(got, ",") != "0,1,2,3,4,5" {
		t.Fatalf("rows %v", got)
	}
	if err := <-inserted; err != nil {
		t.Fatal(err)
	}
	// Nothing more comes: a cancel request (psql's Ctrl-C) ends the
	// waiting FETCH with 57014.
	cancelled := make(chan struct{})
	go func() {
		defer close(cancelled)
		time.Sleep(300 * time.Millisecond)
		_ = c.PgConn().CancelRequest(ctx)
	}()
	_, _, err := fetch(ctx, c, `FETCH FORWARD 2 FROM _psql_cursor`)
	<-cancelled
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "57014" {
		t.Fatalf("cancelled FETCH: %v", err)
	}
	if c.PgConn().TxStatus() != 'E' {
		t.Fatalf("status %c after the cancel", c.PgConn().TxStatus())
	}
	exec(t, c, `ROLLBACK`)
	// The cursor went with its transaction; the connection goes on.
	requireCode(t, c, `FETCH 1 FROM _psql_cursor`, "34000")
	wantRows(t, c, `SELECT id FROM ev`, "0", "1", "2", "3", "4", "5")
}

// TestCursorsOverScansAndPulls: cursors over a stream scan and a table's
// pull query, FETCH ALL, MOVE, CLOSE, WITH HOLD and the errors.
func TestCursorsOverScansAndPulls(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	exec(t, c, `CREATE STREAM ev (id INT KEY, v VARCHAR) WITH (kafka_topic='ev', partitions=1)`)
	exec(t, c, `CREATE TABLE tb (id INT PRIMARY KEY, v VARCHAR) WITH (kafka_topic='tb', partitions=1)`)
	var vals []string
	for i := range 10 {
		vals = append(vals, fmt.Sprintf("(%d, 'v%d')", i, i))
	}
	exec(t, c, `INSERT INTO ev (id, v) VALUES `+strings.Join(vals, ", "))
	exec(t, c, `INSERT INTO tb (id, v) VALUES `+strings.Join(vals, ", "))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	step := func(sql, wantTag string, want ...string) {
		t.Helper()
		rows, tag, err := fetch(ctx, c, sql)
		if err != nil || tag != wantTag || strings.Join(rows, ",") != strings.Join(want, ",") {
			t.Fatalf("%s: %v %q %v, want %q %v", sql, rows, tag, err, wantTag, want)
		}
	}
	requireCode(t, c, `DECLARE c CURSOR FOR SELECT id FROM ev`, "25P01")
	exec(t, c, `BEGIN`)
	step(`DECLARE c CURSOR FOR SELECT id FROM ev`, "DECLARE CURSOR")
	step(`FETCH 3 FROM c`, "FETCH 3", "0", "1", "2")
	step(`MOVE FORWARD 2 IN c`, "MOVE 2")
	step(`FETCH NEXT FROM c`, "FETCH 1", "5")
	step(`FETCH ALL FROM c`, "FETCH 4", "6", "7", "8", "9")
	step(`FETCH c`, "FETCH 0")
	requireCode(t, c, `FETCH PRIOR FROM c`, "55000")
	exec(t, c, `ROLLBACK`)
	exec(t, c, `BEGIN`)
	step(`DECLARE t CURSOR FOR SELECT id, v FROM tb WHERE id >= 7 ORDER BY id`, "DECLARE CURSOR")
	requireCode(t, c, `DECLARE t CURSOR FOR SELECT id FROM tb`, "42P03")
	exec(t, c, `ROLLBACK`)
	exec(t, c, `BEGIN`)
	step(`DECLARE t CURSOR FOR SELECT id, v FROM tb WHERE id >= 7 ORDER BY id`, "DECLARE CURSOR")
	step(`FETCH 100 FROM t`, "FETCH 3", "7", "8", "9")
	step(`CLOSE t`, "CLOSE CURSOR")
	requireCode(t, c, `FETCH 1 FROM t`, "34000")
	exec(t, c, `ROLLBACK`)
	// WITH HOLD outlives the transaction, and needs none.
	step(`DECLARE h CURSOR WITH HOLD FOR SELECT id FROM ev`, "DECLARE CURSOR")
	step(`FETCH 2 FROM h`, "FETCH 2", "0", "1")
	exec(t, c, `BEGIN`)
	step(`FETCH 1 FROM h`, "FETCH 1", "2")
	exec(t, c, `COMMIT`)
	step(`FETCH 1 FROM h`, "FETCH 1", "3")
	step(`CLOSE ALL`, "CLOSE CURSOR ALL")
	requireCode(t, c, `FETCH 1 FROM h`, "34000")
	requireCode(t, c, `DECLARE s SCROLL CURSOR WITH HOLD FOR SELECT id FROM ev`, "55000")
	// A BINARY cursor's rows come in binary through the simple protocol.
	exec(t, c, `BEGIN`)
	exec(t, c, `DECLARE bin BINARY CURSOR FOR SELECT id FROM ev`)
	res, err := c.PgConn().Exec(ctx, `FETCH 1 FROM bin`).ReadAll()
	if err != nil || len(res[0].Rows) != 1 || res[0].FieldDescriptions[0].Format != 1 || string(res[0].Rows[0][0]) != "\x00\x00\x00\x00" {
		t.Fatalf("binary cursor: %v %+v", err, res)
	}
	exec(t, c, `ROLLBACK`)
	// Parameters of the cursor's query, through the extended protocol.
	exec(t, c, `BEGIN`)
	exec(t, c, `DECLARE p CURSOR FOR SELECT v FROM tb WHERE id = $1`, 4)
	step(`FETCH ALL FROM p`, "FETCH 1", "v4")
	exec(t, c, `COMMIT`)
}

// TestPsycopg2NamedCursor: what psycopg2's named cursor sends (quoted
// name, WITHOUT HOLD, FETCH FORWARD 2000, CLOSE) inside its transaction.
func TestPsycopg2NamedCursor(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	exec(t, c, `CREATE STREAM ev (id INT KEY, v VARCHAR) WITH (kafka_topic='ev', partitions=2)`)
	var vals []string
	for i := range 2500 {
		vals = append(vals, fmt.Sprintf("(%d, 'v')", i))
	}
	exec(t, c, `INSERT INTO ev (id, v) VALUES `+strings.Join(vals, ", "))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	exec(t, c, `BEGIN`)
	exec(t, c, `DECLARE "my_cursor" CURSOR WITHOUT HOLD FOR SELECT id FROM ev`)
	total := 0
	for {
		rows, _, err := fetch(ctx, c, `FETCH FORWARD 2000 FROM "my_cursor"`)
		if err != nil {
			t.Fatal(err)
		}
		total += len(rows)
		if len(rows) < 2000 {
			break
		}
	}
	exec(t, c, `CLOSE "my_cursor"`)
	exec(t, c, `COMMIT`)
	if total != 2500 {
		t.Fatalf("fetched %d rows", total)
	}
}

// TestPortalSuspendedInTransaction: JDBC's fetch size with autocommit off
// — Execute with a row limit, PortalSuspended, Sync, Execute again — over
// a push query, and the portal lives until COMMIT.
func TestPortalSuspendedInTransaction(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	exec(t, c, `CREATE STREAM ev (id INT KEY, v VARCHAR) WITH (kafka_topic='ev', partitions=1)`)
	exec(t, c, `INSERT INTO ev (id, v) VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e')`)
	nc, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	fe := pgproto3.NewFrontend(nc, nc)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: map[string]string{"user": "jdbc"}})
	recv := func() string {
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
			switch m := msg.(type) {
			case *pgproto3.DataRow:
				got = append(got, string(m.Values[0]))
			case *pgproto3.PortalSuspended:
				got = append(got, "suspended")
			case *pgproto3.CommandComplete:
				got = append(got, string(m.CommandTag))
			case *pgproto3.ErrorResponse:
				got = append(got, m.Code)
			case *pgproto3.ReadyForQuery:
				return strings.Join(append(got, string(m.TxStatus)), " ")
			}
		}
	}
	recv()
	fe.SendParse(&pgproto3.Parse{Name: "begin", Query: "BEGIN"})
	fe.SendBind(&pgproto3.Bind{PreparedStatement: "begin"})
	fe.SendExecute(&pgproto3.Execute{})
	fe.SendParse(&pgproto3.Parse{Name: "q", Query: "SET 'auto.offset.reset' = 'earliest'"})
	fe.SendBind(&pgproto3.Bind{PreparedStatement: "q"})
	fe.SendExecute(&pgproto3.Execute{})
	fe.SendParse(&pgproto3.Parse{Name: "s", Query: "SELECT id FROM ev EMIT CHANGES LIMIT 5"})
	fe.SendBind(&pgproto3.Bind{PreparedStatement: "s", DestinationPortal: "C_1"})
	fe.SendExecute(&pgproto3.Execute{Portal: "C_1", MaxRows: 2})
	fe.SendSync(&pgproto3.Sync{})
	if got := recv(); got != "BEGIN SET 1 2 suspended T" {
		t.Fatalf("first fetch: %s", got)
	}
	fe.SendExecute(&pgproto3.Execute{Portal: "C_1", MaxRows: 2})
	fe.SendSync(&pgproto3.Sync{})
	if got := recv(); got != "3 4 suspended T" {
		t.Fatalf("second fetch: %s", got)
	}
	fe.SendExecute(&pgproto3.Execute{Portal: "C_1", MaxRows: 2})
	fe.SendSync(&pgproto3.Sync{})
	if got := recv(); got != "5 SELECT 1 T" {
		t.Fatalf("last fetch: %s", got)
	}
	fe.Send(&pgproto3.Query{String: "COMMIT"})
	if got := recv(); got != "COMMIT I" {
		t.Fatalf("commit: %s", got)
	}
}
