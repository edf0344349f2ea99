package state

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"hash/maphash"
	"slices"
)

// pendingWrites holds a TaskStore's writes since its last Commit or Abort,
// one entry per key, the last write winning, in the order each key was
// first written (Kafka Streams' record cache does the same for what goes
// to its store). For a store that does not Scan while writes are pending,
// it replaces an indexed Pebble batch, which cost every write an insert
// into the batch's skip list and then handed the memtable the writes in
// the random order they came, each insert a search from the top of the
// memtable's skip list (`arenaskl.findSpliceForLevel`). Here a write is
// an append and an insert into an index of the keys, a key written again
// is written to the database once, and TaskStore.applyPending hands the writes over in key
// order, so that the memtable's inserter starts each search from the last
// one's place.
//
// Keys are the store's keys without its prefix. Used by its TaskStore's
// goroutine only.
type pendingWrites struct {
	// arena holds the keys and values; an entry's bytes never change once
	// written (an overwrite appends the new value), which a Scan relies
	// on: it reads the entries as of its start while its fn writes more.
	arena arena
	ents  []pendingEntry
	// index finds a key's entry in ents.
	index pendingIndex
	// sorted is ents' indexes in key order, valid while sortedOK.
	sorted   []int32
	sortedOK bool
	// byPrefix is inKeyOrder's sort, kept for the next commit's.
	byPrefix []prefixEntry
}

// pendingEntry is one key's last write: koff and voff are arena offsets.
type pendingEntry struct {
	koff, klen, voff, vlen int32
	del                    bool
}

// maxKeptArena is how many bytes of chunks reset keeps for the next
// commit's writes: a commit that wrote more is rare, and its memory is
// not held on to between commits.
const maxKeptArena = 16 << 20

// arena holds the pending writes' keys and values in chunks of chunkSize
// bytes (a key or value larger than that in a chunk of its own), which,
// unlike one growing slice, are never copied as they fill, and are
// fresh memory only the first time: reset keeps them. An offset is a
// chunk's index times chunkSize plus the position in it. Bytes once
// written never move or change, and a copy of an arena (a Scan's) reads
// them for as long as it lives.
//
// In Nexmark's q5 a store's writes between commits grew one slice to 2.7
// to 3.4 MiB from nothing, doubling, over its first commits (the run
// makes about five per task): the copies and the fresh memory they
// touched took 0.44 s of the query's 14.3 s of samples (growslice under
// pendingWrites.set).
type arena struct {
	chunks [][]byte
	// free are chunks of chunkSize kept by reset, to be filled again.
	free [][]byte
}

const (
	chunkShift = 16
	chunkSize  = 1 << chunkShift
)

// add appends b to the arena and returns its offset.
func (a *arena) add(b []byte) int32 {
	if len(b) > chunkSize {
		c := make([]byte, len(b))
		copy(c, b)
		a.chunks = append(a.chunks, c)
		return int32(len(a.chunks)-1) << chunkShift
	}
	last := len(a.chunks) - 1
	if last < 0 || cap(a.chunks[last])-len(a.chunks[last]) < len(b) {
		var c []byte
		if n := len(a.free); n > 0 {
			c, a.free = a.free[n-1], a.free[:n-1]
		} else {
			c = make([]byte, 0, chunkSize)
		}
		a.chunks = append(a.chunks, c)
		last++
	}
	c := a.chunks[last]
	off := len(c)
	a.chunks[last] = append(c, b...)
	return int32(last<<chunkShift | off)
}

// bytes returns the n bytes at off (an empty slice when n is 0).
func (a *arena) bytes(off, n int32) []byte {
	if n == 0 {
		return []byte{}
	}
	c := a.chunks[off>>chunkShift]
	o := off & (chunkSize - 1)
	return c[o : o+n : o+n]
}

// reset empties the arena, keeping up to maxKeptArena bytes of its chunks
// for the next writes.
func (a *arena) reset() {
	for i, c := range a.chunks {
		if cap(c) == chunkSize && (len(a.free)+1)*chunkSize <= maxKeptArena {
			a.free = append(a.free, c[:0])
		}
		a.chunks[i] = nil
	}
	a.chunks = a.chunks[:0]
}

// pendingIndex finds a pending key's entry: an open-addressed hash table
// of entry indexes, probed linearly. Set makes one probe per key where a
// Go map (a lookup, then an insert for a new key) made two, each hashing
// the key: in Nexmark's q5, 0.62 s of pendingWrites.set's 1.22 s (of
// 14.3 s of samples) went to the map.
type pendingIndex struct {
	// slots hold 0 when empty, else a key's hash in the high 32 bits and
	// its entry's index plus one in the low 32; the slot a key's probe
	// starts at is its hash's low bits. Never more than half are full.
	slots []uint64
	n     int
	seed  maphash.Seed
}

// minIndexSlots is the size of an index's first table.
const minIndexSlots = 1 << 10

// hash is key's hash, 32 bits of it.
func (x *pendingIndex) hash(key []byte) uint32 {
	return uint32(maphash.Bytes(x.seed, key))
}

// grow doubles the table (or makes the first), placing the entries again.
func (x *pendingIndex) grow() {
	old := x.slots
	x.slots = make([]uint64, max(2*len(old), minIndexSlots))
	mask := uint32(len(x.slots) - 1)
	for _, sl := range old {
		if sl == 0 {
			continue
		}
		i := uint32(sl>>32) & mask
		for x.slots[i] != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = sl
	}
}

// clear empties the index, keeping its table.
func (x *pendingIndex) clear() {
	clear(x.slots)
	x.n = 0
}

// batchEntryOverhead approximates what a Pebble batch adds to each write
// (its kind byte and two varint lengths), so that TaskStore.PendingBytes
// measures what an indexed batch's Len did.
const batchEntryOverhead = 3

func newPendingWrites() *pendingWrites {
	return &pendingWrites{index: pendingIndex{seed: maphash.MakeSeed()}}
}

// key returns entry e's key. It aliases the arena.
func (p *pendingWrites) key(e *pendingEntry) []byte {
	return p.arena.bytes(e.koff, e.klen)
}

// value returns entry e's value, nil for a delete. It aliases the arena.
func (p *pendingWrites) value(e *pendingEntry) []byte {
	if e.del {
		return nil
	}
	return p.arena.bytes(e.voff, e.vlen)
}

// find returns the index slot of key, whose hash is h: the slot that
// holds its entry (found), or else the empty one where it would go.
func (p *pendingWrites) find(key []byte, h uint32) (slot uint32, found bool) {
	x := &p.index
	mask := uint32(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		sl := x.slots[i]
		if sl == 0 {
			return i, false
		}
		if uint32(sl>>32) == h && bytes.Equal(p.key(&p.ents[uint32(sl)-1]), key) {
			return i, true
		}
	}
}

// set records a write of key: value, or a delete when del.
func (p *pendingWrites) set(key, value []byte, del bool) {
	x := &p.index
	if 2*(x.n+1) > len(x.slots) {
		x.grow()
	}
	h := x.hash(key)
	slot, found := p.find(key, h)
	if found {
		// The key's bytes are the arena's, which never change: the new
		// value goes after them.
		e := &p.ents[uint32(x.slots[slot])-1]
		e.voff, e.vlen, e.del = p.arena.add(value), int32(len(value)), del
		return
	}
	koff := p.arena.add(key)
	voff := p.arena.add(value)
	p.ents = append(p.ents, pendingEntry{koff: koff, klen: int32(len(key)), voff: voff, vlen: int32(len(value)), del: del})
	x.slots[slot] = uint64(h)<<32 | uint64(len(p.ents))
	x.n++
	p.sortedOK = false
}

// get returns the pending write of key: found is false when the key has
// none; otherwise value is its value (aliasing the arena), or del is set.
func (p *pendingWrites) get(key []byte) (value []byte, del, found bool) {
	if p.index.n == 0 {
		return nil, false, false
	}
	slot, ok := p.find(key, p.index.hash(key))
	if !ok {
		return nil, false, false
	}
	e := &p.ents[uint32(p.index.slots[slot])-1]
	return p.value(e), e.del, true
}

// inKeyOrder returns the entries' indexes sorted by key. The slice is
// p's, valid until the next write.
//
// The sort compares each entry's 16 key bytes past the keys' common
// prefix, held in the sort's own slice, and reads the keys themselves
// only on a tie. Comparing the keys (an index into ents, then into the
// arena, then bytes.Compare, for every comparison) took 0.48 s of
// Nexmark q7's 10.8 s of samples and 0.26 s of q5's 12.6 s; a commit
// sorts up to 100,000 writes. BenchmarkPendingKeyOrder: 230-250 ns a key
// before, 120-136 after (32,768 keys; q5's windowed keys 128-131 and
// 78-81). Sixteen bytes, not eight: a windowed aggregation's keys are a
// tag, the group (q5's auction, as text) and an 8-byte window start, and
// its expiry index's a tag, a time and the key, so that with eight a
// group's windows, or the times of one second, tied (a profile with
// eight still spent half the sort in bytes.Compare).
func (p *pendingWrites) inKeyOrder() []int32 {
	if p.sortedOK {
		return p.sorted
	}
	lcp := p.commonPrefix()
	p.byPrefix = slices.Grow(p.byPrefix[:0], len(p.ents))
	for i := range p.ents {
		k := p.key(&p.ents[i])
		p.byPrefix = append(p.byPrefix, prefixEntry{hi: prefixAt(k, lcp), lo: prefixAt(k, lcp+8), i: int32(i)})
	}
	slices.SortFunc(p.byPrefix, func(a, b prefixEntry) int {
		if a.hi != b.hi {
			return cmp.Compare(a.hi, b.hi)
		}
		if a.lo != b.lo {
			return cmp.Compare(a.lo, b.lo)
		}
		// Equal prefixes: the keys are equal up to lcp+16 bytes (or one
		// ends there), so the rest decides.
		return bytes.Compare(p.key(&p.ents[a.i]), p.key(&p.ents[b.i]))
	})
	p.sorted = slices.Grow(p.sorted[:0], len(p.byPrefix))
	for _, e := range p.byPrefix {
		p.sorted = append(p.sorted, e.i)
	}
	p.sortedOK = true
	return p.sorted
}

// prefixEntry is an entry's index and the 16 bytes of its key that the
// sort compares first.
type prefixEntry struct {
	hi, lo uint64
	i      int32
}

// commonPrefix returns the length of the prefix that every entry's key
// shares (a store's keys often begin alike: a tag, a window's start),
// which would leave the sort's prefixes all equal.
func (p *pendingWrites) commonPrefix() int {
	if len(p.ents) == 0 {
		return 0
	}
	first := p.key(&p.ents[0])
	n := len(first)
	for i := 1; i < len(p.ents) && n > 0; i++ {
		k := p.key(&p.ents[i])
		if len(k) < n {
			n = len(k)
		}
		j := 0
		for j < n && k[j] == first[j] {
			j++
		}
		n = j
	}
	return n
}

// prefixAt returns key's 8 bytes from off, big-endian, zeros past its
// end (all zeros when off is past it). A key whose prefix is less than
// another's is less than it in full (where it ends first, it is a prefix
// of the other), so only equal prefixes need the keys compared.
func prefixAt(key []byte, off int) uint64 {
	if off >= len(key) {
		return 0
	}
	rest := key[off:]
	if len(rest) >= 8 {
		return binary.BigEndian.Uint64(rest)
	}
	var b [8]byte
	copy(b[:], rest)
	return binary.BigEndian.Uint64(b[:])
}

// rangeOf appends to dst the entries whose keys are in [start, end) (nil
// end: unbounded), in key order, copied: a write during the caller's
// iteration changes neither them nor the arena bytes they point at.
func (p *pendingWrites) rangeOf(dst []pendingEntry, start, end []byte) []pendingEntry {
	if len(p.ents) == 0 {
		return dst
	}
	order := p.inKeyOrder()
	lo, _ := slices.BinarySearchFunc(order, start, func(i int32, k []byte) int {
		return bytes.Compare(p.key(&p.ents[i]), k)
	})
	for _, i := range order[lo:] {
		e := &p.ents[i]
		if end != nil && bytes.Compare(p.key(e), end) >= 0 {
			break
		}
		dst = append(dst, *e)
	}
	return dst
}

// empty reports whether there are no pending writes.
func (p *pendingWrites) empty() bool { return len(p.ents) == 0 }

// drop drops every pending write and lets their memory go, for a reader
// of the arena that may outlive the call.
func (p *pendingWrites) drop() {
	p.index.clear()
	p.arena = arena{}
	p.ents, p.sorted, p.byPrefix = nil, nil, nil
	p.sortedOK = false
}

// reset drops every pending write, keeping the memory for the next ones
// unless it has grown past maxKeptArena.
func (p *pendingWrites) reset() {
	if len(p.ents) > maxKeptArena/16 {
		// As many writes as a full arena of small keys: the index and
		// entries go too.
		p.index.slots, p.index.n = nil, 0
		p.ents, p.sorted, p.byPrefix = nil, nil, nil
	} else {
		p.index.clear()
		p.ents, p.sorted = p.ents[:0], p.sorted[:0]
	}
	p.arena.reset()
	p.sortedOK = false
}
