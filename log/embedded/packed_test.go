package embedded

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/runnel/runnel/log"
)

// incompressible returns n bytes no codec shrinks, the same for the same
// seed: tests that count the bytes a write takes (a disk's quota, the
// write-ahead log's bytes, tables per flush) use them, since the log
// packs what compresses.
func incompressible(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	v := make([]byte, n)
	for i := range v {
		v[i] = byte(r.Uint32())
	}
	return v
}

// jsonish is n bytes of records that compress as Nexmark's JSON does,
// about to half.
func jsonish(id, n int) []byte {
	var b []byte
	for i := 0; len(b) < n; i++ {
		b = fmt.Appendf(b, `{"auction":%d,"bidder":%d,"price":%d,"channel":"ch-%d",`, 1000+id*7+i, 2000+(id*31+i)%997, (id*131+i*17)%100000, (id+i)%10)
	}
	return b[:n]
}

func TestPackBatch(t *testing.T) {
	var entries []byte
	for i := range 200 {
		v := jsonish(i, 150)
		r := log.Record{Value: v, Timestamp: int64(i)}
		entries = appendBatchEntryHeader(entries, int64(i), recordSize(&r, r.Timestamp))
		entries = appendRecord(entries, &r)
	}
	packed, ok := packBatch([]byte("prefix"), entries)
	if !ok {
		t.Fatal("a batch of JSON records was not packed")
	}
	if !bytes.HasPrefix(packed, []byte("prefix")) || len(packed)-6 > len(entries)*7/8 {
		t.Fatalf("packed %d bytes to %d (after the dst's 6)", len(entries), len(packed)-6)
	}
	got, buf, err := unpackBatch(packed[6:], nil)
	if err != nil || !bytes.Equal(got, entries) || &got[0] != &buf[0] {
		t.Fatalf("unpacked to %d bytes (%v), want the %d packed, in the buffer returned", len(got), err, len(entries))
	}
	// The buffer is reused when large enough.
	again, buf2, err := unpackBatch(packed[6:], buf)
	if err != nil || !bytes.Equal(again, entries) || &buf2[0] != &buf[0] {
		t.Fatalf("unpacking again: %v; the buffer was not reused", err)
	}

	// What does not pay stays as it is: small values, and values that do
	// not compress by an eighth.
	for _, raw := range [][]byte{entries[:minPackBytes-1], incompressible(1, 32<<10)} {
		if out, ok := packBatch([]byte("d"), raw); ok || string(out) != "d" {
			t.Errorf("%d bytes packed (%v) to %d, want left alone", len(raw), ok, len(out))
		}
	}
	// An unpacked value is returned as it is, whatever its first delta.
	for _, raw := range [][]byte{nil, entries, appendBatchEntryHeader(nil, batchPacked-1, 0)} {
		if got, _, err := unpackBatch(raw, nil); err != nil || !bytes.Equal(got, raw) {
			t.Errorf("unpacked value %x: %x, %v", raw[:min(len(raw), 12)], got[:min(len(got), 12)], err)
		}
	}
	// An unknown codec and a damaged block are corrupt, not a panic.
	for name, v := range map[string][]byte{
		"codec":     append(appendBatchEntryHeader(nil, batchPacked+7, 0)[:9:9], packed[6+9:]...),
		"truncated": packed[6 : len(packed)-100],
		"damaged":   append(append([]byte(nil), packed[6:6+12]...), bytes.Repeat([]byte{0xff}, 64)...),
	} {
		if _, _, err := unpackBatch(v, nil); !errors.Is(err, errCorrupt) {
			t.Errorf("%s: %v, want a corrupt batch", name, err)
		}
	}
}

// TestPackedAndUnpackedBatches writes by hand a batch as the log wrote them
// before packing, then appends packed batches after it: both read, from
// every offset, across a reopen, a flush and a compaction, and the end
// offset found at open is right.
func TestPackedAndUnpackedBatches(t *testing.T) {
	dir := t.TempDir()
	ctx := ctxT(t)
	l := openTest(t, dir) // ReadBatch 100: reads end inside batches
	if err := l.CreateTopic(ctx, "p", log.TopicConfig{Partitions: 1, Compacted: true}); err != nil {
		t.Fatal(err)
	}
	var want []log.Record
	add := func(key string, i int) log.Record {
		r := log.Record{Key: []byte(key), Value: jsonish(i, 100+i%200), Timestamp: int64(1000 + i), Partition: 0}
		want = append(want, r)
		return r
	}
	// Offsets 0-49: one unpacked batch, as written before packing.
	var old []byte
	for i := range 50 {
		r := add(fmt.Sprintf("k%d", i%40), i)
		old = appendBatchEntryHeader(old, int64(i), recordSize(&r, r.Timestamp))
		old = appendRecord(old, &r)
	}
	id := topicID(t, l, "p")
	if err := l.db.Set(batchKey(id, 0, 0), old, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openTest(t, dir)
	defer func() { l.Close() }()
	// Offsets 50-649 in packed batches of about 32 KiB.
	var recs []log.Record
	for i := 50; i < 650; i++ {
		recs = append(recs, add(fmt.Sprintf("k%d", i%40), i))
	}
	out, err := l.Append(ctx, "p", recs)
	if err != nil || out[0].Offset != 50 {
		t.Fatalf("append after the old batch: %v; want offsets from 50", err)
	}
	layouts := func() (packed, unpacked int) {
		lo, hi := partitionRecordBounds(id, 0)
		it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		for it.First(); it.Valid(); it.Next() {
			if h, n := binary.Uvarint(it.Value()); n > 0 && h >= batchPacked {
				packed++
			} else {
				unpacked++
			}
		}
		return packed, unpacked
	}
	if p, u := layouts(); p < 3 || u != 1 {
		t.Fatalf("%d packed and %d unpacked batches; want the old one unpacked and the appended ones packed", p, u)
	}
	check := func(what string, want []log.Record) {
		t.Helper()
		for _, from := range []int64{0, 1, 49, 50, 51, 170, 649} {
			got := readFrom(t, l, "p", 0, from)
			var rest []log.Record
			for _, w := range want {
				if w.Offset >= from {
					rest = append(rest, w)
				}
			}
			if len(got) != len(rest) {
				t.Fatalf("%s, from %d: %d records, want %d", what, from, len(got), len(rest))
			}
			for j, r := range got {
				w := rest[j]
				if r.Offset != w.Offset || !bytes.Equal(r.Key, w.Key) || !bytes.Equal(r.Value, w.Value) || r.Timestamp != w.Timestamp {
					t.Fatalf("%s, from %d: record %d = %s@%d, want %s@%d", what, from, j, r.Key, r.Offset, w.Key, w.Offset)
				}
			}
		}
	}
	for i := range want {
		want[i].Offset = int64(i)
	}
	check("written", want)
	if err := l.db.Flush(); err != nil {
		t.Fatal(err)
	}
	check("flushed", want)

	// Compaction keeps each key's last record: the batches that lose
	// some are rewritten packed (the old, unpacked one too, since what it
	// keeps still compresses), and read as well.
	if err := l.Compact(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if p, u := layouts(); p < 1 || u != 0 {
		t.Fatalf("after compaction %d packed and %d unpacked batches; want every rewritten batch packed", p, u)
	}
	last := map[string]log.Record{}
	for _, r := range want {
		last[string(r.Key)] = r
	}
	var kept []log.Record
	for _, r := range want {
		if last[string(r.Key)].Offset == r.Offset {
			kept = append(kept, r)
		}
	}
	check("compacted", kept)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openTest(t, dir)
	check("reopened", kept)
	if ends, err := l.EndOffsets(ctx, "p"); err != nil || ends[0] != 650 {
		t.Fatalf("end offsets after reopening: %v, %v; want [650]", ends, err)
	}
}

// TestPackedRecordsOutliveTheNextRead reads packed batches without handing
// them back: a batch's records keep their bytes while later reads
// decompress other batches into the reader's buffers.
func TestPackedRecordsOutliveTheNextRead(t *testing.T) {
	ctx := ctxT(t)
	l := openTest(t, t.TempDir()) // ReadBatch 100
	defer l.Close()
	if err := l.CreateTopic(ctx, "p", log.TopicConfig{Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	var recs []log.Record
	for i := range 1000 {
		recs = append(recs, log.Record{Value: jsonish(i, 200), Partition: 0})
	}
	if _, err := l.Append(ctx, "p", recs); err != nil {
		t.Fatal(err)
	}
	r, err := l.NewReader(ctx, log.TopicPartition{Topic: "p"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []log.Record
	for len(got) < len(recs) {
		batch, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, batch...)
	}
	for i := range recs {
		if !bytes.Equal(got[i].Value, recs[i].Value) {
			t.Fatalf("record %d changed once later batches were read: %.40q, want %.40q", i, got[i].Value, recs[i].Value)
		}
	}
}

func TestBidValuesCompressLikeBids(t *testing.T) {
	var entries []byte
	for i, v := range bidValues(120) {
		if len(v) != bidValueBytes {
			t.Fatalf("value %d of %d bytes", i, len(v))
		}
		r := log.Record{Value: v}
		entries = appendBatchEntryHeader(entries, int64(i), recordSize(&r, 0))
		entries = appendRecord(entries, &r)
	}
	packed, ok := packBatch(nil, entries)
	// Nexmark's bids pack to 46%; the benchmarks' values should not be
	// much easier or harder.
	if ratio := float64(len(packed)) / float64(len(entries)); !ok || ratio < 0.35 || ratio > 0.6 {
		t.Fatalf("the benchmark's values pack to %.2f (%v), want about half", ratio, ok)
	}
}
