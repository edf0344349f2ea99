package kafkamode

import (
	"strings"
	"testing"
	"time"

	"github.com/runnel/runnel/tests/harness"
)

// TestStreamStreamJoinOnKafka runs a stream-stream LEFT join whose sides
// are both repartitioned through internal Kafka topics (the right keyed by
// another column, the left in another partition count), and restarts the
// node on an empty data directory: the open window of a left record that
// found no partner before the restart comes back from the join's
// changelog, the right record written after it meets it, and the sink
// holds every joined row exactly once.
func TestStreamStreamJoinOnKafka(t *testing.T) {
	brokers := cluster(t)
	s := harness.Start(t, harness.Options{Kafka: brokers})
	c := s.Connect(t)
	exec(t, c, `CREATE STREAM views (userid VARCHAR KEY, page VARCHAR) WITH (kafka_topic='views', partitions=2)`)
	exec(t, c, `CREATE STREAM buys (id VARCHAR KEY, userid VARCHAR, item VARCHAR) WITH (kafka_topic='buys', partitions=3)`)
	exec(t, c, `CREATE STREAM converted AS SELECT v.userid AS userid, v.page, b.item FROM views v LEFT JOIN buys b
		WITHIN 1 HOUR GRACE PERIOD 0 SECONDS ON v.userid = b.userid`)
	exec(t, c, `INSERT INTO views (userid, page, ROWTIME) VALUES ('alice', '/a', 1000), ('bob', '/b', 2000)`)
	exec(t, c, `INSERT INTO buys (id, userid, item, ROWTIME) VALUES ('1', 'alice', 'pen', 3000)`)
	eventuallyRows(t, c, `SELECT userid, page, item FROM converted`, "[alice /a pen]", 30*time.Second)
	// Every stage has committed every record — the join's 3 among them,
	// bob's view in its state — before the node stops.
	consumed := func() bool {
		for _, r := range harness.Rows(t, c, `DESCRIBE EXTENDED converted`) {
			if r == "records_consumed 6" {
				return true
			}
		}
		return false
	}
	for deadline := time.Now().Add(30 * time.Second); !consumed(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the query never consumed its 6 records:\n%s", strings.Join(harness.Rows(t, c, `DESCRIBE EXTENDED converted`), "\n"))
		}
	}

	s.Stop()
	s = harness.Start(t, harness.Options{Kafka: brokers})
	c = s.Connect(t)
	// Only the restored state knows bob's view.
	exec(t, c, `INSERT INTO buys (id, userid, item, ROWTIME) VALUES ('2', 'bob', 'ink', 4000)`)
	eventuallyRows(t, c, `SELECT userid, page, item FROM converted`, "[alice /a pen bob /b ink]", 30*time.Second)
}
