package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/runnel/runnel/log"
)

// topicMeta is what Append needs to place records in a topic.
type topicMeta struct {
	partitions int32
	// next is the round-robin counter for records without a key. It lives
	// as long as the cache entry, so one-record Appends spread too.
	next atomic.Uint32
}

// place returns the partition of r: its own when set, murmur2 of its key
// (log.PartitionFor, Kafka's default partitioner) when it has one, the next
// partition in turn otherwise.
func (m *topicMeta) place(r *log.Record) (int32, error) {
	switch {
	case r.Partition >= m.partitions:
		return 0, fmt.Errorf("partition %d of %d: %w", r.Partition, m.partitions, log.ErrUnknownPartition)
	case r.Partition >= 0:
		return r.Partition, nil
	case r.Key != nil:
		return log.PartitionFor(r.Key, m.partitions), nil
	default:
		return int32((m.next.Add(1) - 1) % uint32(m.partitions)), nil
	}
}

// topicMeta returns the cached metadata of a topic, loading it on a miss.
func (l *Log) topicMeta(ctx context.Context, topic string) (*topicMeta, error) {
	l.mu.Lock()
	m := l.mu.topics[topic]
	l.mu.Unlock()
	if m != nil {
		return m, nil
	}
	n, err := l.partitionCount(ctx, topic)
	if err != nil {
		return nil, err
	}
	m = &topicMeta{partitions: n}
	l.mu.Lock()
	defer l.mu.Unlock()
	if cur := l.mu.topics[topic]; cur != nil {
		return cur, nil // a concurrent load won; share its counter
	}
	if !l.mu.closed {
		l.mu.topics[topic] = m
	}
	return m, nil
}

// partitionCount asks the cluster how many partitions topic has.
func (l *Log) partitionCount(ctx context.Context, topic string) (int32, error) {
	md, err := l.topicMetadata(ctx, topic)
	return md.partitions, err
}

// forgetTopic drops everything cached about a topic: ours, and the
// clients' producer state and metadata, which would otherwise keep the
// old topic's id and fail produces to a topic deleted and created again.
func (l *Log) forgetTopic(topic string) {
	l.mu.Lock()
	delete(l.mu.topics, topic)
	txns := make([]*txnProducer, 0, len(l.mu.txns))
	for _, p := range l.mu.txns {
		txns = append(txns, p)
	}
	l.mu.Unlock()
	l.cl.PurgeTopicsFromClient(topic)
	for _, p := range txns {
		p.purge(topic)
	}
}

// Append produces recs to topic and waits until every in-sync replica has
// them. If it fails part way, some records may have been written.
func (l *Log) Append(ctx context.Context, topic string, recs []log.Record) ([]log.Record, error) {
	if err := l.checkOpen(); err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, nil
	}
	krs, out, err := l.prepare(ctx, topic, recs)
	if err != nil {
		return nil, fmt.Errorf("kafka: append to %q: %w", topic, err)
	}
	if err := l.cl.ProduceSync(ctx, krs...).FirstErr(); err != nil {
		err = mapErr(err)
		if errors.Is(err, log.ErrUnknownTopic) {
			l.forgetTopic(topic)
		}
		return nil, fmt.Errorf("kafka: append %d records to %q: %w", len(recs), topic, err)
	}
	for i, kr := range krs {
		out[i].Offset = kr.Offset
	}
	return out, nil
}

// prepare places and converts recs for topic. It returns the records to
// produce and the caller's records with Partition and Timestamp filled in,
// index for index.
func (l *Log) prepare(ctx context.Context, topic string, recs []log.Record) ([]*kgo.Record, []log.Record, error) {
	m, err := l.topicMeta(ctx, topic)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now().UnixMilli()
	krs := make([]*kgo.Record, len(recs))
	out := make([]log.Record, len(recs))
	for i := range recs {
		p, err := m.place(&recs[i])
		if err != nil {
			return nil, nil, fmt.Errorf("record %d: %w", i, err)
		}
		out[i] = recs[i]
		out[i].Partition = p
		if out[i].Timestamp < 0 {
			out[i].Timestamp = now
		}
		krs[i] = toKgo(topic, p, &out[i], out[i].Timestamp)
	}
	return krs, out, nil
}
