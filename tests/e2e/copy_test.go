package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/runnel/runnel/engine"
	"github.com/runnel/runnel/tests/harness"
)

const pageviewsDDL = `CREATE STREAM pageviews (userid VARCHAR KEY, pageid VARCHAR, viewtime BIGINT) WITH (kafka_topic='pageviews', partitions=4)`

// TestCopyFromStdin: psql's \copy in CSV with a header and in text, a
// column list, into a stream and a table; one COPY is atomic.
func TestCopyFromStdin(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	exec(t, c, pageviewsDDL)
	exec(t, c, `CREATE TABLE users (id VARCHAR PRIMARY KEY, name VARCHAR, since TIMESTAMP) WITH (kafka_topic='users', partitions=2)`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pc := c.PgConn()
	tag, err := pc.CopyFrom(ctx, strings.NewReader("userid,pageid,viewtime\nalice,home,9000\nbob,\"news, world\",300\n"),
		`COPY pageviews FROM STDIN WITH (FORMAT csv, HEADER)`)
	if err != nil || tag.String() != "COPY 2" {
		t.Fatalf("csv: %v %v", tag, err)
	}
	tag, err = pc.CopyFrom(ctx, strings.NewReader("carol\t\\N\n"), `COPY pageviews (userid, pageid) FROM STDIN`)
	if err != nil || tag.String() != "COPY 1" {
		t.Fatalf("text: %v %v", tag, err)
	}
	wantRows(t, c, `SELECT userid, pageid, viewtime FROM pageviews`, "alice home 9000", "bob news, world 300", "carol <nil> <nil>")
	if _, err := pc.CopyFrom(ctx, strings.NewReader("u1|Ann|2024-01-02 03:04:05\nu2|Bo|\n"), `COPY users FROM STDIN (DELIMITER '|', NULL '')`); err != nil {
		t.Fatal(err)
	}
	wantRows(t, c, `SELECT id, name FROM users`, "u1 Ann", "u2 Bo")

	// A bad row fails the whole COPY with its line and column.
	_, err = pc.CopyFrom(ctx, strings.NewReader("userid,pageid,viewtime\ndan,home,1\neve,home,abc\nfay,home,2\n"),
		`COPY pageviews FROM STDIN WITH (FORMAT csv, HEADER)`)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "22P02" || pe.Where != `COPY PAGEVIEWS, line 3, column VIEWTIME: "abc"` {
		t.Fatalf("bad row: %#v", err)
	}
	// A table row needs its key.
	_, err = pc.CopyFrom(ctx, strings.NewReader("u3,x,\n,y,\n"), `COPY users FROM STDIN (FORMAT csv)`)
	if !errors.As(err, &pe) || pe.Code != "23502" || pe.Where != "COPY USERS, line 2" {
		t.Fatalf("null key: %#v", err)
	}
	wantRows(t, c, `SELECT userid FROM pageviews`, "alice", "bob", "carol")
	wantRows(t, c, `SELECT id FROM users`, "u1", "u2")

	// In a block COPY commits with the block.
	exec(t, c, `BEGIN`)
	if _, err := pc.CopyFrom(ctx, strings.NewReader("gus\th\t1\n"), `COPY pageviews FROM STDIN`); err != nil {
		t.Fatal(err)
	}
	exec(t, c, `ROLLBACK`)
	wantRows(t, c, `SELECT userid FROM pageviews`, "alice", "bob", "carol")

	// Refused forms.
	requireCode(t, c, `COPY pageviews FROM '/etc/passwd'`, "0A000")
	requireCode(t, c, `COPY nope FROM STDIN`, "42P01")
	requireCode(t, c, `COPY pageviews (nope) FROM STDIN`, "42703")
	requireCode(t, c, `COPY pageviews FROM STDIN (FORMAT xml)`, "22023")
	requireCode(t, c, `COPY pageviews FROM STDIN (BOGUS 1)`, "42601")
	requireCode(t, c, `COPY pageviews FROM STDIN (FORCE_NULL (pageid))`, "0A000")
}

// TestCopyFromBinary: pgx's CopyFrom, which sends the binary format.
func TestCopyFromBinary(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	exec(t, c, pageviewsDDL)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows := [][]any{{"alice", "home", int64(1)}, {"bob", nil, int64(2)}}
	n, err := c.CopyFrom(ctx, pgx.Identifier{"PAGEVIEWS"}, []string{"USERID", "PAGEID", "VIEWTIME"}, pgx.CopyFromRows(rows))
	if err != nil || n != 2 {
		t.Fatalf("CopyFrom: %d %v", n, err)
	}
	wantRows(t, c, `SELECT userid, pageid, viewtime FROM pageviews`, "alice home 1", "bob <nil> 2")
}

// TestCopyFromSizeLimit: one COPY's rows are bounded in memory; past the
// limit it fails with 54000 and writes nothing.
func TestCopyFromSizeLimit(t *testing.T) {
	s := harness.Start(t, harness.Options{Engine: func(o *engine.Options) { o.MaxTransactionBytes = 256 << 10 }})
	c := s.Connect(t)
	exec(t, c, pageviewsDDL)
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, "user%d\tpage\t%d\n", i, i)
	}
	_, err := c.PgConn().CopyFrom(context.Background(), strings.NewReader(b.String()), `COPY pageviews FROM STDIN`)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "54000" {
		t.Fatalf("over the limit: %v", err)
	}
	wantRows(t, c, `SELECT userid FROM pageviews`)
}

// TestCopyToStdout: COPY of a scan, of a query, and of a push query whose
// rows reach the client as they happen, until LIMIT or a cancel.
func TestCopyToStdout(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	w := s.Connect(t)
	exec(t, c, `CREATE STREAM ev (id INT KEY, v VARCHAR) WITH (kafka_topic='ev', partitions=1)`)
	exec(t, c, `INSERT INTO ev (id, v) VALUES (1, 'a,b'), (2, NULL)`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pc := c.PgConn()
	var buf bytes.Buffer
	tag, err := pc.CopyTo(ctx, &buf, `COPY ev TO STDOUT`)
	if err != nil || tag.String() != "COPY 2" || buf.String() != "1\ta,b\n2\t\\N\n" {
		t.Fatalf("scan: %v %v %q", tag, err, buf.String())
	}
	buf.Reset()
	if _, err := pc.CopyTo(ctx, &buf, `COPY (SELECT v, id * 10 AS x FROM ev WHERE id = 1) TO STDOUT WITH (FORMAT csv, HEADER)`); err != nil || buf.String() != "V,X\n\"a,b\",10\n" {
		t.Fatalf("query: %v %q", err, buf.String())
	}

	// A push query: each row is written to the client as it happens.
	lines := &lineWriter{lines: make(chan string, 10)}
	done := make(chan error, 1)
	go func() {
		_, err := pc.CopyTo(ctx, lines, `COPY (SELECT id, v FROM ev EMIT CHANGES LIMIT 3) TO STDOUT`)
		done <- err
	}()
	for i := range 3 {
		time.Sleep(20 * time.Millisecond)
		exec(t, w, fmt.Sprintf(`INSERT INTO ev (id, v) VALUES (%d, 'p')`, 10+i))
		select {
		case l := <-lines.lines:
			if l != fmt.Sprintf("%d\tp\n", 10+i) {
				t.Fatalf("row %d: %q", i, l)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("row %d did not stream", i)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("LIMIT: %v", err)
	}
	// Without LIMIT it runs until a cancel, and the session goes on.
	cancelled := make(chan struct{})
	go func() {
		defer close(cancelled)
		time.Sleep(200 * time.Millisecond)
		_ = pc.CancelRequest(ctx)
	}()
	_, err = pc.CopyTo(ctx, io.Discard, `COPY (SELECT id FROM ev EMIT CHANGES) TO STDOUT`)
	<-cancelled
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "57014" {
		t.Fatalf("cancel: %v", err)
	}
	wantRows(t, c, `SELECT id FROM ev`, "1", "10", "11", "12", "2")
}

// lineWriter hands each Write (one CopyData, one row) to a channel.
type lineWriter struct {
	mu    sync.Mutex
	lines chan string
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines <- string(p)
	return len(p), nil
}
