//go:build unix

package embedded

import (
	"context"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"

	"github.com/runnel/runnel/internal/cputime"
	"github.com/runnel/runnel/log"
)

// BenchmarkReadCatchUp reads four partitions of flushed 290-byte records
// (bidValues) at once from their start, as the tasks of a query catching
// up do, through a block cache of the engine's size (engine.go): more
// records (about 360 MB of tables) than the cache holds, so that after
// the first pass every block read evicts another, as in a long catch-up.
// b.N counts records; it reports the process's CPU time and minor page
// faults per record, and the blocks read (cache misses). A block read
// into fresh C memory (Pebble's cache allocates with calloc) faults in
// its pages: at 12-23 us a fault on this paravirtualized machine, a
// 32 KiB block cost 185 us to pread into fresh memory against 4.3 us
// into a reused buffer.
func BenchmarkReadCatchUp(b *testing.B) {
	po := &pebble.Options{CacheSize: 256 << 20}
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	l, err := Open(Options{Dir: b.TempDir(), Logger: quietLogger(), Pebble: po})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	const parts, perPart = 4, 600_000
	if err := l.CreateTopic(ctx, "bench", log.TopicConfig{Partitions: parts}); err != nil {
		b.Fatal(err)
	}
	vals := bidValues(1000)
	recs := make([]log.Record, len(vals))
	for p := range parts {
		for i := range recs {
			recs[i] = log.Record{Value: vals[i], Partition: int32(p)}
		}
		for n := 0; n < perPart; n += len(recs) {
			if _, err := l.Append(ctx, "bench", recs); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := l.db.Flush(); err != nil {
		b.Fatal(err)
	}
	misses := l.db.Metrics().BlockCache.Misses
	b.SetBytes(bidValueBytes)
	b.ResetTimer()
	cpu, faults := int64(cputime.Process()), cputime.MinorFaults()
	read := 0
	for read < b.N {
		var wg sync.WaitGroup
		for p := range parts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := readPartition(ctx, l, int32(p), perPart); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
		read += parts * perPart
	}
	b.ReportMetric(float64(int64(cputime.Process())-cpu)/float64(read), "cpu-ns/op")
	b.ReportMetric(float64(cputime.MinorFaults()-faults)/float64(read)*1000, "faults/1k-records")
	b.ReportMetric(float64(l.db.Metrics().BlockCache.Misses-misses), "blocks-read")
}

// readPartition reads n records of partition p of topic "bench" from its
// start, handing each batch back.
func readPartition(ctx context.Context, l *Log, p int32, n int) error {
	r, err := l.NewReader(ctx, log.TopicPartition{Topic: "bench", Partition: p}, 0)
	if err != nil {
		return err
	}
	defer r.Close()
	for read := 0; read < n; {
		got, err := r.Next(ctx)
		if err != nil {
			return err
		}
		read += len(got)
		r.(log.Recycler).Recycle(got)
	}
	return nil
}
