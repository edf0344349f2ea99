package state

import (
	"errors"
	"fmt"
	"io"

	"github.com/cockroachdb/pebble/v2"
)

// Reader reads the committed state of one store. Its methods are safe for
// concurrent use, also with the store's task: each call reads a consistent
// view of the database as of the call's start. In Kafka mode, while Open
// restores the store, a Reader sees the restore partly done.
type Reader struct {
	db     *pebble.DB
	prefix []byte
}

// Get returns the committed value of key; ok is false when it is absent.
// The returned slice is the caller's.
func (r *Reader) Get(key []byte) ([]byte, bool, error) {
	return get(r.db, keyIn(r.prefix, key))
}

// Scan calls fn for every committed key in [start, end) in key order (nil
// end: to the last key) until fn returns false. The slices passed to fn
// are valid only during the call.
func (r *Reader) Scan(start, end []byte, fn func(key, value []byte) bool) error {
	return scan(r.db, r.prefix, start, end, fn)
}

// getter is what Get reads: the database or an indexed batch over it.
type getter interface {
	Get(key []byte) ([]byte, io.Closer, error)
}

// get reads one key and copies its value.
func get(g getter, key []byte) ([]byte, bool, error) {
	v, closer, err := g.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("state: get: %w", err)
	}
	out := make([]byte, len(v))
	copy(out, v)
	if err := closer.Close(); err != nil {
		return nil, false, fmt.Errorf("state: get: %w", err)
	}
	return out, true, nil
}

// iterable is what scan iterates: the database or an indexed batch over it.
type iterable interface {
	NewIter(o *pebble.IterOptions) (*pebble.Iterator, error)
}

// scan iterates the store range [start, end) of src.
func scan(src iterable, prefix, start, end []byte, fn func(key, value []byte) bool) (err error) {
	lo, hi := bounds(prefix, start, end)
	it, err := src.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("state: scan: %w", err)
	}
	defer func() {
		if cerr := it.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("state: scan: %w", cerr)
		}
	}()
	return iterate(it, prefix, fn)
}

// iterate runs fn over it's keys (without prefix) and values from the
// first within its bounds.
func iterate(it *pebble.Iterator, prefix []byte, fn func(key, value []byte) bool) error {
	for valid := it.First(); valid; valid = it.Next() {
		v, verr := it.ValueAndErr()
		if verr != nil {
			return fmt.Errorf("state: scan: %w", verr)
		}
		if !fn(it.Key()[len(prefix):], v) {
			return nil
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("state: scan: %w", err)
	}
	return nil
}
