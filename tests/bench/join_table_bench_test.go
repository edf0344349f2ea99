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

// benchTableJoin appends b.N users (4 partitions), each in one of regions
// regions (2 partitions) and, one in two, with a phone (4 partitions); then
// runs query (a CREATE TABLE out AS ... keyed by the user) from the
// earliest offsets and waits for it with a read-your-writes pull query.
// It reports the input rows joined per second end to end and the join
// store's bytes per input row.
func benchTableJoin(b *testing.B, regions int, query string) {
	s := harness.Start(b, harness.Options{})
	c := s.Connect(b)
	ctx := context.Background()
	for _, q := range []string{
		`CREATE TABLE users (id VARCHAR PRIMARY KEY, region VARCHAR, age INT) WITH (kafka_topic='users', partitions=4)`,
		`CREATE TABLE regions (name VARCHAR PRIMARY KEY, manager VARCHAR) WITH (kafka_topic='regions', partitions=2)`,
		`CREATE TABLE phones (id VARCHAR PRIMARY KEY, phone VARCHAR) WITH (kafka_topic='phones', partitions=4)`,
		`SET 'runnel.pull.timeout.ms'='1800000'`,
	} {
		if _, err := c.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	l := s.Engine.Log()
	const batch = 2000
	const base = 1795428000000
	appendAll := func(topic string, n int, rec func(i int) log.Record) {
		recs := make([]log.Record, 0, batch)
		for i := 0; i < n; i++ {
			recs = append(recs, rec(i))
			if len(recs) == batch || i == n-1 {
				if _, err := l.Append(ctx, topic, recs); err != nil {
					b.Fatal(err)
				}
				recs = recs[:0]
			}
		}
	}
	appendAll("regions", regions, func(i int) log.Record {
		return log.Record{Key: fmt.Appendf(nil, "region_%d", i), Value: fmt.Appendf(nil, `{"MANAGER":"m%d"}`, i), Partition: -1, Timestamp: base + int64(i)}
	})
	appendAll("users", b.N, func(i int) log.Record {
		return log.Record{Key: fmt.Appendf(nil, "user_%d", i), Value: fmt.Appendf(nil, `{"REGION":"region_%d","AGE":%d}`, i%regions, i%90),
			Partition: -1, Timestamp: base + int64(regions+i)}
	})
	phones := (b.N + 1) / 2
	appendAll("phones", phones, func(i int) log.Record {
		return log.Record{Key: fmt.Appendf(nil, "user_%d", 2*i), Value: fmt.Appendf(nil, `{"PHONE":"555-%d"}`, i), Partition: -1,
			Timestamp: base + int64(regions+b.N+i)}
	})
	b.ResetTimer()
	start := time.Now()
	if _, err := c.Exec(ctx, query); err != nil {
		b.Fatal(err)
	}
	rows, err := c.Query(ctx, `SELECT * FROM out WHERE id = 'user_0'`)
	if err != nil {
		b.Fatal(err)
	}
	rows.Close()
	b.StopTimer()
	elapsed := time.Since(start)
	var id string
	if err := c.QueryRow(ctx, `SHOW QUERIES`).Scan(&id, new(string), new(string), new(string), new(string)); err != nil {
		b.Fatal(err)
	}
	inputs := b.N + regions
	if strings.Contains(query, "phones") {
		inputs = b.N + phones
	}
	b.ReportMetric(float64(inputs)/elapsed.Seconds(), "rows/s")
	if _, size, err := s.Engine.StateStats(ctx, strings.TrimSpace(id)); err == nil && size > 0 {
		b.ReportMetric(float64(size)/float64(inputs), "state-bytes/row")
	}
}

// BenchmarkForeignKeyJoin: users joined with 1,000 regions on a foreign
// key, one task over every partition of both.
func BenchmarkForeignKeyJoin(b *testing.B) {
	benchTableJoin(b, 1000, `CREATE TABLE out AS SELECT u.id AS id, u.age, r.manager FROM users u JOIN regions r ON u.region = r.name`)
}

// BenchmarkTableTableJoin: users LEFT JOIN phones on the key, a task per
// partition.
func BenchmarkTableTableJoin(b *testing.B) {
	benchTableJoin(b, 1000, `CREATE TABLE out AS SELECT u.id AS id, u.age, p.phone FROM users u LEFT JOIN phones p ON u.id = p.id`)
}
