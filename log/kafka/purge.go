package kafka

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/runnel/runnel/log"
)

// Purging DeleteConsumed topics (log.TopicConfig.DeleteConsumed).
//
// Kafka keeps no flag of ours on a topic, so the log remembers the topics
// created DeleteConsumed, or asked to be again (a restarted query's
// CreateTopic finds its topic there), and after a commit of a group's
// offsets for one of them it deletes the records below those offsets with
// DeleteRecords: at most once per PurgeInterval per topic, as Kafka Streams
// purges its repartition topics every repartition.purge.interval.ms. The
// offsets are committed first, so a purge never passes what the group
// has yet to read. A purge that fails is logged and left to the next one:
// the commit stands.

// markDeleteConsumed remembers that name's records may be purged.
func (l *Log) markDeleteConsumed(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.purged == nil {
		l.mu.purged = map[string]time.Time{}
	}
	if _, ok := l.mu.purged[name]; !ok {
		l.mu.purged[name] = time.Time{}
	}
}

// forgetDeleteConsumed forgets a deleted topic's purges.
func (l *Log) forgetDeleteConsumed(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.mu.purged, name)
}

// purgeConsumed deletes the records below offsets of every DeleteConsumed
// topic whose last purge is PurgeInterval old; offsets have just been
// committed.
func (l *Log) purgeConsumed(ctx context.Context, offsets map[log.TopicPartition]int64) {
	if l.opts.PurgeInterval < 0 {
		return
	}
	now := time.Now()
	os := make(kadm.Offsets)
	l.mu.Lock()
	due := map[string]bool{}
	for tp := range offsets {
		last, ok := l.mu.purged[tp.Topic]
		if ok && now.Sub(last) >= l.opts.PurgeInterval {
			due[tp.Topic] = true
		}
	}
	for topic := range due {
		l.mu.purged[topic] = now
	}
	l.mu.Unlock()
	for tp, off := range offsets {
		if due[tp.Topic] {
			os.Add(kadm.Offset{Topic: tp.Topic, Partition: tp.Partition, At: off, LeaderEpoch: -1})
		}
	}
	if len(os) == 0 {
		return
	}
	resps, err := l.adm.DeleteRecords(ctx, os)
	if err == nil {
		err = resps.Error()
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		l.opts.Logger.Warn("kafka: purge of consumed records failed; the next commit retries", "topics", len(due), "err", err)
	}
}
