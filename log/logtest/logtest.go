package logtest

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runnel/runnel/log"
)

// waitTimeout bounds every wait in the suite. Nothing in a healthy backend
// takes close to it; it only turns a hang into a failure.
const waitTimeout = 10 * time.Second

// Run runs the conformance suite against the logs that open returns.
//
// open is called once per subtest, with the subtest's t; it may return a
// fresh log or one shared by all subtests (every subtest uses topic and group
// names of its own), and it is responsible for closing what it opens, e.g.
// with t.Cleanup. Subtests do not run in parallel.
func Run(t *testing.T, open func(t *testing.T) log.Log) {
	tests := []struct {
		name string
		fn   func(t *testing.T, l log.Log)
	}{
		{"CreateTopic", testCreateTopic},
		{"CreateTopicInvalid", testCreateTopicInvalid},
		{"Topics", testTopics},
		{"DeleteTopic", testDeleteTopic},
		{"DeleteRecreate", testDeleteRecreate},
		{"UnknownTopic", testUnknownTopic},
		{"AppendReadBack", testAppendReadBack},
		{"AppendFillsFields", testAppendFillsFields},
		{"AppendEmpty", testAppendEmpty},
		{"KeyedPartitioning", testKeyedPartitioning},
		{"ExplicitPartition", testExplicitPartition},
		{"PartitionOutOfRange", testPartitionOutOfRange},
		{"NilKeySpreads", testNilKeySpreads},
		{"ReadFromStart", testReadFromStart},
		{"ReadFromMiddle", testReadFromMiddle},
		{"ReadWaitsPastEnd", testReadWaitsPastEnd},
		{"ReadCancelled", testReadCancelled},
		{"Recycle", testRecycle},
		{"ReaderUnknown", testReaderUnknown},
		{"Offsets", testStartEndOffsets},
		{"CommitOffsets", testCommitOffsets},
		{"CommitTxn", testCommitTxn},
		{"CommitTxnFails", testCommitTxnFails},
		{"PositionReachesEnd", testPositionReachesEnd},
		{"ConcurrentAppend", testConcurrentAppend},
		{"Compaction", testCompaction},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// seq makes names unique across subtests and across runs that share a log.
var seq atomic.Int64

// uniqueName returns a topic or group name that no other subtest uses.
func uniqueName(kind string) string {
	return fmt.Sprintf("logtest-%s-%d-%d", kind, time.Now().UnixNano()%1_000_000_000, seq.Add(1))
}

// waitCtx is a context for one bounded wait.
func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// createTopic creates a fresh topic and returns its name.
func createTopic(t *testing.T, l log.Log, cfg log.TopicConfig) string {
	t.Helper()
	name := uniqueName("topic")
	if err := l.CreateTopic(waitCtx(t), name, cfg); err != nil {
		t.Fatalf("CreateTopic(%q, %+v): %v", name, cfg, err)
	}
	return name
}

// mustAppend appends and fails the test on error.
func mustAppend(t *testing.T, l log.Log, topic string, recs []log.Record) []log.Record {
	t.Helper()
	out, err := l.Append(waitCtx(t), topic, recs)
	if err != nil {
		t.Fatalf("Append(%q, %d records): %v", topic, len(recs), err)
	}
	if len(out) != len(recs) {
		t.Fatalf("Append(%q) returned %d records, want %d", topic, len(out), len(recs))
	}
	return out
}

// openReader opens a reader and closes it at the end of the test.
func openReader(t *testing.T, l log.Log, topic string, partition int32, offset int64) log.Reader {
	t.Helper()
	r, err := l.NewReader(waitCtx(t), log.TopicPartition{Topic: topic, Partition: partition}, offset)
	if err != nil {
		t.Fatalf("NewReader(%s/%d @%d): %v", topic, partition, offset, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// readN reads exactly n records (Next may return them in several batches of
// any size) within one bounded wait.
func readN(t *testing.T, r log.Reader, n int) []log.Record {
	t.Helper()
	ctx := waitCtx(t)
	var out []log.Record
	for len(out) < n {
		recs, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("Next after %d of %d records: %v", len(out), n, err)
		}
		if len(recs) == 0 {
			t.Fatalf("Next returned no records and no error after %d of %d", len(out), n)
		}
		out = append(out, recs...)
	}
	if len(out) > n {
		t.Fatalf("read %d records, want exactly %d", len(out), n)
	}
	return out
}

// readPartition reads every record of one partition below the current end
// offset, starting at from. Use it only on partitions written by plain
// Appends and never compacted: it stops at the record just below the end.
func readPartition(t *testing.T, l log.Log, topic string, partition int32, from int64) []log.Record {
	t.Helper()
	ends, err := l.EndOffsets(waitCtx(t), topic)
	if err != nil {
		t.Fatalf("EndOffsets(%q): %v", topic, err)
	}
	end := ends[partition]
	if from >= end {
		return nil
	}
	r := openReader(t, l, topic, partition, from)
	ctx := waitCtx(t)
	var out []log.Record
	for {
		recs, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("Next on %s/%d after %d records: %v", topic, partition, len(out), err)
		}
		out = append(out, recs...)
		if n := len(out); n > 0 && out[n-1].Offset >= end-1 {
			return out
		}
	}
}

// sameRecord reports how got differs from want in key, value, timestamp and
// headers, or "" when it does not.
func sameRecord(got, want log.Record) string {
	switch {
	case (got.Key == nil) != (want.Key == nil) || !bytes.Equal(got.Key, want.Key):
		return fmt.Sprintf("key %q (nil=%v), want %q (nil=%v)", got.Key, got.Key == nil, want.Key, want.Key == nil)
	case (got.Value == nil) != (want.Value == nil) || !bytes.Equal(got.Value, want.Value):
		return fmt.Sprintf("value %q (nil=%v), want %q (nil=%v)", got.Value, got.Value == nil, want.Value, want.Value == nil)
	case want.Timestamp != 0 && got.Timestamp != want.Timestamp:
		return fmt.Sprintf("timestamp %d, want %d", got.Timestamp, want.Timestamp)
	case len(got.Headers) != len(want.Headers):
		return fmt.Sprintf("%d headers, want %d", len(got.Headers), len(want.Headers))
	}
	for i := range want.Headers {
		if got.Headers[i].Key != want.Headers[i].Key || !bytes.Equal(got.Headers[i].Value, want.Headers[i].Value) {
			return fmt.Sprintf("header %d = %q:%q, want %q:%q", i,
				got.Headers[i].Key, got.Headers[i].Value, want.Headers[i].Key, want.Headers[i].Value)
		}
	}
	return ""
}

// checkIncreasing fails unless offsets strictly increase.
func checkIncreasing(t *testing.T, recs []log.Record) {
	t.Helper()
	for i := 1; i < len(recs); i++ {
		if recs[i].Offset <= recs[i-1].Offset {
			t.Fatalf("offsets not increasing: record %d has offset %d after %d", i, recs[i].Offset, recs[i-1].Offset)
		}
	}
}

// checkDense fails unless offsets are first, first+1, ...
func checkDense(t *testing.T, recs []log.Record, first int64) {
	t.Helper()
	for i, r := range recs {
		if r.Offset != first+int64(i) {
			t.Fatalf("record %d has offset %d, want %d", i, r.Offset, first+int64(i))
		}
	}
}
