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

// benchStreamTableJoin loads tableRows users and b.N pageviews (every view
// names a user that has a row) into the log, then runs query (a CREATE
// STREAM OUT AS ... JOIN) from the earliest offset until its sink holds
// one row per view. It reports records/s end to end (views over the time
// from CREATE to the last output row, the table's rows read too) and the
// join's state bytes per table key. keyedByUser says whether the views
// are keyed by the join key already; otherwise the join repartitions
// them through an internal topic first.
func benchStreamTableJoin(b *testing.B, tableRows int, keyedByUser bool, query string) {
	s := harness.Start(b, harness.Options{})
	c := s.Connect(b)
	ctx := context.Background()
	viewKey := "userid VARCHAR KEY, pageid VARCHAR"
	if !keyedByUser {
		viewKey = "pageid VARCHAR KEY, userid VARCHAR"
	}
	for _, q := range []string{
		`CREATE STREAM pageviews (` + viewKey + `, viewtime BIGINT) WITH (kafka_topic='pageviews', partitions=4)`,
		`CREATE TABLE users (id VARCHAR PRIMARY KEY, region VARCHAR, level INT) WITH (kafka_topic='users', partitions=4)`,
		`SET 'auto.offset.reset'='earliest'`,
	} {
		if _, err := c.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	l := s.Engine.Log()
	const base = 1795428000000
	appendAll := func(topic string, n int, rec func(i int) log.Record) {
		const batch = 2000
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
	appendAll("users", tableRows, func(i int) log.Record {
		return log.Record{Key: []byte(fmt.Sprintf("user_%d", i)), Value: []byte(fmt.Sprintf(`{"REGION":"region_%d","LEVEL":%d}`, i%50, i%7)),
			Partition: -1, Timestamp: base}
	})
	appendAll("pageviews", b.N, func(i int) log.Record {
		user, page := fmt.Sprintf("user_%d", (i*7919)%tableRows), fmt.Sprintf("page_%d", i%100)
		if keyedByUser {
			return log.Record{Key: []byte(user), Value: []byte(fmt.Sprintf(`{"PAGEID":%q,"VIEWTIME":%d}`, page, i%10000)),
				Partition: -1, Timestamp: base + 1 + int64(i)}
		}
		return log.Record{Key: []byte(page), Value: []byte(fmt.Sprintf(`{"USERID":%q,"VIEWTIME":%d}`, user, i%10000)),
			Partition: -1, Timestamp: base + 1 + int64(i)}
	})
	b.ResetTimer()
	start := time.Now()
	if _, err := c.Exec(ctx, query); err != nil {
		b.Fatal(err)
	}
	waitOutput(ctx, b, l, "OUT", int64(b.N), start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
	var id string
	if err := c.QueryRow(ctx, `SHOW QUERIES`).Scan(&id, new(string), new(string), new(string), new(string)); err != nil {
		b.Fatal(err)
	}
	// The sink is complete once every view is joined, but a task whose
	// partition holds no view may still be reading its share of the table:
	// wait for the whole table in the state before measuring it.
	deadline := time.Now().Add(5 * time.Minute)
	for {
		k, size, err := s.Engine.StateStats(ctx, strings.TrimSpace(id))
		if err != nil {
			b.Fatal(err)
		}
		if k == int64(tableRows) {
			b.ReportMetric(float64(size)/float64(k), "state-bytes/key")
			return
		}
		if k > int64(tableRows) || time.Now().After(deadline) {
			b.Fatalf("the join's state holds %d keys, want the table's %d rows", k, tableRows)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkStreamTableJoin enriches page views with a 100,000-row users
// table, the views already keyed by user (the run is -benchtime
// 1000000x).
func BenchmarkStreamTableJoin(b *testing.B) {
	benchStreamTableJoin(b, 100000, true, `CREATE STREAM out AS SELECT p.userid AS userid, p.pageid, u.region, u.level
		FROM pageviews p LEFT JOIN users u ON p.userid = u.id`)
}

// BenchmarkStreamTableJoinRepartitioned: the same join over views keyed
// by page, so each view passes through the join's repartition topic.
func BenchmarkStreamTableJoinRepartitioned(b *testing.B) {
	benchStreamTableJoin(b, 100000, false, `CREATE STREAM out AS SELECT p.userid AS userid, p.pageid, u.region, u.level
		FROM pageviews p LEFT JOIN users u ON p.userid = u.id`)
}
