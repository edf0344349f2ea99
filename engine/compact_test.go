package engine

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/server"
	"github.com/runnel/runnel/sql/types"
)

// run executes one statement on a session and drains its rows.
func run(t *testing.T, s server.Session, sql string) {
	t.Helper()
	ctx := context.Background()
	stmts, err := s.Prepare(ctx, sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	for _, st := range stmts {
		res, err := st.Execute(ctx, make([]types.Value, len(st.Params())))
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		if res.Rows != nil {
			for {
				if _, err := res.Rows.Next(ctx); err != nil {
					break
				}
			}
			res.Rows.Close()
		}
	}
	// The implicit transaction ends, as the server ends it with Sync.
	if err := s.Sync(ctx); err != nil {
		t.Fatalf("%s: commit: %v", sql, err)
	}
}

// TestCompactsTables: the engine compacts a table's topic on its own, so
// only the latest record of each key remains.
func TestCompactsTables(t *testing.T) {
	e, err := Open(context.Background(), Options{DataDir: t.TempDir(), CompactionInterval: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s := e.NewSession(nil)
	run(t, s, `CREATE TABLE prices (item VARCHAR PRIMARY KEY, price INT) WITH (kafka_topic='prices', partitions=1)`)
	for _, p := range []string{"1", "2", "3"} {
		run(t, s, `INSERT INTO prices (item, price) VALUES ('tea', `+p+`)`)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := countRecords(t, e.Log(), "prices")
		if n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("prices still holds %d records for one key", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func countRecords(t *testing.T, l log.Log, topic string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ends, err := l.EndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	r, err := l.NewReader(ctx, log.TopicPartition{Topic: topic}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	for r.Position() < ends[0] {
		recs, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(recs)
	}
	return n
}
