package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/runnel/runnel/log"
)

// StartOffsets returns the log start offset of each partition.
func (l *Log) StartOffsets(ctx context.Context, topic string) ([]int64, error) {
	if err := l.checkOpen(); err != nil {
		return nil, err
	}
	listed, err := l.adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("kafka: start offsets of %q: %w", topic, mapErr(err))
	}
	return byPartition(topic, listed)
}

// EndOffsets returns, per partition, the last stable offset: the high
// watermark when no transaction is open on the partition, else the first
// offset of the oldest open transaction. It is the end that a
// read_committed reader (every Reader of this package) can reach without
// waiting for someone else's transaction. A record acknowledged before
// the call lies below it unless a transaction that began before the
// record is still open (a crashed producer's, until it is aborted):
// HighWatermarks covers those too.
func (l *Log) EndOffsets(ctx context.Context, topic string) ([]int64, error) {
	if err := l.checkOpen(); err != nil {
		return nil, err
	}
	for {
		// One request that gets no answer must not hold the caller until
		// its own deadline (seen once under load, on a test cluster): each
		// attempt is bounded, and a timed-out attempt is asked again.
		actx, cancel := context.WithTimeout(ctx, listAttempt)
		listed, err := l.adm.ListCommittedOffsets(actx, topic)
		cancel()
		if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			l.opts.Logger.Warn("kafka: end offsets request timed out; asking again", "topic", topic)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("kafka: end offsets of %q: %w", topic, mapErr(err))
		}
		return byPartition(topic, listed)
	}
}

// HighWatermarks returns, per partition, the high watermark: the offset
// past the last record the brokers have replicated, committed or not.
// Unlike EndOffsets (the last stable offset), it includes every record
// acknowledged before the call even while an older transaction is still
// open on the partition (a crashed producer's, until it is aborted),
// which holds the last stable offset back below them. A read_committed
// reader reaches it once every transaction below it has ended: it is the
// offset to wait for to be sure of having read an acknowledged record.
func (l *Log) HighWatermarks(ctx context.Context, topic string) ([]int64, error) {
	if err := l.checkOpen(); err != nil {
		return nil, err
	}
	for {
		actx, cancel := context.WithTimeout(ctx, listAttempt)
		listed, err := l.adm.ListEndOffsets(actx, topic)
		cancel()
		if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			l.opts.Logger.Warn("kafka: high watermarks request timed out; asking again", "topic", topic)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("kafka: high watermarks of %q: %w", topic, mapErr(err))
		}
		return byPartition(topic, listed)
	}
}

// listAttempt bounds one ListOffsets request of EndOffsets.
const listAttempt = 2 * time.Second

// byPartition turns kadm's answer for one topic into a slice indexed by
// partition, failing if any partition is missing or in error.
func byPartition(topic string, listed kadm.ListedOffsets) ([]int64, error) {
	ps := listed[topic]
	if len(ps) == 0 {
		return nil, fmt.Errorf("kafka: offsets of %q: %w", topic, log.ErrUnknownTopic)
	}
	if o, ok := ps[-1]; ok { // kadm's marker for a topic that does not exist
		return nil, fmt.Errorf("kafka: offsets of %q: %w", topic, mapErr(o.Err))
	}
	out := make([]int64, len(ps))
	for p := range out {
		o, ok := ps[int32(p)]
		if !ok {
			return nil, fmt.Errorf("kafka: offsets of %q: partition %d missing from the answer", topic, p)
		}
		if o.Err != nil {
			return nil, fmt.Errorf("kafka: offsets of %q partition %d: %w", topic, p, mapErr(o.Err))
		}
		out[p] = o.Offset
	}
	return out, nil
}

// CommitOffsets commits offsets for group outside any transaction. Kafka
// accepts commits for a group that has no members, which is how Runnel uses
// groups: as named offset stores, with partitions assigned by Runnel.
func (l *Log) CommitOffsets(ctx context.Context, group string, offsets map[log.TopicPartition]int64) error {
	if err := l.checkOpen(); err != nil {
		return err
	}
	if len(offsets) == 0 {
		return nil
	}
	if m := l.member(group); m != nil {
		// A member's commit must carry its generation: the group refuses
		// commits from outside it once it has members.
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Group = group
		byTopic := map[string]int{}
		for tp, off := range offsets {
			i, ok := byTopic[tp.Topic]
			if !ok {
				i = len(req.Topics)
				byTopic[tp.Topic] = i
				t := kmsg.NewOffsetCommitRequestTopic()
				t.Topic = tp.Topic
				req.Topics = append(req.Topics, t)
			}
			p := kmsg.NewOffsetCommitRequestTopicPartition()
			p.Partition, p.Offset, p.LeaderEpoch = tp.Partition, off, -1
			req.Topics[i].Partitions = append(req.Topics[i].Partitions, p)
		}
		if err := m.commitOffsets(ctx, req); err != nil {
			return fmt.Errorf("kafka: commit %d offsets of group %q as a member: %w", len(offsets), group, mapErr(err))
		}
		l.purgeConsumed(ctx, offsets)
		return nil
	}
	os := make(kadm.Offsets)
	for tp, off := range offsets {
		os.Add(kadm.Offset{Topic: tp.Topic, Partition: tp.Partition, At: off, LeaderEpoch: -1})
	}
	resps, err := l.adm.CommitOffsets(ctx, group, os)
	if err == nil {
		err = resps.Error()
	}
	if err != nil {
		return fmt.Errorf("kafka: commit %d offsets of group %q: %w", len(offsets), group, mapErr(err))
	}
	l.purgeConsumed(ctx, offsets)
	return nil
}

// unstableRetry is the pause before asking again for offsets that a
// transaction is still committing.
const unstableRetry = 10 * time.Millisecond

// CommittedOffsets returns group's committed offsets in topic. It asks for
// stable offsets (KIP-447), so an offset committed by a transaction whose
// markers are still being written is waited for, never skipped.
func (l *Log) CommittedOffsets(ctx context.Context, group, topic string) (map[int32]int64, error) {
	if err := l.checkOpen(); err != nil {
		return nil, err
	}
	for {
		resps, err := l.adm.FetchOffsets(kadm.RequireStable(ctx), group)
		if err == nil {
			// The unstable-commit error may also come per partition.
			out, perr := committedIn(resps, topic)
			if perr == nil || !errors.Is(perr, kerr.UnstableOffsetCommit) {
				return out, perr
			}
			err = perr
		}
		if errors.Is(err, kerr.GroupIDNotFound) {
			return map[int32]int64{}, nil // a group that never committed
		}
		if !errors.Is(err, kerr.UnstableOffsetCommit) {
			return nil, fmt.Errorf("kafka: committed offsets of group %q: %w", group, mapErr(err))
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("kafka: committed offsets of group %q: %w", group, ctx.Err())
		case <-time.After(unstableRetry):
		}
	}
}

// committedIn picks topic's committed offsets out of a group's answer.
// Kafka reports partitions without a commit as offset -1.
func committedIn(resps kadm.OffsetResponses, topic string) (map[int32]int64, error) {
	out := make(map[int32]int64)
	for p, r := range resps[topic] {
		if r.Err != nil {
			return nil, fmt.Errorf("kafka: committed offset of %s/%d: %w", topic, p, mapErr(r.Err))
		}
		if r.At >= 0 {
			out[p] = r.At
		}
	}
	return out, nil
}
