package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/runnel/runnel/log"
)

// reader reads one partition through a consumer client of its own, assigned
// the partition directly: no group, no rebalances, no shared buffers with
// other readers.
type reader struct {
	l  *Log
	tp log.TopicPartition
	id [16]byte // the topic's id when the reader opened
	cl *kgo.Client
	// next is the first offset the caller may see. Records below it are
	// dropped: when the reader was opened past the end, Kafka answers
	// OFFSET_OUT_OF_RANGE and the client restarts at the end, so records
	// between the end then and the requested offset arrive and must not be
	// returned.
	next int64
}

var _ log.Reader = (*reader)(nil)

// NewReader opens a read_committed reader of tp at offset: records of
// aborted transactions, and of open ones until they commit, are never
// returned. An offset below the log start reads from the start.
func (l *Log) NewReader(ctx context.Context, tp log.TopicPartition, offset int64) (log.Reader, error) {
	if err := l.checkOpen(); err != nil {
		return nil, err
	}
	md, err := l.topicMetadata(ctx, tp.Topic)
	if err != nil {
		return nil, fmt.Errorf("kafka: new reader of %s/%d: %w", tp.Topic, tp.Partition, err)
	}
	if tp.Partition < 0 || tp.Partition >= md.partitions {
		return nil, fmt.Errorf("kafka: new reader of %s/%d: %d partitions: %w", tp.Topic, tp.Partition, md.partitions, log.ErrUnknownPartition)
	}
	offset = max(offset, 0)
	at := kgo.NewOffset().At(offset)
	cl, err := kgo.NewClient(l.clientOpts(
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{tp.Topic: {tp.Partition: at}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Out of range on the first fetch: kgo bounds an exact offset
		// within the log, so below the start reads from the start and past
		// the end waits at the end.
		kgo.ConsumeResetOffset(at),
		// Surface UNKNOWN_TOPIC_OR_PARTITION instead of retrying it
		// forever, so that Next can tell a deleted topic.
		kgo.KeepRetryableFetchErrors(),
		// Transaction markers take offsets; seeing them lets Position
		// move past a marker that ends the partition, so a reader bound
		// by EndOffsets knows it is done.
		kgo.KeepControlRecords(),
	)...)
	if err != nil {
		return nil, fmt.Errorf("kafka: new reader of %s/%d: %w", tp.Topic, tp.Partition, err)
	}
	return &reader{l: l, tp: tp, id: md.id, cl: cl, next: offset}, nil
}

// Next blocks in PollFetches until records, an error or ctx's end.
func (r *reader) Next(ctx context.Context) ([]log.Record, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fetches := r.cl.PollFetches(ctx)
		// Records first: a fetch that raced with ctx's end still carries
		// records the client will not return again.
		var out []log.Record
		advanced := false
		fetches.EachRecord(func(kr *kgo.Record) {
			if kr.Offset < r.next {
				return
			}
			r.next, advanced = kr.Offset+1, true
			if !kr.Attrs.IsControl() {
				out = append(out, fromKgo(kr))
			}
		})
		if advanced {
			return out, nil
		}
		for _, fe := range fetches.Errors() {
			if err := r.fetchErr(ctx, fe.Err); err != nil {
				return nil, err
			}
		}
	}
}

// fetchErr decides what a fetch error means for Next: nil to keep waiting,
// else the error to return.
func (r *reader) fetchErr(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return nil
	case errors.Is(err, kgo.ErrClientClosed):
		return log.ErrClosed
	case errors.Is(mapErr(err), log.ErrUnknownTopic):
		// Brokers also say this briefly while a partition moves; only
		// the metadata can tell a deleted topic, or one deleted and
		// created again under the same name (a new id): the records this
		// reader was reading are gone either way.
		md, merr := r.l.topicMetadata(ctx, r.tp.Topic)
		if errors.Is(merr, log.ErrUnknownTopic) || (merr == nil && md.id != r.id) {
			return fmt.Errorf("kafka: read %s/%d: %w", r.tp.Topic, r.tp.Partition, log.ErrUnknownTopic)
		}
		return nil
	case errors.As(err, new(*kgo.ErrDataLoss)):
		// The client has already resumed where ConsumeResetOffset says;
		// records were lost to retention or an unclean leader election,
		// which a reader cannot undo.
		r.l.opts.Logger.Warn("kafka: data loss while reading", "topic", r.tp.Topic, "partition", r.tp.Partition, "err", err)
		return nil
	case kerr.IsRetriable(err):
		return nil
	}
	return fmt.Errorf("kafka: read %s/%d: %w", r.tp.Topic, r.tp.Partition, err)
}

// Position implements log.Reader.
func (r *reader) Position() int64 { return r.next }

// Close closes the reader's client.
func (r *reader) Close() error {
	r.cl.Close()
	return nil
}
