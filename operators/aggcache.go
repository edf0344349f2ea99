package operators

import (
	"github.com/runnel/runnel/operators/agg"
)

// DefaultAggCacheBytes is the default bound of an aggregation task's
// group cache (Aggregator.CacheBytes).
const DefaultAggCacheBytes = 1 << 20

// groupCache is an aggregation task's write-back cache of groups, in front
// of its state store, as Kafka Streams' record cache is: a group's
// accumulators stay decoded in memory between the records that update
// it, and reach the store (encoded, once) when the task flushes before it
// commits. A hot group, which half of Nexmark's bids update, then costs a
// map lookup per record instead of a store read, a decoding and an
// encoding. What a commit makes durable is what it was without the
// cache: Flush writes every changed group back into the store's pending
// writes first, so exactly-once does not change; Recover drops the cache
// with those writes.
//
// The cache holds at most about limit bytes: past it, the groups are
// written back and forgotten, and read from the store again when they are
// next updated. A group's size is reckoned from its encoding when it is
// read or written back; between two flushes its accumulators may grow by
// what the batch's records add to them, no more.
//
// Session windows do not use it: a session is found by scanning the store
// for its key's sessions, which must see every change.
type groupCache struct {
	limit int
	bytes int
	// groups by state key.
	groups map[string]*cachedGroup
	// dirty are the groups changed since they were last written back.
	dirty []*cachedGroup
}

// cachedGroup is one group (and window) in the cache.
type cachedGroup struct {
	sk   string
	accs []agg.Accumulator
	// end is the window's end (0 unwindowed).
	end int64
	// live is whether the group has rows: false once its last row is
	// retracted (it is then deleted from the store), or when the store
	// had no state for it.
	live  bool
	dirty bool
	size  int
}

// entryOverhead is what a cached group costs beyond its key and encoded
// accumulators: the map entry, the struct and the accumulators' headers.
const entryOverhead = 96

func newGroupCache(limit int) *groupCache {
	if limit <= 0 {
		limit = DefaultAggCacheBytes
	}
	return &groupCache{limit: limit, groups: make(map[string]*cachedGroup)}
}

// get returns the cached group of state key sk, or nil.
func (c *groupCache) get(sk []byte) *cachedGroup { return c.groups[string(sk)] }

// add caches a group read from the store; encoded is the size of its
// stored state (0 when it had none).
func (c *groupCache) add(sk []byte, accs []agg.Accumulator, end int64, live bool, encoded int) *cachedGroup {
	g := &cachedGroup{sk: string(sk), accs: accs, end: end, live: live}
	g.size = len(g.sk) + encoded + entryOverhead + 16*len(accs)
	c.groups[g.sk] = g
	c.bytes += g.size
	return g
}

// changed marks g to be written back.
func (c *groupCache) changed(g *cachedGroup) {
	if !g.dirty {
		g.dirty = true
		c.dirty = append(c.dirty, g)
	}
}

// full reports whether the cache is past its bound.
func (c *groupCache) full() bool { return c.bytes > c.limit }

// writeBack writes every changed group into the store through put and
// del, in the order they were first changed, and re-reckons their sizes.
func (c *groupCache) writeBack(put func(sk string, g *cachedGroup) (int, error), del func(sk string) error) error {
	for i, g := range c.dirty {
		if g.live {
			n, err := put(g.sk, g)
			if err != nil {
				c.dirty = c.dirty[i:]
				return err
			}
			size := len(g.sk) + n + entryOverhead + 16*len(g.accs)
			c.bytes += size - g.size
			g.size = size
		} else if err := del(g.sk); err != nil {
			c.dirty = c.dirty[i:]
			return err
		}
		g.dirty = false
	}
	clear(c.dirty)
	c.dirty = c.dirty[:0]
	return nil
}

// forget drops every group; the caller has written them back, or is
// dropping their changes with the store's pending writes.
func (c *groupCache) forget() {
	clear(c.groups)
	clear(c.dirty)
	c.dirty = c.dirty[:0]
	c.bytes = 0
}

// drop forgets one group, whose state the store has deleted.
func (c *groupCache) drop(sk []byte) {
	if g, ok := c.groups[string(sk)]; ok {
		c.bytes -= g.size
		delete(c.groups, string(sk))
		if g.dirty {
			// Still on the dirty list: written back as a delete, which
			// agrees with the store.
			g.live = false
		}
	}
}
