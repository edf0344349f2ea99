package operators

import (
	"testing"

	"github.com/runnel/runnel/log"
)

// TestMergeWaitsForUpstreamVia: an input written by a stage (group up2,
// reading mid) that is itself fed by an earlier stage (group up1, reading
// src) is not caught up while the earlier stage has records of src to
// pass on, even when the later one has consumed all mid holds yet; once
// the earlier stage is through, the later one's target is noted, and the
// merge waits for it too.
func TestMergeWaitsForUpstreamVia(t *testing.T) {
	f := newMergeFixture(t, nil)
	for _, topic := range []string{"src", "mid"} {
		if err := f.log.CreateTopic(f.ctx, topic, log.TopicConfig{Partitions: 1}); err != nil {
			t.Fatal(err)
		}
	}
	commit := func(group, topic string, off int64) {
		t.Helper()
		if err := f.log.CommitOffsets(f.ctx, group, map[log.TopicPartition]int64{{Topic: topic}: off}); err != nil {
			t.Fatal(err)
		}
	}
	f.append("b", "late@100")
	if _, err := f.log.Append(f.ctx, "src", []log.Record{{Value: []byte("s1")}}); err != nil {
		t.Fatal(err)
	}
	up := &MergeUpstream{Group: "up2", Topic: "mid", Via: []*MergeUpstream{{Group: "up1", Topic: "src"}}}
	m, err := StartMerge(f.ctx, f.log, []MergeInput{
		{TP: log.TopicPartition{Topic: "a"}, Upstream: up},
		{TP: log.TopicPartition{Topic: "b"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	next := func() (string, bool) {
		t.Helper()
		i, rec, ok, err := m.Next(f.ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return "", false
		}
		return string(rune('a'+i)) + ":" + string(rec.Value), true
	}
	for {
		if got, ok := next(); ok {
			t.Fatalf("the merge went on (%q) while the first stage had src records to pass on", got)
		}
		if len(m.ins[1].buf) > 0 {
			break
		}
		awaitMerge(t, f.ctx, m)
	}
	// mid is empty, so the second stage is caught up on it; the first is
	// not: still waiting.
	if got, ok := next(); ok {
		t.Fatalf("the merge went on (%q) while the first stage was behind", got)
	}
	// The first stage passes s1 on to mid and commits src: now the second
	// stage is behind on mid.
	if _, err := f.log.Append(f.ctx, "mid", []log.Record{{Value: []byte("m1")}}); err != nil {
		t.Fatal(err)
	}
	commit("up1", "src", 1)
	if got, ok := next(); ok {
		t.Fatalf("the merge went on (%q) while the second stage had mid records to pass on", got)
	}
	// The second stage passes m1 on as an early record of a.
	f.append("a", "early@50")
	commit("up2", "mid", 1)
	for {
		got, ok := next()
		if ok {
			if got != "a:early" {
				t.Fatalf("first record %q, want a's early record (ts 50) before b's (ts 100)", got)
			}
			break
		}
		awaitMerge(t, f.ctx, m)
	}
	// b's record follows once a's reader has reported a's end (it may
	// not have yet, right after a:early).
	for {
		got, ok := next()
		if ok {
			if got != "b:late" {
				t.Fatalf("%q, want b:late once both stages are through", got)
			}
			break
		}
		awaitMerge(t, f.ctx, m)
	}
}
