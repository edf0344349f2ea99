package operators

import "hash/maphash"

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

// bloomLayer is one fixed-size blocked Bloom filter of 10 bits per key
// and 7 hashes: a key's 7 bits are in one block of 512 bits (8 words, a
// cache line when the slice is aligned to one, as the allocator's size
// classes for a layer's sizes are), chosen by the key's hash, so that a
// probe costs one cache miss rather than one for each bit it reads. A
// layer of tens of thousands of keys is far larger than the processor's
// caches: the probes of Nexmark q5's and q7's foreign-key joins were 2-3%
// of their CPU, and most of it waiting for memory. About 1.2% false
// positives when full, where bits spread over the whole layer give 0.8%.
type bloomLayer struct {
	bits     []uint64
	n, limit int
}

const (
	seenFirstKeys = 512
	seenBitsPer   = 10
	seenHashes    = 7
	// seenBlockWords is a block's words: 512 bits, a position in it 9
	// bits.
	seenBlockWords = 8
)

// seenSeed keys the filters' hash; the filters live in memory only.
var seenSeed = maphash.MakeSeed()

func seenHash(key []byte) uint64 { return maphash.Bytes(seenSeed, key) }

// newBloomLayer returns a layer of keys keys. Its words are
// (keys*seenBitsPer+63)/64, as newBloomLayerBytes counts them; a block
// uses whole blocks only, so up to seenBlockWords-1 at the end are not
// used (none when keys is a multiple of 64, as the layers that double
// from seenFirstKeys are).
func newBloomLayer(keys int) bloomLayer {
	words := max((keys*seenBitsPer+63)/64, seenBlockWords)
	return bloomLayer{bits: make([]uint64, words), limit: keys}
}

// block returns the block of h in l, and the 32 bits of h that choose
// the bits in it.
func (l *bloomLayer) block(h uint64) (*[seenBlockWords]uint64, uint32) {
	blocks := uint64(len(l.bits) / seenBlockWords)
	// The top 32 bits of h choose the block (Lemire's reduction: a
	// multiply and a shift, not a division); the low 32 the bits.
	b := (h >> 32) * blocks >> 32
	return (*[seenBlockWords]uint64)(l.bits[b*seenBlockWords:]), uint32(h)
}

// seenNext is the multiplier of the 32 bits that choose a key's bits in
// its block: each position is the top 9 bits of the next product, as
// RocksDB's FastLocalBloom takes them (seven positions of 9 bits each
// would need 63 bits of their own). It is the golden ratio's 32 bits.
const seenNext = 0x9e3779b9

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
	blk, g := l.block(h)
	for range seenHashes {
		g *= seenNext
		bit := g >> (32 - 9)
		blk[bit/64] |= 1 << (bit % 64)
	}
	l.n++
}

// mayHave reports whether key may have been added; false is certain.
func (f *seenFilter) mayHave(h uint64) bool {
	for li := range f.layers {
		blk, g := f.layers[li].block(h)
		in := true
		for i := 0; i < seenHashes && in; i++ {
			g *= seenNext
			bit := g >> (32 - 9)
			in = blk[bit/64]&(1<<(bit%64)) != 0
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
