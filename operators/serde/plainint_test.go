package serde

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// samePlainInt checks plainInt against the slower reading it stands in
// for: when it accepts, num reads the same token, atoiFast gives the same
// value, canonicalJSON calls the text canonical and nothing that continues
// a number follows; when it refuses, the reader has not moved.
func samePlainInt(t *testing.T, in []byte) {
	t.Helper()
	got := jsonReader{b: in}
	v, ok := got.plainInt()
	if !ok {
		if got.i != 0 {
			t.Fatalf("%q: plainInt refused it but moved to %d", in, got.i)
		}
		// Refused: it must not be a token in AppendInt's form of at
		// most 18 digits that ends the number.
		want := jsonReader{b: in}
		nb, err := want.num()
		if err == nil && canonicalJSON(&types.Bigint, nb) && len(nb) <= 18 && (len(nb) < 18 || nb[0] != '-') {
			if i, ok := atoiFast(nb); ok && (want.i == len(in) || (in[want.i] < '0' || in[want.i] > '9')) {
				t.Fatalf("%q: plainInt refused %q (%d), a plain integer", in, nb, i)
			}
		}
		return
	}
	want := jsonReader{b: in}
	nb, err := want.num()
	if err != nil || want.i != got.i {
		t.Fatalf("%q: plainInt read to %d, num to %d (%v)", in, got.i, want.i, err)
	}
	if i, ok := atoiFast(nb); !ok || i != v {
		t.Fatalf("%q: plainInt = %d, atoiFast = %d, %v", in, v, i, ok)
	}
	if !canonicalJSON(&types.Bigint, nb) {
		t.Fatalf("%q: plainInt accepted %q, which is not canonical", in, nb)
	}
}

func TestPlainInt(t *testing.T) {
	for _, in := range []string{
		"0", "-0", "00", "01", "-01", "7", "-7", "123,", "123}", "123 ", "1.5", "1e3", "1E3", "-", "", "a",
		"123456789012345678", "-123456789012345678", "1234567890123456789", "9223372036854775807",
		"-9223372036854775808", "12345678901234567890123", "0.0", "-0.5", "0e1",
	} {
		samePlainInt(t, []byte(in))
	}
	// The digits' neighbours ('/' and ':'), and bytes whose high bit is
	// set (0xba + 0x46 carries out of its byte), for digits8's flags;
	// lengths past a word and past 18 digits.
	alphabet := []byte("0123456789-.eE+, }/:\xba\xff0123456789")
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200_000 {
		in := make([]byte, rng.IntN(32))
		for i := range in {
			in[i] = alphabet[rng.IntN(len(alphabet))]
		}
		samePlainInt(t, in)
	}
}

// TestRawIntegers decodes integer members through the raw path (the
// columns kept as text) and through the value path, and checks each
// against what the column must hold: the text kept only when it is the
// canonical one, and the same values and errors both ways.
func TestRawIntegers(t *testing.T) {
	cols := []types.Column{col("A", types.Bigint), col("B", types.Int)}
	f, err := NewValueFormat("JSON", cols, Props{})
	if err != nil {
		t.Fatal(err)
	}
	rd, vd := f.(RawDecoder), f.(RowDecoder)
	for _, tc := range []struct {
		in      string
		wantRaw [2]string // "" for no canonical text
		fails   bool
	}{
		{in: `{"a":12,"b":-3}`, wantRaw: [2]string{"12", "-3"}},
		{in: `{"a":-0,"b":0}`, wantRaw: [2]string{"", "0"}},
		{in: `{"a":1.0,"b":2}`, wantRaw: [2]string{"", "2"}},
		{in: `{"a":1e2,"b":2}`, wantRaw: [2]string{"", "2"}},
		{in: `{"a":1234567890123456789,"b":2}`, wantRaw: [2]string{"1234567890123456789", "2"}},
		{in: `{"a":01,"b":2}`, fails: true},
		{in: `{"a":1,"b":2147483648}`, fails: true},
		{in: `{"a":1,"b":-2147483648}`, wantRaw: [2]string{"1", "-2147483648"}},
		{in: `{"a":5,"a":6,"b":1}`, wantRaw: [2]string{"6", "1"}},
	} {
		p := &Projection{Index: []int{0, 1}, Skip: []bool{true, true}, Alias: true}
		row, raw := make(types.Row, 2), make([][]byte, 2)
		err := rd.DecodeRowRaw([]byte(tc.in), row, p, []bool{true, true}, raw)
		vrow := make(types.Row, 2)
		verr := vd.DecodeRow([]byte(tc.in), vrow, &Projection{Index: []int{0, 1}})
		if tc.fails {
			if err == nil || verr == nil {
				t.Errorf("%s: raw err %v, value err %v, want both to fail", tc.in, err, verr)
			}
			continue
		}
		if err != nil || verr != nil {
			t.Errorf("%s: raw err %v, value err %v", tc.in, err, verr)
			continue
		}
		for i := range 2 {
			if string(raw[i]) != tc.wantRaw[i] {
				t.Errorf("%s: column %d raw %q, want %q", tc.in, i, raw[i], tc.wantRaw[i])
			}
			if raw[i] == nil && !types.Equal(row[i], vrow[i]) {
				t.Errorf("%s: column %d raw path value %v, value path %v", tc.in, i, row[i], vrow[i])
			}
			if raw[i] != nil && string(raw[i]) != strconv.FormatInt(vrow[i].Int(), 10) {
				t.Errorf("%s: column %d raw %q, value %v", tc.in, i, raw[i], vrow[i])
			}
		}
	}
}

// TestDigits8 holds digits8 against reading the word's bytes one by one,
// over words of digits with every other byte value in every place.
func TestDigits8(t *testing.T) {
	naive := func(w uint64) (int, uint64) {
		var x uint64
		for i := range 8 {
			c := byte(w >> (8 * i))
			if c < '0' || c > '9' {
				return i, x
			}
			x = x*10 + uint64(c-'0')
		}
		return 8, x
	}
	check := func(w uint64) {
		t.Helper()
		nd, x := digits8(w)
		wnd, wx := naive(w)
		if nd != wnd || x != wx {
			t.Fatalf("digits8(%#016x) = %d, %d; want %d, %d", w, nd, x, wnd, wx)
		}
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 5_000 {
		var w uint64
		for i := range 8 {
			w |= uint64('0'+rng.IntN(10)) << (8 * i)
		}
		check(w)
		at := rng.IntN(8)
		for c := range 256 {
			check(w&^(0xff<<(8*at)) | uint64(c)<<(8*at))
		}
	}
	check(0x3939393939393939) // 99999999
	check(0)
}
