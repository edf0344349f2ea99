package serde

import (
	"math/rand/v2"
	"testing"
)

// plainRunNaive is plainRun one byte at a time: what it must agree with.
func plainRunNaive(b []byte, i int) int {
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
			return i
		}
	}
	return i
}

func TestPlainRun(t *testing.T) {
	for _, tc := range []struct {
		in   string
		from int
		want int
	}{
		{"", 0, 0},
		{"abc", 0, 3},
		{"abcdefghijklmnop", 0, 16},
		{"abcdefgh\"", 0, 8},
		{"abcdefg\"h", 0, 7},
		{"a\\bcdefghij", 0, 1},
		{"abcdefghij\n", 0, 10},
		{"abcdefghi\x1f", 0, 9},
		{"abcdefghi\x20", 0, 10},  // a space is plain
		{"abcdefghi\x7f", 0, 10},  // DEL is plain to JSON
		{"abcdéfghijkl", 0, 4},    // the first byte of é
		{"\x00bcdefghijkl", 0, 0}, // NUL
		{"abcdefghijklmnop\"", 3, 16},
		{"!\"#$%&'()*+,-./0", 0, 1}, // neighbours of '"' in the borrow
		{"[\\]^_`abcdefghij", 0, 1}, // and of '\'
		{"\x21\x21\x21\x21\x21\x21\x21\x22", 0, 7},
		{"\x01\x21\x21\x21\x21\x21\x21\x21", 0, 0},
	} {
		if got := plainRun([]byte(tc.in), tc.from); got != tc.want {
			t.Errorf("plainRun(%q, %d) = %d, want %d", tc.in, tc.from, got, tc.want)
		}
		if got := plainRunString(tc.in, tc.from); got != tc.want {
			t.Errorf("plainRunString(%q, %d) = %d, want %d", tc.in, tc.from, got, tc.want)
		}
	}
}

// TestPlainRunRandom compares plainRun with the naive loop on random
// inputs rich in the bytes whose neighbours a borrow could confuse.
func TestPlainRunRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{'a', ' ', '!', '"', '#', '[', '\\', ']', 0x00, 0x01, 0x1f, 0x20, 0x7f, 0x80, 0xc3, 0xff}
	for n := 0; n < 20000; n++ {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			if rng.IntN(4) == 0 {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			} else {
				b[i] = byte('a' + rng.IntN(26))
			}
		}
		from := 0
		if len(b) > 0 {
			from = rng.IntN(len(b) + 1)
		}
		if got, want := plainRun(b, from), plainRunNaive(b, from); got != want {
			t.Fatalf("plainRun(%q, %d) = %d, want %d", b, from, got, want)
		}
	}
}
