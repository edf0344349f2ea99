package state

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/runnel/runnel/log"
)

// Commit commits txn and the pending writes atomically, then starts a new,
// empty set of pending writes, whether it succeeded or not: after a failed
// commit the task must go back to its committed input offsets anyway, and
// the writes it made since are lost with its records.
//
// With the embedded log, txn and the writes are one synced Pebble batch
// (CommitWith); a failed commit wrote nothing and the store stays usable.
//
// With Kafka, every pending write becomes a record of Spec.Changelog (the
// user key, and the value or nil for a delete; only the last write of each
// key) appended to txn.Records, and the writes are applied to the local
// database only once the transaction has committed. If the commit fails,
// the store returns ErrNeedsRestore until it is closed and opened again:
// a failed transaction may be ambiguous (the broker may have committed it)
// or may have committed before the local apply failed, and only a restore
// from the changelog is sure to agree with what Kafka holds.
//
// txn.Records is not modified.
func (s *TaskStore) Commit(ctx context.Context, txn log.Txn) error {
	if s.err != nil {
		return s.err
	}
	defer s.renewIfOpen()
	s.closeIter()
	if s.m.shared != nil {
		err := s.m.shared.CommitWith(ctx, txn, func(b *pebble.Batch) error {
			return b.Apply(s.pending, nil)
		})
		if err != nil {
			return fmt.Errorf("state: commit %q: %w", s.spec.Name, err)
		}
		return nil
	}

	recs, err := s.changelogRecords()
	if err != nil {
		return fmt.Errorf("state: commit %q: %w", s.spec.Name, err)
	}
	txn.Records = append(slices.Clip(txn.Records), recs...)
	var past map[log.TopicPartition]int64
	if rc, ok := s.m.opts.Log.(reportingCommitter); ok {
		past, err = rc.CommitReporting(ctx, txn)
	} else {
		err = s.m.opts.Log.Commit(ctx, txn)
	}
	if err != nil {
		s.err = fmt.Errorf("%w: %q: commit failed: %v", ErrNeedsRestore, s.spec.Name, err)
		return fmt.Errorf("state: commit %q: %w", s.spec.Name, err)
	}
	// The checkpoint moves with the writes it covers, in their batch:
	// everything before the offset past this commit's last changelog
	// record is now in the local copy (the restore's records, then every
	// commit since, this task being the partition's only writer while it
	// runs; a node the group has moved on from fails to commit).
	if off, ok := past[s.spec.Changelog]; ok && len(recs) > 0 {
		if err := s.checkpointPending(off); err != nil {
			s.err = fmt.Errorf("%w: %q: local checkpoint failed: %v", ErrNeedsRestore, s.spec.Name, err)
			return fmt.Errorf("state: commit %q: checkpoint locally: %w", s.spec.Name, err)
		}
	}
	// A crash may lose the last local applies: the checkpoint written
	// with them is lost too, and the next restore replays them from the
	// changelog. So the local copy needs no sync of its own, except now
	// and then, so that a crash does not take every apply since the last
	// restore with it (CheckpointSyncInterval).
	mode := pebble.NoSync
	if iv := s.m.opts.CheckpointSyncInterval; iv > 0 && len(recs) > 0 {
		if now := time.Now(); now.Sub(s.synced) >= iv {
			mode, s.synced = pebble.Sync, now
		}
	}
	if err := s.pending.Commit(mode); err != nil {
		s.err = fmt.Errorf("%w: %q: local apply failed: %v", ErrNeedsRestore, s.spec.Name, err)
		return fmt.Errorf("state: commit %q: apply locally: %w", s.spec.Name, err)
	}
	return nil
}

// renewIfOpen starts a new pending batch unless the store is closed.
func (s *TaskStore) renewIfOpen() {
	if s.pending != nil {
		s.renew()
	}
}

// changelogRecords turns the pending writes into changelog records, one
// per key, in the order each key was first written. Keys and values are
// copied: the batch's memory is reused once it is closed.
func (s *TaskStore) changelogRecords() ([]log.ProduceRecord, error) {
	if s.pending.Empty() {
		return nil, nil
	}
	recs := make([]log.ProduceRecord, 0, s.pending.Count())
	index := make(map[string]int, s.pending.Count())
	r := s.pending.Reader()
	for {
		kind, k, v, ok, err := r.Next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		var value []byte
		switch kind {
		case pebble.InternalKeyKindSet:
			// Non-nil even when empty: nil would be a tombstone.
			value = append(make([]byte, 0, len(v)), v...)
		case pebble.InternalKeyKindDelete, pebble.InternalKeyKindDeleteSized:
		default:
			return nil, fmt.Errorf("unexpected pending operation %v", kind)
		}
		userKey := k[len(s.prefix):]
		if i, ok := index[string(userKey)]; ok {
			recs[i].Value = value
			continue
		}
		index[string(userKey)] = len(recs)
		recs = append(recs, log.ProduceRecord{
			Topic: s.spec.Changelog.Topic,
			Record: log.Record{
				Key:       append([]byte(nil), userKey...),
				Value:     value,
				Partition: s.spec.Changelog.Partition,
			},
		})
	}
	return recs, nil
}

// checkpointPending adds the store's checkpoint at offset to the pending
// batch, after the changelog records were made from it.
func (s *TaskStore) checkpointPending(offset int64) error {
	tp := s.spec.Changelog
	cp := checkpoint{Topic: tp.Topic, Partition: tp.Partition, TopicID: s.changelogID, Offset: offset}
	return s.pending.Set(checkpointKey(s.spec.Name), cp.encode(), nil)
}
