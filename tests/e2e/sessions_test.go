package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/runnel/runnel/tests/harness"
)

// TestCancelPushQuery cancels a push query that has no LIMIT while it waits
// for rows: the client gets 57014 and the connection stays usable.
func TestCancelPushQuery(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	exec(t, c, `CREATE STREAM ticks (id INT KEY, v VARCHAR) WITH (kafka_topic='ticks', partitions=2)`)
	exec(t, c, `INSERT INTO ticks (id, v) VALUES (1, 'first')`)
	exec(t, c, `SET 'auto.offset.reset' = 'earliest'`)

	ctx, cancel := context.WithCancel(context.Background())
	rows, err := c.Query(ctx, `SELECT id, v FROM ticks EMIT CHANGES`)
	if err != nil {
		t.Fatal(err)
	}
	// The first row arrives while the query is still running.
	if !rows.Next() {
		t.Fatalf("no first row: %v", rows.Err())
	}
	var id int32
	var v string
	if err := rows.Scan(&id, &v); err != nil || id != 1 || v != "first" {
		t.Fatalf("first row = %d %q (%v)", id, v, err)
	}
	time.AfterFunc(100*time.Millisecond, cancel)
	for rows.Next() {
	}
	var pe *pgconn.PgError
	if err := rows.Err(); !errors.As(err, &pe) || pe.Code != "57014" {
		// pgx may report the context error itself once it has sent the
		// CancelRequest; either way the statement must end.
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("after cancel: %v, want SQLSTATE 57014", err)
		}
	}
	rows.Close()
	// The same connection works afterwards (pgx closes it when the context
	// error came first, so use a fresh one in that case).
	if c.IsClosed() {
		c = s.Connect(t)
	}
	if got := collect(t, c, `SHOW STREAMS`); len(got) != 2 {
		t.Fatalf("SHOW STREAMS after cancel = %q", got)
	}
}

// TestConcurrentSessions runs many sessions that insert and read at once.
func TestConcurrentSessions(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	exec(t, c, `CREATE STREAM events (k VARCHAR KEY, n INT) WITH (kafka_topic='events', partitions=4)`)
	const sessions, each = 12, 10
	var wg sync.WaitGroup
	errs := make(chan error, sessions)
	for i := 0; i < sessions; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			conn, err := pgx.Connect(ctx, s.DSN())
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close(context.Background())
			for j := 0; j < each; j++ {
				if _, err := conn.Exec(ctx, `INSERT INTO events (k, n) VALUES ($1, $2)`, fmt.Sprintf("s%d", i), j); err != nil {
					errs <- fmt.Errorf("session %d insert %d: %w", i, j, err)
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
	if got := collect(t, c, `SELECT k FROM events`); len(got) != sessions*each {
		t.Fatalf("scan found %d rows, want %d", len(got), sessions*each)
	}
}

// TestMultiStatementText runs a simple-protocol text whose later
// statements depend on earlier ones.
func TestMultiStatementText(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	res, err := c.PgConn().Exec(ctx, `CREATE STREAM m (k INT KEY, v VARCHAR) WITH (kafka_topic='m', partitions=1);
		INSERT INTO m (k, v) VALUES (1, 'one'); SELECT k, v FROM m;`).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || len(res[2].Rows) != 1 || string(res[2].Rows[0][1]) != "one" {
		t.Fatalf("results = %+v", res)
	}
}

// TestDriverChatter: what PostgreSQL drivers and pools send on their own —
// JDBC's session settings, a pool's health check, statements wrapped in
// BEGIN/COMMIT, SHOW of server settings — works.
func TestDriverChatter(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	for _, q := range []string{
		`SET extra_float_digits = 3`,
		`SET application_name = 'PostgreSQL JDBC Driver'`,
		`SET TIME ZONE 'UTC'`,
		`BEGIN`,
		`CREATE STREAM j (id INT KEY, v VARCHAR) WITH (kafka_topic='j', partitions=1)`,
		`INSERT INTO j (id, v) VALUES (1, 'x')`,
		`COMMIT`,
		`ROLLBACK`,
	} {
		exec(t, c, q)
	}
	for q, want := range map[string]string{
		`SELECT 1`:                            "1",
		`SELECT 1 + 1 AS two, 'ok' AS status`: "2 ok",
		`SHOW server_version`:                 "15.0 (Runnel)",
		`SHOW TRANSACTION ISOLATION LEVEL`:    "read committed",
		`SHOW extra_float_digits`:             "3",
		`SHOW application_name`:               "PostgreSQL JDBC Driver",
		`SELECT v FROM j`:                     "x",
	} {
		if got := strings.Join(collect(t, c, q), ","); got != want {
			t.Errorf("%s = %q, want %q", q, got, want)
		}
	}
	exec(t, c, `RESET ALL`)
	if got := strings.Join(collect(t, c, `SHOW extra_float_digits`), ","); got != "1" {
		t.Errorf("after RESET ALL: extra_float_digits = %q, want the default 1", got)
	}
	_, err := c.Exec(context.Background(), `SHOW no_such_setting`)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42704" {
		t.Errorf("SHOW of an unknown setting: %v, want 42704", err)
	}
}
