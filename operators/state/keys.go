package state

import (
	"encoding/binary"

	"github.com/runnel/runnel/log/embedded"
)

// storePrefix is the prefix of every key of the store called name: the
// state byte, then the length-prefixed name, so that no store's prefix is
// a prefix of another's.
func storePrefix(name string) []byte {
	p := make([]byte, 0, 1+binary.MaxVarintLen64+len(name))
	p = append(p, embedded.StatePrefix)
	p = binary.AppendUvarint(p, uint64(len(name)))
	return append(p, name...)
}

// keyIn returns prefix+key in a new slice.
func keyIn(prefix, key []byte) []byte {
	k := make([]byte, 0, len(prefix)+len(key))
	return append(append(k, prefix...), key...)
}

// bounds translates a user range [start, end) (nil end: unbounded) into
// the store's key range.
func bounds(prefix, start, end []byte) (lo, hi []byte) {
	lo = keyIn(prefix, start)
	if end == nil {
		return lo, PrefixEnd(prefix)
	}
	return lo, keyIn(prefix, end)
}

// PrefixEnd is the smallest key greater than every key starting with
// prefix: the exclusive upper bound of a prefix scan. It panics for a
// prefix of only 0xff bytes, which has none; store prefixes start with 'S'
// and operators' key prefixes with a letter, so theirs always exist.
func PrefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	panic("state: prefix has no upper bound")
}
