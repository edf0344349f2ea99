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
		// Some inputs dense in those bytes, some sparse, so that runs
		// cross the vector scan's sixteen-byte blocks and its tail.
		b := make([]byte, rng.IntN(100))
		density := 4 << rng.IntN(6)
		for i := range b {
			if rng.IntN(density) == 0 {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			} else {
				b[i] = byte('a' + rng.IntN(26))
			}
		}
		from := 0
		if len(b) > 0 {
			from = rng.IntN(len(b) + 1)
		}
		want := plainRunNaive(b, from)
		if got := plainRun(b, from); got != want {
			t.Fatalf("plainRun(%q, %d) = %d, want %d", b, from, got, want)
		}
		if got := plainRunWords(b, from); got != want {
			t.Fatalf("plainRunWords(%q, %d) = %d, want %d", b, from, got, want)
		}
	}
}

// TestPlainRun16 puts every byte value at every place of a run of plain
// bytes, from every start: plainRun16 must stop at it when it is not
// plain and sixteen bytes from a block's start are left, or where fewer
// than sixteen are left otherwise.
func TestPlainRun16(t *testing.T) {
	b := make([]byte, 50)
	for at := range b {
		for c := range 256 {
			for i := range b {
				b[i] = 'a' + byte(i%26)
			}
			b[at] = byte(c)
			for from := 0; from <= len(b); from++ {
				want := plainRunNaive(b, from)
				got := plainRun16(b, from)
				// The scan stops at the first block with a byte not
				// plain, or before a block it cannot read whole.
				if got != want && (got > want || len(b)-got >= 16) {
					t.Fatalf("plainRun16 with %#x at %d, from %d: %d, want %d", c, at, from, got, want)
				}
				if got < from {
					t.Fatalf("plainRun16 from %d went back to %d", from, got)
				}
				if p := plainRun(b, from); p != want {
					t.Fatalf("plainRun with %#x at %d, from %d: %d, want %d", c, at, from, p, want)
				}
			}
		}
	}
}
