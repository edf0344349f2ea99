package engine

import (
	"context"
	"io"
	"log/slog"
	"testing"
)

// TestStateStatsStreamStreamJoin: StateStats counts the records a
// stream-stream join keeps in its windows, and, for a query that joins
// and then aggregates, the join's records as well as the groups.
func TestStateStatsStreamStreamJoin(t *testing.T) {
	e, err := Open(context.Background(), Options{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s := e.NewSession(nil)
	run(t, s, `CREATE STREAM a (id BIGINT KEY, x BIGINT) WITH (kafka_topic='a', partitions=1)`)
	run(t, s, `CREATE STREAM b (id BIGINT KEY, y BIGINT) WITH (kafka_topic='b', partitions=1)`)
	run(t, s, `INSERT INTO a (id, x, ROWTIME) VALUES (1, 10, 1000), (2, 20, 2000)`)
	run(t, s, `INSERT INTO b (id, y, ROWTIME) VALUES (1, 100, 1500), (1, 101, 1600), (3, 300, 2500)`)
	run(t, s, `SET 'auto.offset.reset' = 'earliest'`)
	run(t, s, `CREATE STREAM j AS SELECT a.id AS id, a.x, b.y FROM a JOIN b WITHIN 1 HOUR ON a.id = b.id`)
	run(t, s, `CREATE TABLE g AS SELECT a.id AS id, COUNT(*) AS n FROM a JOIN b WITHIN 1 HOUR ON a.id = b.id GROUP BY a.id`)
	ctx := context.Background()
	want := map[int]int64{0: 5, 1: 5 + 1} // the 5 records in their windows; then the one group too
	for i, q := range e.cat.Queries() {
		rq, ok := e.runningQuery(q.ID)
		if !ok {
			t.Fatalf("query %s does not run", q.ID)
		}
		if err := e.awaitQuery(ctx, rq); err != nil {
			t.Fatal(err)
		}
		keys, bytes, err := e.StateStats(ctx, q.ID)
		if err != nil || keys != want[i] || bytes == 0 {
			t.Errorf("query %d (%s): StateStats = %d keys, %d bytes, %v; want %d keys", i, q.ID, keys, bytes, err, want[i])
		}
	}
}
