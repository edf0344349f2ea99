package operators

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	mbits "math/bits"
	"slices"
	"sort"
	"unsafe"

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
// A side's records are grouped by join key in a hash map (one for both
// sides, an entry holding each side's records of its key), each key's in
// key order (time, then place) in a slice, and listed in the order they
// came for eviction. It was two B-trees over the whole record keys, the
// records and their times: two inserts of some 40-byte keys a record,
// each a descent comparing bytes (`windowIndex.put`, 7-9% of Nexmark's q4
// and q20), and a descent per scan. The records of a key come mostly in
// time order, so a put is an append, a scan a binary search in one
// key's records, and the oldest record of a key, which expiry deletes
// first, leaves from the front.
//
// It is rebuilt from the store when the join starts or recovers, and
// whenever the record that was being processed stopped halfway, so that
// it never answers with something the store does not hold. It is owned by
// its join's goroutine.
type windowIndex struct {
	side [2]indexSide
	// keys maps a join key (a record prefix without its 'r' and side:
	// uvarint(len(k)) k) to both sides' records of it. One map for both
	// sides: a record meets the other side's records of its key (scan)
	// and is then put with its own side's (put), and one entry for
	// both makes that one lookup, not one in each side's map (each a
	// miss in the processor's cache as often as not: the maps' work was
	// 0.27 s of Nexmark q4's 6.7 s of samples, lookups 0.21 s, and 0.18 s
	// with one map, lookups 0.07 s; BenchmarkWindowIndexManyKeys, 50,000
	// keys, some 1,130 CPU ns a record with a map a side, 780 with one).
	keys map[string]*keyPair
	// lastKey and last are the last join key looked up and its entry
	// (nil: none), valid while lastOK (lookup).
	lastKey []byte
	last    *keyPair
	lastOK  bool
	// keySlab is where the next keys' map keys' bytes go (keyString).
	keySlab []byte
	// drops is set when a side that the budget cannot hold for a whole
	// window is given up (see evict); reach is then, per side, how far
	// before a record's ROWTIME its scans of that side start (the
	// spec's lookAhead of the side), and now the join's stream time,
	// which the join keeps up to date.
	drops bool
	reach [2]int64
	now   int64
	// bytes is what both sides hold (indexEntryBytes each, with the
	// record's key and value); budget bounds it, or share (its part of
	// the engine's cache budget) when the join draws from one.
	bytes, budget int
	share         *membudget.Share
	// lim is the share's limit when it was last asked, asks how many
	// more puts use it (limit).
	lim, asks int
	// tail is keyRecords.settle's scratch.
	tail []indexRecord
	// pool keeps the arrays keys' records outgrew.
	pool recsPool
}

// limit is what the index may hold now, reported with what it holds:
// to and from the share once every limitAsks puts, not at each. The
// share's counters are atomics that every task's caches update, and
// asking them at every put was 0.12 s of Nexmark q4's 9.2 s of samples,
// more than the put's map lookup; a limit some puts old is a few
// kilobytes off in a budget of megabytes.
func (ix *windowIndex) limit() int {
	if ix.share == nil {
		return ix.budget
	}
	if ix.asks > 0 {
		ix.asks--
		return ix.lim
	}
	ix.asks = limitAsks - 1
	ix.share.Use(ix.bytes)
	ix.lim = ix.share.Bytes()
	return ix.lim
}

// limitAsks is how many puts use the limit the index last asked its
// share for.
const limitAsks = 64

// indexSide is one side's records.
type indexSide struct {
	// order lists record keys in the order they were put, the oldest
	// first, for eviction: an entry whose key is no longer held
	// (deleted, or evicted) is skipped when it comes up, and the list is
	// compacted when such entries outnumber the records. A key that left
	// is not put again (it holds its record's place in its input), so a
	// held key's entry is its record's; were it put again, the older
	// entry would only evict it sooner, which costs coverage (from), not
	// correctness.
	order orderQueue
	// from is the smallest ROWTIME from which the side holds every
	// record of the store (math.MinInt64: all of them).
	from int64
	// n is the records held, bytes their cost.
	n, bytes int
	// slab is where the side's next small records' bytes go
	// (newRecord).
	slab []byte
	// off is set while the side is given up (giveUp): it covers no
	// scan and takes no record. offAt is the stream time it was given up
	// at.
	off   bool
	offAt int64
}

// keyRecords are a join key's records, in key order.
//
// A join key has one record a side as often as not (a person who
// registers, in Nexmark's q8): first holds the first record in place, so
// that a new key costs one allocation for its records. pair is the
// entry of windowIndex.keys the records are one side of.
//
// The records of a key come from the partitions of its input interleaved
// in read batches, so that a record is as often as not a little older
// than the key's last one: in Nexmark's q4, 568,000 of 840,000 bids, each
// put then moving some 110 of a hot auction's records up a place (64
// million record moves, `slices.Insert`, with the copies of a slice
// that grows, a third of windowIndex.put). A record that is not the
// key's latest is appended to a tail instead, in the order it came, and
// the tail is sorted in (settle) when the key's records are next read in
// order: a scan, a search. In q4 a bid's key is scanned once, when its
// auction comes, and its tail is then sorted at once.
type keyRecords struct {
	recs []indexRecord
	// sorted is how many of recs, from the first, are in key order (and
	// no later than the rest); the others, the tail, are in the order
	// they came.
	sorted int32
	// class is log2 of the capacity of the array recs is in, base its
	// first record, when it came from the index's pool of arrays
	// (recsPool); base is nil while recs is first (or nil).
	class uint8
	base  *indexRecord
	first [1]indexRecord
	pair  *keyPair
}

// keyPair is a join key's records, both sides', and its key in
// windowIndex.keys, in bytes of the index's key slab (keyString). It is
// in the map while either side holds a record of the key.
type keyPair struct {
	side [2]keyRecords
	key  string
}

// lookup returns the entry of join key jk (nil: none). The last key
// looked up is kept with its answer: a record's put follows its scan of
// the other side, of the same key.
func (ix *windowIndex) lookup(jk []byte) *keyPair {
	if ix.lastOK && bytes.Equal(ix.lastKey, jk) {
		return ix.last
	}
	p := ix.keys[string(jk)]
	ix.lastKey, ix.last, ix.lastOK = append(ix.lastKey[:0], jk...), p, true
	return p
}

// joinKey is a record prefix's join key, its map key in windowIndex.keys.
func joinKey(prefix []byte) []byte { return prefix[2:] }

// recsPool keeps the arrays of records that keys outgrew or emptied, by
// capacity (1<<c records), for the next keys that grow to them. A key's
// records double as they come, and each array it outgrew was garbage: in
// Nexmark's q4, 55 MB of them over 920,000 bids, in memory the process
// had never touched, each page of which faulted in (some 13 µs a page
// here) when first written; the next hot auction's records grow through
// the same sizes, and take the last one's. Its arrays are cleared, so
// that they keep no record's bytes alive.
type recsPool struct {
	free [64][]*indexRecord
	// bytes is what the arrays held cost; limit bounds it.
	bytes, limit int
}

// take returns an empty slice of capacity 1<<c records.
func (p *recsPool) take(c uint8) []indexRecord {
	if n := len(p.free[c]); n > 0 {
		base := p.free[c][n-1]
		p.free[c] = p.free[c][:n-1]
		p.bytes -= (1 << c) * int(unsafe.Sizeof(indexRecord{}))
		return unsafe.Slice(base, 1<<c)[:0]
	}
	return make([]indexRecord, 0, 1<<c)
}

// release gives kr's array to the pool (once its records are elsewhere,
// or gone), if it came from it and the pool has room.
func (p *recsPool) release(kr *keyRecords) {
	if kr.base == nil {
		return
	}
	arr := unsafe.Slice(kr.base, 1<<kr.class)
	kr.base = nil
	if size := len(arr) * int(unsafe.Sizeof(indexRecord{})); p.bytes+size <= p.limit {
		clear(arr)
		p.free[kr.class] = append(p.free[kr.class], unsafe.SliceData(arr))
		p.bytes += size
	}
}

// compareRecords orders two records of a key: by time, then place.
func compareRecords(a, b *indexRecord) int {
	if c := cmp.Compare(a.ts, b.ts); c != 0 {
		return c
	}
	return bytes.Compare(a.place(), b.place())
}

// settle sorts kr's tail into its records, so that all of them are in
// key order, and drops the older of two records with equal keys (a
// record put again while the other was in the tail: the later put holds).
// buf is scratch for the tail, reused. It returns what the dropped records
// cost (indexEntryBytes each, with their bytes) and how many they were;
// the caller takes them off its counts.
func (kr *keyRecords) settle(buf *[]indexRecord) (dropped, bytes int) {
	n := len(kr.recs)
	if int(kr.sorted) >= n {
		kr.sorted = int32(n)
		return 0, 0
	}
	order := func(a, b indexRecord) int { return compareRecords(&a, &b) }
	// Stable, so that of two equal keys in the tail the later put comes
	// last.
	tail := kr.recs[kr.sorted:]
	slices.SortStableFunc(tail, order)
	// Merged from the back: the sorted records after the tail's first go
	// up, an equal key's record before the tail's.
	t := append((*buf)[:0], tail...)
	i, j, w := kr.sorted-1, len(t)-1, n-1
	for j >= 0 {
		if i >= 0 && compareRecords(&kr.recs[i], &t[j]) > 0 {
			kr.recs[w] = kr.recs[i]
			i--
		} else {
			kr.recs[w] = t[j]
			j--
		}
		w--
	}
	clear(t) // keeps no record's bytes alive
	*buf = t[:0]
	kr.sorted = int32(n)
	// Equal keys are adjacent now, and only where the tail went.
	from := max(w, 0)
	for k := max(from, 1); k < len(kr.recs); {
		if compareRecords(&kr.recs[k-1], &kr.recs[k]) != 0 {
			k++
			continue
		}
		dropped++
		bytes += kr.recs[k-1].cost()
		kr.recs = slices.Delete(kr.recs, k-1, k)
	}
	kr.sorted = int32(len(kr.recs))
	return dropped, bytes
}

// indexRecord is one record: its place in its input (partition and
// offset, placeBytes of them) then its value, vlen bytes, in the bytes
// that data points to (newRecord). The rest of its record key, its join
// key's prefix and its time, is its keyRecords' prefix and ts: every
// record of a key has the same prefix, and the time is ts, so that
// neither is kept again (19 of the 59 bytes of a bid of Nexmark's q4,
// all of which were fresh memory, faulted in page by page). A pointer
// with a 32-bit length rather than a slice header makes a record 24
// bytes where it was 40: what a key's records cost to move when their
// slice grows.
//
// ts is the record's ROWTIME: the searches of a key's records (find,
// scan) compare times. Records of equal time fall back to their place.
type indexRecord struct {
	data *byte
	vlen uint32
	ts   int64
}

// placeBytes is the length of a record key's place, its partition and
// offset.
const placeBytes = placeLen - 8

// newIndexRecord copies place and value into a record at ROWTIME ts, in
// bytes of its own. A value is nowhere near 4 GiB: a row of a log
// record, which the log bounds far lower.
func newIndexRecord(place, value []byte, ts int64) indexRecord {
	return recordIn(make([]byte, len(place)+len(value)), place, value, ts)
}

// recordIn copies place and value into buf, len(place)+len(value) bytes,
// as a record at ROWTIME ts.
func recordIn(buf, place, value []byte, ts int64) indexRecord {
	copy(buf, place)
	copy(buf[len(place):], value)
	return indexRecord{data: unsafe.SliceData(buf), vlen: uint32(len(value)), ts: ts}
}

// newRecord is newIndexRecord for a record of the side, its bytes
// carved from the side's current slab (a small record; a large one
// has its own): an allocation every slabBytes rather than one a record,
// which was a tenth of windowIndex.put in Nexmark's q4 and a fifth in
// q20. A slab lives until the last record carved from it has left the
// index; records leave a side about in the order they came (eviction
// goes in that order, expiry and sweeps in time order), so the slabs
// alive beyond what the side holds are a few at its ends. The sides
// have a slab each: q4's auctions stay while its bids are evicted, and
// would keep the bids' slabs alive.
func (is *indexSide) newRecord(place, value []byte, ts int64) indexRecord {
	n := len(place) + len(value)
	if n > slabBytes/8 {
		return newIndexRecord(place, value, ts)
	}
	return recordIn(is.carve(n), place, value, ts)
}

// carve returns n bytes (at most slabBytes/8) of the side's slab.
func (is *indexSide) carve(n int) []byte {
	if cap(is.slab)-len(is.slab) < n {
		is.slab = make([]byte, 0, slabBytes)
	}
	at := len(is.slab)
	is.slab = is.slab[:at+n]
	return is.slab[at : at+n : at+n]
}

// keyString returns jk as a string for a new key's map entry: in the
// index's key slab, unless it is long. Keys have a slab of their own, not
// a side's: a key stays while either side holds a record of it, and
// would keep the other side's slab alive.
func (ix *windowIndex) keyString(jk []byte) string {
	if len(jk) > slabBytes/8 || len(jk) == 0 {
		return string(jk)
	}
	if cap(ix.keySlab)-len(ix.keySlab) < len(jk) {
		ix.keySlab = make([]byte, 0, slabBytes)
	}
	at := len(ix.keySlab)
	ix.keySlab = append(ix.keySlab, jk...)
	return unsafe.String(&ix.keySlab[at], len(jk))
}

// recsPoolShare is the part of the index's budget its pool of arrays may
// hold (an eighth): one of each size a hot key grows through, for keys of
// up to some 80,000 records under the default budget.
const recsPoolShare = 8

// slabBytes is the size of an index side's slabs.
const slabBytes = 16 << 10

// all is the record's bytes, its place then its value.
func (r *indexRecord) all() []byte   { return unsafe.Slice(r.data, placeBytes+int(r.vlen)) }
func (r *indexRecord) place() []byte { return unsafe.Slice(r.data, placeBytes) }
func (r *indexRecord) value() []byte { return r.all()[placeBytes:] }

// cost is what the record counts for in the index's bytes.
func (r *indexRecord) cost() int { return placeBytes + int(r.vlen) + indexEntryBytes }

// indexOrder is an entry of indexSide.order: a record's time and the
// bytes of its place (data, which its record's bytes begin with and
// which never change), and its prefix's records when it was put.
type indexOrder struct {
	recs *keyRecords
	data *byte
	ts   int64
}

// place is the entry's record's place.
func (o *indexOrder) place() []byte { return unsafe.Slice(o.data, placeBytes) }

// indexEntryBytes is what a record costs the index beyond its place and
// value bytes: its entry in its key's records and in the order list
// (a pointer, a length and a time; two pointers and a time), its key's
// share (the map's entry and prefix) and the slices' room to grow.
const indexEntryBytes = 128

// DefaultJoinIndexBytes is StreamStreamJoin.IndexBytes's default: 32 MiB
// of a join task's most recent records, both sides together.
const DefaultJoinIndexBytes = 32 << 20

// placeLen is the length of a record key's time and place suffix.
const placeLen = 8 + 12

func newWindowIndex(budget int) *windowIndex {
	ix := &windowIndex{budget: budget, keys: make(map[string]*keyPair)}
	ix.pool.limit = budget / recsPoolShare
	for s := range ix.side {
		ix.side[s] = indexSide{from: math.MinInt64}
	}
	return ix
}

// load rebuilds the index from what store holds.
func (ix *windowIndex) load(store state.Store) error {
	ix.bytes, ix.asks = 0, 0
	ix.keys, ix.last, ix.lastOK = make(map[string]*keyPair), nil, false
	for s := range ix.side {
		ix.side[s] = indexSide{from: math.MinInt64}
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

// settle is keyRecords.settle for a key of the side, its counts kept.
func (is *indexSide) settle(ix *windowIndex, kr *keyRecords) {
	if int(kr.sorted) >= len(kr.recs) {
		return
	}
	n, b := kr.settle(&ix.tail)
	is.n -= n
	is.bytes -= b
	ix.bytes -= b
}

// covers reports whether side's scans from ROWTIME lo on can be answered
// here.
func (ix *windowIndex) covers(side int, lo int64) bool {
	return !ix.side[side].off && lo >= ix.side[side].from
}

// find returns the position of the record at time ts and place among
// kr's records, and whether it is there (if not, where it would go). The
// records must be in key order (no tail: settle).
//
// Every record of kr has the same prefix (its join key), so only the time
// and place suffixes are compared. A record that is not the latest is
// most often only a little late (the partitions of a repartition topic
// interleave in read batches), so the search gallops back from the end
// rather than bisecting all of a hot key's records: in Nexmark's q4 and
// q20 the bisection over whole keys was most of windowIndex.put's search.
func (kr *keyRecords) find(ts int64, place []byte) (int, bool) {
	recs := kr.recs
	n := len(recs)
	if n == 0 {
		return 0, false
	}
	compare := func(i int) int {
		r := &recs[i]
		if c := cmp.Compare(r.ts, ts); c != 0 {
			return c
		}
		return bytes.Compare(r.place(), place)
	}
	c := compare(n - 1)
	switch {
	case c < 0:
		return n, false
	case c == 0:
		return n - 1, true
	}
	// recs[hi] is after key; find lo, the last one before it (-1: none).
	hi, lo := n-1, -1
	for step := 1; ; step *= 2 {
		j := hi - step
		if j < 0 {
			break
		}
		c := compare(j)
		if c == 0 {
			return j, true
		}
		if c < 0 {
			lo = j
			break
		}
		hi = j
	}
	// key falls in (lo, hi].
	i := lo + 1 + sort.Search(hi-lo-1, func(k int) bool { return compare(lo+1+k) >= 0 })
	return i, i < hi && compare(i) == 0
}

// findOldest is find for a key that is most likely kr's first (eviction
// takes records in the order they came, which is about time order): one
// comparison, not a search through a hot key's records.
// The first record is the oldest put while the key has a tail too, or one
// of the tail's.
func (is *indexSide) findOldest(ix *windowIndex, kr *keyRecords, ts int64, place []byte) (int, bool) {
	if len(kr.recs) > 0 && kr.recs[0].ts == ts && bytes.Equal(kr.recs[0].place(), place) {
		return 0, true
	}
	is.settle(ix, kr)
	return kr.find(ts, place)
}

// put holds (or replaces) a record that side's store now holds, unless it
// is older than what the side holds completely. key and value are
// copied.
func (ix *windowIndex) put(side int, key, value []byte) {
	is := &ix.side[side]
	if is.off && !ix.retake(side) {
		return
	}
	at := len(key) - placeLen
	ts, place := readTime(key[at:]), key[at+8:]
	if ts < is.from {
		return
	}
	jk := joinKey(key[:at])
	p := ix.lookup(jk)
	if p == nil {
		// Put in the map below, once the record's bytes are the key's.
		p = &keyPair{}
		p.side[0].pair, p.side[1].pair = p, p
	}
	kr := &p.side[side]
	if cap(kr.recs) == 0 {
		kr.recs = kr.first[:0:1]
	}
	// Where the record goes: appended when it is the key's latest, or
	// when the key has a tail (settle sorts it in, and drops an equal
	// key's older record); else a search says whether it replaces a
	// record, and if not it starts the tail.
	i, found := len(kr.recs), false
	if n := len(kr.recs); n > 0 && int(kr.sorted) == n {
		last := &kr.recs[n-1]
		if ts < last.ts || (ts == last.ts && bytes.Compare(place, last.place()) <= 0) {
			i, found = kr.find(ts, place)
			if !found {
				i = n
			}
		}
	}
	if found {
		// The order list keeps its entry, whose key bytes are equal.
		r := &kr.recs[i]
		n := len(value) - len(r.value())
		if n == 0 {
			// A record marked as matched: its flags byte changes.
			copy(r.value(), value)
		} else {
			*r = is.newRecord(place, value, ts)
		}
		ix.bytes += n
		is.bytes += n
	} else {
		r := is.newRecord(place, value, ts)
		if len(kr.recs) == 0 {
			kr.recs = append(kr.recs, r)
			kr.sorted = 1
			if p.key == "" {
				p.key = ix.keyString(jk)
				ix.keys[p.key] = p
				// lookup's answer for jk, a moment ago, was none.
				ix.last = p
			}
		} else {
			// In order when it is the latest of a key without tail.
			inOrder := int(kr.sorted) == len(kr.recs)
			if inOrder {
				last := &kr.recs[len(kr.recs)-1]
				inOrder = ts > last.ts || (ts == last.ts && bytes.Compare(place, last.place()) > 0)
			}
			if len(kr.recs) == cap(kr.recs) {
				// Doubled, where append grows a large slice by a quarter:
				// a hot key's records (tens of thousands of q4's bids)
				// were copied some five times over as they came, and
				// once a key's oldest leave from the front (which takes
				// their room from its capacity), every quarter of its
				// count anew; doubled, about once. The room is within
				// indexEntryBytes.
				// From the pool, the outgrown array to it.
				c := uint8(mbits.Len(uint(2*len(kr.recs) - 1)))
				grown := ix.pool.take(c)[:len(kr.recs)]
				copy(grown, kr.recs)
				ix.pool.release(kr)
				kr.recs, kr.base, kr.class = grown, unsafe.SliceData(grown), c
				// The records moved: first must not keep the one it held
				// alive after it leaves.
				kr.first[0] = indexRecord{}
			}
			kr.recs = append(kr.recs, r)
			if inOrder {
				kr.sorted++
			}
		}
		is.order.push(indexOrder{recs: kr, data: r.data, ts: ts})
		n := r.cost()
		ix.bytes += n
		is.bytes += n
		is.n++
	}
	for limit := ix.limit(); ix.bytes > limit && ix.evict(); {
	}
}

// orderQueue is a first-in first-out list of indexOrder entries, kept in
// blocks of orderBlock: an append fills the last block, a take empties
// the first, and a block emptied is kept for the next one needed. It was
// one slice, grown by append as the index filled and moved down over its
// spent entries once evictions began: in Nexmark's q4, whose index holds
// some 180,000 bids a task before it evicts, the growth of that slice
// (copies of up to 9 MB into memory the task had never touched, each
// page faulted in) was 0.5 s of 16 s of samples, more than the rest of
// the index's put. A block is 32 KiB, taken once and reused.
type orderQueue struct {
	// blocks hold the entries from blocks[0][head] to the last block's
	// [tail-1].
	blocks     []*[orderBlock]indexOrder
	head, tail int
	// spare is an emptied block (cleared), for the next append that
	// needs one.
	spare *[orderBlock]indexOrder
}

// orderBlock is the entries of a block of an orderQueue.
const orderBlock = 1024

// len is the number of entries listed.
func (q *orderQueue) len() int {
	if len(q.blocks) == 0 {
		return 0
	}
	return (len(q.blocks)-1)*orderBlock + q.tail - q.head
}

// push appends o.
func (q *orderQueue) push(o indexOrder) {
	if len(q.blocks) == 0 || q.tail == orderBlock {
		b := q.spare
		if b == nil {
			b = new([orderBlock]indexOrder)
		}
		q.spare = nil
		q.blocks = append(q.blocks, b)
		q.tail = 0
		if len(q.blocks) == 1 {
			q.head = 0
		}
	}
	q.blocks[len(q.blocks)-1][q.tail] = o
	q.tail++
}

// take removes and returns the oldest entry; ok is false when there is
// none.
func (q *orderQueue) take() (o indexOrder, ok bool) {
	if q.len() == 0 {
		return indexOrder{}, false
	}
	b := q.blocks[0]
	o, b[q.head] = b[q.head], indexOrder{}
	q.head++
	if q.head == orderBlock || (len(q.blocks) == 1 && q.head == q.tail) {
		// The first block is spent (every entry it held is cleared).
		// Moving the block pointers down keeps the array of them from
		// growing with every block ever used.
		q.spare = b
		n := copy(q.blocks, q.blocks[1:])
		q.blocks[n] = nil
		q.blocks = q.blocks[:n]
		q.head = 0
	}
	return o, true
}

// filter keeps, in order and in place, the entries for which keep is
// true, and clears the others' places; the blocks emptied at the end are
// let go but for a spare.
func (q *orderQueue) filter(keep func(o indexOrder) bool) {
	if len(q.blocks) == 0 {
		return
	}
	// The writer (wb, wi) never passes the reader (rb, ri).
	wb, wi := 0, q.head
	for rb, b := range q.blocks {
		lo, hi := 0, orderBlock
		if rb == 0 {
			lo = q.head
		}
		if rb == len(q.blocks)-1 {
			hi = q.tail
		}
		for ri := lo; ri < hi; ri++ {
			o := b[ri]
			b[ri] = indexOrder{}
			if !keep(o) {
				continue
			}
			if wi == orderBlock {
				wb, wi = wb+1, 0
			}
			q.blocks[wb][wi] = o
			wi++
		}
	}
	if wb == 0 && wi == q.head {
		// Nothing kept: the first block is emptied too.
		wi = -1
	}
	if wi < 0 {
		q.spare = q.blocks[0]
		clear(q.blocks)
		q.blocks, q.head, q.tail = q.blocks[:0], 0, 0
		return
	}
	if wb+1 < len(q.blocks) {
		q.spare = q.blocks[wb+1]
	}
	clear(q.blocks[wb+1:])
	q.blocks, q.tail = q.blocks[:wb+1], wi
}

// evict drops the oldest record of the side that holds the most bytes,
// so that a small side (the auctions bids look up, say) stays whole while
// a large one gives way; it reports false when there was nothing to drop.
// The oldest is the first put that is still held: records come in about
// time order, and one that came late only makes from rise sooner.
//
// With drops, a side whose oldest record must go while it is still within
// reach of a record arriving now (ROWTIME >= now - reach) is given up
// whole instead: a scan of that side from a record arriving now starts
// before what the side would hold, so none would be answered here, and
// the puts that kept it were work for nothing. In Nexmark's q20 (a day's
// window either way) the bids went so once the index was full, and every
// auction's scan of them read the store; keeping them was a tenth of the
// CPU (windowIndex.put). In q4 the auctions' scans of the bids start at
// the auction's own time, which the bids the index keeps do cover.
func (ix *windowIndex) evict() bool {
	s := 0
	if ix.side[1].bytes > ix.side[0].bytes {
		s = 1
	}
	is := &ix.side[s]
	for {
		o, ok := is.order.take()
		if !ok {
			return false
		}
		if i, ok := is.findOldest(ix, o.recs, o.ts, o.place()); ok {
			ts := o.ts
			if ix.drops && ts >= satSub(ix.now, ix.reach[s]) {
				ix.giveUp(s)
				return true
			}
			// Every record at that time may not be held any more: the
			// side is complete from the next millisecond on.
			is.from = max(is.from, satAdd(ts, 1))
			ix.remove(s, o.recs, i)
			return true
		}
	}
}

// giveUp drops every record of side and takes none until the stream
// time has moved a reach past now (retake), or the index is loaded again.
func (ix *windowIndex) giveUp(side int) {
	is := &ix.side[side]
	ix.bytes -= is.bytes
	*is = indexSide{from: math.MaxInt64, off: true, offAt: ix.now}
	for k, p := range ix.keys {
		// Its arrays are dropped, not pooled: the pool is for keys that
		// grow through its sizes, not for a side's worth at once.
		p.side[side] = keyRecords{pair: p}
		if len(p.side[1-side].recs) == 0 {
			delete(ix.keys, k)
			p.key = ""
		}
	}
	ix.lastOK = false
}

// retake takes a side given up again once the stream time has moved a
// reach past when it was (a burst that filled the index has passed, or
// the index's share of the budget has grown), from the next millisecond
// on: the store holds no record of the side later than the stream time,
// so the side then holds every one from there. It is the coverage the
// side would have had had its records been evicted one by one instead (a
// scan reaches back a reach, to records at most a reach older than the
// last evicted one), a reach later at worst. It reports whether side
// takes records.
func (ix *windowIndex) retake(side int) bool {
	is := &ix.side[side]
	if !is.off {
		return true
	}
	if ix.now <= satAdd(is.offAt, ix.reach[side]) || ix.now == math.MaxInt64 {
		return false
	}
	*is = indexSide{from: ix.now + 1}
	return true
}

// remove drops record i of kr, one of side's keys' records.
func (ix *windowIndex) remove(side int, kr *keyRecords, i int) {
	is := &ix.side[side]
	n := kr.recs[i].cost()
	ix.bytes -= n
	is.bytes -= n
	is.n--
	if i < int(kr.sorted) {
		kr.sorted--
	}
	switch {
	case i == 0:
		// The oldest, as a rule: the slice moves on.
		kr.recs[0] = indexRecord{}
		kr.recs = kr.recs[1:]
	case i < len(kr.recs)/2:
		// Near the front (eviction goes in the order records came, which
		// a key's records from interleaved partitions do not keep): move
		// the records before it up, not all of the hot key's after it
		// down, which was a copy of the whole slice per eviction.
		copy(kr.recs[1:i+1], kr.recs[:i])
		kr.recs[0] = indexRecord{}
		kr.recs = kr.recs[1:]
	default:
		kr.recs = slices.Delete(kr.recs, i, i+1)
	}
	if len(kr.recs) == 0 {
		kr.recs = nil
		ix.pool.release(kr)
		if p := kr.pair; len(p.side[1-side].recs) == 0 {
			delete(ix.keys, p.key)
			p.key = ""
			if ix.last == p {
				ix.lastOK = false
			}
		}
	}
	// Entries of records that left before their turn: compact the list
	// when they are more than the records held.
	if is.order.len() > 2*is.n+64 {
		is.order.filter(func(o indexOrder) bool {
			is.settle(ix, o.recs)
			_, ok := o.recs.find(o.ts, o.place())
			return ok
		})
	}
}

// delete drops a record the store no longer holds.
func (ix *windowIndex) delete(side int, key []byte) {
	at := len(key) - placeLen
	is := &ix.side[side]
	p := ix.lookup(joinKey(key[:at]))
	if p == nil {
		return
	}
	kr := &p.side[side]
	is.settle(ix, kr)
	if i, ok := kr.find(readTime(key[at:]), key[at+8:]); ok {
		ix.remove(side, kr, i)
	}
}

// get returns a record's value, if side holds it; the slice is the
// index's, valid until its next change.
func (ix *windowIndex) get(side int, key []byte) ([]byte, bool) {
	at := len(key) - placeLen
	is := &ix.side[side]
	p := ix.lookup(joinKey(key[:at]))
	if p == nil {
		return nil, false
	}
	kr := &p.side[side]
	is.settle(ix, kr)
	if i, ok := kr.find(readTime(key[at:]), key[at+8:]); ok {
		return kr.recs[i].value(), true
	}
	return nil, false
}

// scan calls fn for side's records of join key prefix (recordPrefix)
// whose ROWTIME is in [lo, hi], in key order, as a Store.Scan of that
// range does, with each record's time, place and value (its key is
// prefix, time, place); the slices are the index's, and fn must not
// change it.
func (ix *windowIndex) scan(side int, prefix []byte, lo, hi int64, fn func(ts int64, place, value []byte) bool) {
	is := &ix.side[side]
	p := ix.lookup(joinKey(prefix))
	if p == nil {
		return
	}
	kr := &p.side[side]
	is.settle(ix, kr)
	recs := kr.recs
	i := 0
	if len(recs) > 0 && recs[0].ts < lo {
		i = sort.Search(len(recs), func(i int) bool { return recs[i].ts >= lo })
	}
	for ; i < len(recs); i++ {
		r := &recs[i]
		if r.ts > hi || !fn(r.ts, r.place(), r.value()) {
			return
		}
	}
}

// count is the number of records side holds.
func (ix *windowIndex) count(side int) int { return ix.side[side].n }
