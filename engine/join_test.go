package engine

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/build"
	"github.com/runnel/runnel/sql/types"
)

// rowsOf executes one statement and returns its rows as text, each
// value's text joined by " | ".
func rowsOf(t *testing.T, e *Engine, sql string) []string {
	t.Helper()
	ctx := context.Background()
	s := e.NewSession(nil)
	stmts, err := s.Prepare(ctx, sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	res, err := stmts[0].Execute(ctx, make([]types.Value, len(stmts[0].Params())))
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	var out []string
	if res.Rows == nil {
		return nil
	}
	defer res.Rows.Close()
	for {
		row, err := res.Rows.Next(ctx)
		if err != nil {
			return out
		}
		parts := make([]string, len(row))
		for i, v := range row {
			parts[i] = types.Format(v, stmts[0].Columns()[i].Type)
		}
		out = append(out, strings.Join(parts, " | "))
	}
}

// TestJoinStateAndTerminate: a stream-table join whose stream is keyed
// otherwise, aggregated by region, runs in three stages — the stream's
// repartition by the join key, the join (the table's rows in a store per
// task), the aggregation over its repartition by group — and DESCRIBE
// EXTENDED shows the join, both internal topics and every store.
// TERMINATE removes the stores and the internal topics.
func TestJoinStateAndTerminate(t *testing.T) {
	e, err := Open(context.Background(), Options{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s := e.NewSession(nil)
	run(t, s, `CREATE TABLE users (id VARCHAR PRIMARY KEY, region VARCHAR) WITH (kafka_topic='users', partitions=2)`)
	run(t, s, `CREATE STREAM clicks (url VARCHAR, userid VARCHAR) WITH (kafka_topic='clicks', partitions=3)`)
	run(t, s, `INSERT INTO users (id, region) VALUES ('alice', 'eu'), ('bob', 'us'), ('carol', 'eu')`)
	run(t, s, `INSERT INTO clicks (url, userid) VALUES ('/a', 'alice'), ('/b', 'bob'), ('/c', 'carol'), ('/d', 'dave'), ('/e', 'alice')`)
	run(t, s, `SET 'auto.offset.reset' = 'earliest'`)
	run(t, s, `CREATE TABLE per_region AS SELECT u.region AS region, COUNT(*) AS n FROM clicks c JOIN users u ON c.userid = u.id GROUP BY u.region`)
	// The pull query waits for all three stages.
	got := rowsOf(t, e, `SELECT region, n FROM per_region`)
	if strings.Join(got, ",") != "eu | 3,us | 1" && strings.Join(got, ",") != "us | 1,eu | 3" {
		t.Fatalf("per_region = %q", got)
	}
	qs := e.cat.Queries()
	if len(qs) != 1 {
		t.Fatalf("queries: %v", qs)
	}
	id := qs[0].ID
	rq, ok := e.runningQuery(id)
	if !ok {
		t.Fatal("the query does not run")
	}
	roles := map[build.StoreRole]int{}
	for _, st := range rq.stores {
		roles[st.Role]++
	}
	// The join runs in the table's two partitions: so do the stores.
	if roles[build.StoreJoin] != 2 || roles[build.StoreAggregate] != 2 || len(rq.topics) != 2 {
		t.Fatalf("stores %v, topics %v: want two join and two aggregate stores, and two internal topics", rq.stores, rq.topics)
	}
	// A task of the join stage reads partition p of the table and of the
	// stream's repartition topic.
	joins := 0
	for _, task := range rq.tasks {
		if len(task.Inputs) == 2 {
			joins++
			if task.Inputs[0].Topic != "users" || task.Inputs[1].Partition != task.Inputs[0].Partition {
				t.Errorf("join task inputs %v", task.Inputs)
			}
		}
	}
	if joins != 2 {
		t.Errorf("%d join tasks, want 2", joins)
	}
	describe := strings.Join(rowsOf(t, e, `DESCRIBE EXTENDED per_region`), "\n")
	for _, want := range []string{"join | INNER STREAM-TABLE | ON C.USERID = U.ID", "internal_topic | " + rq.topics[0],
		"internal_topic | " + rq.topics[1], "state_store | " + id + "/join/0", "state_store | " + id + "/agg/1"} {
		if !strings.Contains(describe, want) {
			t.Errorf("DESCRIBE EXTENDED lacks %q:\n%s", want, describe)
		}
	}
	stored := func(role build.StoreRole) int {
		n := 0
		for _, st := range rq.stores {
			if st.Role != role {
				continue
			}
			if err := e.state.Reader(st.Name).Scan(nil, nil, func(_, _ []byte) bool { n++; return true }); err != nil {
				t.Fatal(err)
			}
		}
		return n
	}
	if n := stored(build.StoreJoin); n != 3 {
		t.Fatalf("the join's stores hold %d keys, want the table's 3 rows", n)
	}
	run(t, s, `TERMINATE `+id)
	if n := stored(build.StoreJoin) + stored(build.StoreAggregate); n != 0 {
		t.Errorf("%d keys left in the query's stores after TERMINATE", n)
	}
	for _, topic := range rq.topics {
		if _, err := e.log.Topic(context.Background(), topic); !errors.Is(err, log.ErrUnknownTopic) {
			t.Errorf("internal topic %s after TERMINATE: %v", topic, err)
		}
	}
}

// TestJoinStateStats: StateStats counts a join's table rows when the
// query does not aggregate.
func TestJoinStateStats(t *testing.T) {
	e, err := Open(context.Background(), Options{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s := e.NewSession(nil)
	run(t, s, `CREATE TABLE users (id VARCHAR PRIMARY KEY, region VARCHAR) WITH (kafka_topic='users', partitions=1)`)
	run(t, s, `CREATE STREAM views (userid VARCHAR KEY, page VARCHAR) WITH (kafka_topic='views', partitions=1)`)
	run(t, s, `INSERT INTO users (id, region) VALUES ('alice', 'eu'), ('bob', 'us')`)
	run(t, s, `CREATE STREAM enriched AS SELECT v.userid AS userid, v.page, u.region FROM views v LEFT JOIN users u ON v.userid = u.id`)
	// A join's table is read from its first offset, whatever
	// 'auto.offset.reset' says: the rows written before the query are in
	// its store once it has caught up.
	id := e.cat.Queries()[0].ID
	rq, _ := e.runningQuery(id)
	ctx := context.Background()
	if err := e.awaitQuery(ctx, rq); err != nil {
		t.Fatal(err)
	}
	keys, bytes, err := e.StateStats(ctx, id)
	if err != nil || keys != 2 || bytes == 0 {
		t.Fatalf("StateStats = %d keys, %d bytes, %v; want the table's 2 rows", keys, bytes, err)
	}
}
