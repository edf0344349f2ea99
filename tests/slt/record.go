package slt

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Kind says what a Record does.
type Kind int

const (
	// KindStatement runs SQL and checks that it succeeds (optionally with a
	// number of affected rows) or fails as expected.
	KindStatement Kind = iota + 1
	// KindQuery runs SQL and compares its rows with the expected values, or
	// checks that it fails as expected (`query error ...`).
	KindQuery
	// KindHashThreshold sets the number of values above which results are
	// compared by their MD5 hash (`hash-threshold N`); 0 turns hashing off.
	KindHashThreshold
	// KindHalt stops the file: no later record runs.
	KindHalt
	// KindSleep pauses the file (`sleep 200ms`).
	KindSleep
)

func (k Kind) String() string {
	switch k {
	case KindStatement:
		return "statement"
	case KindQuery:
		return "query"
	case KindHashThreshold:
		return "hash-threshold"
	case KindHalt:
		return "halt"
	case KindSleep:
		return "sleep"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// SortMode says how a query's values are ordered before they are compared.
type SortMode int

const (
	// NoSort compares rows in the order the server returned them.
	NoSort SortMode = iota
	// RowSort sorts rows, comparing their rendered values column by column.
	RowSort
	// ValueSort sorts every rendered value on its own, ignoring rows.
	ValueSort
)

func (m SortMode) String() string {
	switch m {
	case NoSort:
		return "nosort"
	case RowSort:
		return "rowsort"
	case ValueSort:
		return "valuesort"
	}
	return fmt.Sprintf("SortMode(%d)", int(m))
}

// ErrorExpectation is what a failing statement or query must fail with.
type ErrorExpectation struct {
	// Code is the SQLSTATE the error must carry; empty accepts any.
	Code string
	// Pattern must match the error's message (PgError.Message, or the error
	// text when the error did not come from the server); nil accepts any.
	Pattern *regexp.Regexp
	// Position, when HasPosition, is the position the error must carry
	// (PgError.Position: 1-based characters into the statement's text,
	// where psql puts its caret); 0 requires none.
	Position    int
	HasPosition bool
}

// Expected is a query's expected output: the lines between `----` and the
// blank line that ends the record.
type Expected struct {
	// Lines are the result lines as written, without trailing spaces. They
	// hold one value per line, or one row per line with values separated by
	// spaces; comparison flattens both forms to a list of values.
	Lines []string
	// Hashed is true when the output is the single line
	// "N values hashing to H"; HashCount and Hash then hold N and H.
	Hashed    bool
	HashCount int
	Hash      string
}

// Record is one unit of an .slt file: a statement, a query or a control
// directive, with the conditions written before it.
type Record struct {
	Kind Kind
	// Line is the 1-based line of the record's directive in its file.
	Line int
	// SkipIf and OnlyIf list the engines of `skipif X` / `onlyif X` lines
	// written before the record.
	SkipIf []string
	OnlyIf []string

	// SQL is the statement text, its lines joined with '\n' (comment lines
	// that start with '#' removed). Statements and queries only.
	SQL string
	// Error, when not nil, says the SQL must fail (`statement error`,
	// `query error`).
	Error *ErrorExpectation
	// RowsAffected is N of `statement count N`; -1 when not checked.
	RowsAffected int64

	// Types is a query's type string: one character per column (T, I, R, B).
	Types string
	// Sort is the query's sort mode.
	Sort SortMode
	// Retry re-runs the query until its results match or the retry deadline
	// passes, for results that arrive over time.
	Retry bool
	// Label names a query whose results must equal those of every other
	// query of the file with the same label.
	Label string
	// Expected is the query's expected output.
	Expected Expected

	// Threshold is N of `hash-threshold N`.
	Threshold int
	// Sleep is the pause of `sleep D`.
	Sleep time.Duration

	// span locates the query's expected output in the file, for -rewrite.
	span resultSpan
}

// resultSpan locates a query's expected output in the file's bytes.
type resultSpan struct {
	// start and end are byte offsets of the result lines: [start, end).
	// Without a `----` separator they are equal, at the point where the
	// separator and results are to be inserted.
	start, end int
	// separator is true when the record has a `----` line.
	separator bool
}

// Skipped reports whether the record is skipped for engine.
func (r *Record) Skipped(engine string) bool {
	for _, e := range r.SkipIf {
		if e == engine {
			return true
		}
	}
	for _, e := range r.OnlyIf {
		if e != engine {
			return true
		}
	}
	return false
}

// String describes the record on one line per field, for tests and -v.
func (r *Record) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "line %d: %s", r.Line, r.Kind)
	for _, e := range r.SkipIf {
		fmt.Fprintf(&b, " skipif=%s", e)
	}
	for _, e := range r.OnlyIf {
		fmt.Fprintf(&b, " onlyif=%s", e)
	}
	switch r.Kind {
	case KindHashThreshold:
		fmt.Fprintf(&b, " %d", r.Threshold)
	case KindSleep:
		fmt.Fprintf(&b, " %s", r.Sleep)
	case KindStatement, KindQuery:
		if r.Kind == KindQuery && r.Error == nil {
			fmt.Fprintf(&b, " types=%s sort=%s", r.Types, r.Sort)
			if r.Retry {
				b.WriteString(" retry")
			}
			if r.Label != "" {
				fmt.Fprintf(&b, " label=%s", r.Label)
			}
		}
		if r.Error != nil {
			b.WriteString(" error")
			if r.Error.Code != "" {
				fmt.Fprintf(&b, " pgcode=%s", r.Error.Code)
			}
			if r.Error.HasPosition {
				fmt.Fprintf(&b, " position=%d", r.Error.Position)
			}
			if r.Error.Pattern != nil {
				fmt.Fprintf(&b, " pattern=%q", r.Error.Pattern.String())
			}
		}
		if r.RowsAffected >= 0 {
			fmt.Fprintf(&b, " count=%d", r.RowsAffected)
		}
		fmt.Fprintf(&b, "\n  sql: %q", r.SQL)
		if r.Kind == KindQuery && r.Error == nil {
			if r.Expected.Hashed {
				fmt.Fprintf(&b, "\n  hash: %d values %s", r.Expected.HashCount, r.Expected.Hash)
			} else {
				fmt.Fprintf(&b, "\n  expected: %q", r.Expected.Lines)
			}
		}
	}
	return b.String()
}
