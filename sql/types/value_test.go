package types

import (
	"math"
	"math/big"
	"testing"
)

// TestFormatLen: FormatLen is len(Format), for values of every kind,
// nested and with NULLs, without building the text.
func TestFormatLen(t *testing.T) {
	st := Struct(Field{Name: "A", Type: Int}, Field{Name: "Bee", Type: Array(String)})
	for _, tc := range []struct {
		v Value
		t Type
	}{
		{Value{}, Null},
		{NewBoolean(true), Boolean},
		{NewInt(-2147483648), Int},
		{NewBigint(math.MaxInt64), Bigint},
		{NewDouble(1e21), Double},
		{NewDouble(math.NaN()), Double},
		{NewDouble(-0.000123), Double},
		{NewDecimal(big.NewInt(-12345), 3), Decimal(6, 3)},
		{NewDecimal(big.NewInt(5), 4), Decimal(5, 4)},
		{NewString("héllo"), String},
		{NewBytes([]byte{0, 1, 2, 3, 255}), Bytes},
		{NewTimestamp(1795428000123), Timestamp},
		{NewDate(-1), Date},
		{NewTime(86399999), Time},
		{NewArray([]Value{NewInt(1), {}, NewInt(-3)}), Array(Int)},
		{NewArray(nil), Array(Int)},
		{NewMap([]Value{NewString("k"), NewString("")}, []Value{NewDouble(2.5), {}}), Map(String, Double)},
		{NewStruct([]Value{NewInt(7), NewArray([]Value{NewString("x"), {}})}), st},
		{NewStruct([]Value{NewInt(7), {}, NewBoolean(false)}), st}, // more values than fields
	} {
		if got, want := FormatLen(tc.v, tc.t), int64(len(Format(tc.v, tc.t))); got != want {
			t.Errorf("FormatLen(%s %q) = %d, want %d", tc.t, Format(tc.v, tc.t), got, want)
		}
	}
}

// TestSize: Size counts a Value, its payload and its elements.
func TestSize(t *testing.T) {
	one := Value{}.Size()
	if one != valueOverhead || one < 64 {
		t.Fatalf("a NULL is %d bytes", one)
	}
	if got := NewString("abcd").Size(); got != one+4 {
		t.Errorf("a 4-byte string: %d", got)
	}
	arr := NewArray([]Value{NewString("ab"), NewInt(1), {}})
	if got := arr.Size(); got != 4*one+2 {
		t.Errorf("an array of 3: %d, want %d", got, 4*one+2)
	}
	if got := NewMap([]Value{NewString("k")}, []Value{arr}).Size(); got != 2*one+1+arr.Size() {
		t.Errorf("a map: %d", got)
	}
	if ElementSize(3) != 3*one {
		t.Errorf("ElementSize(3) = %d", ElementSize(3))
	}
	d := NewDecimal(new(big.Int).Lsh(big.NewInt(1), 800), 0)
	if got := d.Size(); got < one+100 {
		t.Errorf("a 800-bit decimal: %d", got)
	}
}
