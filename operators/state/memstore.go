package state

import (
	"bytes"
	"slices"
)

// MemStore is an in-memory Store for unit tests of operators. It has no
// pending state: writes apply at once. Not safe for concurrent use.
type MemStore struct {
	m map[string][]byte
}

var _ Store = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{m: make(map[string][]byte)} }

// Get implements Store.
func (s *MemStore) Get(key []byte) ([]byte, bool, error) {
	v, ok := s.m[string(key)]
	if !ok {
		return nil, false, nil
	}
	return slices.Clone(v), true, nil
}

// Put implements Store.
func (s *MemStore) Put(key, value []byte) error {
	s.m[string(key)] = append(make([]byte, 0, len(value)), value...)
	return nil
}

// Delete implements Store.
func (s *MemStore) Delete(key []byte) error {
	delete(s.m, string(key))
	return nil
}

// Scan implements Store. It sorts the keys on every call, which is fine
// for the small states of tests.
func (s *MemStore) Scan(start, end []byte, fn func(key, value []byte) bool) error {
	keys := make([]string, 0, len(s.m))
	for k := range s.m {
		if bytes.Compare([]byte(k), start) >= 0 && (end == nil || bytes.Compare([]byte(k), end) < 0) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !fn([]byte(k), s.m[k]) {
			return nil
		}
	}
	return nil
}

// Len is the number of keys.
func (s *MemStore) Len() int { return len(s.m) }
