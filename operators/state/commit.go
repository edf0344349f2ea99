package state

import (
	"context"
	"encoding/binary"
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
		err := s.m.shared.CommitWithSize(ctx, txn, s.applyBytes(), s.applyPending)
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
	b := s.batch
	if b == nil {
		b = s.m.db.NewBatch()
		defer b.Close()
		err = s.applyPending(b)
	}
	if off, ok := past[s.spec.Changelog]; ok && len(recs) > 0 && err == nil {
		err = s.checkpointIn(b, off)
	}
	if err != nil {
		s.err = fmt.Errorf("%w: %q: local apply failed: %v", ErrNeedsRestore, s.spec.Name, err)
		return fmt.Errorf("state: commit %q: apply locally: %w", s.spec.Name, err)
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
	if err := b.Commit(mode); err != nil {
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

// applyPending writes the pending writes into b under the store's
// prefix, in key order: the memtable's inserter then starts each key's
// search where the last one's ended, where keys in the order they came
// were each a search from the top of its skip list.
func (s *TaskStore) applyPending(b *pebble.Batch) error {
	if s.batch != nil {
		return b.Apply(s.batch, nil)
	}
	p := s.pending
	for _, i := range p.inKeyOrder() {
		e := &p.ents[i]
		k := p.key(e)
		var err error
		if e.del {
			err = deleteIn(b, s.prefix, k)
		} else {
			err = setIn(b, s.prefix, k, p.value(e))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// applyBytes is what applyPending adds to a Pebble batch: each write's
// prefixed key, value, kind byte and two length varints (counted at their
// longest, so the batch never has to grow for them).
func (s *TaskStore) applyBytes() int {
	if s.batch != nil {
		return len(s.batch.Repr())
	}
	p := s.pending
	n := 0
	for i := range p.ents {
		e := &p.ents[i]
		n += 1 + 2*binary.MaxVarintLen32 + len(s.prefix) + int(e.klen) + int(e.vlen)
	}
	return n
}

// changelogRecords turns the pending writes into changelog records, one
// per key (its last write), in the order each key was first written. Keys
// and values are copied: the pending writes' memory is reused.
func (s *TaskStore) changelogRecords() ([]log.ProduceRecord, error) {
	if s.batch != nil {
		return s.batchChangelogRecords()
	}
	p := s.pending
	if p.empty() {
		return nil, nil
	}
	recs := make([]log.ProduceRecord, 0, len(p.ents))
	for i := range p.ents {
		e := &p.ents[i]
		var value []byte
		if !e.del {
			value = p.value(e)
		}
		recs = append(recs, s.changelogRecord(p.key(e), value, !e.del))
	}
	return recs, nil
}

// batchChangelogRecords is changelogRecords for writes in the indexed
// batch.
func (s *TaskStore) batchChangelogRecords() ([]log.ProduceRecord, error) {
	if s.batch.Empty() {
		return nil, nil
	}
	recs := make([]log.ProduceRecord, 0, s.batch.Count())
	index := make(map[string]int, s.batch.Count())
	r := s.batch.Reader()
	for {
		kind, k, v, ok, err := r.Next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		set := false
		switch kind {
		case pebble.InternalKeyKindSet:
			set = true
		case pebble.InternalKeyKindDelete, pebble.InternalKeyKindDeleteSized:
		default:
			return nil, fmt.Errorf("unexpected pending operation %v", kind)
		}
		userKey := k[len(s.prefix):]
		rec := s.changelogRecord(userKey, v, set)
		if i, ok := index[string(userKey)]; ok {
			recs[i].Value = rec.Value
			continue
		}
		index[string(userKey)] = len(recs)
		recs = append(recs, rec)
	}
	return recs, nil
}

// changelogRecord is the changelog record of a write of key: value when
// set, a tombstone otherwise; key and value are copied.
func (s *TaskStore) changelogRecord(key, value []byte, set bool) log.ProduceRecord {
	var v []byte
	if set {
		// Non-nil even when empty: nil would be a tombstone.
		v = append(make([]byte, 0, len(value)), value...)
	}
	return log.ProduceRecord{
		Topic: s.spec.Changelog.Topic,
		Record: log.Record{
			Key:       append([]byte(nil), key...),
			Value:     v,
			Partition: s.spec.Changelog.Partition,
		},
	}
}

// checkpointIn adds the store's checkpoint at offset to b, the batch that
// applies the writes it covers.
func (s *TaskStore) checkpointIn(b *pebble.Batch, offset int64) error {
	tp := s.spec.Changelog
	cp := checkpoint{Topic: tp.Topic, Partition: tp.Partition, TopicID: s.changelogID, Offset: offset}
	return b.Set(checkpointKey(s.spec.Name), cp.encode(), nil)
}
