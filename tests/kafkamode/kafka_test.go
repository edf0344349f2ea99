// Package kafkamode runs Runnel against Kafka — franz-go's in-process kfake
// cluster — through the same pgwire path as the embedded tests: the catalog
// topic, persistent and push queries, INSERT and PRINT, a restart, and a
// topic written by a plain Kafka producer.
package kafkamode

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/runnel/runnel/tests/harness"
)

func cluster(t *testing.T) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func exec(t *testing.T, c *pgx.Conn, sql string) { t.Helper(); harness.Exec(t, c, sql) }

// rows returns a query's rows sorted, since partitions interleave.
func rows(t *testing.T, c *pgx.Conn, sql string) []string {
	t.Helper()
	out := harness.Rows(t, c, sql)
	sort.Strings(out)
	return out
}

// TestQuickstartOnKafka is the quickstart in Kafka mode, with a restart of
// the node: the catalog is replayed from _runnel_catalog on Kafka and the
// persistent query resumes from its transactionally committed offsets.
func TestQuickstartOnKafka(t *testing.T) {
	brokers := cluster(t)
	s := harness.Start(t, harness.Options{Kafka: brokers})
	c := s.Connect(t)
	exec(t, c, `CREATE STREAM pageviews (userid VARCHAR KEY, pageid VARCHAR, viewtime BIGINT)
  WITH (kafka_topic='pageviews', value_format='JSON', partitions=4)`)
	exec(t, c, `CREATE STREAM long_views AS SELECT userid, pageid, viewtime / 1000 AS secs
  FROM pageviews WHERE viewtime > 5000 EMIT CHANGES`)
	exec(t, c, `INSERT INTO pageviews (userid, pageid, viewtime) VALUES ('alice', 'home', 9000), ('bob', 'home', 100)`)
	exec(t, c, `SET 'auto.offset.reset' = 'earliest'`)
	if got := rows(t, c, `SELECT * FROM long_views EMIT CHANGES LIMIT 1`); fmt.Sprint(got) != "[alice home 9]" {
		t.Fatalf("push query = %q", got)
	}
	if got := rows(t, c, `PRINT 'pageviews' FROM BEGINNING LIMIT 2`); len(got) != 2 {
		t.Fatalf("PRINT = %q", got)
	}

	s.Stop()
	s = harness.Start(t, harness.Options{Kafka: brokers})
	c = s.Connect(t)
	if got := rows(t, c, `SHOW QUERIES`); len(got) != 1 || !strings.Contains(got[0], "RUNNING") {
		t.Fatalf("SHOW QUERIES after restart = %q", got)
	}
	exec(t, c, `INSERT INTO pageviews (userid, pageid, viewtime) VALUES ('carol', 'about', 12000)`)
	exec(t, c, `SET 'auto.offset.reset' = 'earliest'`)
	if got := rows(t, c, `SELECT userid, secs FROM long_views EMIT CHANGES LIMIT 2`); fmt.Sprint(got) != "[alice 9 carol 12]" {
		t.Fatalf("after restart = %q", got)
	}
}

// TestForeignProducer reads a topic written by a plain Kafka producer, as
// a ksqlDB user's existing topics would be.
func TestForeignProducer(t *testing.T) {
	brokers := cluster(t)
	s := harness.Start(t, harness.Options{Kafka: brokers})
	c := s.Connect(t)
	exec(t, c, `CREATE STREAM orders (id BIGINT KEY, item VARCHAR, qty INT) WITH (kafka_topic='orders', partitions=2)`)

	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	key := []byte{0, 0, 0, 0, 0, 0, 0, 7} // KAFKA BIGINT 7
	res := cl.ProduceSync(ctx,
		&kgo.Record{Topic: "orders", Key: key, Value: []byte(`{"ITEM":"tea","QTY":3}`)},
		&kgo.Record{Topic: "orders", Key: key, Value: []byte(`not json`)},
	)
	if err := res.FirstErr(); err != nil {
		t.Fatal(err)
	}
	if got := rows(t, c, `SELECT id, item, qty FROM orders`); fmt.Sprint(got) != "[7 tea 3]" {
		t.Fatalf("scan of a foreign topic = %q", got)
	}
}

// TestScanEndsAfterTransactions scans a sink written by transactional
// commits: its end offset follows a transaction marker, not a record, and
// the scan must still end.
func TestScanEndsAfterTransactions(t *testing.T) {
	brokers := cluster(t)
	s := harness.Start(t, harness.Options{Kafka: brokers})
	c := s.Connect(t)
	exec(t, c, `CREATE STREAM src (id INT KEY, v VARCHAR) WITH (kafka_topic='src', partitions=1)`)
	exec(t, c, `CREATE STREAM dst AS SELECT id, UCASE(v) AS v FROM src`)
	exec(t, c, `INSERT INTO src (id, v) VALUES (1, 'a'), (2, 'b')`)
	eventuallyRows(t, c, `SELECT id, v FROM dst`, "[1 A 2 B]", 15*time.Second)
}

// TestAggregationOnKafka runs a GROUP BY table on Kafka, restarts the node
// (state is restored from the changelog topics) and checks with pull
// queries that every row is counted exactly once.
func TestAggregationOnKafka(t *testing.T) {
	brokers := cluster(t)
	s := harness.Start(t, harness.Options{Kafka: brokers})
	c := s.Connect(t)
	exec(t, c, `CREATE STREAM views (userid VARCHAR KEY, pageid VARCHAR) WITH (kafka_topic='views', partitions=2)`)
	exec(t, c, `CREATE TABLE per_page AS SELECT pageid, COUNT(*) AS n FROM views GROUP BY pageid`)
	exec(t, c, `INSERT INTO views (userid, pageid) VALUES ('a', 'home'), ('b', 'home'), ('c', 'about')`)
	want := "[about 1 home 2]"
	eventuallyRows(t, c, `SELECT pageid, n FROM per_page`, want, 20*time.Second)

	s.Stop()
	// A fresh data directory: the local state is gone and must come back
	// from the changelog topics.
	s = harness.Start(t, harness.Options{Kafka: brokers})
	c = s.Connect(t)
	exec(t, c, `INSERT INTO views (userid, pageid) VALUES ('d', 'home')`)
	eventuallyRows(t, c, `SELECT pageid, n FROM per_page`, "[about 1 home 3]", 20*time.Second)
}

// eventuallyRows retries a query until its sorted rows render as want,
// failing after timeout (persistent queries produce rows asynchronously).
func eventuallyRows(t *testing.T, c *pgx.Conn, sql, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := fmt.Sprint(rows(t, c, sql))
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %s, want %s", sql, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPullReadsWritesOnKafka: a pull query right after an insert counts
// it, with no retry, on Kafka too (the query's output must be readable
// past its transaction's markers before the pull may read).
func TestPullReadsWritesOnKafka(t *testing.T) {
	brokers := cluster(t)
	s := harness.Start(t, harness.Options{Kafka: brokers})
	c := s.Connect(t)
	exec(t, c, `CREATE STREAM clicks (userid VARCHAR KEY, page VARCHAR) WITH (kafka_topic='clicks', partitions=3)`)
	exec(t, c, `CREATE TABLE per_page AS SELECT page, COUNT(*) AS n FROM clicks GROUP BY page`)
	for i := 1; i <= 8; i++ {
		exec(t, c, fmt.Sprintf(`INSERT INTO clicks (userid, page) VALUES ('u%d', 'home')`, i))
		if got := fmt.Sprint(rows(t, c, `SELECT page, n FROM per_page WHERE page = 'home'`)); got != fmt.Sprintf("[home %d]", i) {
			t.Fatalf("pull after insert %d = %s", i, got)
		}
	}
}

// TestStreamTableJoinOnKafka runs a stream-table join whose stream is
// joined on a value column — so it is repartitioned through an internal
// Kafka topic — and restarts the node on an empty data directory: the
// join's table rows come back from its changelog topic, the next stream
// records meet them, and the sink holds every joined row exactly once.
func TestStreamTableJoinOnKafka(t *testing.T) {
	brokers := cluster(t)
	s := harness.Start(t, harness.Options{Kafka: brokers})
	c := s.Connect(t)
	exec(t, c, `CREATE TABLE users (id VARCHAR PRIMARY KEY, region VARCHAR) WITH (kafka_topic='users', partitions=2)`)
	exec(t, c, `CREATE STREAM clicks (url VARCHAR, userid VARCHAR) WITH (kafka_topic='clicks', partitions=3)`)
	exec(t, c, `INSERT INTO users (id, region) VALUES ('alice', 'eu'), ('bob', 'us')`)
	exec(t, c, `CREATE STREAM enriched AS SELECT c.userid AS userid, c.url, u.region FROM clicks c LEFT JOIN users u ON c.userid = u.id`)
	exec(t, c, `INSERT INTO clicks (url, userid) VALUES ('/a', 'alice'), ('/b', 'bob'), ('/c', 'carol')`)
	eventuallyRows(t, c, `SELECT userid, url, region FROM enriched`, "[alice /a eu bob /b us carol /c <nil>]", 30*time.Second)

	s.Stop()
	s = harness.Start(t, harness.Options{Kafka: brokers})
	c = s.Connect(t)
	// The table did not change: only the restored state knows alice's
	// and bob's rows. carol's row is new.
	exec(t, c, `INSERT INTO users (id, region) VALUES ('carol', 'apac')`)
	eventuallyRows(t, c, `SELECT id, region FROM users`, "[alice eu bob us carol apac]", 30*time.Second)
	exec(t, c, `INSERT INTO clicks (url, userid) VALUES ('/d', 'alice'), ('/e', 'carol'), ('/f', 'bob')`)
	eventuallyRows(t, c, `SELECT userid, url, region FROM enriched`,
		"[alice /a eu alice /d eu bob /b us bob /f us carol /c <nil> carol /e apac]", 30*time.Second)
}
