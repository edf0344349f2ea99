package operators

import (
	"fmt"

	"github.com/runnel/runnel/internal/invariants"
	"github.com/runnel/runnel/internal/membudget"
	"github.com/runnel/runnel/operators/agg"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/sql/types"
)

// DefaultAggCacheBytes is the default weight of each of an aggregation
// task's two caches, of groups and of distinct values' counts
// (Aggregator.CacheBytes), in the engine's budget: its bound when it
// draws from none (see genCache). Measured on Nexmark's q15, q16 and q17
// (CPU seconds, machine loaded): 4 MiB 41, 94 and 29; 16 MiB 34, 68 and 27;
// ksqlDB's cache.max.bytes.buffering is 10 MB a query.
const DefaultAggCacheBytes = 8 << 20

// The write-back caches of an aggregation task.
//
// An aggregation task keeps its groups in a write-back cache in front of
// its state store, as Kafka Streams' record cache does: a group's
// accumulators stay decoded in memory between the records that update
// it, and reach the store (encoded, once) when the task flushes before it
// commits. A hot group, which half of Nexmark's bids update, then costs a
// map lookup per record instead of a store read, a decoding and an
// encoding. The counts of DISTINCT aggregates' values (aggdistinct.go)
// have a cache of their own, alike. What a commit makes durable is what
// it was without the caches: Flush writes every change back into the
// store's pending writes first, so exactly-once does not change; Recover
// drops the caches with those writes.
//
// A cache holds at most about its limit in bytes, in two generations of
// half that each. The limit is the cache's share of the engine's budget
// (package membudget: the budget in proportion to the cache's weight,
// its CacheBytes, among every cache held), read again at each miss, so
// that the caches of all running tasks together hold at most the budget
// however many tasks run; a cache outside the engine has its weight as a
// fixed limit. A cache over its limit (other tasks started) drops its old
// generation at its next miss, and again, until it is under. The two
// generations are a cheap approximation of least-recently-used: new
// entries go into the young generation, an old one that is used again
// moves back to it, and when the young one is full the old generation's
// changes are written back (an aggregation's young ones stay in memory
// until the flush; the join's are written too), the old generation is
// forgotten and the young one becomes the old. What is used often
// stays; a scan of cold keys passes through without flushing it all
// out. An entry's size is reckoned when
// it is read and when it is written back; between two flushes a group's
// accumulators may grow by what the batch's records add to them, no more.
//
// Session windows do not use the caches: a session is found by scanning
// the store for its key's sessions, which must see every change.

// genCache is a two-generation write-back cache of V by key. Its entries
// know their generation, so that an entry's size changes, and a dropped
// entry leaves, without looking up which generation's map holds it (in
// Nexmark q5's foreign-key join these lookups, each a cache miss in a map
// of tens of thousands of keys, were a third of its store's lookups). It
// is used by its owner's goroutine only.
type genCache[V any] struct {
	// share is the cache's limit (its share of the budget), and what
	// it reports holding.
	share      *membudget.Share
	young, old map[string]*genEntry[V]
	// gen is the young generation's number; an entry of gen-1 is old.
	gen                  uint32
	youngBytes, oldBytes int
	// dirty are the entries changed since they were last written back,
	// in the order they were first changed, of either generation: a
	// rotation writes back the old generation's only (writeBackOld),
	// and the young ones it keeps become old.
	dirty []*genEntry[V]
}

// genEntry is a key's entry in a genCache.
type genEntry[V any] struct {
	key  string
	val  V
	size int
	gen  uint32
	// dirty is set while the entry is in the cache's dirty list; gone
	// on an entry dropped while dirty, which is not written back.
	dirty, gone bool
}

// newGenCache returns a cache of a fixed limit; limit <= 0 is
// DefaultAggCacheBytes.
func newGenCache[V any](limit int) *genCache[V] { return newGenCacheIn[V](nil, limit) }

// newGenCacheIn returns a cache whose limit is its share of acct's budget,
// drawn with weight limit (<= 0: DefaultAggCacheBytes); a nil acct fixes
// the limit at the weight.
func newGenCacheIn[V any](acct *membudget.Account, limit int) *genCache[V] {
	return newGenCacheWith[V](acct.Share(cacheWeight(limit)))
}

// newGenCacheWith returns a cache bounded by share: a cache made again
// (a task's recovery) keeps the share its predecessor drew.
func newGenCacheWith[V any](share *membudget.Share) *genCache[V] {
	return &genCache[V]{share: share, young: make(map[string]*genEntry[V]), old: make(map[string]*genEntry[V]), gen: 1}
}

// cacheWeight is a cache's weight in the budget: limit, or
// DefaultAggCacheBytes for limit <= 0.
func cacheWeight(limit int) int {
	if limit <= 0 {
		return DefaultAggCacheBytes
	}
	return limit
}

// halfLimit is a generation's bound now: half the cache's share.
func (c *genCache[V]) halfLimit() int { return c.share.Bytes() / 2 }

// bytes is what the cache holds.
func (c *genCache[V]) bytes() int { return c.youngBytes + c.oldBytes }

// get returns the entry of key, moving it to the young generation; nil
// when the cache does not hold it.
func (c *genCache[V]) get(key []byte) *genEntry[V] {
	if e := c.getYoung(key); e != nil {
		return e
	}
	return c.getOld(key)
}

// getYoung returns the entry of key if the young generation holds it.
func (c *genCache[V]) getYoung(key []byte) *genEntry[V] { return c.young[string(key)] }

// getOld returns the entry of key if the old generation holds it, moving
// it to the young one.
func (c *genCache[V]) getOld(key []byte) *genEntry[V] {
	e, ok := c.old[string(key)]
	if !ok {
		return nil
	}
	c.promote(e)
	return e
}

// holds reports whether the cache holds key, moving nothing (for
// invariant checks).
func (c *genCache[V]) holds(key []byte) bool {
	_, young := c.young[string(key)]
	_, old := c.old[string(key)]
	return young || old
}

// add caches val under key (which the cache does not hold) in the young
// generation.
func (c *genCache[V]) add(key []byte, val V, size int) *genEntry[V] {
	return c.addIn(new(genEntry[V]), key, val, size)
}

// addIn is add into e, a new entry that the caller allocated (with what
// it caches, in one allocation).
func (c *genCache[V]) addIn(e *genEntry[V], key []byte, val V, size int) *genEntry[V] {
	*e = genEntry[V]{key: string(key), val: val, size: size, gen: c.gen}
	c.young[e.key] = e
	c.youngBytes += size
	return e
}

// promote moves e, an old entry, to the young generation.
func (c *genCache[V]) promote(e *genEntry[V]) {
	delete(c.old, e.key)
	c.oldBytes -= e.size
	c.young[e.key] = e
	c.youngBytes += e.size
	e.gen = c.gen
}

// changed marks e to be written back.
func (c *genCache[V]) changed(e *genEntry[V]) {
	if !e.dirty {
		e.dirty = true
		c.dirty = append(c.dirty, e)
	}
}

// resize records e's new size.
func (c *genCache[V]) resize(e *genEntry[V], size int) {
	if e.gen == c.gen {
		c.youngBytes += size - e.size
	} else {
		c.oldBytes += size - e.size
	}
	e.size = size
}

// full reports whether the young generation is past its half of the
// limit, or both together past the limit (the share shrank since the old
// one filled): the caller writes back, then rotates.
func (c *genCache[V]) full() bool {
	half := c.halfLimit()
	c.share.Use(c.bytes())
	return c.youngBytes >= half || c.youngBytes+c.oldBytes >= 2*half
}

// writeBack calls put for every changed entry that was not dropped since,
// in the order they were first changed, and marks them clean; put returns
// the entry's new size.
func (c *genCache[V]) writeBack(put func(e *genEntry[V]) (int, error)) error {
	return c.writeBackOf(false, put)
}

// writeBackOld is writeBack for the old generation's changed entries
// only, the ones a rotation forgets; the young ones' changes stay in the
// list, in their order, to be written back later (a group updated again
// before then is written once).
func (c *genCache[V]) writeBackOld(put func(e *genEntry[V]) (int, error)) error {
	return c.writeBackOf(true, put)
}

// writeBackOf writes back the changed entries, the old generation's only
// when oldOnly is set. What is not written back stays listed, in order.
func (c *genCache[V]) writeBackOf(oldOnly bool, put func(e *genEntry[V]) (int, error)) error {
	kept := c.dirty[:0]
	for i, e := range c.dirty {
		switch {
		case e.gone:
			continue
		case oldOnly && e.gen == c.gen:
			kept = append(kept, e)
			continue
		}
		size, err := put(e)
		if err != nil {
			n := copy(c.dirty[len(kept):], c.dirty[i:])
			c.dirty = c.dirty[:len(kept)+n]
			return err
		}
		e.dirty = false
		c.resize(e, size)
	}
	clear(c.dirty[len(kept):])
	c.dirty = kept
	return nil
}

// rotate forgets the old generation and makes the young one old. Every
// change of the old generation must have been written back (writeBack,
// writeBackOld).
func (c *genCache[V]) rotate() { c.rotateKeeping(nil) }

// rotateKeeping rotates as rotate does, keeping keep (when not nil, an
// entry of either generation) young.
func (c *genCache[V]) rotateKeeping(keep *genEntry[V]) {
	if invariants.Enabled {
		for _, e := range c.old {
			if e.dirty && e != keep {
				panic(fmt.Sprintf("invariant: rotation forgets %x, which is not written back", e.key))
			}
		}
	}
	if keep != nil {
		// Out of its generation, and young afterwards.
		c.dropEntry(keep)
		keep.gone = false
	}
	c.old, c.young = c.young, c.old
	clear(c.young)
	c.gen++
	c.oldBytes, c.youngBytes = c.youngBytes, 0
	if keep != nil {
		keep.gen = c.gen
		c.young[keep.key] = keep
		c.youngBytes += keep.size
	}
	c.share.Use(c.bytes())
}

// forget drops everything; the caller has written it back, or is
// dropping the changes with the store's pending writes.
func (c *genCache[V]) forget() {
	clear(c.young)
	clear(c.old)
	clear(c.dirty)
	c.dirty = c.dirty[:0]
	c.youngBytes, c.oldBytes = 0, 0
	c.share.Use(0)
}

// drop forgets the entry of key, if the cache holds one (dropEntry).
func (c *genCache[V]) drop(key []byte) {
	if e, ok := c.young[string(key)]; ok {
		c.dropEntry(e)
	} else if e, ok := c.old[string(key)]; ok {
		c.dropEntry(e)
	}
}

// dropEntry forgets e (nil: nothing), whose state the store has deleted
// or is written through: an entry still to be written back is marked
// gone, and not written.
func (c *genCache[V]) dropEntry(e *genEntry[V]) {
	if e == nil {
		return
	}
	if e.gen == c.gen {
		delete(c.young, e.key)
		c.youngBytes -= e.size
	} else {
		delete(c.old, e.key)
		c.oldBytes -= e.size
	}
	e.gone = true
}

// groupCache is the cache of groups, by state key.
type groupCache = genCache[*cachedGroup]

// cachedGroup is one group (and window) in the cache.
type cachedGroup struct {
	// key is the group's key, decoded once when the group enters the
	// cache; the rows emitted for it share it (nothing changes a key).
	key  types.Row
	accs []agg.Accumulator
	// end is the window's end (0 unwindowed); ts the group's timestamp,
	// the latest time it was stamped with (see update), noTime while its
	// state is of the old format and it has not been updated since.
	end, ts int64
	// live is whether the group is in the store (or will be at the next
	// write-back): false only while the store has no state for it. A
	// group whose rows are all retracted stays live, its COUNT 0, as
	// ksqlDB keeps it (see update); its state goes when its window
	// expires.
	live bool
	// seen holds every distinct value key the group has had, when its
	// DISTINCT calls keep their sets in the store (aggdistinct.go), and
	// id is the group's id in those keys (0 until it has one).
	seen *seenFilter
	id   uint64
	// pending is set while the group has a change to emit at the next
	// emitPending (Aggregator.EmitCacheBytes).
	pending bool
}

// groupSize is what a cached group costs: its key, its encoded
// accumulators, the map entry and structs.
func groupSize(sk, encoded int, g *cachedGroup) int {
	n := sk + encoded + 96 + 16*len(g.accs) + 72*len(g.key)
	if g.seen != nil {
		n += g.seen.size()
	}
	return n
}

func newGroupCache(limit int) *groupCache { return newGenCache[*cachedGroup](limit) }

// groupFilterBytes is the group filter's weight in the engine's budget
// (and its bound outside it): about what 1<<21 keys cost, at 10 bits
// each with the filter's layers doubling up to there.
const groupFilterBytes = 5 << 20

// nextLayerBytes is what adding a key allocates: a new layer's bytes when
// the last one is full, else 0.
func (f *seenFilter) nextLayerBytes() int {
	keys := seenFirstKeys
	if n := len(f.layers); n > 0 {
		last := &f.layers[n-1]
		if last.n < last.limit {
			return 0
		}
		keys = 2 * last.limit
	}
	return 8*((keys*seenBitsPer+63)/64) + 32
}

// filterFits reports whether f can take one more key and stay within
// limit bytes; only a key that needs a new layer reads the limit.
func filterFits(f *seenFilter, limit func() int) bool {
	next := f.nextLayerBytes()
	return next == 0 || f.size()+next <= limit()
}

// groupFilter holds every state key of a group that the store may have,
// as a Bloom filter (seenFilter), so that a group the cache misses and
// the store has never had — a new key of a GROUP BY, a new window — is
// known new without a point read of the store, which for such a key
// misses the memtables and every level's table (Nexmark's q18: a tenth
// of its CPU, in pebble's Get). It is built when the task starts, from
// a scan of the store's groups, and takes each new group as it is
// cached. It holds at most its share of the engine's budget (weight
// groupFilterBytes). A store whose groups take more than half the share
// has no filter: every miss reads the store, as before. When new groups
// would take it past its share, it is dropped, and built again from the
// store at the next Flush, after the cache is written back; deleted
// groups (expired windows) stay in it, as possibly present, until then.
type groupFilter struct {
	f *seenFilter
	// added counts the keys the filter has taken since it was built.
	added int
	// limit, when not 0, is the keys it takes before it is rebuilt,
	// instead of its share (tests).
	limit int
	// share is the filter's part of the engine's budget, drawn by the
	// aggregator with its cache; nil is a fixed groupFilterBytes.
	share *membudget.Share
	// off is set when the store has too many groups for the filter;
	// rebuild is set when the filter is full.
	off, rebuild bool
}

// bytes is what the filter may hold now.
func (gf *groupFilter) bytes() int {
	if gf.share == nil {
		return groupFilterBytes
	}
	return gf.share.Bytes()
}

// maxGroupFilterLayers is how many layers the group filter may grow to
// before the next Flush builds it again in one. Each layer is a Bloom
// filter twice the last one's size, each with its own false positives
// (about 1% once full) and its own probes: a task that sees a million new
// groups would otherwise grow 12 layers, a store read for about one new
// group in twelve and a dozen probes, mostly cache misses, for each
// (the 1M-key GROUP BY: a tenth of its aggregation's CPU).
const maxGroupFilterLayers = 4

// build fills the filter with the store's group keys; it turns the
// filter off when they are too many. capacity, when not 0, is the keys
// its first layer is sized for, if that fits half its share.
func (gf *groupFilter) build(s state.Store, capacity int) error {
	gf.f, gf.added, gf.off, gf.rebuild = &seenFilter{}, 0, false, false
	half := func() int { return gf.bytes() / 2 }
	if capacity > seenFirstKeys {
		if l := newBloomLayerBytes(capacity); l <= half() {
			gf.f.layers = []bloomLayer{newBloomLayer(capacity)}
		}
	}
	err := s.Scan([]byte{'a'}, []byte{'b'}, func(k, _ []byte) bool {
		if (gf.limit != 0 && gf.added >= gf.limit/2) || (gf.limit == 0 && !filterFits(gf.f, half)) {
			gf.off = true
			return false
		}
		gf.add(k)
		return true
	})
	if gf.off {
		gf.f = nil
	}
	gf.report()
	return err
}

// newBloomLayerBytes is what newBloomLayer(keys) holds, as size counts it.
func newBloomLayerBytes(keys int) int { return 8*((keys*seenBitsPer+63)/64) + 32 }

// layered reports whether the filter has grown more layers than
// maxGroupFilterLayers: the next Flush builds it again in one.
func (gf *groupFilter) layered() bool {
	return gf.f != nil && len(gf.f.layers) > maxGroupFilterLayers
}

// report tells the budget what the filter holds.
func (gf *groupFilter) report() {
	if gf.share == nil {
		return
	}
	n := 0
	if gf.f != nil {
		n = gf.f.size()
	}
	gf.share.Use(n)
}

// mayHave reports whether the store may hold the group of state key sk;
// false is certain.
func (gf *groupFilter) mayHave(sk []byte) bool {
	return gf.off || gf.f.mayHave(seenHash(sk))
}

// add records a group the store may now hold. A key that would take the
// filter past its share turns it off (a filter that misses a key would
// answer wrong) until the rebuild at the next Flush.
func (gf *groupFilter) add(sk []byte) {
	if gf.off {
		return
	}
	if gf.limit == 0 && !filterFits(gf.f, gf.bytes) {
		gf.f, gf.off, gf.rebuild = nil, true, true
		gf.report()
		return
	}
	gf.f.add(seenHash(sk))
	gf.added++
	if gf.limit != 0 && gf.added >= gf.limit {
		gf.rebuild = true
	}
	if gf.f.nextLayerBytes() != 0 {
		gf.report()
	}
}
