package nexmark

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/runnel/runnel/log"
)

// RawCopyStats say what RawCopy copied.
type RawCopyStats struct {
	Events  int64
	Elapsed time.Duration
	Usage   Usage
}

// Rate is events per second.
func (s RawCopyStats) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Events) / s.Elapsed.Seconds()
}

// RawCopy copies every record topic holds now to a new topic dst, through
// lg, with no decoding: the floor under any query that reads topic and
// writes as much. Like a stateless query's tasks, it runs one goroutine
// per partition, each reading batches (Reader.Next) from the earliest
// offset and committing each batch's records, unchanged and on the same
// partition, together with its next offset for consumer group group, in
// one log.Commit: the same exactly-once transaction a query makes per
// batch, minus the decoding, evaluation and encoding between the read and
// the commit (and, as a task does, with the next read and the last
// commit's sync overlapped when the log commits asynchronously).
// progress, when set, is called about every second with the
// records copied so far.
//
// dst is deleted again before RawCopy returns.
func RawCopy(ctx context.Context, lg log.Log, topic, dst, group string, progress func(done, total int64)) (RawCopyStats, error) {
	info, err := lg.Topic(ctx, topic)
	if err != nil {
		return RawCopyStats{}, fmt.Errorf("nexmark: raw copy of %s: %w", topic, err)
	}
	ends, err := lg.EndOffsets(ctx, topic)
	if err != nil {
		return RawCopyStats{}, fmt.Errorf("nexmark: raw copy of %s: %w", topic, err)
	}
	var total int64
	for _, e := range ends {
		total += e
	}
	if err := lg.CreateTopic(ctx, dst, log.TopicConfig{Partitions: info.Partitions}); err != nil {
		return RawCopyStats{}, fmt.Errorf("nexmark: raw copy to %s: %w", dst, err)
	}
	defer func() {
		// Only space is left behind if this fails; the next run's fresh
		// data directory does not have it.
		_ = lg.DeleteTopic(context.WithoutCancel(ctx), dst)
	}()

	clock := readCPUClock()
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var copied atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, len(ends))
	for p, end := range ends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := copyPartition(ctx, lg, log.TopicPartition{Topic: topic, Partition: int32(p)}, dst, group, end, &copied); err != nil {
				errs[p] = err
				cancel()
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for waiting := true; waiting; {
		select {
		case <-done:
			waiting = false
		case <-tick.C:
			if progress != nil {
				progress(copied.Load(), total)
			}
		}
	}
	st := RawCopyStats{Events: copied.Load(), Elapsed: time.Since(start), Usage: usageSince(clock)}
	if err := errors.Join(errs...); err != nil {
		return st, fmt.Errorf("nexmark: raw copy of %s: %w", topic, err)
	}
	return st, nil
}

// copyPartition copies one partition up to end.
func copyPartition(ctx context.Context, lg log.Log, tp log.TopicPartition, dst, group string, end int64, copied *atomic.Int64) error {
	r, err := lg.NewReader(ctx, tp, 0)
	if err != nil {
		return err
	}
	defer r.Close()
	// As a stateless query's task does (operators.Task): the output
	// records' slice is reused from batch to batch, a batch read is
	// handed back to the reader once it is committed (log.Recycler),
	// and with a log that commits asynchronously (log.AsyncCommitter)
	// the next batch is read while the last one's commit syncs, one
	// commit in flight at a time, as long as the copy is behind by a
	// batch (log.LagReader).
	ac, _ := lg.(log.AsyncCommitter)
	lagger, _ := r.(log.LagReader)
	var (
		wait    func() error // the commit in flight, or nil
		waiting int64        // its records
	)
	finish := func() error {
		w := wait
		wait = nil
		if err := w(); err != nil {
			return err
		}
		copied.Add(waiting)
		return nil
	}
	defer func() {
		if wait != nil {
			_ = wait()
		}
	}()
	var out []log.ProduceRecord
	for r.Position() < end {
		if wait != nil && (lagger == nil || lagger.Lag() < max(waiting, 1)) {
			if err := finish(); err != nil {
				return err
			}
		}
		recs, err := r.Next(ctx)
		if err != nil {
			return err
		}
		txn := log.Txn{Group: group, Offsets: map[log.TopicPartition]int64{tp: r.Position()}}
		out = out[:0]
		for _, rec := range recs {
			out = append(out, log.ProduceRecord{Topic: dst, Record: log.Record{
				Key: rec.Key, Value: rec.Value, Timestamp: rec.Timestamp, Headers: rec.Headers, Partition: tp.Partition,
			}})
		}
		txn.Records = out
		if wait != nil {
			if err := finish(); err != nil {
				return err
			}
		}
		if ac != nil {
			wait, err = ac.CommitAsync(ctx, txn)
			waiting = int64(len(recs))
		} else {
			err = lg.Commit(ctx, txn)
			copied.Add(int64(len(recs)))
		}
		if err != nil {
			return err
		}
		clear(out)
		if rr, ok := r.(log.Recycler); ok {
			rr.Recycle(recs)
		}
	}
	if wait != nil {
		return finish()
	}
	return nil
}
