package operators

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/runnel/runnel/operators/agg"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/sql/types"
)

// DISTINCT aggregates keep their sets in the store.
//
// COUNT(DISTINCT x) (and SUM(DISTINCT x), AVG(DISTINCT x), ...) must
// know, for every row, whether its value is new to the group. Held in the
// group's accumulator, the set is decoded and encoded whole with the
// group: Nexmark's q15 and q16, whose groups are days of up to tens of
// thousands of bidders, slowed to a few hundred rows a second, and did
// not finish. Here each distinct value of a group is a key of its own in
// the task's store, whose value is how many of the group's rows hold it;
// the group's accumulator is only the aggregate of the distinct values
// (agg.DistinctOf: COUNT(x) for COUNT(DISTINCT x)), fed a value when its
// count leaves zero and retracted when it returns there. A row costs one
// count per DISTINCT call, read from a cache of counts beside the group
// cache (written back with it, at Flush) or from the store.
//
// The store layout, within the task's store:
//
//	'd' uvarint(id) uvarint(call) value   a count (uvarint); 1 for any
//	                                       number of rows when the input
//	                                       only adds (AddsOnly)
//	'n'                                    the next group id (uvarint)
//
// where id is the group's, a number the task gives a group when its first
// distinct value arrives and keeps at the end of the group's state, and
// value the canonical encoding of the value (agg.AppendCanonical), so that
// equal values share a key. The id keeps a value's key short: with the
// group's key in its place, Nexmark q16's state was 107 MB; ids are never
// handed out twice, since a group's keys all go with its last value, or
// with its window.
//
// Layout versions of an aggregation's store, and the key of its next
// group id.
var (
	layoutKey      = []byte{'v'}
	layoutDistinct = []byte{2}
	nextIDKey      = []byte{'n'}
)

// errDistinctUnknown is a retraction of a value the group never held: the
// store disagrees with the input, which only a bug or a tampered store
// can make.
var errDistinctUnknown = errors.New("operators: retracting a distinct value the group does not hold")

// errDistinctAddsOnly is a retraction in an aggregation whose input
// cannot retract (AggregateSpec.AddsOnly): a bug in the plan.
var errDistinctAddsOnly = errors.New("operators: retracting a distinct value in an aggregation of a stream")

// distinctPrefix is the prefix of every distinct value key of group id.
func distinctPrefix(dst []byte, id uint64) []byte {
	return binary.AppendUvarint(append(dst, 'd'), id)
}

// distinctKey is the key of value v of call (an index into the
// accumulators, 1-based as they are) of group id.
func distinctKey(dst []byte, id uint64, call int, v types.Value) []byte {
	dst = distinctPrefix(dst, id)
	dst = binary.AppendUvarint(dst, uint64(call))
	return agg.AppendCanonical(dst, v)
}

// chooseLayout decides, once a task starts, whether its DISTINCT calls
// keep their sets in the store. The caller is init.
func (a *Aggregator) chooseLayout() error {
	a.distinct = make([]agg.Func, len(a.Spec.Funcs))
	a.counts = nil
	has := false
	if a.cache != nil {
		for i, f := range a.Spec.Funcs {
			if inner, ok := agg.DistinctOf(f); ok {
				a.distinct[i], has = inner, true
			}
		}
	}
	if !has {
		return nil
	}
	v, ok, err := a.Store.Get(layoutKey)
	if err != nil {
		return fmt.Errorf("load state layout: %w", err)
	}
	if ok && string(v) == string(layoutDistinct) {
		return a.loadNextID()
	}
	// A store with groups but no layout mark was written with the sets
	// in the accumulators.
	old := false
	if err := a.Store.Scan([]byte{'a'}, []byte{'b'}, func(_, _ []byte) bool { old = true; return false }); err != nil {
		return fmt.Errorf("load state layout: %w", err)
	}
	if old {
		clear(a.distinct)
		return nil
	}
	a.nextID, a.nextIDDirty = 1, false
	return a.Store.Put(layoutKey, layoutDistinct)
}

// loadNextID reads the next group id.
func (a *Aggregator) loadNextID() error {
	a.nextID, a.nextIDDirty = 1, false
	v, ok, err := a.Store.Get(nextIDKey)
	if err != nil || !ok {
		return err
	}
	n, w := binary.Uvarint(v)
	if w <= 0 || w != len(v) || n == 0 {
		return errors.New("operators: corrupt next group id")
	}
	a.nextID = n
	return nil
}

// groupID returns g's id, giving it one if it has none.
func (a *Aggregator) groupID(g *cachedGroup) uint64 {
	if g.id == 0 {
		g.id = a.nextID
		a.nextID++
		a.nextIDDirty = true
	}
	return g.id
}

// externalSets reports whether some DISTINCT call keeps its set in the
// store.
func (a *Aggregator) externalSets() bool {
	for _, d := range a.distinct {
		if d != nil {
			return true
		}
	}
	return false
}

// funcOf is the Func that makes and decodes accumulator i (0 the hidden
// COUNT(*)).
func (a *Aggregator) funcOf(i int) agg.Func {
	if i == 0 {
		return a.count
	}
	if d := a.distinct[i-1]; d != nil {
		return d
	}
	return a.Spec.Funcs[i-1]
}

// distinctStep adds (or retracts) the value of a DISTINCT call's row:
// into the group's set of counts, and into the accumulator when it is
// the value's first row (or its last). The accumulator goes first, so a
// failure there leaves the count as it was.
func (a *Aggregator) distinctStep(g *cachedGroup, i int, acc agg.Accumulator, args []types.Value, retract bool) error {
	if len(args) != 1 {
		return fmt.Errorf("operators: DISTINCT aggregate with %d arguments", len(args))
	}
	if args[0].IsNull() {
		return nil
	}
	a.dkey = distinctKey(a.dkey[:0], a.groupID(g), i, args[0])
	h := seenHash(a.dkey)
	e := a.counts.get(a.dkey)
	if e == nil && !g.seen.mayHave(h) {
		// New to the group: no need to ask the store.
		if a.counts.full() {
			if err := a.writeBackCounts(); err != nil {
				return err
			}
			a.counts.rotate()
		}
		e = a.counts.add(a.dkey, 0, len(a.dkey)+countEntryBytes)
	}
	if e == nil {
		var err error
		if e, err = a.valueCount(a.dkey); err != nil {
			return err
		}
	}
	n := e.val
	if n == 0 && !retract {
		g.seen.add(h)
	}
	if a.Spec.AddsOnly {
		// Present or absent is all a group of a stream needs: its values
		// are never retracted. A value's key is written when it first
		// comes, not again at each flush for every row that repeats it:
		// the store's writes, and its flushes and compactions, are the
		// distinct values, not the rows.
		switch {
		case retract:
			return errDistinctAddsOnly
		case n > 0:
			return nil
		}
		if err := acc.Add(args); err != nil {
			return err
		}
		e.val = 1
		a.counts.changed(e)
		return nil
	}
	switch {
	case !retract && n == 0:
		if err := acc.Add(args); err != nil {
			return err
		}
	case retract && n == 0:
		return errDistinctUnknown
	case retract && n == 1:
		if err := acc.Retract(args); err != nil {
			return err
		}
	}
	if retract {
		e.val--
	} else {
		e.val++
	}
	a.counts.changed(e)
	return nil
}

// dropDistinct deletes every distinct value key of the group whose state
// key is sk (an expired window), before its state goes. The caller
// forgets the cache of counts after.
func (a *Aggregator) dropDistinct(sk []byte) error {
	v, ok, err := a.Store.Get(sk)
	if err != nil || !ok {
		return err
	}
	st, err := a.decodeStateID(v)
	if err != nil || st.id == 0 {
		return err
	}
	prefix := distinctPrefix(nil, st.id)
	var keys [][]byte
	err = a.Store.Scan(prefix, state.PrefixEnd(prefix), func(k, _ []byte) bool {
		keys = append(keys, append([]byte(nil), k...))
		return true
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := a.Store.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// writeBackCounts writes the changed counts into the store (a zero count
// is a delete).
func (a *Aggregator) writeBackCounts() error {
	if a.counts == nil {
		return nil
	}
	if a.nextIDDirty {
		if err := a.Store.Put(nextIDKey, binary.AppendUvarint(nil, a.nextID)); err != nil {
			return err
		}
		a.nextIDDirty = false
	}
	var k, buf []byte
	return a.counts.writeBack(func(e *genEntry[uint64]) (int, error) {
		k = append(k[:0], e.key...) // the store copies it
		if e.val == 0 {
			return e.size, a.Store.Delete(k)
		}
		buf = binary.AppendUvarint(buf[:0], e.val)
		return e.size, a.Store.Put(k, buf)
	})
}

// seenOf builds the filter of the distinct value keys of group id: empty
// for a group without an id, else from a scan of its keys. The
// counts cached since the last write-back are written back first: the
// scan must see every value the group has, and a value added while the
// group was out of the cache has its count only there.
func (a *Aggregator) seenOf(id uint64) (*seenFilter, error) {
	f := &seenFilter{}
	if id == 0 {
		return f, nil
	}
	if err := a.writeBackCounts(); err != nil {
		return nil, err
	}
	prefix := distinctPrefix(nil, id)
	err := a.Store.Scan(prefix, state.PrefixEnd(prefix), func(k, _ []byte) bool {
		f.add(seenHash(k))
		return true
	})
	return f, err
}

// countCache is the write-back cache of distinct values' counts, by key.
type countCache = genCache[uint64]

// countEntryBytes is what a cached count costs beyond its key.
const countEntryBytes = 64

func newCountCache(limit int) *countCache { return newGenCache[uint64](limit) }

// count returns the entry of a distinct value's count, from the cache or
// the store (0 when absent).
func (a *Aggregator) valueCount(key []byte) (*genEntry[uint64], error) {
	c := a.counts
	if e := c.get(key); e != nil {
		return e, nil
	}
	if c.full() {
		if err := a.writeBackCounts(); err != nil {
			return nil, err
		}
		c.rotate()
	}
	v, ok, err := a.Store.Get(key)
	if err != nil {
		return nil, err
	}
	var n uint64
	if ok {
		var w int
		if n, w = binary.Uvarint(v); w <= 0 || w != len(v) {
			return nil, errors.New("operators: corrupt distinct value count")
		}
	}
	return c.add(key, n, len(key)+countEntryBytes), nil
}
