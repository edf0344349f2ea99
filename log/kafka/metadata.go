package kafka

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/runnel/runnel/log"
)

// topicMD is one topic as a metadata response describes it.
type topicMD struct {
	name       string
	partitions int32
	replicas   int16
	internal   bool
	id         [16]byte // the topic id (zero before Kafka 2.8); a recreated topic has a new one
	err        error    // non-nil when the broker could not describe it
}

// metadata asks a broker for the named topics, or all topics when none are
// named. It always goes to the broker: kadm's topic listing answers from
// franz-go's metadata cache (up to MetadataMinAge, 5s, old), which would
// still show a topic just deleted or miss one just created.
func (l *Log) metadata(ctx context.Context, topics ...string) (map[string]topicMD, error) {
	req := kmsg.NewPtrMetadataRequest()
	if len(topics) > 0 {
		req.Topics = make([]kmsg.MetadataRequestTopic, len(topics))
		for i, t := range topics {
			req.Topics[i] = kmsg.NewMetadataRequestTopic()
			req.Topics[i].Topic = kmsg.StringPtr(t)
		}
	}
	resp, err := req.RequestWith(ctx, l.cl)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	out := make(map[string]topicMD, len(resp.Topics))
	for _, t := range resp.Topics {
		if t.Topic == nil {
			continue
		}
		md := topicMD{
			name:       *t.Topic,
			partitions: int32(len(t.Partitions)),
			internal:   t.IsInternal,
			id:         t.TopicID,
			err:        kerr.ErrorForCode(t.ErrorCode),
		}
		if len(t.Partitions) > 0 {
			md.replicas = int16(len(t.Partitions[0].Replicas))
		}
		out[md.name] = md
	}
	return out, nil
}

// topicMetadata describes one topic, or fails with log.ErrUnknownTopic.
func (l *Log) topicMetadata(ctx context.Context, topic string) (topicMD, error) {
	mds, err := l.metadata(ctx, topic)
	if err != nil {
		return topicMD{}, err
	}
	md, ok := mds[topic]
	if !ok {
		return topicMD{}, fmt.Errorf("metadata of %q: %w", topic, log.ErrUnknownTopic)
	}
	if md.err != nil {
		return topicMD{}, fmt.Errorf("metadata of %q: %w", topic, mapErr(md.err))
	}
	return md, nil
}

// TopicID returns a topic's id, which Kafka gives every topic it creates
// (zero before Kafka 2.8): a topic deleted and created again under its
// name has a new one, so whoever kept offsets of the old topic (a state
// store's changelog checkpoint) can tell they mean nothing in the new.
func (l *Log) TopicID(ctx context.Context, topic string) ([16]byte, error) {
	if err := l.checkOpen(); err != nil {
		return [16]byte{}, err
	}
	md, err := l.topicMetadata(ctx, topic)
	if err != nil {
		return [16]byte{}, fmt.Errorf("kafka: %w", err)
	}
	return md.id, nil
}
