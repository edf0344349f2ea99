package operators

import (
	"bytes"

	"github.com/runnel/runnel/internal/membudget"
	"github.com/runnel/runnel/operators/state"
)

// DefaultTableJoinCacheBytes is the default bound of a table join task's
// read cache (TableJoinStore.CacheBytes): about ksqlDB's
// cache.max.bytes.buffering of 10 MB a query.
const DefaultTableJoinCacheBytes = 8 << 20

// tableJoinFilterKeys bounds the keys a table join task's presence filter
// holds: past it (about 5 MB of filter, its layers doubling) the filter
// is dropped and every key not in the cache is read from the store. The
// filter's share of the engine's budget (weight tableJoinFilterBytes)
// bounds it too: a key that would take it past its share drops it.
const tableJoinFilterKeys = 2 << 20

// tableJoinFilterBytes is the filter's weight in the budget (and its bound
// outside it): what tableJoinFilterKeys cost.
const tableJoinFilterBytes = 5 << 20

// tableJoinCachedSize is what a cached key costs beside its key and
// value bytes: the map entry, the string and slice headers.
const tableJoinCachedSize = 64

// TableJoinStore is a table join task's store behind a read cache and a
// presence filter; the join, its output and, in a chain, its link share
// one. Writes go through to the store at once (it is not a write-back
// cache: what a commit makes durable does not change), and reads are
// answered from memory where they can be:
//
//   - the cache holds what recent reads and writes saw of a key, its value
//     or its absence. A foreign-key join reads the same few keys over and
//     over: the right row that every change of a hot left row meets, the
//     sink key of a result row that comes and goes. In the store such a
//     key that was rewritten many times and then deleted costs a walk over
//     every version the memtables still hold (Pebble's Get steps past a
//     deletion to the next user key), which was most of the CPU of
//     Nexmark's q5 and q7;
//   - the filter (a Bloom filter, seen.go) holds every key the store has
//     held since the task (re)started: a key it has never had, as a new
//     left row's entry and its sink key are, is absent without a read,
//     which would otherwise look for it in every memtable and level. It
//     is loaded by one scan of the store the first time a key is read.
//
// The cache is the aggregations' two-generation cache (genCache), used
// write-through: it holds about CacheBytes, in two generations of half
// that each; a key read or written goes into the young one, and when that
// is full the old one is forgotten and the young one becomes the old. Recover (through the join's Recover) forgets both
// the cache and the filter, as the store drops its pending writes.
//
// It is used by its task's goroutine only, as the store is.
type TableJoinStore struct {
	// Store is the task's store.
	Store state.Store
	// CacheBytes bounds the cache; 0 is DefaultTableJoinCacheBytes.
	// With Memory, it is the cache's weight in the engine's budget.
	CacheBytes int
	// Memory is the account the cache and the filter draw their shares
	// of the engine's cache budget from (internal/membudget); the filter
	// holds as many keys as its share pays for. Default: nil, fixed
	// limits (CacheBytes, tableJoinFilterKeys).
	Memory *membudget.Account
	// filterShare is the filter's share, drawn when it is first loaded.
	filterShare *membudget.Share

	// cache is nil until the first read or write; no entry of it is ever
	// dirty, as every write has gone to the store.
	cache *genCache[tableJoinCached]

	// filter holds the keys put since it was loaded, and those the store
	// held then; filterKeys counts them. filterState says whether it is
	// loaded, or given up (too many keys).
	filter      seenFilter
	filterKeys  int
	filterState uint8
}

// The states of a TableJoinStore's filter.
const (
	filterUnloaded uint8 = iota
	filterOn
	filterOff
)

// tableJoinCached is a key's value as the store holds it, or its absence
// (ok false).
type tableJoinCached struct {
	v  []byte
	ok bool
}

var (
	_ state.Store = (*TableJoinStore)(nil)
	_ Recoverable = (*TableJoinStore)(nil)
)

// Get implements state.Store.
func (s *TableJoinStore) Get(key []byte) ([]byte, bool, error) {
	if c, ok := s.cached(key); ok {
		if !c.ok {
			return nil, false, nil
		}
		return bytes.Clone(c.v), true, nil
	}
	if s.filterState == filterUnloaded {
		if err := s.loadFilter(); err != nil {
			return nil, false, err
		}
	}
	if s.filterState == filterOn && !s.filter.mayHave(seenHash(key)) {
		return nil, false, nil
	}
	v, ok, err := s.Store.Get(key)
	if err != nil {
		return nil, false, err
	}
	s.remember(key, tableJoinCached{v: bytes.Clone(v), ok: ok})
	return v, ok, nil
}

// Put implements state.Store.
func (s *TableJoinStore) Put(key, value []byte) error {
	if err := s.Store.Put(key, value); err != nil {
		// What the store holds is in doubt: read it again.
		s.forgetKey(key)
		return err
	}
	if s.filterState == filterOn {
		if s.filterKeys++; s.filterKeys > tableJoinFilterKeys || !filterFits(&s.filter, s.filterBytes) {
			s.filter, s.filterState = seenFilter{}, filterOff
			s.filterShare.Use(0)
		} else {
			s.filter.add(seenHash(key))
		}
	}
	s.remember(key, tableJoinCached{v: bytes.Clone(value), ok: true})
	return nil
}

// Delete implements state.Store.
func (s *TableJoinStore) Delete(key []byte) error {
	if err := s.Store.Delete(key); err != nil {
		s.forgetKey(key)
		return err
	}
	s.remember(key, tableJoinCached{})
	return nil
}

// Scan implements state.Store: the store's own, which holds every write.
func (s *TableJoinStore) Scan(start, end []byte, fn func(key, value []byte) bool) error {
	return s.Store.Scan(start, end, fn)
}

// Recover implements Recoverable: the store dropped its pending writes,
// which the cache and the filter may hold.
func (s *TableJoinStore) Recover() {
	if s.cache != nil {
		s.cache.forget()
	}
	s.filter, s.filterKeys, s.filterState = seenFilter{}, 0, filterUnloaded
}

// loadFilter fills the filter with the store's keys, or gives it up when
// they are too many.
func (s *TableJoinStore) loadFilter() error {
	s.filter, s.filterKeys, s.filterState = seenFilter{}, 0, filterOn
	if s.filterShare == nil {
		s.filterShare = s.Memory.Share(tableJoinFilterBytes)
	}
	over := false
	err := s.Store.Scan(nil, nil, func(k, _ []byte) bool {
		if s.filterKeys++; s.filterKeys > tableJoinFilterKeys || !filterFits(&s.filter, s.filterBytes) {
			over = true
			return false
		}
		s.filter.add(seenHash(k))
		return true
	})
	if err != nil || over {
		s.filter, s.filterState = seenFilter{}, filterOff
	}
	s.filterShare.Use(s.filter.size())
	return err
}

// filterBytes is what the filter may hold now, its share of the budget;
// a key that needs a new layer past it turns the filter off. It reports
// what the filter holds.
func (s *TableJoinStore) filterBytes() int {
	s.filterShare.Use(s.filter.size())
	return s.filterShare.Bytes()
}

// cached returns what the cache holds of key, moving it to the young
// generation.
func (s *TableJoinStore) cached(key []byte) (tableJoinCached, bool) {
	if s.cache == nil {
		return tableJoinCached{}, false
	}
	if e, ok := s.cache.young[string(key)]; ok {
		return e.val, true
	}
	// Not genCache.get, which moves the entry without making room: a
	// young generation past its half would become an old one past it.
	e, ok := s.cache.old[string(key)]
	if !ok {
		return tableJoinCached{}, false
	}
	s.remember(key, e.val)
	return e.val, true
}

// remember caches c as key's value (or absence), in the young generation.
func (s *TableJoinStore) remember(key []byte, c tableJoinCached) {
	if s.cache == nil {
		limit := s.CacheBytes
		if limit <= 0 {
			limit = DefaultTableJoinCacheBytes
		}
		s.cache = newGenCacheIn[tableJoinCached](s.Memory, limit)
	}
	// An entry of key left in either generation would be read once the
	// new one is forgotten.
	s.cache.drop(key)
	n := tableJoinCachedBytes(key, c)
	half := s.cache.halfLimit()
	if n > half {
		// A value larger than a generation is not kept.
		return
	}
	if s.cache.youngBytes+n > half || s.cache.bytes()+n > 2*half {
		s.cache.rotate()
	}
	s.cache.add(key, c, n)
	s.cache.share.Use(s.cache.bytes())
}

// forgetKey drops key from the cache.
func (s *TableJoinStore) forgetKey(key []byte) {
	if s.cache != nil {
		s.cache.drop(key)
	}
}

func tableJoinCachedBytes(key []byte, c tableJoinCached) int {
	return len(key) + len(c.v) + tableJoinCachedSize
}
