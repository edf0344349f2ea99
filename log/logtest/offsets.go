package logtest

import (
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/runnel/runnel/log"
)

func testStartEndOffsets(t *testing.T, l log.Log) {
	ctx := waitCtx(t)
	name := createTopic(t, l, log.TopicConfig{Partitions: 3})
	check := func(wantEnd []int64) {
		t.Helper()
		starts, err := l.StartOffsets(ctx, name)
		if err != nil {
			t.Fatalf("StartOffsets: %v", err)
		}
		if !slices.Equal(starts, []int64{0, 0, 0}) {
			t.Fatalf("StartOffsets = %v, want [0 0 0]", starts)
		}
		ends, err := l.EndOffsets(ctx, name)
		if err != nil {
			t.Fatalf("EndOffsets: %v", err)
		}
		if !slices.Equal(ends, wantEnd) {
			t.Fatalf("EndOffsets = %v, want %v", ends, wantEnd)
		}
	}
	check([]int64{0, 0, 0})
	appendValues(t, l, name, 2, 0, 5)
	appendValues(t, l, name, 0, 0, 1)
	check([]int64{1, 0, 5})
	out := appendValues(t, l, name, 2, 5, 2)
	if out[0].Offset != 5 || out[1].Offset != 6 {
		t.Fatalf("next appends got offsets %d, %d; want 5, 6", out[0].Offset, out[1].Offset)
	}
	check([]int64{1, 0, 7})
}

func testCommitOffsets(t *testing.T, l log.Log) {
	ctx := waitCtx(t)
	a := createTopic(t, l, log.TopicConfig{Partitions: 3})
	b := createTopic(t, l, log.TopicConfig{Partitions: 1})
	g1, g2 := uniqueName("group"), uniqueName("group")

	got, err := l.CommittedOffsets(ctx, g1, a)
	if err != nil || len(got) != 0 {
		t.Fatalf("CommittedOffsets of a new group = %v, %v; want none", got, err)
	}
	err = l.CommitOffsets(ctx, g1, map[log.TopicPartition]int64{
		{Topic: a, Partition: 0}: 5,
		{Topic: a, Partition: 2}: 7,
		{Topic: b, Partition: 0}: 1,
	})
	if err != nil {
		t.Fatalf("CommitOffsets: %v", err)
	}
	if err := l.CommitOffsets(ctx, g2, map[log.TopicPartition]int64{{Topic: a, Partition: 1}: 3}); err != nil {
		t.Fatalf("CommitOffsets: %v", err)
	}
	want := func(group, topic string, w map[int32]int64) {
		t.Helper()
		got, err := l.CommittedOffsets(ctx, group, topic)
		if err != nil {
			t.Fatalf("CommittedOffsets(%s, %s): %v", group, topic, err)
		}
		if !maps.Equal(got, w) && !(len(got) == 0 && len(w) == 0) {
			t.Fatalf("CommittedOffsets(%s, %s) = %v, want %v", group, topic, got, w)
		}
	}
	want(g1, a, map[int32]int64{0: 5, 2: 7})
	want(g1, b, map[int32]int64{0: 1})
	want(g2, a, map[int32]int64{1: 3})
	want(g2, b, nil)

	// A later commit replaces one partition's offset and leaves the rest.
	if err := l.CommitOffsets(ctx, g1, map[log.TopicPartition]int64{{Topic: a, Partition: 2}: 9}); err != nil {
		t.Fatalf("CommitOffsets: %v", err)
	}
	want(g1, a, map[int32]int64{0: 5, 2: 9})
}

func testCommitTxn(t *testing.T, l log.Log) {
	ctx := waitCtx(t)
	in := createTopic(t, l, log.TopicConfig{Partitions: 2})
	out1 := createTopic(t, l, log.TopicConfig{Partitions: 1})
	out2 := createTopic(t, l, log.TopicConfig{Partitions: 3})
	group := uniqueName("group")

	commit := func(round int) {
		t.Helper()
		txn := log.Txn{
			Group: group,
			Records: []log.ProduceRecord{
				{Topic: out1, Record: log.Record{Key: []byte("a"), Value: []byte{byte('0' + round)}, Partition: 0}},
				{Topic: out2, Record: log.Record{Key: []byte("b"), Value: []byte{byte('0' + round)}, Partition: -1}},
				{Topic: out1, Record: log.Record{Key: []byte("c"), Value: nil, Partition: 0, Timestamp: 1_700_000_000_000}},
			},
			Offsets: map[log.TopicPartition]int64{
				{Topic: in, Partition: 0}: int64(10 * round),
				{Topic: in, Partition: 1}: int64(10*round + 1),
			},
		}
		if err := l.Commit(ctx, txn); err != nil {
			t.Fatalf("Commit round %d: %v", round, err)
		}
		got, err := l.CommittedOffsets(ctx, group, in)
		if err != nil {
			t.Fatalf("CommittedOffsets: %v", err)
		}
		if w := map[int32]int64{0: int64(10 * round), 1: int64(10*round + 1)}; !maps.Equal(got, w) {
			t.Fatalf("CommittedOffsets after Commit round %d = %v, want %v", round, got, w)
		}
	}
	commit(1)
	commit(2)

	// out1/0 holds a1, c(tombstone), a2, c(tombstone) in order; offsets only
	// increase (Kafka leaves gaps for its commit markers).
	got1 := readN(t, openReader(t, l, out1, 0, 0), 4)
	checkIncreasing(t, got1)
	wantVals := []string{"1", "", "2", ""}
	for i, r := range got1 {
		if i%2 == 1 {
			if r.Value != nil || string(r.Key) != "c" || r.Timestamp != 1_700_000_000_000 {
				t.Fatalf("out1 record %d = %q:%q@%d, want tombstone c@1700000000000", i, r.Key, r.Value, r.Timestamp)
			}
		} else if string(r.Value) != wantVals[i] || string(r.Key) != "a" {
			t.Fatalf("out1 record %d = %q:%q, want a:%s", i, r.Key, r.Value, wantVals[i])
		}
	}
	// The keyed record went where PartitionFor says.
	p := log.PartitionFor([]byte("b"), 3)
	got := readN(t, openReader(t, l, out2, p, 0), 2)
	checkIncreasing(t, got)
	if string(got[0].Value) != "1" || string(got[1].Value) != "2" {
		t.Fatalf("out2/%d = %q, %q; want 1, 2", p, got[0].Value, got[1].Value)
	}
	// A plain Append after Commits lands after everything committed.
	last := got1[len(got1)-1].Offset
	ends, err := l.EndOffsets(ctx, out1)
	if err != nil || ends[0] <= last {
		t.Fatalf("EndOffsets after Commit = %v, %v; want past the last record's offset %d", ends, err, last)
	}
	app := mustAppend(t, l, out1, []log.Record{{Value: []byte("after"), Partition: 0}})
	if app[0].Offset < ends[0] {
		t.Fatalf("Append after Commit got offset %d, below the end offset %d", app[0].Offset, ends[0])
	}
}

// testCommitTxnFails checks atomicity from outside: a Txn that cannot be
// applied leaves neither its records nor its offsets visible.
func testCommitTxnFails(t *testing.T, l log.Log) {
	ctx := waitCtx(t)
	in := createTopic(t, l, log.TopicConfig{Partitions: 1})
	out := createTopic(t, l, log.TopicConfig{Partitions: 1})
	group := uniqueName("group")
	tp := log.TopicPartition{Topic: in, Partition: 0}
	if err := l.CommitOffsets(ctx, group, map[log.TopicPartition]int64{tp: 1}); err != nil {
		t.Fatalf("CommitOffsets: %v", err)
	}
	err := l.Commit(ctx, log.Txn{
		Group: group,
		Records: []log.ProduceRecord{
			{Topic: out, Record: log.Record{Value: []byte("must not appear"), Partition: 0}},
			{Topic: uniqueName("missing"), Record: log.Record{Value: []byte("x"), Partition: 0}},
		},
		Offsets: map[log.TopicPartition]int64{tp: 100},
	})
	if !errors.Is(err, log.ErrUnknownTopic) {
		t.Fatalf("Commit to a missing topic = %v, want ErrUnknownTopic", err)
	}
	got, err := l.CommittedOffsets(ctx, group, in)
	if err != nil || !maps.Equal(got, map[int32]int64{0: 1}) {
		t.Fatalf("CommittedOffsets after a failed Commit = %v, %v; want map[0:1]", got, err)
	}
	// Read up to a sentinel appended afterwards: nothing of the failed Txn
	// may come before it.
	mustAppend(t, l, out, []log.Record{{Value: []byte("sentinel"), Partition: 0}})
	recs, err := readNErr(ctx, openReader(t, l, out, 0, 0), 1)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	if string(recs[0].Value) != "sentinel" {
		t.Fatalf("first visible record is %q, want the sentinel", recs[0].Value)
	}
}

// testPositionReachesEnd reads a topic written by transactional commits up
// to its end offset: the reader's Position must reach EndOffsets even when
// the end follows a transaction marker rather than a record, so that a
// bounded read can tell it is done.
func testPositionReachesEnd(t *testing.T, l log.Log) {
	ctx := waitCtx(t)
	out := createTopic(t, l, log.TopicConfig{Partitions: 1})
	in := createTopic(t, l, log.TopicConfig{Partitions: 1})
	group := uniqueName("group")
	for round := 0; round < 3; round++ {
		txn := log.Txn{
			Group:   group,
			Records: []log.ProduceRecord{{Topic: out, Record: log.Record{Key: []byte("k"), Value: []byte("v"), Partition: 0}}},
			Offsets: map[log.TopicPartition]int64{{Topic: in, Partition: 0}: int64(round + 1)},
		}
		if err := l.Commit(ctx, txn); err != nil {
			t.Fatalf("Commit: %v", err)
		}
	}
	ends, err := l.EndOffsets(ctx, out)
	if err != nil {
		t.Fatalf("EndOffsets: %v", err)
	}
	r := openReader(t, l, out, 0, 0)
	var n int
	for r.Position() < ends[0] {
		recs, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("Next at position %d of end %d after %d records: %v", r.Position(), ends[0], n, err)
		}
		n += len(recs)
	}
	if n != 3 || r.Position() != ends[0] {
		t.Fatalf("read %d records, position %d; want 3 records and position %d", n, r.Position(), ends[0])
	}
}
