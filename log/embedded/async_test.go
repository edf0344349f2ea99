package embedded

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/runnel/runnel/log"
)

// TestCommitAsyncVisibleTogether is TestCommitVisibleTogetherConcurrent
// with CommitAsync, each writer keeping two commits in flight (a new one
// before it waits for the one before): whenever a writer's round n is
// seen committed, the output's end offset covers its records, and in the
// end every record is there once, each writer's in order.
func TestCommitAsyncVisibleTogether(t *testing.T) {
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
	for w := range writers {
		go func() {
			var waits []func() error
			for round := 1; round <= rounds; round++ {
				txn := log.Txn{
					Group:   fmt.Sprintf("g%d", w),
					Records: []log.ProduceRecord{{Topic: out, Record: log.Record{Value: fmt.Appendf(nil, "%d/%d", w, round), Partition: 0}}},
					Offsets: map[log.TopicPartition]int64{{Topic: in, Partition: 0}: int64(round)},
				}
				wait, err := l.CommitAsync(ctx, txn)
				if err != nil {
					errc <- err
					return
				}
				// The log keeps nothing of the Txn: scribbling over it
				// must not change what was committed.
				copy(txn.Records[0].Record.Value, "xxxx")
				waits = append(waits, wait)
				if len(waits) == 2 {
					if err := waits[0](); err != nil {
						errc <- err
						return
					}
					waits = waits[1:]
				}
			}
			for _, wait := range waits {
				if err := wait(); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
	}
	for done := false; !done; {
		done = true
		for w := range writers {
			got, err := l.CommittedOffsets(ctx, fmt.Sprintf("g%d", w), in)
			if err != nil {
				t.Fatal(err)
			}
			ends, err := l.EndOffsets(ctx, out)
			if err != nil {
				t.Fatal(err)
			}
			if got[0] > ends[0] {
				t.Fatalf("writer %d's round %d is committed but the output's end offset is %d", w, got[0], ends[0])
			}
			if got[0] < rounds {
				done = false
			}
		}
	}
	for range writers {
		if err := <-errc; err != nil {
			t.Fatalf("CommitAsync: %v", err)
		}
	}
	r, err := l.NewReader(ctx, log.TopicPartition{Topic: out}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	next := make([]int, writers)
	for n := 0; n < writers*rounds; {
		recs, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			var w, round int
			if _, err := fmt.Sscanf(string(rec.Value), "%d/%d", &w, &round); err != nil {
				t.Fatalf("record %d: %q: %v", rec.Offset, rec.Value, err)
			}
			if next[w]++; round != next[w] {
				t.Fatalf("record %d: writer %d's round %d, want %d", rec.Offset, w, round, next[w])
			}
			n++
		}
	}
}

// TestCommitAsyncRefused: a CommitAsync that fails at once writes nothing
// and leaves nothing to wait for.
func TestCommitAsyncRefused(t *testing.T) {
	l := openTest(t, t.TempDir())
	defer l.Close()
	ctx := ctxT(t)
	if err := l.CreateTopic(ctx, "out", log.TopicConfig{Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	rec := []log.ProduceRecord{{Topic: "out", Record: log.Record{Value: []byte("v"), Partition: 0}}}
	done, cancel := context.WithCancel(ctx)
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		txn  log.Txn
	}{
		{"ended context", done, log.Txn{Records: rec}},
		{"offsets without a group", ctx, log.Txn{Records: rec, Offsets: map[log.TopicPartition]int64{{Topic: "out"}: 1}}},
		{"unknown topic", ctx, log.Txn{Records: []log.ProduceRecord{{Topic: "nope", Record: log.Record{Value: []byte("v")}}}}},
		{"unknown partition", ctx, log.Txn{Records: []log.ProduceRecord{{Topic: "out", Record: log.Record{Value: []byte("v"), Partition: 3}}}}},
	} {
		wait, err := l.CommitAsync(tc.ctx, tc.txn)
		if err == nil || wait != nil {
			t.Errorf("%s: CommitAsync returned %v and a wait: %v, want an error and none", tc.name, err, wait != nil)
		}
	}
	if ends, err := l.EndOffsets(ctx, "out"); err != nil || ends[0] != 0 {
		t.Fatalf("EndOffsets after refused commits: %v %v, want [0]", ends, err)
	}
	// A write after them gets offset 0: they reserved nothing.
	wait, err := l.CommitAsync(ctx, log.Txn{Records: rec})
	if err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if ends, err := l.EndOffsets(ctx, "out"); err != nil || ends[0] != 1 {
		t.Fatalf("EndOffsets: %v %v, want [1]", ends, err)
	}
}

// TestCloseWaitsForCommitAsync: Close, called while a commit is in
// flight and nobody has waited for it, returns once the commit is done,
// and the commit survives a reopen.
func TestCloseWaitsForCommitAsync(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir)
	ctx := ctxT(t)
	if err := l.CreateTopic(ctx, "out", log.TopicConfig{Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	var waits []func() error
	for i := range 20 {
		wait, err := l.CommitAsync(ctx, log.Txn{Group: "g",
			Records: []log.ProduceRecord{{Topic: "out", Record: log.Record{Value: fmt.Appendf(nil, "%d", i), Partition: int32(i % 2)}}},
			Offsets: map[log.TopicPartition]int64{{Topic: "out", Partition: 1}: int64(i + 1)}})
		if err != nil {
			t.Fatal(err)
		}
		waits = append(waits, wait)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for i, wait := range waits {
		if err := wait(); err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
	}
	if _, err := l.CommitAsync(ctx, log.Txn{}); !errors.Is(err, log.ErrClosed) {
		t.Fatalf("CommitAsync after Close: %v, want ErrClosed", err)
	}
	l = openTest(t, dir)
	defer l.Close()
	if ends, err := l.EndOffsets(ctx, "out"); err != nil || ends[0] != 10 || ends[1] != 10 {
		t.Fatalf("EndOffsets after a reopen: %v %v, want [10 10]", ends, err)
	}
	if got, err := l.CommittedOffsets(ctx, "g", "out"); err != nil || got[1] != 20 {
		t.Fatalf("CommittedOffsets after a reopen: %v %v, want partition 1 at 20", got, err)
	}
}

// TestReaderLag: Lag says how many offsets Next has to return at once.
func TestReaderLag(t *testing.T) {
	l := openTest(t, t.TempDir())
	defer l.Close()
	ctx := ctxT(t)
	if err := l.CreateTopic(ctx, "in", log.TopicConfig{Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	lr, err := l.NewReader(ctx, log.TopicPartition{Topic: "in"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lr.Close()
	r := lr.(log.LagReader)
	if got := r.Lag(); got != 0 {
		t.Fatalf("Lag on an empty partition: %d", got)
	}
	recs := make([]log.Record, 150) // more than a read batch (100)
	for i := range recs {
		recs[i] = log.Record{Value: []byte("v"), Partition: 0}
	}
	if _, err := l.Append(ctx, "in", recs); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct{ lag, read int64 }{{150, 100}, {50, 50}} {
		if got := r.Lag(); got != step.lag {
			t.Fatalf("Lag at %d: %d, want %d", lr.Position(), got, step.lag)
		}
		got, err := lr.Next(ctx)
		if err != nil || int64(len(got)) != step.read {
			t.Fatalf("Next: %d records, %v; want %d", len(got), err, step.read)
		}
	}
	if got := r.Lag(); got != 0 {
		t.Fatalf("Lag at the end of the partition: %d", got)
	}
}
