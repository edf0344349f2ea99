package logtest

import (
	"testing"

	"github.com/runnel/runnel/log"
)

// testCompaction runs only on backends that compact on demand.
func testCompaction(t *testing.T, l log.Log) {
	c, ok := l.(log.Compactor)
	if !ok {
		// Kafka compacts on the broker's schedule; nothing to assert here.
		t.Logf("%T does not implement log.Compactor", l)
		return
	}
	ctx := waitCtx(t)
	name := createTopic(t, l, log.TopicConfig{Partitions: 1, Compacted: true})
	rec := func(k, v string) log.Record {
		r := log.Record{Key: []byte(k), Partition: 0}
		if v != "" {
			r.Value = []byte(v)
		}
		return r
	}
	mustAppend(t, l, name, []log.Record{
		rec("k1", "v1"), // 0: replaced by 2
		rec("k2", "v1"), // 1: deleted by 5
		rec("k1", "v2"), // 2: survives
		rec("k3", "v1"), // 3: replaced by 4
		rec("k3", "v2"), // 4: survives
		rec("k2", ""),   // 5: tombstone, removed
	})
	// A reader parked past the end before compaction still wakes after it.
	parked := openReader(t, l, name, 0, 6)

	if err := c.Compact(ctx, name); err != nil {
		t.Fatalf("Compact: %v", err)
	}
	// Compacting again changes nothing.
	if err := c.Compact(ctx, name); err != nil {
		t.Fatalf("second Compact: %v", err)
	}

	// Reading from a removed offset starts at the next survivor.
	mid := readN(t, openReader(t, l, name, 0, 3), 1)
	if mid[0].Offset != 4 {
		t.Fatalf("reader at removed offset 3 returned offset %d, want 4", mid[0].Offset)
	}
	// The end offset did not move, although its record is gone; the reads
	// below count on records, not on the end offset.
	ends, err := l.EndOffsets(ctx, name)
	if err != nil || ends[0] != 6 {
		t.Fatalf("EndOffsets after compaction = %v, %v; want [6]", ends, err)
	}
	out := mustAppend(t, l, name, []log.Record{rec("k4", "v1")})
	if out[0].Offset != 6 {
		t.Fatalf("append after compaction got offset %d, want 6", out[0].Offset)
	}
	if recs := readN(t, parked, 1); recs[0].Offset != 6 {
		t.Fatalf("parked reader read offset %d, want 6", recs[0].Offset)
	}

	got := readN(t, openReader(t, l, name, 0, 0), 3)
	want := []struct {
		off  int64
		k, v string
	}{{2, "k1", "v2"}, {4, "k3", "v2"}, {6, "k4", "v1"}}
	for i, w := range want {
		if got[i].Offset != w.off || string(got[i].Key) != w.k || string(got[i].Value) != w.v {
			t.Fatalf("survivor %d = %d %q:%q, want %d %q:%q", i, got[i].Offset, got[i].Key, got[i].Value, w.off, w.k, w.v)
		}
	}

	// Compacting a topic that is not compacted is refused or a no-op, never
	// a loss of records.
	plain := createTopic(t, l, log.TopicConfig{Partitions: 1})
	mustAppend(t, l, plain, []log.Record{rec("k", "a"), rec("k", "b")})
	_ = c.Compact(ctx, plain)
	if got := readPartition(t, l, plain, 0, 0); len(got) != 2 {
		t.Fatalf("Compact on a non-compacted topic left %d of 2 records", len(got))
	}
}
