package sql

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/runnel/runnel/internal/sqlstate"
)

// ErrSyntax is the sentinel every *SyntaxError matches with errors.Is, so
// callers that only care about the class need not type-assert.
var ErrSyntax = errors.New("sql: syntax error")

// SyntaxError is a statement that does not parse, from our own grammar or
// from TiDB's, or that breaks one of the limits of limits.go. Pos is a
// 1-based character (not byte) offset into the whole text given to Parse
// (or ParseType); it points at the offending token, or one past the last
// character when the text ended too early.
type SyntaxError struct {
	Pos int
	Msg string
	// limit is the sentinel of a broken limit (ErrTooComplex,
	// ErrNameTooLong); nil for a plain syntax error.
	limit *sqlstate.Error
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s (at position %d)", e.Msg, e.Pos)
}

// SQLState is PostgreSQL's syntax_error code, or the broken limit's code.
func (e *SyntaxError) SQLState() string {
	if e.limit != nil {
		return e.limit.SQLState()
	}
	return string(sqlstate.Syntax)
}

// Position is Pos, under the name pgwire error mappers look for.
func (e *SyntaxError) Position() int { return e.Pos }

// Is makes errors.Is(err, ErrSyntax) hold for a syntax error, and
// errors.Is(err, ErrTooComplex) (or ErrNameTooLong) for a broken limit.
func (e *SyntaxError) Is(target error) bool {
	if e.limit != nil {
		return target == e.limit
	}
	return target == ErrSyntax
}

// posError is a syntax error located by a byte offset into the original
// text. The parser works in bytes throughout; Parse converts to the
// character position of SyntaxError once, at the boundary.
type posError struct {
	off      int
	msg      string
	sentinel *sqlstate.Error // set for a broken limit
}

func (e *posError) Error() string { return e.msg }

func errAt(off int, format string, args ...any) error {
	return &posError{off: off, msg: fmt.Sprintf(format, args...)}
}

// toSyntaxError converts an internal error into the exported form.
func toSyntaxError(text string, err error) error {
	var pe *posError
	if !errors.As(err, &pe) {
		return &SyntaxError{Pos: utf8.RuneCountInString(text) + 1, Msg: err.Error()}
	}
	off := min(max(pe.off, 0), len(text))
	return &SyntaxError{Pos: utf8.RuneCountInString(text[:off]) + 1, Msg: pe.msg, limit: pe.sentinel}
}

// tidbErrorOffset finds the byte offset into src where TiDB's parser
// stopped. TiDB reports `line L column C near "REST"` where REST is the
// source from the offending token on (cut to 2048 bytes, followed then by
// "(total length N)"), so the offset is len(src) minus REST's length; the
// line and column are the fallback.
func tidbErrorOffset(src, msg string) (off int, ok bool) {
	const marker = ` near "`
	i := strings.Index(msg, marker)
	if i >= 0 {
		rest := msg[i+len(marker):]
		if j := strings.Index(rest, "(total length "); j >= 0 {
			tail := rest[j+len("(total length "):]
			if k := strings.IndexByte(tail, ')'); k >= 0 {
				if n, err := strconv.Atoi(tail[:k]); err == nil && n <= len(src) {
					return len(src) - n, true
				}
			}
		}
		// The near text may itself contain quotes, and TiDB may append a
		// short message after the closing one: try the last few '"' from
		// the end (a bounded number, so hostile input stays linear).
		j := len(rest)
		for tries := 0; tries < 4; tries++ {
			j = strings.LastIndexByte(rest[:j], '"')
			if j < 0 {
				break
			}
			if cand := rest[:j]; strings.HasSuffix(src, cand) {
				return len(src) - len(cand), true
			}
		}
	}
	var line, col int
	if k := strings.Index(msg, "line "); k >= 0 {
		if _, err := fmt.Sscanf(msg[k:], "line %d column %d", &line, &col); err == nil {
			off := 0
			for l := 1; l < line; l++ {
				nl := strings.IndexByte(src[off:], '\n')
				if nl < 0 {
					return len(src), true
				}
				off += nl + 1
			}
			return min(off+col, len(src)), true
		}
	}
	return 0, false
}
