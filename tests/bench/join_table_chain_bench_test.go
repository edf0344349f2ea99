package bench

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/tests/harness"
)

// BenchmarkTableChainJoin: a chain of three tables of one partition, b.N
// rows each (run with -benchtime 100000x for 100k a table), every key in
// all three: t1 JOIN t2 JOIN t3 on the key, two stages linked by the
// internal topic that carries the first join's changes. The rows are
// appended before the query starts, which reads them from the earliest
// offsets; a read-your-writes pull query waits for the whole chain. It
// reports the input rows joined per second end to end and the join
// stores' bytes per input row.
func BenchmarkTableChainJoin(b *testing.B) {
	s := harness.Start(b, harness.Options{})
	c := s.Connect(b)
	ctx := context.Background()
	for _, q := range []string{
		`CREATE TABLE t1 (id VARCHAR PRIMARY KEY, a INT) WITH (kafka_topic='t1', partitions=1)`,
		`CREATE TABLE t2 (id VARCHAR PRIMARY KEY, b INT) WITH (kafka_topic='t2', partitions=1)`,
		`CREATE TABLE t3 (id VARCHAR PRIMARY KEY, c INT) WITH (kafka_topic='t3', partitions=1)`,
		`SET 'runnel.pull.timeout.ms'='1800000'`,
	} {
		if _, err := c.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	l := s.Engine.Log()
	const batch = 2000
	const base = 1795428000000
	for t, col := range []string{"A", "B", "C"} {
		recs := make([]log.Record, 0, batch)
		for i := 0; i < b.N; i++ {
			recs = append(recs, log.Record{Key: fmt.Appendf(nil, "user_%d", i), Value: fmt.Appendf(nil, `{"%s":%d}`, col, i%1000),
				Partition: 0, Timestamp: base + int64(t*b.N+i)})
			if len(recs) == batch || i == b.N-1 {
				if _, err := l.Append(ctx, fmt.Sprintf("t%d", t+1), recs); err != nil {
					b.Fatal(err)
				}
				recs = recs[:0]
			}
		}
	}
	b.ResetTimer()
	start := time.Now()
	if _, err := c.Exec(ctx, `CREATE TABLE out AS SELECT t1.id AS id, t1.a, t2.b, t3.c FROM t1 JOIN t2 ON t1.id = t2.id JOIN t3 ON t1.id = t3.id`); err != nil {
		b.Fatal(err)
	}
	var a, bb, cc int
	if err := c.QueryRow(ctx, `SELECT a, b, c FROM out WHERE id = 'user_0'`).Scan(&a, &bb, &cc); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	elapsed := time.Since(start)
	rows, err := c.Query(ctx, `SELECT id FROM out`)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	if n != b.N {
		b.Fatalf("the chain holds %d rows, want %d", n, b.N)
	}
	var id string
	if err := c.QueryRow(ctx, `SHOW QUERIES`).Scan(&id, new(string), new(string), new(string), new(string)); err != nil {
		b.Fatal(err)
	}
	inputs := 3 * b.N
	b.ReportMetric(float64(inputs)/elapsed.Seconds(), "rows/s")
	if _, size, err := s.Engine.StateStats(ctx, strings.TrimSpace(id)); err == nil && size > 0 {
		b.ReportMetric(float64(size)/float64(inputs), "state-bytes/row")
	}
}
