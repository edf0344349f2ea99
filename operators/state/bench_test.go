package state

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/runnel/runnel/internal/cputime"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/log/embedded"
)

const benchValueSize = 32

// BenchmarkPutCommit measures a task's write path in embedded mode: 1000
// puts of distinct 8-byte keys with 32-byte values, then one synced Commit
// with the log. One op is one put. It reports the pending batch's bytes per
// key and, after a flush, the on-disk bytes per live key.
func BenchmarkPutCommit(b *testing.B) {
	const perCommit = 1000
	l, s := openBenchStore(b, "bench/agg/0")
	ctx := testCtx(b)
	key := make([]byte, 8)
	value := make([]byte, benchValueSize)
	rng := rand.New(rand.NewPCG(1, 2))
	batchBytes := 0
	b.SetBytes(int64(len(key) + len(value)))
	b.ResetTimer()
	for i := range b.N {
		binary.BigEndian.PutUint64(key, uint64(i))
		// Incompressible values, so that disk-B/key is not flattered.
		for j := 0; j < len(value); j += 8 {
			binary.LittleEndian.PutUint64(value[j:], rng.Uint64())
		}
		if err := s.Put(key, value); err != nil {
			b.Fatal(err)
		}
		if s.Pending() == perCommit || i == b.N-1 {
			batchBytes += s.PendingBytes()
			if err := s.Commit(ctx, log.Txn{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(batchBytes)/float64(b.N), "batch-B/key")
	db := l.DB()
	if err := db.Flush(); err != nil {
		b.Fatal(err)
	}
	p := storePrefix("bench/agg/0")
	if n, err := db.EstimateDiskUsage(p, PrefixEnd(p)); err == nil && b.N >= 10_000 {
		b.ReportMetric(float64(n)/float64(b.N), "disk-B/key")
	}
}

// BenchmarkGet measures point reads of committed state among 100k keys,
// through a TaskStore (with an empty pending batch in front) and a Reader,
// with the embedded log's default Pebble options.
func BenchmarkGet(b *testing.B) {
	const keys = 100_000
	l := openEmbedded(b, b.TempDir())
	defer l.Close()
	ctx := testCtx(b)
	m := newManager(b, l)
	s := open(b, m, Spec{Name: "bench/agg/0"})
	defer s.Close()
	key := make([]byte, 8)
	value := make([]byte, benchValueSize)
	for i := range keys {
		binary.BigEndian.PutUint64(key, uint64(i))
		if err := s.Put(key, value); err != nil {
			b.Fatal(err)
		}
		if i%10_000 == 9_999 {
			if err := s.Commit(ctx, log.Txn{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := l.DB().Flush(); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		r    reader
	}{{"TaskStore", s}, {"Reader", m.Reader("bench/agg/0")}} {
		b.Run(bc.name, func(b *testing.B) {
			k := make([]byte, 8)
			for i := range b.N {
				// A multiplicative hash spreads reads over the key space.
				binary.BigEndian.PutUint64(k, uint64(i)*2654435761%keys)
				if _, ok, err := bc.r.Get(k); err != nil || !ok {
					b.Fatalf("Get(%x) = %v, %v", k, ok, err)
				}
			}
		})
	}
}

// BenchmarkCommitIndexed measures the commit of a store whose writes went
// to an indexed batch (a foreign-key join's store that scans after its
// writes): commits of 4,000 puts of 16-byte keys in a random order, into
// a memtable that already holds 200,000 of the store's keys, as a join
// task's later commits do. One op is one put.
func BenchmarkCommitIndexed(b *testing.B) {
	const perCommit, prefill = 4000, 200_000
	_, s := openBenchStore(b, "bench/join/0")
	ctx := testCtx(b)
	key := make([]byte, 16)
	value := make([]byte, benchValueSize)
	rng := rand.New(rand.NewPCG(1, 2))
	putRandom := func() {
		binary.BigEndian.PutUint64(key, rng.Uint64())
		binary.BigEndian.PutUint64(key[8:], rng.Uint64())
		if err := s.Put(key, value); err != nil {
			b.Fatal(err)
		}
	}
	for i := range prefill {
		putRandom()
		if i%perCommit == perCommit-1 {
			if err := s.Commit(ctx, log.Txn{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := s.index(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	// CPU time, the process's (Pebble's flushes included): on the shared
	// machine the wall clock measures the load.
	cpu := cputime.Process()
	for i := range b.N {
		putRandom()
		if s.Pending() == perCommit || i == b.N-1 {
			if err := s.Commit(ctx, log.Txn{}); err != nil {
				b.Fatal(err)
			}
			// The next commit's writes go indexed too.
			if s.batch == nil {
				b.StopTimer()
				if err := s.index(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		}
	}
	b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N), "cpu-ns/op")
}

// openBenchStore opens a log in a temporary directory and the store name
// in it, both closed when the benchmark ends.
func openBenchStore(b *testing.B, name string) (*embedded.Log, *TaskStore) {
	l := openEmbedded(b, b.TempDir())
	b.Cleanup(func() { l.Close() })
	s := open(b, newManager(b, l), Spec{Name: name})
	b.Cleanup(func() { s.Close() })
	return l, s
}

// BenchmarkPendingKeyOrder measures the sort of a commit's pending writes
// into key order (applyPending's), for 32,768 keys (a lingering
// aggregation's commit holds that many and more): one op is one sort,
// reported per key. Keys are a tag byte, then either 16 random bytes or
// an 8-byte time shared by every key and then 8 random bytes (a window's
// start, say), then a 4-byte suffix shared by all; or q5's windowed
// keys, a tag, an auction's id as text, two bytes and a window start,
// five windows to an auction.
func BenchmarkPendingKeyOrder(b *testing.B) {
	const keys = 32768
	for _, shape := range []string{"random", "shared-time", "windowed"} {
		b.Run(shape, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			p := newPendingWrites()
			for range keys {
				k := []byte{'g'}
				if shape == "windowed" {
					k = strconv.AppendInt([]byte{'a'}, 1000+rng.Int64N(keys/5), 10)
					k = append(k, 0, 1)
					k = binary.BigEndian.AppendUint64(k, uint64(1_700_000_000_000+2000*rng.Int64N(5)))
					p.set(k, make([]byte, benchValueSize), false)
					continue
				}
				if shape == "shared-time" {
					k = binary.BigEndian.AppendUint64(k, 1_700_000_000_000)
				} else {
					k = binary.BigEndian.AppendUint64(k, rng.Uint64())
				}
				k = binary.BigEndian.AppendUint64(k, rng.Uint64())
				k = append(k, "tail"...)
				p.set(k, make([]byte, benchValueSize), false)
			}
			b.ResetTimer()
			start := cputime.Process()
			for range b.N {
				p.sortedOK = false
				if len(p.inKeyOrder()) != len(p.ents) {
					b.Fatal("lost keys")
				}
			}
			b.ReportMetric(float64(cputime.Process()-start)/float64(b.N*keys), "cpu-ns/key")
		})
	}
}

// BenchmarkPendingSet measures the pending writes' set: a commit's 65,536
// new keys shaped like q5's windowed state keys (a tag, an auction id as
// text, an 8-byte window start), with 16-byte values, each then written
// again (a later update of its group), and the reset that starts the next
// commit. One op is one write.
func BenchmarkPendingSet(b *testing.B) {
	const keys = 1 << 16
	ks := make([][]byte, keys)
	for i := range ks {
		k := append([]byte{'a'}, fmt.Sprintf("%d", 1_000_000+i*7919%60_000)...)
		ks[i] = binary.BigEndian.AppendUint64(k, uint64(i/60_000))
	}
	value := make([]byte, 16)
	p := newPendingWrites()
	b.ResetTimer()
	for n := 0; n < b.N; {
		for pass := range 2 {
			for _, k := range ks {
				value[0] = byte(pass)
				p.set(k, value, false)
			}
			n += keys
		}
		if len(p.ents) != keys {
			b.Fatalf("%d entries for %d keys", len(p.ents), keys)
		}
		p.reset()
	}
}
