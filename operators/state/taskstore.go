package state

import (
	"context"
	"errors"
	"fmt"

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
	return scan(s.pending, s.prefix, start, end, fn)
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
	s.pending.Close()
	s.pending = nil
	s.m.release(s.spec.Name)
}

// renew replaces the pending batch by an empty one.
func (s *TaskStore) renew() {
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
