package types

import (
	"cmp"
	"math"
	"math/big"
	"strings"
	"unsafe"
)

// Value is one typed SQL value, held unboxed. The zero Value is SQL NULL.
//
// Which field holds the payload depends on the kind:
//
//	BOOLEAN                      i (0 or 1)
//	INT, BIGINT                  i
//	TIMESTAMP                    i, ms since the epoch
//	DATE                         i, days since the epoch
//	TIME                         i, ms since midnight
//	DOUBLE                       f
//	STRING, BYTES                s (BYTES as raw bytes in a string)
//	DECIMAL                      sc (scale) and dec (unscaled) or, when
//	                             dec is nil, i (an unscaled value that
//	                             fits an int64: NewDecimal64)
//	ARRAY                        list, the elements
//	STRUCT                       list, the fields in the type's order
//	MAP                          list, keys at even and values at odd indexes
//
// Values are immutable once built: list and dec are never modified after
// construction, so Values may share them.
type Value struct {
	kind Kind
	sc   int32 // a DECIMAL's scale; it sits in kind's padding
	i    int64
	f    float64
	s    string
	dec  *big.Int
	list []Value
}

// Row is one row of values, in a schema's column order.
type Row []Value

// NullValue is SQL NULL.
var NullValue = Value{}

// NewBoolean returns a BOOLEAN value.
func NewBoolean(b bool) Value {
	if b {
		return Value{kind: KindBoolean, i: 1}
	}
	return Value{kind: KindBoolean}
}

// NewInt returns an INT value.
func NewInt(v int32) Value { return Value{kind: KindInt, i: int64(v)} }

// NewBigint returns a BIGINT value.
func NewBigint(v int64) Value { return Value{kind: KindBigint, i: v} }

// NewDouble returns a DOUBLE value.
func NewDouble(v float64) Value { return Value{kind: KindDouble, f: v} }

// NewString returns a STRING value.
func NewString(s string) Value { return Value{kind: KindString, s: s} }

// NewBytes returns a BYTES value. b is copied.
func NewBytes(b []byte) Value { return Value{kind: KindBytes, s: string(b)} }

// NewBytesString returns a BYTES value of the bytes of s, without a copy
// (a string is immutable).
func NewBytesString(s string) Value { return Value{kind: KindBytes, s: s} }

// NewTimestamp returns a TIMESTAMP value from ms since the epoch.
func NewTimestamp(ms int64) Value { return Value{kind: KindTimestamp, i: ms} }

// NewDate returns a DATE value from days since the epoch.
func NewDate(days int64) Value { return Value{kind: KindDate, i: days} }

// NewTime returns a TIME value from ms since midnight.
func NewTime(ms int64) Value { return Value{kind: KindTime, i: ms} }

// NewDecimal returns a DECIMAL value unscaled × 10^-scale. unscaled must
// not be modified afterwards.
func NewDecimal(unscaled *big.Int, scale int32) Value {
	return Value{kind: KindDecimal, dec: unscaled, sc: scale}
}

// NewDecimal64 returns a DECIMAL value unscaled × 10^-scale without a
// big.Int: arithmetic on DECIMALs whose unscaled values fit an int64
// (sql/expr) builds its results with no allocation. Decimal64 reads it
// back as is; Decimal builds a big.Int for it.
func NewDecimal64(unscaled int64, scale int32) Value {
	return Value{kind: KindDecimal, i: unscaled, sc: scale}
}

// NewArray returns an ARRAY value. elems must not be modified afterwards.
func NewArray(elems []Value) Value { return Value{kind: KindArray, list: elems} }

// NewStruct returns a STRUCT value with fields in the type's order.
func NewStruct(fields []Value) Value { return Value{kind: KindStruct, list: fields} }

// NewMap returns a MAP value from parallel keys and values.
func NewMap(keys, vals []Value) Value {
	l := make([]Value, 0, 2*len(keys))
	for i := range keys {
		l = append(l, keys[i], vals[i])
	}
	return Value{kind: KindMap, list: l}
}

// Kind is the value's kind; KindNull for NULL.
func (v Value) Kind() Kind { return v.kind }

// IsNull reports whether v is SQL NULL.
func (v Value) IsNull() bool { return v.kind == KindNull }

// Bool returns a BOOLEAN's payload.
func (v Value) Bool() bool { return v.i != 0 }

// Int returns the payload of INT, BIGINT, TIMESTAMP, DATE and TIME.
func (v Value) Int() int64 { return v.i }

// Float returns a DOUBLE's payload.
func (v Value) Float() float64 { return v.f }

// Str returns a STRING's payload, or a BYTES' raw bytes.
func (v Value) Str() string { return v.s }

// Decimal returns a DECIMAL's unscaled value and scale. The *big.Int must
// not be modified.
// A DECIMAL built by NewDecimal64 gets a new big.Int, which the caller
// may keep; Decimal64 reads such a value without one.
func (v Value) Decimal() (*big.Int, int32) {
	if v.dec == nil {
		return big.NewInt(v.i), v.sc
	}
	return v.dec, v.sc
}

// Decimal64 returns a DECIMAL's unscaled value and scale when the
// unscaled value fits an int64; ok is false otherwise (Decimal then has
// it).
func (v Value) Decimal64() (unscaled int64, scale int32, ok bool) {
	switch {
	case v.dec == nil:
		return v.i, v.sc, true
	case v.dec.IsInt64():
		return v.dec.Int64(), v.sc, true
	}
	return 0, 0, false
}

// List returns the elements of an ARRAY or the fields of a STRUCT. The
// slice must not be modified.
func (v Value) List() []Value { return v.list }

// MapLen returns the number of entries of a MAP.
func (v Value) MapLen() int { return len(v.list) / 2 }

// MapEntry returns the i-th key and value of a MAP.
func (v Value) MapEntry(i int) (Value, Value) { return v.list[2*i], v.list[2*i+1] }

// MapGet returns the value for key in a MAP, or NULL.
func (v Value) MapGet(key Value) Value {
	for i := 0; i+1 < len(v.list); i += 2 {
		if Compare(v.list[i], key) == 0 {
			return v.list[i+1]
		}
	}
	return NullValue
}

// AsFloat converts any numeric value to float64.
func (v Value) AsFloat() float64 {
	switch v.kind {
	case KindDouble:
		return v.f
	case KindDecimal:
		if v.dec == nil {
			// float64 of an int64 rounds to nearest even, as
			// big.Float's Float64 does: the same value either way.
			return float64(v.i) / math.Pow10(int(v.sc))
		}
		f, _ := new(big.Float).SetInt(v.dec).Float64()
		return f / math.Pow10(int(v.sc))
	}
	return float64(v.i)
}

// AsRat converts a numeric value to an exact rational (DOUBLE as its exact
// binary value).
func (v Value) AsRat() *big.Rat {
	switch v.kind {
	case KindDouble:
		r, ok := new(big.Rat).SetString(big.NewFloat(v.f).Text('g', -1))
		if !ok {
			return new(big.Rat)
		}
		return r
	case KindDecimal:
		u, s := v.Decimal()
		den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(s)), nil)
		return new(big.Rat).SetFrac(u, den)
	}
	return new(big.Rat).SetInt64(v.i)
}

// Compare orders two non-NULL values of comparable types: numbers with
// numbers (exactly, across INT, BIGINT, DECIMAL and DOUBLE), strings with
// strings, and so on. NULL sorts before everything. Values of unrelated
// kinds are ordered by kind so that Compare is a total order.
func Compare(a, b Value) int {
	if a.kind == KindNull || b.kind == KindNull {
		return cmp.Compare(boolInt(b.kind == KindNull), boolInt(a.kind == KindNull))
	}
	an, bn := isNum(a.kind), isNum(b.kind)
	if an && bn {
		if a.kind != KindDouble && a.kind != KindDecimal && b.kind != KindDouble && b.kind != KindDecimal {
			return cmp.Compare(a.i, b.i)
		}
		if (a.kind == KindDouble || b.kind == KindDouble) && a.kind != KindDecimal && b.kind != KindDecimal {
			return cmp.Compare(a.AsFloat(), b.AsFloat())
		}
		if (a.kind == KindDouble && (math.IsNaN(a.f) || math.IsInf(a.f, 0))) ||
			(b.kind == KindDouble && (math.IsNaN(b.f) || math.IsInf(b.f, 0))) {
			return cmp.Compare(a.AsFloat(), b.AsFloat())
		}
		return a.AsRat().Cmp(b.AsRat())
	}
	if a.kind != b.kind {
		return cmp.Compare(a.kind, b.kind)
	}
	switch a.kind {
	case KindString, KindBytes:
		return strings.Compare(a.s, b.s)
	case KindArray, KindStruct, KindMap:
		n := min(len(a.list), len(b.list))
		for i := 0; i < n; i++ {
			if c := Compare(a.list[i], b.list[i]); c != 0 {
				return c
			}
		}
		return cmp.Compare(len(a.list), len(b.list))
	}
	return cmp.Compare(a.i, b.i)
}

// Equal reports whether a and b are the same value (NULL equals NULL here;
// SQL's = is three-valued and lives in the evaluator).
func Equal(a, b Value) bool { return Compare(a, b) == 0 }

func isNum(k Kind) bool {
	return k == KindInt || k == KindBigint || k == KindDouble || k == KindDecimal
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// valueOverhead is the memory of a Value itself, before what it points to.
const valueOverhead = int64(unsafe.Sizeof(Value{}))

// Size is the memory v holds, in bytes: the Value itself, its string's
// bytes, its decimal's words and, recursively, its elements. It is what
// limits on the size of a value count, so that a limit bounds memory: an
// ARRAY of a million one-character strings is some 80 MB, not 1 MB.
// Memory that several values share is counted in each.
func (v Value) Size() int64 {
	n := valueOverhead
	switch v.kind {
	case KindString, KindBytes:
		n += int64(len(v.s))
	case KindDecimal:
		if v.dec != nil {
			n += 32 + int64(v.dec.BitLen()/8)
		}
	case KindArray, KindMap, KindStruct:
		for _, e := range v.list {
			n += e.Size()
		}
	}
	return n
}

// ElementSize is the memory a value of n elements holds beyond the
// elements' own: what Size adds for the container.
func ElementSize(n int) int64 { return int64(n) * valueOverhead }
