package operators

import (
	"bytes"
	"unsafe"

	"github.com/runnel/runnel/internal/membudget"
	"github.com/runnel/runnel/operators/state"
)

// DefaultTableJoinCacheBytes is the default bound of a table join task's
// read cache (TableJoinStore.CacheBytes), its weight in the engine's
// budget: twice an aggregation's. A foreign-key join reads every changed
// left row's entry for the foreign key it had, and Nexmark q5's counts
// (auction and window) outgrew a cache of half this: one left change in
// six read the store, each a Pebble Get of several microseconds, about
// 170,000 over 1,000,000 events, and under 50,000 with this.
const DefaultTableJoinCacheBytes = 16 << 20

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

// TableJoinStore is a table join task's store behind a write-back cache
// and a presence filter; the join, its output and, in a chain, its link
// share one. Reads are answered from memory where they can be, and writes
// wait in memory until the join's Flush, before the task commits:
//
//   - the cache holds what recent reads and writes saw of a key, its value
//     or its absence. A foreign-key join reads the same few keys over and
//     over: the right row that every change of a hot left row meets, the
//     sink key of a result row that comes and goes. In the store such a
//     key that was rewritten many times and then deleted costs a walk over
//     every version the memtables still hold (Pebble's Get steps past a
//     deletion to the next user key), which was most of the CPU of
//     Nexmark's q5 and q7;
//   - a write changes the cached entry only. At the join's Flush (or when
//     the cache needs room, or before a scan) each changed entry is
//     written to the store once, with its last value, and not at all when
//     that is what the store holds already. Nexmark's q5 and q7 delete a
//     right row and put it back for nearly every bid, and every result
//     row at it with it: the sink keys went out and back into the store,
//     and into the memtables, twice per row per update; now they do not
//     move, and a key put and deleted between two commits is never
//     written. What a commit makes durable is what it was with every
//     write made at once: the store's pending writes hold every change
//     before the commit, and what derive writes with each (a foreign-key
//     join's index entries, which move with its left rows' foreign keys
//     once per write-back, not at every change);
//   - the filter (a Bloom filter, seen.go) holds every key the store has
//     held since the task (re)started: a key it has never had, as a new
//     left row's entry and its sink key are, is absent without a read,
//     which would otherwise look for it in every memtable and level. It
//     is loaded by one scan of the store the first time a key is read;
//   - a key new to the store that swap writes (a foreign-key join's new
//     left row) goes to the store at once, not into the cache, while the
//     new keys it did cache are seldom read or written again
//     (writeNewKey): Nexmark q7's bids, each a row written once.
//
// The cache (joinCache) is the aggregations' two-generation cache
// (genCache, aggcache.go) with entries that know their generation: it
// holds about CacheBytes, in two generations of half that each; a key
// read or written goes into the young one, and when that is full every
// change is written back, the old one is forgotten and the young one
// becomes the old. Recover (through the join's Recover) forgets the
// cache, its changes with it, and the filter, as the store drops its
// pending writes.
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

	// cache is nil until the first read or write; its dirty entries are
	// the changes not yet written to Store.
	cache *joinCache

	// filter holds the keys put since it was loaded, and those the store
	// held then; filterKeys counts them. filterState says whether it is
	// loaded, or given up (too many keys).
	filter      seenFilter
	filterKeys  int
	filterState uint8

	// reported is the cache's size last reported to its share, and
	// reportStep how far it moves before the next report (reportUse).
	reported, reportStep int

	// derive, when set, is called as each changed value is written to
	// Store (at write-back, or written through), with Store, what it held
	// before (old, or its absence: had false) and what it gets (v, or a
	// delete: ok false), and writes to Store what follows from the
	// change: a foreign-key join's index entries follow from its left
	// rows' foreign keys (ForeignKeyJoin.deriveIndex). It must write
	// keys the store never caches.
	derive func(st state.Store, key, old []byte, had bool, v []byte, ok bool) error
	// news judges caching the keys new to the store: done when one is
	// cached, paid off when it is read or written again while cached
	// (writeNewKey).
	news payoff

	// derived, when derive is set, is the first byte of every key derive
	// writes. Those keys are never read, written or cached through the
	// store (only scanned, in Store), so the filter leaves them out: in
	// Nexmark's q7 they were half its keys (an index entry per bid), and
	// their layers' probes and false positives were paid by every read
	// of a new key, and its reloads read them all.
	derived byte
}

// The states of a TableJoinStore's filter.
const (
	filterUnloaded uint8 = iota
	filterOn
	filterOff
)

// tableJoinCached is what the cache knows of a key: its value as the
// join sees it (v, or its absence: ok false) and, when known is set, what
// the store beneath holds (sv, or its absence: sok false), its pending
// writes included. The two differ only while the entry is dirty; once
// written back, sv is v.
type tableJoinCached struct {
	v, sv   []byte
	ok, sok bool
	known   bool
	// fresh is set on the entry of a new key swap cached (setNew) until
	// the key is read or written again (writeNewKey).
	fresh bool
}

var (
	_ state.Store = (*TableJoinStore)(nil)
	_ Recoverable = (*TableJoinStore)(nil)
)

// Get implements state.Store.
func (s *TableJoinStore) Get(key []byte) ([]byte, bool, error) {
	v, ok, cached, err := s.read(key)
	if cached && ok {
		// The cache's own: the caller may change what Get returns.
		v = bytes.Clone(v)
	}
	return v, ok, err
}

// view is Get for a caller that does not change the value it returns:
// the cache's own bytes when it holds them. They stay valid, since the
// cache never changes a value it holds (a write replaces it).
func (s *TableJoinStore) view(key []byte) ([]byte, bool, error) {
	v, ok, _, err := s.read(key)
	return v, ok, err
}

// read returns key's value, and whether it is the cache's own.
//
// The filter is asked before the cache: a key it has never held is
// absent from the store and from the cache too (every key put goes into
// it; an entry it lacks can only be a delete or an absence), and one
// probe of it costs less than a miss in each of the cache's two maps, as
// nearly every read of Nexmark q7's join is (the sink key of a new left
// row, the right row of a price that is no window's highest).
func (s *TableJoinStore) read(key []byte) (v []byte, ok, cached bool, err error) {
	if s.filterState == filterUnloaded {
		if err := s.loadFilter(); err != nil {
			return nil, false, false, err
		}
	}
	if s.filterState == filterOn && !s.filter.mayHave(seenHash(key)) {
		return nil, false, false, nil
	}
	e, err := s.entry(key)
	if err != nil {
		return nil, false, false, err
	}
	if e != nil {
		if !e.val.ok {
			return nil, false, true, nil
		}
		return e.val.v, true, true, nil
	}
	v, ok, err = s.Store.Get(key)
	if err != nil {
		return nil, false, false, err
	}
	c := tableJoinCached{v: bytes.Clone(v), ok: ok, known: true}
	c.sv, c.sok = c.v, ok
	n := tableJoinCachedBytes(key, c)
	if n > s.cache.halfLimit() {
		// A value larger than a generation is not kept.
		return v, ok, false, nil
	}
	if err := s.makeRoom(nil, n); err != nil {
		return nil, false, false, err
	}
	s.cache.add(key, c, n)
	s.reportUse()
	return v, ok, false, nil
}

// storeView reads key from st without a copy when st is a
// TableJoinStore (view): the caller must not change the bytes.
func storeView(st state.Store, key []byte) ([]byte, bool, error) {
	if s, ok := st.(*TableJoinStore); ok {
		return s.view(key)
	}
	return st.Get(key)
}

// storePutOwned puts key's value v into st, handing v over when st is a
// TableJoinStore (no copy): the caller must not change v afterwards.
func storePutOwned(st state.Store, key, v []byte) error {
	if s, ok := st.(*TableJoinStore); ok {
		return s.set(key, v, true)
	}
	return st.Put(key, v)
}

// storeSwap reads key's value from st and replaces it with v (a delete
// when ok is false): swap, when st is a TableJoinStore. v stays the
// caller's, who may reuse it (the store copies what it keeps, as Put
// does). The caller must not change the value it returns.
func storeSwap(st state.Store, key, v []byte, ok bool) ([]byte, bool, error) {
	if s, isJoin := st.(*TableJoinStore); isJoin {
		return s.swap(key, v, ok)
	}
	old, had, err := st.Get(key)
	if err != nil {
		return nil, false, err
	}
	if ok {
		err = st.Put(key, v)
	} else {
		err = st.Delete(key)
	}
	return old, had, err
}

// Put implements state.Store.
func (s *TableJoinStore) Put(key, value []byte) error {
	return s.set(key, bytes.Clone(value), true)
}

// Delete implements state.Store.
func (s *TableJoinStore) Delete(key []byte) error {
	return s.set(key, nil, false)
}

// set changes key's value in the cache (v, owned by the cache; ok false
// for a delete), to be written back.
func (s *TableJoinStore) set(key, v []byte, ok bool) error {
	if s.filterState == filterOn {
		if h := seenHash(key); !s.filter.mayHave(h) {
			return s.setNew(key, h, v, ok, false)
		}
	}
	e, err := s.entry(key)
	if err != nil {
		return err
	}
	return s.setCached(key, e, v, ok, tableJoinCached{})
}

// swap is a view of key's value and then its set (v, the caller's: the
// store copies what it keeps; ok false for a delete) with one look into
// the cache instead of two (a foreign-key join's left row, read for its
// old foreign key and replaced: its two lookups in the cache's maps were
// most of the cost of both). The value it returns stays valid, as
// view's. A key new to the store goes straight to it (writeNew) while
// the new keys swap cached are seldom read or written again
// (writeNewKey).
func (s *TableJoinStore) swap(key, v []byte, ok bool) (old []byte, had bool, err error) {
	if s.filterState == filterUnloaded {
		if err := s.loadFilter(); err != nil {
			return nil, false, err
		}
	}
	if s.filterState == filterOn {
		if h := seenHash(key); !s.filter.mayHave(h) {
			if ok && s.writeNewKey() {
				return nil, false, s.writeNew(key, h, v)
			}
			if ok {
				s.countNew()
			}
			return nil, false, s.setNew(key, h, bytes.Clone(v), ok, true)
		}
	}
	if ok {
		v = bytes.Clone(v)
	}
	e, err := s.entry(key)
	if err != nil {
		return nil, false, err
	}
	if e != nil {
		if e.val.ok {
			old, had = e.val.v, true
		}
		return old, had, s.setCached(key, e, v, ok, tableJoinCached{})
	}
	if old, had, err = s.Store.Get(key); err != nil {
		return nil, false, err
	}
	// The store's answer, as read caches it: the caller's copy. A key
	// the filter may hold needs no adding.
	under := tableJoinCached{sv: old, sok: had, known: true}
	return old, had, s.setCached(key, nil, v, ok, under)
}

// setNew is set of key (whose seenHash is h), which the filter does not
// hold: neither the store nor the cache has it (the filter holds every
// key of the store and every key put, and the cache holds no other; see
// dropUnfiltered), so the cache needs no look, and a delete does
// nothing. The filter takes a key put, once: a key put again and again
// (a hot row) would fill layer after layer with itself. Nexmark q5's and
// q7's joins write a new key (a left row, a sink key) for nearly every
// change, each of which missed in both of the cache's maps before it
// went in. fresh marks the entry of a new key swap counts (countNew)
// until the key is read or written again (entry).
func (s *TableJoinStore) setNew(key []byte, h uint64, v []byte, ok, fresh bool) error {
	if !ok {
		return nil
	}
	s.addFilter(h)
	s.cacheIn()
	return s.setCached(key, nil, v, ok, tableJoinCached{known: true, fresh: fresh})
}

// The policy of writeNewKey (payoffPolicy): the new keys swap caches
// before it judges (newWarmup), the least share of them that must be
// read or written again while cached for every new key to be cached (one
// in newRatio), the share cached below it (one in newSample), and the
// counts' window.
const (
	newWarmup = 1 << 12
	newRatio  = 16
	newSample = 16
	newWindow = 1 << 15
)

var newKeysPolicy = payoffPolicy{warmup: newWarmup, ratio: newRatio, sample: newSample, window: newWindow}

// writeNewKey reports whether swap should write a key new to the store
// straight to it (writeNew) rather than into the cache. Each of Nexmark
// q7's bids is a new left row that the join never reads again unless
// its window's highest price becomes its own: cached, each was a fresh
// copy of its bytes (about 150) and a map entry, then a write-back, a
// third of the join's left side, and the bids turned the cache's
// generations over every 35,000 rows or so, each time pushing out the
// rows that are read again. Where new rows change again
// soon (Nexmark q5's counts, rewritten by the next bid of their auction
// and window) they stay cached, where their next change finds them. A
// row written through and read again is read from the store's pending
// writes (before the commit) or from the store, and cached then.
func (s *TableJoinStore) writeNewKey() bool { return !s.news.worth(newKeysPolicy) }

// countNew counts a new key swap caches (writeNewKey).
func (s *TableJoinStore) countNew() { s.news.did(newKeysPolicy) }

// writeNew writes key (whose seenHash is h), which the filter does not
// hold, and its value v straight to the store (writeThrough: the store
// copies v, and derive sees the key's absence), and adds the key to the
// filter. The cache does not hold the key (setNew says why), so it
// holds nothing stale of it.
func (s *TableJoinStore) writeNew(key []byte, h uint64, v []byte) error {
	s.addFilter(h)
	return s.writeThrough(key, tableJoinCached{v: v, ok: true, known: true})
}

// setCached sets the value of key, whose entry is e (nil: not cached):
// base is what a new entry knows of the store when e is nil.
func (s *TableJoinStore) setCached(key []byte, e *joinEntry, v []byte, ok bool, base tableJoinCached) error {
	for {
		c := base
		if e != nil {
			// What the store holds, as the entry knows it now: making
			// room below writes the entry back.
			c = e.val
		}
		c.v, c.ok = v, ok
		n := tableJoinCachedBytes(key, c)
		if n > s.cache.halfLimit() {
			// A value larger than a generation is not kept: it is
			// written through, and a change of the key not yet written
			// back is dropped (gone), since this one replaces it.
			s.cache.dropEntry(e)
			return s.writeThrough(key, c)
		}
		grow := n
		if e != nil {
			grow -= e.size
		}
		if s.roomless(grow) {
			// After this the young generation holds e alone, at most:
			// the next turn fits.
			if err := s.makeRoom(e, grow); err != nil {
				return err
			}
			continue
		}
		if e == nil {
			e = s.cache.add(key, c, n)
		} else {
			e.val = c
			s.cache.resize(e, n)
		}
		s.cache.changed(e)
		s.reportUse()
		return nil
	}
}

// reportUse reports what the cache holds to its share (Share.Use) when
// it moved by a 128th of the share since the last report: Use's atomic
// store is a locked exchange, which Nexmark q5's join paid for each of
// its three writes per left change (a twentieth of the join's CPU). The
// budget hears of a share's use in steps of a 32nd of its fair part
// anyway (Share.Use).
func (s *TableJoinStore) reportUse() {
	n := s.cache.bytes()
	if d := n - s.reported; d > s.reportStep || -d > s.reportStep || n == 0 {
		s.cache.share.Use(n)
		s.reported, s.reportStep = n, s.cache.halfLimit()/64
	}
}

// Scan implements state.Store: the store's own, once every change is
// written back to it.
func (s *TableJoinStore) Scan(start, end []byte, fn func(key, value []byte) bool) error {
	if err := s.writeBack(); err != nil {
		return err
	}
	return s.Store.Scan(start, end, fn)
}

// Recover implements Recoverable: the store dropped its pending writes,
// which the cache and the filter may hold, and the cache's changes go
// with them.
func (s *TableJoinStore) Recover() {
	if s.cache != nil {
		s.cache.forget()
	}
	s.filter, s.filterKeys, s.filterState = seenFilter{}, 0, filterUnloaded
}

// writeBack writes every change the cache holds to the store: a key's
// last value, or its delete, and nothing when the store holds that
// already.
func (s *TableJoinStore) writeBack() error {
	if s.cache == nil {
		return nil
	}
	return s.cache.writeBack(func(e *joinEntry) (int, error) {
		c := &e.val
		// The key's bytes without a copy: the store copies what it
		// keeps, and changes neither (state.Store).
		key := unsafe.Slice(unsafe.StringData(e.key), len(e.key))
		if !c.known || c.ok != c.sok || !bytes.Equal(c.v, c.sv) {
			if err := s.writeThrough(key, *c); err != nil {
				return 0, err
			}
		}
		c.sv, c.sok, c.known = c.v, c.ok, true
		return tableJoinCachedBytes(key, *c), nil
	})
}

// writeThrough writes c's value of key to Store, and what follows from
// it (derive) from what Store held (c.sv; read first when not known).
func (s *TableJoinStore) writeThrough(key []byte, c tableJoinCached) error {
	if s.derive != nil {
		if !c.known {
			var err error
			if c.sv, c.sok, err = s.Store.Get(key); err != nil {
				return err
			}
		}
		if err := s.derive(s.Store, key, c.sv, c.sok, c.v, c.ok); err != nil {
			return err
		}
	}
	if c.ok {
		return s.Store.Put(key, c.v)
	}
	return s.Store.Delete(key)
}

// flushStore writes back what st holds in memory, when it is a
// TableJoinStore: a table join's Flush, before its task commits.
func flushStore(st state.Store) error {
	if s, ok := st.(*TableJoinStore); ok {
		return s.flush()
	}
	return nil
}

// addFilter adds a key (by its seenHash) to the filter, which does not
// hold it yet, or gives the filter up when it would take too many keys
// or bytes.
func (s *TableJoinStore) addFilter(h uint64) {
	if s.filterKeys++; s.filterKeys > tableJoinFilterKeys || !filterFits(&s.filter, s.filterBytes) {
		s.filter, s.filterState = seenFilter{}, filterOff
		s.filterShare.Use(0)
		return
	}
	s.filter.add(h)
}

// maxJoinFilterLayers is how many layers a table join's filters (the
// store's, and a foreign-key join's fkFilter) may grow to before the
// join's next Flush loads them again in one. Each layer is a Bloom filter
// twice the last one's size with its own probes, mostly cache misses, and
// its own false positives, each a store read: Nexmark's q3 over 240,000
// people and auctions grew the store's filter to ten layers, and its
// probes and the reads of its false positives were about a tenth of the
// join's CPU. A load scans the store; sized for twice the keys it finds,
// the one layer then grows four more before the next.
const maxJoinFilterLayers = 4

// flush writes back every change (the join's Flush, before its task
// commits) and loads the filter again in one layer when it has grown
// past maxJoinFilterLayers.
func (s *TableJoinStore) flush() error {
	if err := s.writeBack(); err != nil {
		return err
	}
	if s.filterState != filterOn || len(s.filter.layers) <= maxJoinFilterLayers {
		return nil
	}
	return s.loadFilterSized(2 * s.filterKeys)
}

// loadFilter fills the filter with the store's keys, or gives it up when
// they are too many.
func (s *TableJoinStore) loadFilter() error { return s.loadFilterSized(0) }

// loadFilterSized is loadFilter with a first layer sized for capacity
// keys, when that fits half the filter's share.
func (s *TableJoinStore) loadFilterSized(capacity int) error {
	// The keys written since the task (re)started are in the store once
	// written back.
	if err := s.writeBack(); err != nil {
		return err
	}
	s.filter, s.filterKeys, s.filterState = seenFilter{}, 0, filterOn
	if s.filterShare == nil {
		s.filterShare = s.Memory.Share(tableJoinFilterBytes)
	}
	if capacity = min(capacity, tableJoinFilterKeys); capacity > seenFirstKeys && newBloomLayerBytes(capacity) <= s.filterBytes()/2 {
		s.filter.layers = []bloomLayer{newBloomLayer(capacity)}
	}
	over := false
	add := func(k, _ []byte) bool {
		if s.filterKeys++; s.filterKeys > tableJoinFilterKeys || !filterFits(&s.filter, s.filterBytes) {
			over = true
			return false
		}
		s.filter.add(seenHash(k))
		return true
	}
	var err error
	if s.derive == nil {
		err = s.Store.Scan(nil, nil, add)
	} else {
		// Every key but derive's (derived).
		if err = s.Store.Scan(nil, []byte{s.derived}, add); err == nil && !over && s.derived != 0xff {
			err = s.Store.Scan([]byte{s.derived + 1}, nil, add)
		}
	}
	if err != nil || over {
		s.filter, s.filterState = seenFilter{}, filterOff
	} else {
		s.dropUnfiltered()
	}
	s.filterShare.Use(s.filter.size())
	return err
}

// dropUnfiltered drops the cache's entries of keys the filter, just
// loaded, does not hold, so that it holds none (setNew counts on it):
// each is of a key absent from the store, deleted since the filter was
// last loaded or before the first load, and written back.
func (s *TableJoinStore) dropUnfiltered() {
	if s.cache == nil {
		return
	}
	for _, m := range []map[string]*joinEntry{s.cache.young, s.cache.old} {
		for _, e := range m {
			// Every key put is in the store now, and in the filter.
			if !e.val.ok && !s.filter.mayHave(seenHash(unsafe.Slice(unsafe.StringData(e.key), len(e.key)))) {
				s.cache.dropEntry(e)
			}
		}
	}
	s.cache.share.Use(s.cache.bytes())
}

// filterBytes is what the filter may hold now, its share of the budget;
// a key that needs a new layer past it turns the filter off. It reports
// what the filter holds.
func (s *TableJoinStore) filterBytes() int {
	s.filterShare.Use(s.filter.size())
	return s.filterShare.Bytes()
}

// entry returns the cache's entry of key, moved to the young generation;
// nil when the cache does not hold it. It creates the cache.
func (s *TableJoinStore) entry(key []byte) (*joinEntry, error) {
	s.cacheIn()
	e, ok := s.cache.young[string(key)]
	if !ok {
		e, ok = s.cache.old[string(key)]
	}
	if !ok {
		return nil, nil
	}
	if e.val.fresh {
		e.val.fresh = false
		s.news.paidOff()
	}
	if e.gen == s.cache.gen {
		return e, nil
	}
	// Old: into the young generation, which may have to make room for
	// it first (a young generation past its half would become an old
	// one past it).
	if s.roomlessFor(e) {
		if err := s.writeBack(); err != nil {
			return nil, err
		}
		if s.roomlessFor(e) {
			// Still: the write-back shrank too few entries (a changed
			// entry holds what the store held beside its value).
			s.cache.rotateKeeping(e)
			return e, nil
		}
	}
	s.cache.promote(e)
	return e, nil
}

// cacheIn creates the cache, if not yet.
func (s *TableJoinStore) cacheIn() {
	if s.cache == nil {
		limit := s.CacheBytes
		if limit <= 0 {
			limit = DefaultTableJoinCacheBytes
		}
		s.cache = newGenCacheWith[tableJoinCached](s.Memory.Share(cacheWeight(limit)))
	}
}

// makeRoom makes the young generation able to take n more bytes: when it
// cannot, every change is written back (a changed entry holds what the
// store held beside its value, and no longer needs to), and when that is
// not room enough the old generation is forgotten and the young one
// becomes the old, keeping e (when not nil, an entry of the young
// generation) young.
func (s *TableJoinStore) makeRoom(e *joinEntry, n int) error {
	if !s.roomless(n) {
		return nil
	}
	if err := s.writeBack(); err != nil {
		return err
	}
	if s.roomless(n) {
		// Still: the write-back shrank too few entries.
		s.cache.rotateKeeping(e)
	}
	return nil
}

// roomlessFor is roomless for moving e, an old entry, to the young
// generation: the young one takes its bytes, both together hold them
// already.
func (s *TableJoinStore) roomlessFor(e *joinEntry) bool {
	half := s.cache.halfLimit()
	return s.cache.youngBytes+e.size > half || s.cache.bytes() > 2*half
}

// roomless reports whether the cache cannot take n more bytes: its young
// generation would pass half its share, or both generations the share
// (which shrinks as other caches draw theirs).
func (s *TableJoinStore) roomless(n int) bool {
	half := s.cache.halfLimit()
	return s.cache.youngBytes+n > half || s.cache.bytes()+n > 2*half
}

// tableJoinCachedBytes is what an entry of key costs: its key, its value,
// the value the store holds when that is another, and tableJoinCachedSize.
func tableJoinCachedBytes(key []byte, c tableJoinCached) int {
	n := len(key) + len(c.v) + tableJoinCachedSize
	if len(c.sv) > 0 && (len(c.v) == 0 || &c.sv[0] != &c.v[0]) {
		n += len(c.sv)
	}
	return n
}

// joinCache is a TableJoinStore's cache: the aggregations' genCache
// (aggcache.go says why two generations), of the store's cached values.
type joinCache = genCache[tableJoinCached]

// joinEntry is a key's entry in a joinCache.
type joinEntry = genEntry[tableJoinCached]
