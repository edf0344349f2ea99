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
// synced batches of about compactBatchBytes; surviving records keep their
// offsets, and end offsets do not move. A crash between two batches
// leaves some records that the next compaction removes, as Kafka's
// compaction may; never a record the log did not have. Records with a nil key are kept (a
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
	w := &compactWriter{l: l, b: l.db.NewBatch()}
	defer func() { w.b.Close() }()
	removed := 0
	for _, part := range parts {
		p, err := l.partition(t, part)
		if err != nil {
			return fmt.Errorf("compact %q: %w", name, err)
		}
		end := p.visible()
		// The floor keeps the end offset where it is even if the last
		// record goes. It goes first, so that it commits with or before
		// every batch that removes a record of the partition.
		_ = w.b.Set(endFloorKey(t.id, part), binary.BigEndian.AppendUint64(nil, uint64(end)), nil)
		n, err := l.compactPartition(ctx, w, t.id, part, end)
		if err != nil {
			return fmt.Errorf("compact %s/%d: %w", name, part, err)
		}
		removed += n
	}
	if err := w.commit(); err != nil {
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

// compactPartition adds to b the writes that compact [0, end) of one
// partition, and returns how many records they remove. A single record's
// key is deleted; a batch loses its removed records by being written again
// without them (under its key, whose base stays), or deleted when none is
// left. The batch b then holds the surviving records of every batch that
// lost some until w commits them, at about compactBatchBytes.
func (l *Log) compactPartition(ctx context.Context, w *compactWriter, id uint64, part int32, end int64) (int, error) {
	lo := recordKey(id, part, 0)
	hi := recordKey(id, part, end)
	// Pass 1: the latest offset of each key, and whether it is a tombstone.
	type last struct {
		off       int64
		tombstone bool
	}
	latest := make(map[string]last)
	err := l.scan(lo, hi, func(_ []byte, kr *keyRecords) error {
		var rec log.Record
		for {
			off, v, more := kr.next()
			if !more {
				return kr.err
			}
			// The record aliases Pebble's buffer only until fn returns;
			// the map keeps a copy (a string).
			if err := decodeRecord(v, &rec); err != nil {
				return fmt.Errorf("offset %d: %w", off, err)
			}
			if rec.Key != nil {
				latest[string(rec.Key)] = last{off, rec.Value == nil}
			}
		}
	})
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	// Pass 2: remove every keyed record that is not its key's latest, and
	// the latest when it is a tombstone.
	removed := 0
	var kept, packed []byte
	err = l.scan(lo, hi, func(k []byte, kr *keyRecords) error {
		var rec log.Record
		kept = kept[:0]
		n, dropped := 0, 0
		for {
			off, v, more := kr.next()
			if !more {
				break
			}
			n++
			if err := decodeRecord(v, &rec); err != nil {
				return fmt.Errorf("offset %d: %w", off, err)
			}
			if rec.Key != nil {
				if lt := latest[string(rec.Key)]; lt.off != off || lt.tombstone {
					dropped++
					continue
				}
			}
			kept = appendBatchEntryHeader(kept, off-kr.base, len(v))
			kept = append(kept, v...)
		}
		if kr.err != nil {
			return kr.err
		}
		removed += dropped
		var err error
		switch {
		case dropped == 0:
			return nil
		case dropped == n:
			err = w.b.Delete(k, nil)
		default:
			// Only a batch holds more than one record. What it keeps
			// is packed again as a write packs it (packBatch), else a
			// compacted table's batches would go back to Pebble's
			// compression, twice their packed size in the write-ahead
			// log and the memtable.
			v := kept
			if p, ok := packBatch(packed[:0], kept); ok {
				v, packed = p, p
			}
			err = w.b.Set(k, v, nil)
		}
		if err != nil {
			return err
		}
		return w.maybeCommit()
	})
	return removed, err
}

// compactBatchBytes is about the most a compaction holds in one Pebble
// batch before committing it: rewritten batches hold the records they
// keep, and one batch for a whole topic would hold as much as its live
// records.
const compactBatchBytes = 4 << 20

// compactWriter is the Pebble batch a compaction fills, committed (as a
// system write) whenever it reaches compactBatchBytes.
type compactWriter struct {
	l *Log
	b *pebble.Batch
}

// maybeCommit commits the batch and starts another once it is full. It is
// called between keys, never while an iterator's key is still to be
// written.
func (w *compactWriter) maybeCommit() error {
	if w.b.Len() < compactBatchBytes {
		return nil
	}
	return w.commit()
}

// commit commits the batch and starts another.
func (w *compactWriter) commit() error {
	if err := w.l.commit(w.b, classSystem); err != nil {
		return err
	}
	_ = w.b.Close()
	w.b = w.l.db.NewBatch()
	return nil
}

// scan walks every key in [lo, hi) of the records' range in key order.
// The key and the records fn is given alias Pebble's buffers until fn
// returns.
func (l *Log) scan(lo, hi []byte, fn func(k []byte, kr *keyRecords) error) error {
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		kr, err := newKeyRecords(it.Key(), v)
		if err != nil {
			return err
		}
		if err := fn(it.Key(), &kr); err != nil {
			return err
		}
	}
	return it.Error()
}
