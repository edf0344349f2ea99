package serde

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// JSON strings are mostly runs of plain bytes: printable ASCII other than
// '"' and '\'. Both the decoder (rawStr) and the encoder
// (appendJSONString) look for the end of such a run, and a Nexmark bid
// is mostly strings (its padding alone is a hundred bytes), so they test
// eight bytes at a time rather than one.

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plainRun returns the index of the first byte of b at or after i that is
// not plain: '"', '\\', a control character (< 0x20) or a non-ASCII byte
// (>= 0x80); len(b) if there is none. On amd64 it reads sixteen bytes at
// a time with SSE2 (plainRun16) and the last few with plainRunWords; a
// Nexmark bid's strings were a fifth of its decoding in words alone.
func plainRun(b []byte, i int) int {
	if haveRun16 && len(b)-i >= 16 {
		if i = plainRun16(b, i); len(b)-i >= 16 {
			return i
		}
	}
	return plainRunWords(b, i)
}

// plainRunWords is plainRun eight bytes at a time, in Go.
func plainRunWords(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		q := w ^ (ones * '"')
		s := w ^ (ones * '\\')
		// A byte of q or s is zero where w holds a quote or a
		// backslash; (x - ones) &^ x sets the high bit of a byte that
		// is zero, or below 0x20 for w itself, and w's own high bits
		// mark non-ASCII bytes. A borrow can only flag bytes above the
		// first one flagged rightly, so the lowest flag is exact.
		m := ((q - ones) &^ q) | ((s - ones) &^ s) | ((w - ones*0x20) &^ w) | w
		if m &= highs; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
			return i
		}
	}
	return i
}

// plainRunString is plainRun over a string's bytes (read, never written).
func plainRunString(s string, i int) int {
	if len(s) == 0 {
		return 0
	}
	return plainRun(unsafe.Slice(unsafe.StringData(s), len(s)), i)
}
