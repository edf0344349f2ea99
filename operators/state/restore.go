package state

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/runnel/runnel/log"
)

// restore replaces the local copy of s by the content of its changelog
// partition, read from its start to the end offset it has when the restore
// begins. The local database is written without sync: an interrupted
// restore is simply done again by the next Open, which starts by deleting
// whatever is there.
func (m *Manager) restore(ctx context.Context, s *TaskStore) error {
	tp := s.spec.Changelog
	starts, err := m.opts.Log.StartOffsets(ctx, tp.Topic)
	if err != nil {
		return fmt.Errorf("changelog %q: %w", tp.Topic, err)
	}
	ends, err := m.opts.Log.EndOffsets(ctx, tp.Topic)
	if err != nil {
		return fmt.Errorf("changelog %q: %w", tp.Topic, err)
	}
	if tp.Partition < 0 || int(tp.Partition) >= len(starts) || int(tp.Partition) >= len(ends) {
		return fmt.Errorf("changelog %q partition %d: %w", tp.Topic, tp.Partition, log.ErrUnknownPartition)
	}
	start, end := starts[tp.Partition], ends[tp.Partition]

	began := time.Now()
	b := m.db.NewBatch()
	defer func() { b.Close() }()
	if err := b.DeleteRange(s.prefix, PrefixEnd(s.prefix), nil); err != nil {
		return err
	}
	n, skipped := 0, 0
	if start < end {
		r, err := m.opts.Log.NewReader(ctx, tp, start)
		if err != nil {
			return fmt.Errorf("changelog %q partition %d: %w", tp.Topic, tp.Partition, err)
		}
		defer r.Close()
		// Stop on Position, not on the last record's offset: the end may
		// follow a transaction marker, which no record ever reaches.
		for r.Position() < end {
			recs, err := r.Next(ctx)
			if err != nil {
				return fmt.Errorf("changelog %q partition %d at %d: %w", tp.Topic, tp.Partition, r.Position(), err)
			}
			for _, rec := range recs {
				if rec.Offset >= end {
					break
				}
				if rec.Key == nil {
					skipped++
					continue
				}
				if err := restoreOne(b, s.prefix, rec); err != nil {
					return err
				}
				n++
				if n%m.opts.RestoreProgressEvery == 0 {
					m.logger.Info("state: restoring", "store", s.spec.Name, "records", n,
						"offset", rec.Offset, "end", end)
				}
			}
			if b.Len() >= m.opts.RestoreBatchBytes {
				if err := b.Commit(pebble.NoSync); err != nil {
					return fmt.Errorf("write restored state: %w", err)
				}
				b.Close()
				b = m.db.NewBatch()
			}
		}
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("write restored state: %w", err)
	}
	if skipped > 0 {
		m.logger.Warn("state: changelog records without a key skipped", "store", s.spec.Name, "records", skipped)
	}
	lvl := slogLevelFor(n)
	m.logger.Log(ctx, lvl, "state: restored", "store", s.spec.Name, "records", n,
		"changelog", tp.Topic, "partition", tp.Partition, "elapsed", time.Since(began))
	return nil
}

// restoreOne adds one changelog record to b: a tombstone deletes its key.
func restoreOne(b *pebble.Batch, prefix []byte, rec log.Record) error {
	if rec.Value == nil {
		return b.Delete(keyIn(prefix, rec.Key), nil)
	}
	return b.Set(keyIn(prefix, rec.Key), rec.Value, nil)
}

// slogLevelFor logs restores that did something at Info, empty ones (a
// new store) at Debug, so that starting many new tasks is quiet.
func slogLevelFor(records int) slog.Level {
	if records > 0 {
		return slog.LevelInfo
	}
	return slog.LevelDebug
}
