package agg

import (
	"encoding/binary"
	"math/big"
	"math/bits"
)

// i128 is a two's-complement 128-bit integer: exact sums of int64 values
// (and of their squares) without allocating, for AVG and the variances.
type i128 struct {
	hi int64
	lo uint64
}

func (x i128) add64(v int64) i128 {
	lo, c := bits.Add64(x.lo, uint64(v), 0)
	return i128{hi: x.hi + v>>63 + int64(c), lo: lo}
}

func (x i128) sub64(v int64) i128 {
	lo, b := bits.Sub64(x.lo, uint64(v), 0)
	return i128{hi: x.hi - v>>63 - int64(b), lo: lo}
}

func (x i128) add(y i128) i128 {
	lo, c := bits.Add64(x.lo, y.lo, 0)
	return i128{hi: x.hi + y.hi + int64(c), lo: lo}
}

func (x i128) sub(y i128) i128 {
	lo, b := bits.Sub64(x.lo, y.lo, 0)
	return i128{hi: x.hi - y.hi - int64(b), lo: lo}
}

// square returns v*v, which always fits (it is below 2^126).
func square(v int64) i128 {
	a := uint64(v)
	if v < 0 {
		a = -a
	}
	hi, lo := bits.Mul64(a, a)
	return i128{hi: int64(hi), lo: lo}
}

// maxExact is 2^53: every integer of magnitude at most this is a float64
// exactly.
const maxExact = 1 << 53

// quo returns x/n (n > 0) rounded to the nearest float64, ties to even.
// When x and n are both exact float64s, IEEE division rounds their exact
// quotient once, which is that answer; otherwise (a sum past 2^53) the
// quotient is taken exactly and rounded by math/big. The fast way is what
// an AVG costs per emitted row, once per update of its group.
func (x i128) quo(n int64) float64 {
	if x.hi == int64(x.lo)>>63 { // x fits in an int64
		if v := int64(x.lo); v >= -maxExact && v <= maxExact && n <= maxExact {
			return float64(v) / float64(n)
		}
	}
	f, _ := new(big.Rat).SetFrac(x.big(), big.NewInt(n)).Float64()
	return f
}

func (x i128) big() *big.Int {
	b := big.NewInt(x.hi)
	b.Lsh(b, 64)
	return b.Add(b, new(big.Int).SetUint64(x.lo))
}

func appendI128(dst []byte, x i128) []byte {
	dst = binary.AppendVarint(dst, x.hi)
	return binary.AppendUvarint(dst, x.lo)
}

func (d *decoder) i128() i128 {
	hi := d.varint()
	return i128{hi: hi, lo: d.uvarint()}
}
