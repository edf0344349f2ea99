package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/tests/harness"
)

// benchAggregate appends b.N pageviews over keys users, runs query (a
// CREATE TABLE out AS ...) from the earliest offset, and waits for it with
// a read-your-writes pull query. It reports records/s end to end and the
// state store's bytes per key.
func benchAggregate(b *testing.B, keys int, query string) {
	s := harness.Start(b, harness.Options{})
	c := s.Connect(b)
	ctx := context.Background()
	for _, q := range []string{
		`CREATE STREAM pageviews (userid VARCHAR KEY, pageid VARCHAR, viewtime BIGINT) WITH (kafka_topic='pageviews', partitions=4)`,
		`SET 'auto.offset.reset'='earliest'`,
		`SET 'runnel.pull.timeout.ms'='1800000'`,
	} {
		if _, err := c.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	l := s.Engine.Log()
	const batch = 2000
	recs := make([]log.Record, 0, batch)
	const base = 1795428000000
	for i := 0; i < b.N; i++ {
		v := fmt.Sprintf(`{"PAGEID":"page_%d","VIEWTIME":%d}`, i%100, i%10000)
		recs = append(recs, log.Record{Key: []byte(fmt.Sprintf("user_%d", i%keys)), Value: []byte(v), Partition: -1, Timestamp: base + int64(i)*10})
		if len(recs) == batch || i == b.N-1 {
			if _, err := l.Append(ctx, "pageviews", recs); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	b.ResetTimer()
	start := time.Now()
	if _, err := c.Exec(ctx, query); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	// The heap is sampled while the query runs: its peak says whether
	// memory stays bounded as the keys grow (the state is on disk).
	var peakHeap atomic.Uint64
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for n := 0; ; n++ {
			select {
			case <-done:
				return
			case <-t.C:
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peakHeap.Load() {
				peakHeap.Store(ms.HeapInuse)
			}
			if n%10 == 0 {
				fmt.Fprintf(os.Stderr, "  %s: %.0fs, still aggregating %d records, heap in use %d MB\n",
					b.Name(), time.Since(start).Seconds(), b.N, ms.HeapInuse>>20)
			}
		}
	}()
	// A pull query sees every write made before it: it returns once the
	// table has aggregated all b.N records.
	rows, err := c.Query(ctx, `SELECT * FROM out WHERE userid = 'user_0'`)
	if err != nil {
		b.Fatal(err)
	}
	rows.Close()
	close(done)
	<-sampled
	b.StopTimer()
	elapsed := time.Since(start)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
	var id string
	if err := c.QueryRow(ctx, `SHOW QUERIES`).Scan(&id, new(string), new(string), new(string), new(string)); err != nil {
		b.Fatal(err)
	}
	k, size, err := s.Engine.StateStats(ctx, strings.TrimSpace(id))
	if err != nil {
		b.Fatal(err)
	}
	if k > 0 {
		b.ReportMetric(float64(size)/float64(k), "state-bytes/key")
		b.ReportMetric(float64(k), "state-keys")
	}
	if p := peakHeap.Load(); p > 0 {
		b.ReportMetric(float64(p)/(1<<20), "peak-heap-MB")
	}
}

// BenchmarkGroupByCount: COUNT and SUM per user over 10,000 users (the
// issue's 1M-record run is -benchtime 1000000x).
func BenchmarkGroupByCount(b *testing.B) {
	benchAggregate(b, 10000, `CREATE TABLE out AS SELECT userid, COUNT(*) AS n, SUM(viewtime) AS total FROM pageviews GROUP BY userid`)
}

// BenchmarkGroupByManyKeys: COUNT and SUM per user with a new user every
// record, so the table has b.N keys: issue 10's 10M-key GROUP BY is
// -benchtime 10000000x. peak-heap-MB is the heap while it runs, which the
// aggregation's caches bound however many keys there are.
func BenchmarkGroupByManyKeys(b *testing.B) {
	benchAggregate(b, max(b.N, 1), `CREATE TABLE out AS SELECT userid, COUNT(*) AS n, SUM(viewtime) AS total FROM pageviews GROUP BY userid`)
}

// BenchmarkTumblingCount: a one-minute tumbling COUNT per user.
func BenchmarkTumblingCount(b *testing.B) {
	benchAggregate(b, 10000, `CREATE TABLE out AS SELECT userid, COUNT(*) AS n FROM pageviews
		WINDOW TUMBLING (SIZE 1 MINUTE, GRACE PERIOD 1 HOUR) GROUP BY userid`)
}
