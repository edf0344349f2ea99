package engine

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/build"
)

// TestTerminateRemovesState: TERMINATE removes every store and internal
// topic the builder reported for the query — over a table input, the
// last-row stores of its first stage and the aggregation's stores, and
// the repartition topic between them — once its tasks have stopped.
func TestTerminateRemovesState(t *testing.T) {
	e, err := Open(context.Background(), Options{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s := e.NewSession(nil)
	run(t, s, `CREATE TABLE users (id VARCHAR PRIMARY KEY, region VARCHAR) WITH (kafka_topic='users', partitions=2)`)
	run(t, s, `INSERT INTO users (id, region) VALUES ('alice', 'eu'), ('bob', 'us'), ('carol', 'eu')`)
	run(t, s, `SET 'auto.offset.reset' = 'earliest'`)
	run(t, s, `CREATE TABLE per_region AS SELECT region, COUNT(*) AS n FROM users GROUP BY region`)
	// A pull query waits until the query has caught up: its stores hold
	// the three rows and two groups.
	run(t, s, `SELECT * FROM per_region`)
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
	if roles[build.StoreRows] != 2 || roles[build.StoreAggregate] != 2 || len(rq.topics) != 1 {
		t.Fatalf("stores %v, topics %v: want two of each role and the repartition topic", rq.stores, rq.topics)
	}
	keys, _, err := e.StateStats(context.Background(), id)
	if err != nil || keys != 2 {
		t.Fatalf("StateStats: %d keys, %v; want the two groups", keys, err)
	}
	stored := func() int {
		n := 0
		for _, st := range rq.stores {
			if err := e.state.Reader(st.Name).Scan(nil, nil, func(_, _ []byte) bool { n++; return true }); err != nil {
				t.Fatal(err)
			}
		}
		return n
	}
	if stored() == 0 {
		t.Fatal("the stores are empty while the query runs")
	}
	run(t, s, `TERMINATE `+id)
	if n := stored(); n != 0 {
		t.Errorf("%d keys left in the query's stores after TERMINATE", n)
	}
	for _, topic := range rq.topics {
		if _, err := e.log.Topic(context.Background(), topic); !errors.Is(err, log.ErrUnknownTopic) {
			t.Errorf("internal topic %s after TERMINATE: %v", topic, err)
		}
	}
	if _, _, err := e.StateStats(context.Background(), id); err == nil {
		t.Error("StateStats of a terminated query")
	}
}
