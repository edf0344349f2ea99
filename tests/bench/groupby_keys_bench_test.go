package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runnel/runnel/internal/cputime"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/tests/harness"
)

// BenchmarkGroupByDistinctKeys is issue 10's "a 10M-key GROUP BY
// completes in bounded memory": b.N records, each of a new key, into a
// topic of 4 partitions, then CREATE TABLE ... AS SELECT k, COUNT(*),
// SUM(v) ... GROUP BY k from the earliest offset to completion. Every 5
// seconds it prints how far the query is (records/s, the live heap, the
// heap in use and the resident set); at the end it reports the rate and the peaks. The
// groups live in the state store on disk; the aggregation's caches and
// group filter hold at most their shares of the engine's cache budget
// (--cache-bytes), so the peak heap is about the same at 1M keys as at
// 10M. Run it with `make bench-groupby-keys` (10M, several minutes) or
// -benchtime 1000000x; `make bench` runs it at 200,000.
func BenchmarkGroupByDistinctKeys(b *testing.B) {
	s := harness.Start(b, harness.Options{})
	c := s.Connect(b)
	ctx := context.Background()
	for _, q := range []string{
		`CREATE STREAM s (k VARCHAR KEY, v BIGINT) WITH (kafka_topic='s', partitions=4)`,
		`SET 'auto.offset.reset'='earliest'`,
		`SET 'runnel.pull.timeout.ms'='3600000'`,
	} {
		if _, err := c.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	l := s.Engine.Log()
	const batch = 5000
	recs := make([]log.Record, 0, batch)
	const base = 1795428000000
	loadStart := time.Now()
	for i := 0; i < b.N; i++ {
		recs = append(recs, log.Record{Key: fmt.Appendf(nil, "k%08d", i), Value: fmt.Appendf(nil, `{"V":%d}`, i%1000),
			Partition: -1, Timestamp: base + int64(i)})
		if len(recs) == batch || i == b.N-1 {
			if _, err := l.Append(ctx, "s", recs); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
		if (i+1)%1_000_000 == 0 {
			fmt.Fprintf(os.Stderr, "  %s: wrote %d records, %.0f records/s\n", b.Name(), i+1, float64(i+1)/time.Since(loadStart).Seconds())
		}
	}
	runtime.GC()
	b.ResetTimer()
	start, cpuStart := time.Now(), cputime.Process()
	if _, err := c.Exec(ctx, `CREATE TABLE t AS SELECT k, COUNT(*) AS n, SUM(v) AS total FROM s GROUP BY k`); err != nil {
		b.Fatal(err)
	}
	var id string
	if err := c.QueryRow(ctx, `SHOW QUERIES`).Scan(&id, new(string), new(string), new(string), new(string)); err != nil {
		b.Fatal(err)
	}
	id = strings.TrimSpace(id)
	done := make(chan struct{})
	var peakHeap, peakLive, peakRSS atomic.Uint64
	// The live heap is what the last GC found reachable: the heap in
	// use also holds what has become garbage since, up to as much again
	// (GOGC=100), and swings with the GC's timing on a loaded machine.
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		lastN, last := int64(0), start
		for n := 1; ; n++ {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peakHeap.Load() {
				peakHeap.Store(ms.HeapInuse)
			}
			metrics.Read(live)
			liveBytes := live[0].Value.Uint64()
			if liveBytes > peakLive.Load() {
				peakLive.Store(liveBytes)
			}
			rss := residentBytes("VmRSS")
			if rss > peakRSS.Load() {
				peakRSS.Store(rss)
			}
			if n%5 != 0 {
				continue
			}
			// The query's progress is its committed input offsets.
			offsets, err := l.CommittedOffsets(ctx, id, "s")
			if err != nil {
				continue
			}
			var consumed int64
			for _, o := range offsets {
				consumed += o
			}
			now := time.Now()
			fmt.Fprintf(os.Stderr, "  %s: %.0fs, %d of %d records (%.0f records/s now, %.0f overall), heap live %d MB, in use %d MB, RSS %d MB\n",
				b.Name(), now.Sub(start).Seconds(), consumed, b.N, float64(consumed-lastN)/now.Sub(last).Seconds(),
				float64(consumed)/now.Sub(start).Seconds(), liveBytes>>20, ms.HeapInuse>>20, rss>>20)
			lastN, last = consumed, now
		}
	}()
	// A pull query sees every write made before it: it returns once the
	// table has aggregated all b.N records.
	var n, total int64
	if err := c.QueryRow(ctx, `SELECT n, total FROM t WHERE k = 'k00000000'`).Scan(&n, &total); err != nil {
		b.Fatal(err)
	}
	close(done)
	<-sampled
	b.StopTimer()
	elapsed, cpu := time.Since(start), cputime.Process()-cpuStart
	if n != 1 || total != 0 {
		b.Fatalf("k00000000: COUNT %d, SUM %d; want 1 and 0", n, total)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
	b.ReportMetric(cpu.Seconds(), "cpu-seconds")
	b.ReportMetric(float64(peakHeap.Load())/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(peakLive.Load())/(1<<20), "peak-live-heap-MB")
	b.ReportMetric(float64(peakRSS.Load())/(1<<20), "peak-rss-MB")
	if keys, _, err := s.Engine.StateStats(ctx, id); err == nil {
		b.ReportMetric(float64(keys), "state-keys")
	}
}

// residentBytes reads a resident-set line of /proc/self/status (VmRSS,
// VmHWM) in bytes; 0 where there is none.
func residentBytes(field string) uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}
