package operators

import (
	"hash/maphash"
	"math/bits"
)

// seenFilter is a Bloom filter of the distinct value keys a cached group
// has had (aggdistinct.go): a value it has never had is new to the group
// without a store read. The first sighting of each value was most of what
// Nexmark's q15 and q16 spent, each a point read that missed every table
// of the store (and most of the block cache). It grows with the group,
// in layers each twice the last, and forgets nothing: a value retracted
// to none still reads as maybe present, and is looked up.
type seenFilter struct {
	layers []bloomLayer
}

// bloomLayer is one fixed-size Bloom filter of 10 bits per key and 7
// hashes: about 1% false positives when full.
type bloomLayer struct {
	bits     []uint64
	n, limit int
}

const (
	seenFirstKeys = 512
	seenBitsPer   = 10
	seenHashes    = 7
)

// seenSeed keys the filters' hash; the filters live in memory only.
var seenSeed = maphash.MakeSeed()

func seenHash(key []byte) uint64 { return maphash.Bytes(seenSeed, key) }

func newBloomLayer(keys int) bloomLayer {
	words := (keys*seenBitsPer + 63) / 64
	return bloomLayer{bits: make([]uint64, words), limit: keys}
}

// add records key (by its seenHash).
func (f *seenFilter) add(h uint64) {
	if len(f.layers) == 0 || f.layers[len(f.layers)-1].n >= f.layers[len(f.layers)-1].limit {
		keys := seenFirstKeys
		if len(f.layers) > 0 {
			keys = 2 * f.layers[len(f.layers)-1].limit
		}
		f.layers = append(f.layers, newBloomLayer(keys))
	}
	l := &f.layers[len(f.layers)-1]
	m := uint64(len(l.bits) * 64)
	h1, h2 := h, bits.RotateLeft64(h, 32)|1
	for i := uint64(0); i < seenHashes; i++ {
		b := (h1 + i*h2) % m
		l.bits[b/64] |= 1 << (b % 64)
	}
	l.n++
}

// mayHave reports whether key may have been added; false is certain.
func (f *seenFilter) mayHave(h uint64) bool {
	h1, h2 := h, bits.RotateLeft64(h, 32)|1
	for li := range f.layers {
		l := &f.layers[li]
		m := uint64(len(l.bits) * 64)
		in := true
		for i := uint64(0); i < seenHashes && in; i++ {
			b := (h1 + i*h2) % m
			in = l.bits[b/64]&(1<<(b%64)) != 0
		}
		if in {
			return true
		}
	}
	return false
}

// size is the filter's memory in bytes.
func (f *seenFilter) size() int {
	n := 0
	for _, l := range f.layers {
		n += 8*len(l.bits) + 32
	}
	return n
}
