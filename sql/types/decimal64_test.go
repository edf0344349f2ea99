package types

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestDecimal64: a DECIMAL held as an int64 (NewDecimal64) is the same
// value as the one held as a big.Int (NewDecimal) to everything that
// reads it: Decimal, Decimal64, AsFloat, AsRat, Compare, Format and
// AppendDecimal, across signs, scales and the edges of int64.
func TestDecimal64(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	us := []int64{0, 1, -1, 5, -5, 908, 1000, math.MaxInt64, math.MinInt64, math.MinInt64 + 1}
	for range 20000 {
		x := int64(r.Uint64() >> r.IntN(64))
		if r.IntN(2) == 0 {
			x = -x
		}
		us = append(us, x)
	}
	for i, u := range us {
		scale := int32(i % 23)
		if i%7 == 0 {
			scale = -scale / 3
		}
		small, wide := NewDecimal64(u, scale), NewDecimal(big.NewInt(u), scale)
		gu, gs := small.Decimal()
		if gu.Cmp(big.NewInt(u)) != 0 || gs != scale || small.Kind() != KindDecimal {
			t.Fatalf("NewDecimal64(%d, %d).Decimal() = %s, %d", u, scale, gu, gs)
		}
		for _, v := range []Value{small, wide} {
			if x, s, ok := v.Decimal64(); !ok || x != u || s != scale {
				t.Fatalf("Decimal64 of %d at scale %d = %d, %d, %v", u, scale, x, s, ok)
			}
		}
		if a, b := small.AsFloat(), wide.AsFloat(); a != b {
			t.Fatalf("AsFloat of %d at scale %d: %v, big.Int %v", u, scale, a, b)
		}
		if small.AsRat().Cmp(wide.AsRat()) != 0 {
			t.Fatalf("AsRat of %d at scale %d: %s, big.Int %s", u, scale, small.AsRat(), wide.AsRat())
		}
		typ := Decimal(40, int(max(scale, 0)))
		if a, b := Format(small, typ), Format(wide, typ); a != b {
			t.Fatalf("Format of %d at scale %d: %q, big.Int %q", u, scale, a, b)
		}
		if a, b := string(AppendDecimal64(nil, u, scale)), FormatDecimal(big.NewInt(u), scale); a != b {
			t.Fatalf("AppendDecimal64(%d, %d) = %q, math/big %q", u, scale, a, b)
		}
		if Compare(small, wide) != 0 {
			t.Fatalf("Compare of %d at scale %d with itself as a big.Int: %d", u, scale, Compare(small, wide))
		}
		other := NewDecimal(big.NewInt(us[(i*31+7)%len(us)]), int32(i%5))
		if Compare(small, other) != Compare(wide, other) || Compare(other, small) != Compare(other, wide) {
			t.Fatalf("Compare of %d at scale %d with %s differs from its big.Int's", u, scale, Format(other, Decimal(40, 4)))
		}
		if small.Size() > wide.Size() {
			t.Fatalf("Size of %d: %d, more than the big.Int's %d", u, small.Size(), wide.Size())
		}
	}
	// A big.Int past int64 has no Decimal64.
	huge := new(big.Int).Lsh(big.NewInt(1), 64)
	if _, _, ok := NewDecimal(huge, 2).Decimal64(); ok {
		t.Fatal("Decimal64 answered for 2^64")
	}
}

// TestValueSize: a DECIMAL's scale sits in the padding between the
// kind and the int64 after it, so that no Value grows for it.
func TestValueSize(t *testing.T) {
	var v Value
	if unsafe.Offsetof(v.sc) >= unsafe.Offsetof(v.i) || unsafe.Offsetof(v.i) != unsafe.Alignof(v.i) {
		t.Fatalf("the scale is at %d and the int64 at %d: the scale does not sit in the kind's padding", unsafe.Offsetof(v.sc), unsafe.Offsetof(v.i))
	}
}
