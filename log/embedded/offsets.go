package embedded

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/runnel/runnel/log"
)

// StartOffsets implements log.Log. The embedded log has no retention, so
// every partition starts at 0 unless the topic is DeleteConsumed and a
// purge moved its start (purge.go); compaction removes records but never
// moves the start, as in Kafka.
func (l *Log) StartOffsets(ctx context.Context, name string) ([]int64, error) {
	return l.partitionOffsets(ctx, name, "start offsets", func(t *topic, part int32) (int64, error) {
		if !t.deleteConsumed {
			return 0, nil // no partition's state to load for it
		}
		p, err := l.partition(t, part)
		if err != nil {
			return 0, err
		}
		return p.start(), nil
	})
}

// EndOffsets implements log.Log: the end of what readers can see, which
// is past every acknowledged record.
func (l *Log) EndOffsets(ctx context.Context, name string) ([]int64, error) {
	return l.partitionOffsets(ctx, name, "end offsets", func(t *topic, part int32) (int64, error) {
		p, err := l.partition(t, part)
		if err != nil {
			return 0, err
		}
		return p.visible(), nil
	})
}

// partitionOffsets returns of each partition of topic name, indexed by
// partition; what names the call in its errors.
func (l *Log) partitionOffsets(ctx context.Context, name, what string, of func(t *topic, part int32) (int64, error)) ([]int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := l.enter(); err != nil {
		return nil, err
	}
	defer l.exit()
	t, err := l.lookup(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	out := make([]int64, t.info.Partitions)
	for i := range out {
		if out[i], err = of(t, int32(i)); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
	}
	return out, nil
}

// CommitOffsets implements log.Log, with a synced write.
func (l *Log) CommitOffsets(ctx context.Context, group string, offsets map[log.TopicPartition]int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if group == "" {
		return fmt.Errorf("commit offsets: empty group")
	}
	if err := l.enter(); err != nil {
		return err
	}
	defer l.exit()
	set, purged, err := l.offsetWrites(group, offsets)
	if err != nil {
		return fmt.Errorf("commit offsets of %q: %w", group, err)
	}
	b := l.db.NewBatch()
	defer b.Close()
	set(b)
	if err := l.commit(b, classData); err != nil {
		return fmt.Errorf("commit offsets of %q: %w", group, err)
	}
	if purged != nil {
		purged()
	}
	return nil
}

// CommittedOffsets implements log.Log. A topic that does not exist is
// ErrUnknownTopic.
func (l *Log) CommittedOffsets(ctx context.Context, group, name string) (map[int32]int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := l.enter(); err != nil {
		return nil, err
	}
	defer l.exit()
	t, err := l.lookup(name)
	if err != nil {
		return nil, fmt.Errorf("committed offsets of %q: %w", group, err)
	}
	prefix := groupPrefix(t.id, group)
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, fmt.Errorf("committed offsets of %q: %w", group, err)
	}
	defer it.Close()
	out := make(map[int32]int64)
	for it.First(); it.Valid(); it.Next() {
		k, v := it.Key(), it.Value()
		if len(k) != len(prefix)+4 || len(v) != 8 {
			return nil, fmt.Errorf("committed offsets of %q: malformed entry %x=%x", group, k, v)
		}
		out[int32(binary.BigEndian.Uint32(k[len(prefix):]))] = int64(binary.BigEndian.Uint64(v))
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("committed offsets of %q: %w", group, err)
	}
	// Every write whose offsets were read has published its records
	// before they are returned (flight.go).
	if err := l.flights.wait(ctx, l.flights.taken()); err != nil {
		return nil, fmt.Errorf("committed offsets of %q: %w", group, err)
	}
	return out, nil
}
