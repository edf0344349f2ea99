package embedded

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/runnel/runnel/internal/cputime"
	"github.com/runnel/runnel/log"
)

// benchRecords returns n records with ~100-byte values and distinct keys.
func benchRecords(n int) ([]log.Record, int64) {
	recs := make([]log.Record, n)
	var bytes int64
	val := make([]byte, 100)
	for i := range val {
		val[i] = byte('a' + i%26)
	}
	for i := range recs {
		recs[i] = log.Record{Key: fmt.Appendf(nil, "key-%06d", i), Value: val, Partition: -1}
		bytes += int64(len(recs[i].Key) + len(val))
	}
	return recs, bytes
}

// BenchmarkAppend appends batches of 100 records to a 4-partition topic;
// each batch is one synced Pebble write.
func BenchmarkAppend(b *testing.B) {
	l, err := Open(Options{Dir: b.TempDir(), Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	if err := l.CreateTopic(ctx, "bench", log.TopicConfig{Partitions: 4}); err != nil {
		b.Fatal(err)
	}
	const batch = 100
	recs, bytes := benchRecords(batch)
	b.SetBytes(bytes)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := l.Append(ctx, "bench", recs); err != nil {
			b.Fatal(err)
		}
		if i > 0 && i%1000 == 0 {
			b.Logf("%d records, %.0f records/s", i*batch, float64(i*batch)/time.Since(start).Seconds())
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkAppendParallel appends from several goroutines at once, so
// Pebble can group their syncs.
func BenchmarkAppendParallel(b *testing.B) {
	l, err := Open(Options{Dir: b.TempDir(), Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	if err := l.CreateTopic(ctx, "bench", log.TopicConfig{Partitions: 4}); err != nil {
		b.Fatal(err)
	}
	const batch = 100
	recs, bytes := benchRecords(batch)
	b.SetBytes(bytes)
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Append(ctx, "bench", recs); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkRead reads pre-appended records of one partition from the start.
func BenchmarkRead(b *testing.B) {
	l, err := Open(Options{Dir: b.TempDir(), Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	if err := l.CreateTopic(ctx, "bench", log.TopicConfig{Partitions: 1}); err != nil {
		b.Fatal(err)
	}
	const total = 100_000
	recs, bytes := benchRecords(1000)
	for i := range recs {
		recs[i].Partition = 0
	}
	for n := 0; n < total; n += len(recs) {
		if _, err := l.Append(ctx, "bench", recs); err != nil {
			b.Fatal(err)
		}
	}
	perRecord := bytes / int64(len(recs))
	b.SetBytes(perRecord)
	b.ResetTimer()
	start := time.Now()
	read := readBench(ctx, b, l, total, func(read int) {
		b.Logf("%d records, %.0f records/s", read, float64(read)/time.Since(start).Seconds())
	})
	b.ReportMetric(float64(read)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkDiskAdmit measures the disk guard's cost per write: a statfs
// and two short critical sections, against a synced commit's
// milliseconds.
func BenchmarkDiskAdmit(b *testing.B) {
	g, err := newDiskGuard(vfs.Default, b.TempDir(), DiskOptions{ReserveBytes: 1, SystemReserveBytes: 1, BallastBytes: -1}, defaultMemTableSize, quietLogger())
	if err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := g.admit(1000, classData); err != nil {
				b.Error(err)
				return
			}
			g.done(1000)
		}
	})
}

// BenchmarkCommit commits transactions of 4096 records of 290 bytes (a
// Nexmark bid's size, bidValues) over 4 partitions with a group offset, as a query
// task commits one read batch; b.N counts records. It reports the CPU
// time the process spent per record, the flushes of what it wrote included.
func BenchmarkCommit(b *testing.B) {
	l, err := Open(Options{Dir: b.TempDir(), Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	if err := l.CreateTopic(ctx, "bench", log.TopicConfig{Partitions: 4}); err != nil {
		b.Fatal(err)
	}
	const batch = 4096
	vals := bidValues(batch)
	txn := log.Txn{Group: "g", Records: make([]log.ProduceRecord, batch),
		Offsets: map[log.TopicPartition]int64{{Topic: "bench", Partition: 0}: 0}}
	for i := range txn.Records {
		txn.Records[i] = log.ProduceRecord{Topic: "bench", Record: log.Record{Value: vals[i], Partition: int32(i % 4), Timestamp: int64(i)}}
	}
	b.SetBytes(bidValueBytes)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := int64(cputime.Process())
	for done := 0; done < b.N; done += batch {
		if err := l.Commit(ctx, txn); err != nil {
			b.Fatal(err)
		}
	}
	// The flushes the commits filled are part of their cost: they run in
	// the background, so the CPU time counts them where the elapsed time
	// may not.
	if err := l.db.Flush(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(int64(cputime.Process())-cpu)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkReadFlushed reads records of 290 bytes (bidValues) that a
// flush has put in tables, as a query catching up reads its input; b.N
// counts records. It reports the CPU time the process spent per record,
// which a machine shared with other work leaves truer than the elapsed
// time.
func BenchmarkReadFlushed(b *testing.B) { benchReadBids(b, true) }

// BenchmarkReadMemtable is BenchmarkReadFlushed with the records still in
// the memtable, as a query that keeps up reads its input: the case where
// a packed batch's decompression is a cost that an unpacked batch did not
// have (Pebble's memtable holds values as they were written).
func BenchmarkReadMemtable(b *testing.B) { benchReadBids(b, false) }

func benchReadBids(b *testing.B, flush bool) {
	l, err := Open(Options{Dir: b.TempDir(), Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	if err := l.CreateTopic(ctx, "bench", log.TopicConfig{Partitions: 1}); err != nil {
		b.Fatal(err)
	}
	const total = 200_000
	vals := bidValues(1000)
	recs := make([]log.Record, len(vals))
	for i := range recs {
		recs[i] = log.Record{Value: vals[i], Partition: 0}
	}
	for n := 0; n < total; n += len(recs) {
		if _, err := l.Append(ctx, "bench", recs); err != nil {
			b.Fatal(err)
		}
	}
	if flush {
		if err := l.db.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(bidValueBytes)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := int64(cputime.Process())
	read := readBench(ctx, b, l, total, nil)
	b.ReportMetric(float64(int64(cputime.Process())-cpu)/float64(read), "cpu-ns/op")
	b.ReportMetric(float64(read)/b.Elapsed().Seconds(), "records/s")
}

// readBench reads topic "bench" (total records) from its start, again
// and again, until b.N records are read, calling pass (if set) after each
// pass, and handing each batch back once it is counted (log.Recycler);
// it returns the records read.
func readBench(ctx context.Context, b *testing.B, l *Log, total int, pass func(read int)) int {
	read := 0
	for read < b.N {
		r, err := l.NewReader(ctx, log.TopicPartition{Topic: "bench"}, 0)
		if err != nil {
			b.Fatal(err)
		}
		for n := 0; n < total && read < b.N; {
			got, err := r.Next(ctx)
			if err != nil {
				b.Fatal(err)
			}
			n += len(got)
			read += len(got)
			// Handed back, as a stateless task and the raw copy do, so
			// that the next batch is read into its memory.
			if rr, ok := r.(log.Recycler); ok {
				rr.Recycle(got)
			}
		}
		r.Close()
		if pass != nil {
			pass(read)
		}
	}
	return read
}

// bidValueBytes is the size of each of bidValues' values.
const bidValueBytes = 290

// bidValues returns n values of bidValueBytes that look and compress like
// Nexmark's bids in JSON (to about half, in the log's batches): numbers
// that vary, URLs from a few hundred, and padding cut from one pool of
// random letters, as the generator's extra field is (32 KiB of it: a
// smaller pool repeats within a batch, and compresses better than bids). Values of one
// letter repeated, as the benchmarks had, compressed tenfold, which
// flattered whatever compresses them.
func bidValues(n int) [][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	letters := func(k int) []byte {
		b := make([]byte, k)
		for i := range b {
			b[i] = byte('a' + r.IntN(26))
		}
		return b
	}
	pool := letters(32768)
	urls := make([][]byte, 300)
	for i := range urls {
		urls[i] = fmt.Appendf(nil, "https://www.nexmark.com/%s/%s/item.htm?query=1&channel_id=%d", letters(5), letters(5), r.IntN(1<<20))
	}
	vals := make([][]byte, n)
	for i := range vals {
		v := fmt.Appendf(nil, `{"auction":%d,"bidder":%d,"price":%d,"channel":"channel-%d","url":"%s","dateTime":"2015-07-15 00:%02d:%02d.%03d","extra":"`,
			1000+r.IntN(60000), 1000+r.IntN(20000), r.IntN(1e7), r.IntN(10000), urls[r.IntN(len(urls))], i/60000%60, i/1000%60, i%1000)
		off := r.IntN(len(pool) - bidValueBytes)
		v = append(v, pool[off:off+max(bidValueBytes-len(v)-2, 0)]...)
		vals[i] = append(v, '"', '}')[:bidValueBytes]
	}
	return vals
}
