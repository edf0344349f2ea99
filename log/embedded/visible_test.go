package embedded

import (
	"testing"

	"github.com/runnel/runnel/log"
)

// TestCommitVisibleTogether commits transactions while another goroutine
// polls: whenever it sees a transaction's offsets, EndOffsets read after
// that must already include the transaction's records. A pull query that
// waits for a query's offsets and then for its output relies on it. Kafka
// does not promise this (its commit markers are written after EndTxn
// returns), so it is the embedded log's own guarantee, not the suite's.
func TestCommitVisibleTogether(t *testing.T) {
	l := openTest(t, t.TempDir())
	defer l.Close()
	ctx := ctxT(t)
	out, in, group := "out", "in", "group"
	for _, name := range []string{out, in} {
		if err := l.CreateTopic(ctx, name, log.TopicConfig{Partitions: 1}); err != nil {
			t.Fatal(err)
		}
	}
	const rounds = 30
	errc := make(chan error, 1)
	go func() {
		for round := 1; round <= rounds; round++ {
			txn := log.Txn{
				Group:   group,
				Records: []log.ProduceRecord{{Topic: out, Record: log.Record{Key: []byte("k"), Value: []byte("v"), Partition: 0}}},
				Offsets: map[log.TopicPartition]int64{{Topic: in, Partition: 0}: int64(round)},
			}
			if err := l.Commit(ctx, txn); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for {
		got, err := l.CommittedOffsets(ctx, group, in)
		if err != nil {
			t.Fatalf("CommittedOffsets: %v", err)
		}
		ends, err := l.EndOffsets(ctx, out)
		if err != nil {
			t.Fatalf("EndOffsets: %v", err)
		}
		// Each round wrote one record: round n's offsets imply at least n
		// records, and every record takes at least one offset.
		if committed := got[0]; ends[0] < committed {
			t.Fatalf("offsets of round %d are visible but the output's end offset is %d", committed, ends[0])
		}
		if got[0] == rounds {
			break
		}
		select {
		case err := <-errc:
			if err != nil {
				t.Fatalf("Commit: %v", err)
			}
			errc <- nil
		default:
		}
	}
	if err := <-errc; err != nil {
		t.Fatalf("Commit: %v", err)
	}
}
