package embedded

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/runnel/runnel/log"
)

// TestReaderRecycle: a batch handed back with Recycle is the memory the
// next batch is read into, and the records read into it are the log's;
// a batch that is not the last one handed back is ignored, and a reader
// that parks keeps nothing.
func TestReaderRecycle(t *testing.T) {
	ctx := ctxT(t)
	val := func(i int) []byte { return fmt.Appendf(nil, "value %04d %s", i, bytes.Repeat([]byte{'x'}, i%7)) }
	const n = 450
	rr := recycleReader(ctx, t, n, val)
	r := log.Reader(rr)
	check := func(batch []log.Record) {
		t.Helper()
		for _, rec := range batch {
			i := int(rec.Offset)
			if string(rec.Value) != string(val(i)) || string(rec.Key) != fmt.Sprintf("k%d", i) || rec.Timestamp != int64(i) {
				t.Fatalf("offset %d: key %q value %q ts %d", i, rec.Key, rec.Value, rec.Timestamp)
			}
		}
	}
	first, err := r.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check(first)
	rr.Recycle(first)
	second, err := r.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check(second)
	if len(second) != len(first) || &second[0] != &first[0] || &second[0].Value[0] != &first[0].Value[0] {
		t.Fatalf("the second batch was not read into the first's memory")
	}
	// Recycling a batch other than the last is ignored: the third batch
	// must not be written over the second, which the caller still has.
	keep := append([]log.Record(nil), second...)
	third, err := r.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rr.Recycle(second[:1]) // not the last batch
	fourth, err := r.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check(third)
	check(fourth)
	if &fourth[0] == &second[0] || &fourth[0] == &third[0] {
		t.Fatalf("a batch not handed back was written over")
	}
	for i := range keep {
		if string(keep[i].Value) != string(second[i].Value) || keep[i].Offset != second[i].Offset {
			t.Fatalf("record %d of a batch not handed back changed", i)
		}
	}
	// Read to the end, recycling; then a Next that reads nothing
	// (here cancelled; parked alike) lets go.
	last := fourth
	for r.Position() < n {
		rr.Recycle(last)
		if last, err = r.Next(ctx); err != nil {
			t.Fatal(err)
		}
		check(last)
	}
	rr.Recycle(last)
	if rr.spare.arena == nil {
		t.Fatalf("the last batch handed back was not kept")
	}
	wait, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := r.Next(wait); err == nil {
		t.Fatalf("Next past the end with a cancelled context returned no error")
	}
	if rr.spare.arena != nil || rr.spare.recs != nil || rr.last.recs != nil {
		t.Fatalf("a parked reader holds a batch's memory")
	}
}

// TestReaderRecycleVaryingBatches: batches whose sizes vary within a
// tenth, some larger than the one before, are all read into the memory
// of the first that was recycled (an arena sized to just the batch
// before was too small for a larger one half the time).
func TestReaderRecycleVaryingBatches(t *testing.T) {
	ctx := ctxT(t)
	l := openTest(t, t.TempDir()) // ReadBatch 100
	t.Cleanup(func() { l.Close() })
	if err := l.CreateTopic(ctx, "t", log.TopicConfig{Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	// Batch k holds 100 records of sizes[k] bytes.
	sizes := []int{200, 212, 196, 216, 204, 198, 214, 201, 216, 196}
	batches := len(sizes)
	for k, size := range sizes {
		var recs []log.Record
		for i := 0; i < 100; i++ {
			recs = append(recs, log.Record{Value: bytes.Repeat([]byte{byte('a' + k)}, size), Partition: 0})
		}
		if _, err := l.Append(ctx, "t", recs); err != nil {
			t.Fatal(err)
		}
	}
	r, err := l.NewReader(ctx, log.TopicPartition{Topic: "t", Partition: 0}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rr := r.(*reader)
	var first *byte
	for k := 0; k < batches; k++ {
		recs, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 100 || recs[99].Value[0] != byte('a'+k) {
			t.Fatalf("batch %d: %d records, the last of %q", k, len(recs), recs[len(recs)-1].Value[:1])
		}
		switch {
		case k == 1:
			first = &recs[0].Value[0] // the first batch read with a hint
		case k > 1 && &recs[0].Value[0] != first:
			t.Fatalf("batch %d, %d bytes a record, took a new arena", k, len(recs[0].Value))
		}
		rr.Recycle(recs)
	}
}

// recycleReader appends n records to a new one-partition topic of a log
// that reads batches of 100 (offset i: key "k<i>", value val(i),
// timestamp i) and returns a reader from its start, closed with the
// test.
func recycleReader(ctx context.Context, t *testing.T, n int, val func(int) []byte) *reader {
	t.Helper()
	l := openTest(t, t.TempDir()) // ReadBatch 100
	t.Cleanup(func() { l.Close() })
	if err := l.CreateTopic(ctx, "t", log.TopicConfig{Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	recs := make([]log.Record, 0, n)
	for i := range n {
		recs = append(recs, log.Record{Key: fmt.Appendf(nil, "k%d", i), Value: val(i), Partition: 0, Timestamp: int64(i)})
	}
	if _, err := l.Append(ctx, "t", recs); err != nil {
		t.Fatal(err)
	}
	r, err := l.NewReader(ctx, log.TopicPartition{Topic: "t", Partition: 0}, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r.(*reader)
}
