package embedded

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/runnel/runnel/log"
)

func TestLogSpanPolicy(t *testing.T) {
	rec := func(id uint64, part int32, off int64) []byte { return recordKey(id, part, off) }
	for _, tc := range []struct {
		name       string
		start, end []byte
	}{
		{"before the log", []byte("A"), []byte("L")},
		{"topic metadata end floor", endFloorKey(3, 1), []byte("Lr")},
		{"group offsets", groupOffsetKey(3, "g", 0), []byte("Lr")},
		{"next topic id", nextIDKey, []byte("Lr")},
		{"first record of a partition", rec(3, 1, 0), partitionEnd(3, 1)},
		{"a later record of a partition", rec(3, 1, 1<<40), partitionEnd(3, 1)},
		{"the last partition of a topic", rec(3, 1<<31-1, 7), partitionEnd(3, 1<<31-1)},
		{"a short key among the records", []byte("Lr\x00"), []byte("Ls")},
		{"topic metadata", topicKey("t"), []byte("S")},
		{"state stores", []byte("S\x00\x01k"), nil},
		{"past the state stores", []byte("Z"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, end, err := logSpanPolicy(tc.start)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(end, tc.end) {
				t.Fatalf("end of span from %x = %x, want %x", tc.start, end, tc.end)
			}
			if end != nil && bytes.Compare(end, tc.start) <= 0 {
				t.Fatalf("end %x is not past start %x", end, tc.start)
			}
		})
	}
}

// partitionEnd is the shortest key past every record of a partition and
// before every record of the next one.
func partitionEnd(id uint64, part int32) []byte {
	end := prefixEnd(recordKey(id, part, 0)[:recordPartitionPrefixLen])
	if bytes.Compare(end, recordKey(id, part, 1<<63-1)) <= 0 {
		panic("partitionEnd is not past the partition")
	}
	if part < 1<<31-1 && bytes.Compare(end, recordKey(id, part+1, 0)) > 0 {
		panic("partitionEnd is past the next partition")
	}
	return end
}

func TestMemTableSizeFor(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		disk int64
		want uint64
	}{
		{0, 4 * mib},
		{64 * mib, 4 * mib},
		{1 << 30, 4 * mib},
		{2 << 30, 8 * mib},
		{8 << 30, 32 * mib},
		{16 << 30, 64 * mib},
		{1 << 40, 64 * mib},
	} {
		if got := memTableSizeFor(tc.disk); got != tc.want {
			t.Errorf("memTableSizeFor(%d) = %d, want %d", tc.disk, got, tc.want)
		}
	}
}

func TestTunePebbleKeepsCallersChoices(t *testing.T) {
	o := &pebble.Options{MemTableSize: 1 << 20, FormatMajorVersion: pebble.FormatFlushableIngest}
	o.Levels[1].BlockSize = 8 << 10
	custom := func(start []byte) (pebble.SpanPolicy, []byte, error) { return pebble.SpanPolicy{}, nil, nil }
	o.Experimental.SpanPolicyFunc = custom
	o.L0CompactionThreshold = 3
	tunePebble(o, 1<<40)
	if o.L0CompactionThreshold != 3 {
		t.Fatalf("tunePebble overrode the caller's L0 compaction threshold: %d", o.L0CompactionThreshold)
	}
	if o.MemTableSize != 1<<20 || o.FormatMajorVersion != pebble.FormatFlushableIngest {
		t.Fatalf("tunePebble overrode the caller: memtable %d, format %v", o.MemTableSize, o.FormatMajorVersion)
	}
	if _, end, _ := o.Experimental.SpanPolicyFunc([]byte("Lr")); end != nil {
		t.Fatalf("tunePebble replaced the caller's span policy")
	}
	if o.Levels[1].BlockSize != 8<<10 || o.Levels[0].BlockSize != logBlockSize {
		t.Fatalf("block sizes %d (caller's 8192 kept?) and %d (unset: %d)", o.Levels[1].BlockSize, o.Levels[0].BlockSize, logBlockSize)
	}
	d := &pebble.Options{}
	tunePebble(d, 1<<40)
	if d.MemTableSize != maxLogMemTableSize || d.FormatMajorVersion != pebble.FormatNewest || d.Levels[0].Compression == nil ||
		d.Experimental.EnableColumnarBlocks == nil || d.Experimental.EnableColumnarBlocks() {
		t.Fatalf("defaults not set: memtable %d, format %v", d.MemTableSize, d.FormatMajorVersion)
	}
	if d.L0CompactionThreshold != logL0CompactionThreshold {
		t.Fatalf("L0 compaction threshold %d, want %d", d.L0CompactionThreshold, logL0CompactionThreshold)
	}
	// A caller's stop-writes threshold below the log's compaction
	// threshold keeps Pebble's default, which Pebble accepts.
	low := &pebble.Options{L0StopWritesThreshold: 6}
	tunePebble(low, 1<<40)
	if low.L0CompactionThreshold != 0 {
		t.Fatalf("L0 compaction threshold %d above the caller's stop-writes threshold 6", low.L0CompactionThreshold)
	}
	for i := range d.Levels {
		if d.Levels[i].BlockSize != logBlockSize {
			t.Fatalf("level %d block size %d, want %d", i, d.Levels[i].BlockSize, logBlockSize)
		}
	}
}

// TestPartitionsGetTablesOfTheirOwn writes several partitions of two topics
// interleaved, as concurrent producers do, through many memtable flushes,
// and checks what lets Pebble move a partition's tables down the levels
// instead of merging them: no table holds the records of two partitions.
// The records all read back.
func TestPartitionsGetTablesOfTheirOwn(t *testing.T) {
	ctx := ctxT(t)
	l, err := Open(Options{Dir: t.TempDir(), Logger: quietLogger(), Pebble: &pebble.Options{MemTableSize: 256 << 10}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	topics := []string{"a", "b"}
	const parts, rounds = 3, 200
	for _, name := range topics {
		if err := l.CreateTopic(ctx, name, log.TopicConfig{Partitions: parts}); err != nil {
			t.Fatal(err)
		}
	}
	val := incompressible(1, 1000)
	for i := 0; i < rounds; i++ {
		var txn log.Txn
		for _, name := range topics {
			for p := int32(0); p < parts; p++ {
				for j := 0; j < 4; j++ {
					txn.Records = append(txn.Records, log.ProduceRecord{Topic: name, Record: log.Record{
						Value: fmt.Appendf(append([]byte(nil), val...), "%d/%d", i, j), Partition: p, Timestamp: int64(i)}})
				}
			}
		}
		if err := l.Commit(ctx, txn); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.db.Flush(); err != nil {
		t.Fatal(err)
	}
	levels, err := l.db.SSTables()
	if err != nil {
		t.Fatal(err)
	}
	tables := 0
	for level, ts := range levels {
		for _, tbl := range ts {
			lo, hi := tbl.Smallest.UserKey, tbl.Largest.UserKey
			if !bytes.HasPrefix(lo, spanRecords) {
				continue
			}
			tables++
			if len(lo) < recordPartitionPrefixLen || len(hi) < recordPartitionPrefixLen ||
				!bytes.Equal(lo[:recordPartitionPrefixLen], hi[:recordPartitionPrefixLen]) {
				t.Errorf("L%d table %s holds records of more than one partition: %x to %x", level, tbl.FileNum, lo, hi)
			}
		}
	}
	// 4.8 MB of records through 256 KiB memtables: many flushes, each of
	// every partition.
	if tables < 2*parts*len(topics) {
		t.Fatalf("%d record tables; want several per partition", tables)
	}
	for _, name := range topics {
		for p := int32(0); p < parts; p++ {
			r, err := l.NewReader(ctx, log.TopicPartition{Topic: name, Partition: p}, 0)
			if err != nil {
				t.Fatal(err)
			}
			for n := 0; n < rounds*4; {
				recs, err := r.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, rec := range recs {
					want := fmt.Appendf(append([]byte(nil), val...), "%d/%d", n/4, n%4)
					if rec.Offset != int64(n) || !bytes.Equal(rec.Value, want) {
						t.Fatalf("%s/%d: record %d at offset %d is %q...", name, p, n, rec.Offset, rec.Value[len(val):])
					}
					n++
				}
			}
			r.Close()
		}
	}
}

// TestReadBatchBytes checks that a batch stops before it would pass
// ReadBatchBytes, and always holds a record, however large.
func TestReadBatchBytes(t *testing.T) {
	ctx := ctxT(t)
	l, err := Open(Options{Dir: t.TempDir(), Logger: quietLogger(), ReadBatchBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.CreateTopic(ctx, "t", log.TopicConfig{Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	sizes := []int{200 << 10} // one record past the limit on its own
	for i := 0; i < 40; i++ {
		sizes = append(sizes, 10<<10)
	}
	var recs []log.Record
	for _, n := range sizes {
		recs = append(recs, log.Record{Value: bytes.Repeat([]byte{'v'}, n), Partition: 0})
	}
	if _, err := l.Append(ctx, "t", recs); err != nil {
		t.Fatal(err)
	}
	r, err := l.NewReader(ctx, log.TopicPartition{Topic: "t"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var batches []int
	for read := 0; read < len(sizes); {
		got, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range got {
			if rec.Offset != int64(read) || len(rec.Value) != sizes[read] {
				t.Fatalf("record %d: offset %d, %d bytes; want %d bytes", read, rec.Offset, len(rec.Value), sizes[read])
			}
			read++
		}
		batches = append(batches, len(got))
	}
	// The large record alone, then 10 KiB records as long as they fit in
	// 64 KiB (a seventh would pass it).
	want := []int{1, 6, 6, 6, 6, 6, 6, 4}
	if fmt.Sprint(batches) != fmt.Sprint(want) {
		t.Fatalf("batches of %v records, want %v", batches, want)
	}
}

// TestDeleteTopicExcisesItsTables: a deleted topic's records leave the LSM
// with DeleteTopic, not with the compactions that would read them back; a
// topic beside it keeps its records.
func TestDeleteTopicExcisesItsTables(t *testing.T) {
	ctx := ctxT(t)
	l, err := Open(Options{Dir: t.TempDir(), Logger: quietLogger(), Pebble: &pebble.Options{MemTableSize: 256 << 10}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, name := range []string{"gone", "kept"} {
		if err := l.CreateTopic(ctx, name, log.TopicConfig{Partitions: 2}); err != nil {
			t.Fatal(err)
		}
	}
	val := incompressible(2, 1000)
	for i := 0; i < 100; i++ {
		var txn log.Txn
		for _, name := range []string{"gone", "kept"} {
			for j := 0; j < 10; j++ {
				txn.Records = append(txn.Records, log.ProduceRecord{Topic: name, Record: log.Record{Value: val, Partition: -1}})
			}
		}
		if err := l.Commit(ctx, txn); err != nil {
			t.Fatal(err)
		}
	}
	gone, err := l.lookup("gone")
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := topicRecordBounds(gone.id)
	overlapping := func() int {
		levels, err := l.db.SSTables()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ts := range levels {
			for _, tbl := range ts {
				if bytes.Compare(tbl.Smallest.UserKey, hi) < 0 && bytes.Compare(tbl.Largest.UserKey, lo) >= 0 {
					n++
				}
			}
		}
		return n
	}
	if err := l.db.Flush(); err != nil {
		t.Fatal(err)
	}
	if overlapping() == 0 {
		t.Fatalf("no table holds the topic's records before it is deleted")
	}
	// Some records still in the memtable: the excise waits for its flush
	// (which a flush, not a compaction, completes).
	if _, err := l.Append(ctx, "gone", []log.Record{{Value: val, Partition: 0}}); err != nil {
		t.Fatal(err)
	}
	if err := l.DeleteTopic(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := l.db.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := overlapping(); n != 0 {
		t.Fatalf("%d tables still overlap the deleted topic's records", n)
	}
	ends, err := l.EndOffsets(ctx, "kept")
	if err != nil || ends[0]+ends[1] != 1000 {
		t.Fatalf("the other topic: end offsets %v, %v; want 1000 records", ends, err)
	}
	r, err := l.NewReader(ctx, log.TopicPartition{Topic: "kept", Partition: 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for read := int64(0); read < ends[1]; {
		recs, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			if rec.Offset != read || !bytes.Equal(rec.Value, val) {
				t.Fatalf("kept/1 record %d at offset %d is wrong", read, rec.Offset)
			}
			read++
		}
	}
}

// TestLSMStatsBySpan writes records and state keys through small memtables,
// then compacts everything, and checks that LSMStats tells the kinds
// apart: the flushes wrote tables of both, the compaction rewrote or moved
// them, Sub counts only what happened in between, and a closed log fails.
func TestLSMStatsBySpan(t *testing.T) {
	ctx := ctxT(t)
	l, err := Open(Options{Dir: t.TempDir(), Logger: quietLogger(), Pebble: &pebble.Options{MemTableSize: 256 << 10}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.CreateTopic(ctx, "t", log.TopicConfig{Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	start, err := l.LSMStats()
	if err != nil {
		t.Fatal(err)
	}
	val, val2 := incompressible(2, 1000), incompressible(3, 1000)
	const rounds = 100
	for i := 0; i < rounds; i++ {
		txn := log.Txn{Records: []log.ProduceRecord{
			{Topic: "t", Record: log.Record{Value: val, Partition: int32(i % 2)}},
			{Topic: "t", Record: log.Record{Value: val2, Partition: int32(i % 2)}},
		}}
		if err := l.Commit(ctx, txn); err != nil {
			t.Fatal(err)
		}
		// A state store's keys, as a task's commit writes them.
		b := l.db.NewBatch()
		for j := 0; j < 4; j++ {
			if err := b.Set(fmt.Appendf([]byte{StatePrefix}, "store/%d/%d", i, j), val, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Commit(pebble.NoSync); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.db.Flush(); err != nil {
		t.Fatal(err)
	}
	flushed, err := l.LSMStats()
	if err != nil {
		t.Fatal(err)
	}
	d := flushed.Sub(start)
	// 200 records and 400 state values of 1,000 bytes each.
	if d.WALBytes < 600_000 {
		t.Errorf("WALBytes %d, want at least the 600,000 bytes of values written", d.WALBytes)
	}
	if d.Flushes == 0 || d.Flushed.Records == 0 || d.Flushed.State == 0 {
		t.Errorf("after the flushes: %+v; want flushes of records and of state", d)
	}
	if d.Flushed.Total() != d.Flushed.Records+d.Flushed.Meta+d.Flushed.State {
		t.Errorf("Total %d is not the sum of %+v", d.Flushed.Total(), d.Flushed)
	}
	if err := l.db.Compact(ctx, []byte{0}, []byte{0xff}, true); err != nil {
		t.Fatal(err)
	}
	done, err := l.LSMStats()
	if err != nil {
		t.Fatal(err)
	}
	c := done.Sub(flushed)
	if c.Flushes != 0 && c.Flushed.Total() == 0 {
		t.Errorf("a flush that wrote nothing was counted: %+v", c)
	}
	if c.Compactions+c.Moves == 0 || c.Compacted.State+c.Moved.State == 0 || c.Compacted.Records+c.Moved.Records == 0 {
		t.Errorf("after compacting everything: %+v; want the records and the state compacted or moved", c)
	}
	if c.WALBytes != 0 {
		t.Errorf("a compaction wrote %d bytes to the write-ahead log", c.WALBytes)
	}
	if amp := d.WriteAmp(); amp <= 0 {
		t.Errorf("WriteAmp %v after flushes, want > 0", amp)
	}
	if s := done.String(); !strings.Contains(s, "flushed_mb=") || !strings.Contains(s, "write_amp=") {
		t.Errorf("String() = %q", s)
	}
	l.Close()
	if _, err := l.LSMStats(); !errors.Is(err, log.ErrClosed) {
		t.Errorf("LSMStats after Close: %v, want log.ErrClosed", err)
	}
}
