package agg

import (
	"encoding/binary"
	"math"
	"math/big"

	"github.com/runnel/runnel/sql/types"
)

// The value codec: a compact, self-delimiting binary form of a
// types.Value, used inside accumulator encodings (and as the identity of a
// value in the multisets of COLLECT_SET, COUNT_DISTINCT and HISTOGRAM).
//
//	value   = kind:byte payload
//	NULL      (nothing)
//	BOOLEAN   0 | 1
//	INT, BIGINT, TIMESTAMP, DATE, TIME
//	          zig-zag varint
//	DOUBLE    8 bytes little-endian IEEE 754 bits (NaN payloads kept)
//	DECIMAL   zig-zag varint scale, bigint
//	STRING, BYTES
//	          uvarint length, bytes
//	ARRAY, STRUCT
//	          uvarint count, count values
//	MAP       uvarint entries, key value key value ...
//	bigint  = sign:byte (0 or 1 for negative) uvarint length, big-endian magnitude
//
// Decoding never panics: every length is checked against the bytes left
// (each value takes at least one byte, so a count larger than the rest is
// rejected before anything is allocated) and nesting is bounded.

// maxValueDepth bounds the nesting of decoded values so that garbage
// cannot recurse without limit.
const maxValueDepth = 64

// AppendValue appends the binary encoding of v to dst.
func AppendValue(dst []byte, v types.Value) []byte { return appendValue(dst, v, false) }

// AppendCanonical appends v's identity as a DISTINCT aggregate sees it:
// equal values (as types.Compare has them: -0.0 and 0.0, say) encode to
// equal bytes.
func AppendCanonical(dst []byte, v types.Value) []byte { return appendValue(dst, v, true) }

// DecodeValue decodes one value from the front of b and returns it with
// the bytes after it.
//
// A BIGINT or a TIMESTAMP (a kind byte, then a varint) is decoded here
// directly: they are most of what stored rows hold (ids, prices,
// times), and the general path, three calls each returning a value of
// some 70 bytes, took 70 ns a value (0.2 s of Nexmark q4's 7 s of
// samples, an auction's stored row met by its bids). Anything else, or
// a varint that is not one, takes the general path, which decodes it or
// reports it.
func DecodeValue(b []byte) (types.Value, []byte, error) {
	if len(b) >= 2 {
		if k := types.Kind(b[0]); k == types.KindBigint || k == types.KindTimestamp {
			if x, n := binary.Varint(b[1:]); n > 0 {
				if k == types.KindBigint {
					return types.NewBigint(x), b[1+n:], nil
				}
				return types.NewTimestamp(x), b[1+n:], nil
			}
		}
	}
	d := decoder{b: b}
	v := d.value()
	if d.err != nil {
		return types.NullValue, nil, d.err
	}
	return v, d.b, nil
}

// appendValue encodes v; canon makes values that types.Compare calls
// equal encode equally where the plain encoding would differ (-0.0 and
// 0.0, NaN payloads), for use as a multiset key.
func appendValue(dst []byte, v types.Value, canon bool) []byte {
	k := v.Kind()
	dst = append(dst, byte(k))
	switch k {
	case types.KindBoolean:
		if v.Bool() {
			return append(dst, 1)
		}
		return append(dst, 0)
	case types.KindInt, types.KindBigint, types.KindTimestamp, types.KindDate, types.KindTime:
		return binary.AppendVarint(dst, v.Int())
	case types.KindDouble:
		f := v.Float()
		if canon {
			if f == 0 {
				f = 0
			} else if math.IsNaN(f) {
				f = math.NaN()
			}
		}
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(f))
	case types.KindDecimal:
		u, s := v.Decimal()
		dst = binary.AppendVarint(dst, int64(s))
		return appendBig(dst, u)
	case types.KindString, types.KindBytes:
		dst = binary.AppendUvarint(dst, uint64(len(v.Str())))
		return append(dst, v.Str()...)
	case types.KindArray, types.KindStruct:
		l := v.List()
		dst = binary.AppendUvarint(dst, uint64(len(l)))
		for _, e := range l {
			dst = appendValue(dst, e, canon)
		}
		return dst
	case types.KindMap:
		n := v.MapLen()
		dst = binary.AppendUvarint(dst, uint64(n))
		for i := 0; i < n; i++ {
			key, val := v.MapEntry(i)
			dst = appendValue(dst, key, canon)
			dst = appendValue(dst, val, canon)
		}
		return dst
	}
	return dst
}

// appendBig appends a sign byte, the magnitude's length and its
// big-endian bytes. A nil x encodes as zero.
func appendBig(dst []byte, x *big.Int) []byte {
	if x == nil || x.Sign() == 0 {
		return append(dst, 0, 0)
	}
	sign := byte(0)
	if x.Sign() < 0 {
		sign = 1
	}
	n := (x.BitLen() + 7) / 8
	dst = append(dst, sign)
	dst = binary.AppendUvarint(dst, uint64(n))
	start := len(dst)
	dst = append(dst, make([]byte, n)...)
	x.FillBytes(dst[start:])
	return dst
}

// decoder reads the encodings of values and accumulators. The first
// failure is kept in err; later reads return zero values, so decoding
// code reads straight through and checks err once.
type decoder struct {
	b     []byte
	err   error
	depth int
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = newError(ErrCorrupt, "%s", what)
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail("unexpected end of input")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) bool() bool {
	switch d.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail("bad boolean byte")
	return false
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return x
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return x
}

// nonNeg reads a varint that must be >= 0 (a count of rows).
func (d *decoder) nonNeg() int64 {
	x := d.varint()
	if x < 0 {
		d.fail("negative count")
		return 0
	}
	return x
}

func (d *decoder) u64() uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.fail("short fixed64")
		return 0
	}
	x := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return x
}

func (d *decoder) float() float64 { return math.Float64frombits(d.u64()) }

// count reads a number of items, each taking at least minBytes bytes,
// and rejects counts the remaining input cannot hold.
func (d *decoder) count(minBytes int) int {
	n := d.uvarint()
	if d.err != nil {
		return 0
	}
	if n > uint64(len(d.b)/minBytes) {
		d.fail("count exceeds input")
		return 0
	}
	return int(n)
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.fail("length exceeds input")
		return nil
	}
	s := d.b[:n]
	d.b = d.b[n:]
	return s
}

func (d *decoder) big(z *big.Int) *big.Int {
	if z == nil {
		z = new(big.Int)
	}
	sign := d.byte()
	if sign > 1 {
		d.fail("bad bigint sign")
		return z.SetInt64(0)
	}
	mag := d.bytes(d.count(1))
	z.SetBytes(mag)
	if sign == 1 {
		z.Neg(z)
	}
	return z
}

func (d *decoder) value() types.Value {
	if d.err != nil {
		return types.NullValue
	}
	if d.depth >= maxValueDepth {
		d.fail("values nested too deeply")
		return types.NullValue
	}
	// No defer to undo the depth: decoding never panics, and a deferred
	// call per value was about 40% of a join's decoding of its stored rows
	// (Nexmark's q4).
	d.depth++
	v := d.kindValue()
	d.depth--
	return v
}

// kindValue is value after the depth check: a kind byte and its payload.
func (d *decoder) kindValue() types.Value {
	switch k := types.Kind(d.byte()); k {
	case types.KindNull:
		return types.NullValue
	case types.KindBoolean:
		return types.NewBoolean(d.bool())
	case types.KindInt:
		x := d.varint()
		if x < math.MinInt32 || x > math.MaxInt32 {
			d.fail("INT out of range")
		}
		return types.NewInt(int32(x))
	case types.KindBigint:
		return types.NewBigint(d.varint())
	case types.KindTimestamp:
		return types.NewTimestamp(d.varint())
	case types.KindDate:
		return types.NewDate(d.varint())
	case types.KindTime:
		return types.NewTime(d.varint())
	case types.KindDouble:
		return types.NewDouble(d.float())
	case types.KindDecimal:
		s := d.varint()
		if s < math.MinInt32 || s > math.MaxInt32 {
			d.fail("DECIMAL scale out of range")
		}
		u := d.big(nil)
		return types.NewDecimal(u, int32(s))
	case types.KindString:
		return types.NewString(string(d.bytes(d.count(1))))
	case types.KindBytes:
		return types.NewBytes(d.bytes(d.count(1)))
	case types.KindArray, types.KindStruct:
		n := d.count(1)
		var l []types.Value
		if n > 0 {
			l = make([]types.Value, n)
		}
		for i := range l {
			l[i] = d.value()
		}
		if k == types.KindArray {
			return types.NewArray(l)
		}
		return types.NewStruct(l)
	case types.KindMap:
		n := d.count(2)
		keys := make([]types.Value, n)
		vals := make([]types.Value, n)
		for i := 0; i < n; i++ {
			keys[i] = d.value()
			vals[i] = d.value()
		}
		return types.NewMap(keys, vals)
	default:
		d.fail("unknown value kind")
		return types.NullValue
	}
}

// finish reports the first error, or trailing bytes after a complete
// encoding.
func (d *decoder) finish() error {
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return newError(ErrCorrupt, "%d trailing bytes", len(d.b))
	}
	return nil
}
