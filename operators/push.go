package operators

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/sql/types"
)

// PushSpec describes a transient query: every partition of one topic read
// from Start, optionally up to End, through a decoder and a pipeline.
type PushSpec struct {
	Log        log.Log
	Topic      string
	Partitions int32
	// Start is the first offset to read, per partition.
	Start []int64
	// End, when set, bounds the read (a scan of what the topic held when
	// the query began); nil streams forever.
	End      []int64
	Decoder  *Decoder
	Pipeline *Pipeline
	// Limit stops after that many rows; 0 means no limit.
	Limit   int64
	Metrics *Metrics
	Logger  *slog.Logger
	// OnFailure reports skipped records; nil only counts them.
	OnFailure func(Failure)
	// Raw, when set, replaces Decoder and Pipeline: every record becomes
	// the row it returns (PRINT).
	Raw func(*log.Record) types.Row
}

// Push is a running transient query. One reader goroutine per partition
// feeds a channel; Push owns them and Close stops them.
type Push struct {
	rows   chan types.Row
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
func StartPush(ctx context.Context, spec PushSpec) *Push {
	ctx, cancel := context.WithCancel(ctx)
	p := &Push{rows: make(chan types.Row, 256), cancel: cancel, limit: spec.Limit}
	for part := int32(0); part < spec.Partitions; part++ {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			if err := p.readPartition(ctx, spec, part); err != nil && ctx.Err() == nil {
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

func (p *Push) readPartition(ctx context.Context, spec PushSpec, part int32) error {
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
			row, ok, err := spec.row(rec)
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

// Next returns the next row, io.EOF when the query is done (its limit
// reached or its bounded scan finished), or ctx.Err().
func (p *Push) Next(ctx context.Context) (types.Row, error) {
	if p.limit < 0 || (p.limit > 0 && p.sent >= p.limit) {
		return nil, io.EOF
	}
	select {
	case row, ok := <-p.rows:
		if !ok {
			p.mu.Lock()
			err := p.mu.err
			p.mu.Unlock()
			if err != nil {
				return nil, err
			}
			return nil, io.EOF
		}
		p.sent++
		return row, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close stops the readers and waits for them.
func (p *Push) Close() {
	p.cancel()
	for range p.rows {
		// Drain so that blocked senders see the cancellation.
	}
	p.wg.Wait()
}

// row turns one record into the query's row: ok is false when the record
// yields none (a tombstone, a row the filter drops).
func (spec *PushSpec) row(rec *log.Record) (types.Row, bool, error) {
	if spec.Raw != nil {
		return spec.Raw(rec), true, nil
	}
	row, ok, err := spec.Decoder.Decode(rec)
	if err != nil || !ok {
		return nil, false, err
	}
	row, _, ok, err = spec.Pipeline.Apply(row)
	return row, ok, err
}
