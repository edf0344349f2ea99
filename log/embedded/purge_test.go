package embedded

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/runnel/runnel/log"
)

// openPurging opens a log that purges at every commit that moves a
// start (PurgeRecords 1, no PurgeInterval), reading batches of 100.
func openPurging(t *testing.T, dir string) *Log {
	t.Helper()
	l, err := Open(Options{Dir: dir, Logger: quietLogger(), ReadBatch: 100, PurgeRecords: 1, PurgeInterval: -1})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

// appendIn appends n records of about 200 bytes to partition part, in
// appends of per records, so that the partition holds many batch keys.
func appendIn(t *testing.T, l *Log, topic string, part int32, n, per int) {
	t.Helper()
	ctx := ctxT(t)
	for i := 0; i < n; i += per {
		var recs []log.Record
		for j := i; j < min(i+per, n); j++ {
			recs = append(recs, log.Record{Key: fmt.Appendf(nil, "k%d", j), Value: fmt.Appendf(nil, "%0200d", j), Partition: part})
		}
		if _, err := l.Append(ctx, topic, recs); err != nil {
			t.Fatal(err)
		}
	}
}

// keysBelow counts the keys of a partition's records below offset off in
// the database: what a purge left.
func keysBelow(t *testing.T, l *Log, topic string, part int32, off int64) int {
	t.Helper()
	id := topicID(t, l, topic)
	lo, _ := partitionRecordBounds(id, part)
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: recordKey(id, part, off)})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := 0
	for it.First(); it.Valid(); it.Next() {
		n++
	}
	return n
}

func mustCreateTopic(t *testing.T, l *Log, name string, cfg log.TopicConfig) {
	t.Helper()
	if err := l.CreateTopic(ctxT(t), name, cfg); err != nil {
		t.Fatal(err)
	}
}

func checkStarts(t *testing.T, l *Log, topic string, want ...int64) {
	t.Helper()
	got, err := l.StartOffsets(ctxT(t), topic)
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("start offsets of %s = %v, %v; want %v", topic, got, err, want)
	}
}

// checkReadsFrom reads partition part of topic from offset 0 and checks
// that it gets exactly the records first..end, with their values.
func checkReadsFrom(t *testing.T, l *Log, topic string, part int32, first, end int64) {
	t.Helper()
	got := readFrom(t, l, topic, part, 0)
	if int64(len(got)) != end-first {
		t.Fatalf("%s/%d from 0: %d records, want %d (%d to %d)", topic, part, len(got), end-first, first, end)
	}
	for i, r := range got {
		if r.Offset != first+int64(i) || string(r.Value) != fmt.Sprintf("%0200d", first+int64(i)) {
			t.Fatalf("%s/%d record %d: offset %d value %.10q..., want offset %d", topic, part, i, r.Offset, r.Value, first+int64(i))
		}
	}
}

func TestPurgeBelowCommit(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	l := openPurging(t, dir)
	defer func() { l.Close() }()
	mustCreateTopic(t, l, "rep", log.TopicConfig{Partitions: 2, DeleteConsumed: true})
	mustCreateTopic(t, l, "user", log.TopicConfig{Partitions: 2})
	for _, topic := range []string{"rep", "user"} {
		appendIn(t, l, topic, 0, 1000, 300) // keys of about 150 records
		appendIn(t, l, topic, 1, 10, 10)
	}
	repKeys := keysBelow(t, l, "rep", 0, 1000)

	// The commit moves rep/0's start to 500 and deletes every key below
	// the one holding offset 500; rep/1 (nothing committed) and the user
	// topic (committed too) keep everything.
	if err := l.Commit(ctx, log.Txn{Group: "g", Offsets: map[log.TopicPartition]int64{
		{Topic: "rep", Partition: 0}: 500, {Topic: "user", Partition: 0}: 500,
	}}); err != nil {
		t.Fatal(err)
	}
	checkStarts(t, l, "rep", 500, 0)
	checkStarts(t, l, "user", 0, 0)
	if n := keysBelow(t, l, "rep", 0, 500); n != 1 {
		t.Fatalf("rep/0 holds %d keys below offset 500 after the purge (of %d in all), want 1: the one holding 500", n, repKeys)
	}
	checkReadsFrom(t, l, "rep", 0, 500, 1000)
	checkReadsFrom(t, l, "rep", 1, 0, 10)
	checkReadsFrom(t, l, "user", 0, 0, 1000)

	// Reopened, the log knows the start, the end and the commit.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openPurging(t, dir)
	checkStarts(t, l, "rep", 500, 0)
	if ends, err := l.EndOffsets(ctx, "rep"); err != nil || ends[0] != 1000 {
		t.Fatalf("rep's end offsets after reopen = %v, %v; want 1000 first", ends, err)
	}
	if got, err := l.CommittedOffsets(ctx, "g", "rep"); err != nil || got[0] != 500 {
		t.Fatalf("committed offsets of rep after reopen = %v, %v", got, err)
	}
	checkReadsFrom(t, l, "rep", 0, 500, 1000)
	checkReadsFrom(t, l, "user", 0, 0, 1000)

	// Consumed to its end, the partition keeps its last key, so that a
	// reopened log hands out the next offset, not 0 again.
	if err := l.CommitOffsets(ctx, "g", map[log.TopicPartition]int64{{Topic: "rep", Partition: 0}: 1000}); err != nil {
		t.Fatal(err)
	}
	checkStarts(t, l, "rep", 1000, 0)
	if n := keysBelow(t, l, "rep", 0, 1000); n != 1 {
		t.Fatalf("rep/0 holds %d keys after a purge to its end, want 1", n)
	}
	// A commit below the start moves nothing back.
	if err := l.CommitOffsets(ctx, "g", map[log.TopicPartition]int64{{Topic: "rep", Partition: 0}: 10}); err != nil {
		t.Fatal(err)
	}
	checkStarts(t, l, "rep", 1000, 0)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openPurging(t, dir)
	checkStarts(t, l, "rep", 1000, 0)
	out, err := l.Append(ctx, "rep", []log.Record{{Value: []byte("next"), Partition: 0}})
	if err != nil || out[0].Offset != 1000 {
		t.Fatalf("append after a purge to the end and a reopen: offset %v, %v; want 1000", out, err)
	}
	r, err := l.NewReader(ctx, log.TopicPartition{Topic: "rep", Partition: 0}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	recs, err := r.Next(ctx)
	if err != nil || len(recs) != 1 || recs[0].Offset != 1000 || string(recs[0].Value) != "next" {
		t.Fatalf("read from 0 after a purge to 1000 = %+v, %v; want only the record at 1000", recs, err)
	}
}

// TestPurgeAtomicWithCommit checks that a purge commits with its offsets
// or not at all: a Txn that fails deletes nothing and moves no start, and
// a purge is on disk exactly when its offsets are.
func TestPurgeAtomicWithCommit(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	l := openPurging(t, dir)
	defer func() { l.Close() }()
	mustCreateTopic(t, l, "rep", log.TopicConfig{Partitions: 1, DeleteConsumed: true})
	mustCreateTopic(t, l, "out", log.TopicConfig{Partitions: 1})
	appendIn(t, l, "rep", 0, 600, 100)
	// A record for a partition "out" does not have fails the Txn before
	// anything is written: its purge with it.
	err := l.Commit(ctx, log.Txn{Group: "g",
		Records: []log.ProduceRecord{{Topic: "out", Record: log.Record{Value: []byte("x"), Partition: 7}}},
		Offsets: map[log.TopicPartition]int64{{Topic: "rep", Partition: 0}: 300}})
	if err == nil {
		t.Fatal("a Txn with a record for a missing partition committed")
	}
	checkStarts(t, l, "rep", 0)
	checkReadsFrom(t, l, "rep", 0, 0, 600)

	// An async commit purges once it is durable, and its records and
	// offsets go with it.
	wait, err := l.CommitAsync(ctx, log.Txn{Group: "g",
		Records: []log.ProduceRecord{{Topic: "out", Record: log.Record{Value: []byte("y"), Partition: 0}}},
		Offsets: map[log.TopicPartition]int64{{Topic: "rep", Partition: 0}: 300}})
	if err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	checkStarts(t, l, "rep", 300)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openPurging(t, dir)
	checkStarts(t, l, "rep", 300)
	if got, err := l.CommittedOffsets(ctx, "g", "rep"); err != nil || got[0] != 300 {
		t.Fatalf("committed offsets after reopen = %v, %v; want 300", got, err)
	}
	if ends, err := l.EndOffsets(ctx, "out"); err != nil || ends[0] != 1 {
		t.Fatalf("out's end after reopen = %v, %v; want 1", ends, err)
	}
	checkReadsFrom(t, l, "rep", 0, 300, 600)
}

// TestPurgePassesReader checks that a reader behind a purge goes on from
// the new start rather than reading a gap.
func TestPurgePassesReader(t *testing.T) {
	ctx := ctxT(t)
	l := openPurging(t, t.TempDir())
	defer l.Close()
	mustCreateTopic(t, l, "rep", log.TopicConfig{Partitions: 1, DeleteConsumed: true})
	appendIn(t, l, "rep", 0, 1000, 1000)
	r, err := l.NewReader(ctx, log.TopicPartition{Topic: "rep", Partition: 0}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if recs, err := r.Next(ctx); err != nil || len(recs) != 100 || recs[0].Offset != 0 {
		t.Fatalf("first batch = %d records, %v", len(recs), err)
	}
	if err := l.CommitOffsets(ctx, "g", map[log.TopicPartition]int64{{Topic: "rep", Partition: 0}: 700}); err != nil {
		t.Fatal(err)
	}
	recs, err := r.Next(ctx)
	if err != nil || len(recs) == 0 || recs[0].Offset != 700 {
		t.Fatalf("batch after the purge starts at %v (%d records, %v), want 700", firstOffset(recs), len(recs), err)
	}
	// A reader asked for an offset below the start reads from the start.
	r2, err := l.NewReader(ctx, log.TopicPartition{Topic: "rep", Partition: 0}, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if r2.Position() != 700 {
		t.Fatalf("a reader opened at 5 is at %d, want the start, 700", r2.Position())
	}
}

func firstOffset(recs []log.Record) any {
	if len(recs) == 0 {
		return "none"
	}
	return recs[0].Offset
}

// TestPurgeRateLimited checks that commits purge only once
// the start would move by PurgeRecords, and that a topic not
// DeleteConsumed is never purged.
func TestPurgeRateLimited(t *testing.T) {
	ctx := ctxT(t)
	l, err := Open(Options{Dir: t.TempDir(), Logger: quietLogger(), PurgeRecords: 400, PurgeInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, topic := range []string{"rep", "user"} {
		mustCreateTopic(t, l, topic, log.TopicConfig{Partitions: 1, DeleteConsumed: topic == "rep"})
		appendIn(t, l, topic, 0, 1000, 200)
	}
	userKeys := keysBelow(t, l, "user", 0, 1000)
	commit := func(off int64) {
		t.Helper()
		if err := l.Commit(ctx, log.Txn{Group: "g", Offsets: map[log.TopicPartition]int64{
			{Topic: "rep", Partition: 0}: off, {Topic: "user", Partition: 0}: off,
		}}); err != nil {
			t.Fatal(err)
		}
	}
	commit(399)
	checkStarts(t, l, "rep", 0)
	commit(400)
	checkStarts(t, l, "rep", 400)
	commit(799)
	checkStarts(t, l, "rep", 400)
	// Past the end: the purge stops at what readers may see.
	commit(5000)
	checkStarts(t, l, "rep", 1000)
	checkStarts(t, l, "user", 0)
	checkReadsFrom(t, l, "user", 0, 0, 1000)
	if n := keysBelow(t, l, "user", 0, 1000); n != userKeys || n < 5 {
		t.Fatalf("the user topic holds %d keys, want its %d", n, userKeys)
	}
}

// TestPurgeInterval checks that a partition is purged every
// PurgeInterval at most, the first an interval after the partition's
// first commit, on the log's clock.
func TestPurgeInterval(t *testing.T) {
	ctx := ctxT(t)
	var mu sync.Mutex
	clock := time.Unix(1_800_000_000, 0)
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	opts := Options{Dir: t.TempDir(), Logger: quietLogger(), PurgeRecords: 1, PurgeInterval: 30 * time.Second}
	opts.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	mustCreateTopic(t, l, "rep", log.TopicConfig{Partitions: 1, DeleteConsumed: true})
	appendIn(t, l, "rep", 0, 1000, 100)
	commit := func(off int64) {
		t.Helper()
		if err := l.Commit(ctx, log.Txn{Group: "g", Offsets: map[log.TopicPartition]int64{{Topic: "rep", Partition: 0}: off}}); err != nil {
			t.Fatal(err)
		}
	}
	commit(100) // starts the interval
	checkStarts(t, l, "rep", 0)
	advance(29 * time.Second)
	commit(200)
	checkStarts(t, l, "rep", 0)
	advance(time.Second)
	commit(300)
	checkStarts(t, l, "rep", 300)
	advance(10 * time.Second)
	commit(400)
	checkStarts(t, l, "rep", 300)
	advance(20 * time.Second)
	commit(500)
	checkStarts(t, l, "rep", 500)
	checkReadsFrom(t, l, "rep", 0, 500, 1000)
}

// TestDeleteTopicDropsStartFloors checks that a deleted purged topic
// leaves no start floor behind.
func TestDeleteTopicDropsStartFloors(t *testing.T) {
	ctx := ctxT(t)
	l := openPurging(t, t.TempDir())
	defer l.Close()
	mustCreateTopic(t, l, "rep", log.TopicConfig{Partitions: 1, DeleteConsumed: true})
	appendIn(t, l, "rep", 0, 10, 10)
	if err := l.CommitOffsets(ctx, "g", map[log.TopicPartition]int64{{Topic: "rep", Partition: 0}: 5}); err != nil {
		t.Fatal(err)
	}
	id := topicID(t, l, "rep")
	if err := l.DeleteTopic(ctx, "rep"); err != nil {
		t.Fatal(err)
	}
	if _, closer, err := l.db.Get(startFloorKey(id, 0)); err == nil {
		closer.Close()
		t.Fatal("the start floor of a deleted topic is still there")
	}
}

// TestPurgeBeforeFlush checks that records purged while they are still
// in the memtable are not written by its flush: what the purge saves.
func TestPurgeBeforeFlush(t *testing.T) {
	ctx := ctxT(t)
	l := openPurging(t, t.TempDir())
	defer l.Close()
	flushed := func(topic string, purge bool) int64 {
		t.Helper()
		mustCreateTopic(t, l, topic, log.TopicConfig{Partitions: 1, DeleteConsumed: purge})
		// 4 MiB of incompressible values, which the flush would write
		// whole.
		rng := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < 4; i++ {
			recs := make([]log.Record, 1024)
			for j := range recs {
				v := make([]byte, 1024)
				for k := range v {
					v[k] = byte(rng.Uint32())
				}
				recs[j] = log.Record{Value: v, Partition: 0}
			}
			if _, err := l.Append(ctx, topic, recs); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.CommitOffsets(ctx, "g", map[log.TopicPartition]int64{{Topic: topic, Partition: 0}: 4096}); err != nil {
			t.Fatal(err)
		}
		before, err := l.LSMStats()
		if err != nil {
			t.Fatal(err)
		}
		if err := l.db.Flush(); err != nil {
			t.Fatal(err)
		}
		after, err := l.LSMStats()
		if err != nil {
			t.Fatal(err)
		}
		return after.Sub(before).Flushed.Records
	}
	kept := flushed("user", false)
	purged := flushed("rep", true)
	// The purged topic's flush writes its last key (about 32 KiB) and
	// the range tombstone.
	if kept < 4<<20 || purged > 256<<10 {
		t.Fatalf("flushed %d bytes of a topic's records kept, %d of one purged before the flush; want at least 4 MiB and at most 256 KiB", kept, purged)
	}
}
