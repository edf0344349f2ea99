package state

import (
	"context"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/runnel/runnel/log"
)

// Standby copies (changelog mode), Kafka Streams' standby tasks.
//
// A node that stands by for a task another node runs keeps the task's
// store warm: Follow catches the local copy up with the changelog (from
// its checkpoint when it has a usable one, as a restore does) and then
// tails the changelog, applying each committed batch of records with a
// checkpoint at the reader's position in the same Pebble batch. The
// reader is read_committed, so the copy holds only what the owner's
// transactions committed. When the task then arrives on this node, its
// Restore starts from the checkpoint Follow left and reads only what the
// owner committed since: the changelog's tail, not the whole of it.
//
// A standby never runs the task's processor and never writes the
// changelog; its task's store is used by Follow alone while it stands by
// (the caller stops Follow before it restores the store for the task).

// Follow keeps the store's local copy up with its changelog until ctx
// ends, when it returns nil; it returns an error if the changelog cannot
// be read (the caller may Follow again). The store is not usable by its
// task meanwhile nor afterwards: every other call returns ErrNeedsRestore
// until Restore, which reads only the tail since Follow's last batch.
// With a shared database (the embedded log) there is nothing to follow:
// it waits for ctx.
func (s *TaskStore) Follow(ctx context.Context) error {
	if s.err == ErrClosed {
		return ErrClosed
	}
	m := s.m
	if m.shared != nil {
		<-ctx.Done()
		return nil
	}
	s.renew()
	s.err = fmt.Errorf("%w: %q is a standby copy", ErrNeedsRestore, s.spec.Name)
	c, err := m.catchUp(ctx, s)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("state: standby %q: %w", s.spec.Name, err)
	}
	m.stats.standbys.Add(1)
	m.stats.standbyRecords.Add(int64(c.records))
	m.logger.Log(ctx, slogLevelFor(c.records), "state: standby caught up", "store", s.spec.Name, "records", c.records,
		"changelog", s.spec.Changelog.Topic, "partition", s.spec.Changelog.Partition, "from", c.from, "end", c.end,
		"checkpoint", c.fromCheckpoint, "elapsed", c.elapsed)
	n, err := s.tail(ctx, c.end)
	m.logger.Debug("state: standby stopped", "store", s.spec.Name, "tailed", n, "error", err)
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("state: standby %q: %w", s.spec.Name, err)
	}
	return nil
}

// tail applies the changelog from offset on, one reader batch at a time
// with its checkpoint, until ctx ends. It returns the records applied.
func (s *TaskStore) tail(ctx context.Context, offset int64) (int, error) {
	m, tp := s.m, s.spec.Changelog
	r, err := m.opts.Log.NewReader(ctx, tp, offset)
	if err != nil {
		return 0, fmt.Errorf("changelog %q partition %d: %w", tp.Topic, tp.Partition, err)
	}
	defer r.Close()
	n := 0
	for {
		recs, err := r.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return n, nil
			}
			return n, fmt.Errorf("changelog %q partition %d at %d: %w", tp.Topic, tp.Partition, r.Position(), err)
		}
		// One batch per Next: the records and the checkpoint past them
		// (past a transaction marker too), so that the copy and its
		// checkpoint never disagree. Next returns what one fetch brought,
		// which bounds the batch.
		b := m.db.NewBatch()
		for _, rec := range recs {
			if rec.Key == nil {
				continue
			}
			if err := restoreOne(b, s.prefix, rec); err != nil {
				b.Close()
				return n, err
			}
		}
		cp := checkpoint{Topic: tp.Topic, Partition: tp.Partition, TopicID: s.changelogID, Offset: r.Position()}
		if err := b.Set(checkpointKey(s.spec.Name), cp.encode(), nil); err != nil {
			b.Close()
			return n, err
		}
		// Synced at most every CheckpointSyncInterval, as a running
		// task's commits are: a crash loses the unsynced batches, whose
		// records the next restore reads again.
		mode := pebble.NoSync
		if iv := m.opts.CheckpointSyncInterval; iv > 0 {
			if now := time.Now(); now.Sub(s.synced) >= iv {
				mode, s.synced = pebble.Sync, now
			}
		}
		err = b.Commit(mode)
		b.Close()
		if err != nil {
			return n, fmt.Errorf("write standby state: %w", err)
		}
		n += len(recs)
		m.stats.standbyRecords.Add(int64(len(recs)))
	}
}

// Checkpoint returns the store's changelog partition and the offset its
// local copy has reached, its checkpoint: what a standby has applied, or
// a running task last committed. ok is false when there is none yet, or
// with a shared database (the embedded log), which has no changelog. It
// reads the database only, not the fields Follow and the task change, so
// any goroutine may call it (SHOW QUERIES EXTENDED does, for standbys).
func (s *TaskStore) Checkpoint() (changelog log.TopicPartition, offset int64, ok bool, err error) {
	changelog = s.spec.Changelog
	if s.m.shared != nil {
		return changelog, 0, false, nil
	}
	c, ok, err := s.m.readCheckpoint(s.spec.Name)
	if err != nil || !ok || c.Topic != changelog.Topic || c.Partition != changelog.Partition {
		return changelog, 0, false, err
	}
	return changelog, c.Offset, true, nil
}
