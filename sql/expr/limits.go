package expr

import (
	"math"
	"strings"
	"unicode/utf8"

	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/sql/types"
)

// DefaultMaxValueBytes is the default of Binder.MaxValueBytes: 16 MiB.
const DefaultMaxValueBytes = 16 << 20

// ErrValueTooLarge is the error of a function, operator or constructor
// that would build a value over Binder.MaxValueBytes (as types.Value.Size
// counts it). SQLSTATE 54000 (program_limit_exceeded). It is an error of
// the row, like a division by zero: a persistent query skips the row and
// goes on.
var ErrValueTooLarge = sqlstate.New(sqlstate.ProgramLimitExceeded, "expr: value too large")

// evalCtx is what an implementation needs beyond its arguments, fixed when
// the call is bound.
type evalCtx struct {
	// maxBytes bounds the Size of a value the implementation builds.
	maxBytes int64
}

// tooLarge is the error for a value of n bytes (an estimate, or
// math.MaxInt64 when the arithmetic overflowed) that what would build.
func (c *evalCtx) tooLarge(what string, n int64) error {
	if n == math.MaxInt64 {
		return ErrValueTooLarge.Errorf("%s would build a value larger than the limit of %d bytes (--max-value-bytes)", what, c.maxBytes)
	}
	return ErrValueTooLarge.Errorf("%s would build a value of %d bytes, over the limit of %d bytes (--max-value-bytes)", what, n, c.maxBytes)
}

// check fails when a value of n bytes is over the limit.
func (c *evalCtx) check(what string, n int64) error {
	if n > c.maxBytes || n < 0 {
		return c.tooLarge(what, n)
	}
	return nil
}

// checkString fails when a STRING (or BYTES) of n bytes is over the limit.
func (c *evalCtx) checkString(what string, n int64) error {
	return c.check(what, sizeAdd(valueOverhead, n))
}

// checkElems fails when a collection of n elements whose elements hold
// elemBytes (their payloads, without the Values themselves) is over the
// limit.
func (c *evalCtx) checkElems(what string, n, elemBytes int64) error {
	return c.check(what, sizeAdd(sizeAdd(valueOverhead, sizeMul(n, valueOverhead)), elemBytes))
}

// valueOverhead is what a Value costs before its payload.
var valueOverhead = types.NewString("").Size()

// sizeAdd and sizeMul are saturating: sizes computed from arguments (a
// count of 9223372036854775807) must not wrap around to something small.
func sizeAdd(a, b int64) int64 {
	if a < 0 || b < 0 || a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func sizeMul(a, b int64) int64 {
	if a < 0 || b < 0 {
		return math.MaxInt64
	}
	if a != 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}

// mappedLen is the length of strings.Map(f, s) (and of strings.ToUpper,
// ToLower, which map rune by rune): an invalid byte becomes U+FFFD, three
// bytes, so the text may grow threefold.
func mappedLen(s string, f func(rune) rune) int64 {
	var n int64
	for _, r := range s {
		n += int64(utf8.RuneLen(f(r)))
	}
	return n
}

// builder is a strings.Builder that refuses to grow past a limit: each
// write is checked before it is made.
type builder struct {
	b   strings.Builder
	max int64
	err error
}

func (w *builder) room(n int) bool {
	if w.err != nil {
		return false
	}
	if int64(w.b.Len())+int64(n) > w.max {
		w.err = errTooLong
		return false
	}
	return true
}

func (w *builder) WriteString(s string) {
	if w.room(len(s)) {
		w.b.WriteString(s)
	}
}

func (w *builder) byte1(c byte) {
	if w.room(1) {
		w.b.WriteByte(c)
	}
}

func (w *builder) WriteRune(r rune) {
	if w.room(utf8.RuneLen(r)) {
		w.b.WriteRune(r)
	}
}

// errTooLong marks a builder that hit its limit; callers turn it into a
// tooLarge error naming themselves.
var errTooLong = ErrValueTooLarge.Errorf("value too large")
