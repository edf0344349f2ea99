package embedded

import (
	"errors"
	"math"
	"runtime"
	"testing"

	"github.com/runnel/runnel/log"
)

// allocated returns the bytes fn allocated on the heap, in total.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHugeTopicCostsNothingPerPartition: a topic declared with the most
// partitions an int32 holds is created, written in its first and last
// partitions, compacted, and opened again, each without allocating
// anything per declared partition. Eager per-partition state made the
// creation of such a topic allocate until the process was killed, and then
// every open of the data directory did the same.
func TestHugeTopicCostsNothingPerPartition(t *testing.T) {
	const budget = 64 << 20 // far below one pointer per partition (16 GiB)
	dir := t.TempDir()
	ctx := ctxT(t)
	l := openTest(t, dir)
	last := int32(math.MaxInt32 - 1)
	var err error
	n := allocated(func() {
		err = l.CreateTopic(ctx, "huge", log.TopicConfig{Partitions: math.MaxInt32, Compacted: true})
	})
	t.Logf("CreateTopic of %d partitions allocated %d bytes", math.MaxInt32, n)
	if err != nil || n > budget {
		t.Fatalf("CreateTopic: %v, allocated %d bytes", err, n)
	}
	recs := []log.Record{
		{Key: []byte("k"), Value: []byte("old"), Partition: 0},
		{Key: []byte("k"), Value: []byte("new"), Partition: 0},
		{Key: []byte("z"), Value: []byte("v"), Partition: last},
	}
	if n := allocated(func() { _, err = l.Append(ctx, "huge", recs) }); err != nil || n > budget {
		t.Fatalf("Append: %v, allocated %d bytes", err, n)
	}
	if _, err := l.Append(ctx, "huge", []log.Record{{Value: []byte("x"), Partition: math.MaxInt32}}); !errors.Is(err, log.ErrUnknownPartition) {
		t.Fatalf("append past the last partition: %v, want ErrUnknownPartition", err)
	}
	if n := allocated(func() { err = l.Compact(ctx, "huge") }); err != nil || n > budget {
		t.Fatalf("Compact: %v, allocated %d bytes", err, n)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	var l2 *Log
	n = allocated(func() { l2 = openTest(t, dir) })
	t.Logf("Open of a log holding it allocated %d bytes", n)
	if n > budget {
		t.Fatalf("Open allocated %d bytes", n)
	}
	defer l2.Close()
	info, err := l2.Topic(ctx, "huge")
	if err != nil || info.Partitions != math.MaxInt32 {
		t.Fatalf("Topic: %+v %v", info, err)
	}
	// Each partition used after the open finds its end where it was:
	// compaction kept only the latest record of k, at offset 1.
	for _, tc := range []struct {
		part int32
		want []string
	}{{0, []string{"1:new"}}, {last, []string{"0:v"}}, {12345, nil}} {
		r, err := l2.NewReader(ctx, log.TopicPartition{Topic: "huge", Partition: tc.part}, 0)
		if err != nil {
			t.Fatal(err)
		}
		out, err := l2.Append(ctx, "huge", []log.Record{{Key: []byte("after"), Value: []byte("open"), Partition: tc.part}})
		if err != nil {
			t.Fatal(err)
		}
		wantNext := int64(0)
		if len(tc.want) > 0 {
			wantNext = 2
			if tc.part == last {
				wantNext = 1
			}
		}
		if out[0].Offset != wantNext {
			t.Errorf("partition %d: appended at offset %d, want %d", tc.part, out[0].Offset, wantNext)
		}
		var got []string
		for len(got) < len(tc.want)+1 {
			recs, err := r.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range recs {
				got = append(got, string(rune('0'+rec.Offset))+":"+string(rec.Value))
			}
		}
		r.Close()
		want := append(append([]string(nil), tc.want...), string(rune('0'+wantNext))+":open")
		if len(got) != len(want) {
			t.Errorf("partition %d: read %q, want %q", tc.part, got, want)
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("partition %d: read %q, want %q", tc.part, got, want)
				break
			}
		}
	}
	if err := l2.DeleteTopic(ctx, "huge"); err != nil {
		t.Fatalf("DeleteTopic: %v", err)
	}
}
