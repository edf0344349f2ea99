package kafka

import (
	"fmt"
	"testing"
	"time"

	"github.com/runnel/runnel/log"
)

// TestPurgeConsumed checks that a commit of a group's offsets deletes the
// records below them in a DeleteConsumed topic, at most once per
// PurgeInterval, and never in a topic created without it; and that a
// topic created again (a restarted query's) is purged too.
func TestPurgeConsumed(t *testing.T) {
	c := newCluster(t)
	l := openLog(t, c, Options{PurgeInterval: time.Hour})
	ctx := testCtx(t)
	mustCreate(t, l, "rep", log.TopicConfig{Partitions: 1, DeleteConsumed: true})
	mustCreate(t, l, "user", log.TopicConfig{Partitions: 1})
	appendN(t, l, "rep", 10)
	appendN(t, l, "user", 10)
	starts := func(topic string) string {
		t.Helper()
		s, err := l.StartOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(s)
	}
	offsets := func(off int64) map[log.TopicPartition]int64 {
		return map[log.TopicPartition]int64{{Topic: "rep", Partition: 0}: off, {Topic: "user", Partition: 0}: off}
	}
	if err := l.Commit(ctx, log.Txn{Group: "g", Offsets: offsets(4)}); err != nil {
		t.Fatal(err)
	}
	if got := starts("rep"); got != "[4]" {
		t.Fatalf("rep starts at %s after a commit of 4, want [4]", got)
	}
	// Within the interval: no purge.
	if err := l.Commit(ctx, log.Txn{Group: "g", Offsets: offsets(6)}); err != nil {
		t.Fatal(err)
	}
	if got := starts("rep"); got != "[4]" {
		t.Fatalf("rep starts at %s after a second commit within the interval, want [4]", got)
	}
	if got := starts("user"); got != "[0]" {
		t.Fatalf("the user topic starts at %s, want [0]", got)
	}
	if recs := readAll(t, l, log.TopicPartition{Topic: "rep", Partition: 0}, 0, 6); recs[0].Offset != 4 {
		t.Fatalf("rep read from 0 starts at %d, want 4", recs[0].Offset)
	}

	// Another process (a restart) asks for the topic again and purges it.
	l2 := openLog(t, c, Options{PurgeInterval: time.Hour})
	if err := l2.CreateTopic(ctx, "rep", log.TopicConfig{Partitions: 1, DeleteConsumed: true}); err == nil {
		t.Fatal("CreateTopic of an existing topic succeeded")
	}
	if err := l2.CommitOffsets(ctx, "g", offsets(8)); err != nil {
		t.Fatal(err)
	}
	if got := starts("rep"); got != "[8]" {
		t.Fatalf("rep starts at %s after the second process committed 8, want [8]", got)
	}
	if got := starts("user"); got != "[0]" {
		t.Fatalf("the user topic starts at %s, want [0]", got)
	}
}
