package operators

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runnel/runnel/log"
)

// commitSizes is a log that notes the output records of each Commit (a
// task without a store commits through it).
type commitSizes struct {
	log.Log
	mu    sync.Mutex
	sizes []int
}

func (c *commitSizes) Commit(ctx context.Context, txn log.Txn) error {
	if err := c.Log.Commit(ctx, txn); err != nil {
		return err
	}
	c.mu.Lock()
	c.sizes = append(c.sizes, len(txn.Records))
	c.mu.Unlock()
	return nil
}

func (c *commitSizes) taken() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sizes)
}

// mergeRecords returns n records of topic's name and a padded value of
// pad bytes at times step apart from first, and the recorder's output
// for them, as append and out spell them.
func mergeRecords(topic string, n, first, step, pad int) []string {
	var recs []string
	for i := range n {
		recs = append(recs, fmt.Sprintf("%s%d%s@%d", topic, i, strings.Repeat("x", pad), first+i*step))
	}
	return recs
}

// TestMergeCommitBounds: a merging task works through a backlog in
// commits of at most its bound of input records (here 10; each record
// is one output record of the recorder), each full until the last, and
// the Txn it reuses from commit to commit carries each record once.
func TestMergeCommitBounds(t *testing.T) {
	var cs *commitSizes
	f := newMergeFixture(t, func(l log.Log) log.Log { cs = &commitSizes{Log: l}; return cs })
	f.append("a", mergeRecords("a", 25, 0, 2, 0)...)
	f.append("b", mergeRecords("b", 20, 1, 2, 0)...)
	task := f.task(&recorder{})
	task.mergeFor = mergeBounds{records: 10}
	f.run(task)
	f.caughtUp(task)
	if got, want := cs.taken(), []int{10, 10, 10, 10, 5}; !slices.Equal(got, want) {
		t.Errorf("commits of %v records, want %v", got, want)
	}
	// By time: a0@0 b0@1 a1@2 b1@3 ..., then a's last five.
	var want []string
	for i := range 25 {
		want = append(want, fmt.Sprintf("0:a%d", i))
		if i < 20 {
			want = append(want, fmt.Sprintf("1:b%d", i))
		}
	}
	if got := f.out(); !slices.Equal(got, want) {
		t.Fatalf("out:\n got %v\nwant %v", got, want)
	}
}

// TestMergeCommitBytes: a commit ends once its input records' bytes
// reach the bound: 30-byte values against 100 bytes, four records a
// commit.
func TestMergeCommitBytes(t *testing.T) {
	var cs *commitSizes
	f := newMergeFixture(t, func(l log.Log) log.Log { cs = &commitSizes{Log: l}; return cs })
	f.append("a", mergeRecords("a", 10, 0, 1, 28)...) // "a0" and 28 x's
	task := f.task(&recorder{})
	task.mergeFor = mergeBounds{bytes: 100}
	f.run(task)
	f.caughtUp(task)
	if got, want := cs.taken(), []int{4, 4, 2}; !slices.Equal(got, want) {
		t.Errorf("commits of %v records, want %v", got, want)
	}
}

// TestMergeCommitsAtTheTail: with the default bound (8,192 records), a
// merging task at the end of its inputs commits the few records it has
// at once, without waiting for more to fill a commit: each arrival here
// is committed, and well within a second of a quiet machine, while
// nothing else arrives (a task that waited for a full commit would never
// catch up).
func TestMergeCommitsAtTheTail(t *testing.T) {
	var cs *commitSizes
	f := newMergeFixture(t, func(l log.Log) log.Log { cs = &commitSizes{Log: l}; return cs })
	task := f.task(&recorder{})
	f.run(task)
	for round := range 3 {
		start := time.Now()
		f.append("a", mergeRecords("a", 3, 10*round, 2, 0)...)
		f.append("b", mergeRecords("b", 2, 10*round+1, 2, 0)...)
		f.caughtUp(task)
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("round %d: five records took %v to commit", round, took)
		}
	}
	sum := 0
	for _, n := range cs.taken() {
		sum += n
	}
	if sum != 15 {
		t.Errorf("commits hold %d records, want the 15 appended", sum)
	}
}
