package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// TaskStore is one task's store: a Store whose writes are pending, visible
// to its own reads only, until Commit makes them durable together with the
// task's records and offsets. It is used by its task's goroutine only;
// concurrent readers use Manager.Reader.
type TaskStore struct {
	m      *Manager
	spec   Spec
	prefix []byte
	// pending holds the writes since the last Commit or Abort, under their
	// full keys. It is indexed, so Get and Scan merge it with the database.
	pending *pebble.Batch
	// err, once set, is returned by every later call: ErrClosed after
	// Close, ErrNeedsRestore after a failed changelog commit.
	err error
	// kbuf is reused for the full key of Get and Delete.
	kbuf []byte
	// it is Scan's iterator over pending, kept from one Scan to the next
	// until the pending writes are committed or dropped: a new iterator
	// per Scan opened each level's table again and read its index block
	// (in Nexmark's q4 and q20, stream-stream joins that scan the other
	// side for every record, a third of the CPU went to opening them).
	// Repositioned with new bounds, it keeps the tables it has open when
	// the next scan falls in them, and SetOptions refreshes its view of
	// pending. scanning is set while a Scan uses it, so that a Scan from
	// inside another's fn gets an iterator of its own.
	it       *pebble.Iterator
	scanning bool
	// changelogID is the changelog topic's id as the last restore saw
	// it, which the commits' checkpoints carry (changelog mode).
	changelogID [16]byte
	// synced is when a commit last applied locally with a synced write
	// (changelog mode, CheckpointSyncInterval); a restore sets it too.
	synced time.Time
}

var _ Store = (*TaskStore)(nil)

// Name is the store's name (Spec.Name).
func (s *TaskStore) Name() string { return s.spec.Name }

// key returns prefix+key in s.kbuf, valid until the next call.
func (s *TaskStore) key(key []byte) []byte {
	s.kbuf = append(append(s.kbuf[:0], s.prefix...), key...)
	return s.kbuf
}

// Get implements Store.
func (s *TaskStore) Get(key []byte) ([]byte, bool, error) {
	if s.err != nil {
		return nil, false, s.err
	}
	return get(s.pending, s.key(key))
}

// Put implements Store.
func (s *TaskStore) Put(key, value []byte) error {
	if s.err != nil {
		return s.err
	}
	// Deferred ops write the prefixed key straight into the batch, sparing
	// an allocation per write.
	op := s.pending.SetDeferred(len(s.prefix)+len(key), len(value))
	n := copy(op.Key, s.prefix)
	copy(op.Key[n:], key)
	copy(op.Value, value)
	if err := op.Finish(); err != nil {
		return fmt.Errorf("state: put in %q: %w", s.spec.Name, err)
	}
	return nil
}

// Delete implements Store.
func (s *TaskStore) Delete(key []byte) error {
	if s.err != nil {
		return s.err
	}
	op := s.pending.DeleteDeferred(len(s.prefix) + len(key))
	n := copy(op.Key, s.prefix)
	copy(op.Key[n:], key)
	if err := op.Finish(); err != nil {
		return fmt.Errorf("state: delete in %q: %w", s.spec.Name, err)
	}
	return nil
}

// Scan implements Store. Writes that fn makes during the Scan are not seen
// by it: the iteration reads the pending writes as of its start.
func (s *TaskStore) Scan(start, end []byte, fn func(key, value []byte) bool) error {
	if s.err != nil {
		return s.err
	}
	if s.scanning {
		return scan(s.pending, s.prefix, start, end, fn)
	}
	// Fresh bounds each time: the iterator may compare them with the
	// previous ones until the next SetOptions.
	lo, hi := bounds(s.prefix, start, end)
	o := &pebble.IterOptions{LowerBound: lo, UpperBound: hi}
	if s.it == nil {
		it, err := s.pending.NewIter(o)
		if err != nil {
			return fmt.Errorf("state: scan: %w", err)
		}
		s.it = it
	} else {
		s.it.SetOptions(o)
	}
	s.scanning = true
	defer func() { s.scanning = false }() // fn may panic; its task recovers
	err := iterate(s.it, s.prefix, fn)
	if err != nil {
		// An iterator that failed is not trusted again.
		s.closeIter()
	}
	return err
}

// closeIter closes Scan's iterator, before the pending batch it reads is
// committed, dropped or replaced.
func (s *TaskStore) closeIter() {
	if s.it != nil {
		_ = s.it.Close()
		s.it = nil
	}
}

// Pending is the number of writes waiting for Commit.
func (s *TaskStore) Pending() int {
	if s.pending == nil {
		return 0
	}
	return int(s.pending.Count())
}

// PendingBytes is the encoded size of the writes waiting for Commit, a
// measure for deciding when to commit.
func (s *TaskStore) PendingBytes() int {
	if s.pending == nil {
		return 0
	}
	return s.pending.Len()
}

// Abort drops the pending writes.
func (s *TaskStore) Abort() {
	if s.err == ErrClosed {
		return
	}
	s.renew()
}

// Close drops the pending writes and releases the store, so it can be
// opened again. Later calls return ErrClosed. Close is idempotent.
func (s *TaskStore) Close() {
	if s.err == ErrClosed {
		return
	}
	s.err = ErrClosed
	s.closeIter()
	s.pending.Close()
	s.pending = nil
	s.m.release(s.spec.Name)
}

// renew replaces the pending batch by an empty one.
func (s *TaskStore) renew() {
	s.closeIter()
	s.pending.Close()
	s.pending = s.m.db.NewIndexedBatch()
}

// Recover brings the store back to its last committed state after a
// failed commit, so that its task can retry from its committed offsets:
// the pending writes are dropped and, where a failed changelog commit left
// the local copy in doubt (ErrNeedsRestore), it is restored from the
// changelog again. A closed store does not recover.
func (s *TaskStore) Recover(ctx context.Context) error {
	if s.err == ErrClosed {
		return ErrClosed
	}
	s.renew()
	if errors.Is(s.err, ErrNeedsRestore) {
		if err := s.m.restore(ctx, s); err != nil {
			return fmt.Errorf("state: recover %q: %w", s.spec.Name, err)
		}
	}
	s.err = nil
	return nil
}

// Restore brings the store up to its changelog's committed end, dropping
// pending writes: what a task arriving on this node from another (a
// cluster rebalance) needs before it runs, since the other node has
// committed state the local copy never saw. With a shared database (the
// embedded log) the local copy is the committed state and only the
// pending writes are dropped. A closed store does not restore.
func (s *TaskStore) Restore(ctx context.Context) error {
	if s.err == ErrClosed {
		return ErrClosed
	}
	s.renew()
	if s.m.shared == nil {
		if err := s.m.restore(ctx, s); err != nil {
			s.err = ErrNeedsRestore
			return fmt.Errorf("state: restore %q: %w", s.spec.Name, err)
		}
	}
	s.err = nil
	return nil
}
