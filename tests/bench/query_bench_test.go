// Package bench measures Runnel end to end: persistent queries reading a
// topic and writing their sink through the real engine and embedded log.
package bench

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/tests/harness"
)

// benchQuery appends b.N JSON pageviews, starts query from the earliest
// offset and waits until its sink holds want(b.N) records, printing the
// rate as it goes.
func benchQuery(b *testing.B, query string, want func(n int) int64) {
	s := harness.Start(b, harness.Options{})
	c := s.Connect(b)
	ctx := context.Background()
	if _, err := c.Exec(ctx, `CREATE STREAM pageviews (userid VARCHAR KEY, pageid VARCHAR, viewtime BIGINT)
		WITH (kafka_topic='pageviews', partitions=4)`); err != nil {
		b.Fatal(err)
	}
	l := s.Engine.Log()
	const batch = 1000
	recs := make([]log.Record, 0, batch)
	var bytes int64
	for i := 0; i < b.N; i++ {
		v := fmt.Sprintf(`{"PAGEID":"page_%d","VIEWTIME":%d}`, i%100, i%10000)
		bytes += int64(len(v))
		recs = append(recs, log.Record{Key: []byte(fmt.Sprintf("user_%d", i%1000)), Value: []byte(v), Partition: -1})
		if len(recs) == batch || i == b.N-1 {
			if _, err := l.Append(ctx, "pageviews", recs); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	if _, err := c.Exec(ctx, `SET 'auto.offset.reset'='earliest'`); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(bytes / int64(b.N))
	b.ResetTimer()
	start := time.Now()
	if _, err := c.Exec(ctx, query); err != nil {
		b.Fatal(err)
	}
	waitOutput(ctx, b, l, "OUT", want(b.N), start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
}

func BenchmarkPassthrough(b *testing.B) {
	benchQuery(b, `CREATE STREAM out AS SELECT * FROM pageviews`, func(n int) int64 { return int64(n) })
}

func BenchmarkFilterProject(b *testing.B) {
	// viewtime is i % 10000: viewtime >= 5000 keeps half of every 10,000.
	benchQuery(b, `CREATE STREAM out AS SELECT userid, UCASE(pageid) AS page, viewtime / 1000 AS secs
		FROM pageviews WHERE viewtime >= 5000`, func(n int) int64 {
		kept := int64(n/10000) * 5000
		if r := n % 10000; r > 5000 {
			kept += int64(r - 5000)
		}
		return kept
	})
}

// waitOutput waits until topic holds target records in all, printing its
// progress every second (from start) while it waits.
func waitOutput(ctx context.Context, b *testing.B, l log.Log, topic string, target int64, start time.Time) {
	last := time.Now()
	for {
		ends, err := l.EndOffsets(ctx, topic)
		if err != nil {
			b.Fatal(err)
		}
		var n int64
		for _, e := range ends {
			n += e
		}
		if n >= target {
			return
		}
		if time.Since(last) > time.Second {
			last = time.Now()
			fmt.Fprintf(os.Stderr, "  %s: %d/%d output records, %.0f records/s so far\n", b.Name(), n, target, float64(n)/time.Since(start).Seconds())
		}
		time.Sleep(2 * time.Millisecond)
	}
}
