package logtest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/runnel/runnel/log"
)

// appendValues appends count records with values "v<i>" to partition p.
func appendValues(t *testing.T, l log.Log, topic string, p int32, from, count int) []log.Record {
	t.Helper()
	recs := make([]log.Record, count)
	for i := range recs {
		recs[i] = log.Record{Key: fmt.Appendf(nil, "k%d", from+i), Value: fmt.Appendf(nil, "v%d", from+i), Partition: p}
	}
	return mustAppend(t, l, topic, recs)
}

func testReadFromStart(t *testing.T, l log.Log) {
	name := createTopic(t, l, log.TopicConfig{Partitions: 2})
	// More than one batch's worth in several Appends, so readers cross
	// batch boundaries.
	const total = 1500
	for i := 0; i < total; i += 300 {
		appendValues(t, l, name, 1, i, 300)
	}
	got := readN(t, openReader(t, l, name, 1, 0), total)
	checkDense(t, got, 0)
	for i, r := range got {
		if want := fmt.Sprintf("v%d", i); string(r.Value) != want || r.Partition != 1 {
			t.Fatalf("record %d = %q in partition %d, want %q in 1", i, r.Value, r.Partition, want)
		}
	}
	// The other partition is empty: a reader there waits rather than
	// returning anything.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	recs, err := openReader(t, l, name, 0, 0).Next(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next on an empty partition = %d records, %v; want DeadlineExceeded", len(recs), err)
	}
}

func testReadFromMiddle(t *testing.T, l log.Log) {
	name := createTopic(t, l, log.TopicConfig{Partitions: 1})
	appendValues(t, l, name, 0, 0, 20)
	got := readN(t, openReader(t, l, name, 0, 13), 7)
	checkDense(t, got, 13)
	if string(got[0].Value) != "v13" || string(got[6].Value) != "v19" {
		t.Fatalf("read %q..%q from offset 13, want v13..v19", got[0].Value, got[6].Value)
	}
	// A reader positioned on the last record returns it alone.
	got = readN(t, openReader(t, l, name, 0, 19), 1)
	if got[0].Offset != 19 {
		t.Fatalf("read offset %d, want 19", got[0].Offset)
	}
}

func testReadWaitsPastEnd(t *testing.T, l log.Log) {
	name := createTopic(t, l, log.TopicConfig{Partitions: 1})
	appendValues(t, l, name, 0, 0, 3)

	type result struct {
		recs []log.Record
		err  error
	}
	// A reader at the end and one beyond it: both wait for the record at
	// its offset.
	atEnd := openReader(t, l, name, 0, 3)
	ch := make(chan result, 1)
	go func() {
		recs, err := atEnd.Next(waitCtx(t))
		ch <- result{recs, err}
	}()
	appendValues(t, l, name, 0, 3, 1)
	res := <-ch
	if res.err != nil {
		t.Fatalf("Next of a waiting reader: %v", res.err)
	}
	if len(res.recs) != 1 || res.recs[0].Offset != 3 || string(res.recs[0].Value) != "v3" {
		t.Fatalf("waiting reader woke with %v, want offset 3 = v3", res.recs)
	}

	// Many waiting readers on one partition all wake.
	const waiters = 4
	chs := make([]chan result, waiters)
	for i := range chs {
		r := openReader(t, l, name, 0, 4)
		chs[i] = make(chan result, 1)
		go func(c chan result) {
			recs, err := readNErr(waitCtx(t), r, 2)
			c <- result{recs, err}
		}(chs[i])
	}
	appendValues(t, l, name, 0, 4, 1)
	appendValues(t, l, name, 0, 5, 1)
	for i, c := range chs {
		res := <-c
		if res.err != nil {
			t.Fatalf("waiter %d: %v", i, res.err)
		}
		checkDense(t, res.recs, 4)
	}
}

// readNErr is readN for goroutines other than the test's: it reports
// instead of failing.
func readNErr(ctx context.Context, r log.Reader, n int) ([]log.Record, error) {
	var out []log.Record
	for len(out) < n {
		recs, err := r.Next(ctx)
		if err != nil {
			return out, err
		}
		out = append(out, recs...)
	}
	return out, nil
}

func testReadCancelled(t *testing.T, l log.Log) {
	name := createTopic(t, l, log.TopicConfig{Partitions: 1})
	r := openReader(t, l, name, 0, 0)

	// Already cancelled.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if recs, err := r.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next with a cancelled context = %d records, %v; want Canceled", len(recs), err)
	}

	// Cancelled while waiting.
	ctx, cancel = context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := r.Next(ctx)
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Next cancelled while waiting = %v, want Canceled", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Next did not return after its context was cancelled")
	}

	// Deadline while waiting.
	dctx, dcancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer dcancel()
	if _, err := r.Next(dctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next past its deadline = %v, want DeadlineExceeded", err)
	}

	// The reader is still usable and has not moved.
	appendValues(t, l, name, 0, 0, 2)
	got := readN(t, r, 2)
	checkDense(t, got, 0)
}

func testReaderUnknown(t *testing.T, l log.Log) {
	ctx := waitCtx(t)
	name := createTopic(t, l, log.TopicConfig{Partitions: 2})
	if _, err := l.NewReader(ctx, log.TopicPartition{Topic: name, Partition: 2}, 0); !errors.Is(err, log.ErrUnknownPartition) {
		t.Errorf("NewReader on partition 2 of 2 = %v, want ErrUnknownPartition", err)
	}
	if _, err := l.NewReader(ctx, log.TopicPartition{Topic: name, Partition: -1}, 0); !errors.Is(err, log.ErrUnknownPartition) {
		t.Errorf("NewReader on partition -1 = %v, want ErrUnknownPartition", err)
	}
	missing := uniqueName("missing")
	if _, err := l.NewReader(ctx, log.TopicPartition{Topic: missing, Partition: 0}, 0); !errors.Is(err, log.ErrUnknownTopic) {
		t.Errorf("NewReader on a missing topic = %v, want ErrUnknownTopic", err)
	}
}
