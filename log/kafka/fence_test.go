package kafka

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/runnel/runnel/log"
)

// TestFenceAbortsACrashedTransaction: a node that crashed in the middle
// of a transaction left it open, which holds the topic's last stable
// offset (what read_committed readers see) behind its records. The
// restarted node's FenceTransactions aborts it at once, without waiting
// for the transaction timeout (30 s) and without a commit of its
// own; a later commit of the node works.
func TestFenceAbortsACrashedTransaction(t *testing.T) {
	c := newCluster(t)
	l := openLog(t, c, Options{TransactionalIDPrefix: "runnel-n1-"})
	mustCreate(t, l, "t", log.TopicConfig{Partitions: 1})
	ctx := testCtx(t)
	if _, err := l.Append(ctx, "t", []log.Record{{Value: []byte("before"), Partition: 0}}); err != nil {
		t.Fatal(err)
	}

	// The crashed node's producer: same transactional id, a transaction
	// with a record, never ended.
	crashed, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.TransactionalID("runnel-n1-g"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.MaxVersions(classicTxnVersions()))
	if err != nil {
		t.Fatal(err)
	}
	defer crashed.Close()
	if err := crashed.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := crashed.ProduceSync(ctx, &kgo.Record{Topic: "t", Partition: 0, Value: []byte("open")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if ends, err := l.EndOffsets(ctx, "t"); err != nil || ends[0] != 1 {
		t.Fatalf("end offset with the transaction open = %v, %v; want 1 (held back)", ends, err)
	}

	if err := l.FenceTransactions(ctx, "g"); err != nil {
		t.Fatalf("FenceTransactions: %v", err)
	}
	// The abort's marker follows the open record: the end passes both.
	if ends, err := l.EndOffsets(ctx, "t"); err != nil || ends[0] != 3 {
		t.Fatalf("end offset after the fence = %v, %v; want 3", ends, err)
	}
	if err := l.Commit(ctx, log.Txn{Group: "g", Records: []log.ProduceRecord{{Topic: "t", Record: log.Record{Value: []byte("after"), Partition: 0}}}}); err != nil {
		t.Fatalf("commit after the fence: %v", err)
	}
	var got []string
	for _, r := range readAll(t, l, log.TopicPartition{Topic: "t"}, 0, 2) {
		got = append(got, string(r.Value))
	}
	if len(got) != 2 || got[0] != "before" || got[1] != "after" {
		t.Fatalf("records = %q, want the aborted one invisible", got)
	}
}

// TestProducersUseAcksAll: every producer of the log, the one of Append
// and the transactional ones of Commit, waits for all in-sync replicas.
func TestProducersUseAcksAll(t *testing.T) {
	c := newCluster(t)
	l := openLog(t, c, Options{})
	mustCreate(t, l, "t", log.TopicConfig{Partitions: 1})
	ctx := testCtx(t)
	if err := l.FenceTransactions(ctx, "g"); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	clients := map[string]*kgo.Client{"Append's": l.cl, "the transactional": l.mu.txns["g"].cl}
	l.mu.Unlock()
	for name, cl := range clients {
		if got := cl.OptValue(kgo.RequiredAcks); got != kgo.AllISRAcks() {
			t.Errorf("%s producer has acks %v, want all", name, got)
		}
	}
}
