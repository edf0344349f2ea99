package state

import (
	"bytes"
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
	// The writes since the last Commit or Abort are in one of two places.
	// A store that seldom Scans while it has writes pending (most of
	// them: the joins and aggregations read through caches of their own)
	// keeps them in pending, one entry per key, which Get reads before
	// the database, a Scan sorts and merges with it, and Commit applies
	// in key order. A store that scans after its writes more than
	// maxSortsPerCommit times in a commit keeps them in batch, an indexed
	// Pebble batch, whose iterators merge them with the database in key
	// order: that Scan moves them there (in the order each key was first
	// written, so the changelog's records come in the same order either
	// way), and the store starts its next commit indexed. batch is nil
	// when pending is in use; pending is nil only after Close.
	pending *pendingWrites
	batch   *pebble.Batch
	// wrote is set by a write and cleared by a Scan; dirtyScans counts
	// the Scans since the last Commit or Abort that came after a write.
	// Unindexed, each of those sorts the pending writes again: past
	// maxSortsPerCommit of them the writes move to an indexed batch, and
	// a commit that had more starts the next one indexed.
	wrote      bool
	dirtyScans int
	// scanBuf is reused for the pending entries of a Scan (not a nested
	// one, which has its own).
	scanBuf []pendingEntry
	// writes counts the Puts and Deletes since the last Commit or Abort,
	// overwritten ones too (Pending); size is about the bytes they take
	// in a Pebble batch (PendingBytes).
	writes, size int
	// err, once set, is returned by every later call: ErrClosed after
	// Close, ErrNeedsRestore after a failed changelog commit.
	err error
	// kbuf is reused for the full key of Get.
	kbuf []byte
	// it is Scan's iterator, over batch (itBatch) or the database (nil),
	// kept from one Scan to the next until the pending writes are
	// committed or dropped: a new iterator per Scan opened each level's
	// table again and read its index block (in Nexmark's q4 and q20,
	// stream-stream joins that scan the other side for every record, a
	// third of the CPU went to opening them). Repositioned with new
	// bounds, it keeps the tables it has open when the next scan falls in
	// them, and SetOptions refreshes its view of the batch. scanning is
	// set while a Scan uses it, so that a Scan from inside another's fn
	// gets an iterator of its own.
	it       *pebble.Iterator
	itBatch  *pebble.Batch
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
	if s.batch != nil {
		return get(s.batch, s.key(key))
	}
	if v, del, ok := s.pending.get(key); ok {
		if del {
			return nil, false, nil
		}
		return append(make([]byte, 0, len(v)), v...), true, nil
	}
	return get(s.m.db, s.key(key))
}

// Put implements Store.
func (s *TaskStore) Put(key, value []byte) error {
	if s.err != nil {
		return s.err
	}
	s.count(key, value)
	s.wrote = true
	if s.batch == nil {
		s.pending.set(key, value, false)
		return nil
	}
	if err := setIn(s.batch, s.prefix, key, value); err != nil {
		return fmt.Errorf("state: put in %q: %w", s.spec.Name, err)
	}
	return nil
}

// Delete implements Store.
func (s *TaskStore) Delete(key []byte) error {
	if s.err != nil {
		return s.err
	}
	s.count(key, nil)
	s.wrote = true
	if s.batch == nil {
		s.pending.set(key, nil, true)
		return nil
	}
	if err := deleteIn(s.batch, s.prefix, key); err != nil {
		return fmt.Errorf("state: delete in %q: %w", s.spec.Name, err)
	}
	return nil
}

// maxSortsPerCommit is how many Scans over new writes a store makes in one
// commit before its pending writes move to an indexed batch: a store that
// scans now and then (a stream-stream join's expiry, reading its time
// index ahead) sorts them each time, one that scans after nearly every
// write (a foreign-key join's index, sessions) gets the batch's skip
// list, which keeps them sorted as they come.
const maxSortsPerCommit = 2

// count adds a write to Pending and PendingBytes.
func (s *TaskStore) count(key, value []byte) {
	s.writes++
	s.size += batchEntryOverhead + len(key) + len(value)
}

// setIn writes prefix+key: value into b. Deferred ops write the prefixed
// key straight into the batch, sparing an allocation per write.
func setIn(b *pebble.Batch, prefix, key, value []byte) error {
	op := b.SetDeferred(len(prefix)+len(key), len(value))
	n := copy(op.Key, prefix)
	copy(op.Key[n:], key)
	copy(op.Value, value)
	return op.Finish()
}

// deleteIn deletes prefix+key in b.
func deleteIn(b *pebble.Batch, prefix, key []byte) error {
	op := b.DeleteDeferred(len(prefix) + len(key))
	n := copy(op.Key, prefix)
	copy(op.Key[n:], key)
	return op.Finish()
}

// index moves the pending writes into an indexed batch, which Scan can
// merge with the database. They go in the order each key was first
// written, as they would have had they been written there. The pending
// writes' memory is let go rather than reused: a Scan that called index
// from its fn may still be reading it.
func (s *TaskStore) index() error {
	b := s.m.db.NewIndexedBatch()
	p := s.pending
	for i := range p.ents {
		e := &p.ents[i]
		var err error
		if e.del {
			err = deleteIn(b, s.prefix, p.key(e))
		} else {
			err = setIn(b, s.prefix, p.key(e), p.value(e))
		}
		if err != nil {
			b.Close()
			return fmt.Errorf("state: index pending writes of %q: %w", s.spec.Name, err)
		}
	}
	p.drop()
	s.batch = b
	return nil
}

// Scan implements Store. Writes that fn makes during the Scan are not seen
// by it: the iteration reads the pending writes as of its start.
func (s *TaskStore) Scan(start, end []byte, fn func(key, value []byte) bool) (err error) {
	if s.err != nil {
		return s.err
	}
	if s.wrote {
		// A scan over writes made since the last one: unindexed, it
		// sorts the pending writes again.
		s.wrote = false
		s.dirtyScans++
		if s.batch == nil && s.dirtyScans > maxSortsPerCommit {
			if err := s.index(); err != nil {
				return err
			}
		}
	}
	// The scan reads the database (through the indexed batch when there
	// is one) merged with ents, the pending writes in range, copied, and
	// the arena as it is now: fn's writes append to the arena and never
	// change the bytes these entries point at.
	var src iterable = s.m.db
	if s.batch != nil {
		src = s.batch
	}
	ar := s.pending.arena
	// Fresh bounds each time: the iterator may compare them with the
	// previous ones until the next SetOptions.
	lo, hi := bounds(s.prefix, start, end)
	o := &pebble.IterOptions{LowerBound: lo, UpperBound: hi}
	if s.scanning {
		ents := s.pending.rangeOf(nil, start, end)
		it, err := src.NewIter(o)
		if err != nil {
			return fmt.Errorf("state: scan: %w", err)
		}
		defer func() {
			if cerr := it.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("state: scan: %w", cerr)
			}
		}()
		return merge(it, s.prefix, ents, &ar, fn)
	}
	s.scanBuf = s.pending.rangeOf(s.scanBuf[:0], start, end)
	if s.it != nil && s.itBatch != s.batch {
		// A nested Scan moved the writes into a batch while this
		// iterator, over the database alone, was in use.
		s.closeIter()
	}
	if s.it == nil {
		it, err := src.NewIter(o)
		if err != nil {
			return fmt.Errorf("state: scan: %w", err)
		}
		s.it, s.itBatch = it, s.batch
	} else {
		s.it.SetOptions(o)
	}
	s.scanning = true
	defer func() { s.scanning = false }() // fn may panic; its task recovers
	err = merge(s.it, s.prefix, s.scanBuf, &ar, fn)
	if err != nil {
		// An iterator that failed is not trusted again.
		s.closeIter()
	}
	return err
}

// merge runs fn over the union of it's keys (under prefix) and the
// pending entries ents (sorted, within it's bounds, their bytes in
// arena), in key order, a pending entry hiding the key it writes (and a
// pending delete showing nothing), until fn returns false.
func merge(it *pebble.Iterator, prefix []byte, ents []pendingEntry, arena *arena, fn func(key, value []byte) bool) error {
	valid := it.First()
	for i := 0; valid || i < len(ents); {
		// c < 0: the pending entry comes first; c > 0: the iterator's
		// key does; c == 0: the same key, whose pending write wins.
		var pk []byte
		c := 1
		if i < len(ents) {
			e := &ents[i]
			pk = arena.bytes(e.koff, e.klen)
			c = -1
			if valid {
				c = bytes.Compare(pk, it.Key()[len(prefix):])
			}
		}
		if c <= 0 {
			e := &ents[i]
			i++
			if c == 0 {
				valid = it.Next()
			}
			if e.del {
				continue
			}
			if !fn(pk, arena.bytes(e.voff, e.vlen)) {
				return nil
			}
			continue
		}
		v, verr := it.ValueAndErr()
		if verr != nil {
			return fmt.Errorf("state: scan: %w", verr)
		}
		if !fn(it.Key()[len(prefix):], v) {
			return nil
		}
		valid = it.Next()
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("state: scan: %w", err)
	}
	return nil
}

// closeIter closes Scan's iterator, before the pending batch it reads is
// committed, dropped or replaced.
func (s *TaskStore) closeIter() {
	if s.it != nil {
		_ = s.it.Close()
		s.it, s.itBatch = nil, nil
	}
}

// Pending is the number of writes waiting for Commit.
func (s *TaskStore) Pending() int {
	if s.pending == nil {
		return 0
	}
	return s.writes
}

// PendingBytes is about the encoded size of the writes waiting for Commit
// (each write counted, overwritten ones too, as in a Pebble batch), a
// measure for deciding when to commit.
func (s *TaskStore) PendingBytes() int {
	if s.pending == nil {
		return 0
	}
	return s.size
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
	s.dropBatch()
	s.pending = nil
	s.m.release(s.spec.Name)
}

// renew drops the pending writes, and Scan's iterator, whose view of
// the database a commit makes stale. A store that scanned over pending
// writes since the last renew starts indexed.
func (s *TaskStore) renew() {
	s.closeIter()
	s.pending.reset()
	s.dropBatch()
	if s.dirtyScans > maxSortsPerCommit {
		s.batch = s.m.db.NewIndexedBatch()
	}
	s.wrote, s.dirtyScans = false, 0
	s.writes, s.size = 0, 0
}

// dropBatch closes the indexed batch, if any.
func (s *TaskStore) dropBatch() {
	if s.batch != nil {
		s.batch.Close()
		s.batch = nil
	}
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
