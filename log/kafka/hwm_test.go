package kafka

import (
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/runnel/runnel/log"
)

// TestHighWatermarksPassOpenTransactions: with a transaction left open on
// a partition, EndOffsets stops before it while HighWatermarks covers
// the records appended after it, which a reader of the acknowledged
// writes must wait for.
func TestHighWatermarksPassOpenTransactions(t *testing.T) {
	c := newCluster(t)
	l := openLog(t, c, Options{})
	ctx := testCtx(t)
	mustCreate(t, l, "t", log.TopicConfig{Partitions: 1})
	appendN(t, l, "t", 2)
	pr, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.TransactionalID("open"), kgo.DefaultProduceTopic("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	if err := pr.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := pr.ProduceSync(ctx, &kgo.Record{Value: []byte("pending")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	appendN(t, l, "t", 3) // acknowledged, after the open transaction: 3..5
	ends, err := l.EndOffsets(ctx, "t")
	if err != nil || !slices.Equal(ends, []int64{2}) {
		t.Fatalf("EndOffsets = %v, %v; want [2]", ends, err)
	}
	hw, err := l.HighWatermarks(ctx, "t")
	if err != nil || !slices.Equal(hw, []int64{6}) {
		t.Fatalf("HighWatermarks = %v, %v; want [6]", hw, err)
	}
	if _, err := l.HighWatermarks(ctx, "missing"); err == nil {
		t.Fatal("HighWatermarks of a missing topic succeeded")
	}
}
