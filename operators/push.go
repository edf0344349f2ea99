package operators

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/sql/types"
)

// PushSpec describes a transient query: every partition of one topic read
// from Start, optionally up to End.
type PushSpec struct {
	Log        log.Log
	Topic      string
	Partitions int32
	// Start is the first offset to read, per partition.
	Start []int64
	// End, when set, bounds the read (a scan of what the topic held when
	// the query began); nil streams forever.
	End []int64
	// Limit stops after that many items; 0 means no limit, -1 none at all.
	Limit int64
	// Buffer is how many items the readers may hold ready ahead of Next,
	// besides the one each reader is sending. Default (0): 256. An item
	// that can be large (all the rows of a record with table functions)
	// takes a smaller one.
	Buffer  int
	Metrics *Metrics
	Logger  *slog.Logger
	// OnFailure reports skipped records; nil only counts them.
	OnFailure func(Failure)
}

// Convert turns a record into what a transient query's readers produce
// (a row, or the record itself); ok is false when the record yields
// nothing. It is called concurrently, one goroutine per partition.
type Convert[T any] func(rec *log.Record) (item T, ok bool, err error)

// Rows converts records to query rows through a decoder and a pipeline.
func Rows(dec *Decoder, pipe *Pipeline) Convert[types.Row] {
	return func(rec *log.Record) (types.Row, bool, error) {
		row, ok, err := dec.Decode(rec)
		if err != nil || !ok {
			return nil, false, err
		}
		row, _, ok, err = pipe.Apply(row)
		return row, ok, err
	}
}

// Push is a running transient query. One reader goroutine per partition
// feeds a channel; Push owns them and Close stops them.
type Push[T any] struct {
	rows   chan T
	cancel context.CancelFunc
	wg     sync.WaitGroup
	limit  int64
	sent   int64

	mu struct {
		sync.Mutex
		err error // the first reader failure, guarded by mu
	}
}

// StartPush starts the query's readers.
func StartPush[T any](ctx context.Context, spec PushSpec, conv Convert[T]) *Push[T] {
	ctx, cancel := context.WithCancel(ctx)
	buffer := spec.Buffer
	if buffer <= 0 {
		buffer = 256
	}
	p := &Push[T]{rows: make(chan T, buffer), cancel: cancel, limit: spec.Limit}
	for part := int32(0); part < spec.Partitions; part++ {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			// A panic in a reader fails the query, not the process.
			defer func() {
				if r := recover(); r != nil {
					if spec.Logger != nil {
						spec.Logger.Error("push query reader panicked", "topic", spec.Topic, "partition", part, "panic", r, "stack", string(debug.Stack()))
					}
					p.mu.Lock()
					if p.mu.err == nil {
						p.mu.err = fmt.Errorf("push query: reader of %s/%d panicked: %v", spec.Topic, part, r)
					}
					p.mu.Unlock()
					cancel()
				}
			}()
			if err := p.readPartition(ctx, spec, conv, part); err != nil && ctx.Err() == nil {
				p.mu.Lock()
				if p.mu.err == nil {
					p.mu.err = err
				}
				p.mu.Unlock()
				cancel()
			}
		}()
	}
	go func() {
		p.wg.Wait()
		close(p.rows)
	}()
	return p
}

func (p *Push[T]) readPartition(ctx context.Context, spec PushSpec, conv Convert[T], part int32) error {
	start := spec.Start[part]
	if spec.End != nil && start >= spec.End[part] {
		return nil
	}
	tp := log.TopicPartition{Topic: spec.Topic, Partition: part}
	r, err := spec.Log.NewReader(ctx, tp, start)
	if err != nil {
		return fmt.Errorf("open reader on %s/%d: %w", spec.Topic, part, err)
	}
	defer r.Close()
	for {
		recs, err := r.Next(ctx)
		if err != nil {
			return fmt.Errorf("read %s/%d: %w", spec.Topic, part, err)
		}
		for i := range recs {
			rec := &recs[i]
			if spec.End != nil && rec.Offset >= spec.End[part] {
				return nil
			}
			spec.Metrics.Consumed.Add(1)
			row, ok, err := conv(rec)
			if err != nil {
				spec.Metrics.fail(err)
				if spec.OnFailure != nil {
					spec.OnFailure(Failure{Record: *rec, Topic: spec.Topic, Err: err})
				}
				continue
			}
			if !ok {
				continue
			}
			select {
			case p.rows <- row:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		// The end may follow a transaction marker rather than a record,
		// so the reader's position, not the last record, says we are done.
		if spec.End != nil && r.Position() >= spec.End[part] {
			return nil
		}
	}
}

// Next returns the next item, io.EOF when the query is done (its limit
// reached or its bounded scan finished), or ctx.Err().
func (p *Push[T]) Next(ctx context.Context) (T, error) {
	var zero T
	if p.limit < 0 || (p.limit > 0 && p.sent >= p.limit) {
		return zero, io.EOF
	}
	select {
	case row, ok := <-p.rows:
		if !ok {
			p.mu.Lock()
			err := p.mu.err
			p.mu.Unlock()
			if err != nil {
				return zero, err
			}
			return zero, io.EOF
		}
		p.sent++
		return row, nil
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// Close stops the readers and waits for them.
func (p *Push[T]) Close() {
	p.cancel()
	for range p.rows {
		// Drain so that blocked senders see the cancellation.
	}
	p.wg.Wait()
}
