package state

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/runnel/runnel/log"
)

// restore brings the local copy of s up to the end offset its changelog
// partition has when the restore begins. From the store's checkpoint when
// it has a usable one (checkpoint.go): only the changelog's tail since is
// read and applied over the local copy. Otherwise the local copy is
// deleted and the whole partition read. The local database is written
// without sync: an interrupted restore is simply done again by the next
// one, from the checkpoint that the interrupted one left in place (it
// writes the new one with its last batch, synced) or from the start.
func (m *Manager) restore(ctx context.Context, s *TaskStore) error {
	c, err := m.catchUp(ctx, s)
	if err != nil {
		return err
	}
	m.stats.restores.Add(1)
	m.stats.records.Add(int64(c.records))
	if c.fromCheckpoint {
		m.stats.fromCheckpoint.Add(1)
	}
	lvl := slogLevelFor(c.records)
	m.logger.Log(ctx, lvl, "state: restored", "store", s.spec.Name, "records", c.records,
		"changelog", s.spec.Changelog.Topic, "partition", s.spec.Changelog.Partition, "from", c.from, "end", c.end,
		"checkpoint", c.fromCheckpoint, "elapsed", c.elapsed)
	return nil
}

// caughtUp is what one catchUp did.
type caughtUp struct {
	// records is how many changelog records it applied, from its first
	// offset read to end (the changelog's end when it began).
	records        int
	from, end      int64
	fromCheckpoint bool
	elapsed        time.Duration
}

// catchUp is restore without its counting and its final log line, which
// differ between a task's restore and a standby's catch-up (standby.go).
func (m *Manager) catchUp(ctx context.Context, s *TaskStore) (caughtUp, error) {
	tp := s.spec.Changelog
	starts, err := m.opts.Log.StartOffsets(ctx, tp.Topic)
	if err != nil {
		return caughtUp{}, fmt.Errorf("changelog %q: %w", tp.Topic, err)
	}
	ends, err := m.opts.Log.EndOffsets(ctx, tp.Topic)
	if err != nil {
		return caughtUp{}, fmt.Errorf("changelog %q: %w", tp.Topic, err)
	}
	if tp.Partition < 0 || int(tp.Partition) >= len(starts) || int(tp.Partition) >= len(ends) {
		return caughtUp{}, fmt.Errorf("changelog %q partition %d: %w", tp.Topic, tp.Partition, log.ErrUnknownPartition)
	}
	start, end := starts[tp.Partition], ends[tp.Partition]
	id, err := m.topicID(ctx, tp.Topic)
	if err != nil {
		return caughtUp{}, fmt.Errorf("changelog %q: %w", tp.Topic, err)
	}
	// Commits checkpoint with the id the restore saw: should the topic be
	// deleted and created again while the store is open, their
	// checkpoints carry the old id, which the next restore refuses (it
	// wipes: the safe side).
	s.changelogID = id

	began := time.Now()
	b := m.db.NewBatch()
	defer func() { b.Close() }()
	from := start
	cp, ok, err := m.readCheckpoint(s.spec.Name)
	if err != nil {
		return caughtUp{}, err
	}
	fromCheckpoint := false
	if ok {
		if why := cp.usable(tp, id, start, end); why != "" {
			m.logger.Info("state: checkpoint not used; restoring the whole changelog", "store", s.spec.Name,
				"reason", why, "checkpoint", cp.Offset, "start", start, "end", end)
		} else {
			from, fromCheckpoint = cp.Offset, true
		}
	}
	if !fromCheckpoint {
		// The wipe and the checkpoint's removal go in the restore's first
		// batch: a crash after it leaves no checkpoint over a partial copy.
		if err := b.DeleteRange(s.prefix, PrefixEnd(s.prefix), nil); err != nil {
			return caughtUp{}, err
		}
		if err := b.Delete(checkpointKey(s.spec.Name), nil); err != nil {
			return caughtUp{}, err
		}
	}
	n, skipped := 0, 0
	if from < end {
		r, err := m.opts.Log.NewReader(ctx, tp, from)
		if err != nil {
			return caughtUp{}, fmt.Errorf("changelog %q partition %d: %w", tp.Topic, tp.Partition, err)
		}
		defer r.Close()
		// Stop on Position, not on the last record's offset: the end may
		// follow a transaction marker, which no record ever reaches.
		for r.Position() < end {
			recs, err := r.Next(ctx)
			if err != nil {
				return caughtUp{}, fmt.Errorf("changelog %q partition %d at %d: %w", tp.Topic, tp.Partition, r.Position(), err)
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
					return caughtUp{}, err
				}
				n++
				if n%m.opts.RestoreProgressEvery == 0 {
					m.logger.Info("state: restoring", "store", s.spec.Name, "records", n,
						"offset", rec.Offset, "end", end)
				}
			}
			if b.Len() >= m.opts.RestoreBatchBytes {
				if err := b.Commit(pebble.NoSync); err != nil {
					return caughtUp{}, fmt.Errorf("write restored state: %w", err)
				}
				b.Close()
				b = m.db.NewBatch()
			}
		}
	}
	done := checkpoint{Topic: tp.Topic, Partition: tp.Partition, TopicID: id, Offset: end}
	if err := b.Set(checkpointKey(s.spec.Name), done.encode(), nil); err != nil {
		return caughtUp{}, err
	}
	// Synced, with the earlier batches before it: the restore is not
	// done again after a crash (Pebble keeps unsynced writes in memory).
	if err := b.Commit(pebble.Sync); err != nil {
		return caughtUp{}, fmt.Errorf("write restored state: %w", err)
	}
	s.synced = time.Now()
	if skipped > 0 {
		m.logger.Warn("state: changelog records without a key skipped", "store", s.spec.Name, "records", skipped)
	}
	return caughtUp{records: n, from: from, end: end, fromCheckpoint: fromCheckpoint, elapsed: time.Since(began)}, nil
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
