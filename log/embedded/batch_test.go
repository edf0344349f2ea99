package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/runnel/runnel/log"
)

func TestBatchKeys(t *testing.T) {
	// A batch key sits between its base's record key and the next
	// offset's, so both kinds share one partition's range in offset order.
	for _, base := range []int64{0, 1, 255, 1 << 40} {
		bk := batchKey(3, 2, base)
		if bytes.Compare(recordKey(3, 2, base), bk) >= 0 || bytes.Compare(bk, recordKey(3, 2, base+1)) >= 0 {
			t.Fatalf("batch key %x not between record keys of %d and %d", bk, base, base+1)
		}
		lo, hi := partitionRecordBounds(3, 2)
		if bytes.Compare(bk, lo) < 0 || bytes.Compare(bk, hi) >= 0 {
			t.Fatalf("batch key %x outside its partition's bounds", bk)
		}
		if off, err := recordKeyOffset(bk); err != nil || off != base {
			t.Fatalf("recordKeyOffset(batch %d) = %d, %v", base, off, err)
		}
		if part, err := recordKeyPartition(bk); err != nil || part != 2 {
			t.Fatalf("recordKeyPartition(batch) = %d, %v", part, err)
		}
		if !isBatchKey(bk) || isBatchKey(recordKey(3, 2, base)) {
			t.Fatal("isBatchKey confuses the two kinds")
		}
	}
	bad := append(recordKey(1, 0, 0), 'x')
	if _, err := recordKeyOffset(bad); err == nil {
		t.Fatalf("recordKeyOffset(%x) accepted a wrong mark", bad)
	}
}

// encodeBatch builds a batch value of recs at the given deltas.
func encodeBatch(recs []log.Record, deltas []int64) []byte {
	var v []byte
	for i := range recs {
		v = appendBatchEntryHeader(v, deltas[i], recordSize(&recs[i], recs[i].Timestamp))
		v = appendRecord(v, &recs[i])
	}
	return v
}

func TestKeyRecords(t *testing.T) {
	recs := []log.Record{
		{Key: []byte("a"), Value: []byte("1"), Timestamp: 5},
		{Key: nil, Value: nil, Timestamp: 6},
		{Key: []byte("c"), Value: make([]byte, 300), Timestamp: 7},
		{Key: []byte{}, Value: []byte{}, Timestamp: 8},
	}
	tests := []struct {
		name   string
		key    []byte
		value  []byte
		offs   []int64
		nrecs  int
		single bool
	}{
		{"consecutive", batchKey(1, 0, 10), encodeBatch(recs, []int64{0, 1, 2, 3}), []int64{10, 11, 12, 13}, 4, false},
		{"compacted", batchKey(1, 0, 10), encodeBatch(recs, []int64{1, 4, 200, 201}), []int64{11, 14, 210, 211}, 4, false},
		{"empty batch", batchKey(1, 0, 10), nil, nil, 0, false},
		{"single record", recordKey(1, 0, 7), appendRecord(nil, &recs[2]), []int64{7}, 1, true},
	}
	for _, tt := range tests {
		kr, err := newKeyRecords(tt.key, tt.value)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var offs []int64
		for {
			off, v, more := kr.next()
			if !more {
				break
			}
			offs = append(offs, off)
			var got log.Record
			if err := decodeRecord(v, &got); err != nil {
				t.Fatalf("%s: record at %d: %v", tt.name, off, err)
			}
			want := recs[len(offs)-1]
			if tt.single {
				want = recs[2]
			}
			if got.Timestamp != want.Timestamp || !sameNullable(got.Key, want.Key) || !sameNullable(got.Value, want.Value) {
				t.Fatalf("%s: record at %d = %+v, want %+v", tt.name, off, got, want)
			}
		}
		if kr.err != nil {
			t.Fatalf("%s: %v", tt.name, kr.err)
		}
		if fmt.Sprint(offs) != fmt.Sprint(tt.offs) {
			t.Fatalf("%s: offsets %v, want %v", tt.name, offs, tt.offs)
		}
	}
	// A batch cut inside an entry is an error, never a wrong record or a
	// panic. (A cut between entries is a shorter batch: Pebble's block
	// checksums are what find that.)
	v := encodeBatch(recs, []int64{0, 1, 2, 3})
	boundaries := map[int]bool{0: true}
	for kr := (keyRecords{rest: v}); ; {
		if _, _, more := kr.next(); !more {
			break
		}
		boundaries[len(v)-len(kr.rest)] = true
	}
	for n := 1; n < len(v); n++ {
		kr, _ := newKeyRecords(batchKey(1, 0, 0), v[:n])
		for {
			_, rv, more := kr.next()
			if !more {
				break
			}
			var got log.Record
			if err := decodeRecord(rv, &got); err != nil {
				t.Fatalf("cut at %d of %d: a record that does not decode: %v", n, len(v), err)
			}
		}
		if boundaries[n] != (kr.err == nil) || (kr.err != nil && !errors.Is(kr.err, errCorrupt)) {
			t.Fatalf("cut at %d of %d (between entries: %v): err %v", n, len(v), boundaries[n], kr.err)
		}
	}
}

// readFrom reads partition part of topic from offset from to its end.
func readFrom(t *testing.T, l *Log, topic string, part int32, from int64) []log.Record {
	t.Helper()
	ctx := ctxT(t)
	ends, err := l.EndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	r, err := l.NewReader(ctx, log.TopicPartition{Topic: topic, Partition: part}, from)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []log.Record
	for r.Position() < ends[part] {
		recs, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, recs...)
	}
	return out
}

func TestBatchReadsFromAnyOffset(t *testing.T) {
	ctx := ctxT(t)
	l := openTest(t, t.TempDir()) // ReadBatch 100: reads end inside batches
	defer l.Close()
	if err := l.CreateTopic(ctx, "t", log.TopicConfig{Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	// One append of 600 records of 300 bytes spans several batch keys per
	// partition (batchValueTarget), and one record larger than a batch
	// has a key of its own.
	var recs []log.Record
	for i := range 600 {
		v := bytes.Repeat([]byte{byte(i)}, 300)
		if i == 77 {
			v = make([]byte, 2*batchValueTarget)
		}
		recs = append(recs, log.Record{Key: fmt.Appendf(nil, "k%d", i), Value: v, Partition: int32(i % 2), Timestamp: int64(i)})
	}
	if _, err := l.Append(ctx, "t", recs); err != nil {
		t.Fatal(err)
	}
	keys := 0
	lo, hi := partitionRecordBounds(topicID(t, l, "t"), 0)
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		t.Fatal(err)
	}
	for it.First(); it.Valid(); it.Next() {
		if !isBatchKey(it.Key()) {
			t.Fatalf("an append wrote a single record's key %x", it.Key())
		}
		keys++
	}
	_ = it.Close()
	if keys < 3 || keys > 300/(batchValueTarget/310)+3 {
		t.Fatalf("partition 0's 300 records took %d keys", keys)
	}
	for _, from := range []int64{0, 1, 38, 39, 99, 100, 101, 150, 298, 299, 300} {
		got := readFrom(t, l, "t", 0, from)
		if len(got) != int(max(300-from, 0)) {
			t.Fatalf("from %d: %d records, want %d", from, len(got), 300-from)
		}
		for j, r := range got {
			off := from + int64(j)
			want := recs[2*off]
			if r.Offset != off || r.Partition != 0 || !bytes.Equal(r.Key, want.Key) || !bytes.Equal(r.Value, want.Value) || r.Timestamp != want.Timestamp {
				t.Fatalf("from %d: record %d is %s@%d, want %s@%d", from, j, r.Key, r.Offset, want.Key, off)
			}
		}
	}
}

// writeLegacy writes recs into partition part of topic as the log wrote
// every record before batches: one key each, its value the record alone.
func writeLegacy(t *testing.T, l *Log, topic string, part int32, recs []log.Record) {
	t.Helper()
	b := l.db.NewBatch()
	defer b.Close()
	for i := range recs {
		if err := b.Set(recordKey(topicID(t, l, topic), part, int64(i)), appendRecord(nil, &recs[i]), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		t.Fatal(err)
	}
}

func TestLegacyRecords(t *testing.T) {
	// A data directory from before batches holds one key per record: it
	// reads as before, later appends go on after it in batches, and
	// compaction and reopening handle both kinds of key in one partition.
	dir := t.TempDir()
	ctx := ctxT(t)
	l := openTest(t, dir)
	if err := l.CreateTopic(ctx, "old", log.TopicConfig{Partitions: 1, Compacted: true}); err != nil {
		t.Fatal(err)
	}
	old := []log.Record{
		{Key: []byte("a"), Value: []byte("a0"), Timestamp: 1},
		{Key: []byte("b"), Value: []byte("b0"), Timestamp: 2},
		{Key: []byte("c"), Value: []byte("c0"), Timestamp: 3},
		{Key: nil, Value: []byte("n"), Timestamp: 4},
	}
	writeLegacy(t, l, "old", 0, old)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	l = openTest(t, dir)
	defer func() { l.Close() }()
	if ends, err := l.EndOffsets(ctx, "old"); err != nil || ends[0] != 4 {
		t.Fatalf("end offsets of the old records = %v, %v; want [4]", ends, err)
	}
	newer := []log.Record{
		{Key: []byte("a"), Value: []byte("a1"), Partition: 0, Timestamp: 5},
		{Key: []byte("d"), Value: []byte("d0"), Partition: 0, Timestamp: 6},
		{Key: []byte("b"), Value: nil, Partition: 0, Timestamp: 7},
		{Key: []byte("d"), Value: []byte("d1"), Partition: 0, Timestamp: 8},
	}
	if _, err := l.Append(ctx, "old", newer); err != nil {
		t.Fatal(err)
	}
	all := append(append([]log.Record(nil), old...), newer...)
	for from := int64(0); from <= 8; from++ {
		got := readFrom(t, l, "old", 0, from)
		if len(got) != 8-int(from) {
			t.Fatalf("from %d: %d records, want %d", from, len(got), 8-from)
		}
		for j, r := range got {
			want := all[int(from)+j]
			if r.Offset != from+int64(j) || !sameNullable(r.Key, want.Key) || !sameNullable(r.Value, want.Value) || r.Timestamp != want.Timestamp {
				t.Fatalf("from %d: record %d = %q=%q@%d, want %q=%q@%d", from, j, r.Key, r.Value, r.Offset, want.Key, want.Value, from+int64(j))
			}
		}
	}

	// a0 and b0 (old keys), b's tombstone and d0 (in the batch) go; the
	// batch keeps a1 and d1 at their offsets.
	if err := l.Compact(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	check := func(what string) {
		t.Helper()
		got := readFrom(t, l, "old", 0, 0)
		var desc []string
		for _, r := range got {
			desc = append(desc, fmt.Sprintf("%s=%s@%d", r.Key, r.Value, r.Offset))
		}
		if want := "[c=c0@2 =n@3 a=a1@4 d=d1@7]"; fmt.Sprint(desc) != want {
			t.Fatalf("%s: %v, want %s", what, desc, want)
		}
		if ends, err := l.EndOffsets(ctx, "old"); err != nil || ends[0] != 8 {
			t.Fatalf("%s: end offsets %v, %v; want [8]", what, ends, err)
		}
	}
	check("compacted")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openTest(t, dir)
	check("reopened")
	out, err := l.Append(ctx, "old", []log.Record{{Key: []byte("e"), Value: []byte("e0"), Partition: 0}})
	if err != nil || out[0].Offset != 8 {
		t.Fatalf("append after reopening: %v, %v; want offset 8", out, err)
	}
}

func TestCompactInsideBatches(t *testing.T) {
	dir := t.TempDir()
	ctx := ctxT(t)
	l := openTest(t, dir)
	defer func() { l.Close() }()
	if err := l.CreateTopic(ctx, "c", log.TopicConfig{Partitions: 1, Compacted: true}); err != nil {
		t.Fatal(err)
	}
	rec := func(k, v string) log.Record {
		r := log.Record{Key: []byte(k), Partition: 0}
		if v != "" {
			r.Value = []byte(v)
		}
		return r
	}
	// Batch 0-3 loses its first and last records, batch 4-5 loses all of
	// its own, batch 6-7 keeps both.
	for _, recs := range [][]log.Record{
		{rec("a", "1"), rec("b", "1"), rec("c", "1"), rec("d", "1")},
		{rec("a", "2"), rec("d", "")},
		{rec("a", "3"), rec("e", "1")},
	} {
		if _, err := l.Append(ctx, "c", recs); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Compact(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	var desc []string
	for _, r := range readFrom(t, l, "c", 0, 0) {
		desc = append(desc, fmt.Sprintf("%s=%s@%d", r.Key, r.Value, r.Offset))
	}
	if want := "[b=1@1 c=1@2 a=3@6 e=1@7]"; fmt.Sprint(desc) != want {
		t.Fatalf("after compaction: %v, want %s", desc, want)
	}
	// Reading from inside the rewritten batch, and from the offsets the
	// emptied batch had.
	for from, want := range map[int64]int{0: 4, 1: 4, 2: 3, 3: 2, 4: 2, 5: 2, 6: 2, 7: 1, 8: 0} {
		if got := readFrom(t, l, "c", 0, from); len(got) != want {
			t.Fatalf("from %d: %d records, want %d", from, len(got), want)
		}
	}
	var keys []string
	lo, hi := partitionRecordBounds(topicID(t, l, "c"), 0)
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		t.Fatal(err)
	}
	for it.First(); it.Valid(); it.Next() {
		off, _ := recordKeyOffset(it.Key())
		keys = append(keys, fmt.Sprint(off))
	}
	_ = it.Close()
	if fmt.Sprint(keys) != "[0 6]" {
		t.Fatalf("batch keys after compaction at %v, want [0 6] (the emptied batch deleted)", keys)
	}
	// Compacting again changes nothing.
	if err := l.Compact(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if got := readFrom(t, l, "c", 0, 0); len(got) != 4 {
		t.Fatalf("second compaction left %d records, want 4", len(got))
	}
}

func topicID(t *testing.T, l *Log, name string) uint64 {
	t.Helper()
	tp, err := l.lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return tp.id
}

func TestCompactCommitsInParts(t *testing.T) {
	// Every batch of the first append loses half its records and keeps
	// the other half, so the rewritten batches hold more than
	// compactBatchBytes: the compaction commits them in parts, and what it
	// leaves is right however the parts fall.
	dir := t.TempDir()
	// 12 MB written, compacted and read back twice take 6 s under -race
	// on a loaded 2-core machine: ctxT's 10 s is too close.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l := openTest(t, dir)
	defer func() { l.Close() }()
	if err := l.CreateTopic(ctx, "c", log.TopicConfig{Partitions: 1, Compacted: true}); err != nil {
		t.Fatal(err)
	}
	const n = 6000
	// Incompressible, each its own, so that the batches it keeps stay as
	// large as their records once rewritten (a write packs what
	// compresses).
	val := func(i int) []byte { return incompressible(uint64(i), 1000) }
	var first, second []log.Record
	for i := range n {
		first = append(first,
			log.Record{Key: fmt.Appendf(nil, "keep%d", i), Value: val(i), Partition: 0},
			log.Record{Key: fmt.Appendf(nil, "dup%d", i), Value: val(n + i), Partition: 0})
		second = append(second, log.Record{Key: fmt.Appendf(nil, "dup%d", i), Value: []byte("new"), Partition: 0})
	}
	if n*1000 <= compactBatchBytes {
		t.Fatalf("%d kept bytes do not pass compactBatchBytes", n*1000)
	}
	for _, recs := range [][]log.Record{first, second} {
		if _, err := l.Append(ctx, "c", recs); err != nil {
			t.Fatal(err)
		}
	}
	walBytes := func() uint64 { return l.db.Metrics().WAL.BytesIn }
	before := walBytes()
	if err := l.Compact(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if written := walBytes() - before; written < n*1000 {
		t.Fatalf("compaction wrote %d bytes to the WAL, want the %d kept", written, n*1000)
	}
	check := func(what string) {
		t.Helper()
		got := readFrom(t, l, "c", 0, 0)
		if len(got) != 2*n {
			t.Fatalf("%s: %d records, want %d", what, len(got), 2*n)
		}
		for i, r := range got {
			switch {
			case i < n && (r.Offset != int64(2*i) || string(r.Key) != fmt.Sprintf("keep%d", i) || !bytes.Equal(r.Value, val(i))):
				t.Fatalf("%s: record %d = %s@%d, want keep%d@%d", what, i, r.Key, r.Offset, i, 2*i)
			case i >= n && (r.Offset != int64(n+i) || string(r.Key) != fmt.Sprintf("dup%d", i-n) || string(r.Value) != "new"):
				t.Fatalf("%s: record %d = %s=%s@%d, want dup%d=new@%d", what, i, r.Key, r.Value, r.Offset, i-n, n+i)
			}
		}
	}
	check("compacted")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openTest(t, dir)
	check("reopened")
	if ends, err := l.EndOffsets(ctx, "c"); err != nil || ends[0] != 3*n {
		t.Fatalf("end offsets %v, %v; want [%d]", ends, err, 3*n)
	}
}

// TestRetainedBatchMemory: a commit's batch memory goes back to Pebble's
// pool for the next commit (startWrite), and a batch large enough for
// Pebble to keep as a memtable of its own must not be written over by
// the commits after it. Each commit's records are read back whole.
func TestRetainedBatchMemory(t *testing.T) {
	ctx := ctxT(t)
	// 4 MiB memtables: a batch of 2 MiB or more becomes a memtable
	// itself, and the retained memory (twice ReadBatchBytes) exceeds it.
	l, err := Open(Options{Dir: t.TempDir(), Logger: quietLogger(), Pebble: &pebble.Options{MemTableSize: 4 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.CreateTopic(ctx, "t", log.TopicConfig{Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	const recsPerCommit = 3000
	val := func(c, i int) []byte {
		return bytes.Repeat([]byte{byte('a' + (c+i)%26)}, 1000)
	}
	for c, n := range []int{recsPerCommit, 10, recsPerCommit, recsPerCommit, 10} {
		txn := log.Txn{}
		for i := range n {
			txn.Records = append(txn.Records, log.ProduceRecord{Topic: "t", Record: log.Record{Value: val(c, i), Partition: 0}})
		}
		wait, err := l.CommitAsync(ctx, txn)
		if err != nil {
			t.Fatal(err)
		}
		if err := wait(); err != nil {
			t.Fatal(err)
		}
	}
	r, err := l.NewReader(ctx, log.TopicPartition{Topic: "t"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []log.Record
	for len(got) < 3*recsPerCommit+20 {
		recs, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			rec.Value = bytes.Clone(rec.Value)
			got = append(got, rec)
		}
	}
	off := 0
	for c, n := range []int{recsPerCommit, 10, recsPerCommit, recsPerCommit, 10} {
		for i := range n {
			if !bytes.Equal(got[off].Value, val(c, i)) {
				t.Fatalf("commit %d record %d (offset %d): %.8q..., want %.8q...", c, i, got[off].Offset, got[off].Value, val(c, i))
			}
			off++
		}
	}
}
