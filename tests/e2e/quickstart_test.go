package e2e

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/runnel/runnel/tests/harness"
)

func exec(t *testing.T, c *pgx.Conn, sql string, args ...any) {
	t.Helper()
	harness.Exec(t, c, sql, args...)
}

func collect(t *testing.T, c *pgx.Conn, sql string) []string {
	t.Helper()
	return harness.Rows(t, c, sql)
}

// TestQuickstart is the scenario: a stream, a persistent filter /
// project query, an insert seen by a push query, and a restart after which
// the query runs on, every row is there exactly once and new rows flow.
func TestQuickstart(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	exec(t, c, `CREATE STREAM pageviews (userid VARCHAR KEY, pageid VARCHAR, viewtime BIGINT)
  WITH (kafka_topic='pageviews', value_format='JSON', partitions=4)`)
	exec(t, c, `CREATE STREAM long_views AS SELECT userid, pageid, viewtime / 1000 AS secs
  FROM pageviews WHERE viewtime > 5000 EMIT CHANGES`)
	exec(t, c, `INSERT INTO pageviews (userid, pageid, viewtime) VALUES ('alice', 'home', 9000)`)
	exec(t, c, `INSERT INTO pageviews (userid, pageid, viewtime) VALUES ('bob', 'home', 100)`)
	exec(t, c, `SET 'auto.offset.reset' = 'earliest'`)
	got := collect(t, c, `SELECT * FROM long_views EMIT CHANGES LIMIT 1`)
	if len(got) != 1 || got[0] != "alice home 9" {
		t.Fatalf("push query rows = %q, want [alice home 9]", got)
	}

	dir := s.DataDir
	s.Stop()
	s = harness.Start(t, harness.Options{DataDir: dir})
	c = s.Connect(t)
	q := collect(t, c, `SHOW QUERIES`)
	if len(q) != 1 {
		t.Fatalf("SHOW QUERIES after restart = %q", q)
	}
	exec(t, c, `INSERT INTO pageviews (userid, pageid, viewtime) VALUES ('carol', 'about', 12000)`)
	exec(t, c, `SET 'auto.offset.reset' = 'earliest'`)
	got = collect(t, c, `SELECT userid, secs FROM long_views EMIT CHANGES LIMIT 2`)
	sort.Strings(got)
	if fmt.Sprint(got) != "[alice 9 carol 12]" {
		t.Fatalf("rows after restart = %q, want alice 9 and carol 12 once each", got)
	}
}

// TestErrorsKeepSessionUsable checks SQLSTATEs of common mistakes.
func TestErrorsKeepSessionUsable(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	ctx := context.Background()
	for _, tc := range []struct{ sql, code string }{
		{`SELEC 1`, "42601"},
		{`SELECT * FROM nope EMIT CHANGES`, "42P01"},
	} {
		_, err := c.Exec(ctx, tc.sql)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != tc.code {
			t.Errorf("%s: error %v, want SQLSTATE %s", tc.sql, err, tc.code)
		}
	}
	exec(t, c, `CREATE STREAM s (id INT KEY, v VARCHAR) WITH (kafka_topic='s', partitions=1)`)
	_, err := c.Exec(ctx, `SELECT nocol FROM s EMIT CHANGES`)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42703" {
		t.Errorf("unknown column: %v, want 42703", err)
	}
}
