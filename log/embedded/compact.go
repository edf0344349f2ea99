package embedded

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/runnel/runnel/log"
)

// Compact implements log.Compactor. For each partition it keeps the latest
// record of each key and removes tombstones and everything they shadow, in
// one synced batch for the whole topic; surviving records keep their
// offsets, and end offsets do not move. Records with a nil key are kept (a
// compacted topic should not have them; Kafka refuses them). Appends may go
// on meanwhile: compaction only covers what was visible when it began.
// It returns ErrNotCompacted for a topic not created Compacted.
func (l *Log) Compact(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.compactMu.Lock()
	defer l.compactMu.Unlock()
	if err := l.enter(); err != nil {
		return err
	}
	defer l.exit()
	t, err := l.lookup(name)
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	if !t.info.Compacted {
		return fmt.Errorf("compact %q: %w", name, ErrNotCompacted)
	}
	parts, err := l.partitionsWithRecords(t.id)
	if err != nil {
		return fmt.Errorf("compact %q: %w", name, err)
	}
	b := l.db.NewBatch()
	defer b.Close()
	removed := 0
	for _, part := range parts {
		p, err := l.partition(t, part)
		if err != nil {
			return fmt.Errorf("compact %q: %w", name, err)
		}
		end := p.visible()
		n, err := l.compactPartition(ctx, b, t.id, part, end)
		if err != nil {
			return fmt.Errorf("compact %s/%d: %w", name, part, err)
		}
		removed += n
		// The floor keeps the end offset where it is even if the last
		// record went.
		_ = b.Set(endFloorKey(t.id, part), binary.BigEndian.AppendUint64(nil, uint64(end)), nil)
	}
	if err := l.commit(b, classSystem); err != nil {
		return fmt.Errorf("compact %q: %w", name, err)
	}
	l.opts.Logger.Debug("compacted topic", "topic", name, "removed", removed)
	return nil
}

// partitionsWithRecords lists, in order, the partitions of topic id that
// hold at least one record. It seeks from one partition to the next, so it
// costs one seek per such partition however many the topic declares: an
// empty partition has nothing to compact.
func (l *Log) partitionsWithRecords(id uint64) ([]int32, error) {
	lo, hi := topicRecordBounds(id)
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var parts []int32
	for ok := it.First(); ok; {
		part, err := recordKeyPartition(it.Key())
		if err != nil {
			return nil, err
		}
		parts = append(parts, part)
		_, next := partitionRecordBounds(id, part)
		ok = it.SeekGE(next)
	}
	return parts, it.Error()
}

// compactPartition adds to b the deletes that compact [0, end) of one
// partition, and returns how many records they remove.
func (l *Log) compactPartition(ctx context.Context, b *pebble.Batch, id uint64, part int32, end int64) (int, error) {
	lo := recordKey(id, part, 0)
	hi := recordKey(id, part, end)
	// Pass 1: the latest offset of each key, and whether it is a tombstone.
	type last struct {
		off       int64
		tombstone bool
	}
	latest := make(map[string]last)
	err := l.scan(lo, hi, func(off int64, r *log.Record) error {
		if r.Key != nil {
			latest[string(r.Key)] = last{off, r.Value == nil}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	// Pass 2: delete every keyed record that is not its key's latest, and
	// the latest when it is a tombstone.
	removed := 0
	err = l.scan(lo, hi, func(off int64, r *log.Record) error {
		if r.Key == nil {
			return nil
		}
		if lt := latest[string(r.Key)]; lt.off != off || lt.tombstone {
			removed++
			return b.Delete(recordKey(id, part, off), nil)
		}
		return nil
	})
	return removed, err
}

// scan decodes every record in [lo, hi) in key order.
func (l *Log) scan(lo, hi []byte, fn func(off int64, r *log.Record) error) error {
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	defer it.Close()
	var rec log.Record
	for it.First(); it.Valid(); it.Next() {
		off, err := recordKeyOffset(it.Key())
		if err != nil {
			return err
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		// The record aliases Pebble's buffer only until fn returns; fn
		// copies what it keeps (map keys are strings).
		if err := decodeRecord(v, &rec); err != nil {
			return fmt.Errorf("offset %d: %w", off, err)
		}
		if err := fn(off, &rec); err != nil {
			return err
		}
	}
	return it.Error()
}
