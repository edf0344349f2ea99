package operators

import (
	"bytes"
	"errors"
	"fmt"
	"math"

	"github.com/RaduBerinde/btreemap"

	"github.com/runnel/runnel/internal/membudget"
	"github.com/runnel/runnel/operators/state"
)

// OrderedMemStore is a state.Store in memory, kept in key order by a
// B-tree, so that a scan costs its range and not the whole store. A
// transient stream-stream join keeps its windows in one (a persistent
// join keeps them in its task's Pebble store): what it holds is what the
// join's state holds, the records of the last window plus grace, and it
// shrinks as windows close. Not safe for concurrent use.
type OrderedMemStore struct {
	t *btreemap.BTreeMap[[]byte, []byte]
	// size is the bytes of keys and values held.
	size int
}

var _ state.Store = (*OrderedMemStore)(nil)

// NewOrderedMemStore returns an empty store.
func NewOrderedMemStore() *OrderedMemStore {
	return &OrderedMemStore{t: btreemap.New[[]byte, []byte](16, bytes.Compare)}
}

// Get implements state.Store.
func (s *OrderedMemStore) Get(key []byte) ([]byte, bool, error) {
	_, v, ok := s.t.Get(key)
	if !ok {
		return nil, false, nil
	}
	return append([]byte(nil), v...), true, nil
}

// Put implements state.Store.
func (s *OrderedMemStore) Put(key, value []byte) error {
	k := append([]byte(nil), key...)
	v := append(make([]byte, 0, len(value)), value...)
	if _, old, replaced := s.t.ReplaceOrInsert(k, v); replaced {
		s.size -= len(k) + len(old)
	}
	s.size += len(k) + len(v)
	return nil
}

// Delete implements state.Store.
func (s *OrderedMemStore) Delete(key []byte) error {
	if k, v, ok := s.t.Delete(key); ok {
		s.size -= len(k) + len(v)
	}
	return nil
}

// Scan implements state.Store. fn must not write to the store.
func (s *OrderedMemStore) Scan(start, end []byte, fn func(key, value []byte) bool) error {
	stop := btreemap.Max[[]byte]()
	if end != nil {
		stop = btreemap.LT(end)
	}
	s.t.AscendFunc(btreemap.GE(start), stop, fn)
	return nil
}

// Len is the number of keys held.
func (s *OrderedMemStore) Len() int { return s.t.Len() }

// Bytes is the size of the keys and values held.
func (s *OrderedMemStore) Bytes() int { return s.size }

// windowIndex holds, in memory, the most recent records of a
// stream-stream join's state, both sides, beside the store that keeps
// them all: a record meeting the other side reads its partners here
// instead of seeking the store. In Nexmark's q20 that seek, through the
// memtables and every level of Pebble since a range scan cannot use the
// bloom filters, was a third of the CPU, and 17% of q4's.
//
// The store stays the state: every write goes to the store first and is
// then mirrored here, so that what a commit makes durable, and what a
// restart or a restore reads, does not change. The index is bounded: past
// its budget it drops a side's oldest records, and from then on it answers
// only for the times it holds completely. Side s holds every record of the
// store's side s whose ROWTIME is at least from[s] (and possibly a few
// older ones, which no scan it answers reaches); a scan of the other side
// whose range starts before from falls back to the store.
//
// It is rebuilt from the store when the join starts or recovers, and
// whenever the record that was being processed stopped halfway, so that
// it never answers with something the store does not hold. It is owned by
// its join's goroutine.
type windowIndex struct {
	side [2]indexSide
	// bytes is what both sides hold (indexEntryBytes each, with the
	// record's key and value); budget bounds it, or share (its part of
	// the engine's cache budget) when the join draws from one.
	bytes, budget int
	share         *membudget.Share
}

// limit is what the index may hold now, reported with what it holds.
func (ix *windowIndex) limit() int {
	if ix.share == nil {
		return ix.budget
	}
	ix.share.Use(ix.bytes)
	return ix.share.Bytes()
}

// indexSide is one side's records.
type indexSide struct {
	// recs maps a record key ('r' side k time place) to its value, as in
	// the store: a key's records are contiguous and in time order.
	recs *btreemap.BTreeMap[[]byte, []byte]
	// byTime maps a record key's time and place (its last 20 bytes) to
	// the record key: the oldest record is its first.
	byTime *btreemap.BTreeMap[[]byte, []byte]
	// from is the smallest ROWTIME from which the side holds every
	// record of the store (math.MinInt64: all of them).
	from  int64
	bytes int
}

// indexEntryBytes is what a record costs the index beyond its key and
// value bytes: an entry in each of two B-trees (two slice headers each)
// and their nodes' share.
const indexEntryBytes = 128

// DefaultJoinIndexBytes is StreamStreamJoin.IndexBytes's default: 32 MiB
// of a join task's most recent records, both sides together.
const DefaultJoinIndexBytes = 32 << 20

// placeLen is the length of a record key's time and place suffix.
const placeLen = 8 + 12

func newWindowIndex(budget int) *windowIndex {
	ix := &windowIndex{budget: budget}
	for s := range ix.side {
		ix.side[s] = indexSide{
			recs:   btreemap.New[[]byte, []byte](16, bytes.Compare),
			byTime: btreemap.New[[]byte, []byte](16, bytes.Compare),
			from:   math.MinInt64,
		}
	}
	return ix
}

// load rebuilds the index from what store holds.
func (ix *windowIndex) load(store state.Store) error {
	ix.bytes = 0
	for s := range ix.side {
		is := &ix.side[s]
		is.recs.Clear(false)
		is.byTime.Clear(false)
		is.from, is.bytes = math.MinInt64, 0
	}
	for s := range ix.side {
		prefix := []byte{'r', byte(s)}
		var ferr error
		err := store.Scan(prefix, state.PrefixEnd(prefix), func(k, v []byte) bool {
			if len(k) < 3+placeLen {
				ferr = errors.New("corrupt join state: a record key")
				return false
			}
			ix.put(s, k, v)
			return true
		})
		if err == nil {
			err = ferr
		}
		if err != nil {
			return fmt.Errorf("index the join's state: %w", err)
		}
	}
	return nil
}

// covers reports whether side's scans from ROWTIME lo on can be answered
// here.
func (ix *windowIndex) covers(side int, lo int64) bool { return lo >= ix.side[side].from }

// put holds (or replaces) a record that side's store now holds, unless it
// is older than what the side holds completely. key and value are
// copied.
func (ix *windowIndex) put(side int, key, value []byte) {
	is := &ix.side[side]
	if readTime(key[len(key)-placeLen:]) < is.from {
		return
	}
	buf := make([]byte, len(key)+len(value))
	k, v := buf[:len(key):len(key)], buf[len(key):]
	copy(k, key)
	copy(v, value)
	if _, old, replaced := is.recs.ReplaceOrInsert(k, v); replaced {
		// The time index keeps its old key, whose bytes are equal.
		ix.bytes -= len(old)
		is.bytes -= len(old)
		ix.bytes += len(v)
		is.bytes += len(v)
	} else {
		is.byTime.ReplaceOrInsert(k[len(k)-placeLen:], k)
		n := len(k) + len(v) + indexEntryBytes
		ix.bytes += n
		is.bytes += n
	}
	for limit := ix.limit(); ix.bytes > limit && ix.evict(); {
	}
}

// evict drops the oldest record of the side that holds the most bytes,
// so that a small side (the auctions bids look up, say) stays whole while
// a large one gives way; it reports false when there was nothing to drop.
func (ix *windowIndex) evict() bool {
	s := 0
	if ix.side[1].bytes > ix.side[0].bytes {
		s = 1
	}
	is := &ix.side[s]
	_, k, ok := is.byTime.DeleteMin()
	if !ok {
		return false
	}
	// Every record at that time may not be held any more: the side is
	// complete from the next millisecond on.
	is.from = max(is.from, satAdd(readTime(k[len(k)-placeLen:]), 1))
	ix.remove(s, k)
	return true
}

// remove drops record key k of side from recs; the caller has dropped
// it from byTime.
func (ix *windowIndex) remove(side int, k []byte) {
	is := &ix.side[side]
	if k, v, ok := is.recs.Delete(k); ok {
		n := len(k) + len(v) + indexEntryBytes
		ix.bytes -= n
		is.bytes -= n
	}
}

// delete drops a record the store no longer holds.
func (ix *windowIndex) delete(side int, key []byte) {
	is := &ix.side[side]
	if _, k, ok := is.byTime.Delete(key[len(key)-placeLen:]); ok {
		ix.remove(side, k)
	}
}

// get returns a record's value, if side holds it; the slice is the
// index's, valid until its next change.
func (ix *windowIndex) get(side int, key []byte) ([]byte, bool) {
	_, v, ok := ix.side[side].recs.Get(key)
	return v, ok
}

// scan calls fn for side's records in [start, end) in key order, as
// Store.Scan does; the slices are the index's, and fn must not change it.
func (ix *windowIndex) scan(side int, start, end []byte, fn func(key, value []byte) bool) {
	ix.side[side].recs.AscendFunc(btreemap.GE(start), btreemap.LT(end), fn)
}
