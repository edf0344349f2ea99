package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/tests/harness"
)

// benchStreamStreamJoin appends b.N records, half to a stream of views and
// half to a stream of clicks (4 partitions each, by one of 10,000 users),
// each click 5 s after the view of its user it answers, a view every 20 ms
// of event time; it then runs query (CREATE STREAM out AS ... an INNER
// join of the two) from the earliest offset and waits until the sink
// holds the b.N/2 pairs. Clicks are keyed by the user, or, unless
// keyedClicks, keyless with the user a value column (the join then
// repartitions them). It reports records/s end to end, and the join's
// state at the end: the records in its windows and their stored bytes
// each.
func benchStreamStreamJoin(b *testing.B, keyedClicks bool, query string) {
	s := harness.Start(b, harness.Options{})
	c := s.Connect(b)
	ctx := context.Background()
	clicksDDL := `CREATE STREAM clicks (userid VARCHAR KEY, target VARCHAR) WITH (kafka_topic='clicks', partitions=4)`
	if !keyedClicks {
		clicksDDL = `CREATE STREAM clicks (userid VARCHAR, target VARCHAR) WITH (kafka_topic='clicks', partitions=4)`
	}
	for _, q := range []string{
		`CREATE STREAM views (userid VARCHAR KEY, pageid VARCHAR, viewtime BIGINT) WITH (kafka_topic='views', partitions=4)`,
		clicksDDL,
		`SET 'auto.offset.reset'='earliest'`,
	} {
		if _, err := c.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	l := s.Engine.Log()
	const batch = 2000
	const base = 1795428000000
	pairs := b.N / 2
	views := make([]log.Record, 0, batch)
	clicks := make([]log.Record, 0, batch)
	flush := func() {
		if _, err := l.Append(ctx, "views", views); err != nil {
			b.Fatal(err)
		}
		if _, err := l.Append(ctx, "clicks", clicks); err != nil {
			b.Fatal(err)
		}
		views, clicks = views[:0], clicks[:0]
	}
	for i := 0; i < pairs; i++ {
		key := []byte(fmt.Sprintf("user_%d", i%10000))
		ts := base + int64(i)*20
		views = append(views, log.Record{Key: key, Value: fmt.Appendf(nil, `{"PAGEID":"page_%d","VIEWTIME":%d}`, i%100, i%10000), Partition: -1, Timestamp: ts})
		click := log.Record{Key: key, Value: fmt.Appendf(nil, `{"TARGET":"ad_%d"}`, i%50), Partition: -1, Timestamp: ts + 5000}
		if !keyedClicks {
			click.Key = nil
			click.Value = fmt.Appendf(nil, `{"USERID":%q,"TARGET":"ad_%d"}`, key, i%50)
		}
		clicks = append(clicks, click)
		if len(views) == batch || i == pairs-1 {
			flush()
		}
	}
	b.ResetTimer()
	start := time.Now()
	if _, err := c.Exec(ctx, query); err != nil {
		b.Fatal(err)
	}
	// Done when the sink holds every pair, or — should some records be
	// dropped as late — when the query has consumed every record: each
	// once by the join, and a repartitioned side's once more before.
	consumedWant := int64(2 * pairs)
	for _, r := range harness.Rows(b, c, `DESCRIBE EXTENDED out`) {
		if strings.HasPrefix(r, "internal_topic ") && strings.HasSuffix(r, "_repartition") {
			consumedWant += int64(pairs)
		}
	}
	last := time.Now()
	var produced int64
	for {
		ends, err := l.EndOffsets(ctx, "OUT")
		if err != nil {
			b.Fatal(err)
		}
		produced = 0
		for _, e := range ends {
			produced += e
		}
		if produced >= int64(pairs) {
			break
		}
		if time.Since(last) > time.Second {
			last = time.Now()
			if describeCount(b, c, "records_consumed") >= consumedWant {
				break
			}
			fmt.Fprintf(os.Stderr, "  %s: %.0fs, %d of %d pairs\n", b.Name(), time.Since(start).Seconds(), produced, pairs)
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()
	elapsed := time.Since(start)
	b.ReportMetric(float64(2*pairs)/elapsed.Seconds(), "records/s")
	var id string
	for _, r := range harness.Rows(b, c, `SHOW QUERIES`) {
		if strings.Contains(r, "OUT") {
			id = strings.Fields(r)[0]
		}
	}
	keys, size, err := s.Engine.StateStats(ctx, id)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(keys), "state-records")
	b.ReportMetric(float64(produced), "pairs")
	b.ReportMetric(float64(describeCount(b, c, "records_late")), "late")
	if keys > 0 {
		b.ReportMetric(float64(size)/float64(keys), "state-bytes/record")
	}
}

// BenchmarkStreamStreamJoin: views JOIN clicks WITHIN 10 SECONDS with a
// grace of 10 seconds, on the user (both keyed by it: no repartition).
// The run is -benchtime 1000000x.
func BenchmarkStreamStreamJoin(b *testing.B) {
	benchStreamStreamJoin(b, true, `CREATE STREAM out AS SELECT v.userid AS userid, v.pageid, c.target
		FROM views v JOIN clicks c WITHIN 10 SECONDS GRACE PERIOD 10 SECONDS ON v.userid = c.userid`)
}

// BenchmarkStreamStreamJoinDefaultGrace: the same join without GRACE
// PERIOD, so with ksqlDB's default grace (24 h − 20 s): no window of the
// run closes, and the state holds every record.
func BenchmarkStreamStreamJoinDefaultGrace(b *testing.B) {
	benchStreamStreamJoin(b, true, `CREATE STREAM out AS SELECT v.userid AS userid, v.pageid, c.target
		FROM views v JOIN clicks c WITHIN 10 SECONDS ON v.userid = c.userid`)
}

// BenchmarkStreamStreamJoinRepartitioned: the join of the default grace
// with keyless clicks, joined on a value column: they are repartitioned
// first, and so are the views (the planner repartitions a keyed side whose
// key format differs from the other side's, NONE here). A repartition
// topic interleaves the records of its 4 source partitions as fast as each
// stage task gets through them, so its records are out of event-time
// order by as much as those tasks drift apart; a short grace would drop
// many of them as late (the late metric counts them; with GRACE PERIOD
// 10 SECONDS, most are).
func BenchmarkStreamStreamJoinRepartitioned(b *testing.B) {
	benchStreamStreamJoin(b, false, `CREATE STREAM out AS SELECT v.userid AS userid, v.pageid, c.target
		FROM views v JOIN clicks c WITHIN 10 SECONDS ON v.userid = c.userid`)
}

// describeCount reads a count of DESCRIBE EXTENDED out.
func describeCount(b *testing.B, c *pgx.Conn, name string) int64 {
	for _, r := range harness.Rows(b, c, `DESCRIBE EXTENDED out`) {
		if v, ok := strings.CutPrefix(r, name+" "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatalf("DESCRIBE EXTENDED out has no %s", name)
	return 0
}
