package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/server"
	"github.com/runnel/runnel/sql/types"
)

// try executes one statement and returns its error, draining any rows.
func try(s server.Session, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stmts, err := s.Prepare(ctx, sql)
	if err != nil {
		return err
	}
	for _, st := range stmts {
		res, err := st.Execute(ctx, make([]types.Value, len(st.Params())))
		if err != nil {
			return err
		}
		if res.Rows != nil {
			for {
				if _, err := res.Rows.Next(ctx); err != nil {
					res.Rows.Close()
					if !errors.Is(err, io.EOF) {
						return err
					}
					break
				}
			}
		}
	}
	// The implicit transaction ends, as the server ends it with Sync.
	return s.Sync(ctx)
}

func openLimited(t *testing.T, dir string, max int32) *Engine {
	t.Helper()
	e, err := Open(context.Background(), Options{DataDir: dir, MaxPartitions: max, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func wantCode(t *testing.T, err error, code sqlstate.Code, fragment string) {
	t.Helper()
	if sqlstate.Of(err) != code || !strings.Contains(fmt.Sprint(err), fragment) {
		t.Errorf("error %v (code %q), want %s mentioning %q", err, sqlstate.Of(err), code, fragment)
	}
}

// TestMaxPartitionsOption: the engine's MaxPartitions bounds every way a
// topic gets its partitions; lowered below what a data directory holds,
// the sources over it open as failed (reads refused, their queries in
// ERROR) and drop cleanly.
func TestMaxPartitionsOption(t *testing.T) {
	dir := t.TempDir()
	e := openLimited(t, dir, 4)
	s := e.NewSession(nil)
	wantCode(t, try(s, `CREATE STREAM a (id INT KEY, v INT) WITH (kafka_topic='a', partitions=5)`), sqlstate.ProgramLimitExceeded, "limit of 4")
	run(t, s, `CREATE STREAM a (id INT KEY, v INT) WITH (kafka_topic='a', partitions=4)`)
	wantCode(t, try(s, `CREATE STREAM b WITH (partitions=5) AS SELECT id, v FROM a`), sqlstate.ProgramLimitExceeded, "limit of 4")
	run(t, s, `CREATE STREAM b AS SELECT id, v FROM a`)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	e = openLimited(t, dir, 2)
	defer e.Close()
	s = e.NewSession(nil)
	for _, sql := range []string{`SELECT * FROM a EMIT CHANGES LIMIT 1`, `SELECT * FROM b`, `CREATE STREAM c AS SELECT id, v FROM a`} {
		wantCode(t, try(s, sql), sqlstate.ProgramLimitExceeded, "(DROP STREAM ")
	}
	q := e.cat.Queries()
	if len(q) != 1 {
		t.Fatalf("queries: %v", q)
	}
	rq, ok := e.runningQuery(q[0].ID)
	if !ok {
		t.Fatalf("query %s is not known to the engine", q[0].ID)
	}
	if state, err := rq.status(); state != stateError || sqlstate.Of(err) != sqlstate.ProgramLimitExceeded {
		t.Errorf("query over a failed source: %s %v, want ERROR with 54000", state, err)
	}
	run(t, s, `TERMINATE ALL`)
	run(t, s, `DROP STREAM b DELETE TOPIC`)
	run(t, s, `DROP STREAM a DELETE TOPIC`)
	if srcs := e.cat.Sources(); len(srcs) != 1 {
		t.Errorf("sources after the drops: %d, want the processing log only", len(srcs))
	}
	// The names are free again, within the new limit.
	run(t, s, `CREATE STREAM a (id INT KEY, v INT) WITH (kafka_topic='a', partitions=2)`)
}

func TestMaxPartitionsMustBePositive(t *testing.T) {
	if _, err := Open(context.Background(), Options{DataDir: t.TempDir(), MaxPartitions: -1}); err == nil {
		t.Fatal("MaxPartitions -1 was accepted")
	}
}

// TestRefusedReplaceChangesNothing: a CREATE OR REPLACE refused by its
// last check (the sink topic exists with another partition count) leaves
// the query it would have replaced running, and writes nothing. The old
// order stopped the query before that check.
func TestRefusedReplaceChangesNothing(t *testing.T) {
	e := openLimited(t, t.TempDir(), 0)
	defer e.Close()
	s := e.NewSession(nil)
	run(t, s, `CREATE STREAM src (id INT KEY, v INT) WITH (kafka_topic='src', partitions=1)`)
	run(t, s, `CREATE STREAM out AS SELECT id, v FROM src`)
	id := e.cat.Queries()[0].ID
	seq := e.cat.NextSequence()
	wantCode(t, try(s, `CREATE OR REPLACE STREAM out WITH (partitions=3) AS SELECT id, v + 1 AS v FROM src`), sqlstate.InvalidParameter, "exists with 1 partitions, not 3")
	wantCode(t, try(s, `CREATE OR REPLACE STREAM out WITH (replicas=0) AS SELECT id, v + 1 AS v FROM src`), sqlstate.InvalidParameter, "REPLICAS")
	if got := e.cat.NextSequence(); got != seq {
		t.Errorf("the catalog moved from %d to %d", seq, got)
	}
	rq, ok := e.runningQuery(id)
	if !ok || rq.plan == nil {
		t.Fatalf("query %s no longer runs", id)
	}
	if state, err := rq.status(); state != stateRunning {
		t.Errorf("query %s: %s %v", id, state, err)
	}
	if q, _ := e.cat.Query(id); q == nil || strings.Contains(q.Statement, "v + 1") {
		t.Errorf("the recorded query changed: %+v", q)
	}
	// A refused CREATE leaves no topic behind either.
	topics, err := e.log.Topics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		`CREATE STREAM x WITH (kafka_topic='x', partitions=0) AS SELECT id FROM src`,
		`CREATE STREAM "x y" AS SELECT id FROM src`,
		`CREATE TABLE t (k INT PRIMARY KEY, v INT) WITH (kafka_topic='t', partitions=1, replicas=2)`,
	} {
		if err := try(s, sql); err == nil {
			t.Errorf("%s succeeded", sql)
		}
	}
	after, err := e.log.Topics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(topics) {
		t.Errorf("topics went from %v to %v", topics, after)
	}
}
