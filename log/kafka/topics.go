package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/runnel/runnel/log"
)

// cleanupPolicy is the topic config that says whether Kafka compacts.
const cleanupPolicy = "cleanup.policy"

// metadataPoll is the pause between metadata checks while waiting for a
// created topic to appear or a deleted one to vanish. Real brokers
// propagate metadata asynchronously; without the wait, a Topic call right
// after CreateTopic could say the topic is unknown.
const metadataPoll = 20 * time.Millisecond

// CreateTopic creates a topic with cfg.Partitions partitions and
// cfg.Replicas replicas (the broker default when 0), compacted when
// cfg.Compacted. It returns once the topic is in the cluster's metadata.
func (l *Log) CreateTopic(ctx context.Context, name string, cfg log.TopicConfig) error {
	if err := l.checkOpen(); err != nil {
		return err
	}
	if cfg.Partitions < 1 {
		return fmt.Errorf("kafka: create topic %q: %d partitions, want at least 1", name, cfg.Partitions)
	}
	if cfg.Replicas < 0 {
		return fmt.Errorf("kafka: create topic %q: %d replicas, want 0 (broker default) or more", name, cfg.Replicas)
	}
	replicas := cfg.Replicas
	if replicas == 0 {
		replicas = -1 // kadm: use the broker's default.replication.factor
	}
	var configs map[string]*string
	if cfg.Compacted {
		compact := "compact"
		configs = map[string]*string{cleanupPolicy: &compact}
	}
	l.forgetTopic(name)
	resp, err := l.adm.CreateTopic(ctx, cfg.Partitions, replicas, configs, name)
	if err == nil {
		err = resp.Err
	}
	if cfg.DeleteConsumed && (err == nil || errors.Is(err, kerr.TopicAlreadyExists)) {
		// Kafka keeps no such flag: a topic made again (a restarted
		// query's) is purged as when it was first made.
		l.markDeleteConsumed(name)
	}
	if err != nil {
		if resp.ErrMessage != "" {
			err = fmt.Errorf("%w (%s)", err, resp.ErrMessage)
		}
		return fmt.Errorf("kafka: create topic %q: %w", name, mapErr(err))
	}
	return l.waitTopic(ctx, name, true)
}

// DeleteTopic deletes a topic. Kafka drops its groups' committed offsets
// for it too. It returns once the topic has left the metadata, so that a
// CreateTopic of the same name right after does not find it.
func (l *Log) DeleteTopic(ctx context.Context, name string) error {
	if err := l.checkOpen(); err != nil {
		return err
	}
	l.forgetTopic(name)
	l.forgetDeleteConsumed(name)
	resp, err := l.adm.DeleteTopic(ctx, name)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return fmt.Errorf("kafka: delete topic %q: %w", name, mapErr(err))
	}
	return l.waitTopic(ctx, name, false)
}

// waitTopic polls the metadata until the topic is present (or absent).
func (l *Log) waitTopic(ctx context.Context, name string, present bool) error {
	for {
		_, err := l.topicMetadata(ctx, name)
		switch {
		case err == nil && present, errors.Is(err, log.ErrUnknownTopic) && !present:
			return nil
		case err != nil && !errors.Is(err, log.ErrUnknownTopic):
			return fmt.Errorf("kafka: wait for topic %q: %w", name, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kafka: wait for topic %q (present=%v): %w", name, present, ctx.Err())
		case <-time.After(metadataPoll):
		}
	}
}

// Topic describes one topic.
func (l *Log) Topic(ctx context.Context, name string) (log.TopicInfo, error) {
	if err := l.checkOpen(); err != nil {
		return log.TopicInfo{}, err
	}
	md, err := l.topicMetadata(ctx, name)
	if err != nil {
		return log.TopicInfo{}, fmt.Errorf("kafka: describe topic %q: %w", name, err)
	}
	infos, err := l.describe(ctx, []topicMD{md})
	if err != nil {
		return log.TopicInfo{}, err
	}
	if len(infos) == 0 {
		return log.TopicInfo{}, fmt.Errorf("kafka: describe topic %q: %w", name, log.ErrUnknownTopic)
	}
	return infos[0], nil
}

// Topics lists every topic but Kafka's internal ones (named "__..."),
// sorted by name.
func (l *Log) Topics(ctx context.Context) ([]log.TopicInfo, error) {
	if err := l.checkOpen(); err != nil {
		return nil, err
	}
	mds, err := l.metadata(ctx)
	if err != nil {
		return nil, fmt.Errorf("kafka: list topics: %w", err)
	}
	var ds []topicMD
	for _, md := range mds {
		if md.err != nil || md.internal || strings.HasPrefix(md.name, "__") {
			continue
		}
		ds = append(ds, md)
	}
	if len(ds) == 0 {
		return nil, nil
	}
	return l.describe(ctx, ds)
}

// describe turns metadata into TopicInfos, reading each topic's
// cleanup.policy in one DescribeConfigs round trip.
func (l *Log) describe(ctx context.Context, ds []topicMD) ([]log.TopicInfo, error) {
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = d.name
	}
	configs, err := l.adm.DescribeTopicConfigs(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("kafka: describe configs of %d topics: %w", len(names), err)
	}
	infos := make([]log.TopicInfo, 0, len(ds))
	for _, d := range ds {
		rc, err := configs.On(d.name, nil)
		if err == nil {
			err = rc.Err
		}
		if err != nil {
			// Deleted between the two requests.
			if errors.Is(mapErr(err), log.ErrUnknownTopic) {
				continue
			}
			return nil, fmt.Errorf("kafka: describe configs of %q: %w", d.name, err)
		}
		infos = append(infos, log.TopicInfo{
			Name:       d.name,
			Partitions: d.partitions,
			Replicas:   d.replicas,
			Compacted:  compacted(rc.Configs),
		})
	}
	slices.SortFunc(infos, func(a, b log.TopicInfo) int { return strings.Compare(a.Name, b.Name) })
	return infos, nil
}

// compacted reports whether cleanup.policy includes compact ("compact" or
// "compact,delete").
func compacted(cs []kadm.Config) bool {
	for _, c := range cs {
		if c.Key == cleanupPolicy && c.Value != nil {
			return slices.Contains(strings.Split(*c.Value, ","), "compact")
		}
	}
	return false
}
