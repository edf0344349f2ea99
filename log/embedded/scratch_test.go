package embedded

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/runnel/runnel/log"
)

// TestCommitScratchReuse commits, from two goroutines at once, writes of
// sizes that take a pooled scratch, a smaller one that reuses it, and
// (for one topic) one larger than the pool keeps, each spread over a
// topic's partitions out of order, and reads every partition back: each
// record must be where its write put it, in its write's order, whatever
// memory another write used before.
func TestCommitScratchReuse(t *testing.T) {
	// The write larger than the pool keeps is 262,154 records, which
	// the race detector on a loaded machine takes longer over than
	// ctxT's 10 s.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l := openTest(t, t.TempDir())
	defer l.Close()
	sizesOf := map[string][]int{
		"a": {3000, 7, maxScratchRecords + 10, 2000, 1},
		"b": {3000, 7, 5000, 2000, 1},
	}
	topics := map[string]int32{"a": 3, "b": 2}
	for name, n := range topics {
		if err := l.CreateTopic(ctx, name, log.TopicConfig{Partitions: n}); err != nil {
			t.Fatal(err)
		}
	}
	// part places record i of a commit; the pattern is not round robin,
	// so that a partition's records are not every nth.
	part := func(i int, n int32) int32 { return int32((i*7 + i/3) % int(n)) }
	value := func(topic string, c, i int) string { return fmt.Sprintf("%s/%d/%d", topic, c, i) }
	var wg sync.WaitGroup
	errs := make(chan error, len(topics))
	for name, n := range topics {
		wg.Go(func() {
			for c, size := range sizesOf[name] {
				txn := log.Txn{Records: make([]log.ProduceRecord, size)}
				for i := range size {
					txn.Records[i] = log.ProduceRecord{Topic: name, Record: log.Record{
						Value: []byte(value(name, c, i)), Partition: part(i, n), Timestamp: int64(i)}}
				}
				if err := l.Commit(ctx, txn); err != nil {
					errs <- fmt.Errorf("topic %s commit %d: %w", name, c, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for name, n := range topics {
		for p := range n {
			var want []string
			for c, size := range sizesOf[name] {
				for i := range size {
					if part(i, n) == p {
						want = append(want, value(name, c, i))
					}
				}
			}
			got := readFrom(t, l, name, p, 0)
			if len(got) != len(want) {
				t.Fatalf("%s/%d: %d records, want %d", name, p, len(got), len(want))
			}
			for k, rec := range got {
				if string(rec.Value) != want[k] || rec.Offset != int64(k) {
					t.Fatalf("%s/%d record %d: %q at offset %d, want %q", name, p, k, rec.Value, rec.Offset, want[k])
				}
			}
		}
	}
}
