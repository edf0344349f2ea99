package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/runnel/runnel/log"
)

// Log is a log.Log on a Kafka cluster. Create it with Open; it is safe for
// concurrent use.
type Log struct {
	opts Options

	// cl produces Append's records (idempotent, acks=all, manual
	// partitioning) and carries kadm's requests.
	cl  *kgo.Client
	adm *kadm.Client

	mu struct {
		sync.Mutex
		closed bool
		// topics caches what Append needs per topic; an entry is dropped
		// when the topic is deleted here or a produce says it is gone.
		topics map[string]*topicMeta
		// txns holds one transactional producer per consumer group,
		// created by the group's first Commit (see txn.go).
		txns map[string]*txnProducer
		// members are this process's group memberships, by group (see
		// group.go): commits for such a group carry the member's
		// generation.
		members map[string]*Member
		// abandoned is set by Abandon: members stop without leaving.
		abandoned bool
		// purged holds the DeleteConsumed topics and when each was last
		// purged (purge.go).
		purged map[string]time.Time
	}
}

var _ log.Log = (*Log)(nil)

// Open connects to the cluster in opts and checks that a broker answers.
func Open(ctx context.Context, opts Options) (*Log, error) {
	opts.EnsureDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	l := &Log{opts: opts}
	l.mu.topics = make(map[string]*topicMeta)
	l.mu.txns = make(map[string]*txnProducer)

	cl, err := kgo.NewClient(l.clientOpts(
		// Append always names the partition; see append.go.
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		// Append waits for its records anyway: lingering only adds latency.
		kgo.ProducerLinger(0),
	)...)
	if err != nil {
		return nil, fmt.Errorf("kafka: new client: %w", err)
	}
	if err := cl.Ping(ctx); err != nil {
		cl.Close()
		return nil, fmt.Errorf("kafka: reach brokers %v: %w", opts.Brokers, err)
	}
	l.cl = cl
	l.adm = kadm.NewClient(cl)
	return l, nil
}

// clientOpts returns the options every client of this log shares, then
// extra, then Options.ClientOpts.
func (l *Log) clientOpts(extra ...kgo.Opt) []kgo.Opt {
	opts := []kgo.Opt{
		kgo.SeedBrokers(l.opts.Brokers...),
		kgo.ClientID(l.opts.ClientID),
		kgo.WithLogger(slogLogger{l.opts.Logger}),
	}
	opts = append(opts, extra...)
	return append(opts, l.opts.ClientOpts...)
}

// Close closes the transactional producers and the client. Readers must be
// closed first.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.mu.closed {
		l.mu.Unlock()
		return nil
	}
	l.mu.closed = true
	txns := l.mu.txns
	l.mu.txns = nil
	members := l.mu.members
	l.mu.members = nil
	abandoned := l.mu.abandoned
	l.mu.Unlock()

	for _, m := range members {
		m.close(abandoned)
	}
	for _, tp := range txns {
		tp.close()
	}
	l.cl.Close()
	return nil
}

// checkOpen returns log.ErrClosed once Close has begun.
func (l *Log) checkOpen() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.closed {
		return log.ErrClosed
	}
	return nil
}

// mapErr wraps Kafka's errors that have a log sentinel so that errors.Is
// finds both: the sentinel for callers, Kafka's error for whoever debugs.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kerr.UnknownTopicOrPartition), errors.Is(err, kerr.UnknownTopicID):
		return fmt.Errorf("%w: %w", log.ErrUnknownTopic, err)
	case errors.Is(err, kerr.TopicAlreadyExists):
		return fmt.Errorf("%w: %w", log.ErrTopicExists, err)
	case errors.Is(err, kgo.ErrClientClosed):
		return fmt.Errorf("%w: %w", log.ErrClosed, err)
	}
	return err
}
