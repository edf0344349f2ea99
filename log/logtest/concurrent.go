package logtest

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/runnel/runnel/log"
)

// testConcurrentAppend runs several appenders at once, each writing numbered
// records to a partition it shares with another appender. Nothing may be
// lost, each partition's offsets stay dense, and each writer's records keep
// their order within the partition.
func testConcurrentAppend(t *testing.T, l log.Log) {
	const (
		parts   = 2
		writers = 4
		appends = 25
		batch   = 4
	)
	name := createTopic(t, l, log.TopicConfig{Partitions: parts})
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			ctx := waitCtx(t)
			n := 0
			for a := 0; a < appends; a++ {
				recs := make([]log.Record, batch)
				for i := range recs {
					recs[i] = log.Record{Key: fmt.Appendf(nil, "w%d", w), Value: fmt.Appendf(nil, "%d/%d", w, n), Partition: int32(w % parts)}
					n++
				}
				if _, err := l.Append(ctx, name, recs); err != nil {
					errs <- fmt.Errorf("writer %d append %d: %w", w, a, err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	perPart := writers / parts * appends * batch
	for p := int32(0); p < parts; p++ {
		got := readPartition(t, l, name, p, 0)
		if len(got) != perPart {
			t.Fatalf("partition %d holds %d records, want %d", p, len(got), perPart)
		}
		checkDense(t, got, 0)
		next := make(map[int]int) // writer -> next expected sequence number
		for _, r := range got {
			ws, ns, _ := strings.Cut(string(r.Value), "/")
			w, _ := strconv.Atoi(ws)
			n, _ := strconv.Atoi(ns)
			if w%parts != int(p) {
				t.Fatalf("writer %d's record in partition %d", w, p)
			}
			if n != next[w] {
				t.Fatalf("partition %d offset %d: writer %d record %d, want record %d", p, r.Offset, w, n, next[w])
			}
			next[w]++
		}
	}
}
