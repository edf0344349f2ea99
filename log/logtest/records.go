package logtest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/runnel/runnel/log"
)

func testAppendReadBack(t *testing.T, l log.Log) {
	name := createTopic(t, l, log.TopicConfig{Partitions: 1})
	want := []log.Record{
		{Key: []byte("k1"), Value: []byte("v1"), Timestamp: 1_700_000_000_001},
		{Key: []byte("k2"), Value: nil, Timestamp: 1_700_000_000_002}, // tombstone
		{Key: nil, Value: []byte("no key"), Timestamp: 1_700_000_000_003},
		{Key: []byte("k3"), Value: []byte{}, Timestamp: 1_700_000_000_004}, // empty, not a tombstone
		{Key: []byte("k4"), Value: []byte("with headers"), Timestamp: 1_700_000_000_005, Headers: []log.Header{
			{Key: "h1", Value: []byte("a")},
			{Key: "h2", Value: []byte("bb")},
			{Key: "h1", Value: []byte("again")}, // repeated keys keep their order
		}},
		{Key: []byte{0, 0xff, 0}, Value: []byte{0xff, 0, 1}, Timestamp: 1_600_000_000_000},
	}
	for i := range want {
		want[i].Partition = 0
	}
	out := mustAppend(t, l, name, want)
	checkDense(t, out, 0)

	got := readN(t, openReader(t, l, name, 0, 0), len(want))
	checkDense(t, got, 0)
	for i := range want {
		if d := sameRecord(got[i], want[i]); d != "" {
			t.Errorf("record %d: %s", i, d)
		}
		if got[i].Partition != 0 {
			t.Errorf("record %d: partition %d, want 0", i, got[i].Partition)
		}
	}
}

func testAppendFillsFields(t *testing.T, l log.Log) {
	name := createTopic(t, l, log.TopicConfig{Partitions: 2})
	before := time.Now().UnixMilli()
	in := []log.Record{
		{Key: []byte("a"), Value: []byte("1"), Partition: 1, Offset: 99, Timestamp: log.NoTimestamp},
		{Key: []byte("b"), Value: []byte("2"), Partition: 1, Timestamp: 42},
		{Key: []byte("c"), Value: []byte("3"), Partition: 0, Timestamp: log.NoTimestamp},
		{Key: []byte("d"), Value: []byte("4"), Partition: 0, Timestamp: 0}, // the epoch
	}
	out := mustAppend(t, l, name, in)
	after := time.Now().UnixMilli()

	wantOffsets := []int64{0, 1, 0, 1} // Offset on input is ignored
	for i, r := range out {
		if r.Partition != in[i].Partition || r.Offset != wantOffsets[i] {
			t.Errorf("returned record %d at %d/%d, want %d/%d", i, r.Partition, r.Offset, in[i].Partition, wantOffsets[i])
		}
	}
	for _, i := range []int{0, 2} {
		if ts := out[i].Timestamp; ts < before || ts > after {
			t.Errorf("returned record %d has timestamp %d, want now (%d..%d)", i, ts, before, after)
		}
	}
	if out[1].Timestamp != 42 {
		t.Errorf("returned record 1 has timestamp %d, want 42", out[1].Timestamp)
	}
	if out[3].Timestamp != 0 {
		t.Errorf("returned record 3 has timestamp %d, want 0 (the epoch is a timestamp)", out[3].Timestamp)
	}
	// What is read is what Append returned.
	for _, p := range []int32{0, 1} {
		for _, r := range readPartition(t, l, name, p, 0) {
			var match *log.Record
			for i := range out {
				if out[i].Partition == p && out[i].Offset == r.Offset {
					match = &out[i]
				}
			}
			if match == nil {
				t.Fatalf("read unexpected record %d/%d", p, r.Offset)
			}
			if r.Timestamp != match.Timestamp || string(r.Key) != string(match.Key) {
				t.Errorf("read %d/%d key %q ts %d; Append returned key %q ts %d",
					p, r.Offset, r.Key, r.Timestamp, match.Key, match.Timestamp)
			}
		}
	}
}

func testAppendEmpty(t *testing.T, l log.Log) {
	name := createTopic(t, l, log.TopicConfig{Partitions: 1})
	out, err := l.Append(waitCtx(t), name, nil)
	if err != nil || len(out) != 0 {
		t.Fatalf("Append(nil) = %v, %v; want no records, no error", out, err)
	}
	ends, err := l.EndOffsets(waitCtx(t), name)
	if err != nil || ends[0] != 0 {
		t.Fatalf("EndOffsets after empty Append = %v, %v; want [0]", ends, err)
	}
}

func testKeyedPartitioning(t *testing.T, l log.Log) {
	const n = 5
	name := createTopic(t, l, log.TopicConfig{Partitions: n})
	var in []log.Record
	for i := 0; i < 40; i++ {
		in = append(in, log.Record{Key: fmt.Appendf(nil, "key-%d", i%20), Value: fmt.Appendf(nil, "%d", i), Partition: -1})
	}
	out := mustAppend(t, l, name, in)
	counts := make(map[int32]int)
	for i, r := range out {
		if want := log.PartitionFor(in[i].Key, n); r.Partition != want {
			t.Fatalf("record with key %q went to partition %d, want PartitionFor = %d", in[i].Key, r.Partition, want)
		}
		counts[r.Partition]++
	}
	// Records land where Append said, in order.
	for p := int32(0); p < n; p++ {
		got := readPartition(t, l, name, p, 0)
		if len(got) != counts[p] {
			t.Fatalf("partition %d holds %d records, Append placed %d there", p, len(got), counts[p])
		}
		checkDense(t, got, 0)
		for _, r := range got {
			if want := log.PartitionFor(r.Key, n); want != p {
				t.Fatalf("key %q read from partition %d, want %d", r.Key, p, want)
			}
		}
	}
}

func testExplicitPartition(t *testing.T, l log.Log) {
	name := createTopic(t, l, log.TopicConfig{Partitions: 3})
	key := []byte("the-key")
	other := (log.PartitionFor(key, 3) + 1) % 3
	out := mustAppend(t, l, name, []log.Record{{Key: key, Value: []byte("v"), Partition: other}})
	if out[0].Partition != other {
		t.Fatalf("explicit partition %d ignored: record went to %d", other, out[0].Partition)
	}
	got := readPartition(t, l, name, other, 0)
	if len(got) != 1 || string(got[0].Key) != string(key) {
		t.Fatalf("partition %d holds %v, want the record", other, got)
	}
}

func testPartitionOutOfRange(t *testing.T, l log.Log) {
	name := createTopic(t, l, log.TopicConfig{Partitions: 2})
	_, err := l.Append(waitCtx(t), name, []log.Record{
		{Value: []byte("ok"), Partition: 0},
		{Value: []byte("bad"), Partition: 2},
	})
	if !errors.Is(err, log.ErrUnknownPartition) {
		t.Fatalf("Append to partition 2 of 2 = %v, want ErrUnknownPartition", err)
	}
	err = l.Commit(waitCtx(t), log.Txn{
		Group:   uniqueName("group"),
		Records: []log.ProduceRecord{{Topic: name, Record: log.Record{Value: []byte("bad"), Partition: 7}}},
	})
	if !errors.Is(err, log.ErrUnknownPartition) {
		t.Fatalf("Commit to partition 7 of 2 = %v, want ErrUnknownPartition", err)
	}
}

func testNilKeySpreads(t *testing.T, l log.Log) {
	const n = 4
	name := createTopic(t, l, log.TopicConfig{Partitions: n})
	used := make(map[int32]int)
	// One record per Append, so a backend that spreads per batch passes too.
	for i := 0; i < 24; i++ {
		out := mustAppend(t, l, name, []log.Record{{Value: fmt.Appendf(nil, "%d", i), Partition: -1}})
		if p := out[0].Partition; p < 0 || p >= n {
			t.Fatalf("nil-key record went to partition %d of %d", p, n)
		}
		used[out[0].Partition]++
	}
	if len(used) < 2 {
		t.Fatalf("24 nil-key records all went to one partition: %v", used)
	}
	ends, err := l.EndOffsets(waitCtx(t), name)
	if err != nil {
		t.Fatalf("EndOffsets: %v", err)
	}
	for p := int32(0); p < n; p++ {
		if ends[p] != int64(used[p]) {
			t.Fatalf("EndOffsets[%d] = %d, want %d", p, ends[p], used[p])
		}
	}
}
