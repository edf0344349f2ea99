package operators

import (
	"testing"

	"github.com/runnel/runnel/log"
)

// TestMergeWaitsForUpstream: an input written by an earlier stage of the
// query (topic a, written from topic src by group up) is not caught up
// while that stage has records of src to pass on, even with a's reader at
// its end: the merge waits rather than take b's later record first. Once
// the stage has consumed src to the end offsets noted when a went idle —
// whether it wrote a record to a or dropped it — the merge goes on.
func TestMergeWaitsForUpstream(t *testing.T) {
	f := newMergeFixture(t, nil)
	if err := f.log.CreateTopic(f.ctx, "src", log.TopicConfig{Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	commit := func(offsets map[int32]int64) {
		t.Helper()
		m := map[log.TopicPartition]int64{}
		for p, o := range offsets {
			m[log.TopicPartition{Topic: "src", Partition: p}] = o
		}
		if err := f.log.CommitOffsets(f.ctx, "up", m); err != nil {
			t.Fatal(err)
		}
	}
	f.append("b", "late@100")
	// Two records in src, partition 0; none consumed by the stage yet.
	if _, err := f.log.Append(f.ctx, "src", []log.Record{{Value: []byte("s1"), Partition: 0}, {Value: []byte("s2"), Partition: 0}}); err != nil {
		t.Fatal(err)
	}
	m, err := StartMerge(f.ctx, f.log, []MergeInput{
		{TP: log.TopicPartition{Topic: "a"}, Upstream: &MergeUpstream{Group: "up", Topic: "src"}},
		{TP: log.TopicPartition{Topic: "b"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	next := func(wait bool) (string, bool) {
		t.Helper()
		i, rec, ok, err := m.Next(f.ctx, wait)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return "", false
		}
		return string(rune('a'+i)) + ":" + string(rec.Value), true
	}
	// Give b's fetcher its batch: until then nothing is decided anyway.
	for {
		if _, ok := next(false); ok {
			t.Fatal("the merge went on while the upstream stage had src records to pass on")
		}
		if len(m.ins[1].buf) > 0 {
			break
		}
		awaitMerge(t, f.ctx, m)
	}
	// The stage passes s1 on as an early record of a and commits src
	// partition 0 up to 1 only: still behind.
	f.append("a", "early@50")
	commit(map[int32]int64{0: 1})
	if got, _ := next(true); got != "a:early" {
		t.Fatalf("first record %q, want a's early record (ts 50) before b's (ts 100)", got)
	}
	if got, ok := next(false); ok {
		t.Fatalf("the merge went on (%q) while the upstream stage was behind", got)
	}
	// The stage drops s2 (it writes nothing) and commits to the end: the
	// merge, waiting, notices by itself and goes on with b.
	type result struct {
		input int
		rec   log.Record
		err   error
	}
	done := make(chan result, 1)
	go func() {
		i, rec, _, err := m.Next(f.ctx, true)
		done <- result{i, rec, err}
	}()
	commit(map[int32]int64{0: 2})
	if r := <-done; r.err != nil || r.input != 1 || string(r.rec.Value) != "late" {
		t.Fatalf("after the stage caught up: input %d %q %v, want b's late", r.input, r.rec.Value, r.err)
	}
	// Records appended to src after a went idle again are newer than the
	// merge's point: a new idle spell notes new targets.
	if _, err := f.log.Append(f.ctx, "src", []log.Record{{Value: []byte("s3"), Partition: 1}}); err != nil {
		t.Fatal(err)
	}
	f.append("b", "later@200")
	if got, ok := next(false); ok {
		t.Fatalf("the merge went on (%q) past a record of src the stage had not passed on", got)
	}
	commit(map[int32]int64{0: 2, 1: 1})
	if got, _ := next(true); got != "b:later" {
		t.Fatalf("%q, want b:later", got)
	}
}
