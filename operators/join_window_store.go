package operators

import (
	"bytes"

	"github.com/RaduBerinde/btreemap"

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
