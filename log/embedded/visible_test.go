package embedded

import (
	"fmt"
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

// TestCommitVisibleTogetherConcurrent is TestCommitVisibleTogether with
// several writers committing to one output partition at once, so that
// their reservations complete out of order: whenever a writer's round n is
// seen committed, its n records are all readable below EndOffsets.
func TestCommitVisibleTogetherConcurrent(t *testing.T) {
	l := openTest(t, t.TempDir())
	defer l.Close()
	ctx := ctxT(t)
	out, in := "out", "in"
	for _, name := range []string{out, in} {
		if err := l.CreateTopic(ctx, name, log.TopicConfig{Partitions: 1}); err != nil {
			t.Fatal(err)
		}
	}
	const writers, rounds = 4, 40
	errc := make(chan error, writers)
	for w := 0; w < writers; w++ {
		go func() {
			for round := 1; round <= rounds; round++ {
				txn := log.Txn{
					Group:   fmt.Sprintf("g%d", w),
					Records: []log.ProduceRecord{{Topic: out, Record: log.Record{Value: fmt.Appendf(nil, "%d/%d", w, round), Partition: 0}}},
					Offsets: map[log.TopicPartition]int64{{Topic: in, Partition: 0}: int64(round)},
				}
				if err := l.Commit(ctx, txn); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
	}
	seen := make([]int64, writers)
	for done := false; !done; {
		done = true
		for w := 0; w < writers; w++ {
			got, err := l.CommittedOffsets(ctx, fmt.Sprintf("g%d", w), in)
			if err != nil {
				t.Fatal(err)
			}
			round := got[0]
			if round < rounds {
				done = false
			}
			if round == seen[w] {
				continue
			}
			seen[w] = round
			ends, err := l.EndOffsets(ctx, out)
			if err != nil {
				t.Fatal(err)
			}
			have := map[string]bool{}
			r, err := l.NewReader(ctx, log.TopicPartition{Topic: out}, 0)
			if err != nil {
				t.Fatal(err)
			}
			for r.Position() < ends[0] {
				recs, err := r.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, rec := range recs {
					have[string(rec.Value)] = true
				}
			}
			r.Close()
			for n := int64(1); n <= round; n++ {
				if !have[fmt.Sprintf("%d/%d", w, n)] {
					t.Fatalf("writer %d's round %d is committed, but its round %d is not below the end offset %d", w, round, n, ends[0])
				}
			}
		}
	}
	for w := 0; w < writers; w++ {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}
