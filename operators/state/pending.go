package state

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"slices"
	"unsafe"
)

// pendingWrites holds a TaskStore's writes since its last Commit or Abort,
// one entry per key, the last write winning, in the order each key was
// first written (Kafka Streams' record cache does the same for what goes
// to its store). For a store that does not Scan while writes are pending,
// it replaces an indexed Pebble batch, which cost every write an insert
// into the batch's skip list and then handed the memtable the writes in
// the random order they came, each insert a search from the top of the
// memtable's skip list (`arenaskl.findSpliceForLevel`). Here a write is
// an append and a map insert, a key written again is written to the
// database once, and TaskStore.applyPending hands the writes over in key
// order, so that the memtable's inserter starts each search from the last
// one's place.
//
// Keys are the store's keys without its prefix. Used by its TaskStore's
// goroutine only.
type pendingWrites struct {
	// arena holds the keys and values; an entry's bytes never change once
	// written (an overwrite appends the new value), which the index's
	// strings rely on, and a Scan, which reads the entries as of its
	// start while its fn writes more.
	arena []byte
	ents  []pendingEntry
	// index maps a key (a string over the arena's bytes: see key) to its
	// entry in ents.
	index map[string]int32
	// sorted is ents' indexes in key order, valid while sortedOK.
	sorted   []int32
	sortedOK bool
	// byPrefix is inKeyOrder's sort, kept for the next commit's.
	byPrefix []prefixEntry
}

// pendingEntry is one key's last write.
type pendingEntry struct {
	koff, klen, voff, vlen int32
	del                    bool
}

// maxKeptArena is the capacity above which reset lets the arena go rather
// than keep it for the next commit's writes: a commit that wrote more is
// rare, and its memory is not held on to between commits.
const maxKeptArena = 16 << 20

// batchEntryOverhead approximates what a Pebble batch adds to each write
// (its kind byte and two varint lengths), so that TaskStore.PendingBytes
// measures what an indexed batch's Len did.
const batchEntryOverhead = 3

func newPendingWrites() *pendingWrites {
	return &pendingWrites{index: make(map[string]int32)}
}

// key returns entry e's key. It aliases the arena.
func (p *pendingWrites) key(e *pendingEntry) []byte {
	return p.arena[e.koff : e.koff+e.klen : e.koff+e.klen]
}

// value returns entry e's value, nil for a delete. It aliases the arena.
func (p *pendingWrites) value(e *pendingEntry) []byte {
	if e.del {
		return nil
	}
	return p.arena[e.voff : e.voff+e.vlen : e.voff+e.vlen]
}

// set records a write of key: value, or a delete when del.
func (p *pendingWrites) set(key, value []byte, del bool) {
	voff := int32(len(p.arena))
	if i, ok := p.index[string(key)]; ok {
		// The map's key string points into the arena, whose bytes never
		// change: appending the new value leaves it intact.
		p.arena = append(p.arena, value...)
		e := &p.ents[i]
		e.voff, e.vlen, e.del = voff, int32(len(value)), del
		return
	}
	p.arena = append(p.arena, key...)
	koff := voff
	voff = int32(len(p.arena))
	p.arena = append(p.arena, value...)
	p.ents = append(p.ents, pendingEntry{koff: koff, klen: int32(len(key)), voff: voff, vlen: int32(len(value)), del: del})
	e := &p.ents[len(p.ents)-1]
	// The map key is a string over the arena's bytes rather than a copy:
	// a later append may move the arena, but the old array stays as it
	// was, kept alive by the string, until reset clears the map.
	k := p.key(e)
	p.index[unsafe.String(unsafe.SliceData(k), len(k))] = int32(len(p.ents) - 1)
	p.sortedOK = false
}

// get returns the pending write of key: found is false when the key has
// none; otherwise value is its value (aliasing the arena), or del is set.
func (p *pendingWrites) get(key []byte) (value []byte, del, found bool) {
	i, ok := p.index[string(key)]
	if !ok {
		return nil, false, false
	}
	e := &p.ents[i]
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
	clear(p.index)
	p.arena, p.ents, p.sorted, p.byPrefix = nil, nil, nil, nil
	p.sortedOK = false
}

// reset drops every pending write, keeping the memory for the next ones
// unless it has grown past maxKeptArena.
func (p *pendingWrites) reset() {
	// The map first: its keys point into the arena, which is written over
	// next.
	clear(p.index)
	if cap(p.arena) > maxKeptArena {
		p.arena, p.ents, p.sorted, p.byPrefix = nil, nil, nil, nil
		p.index = make(map[string]int32)
	} else {
		p.arena, p.ents, p.sorted = p.arena[:0], p.ents[:0], p.sorted[:0]
	}
	p.sortedOK = false
}
