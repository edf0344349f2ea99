package slt

import (
	"fmt"
	"strings"
)

// Failure is one record that did not pass.
type Failure struct {
	File string
	// Line is the 1-based line of the record's directive.
	Line int
	// SQL is the record's SQL text.
	SQL string
	// Msg says what went wrong; it may span several lines.
	Msg string
}

// Error formats the failure as "file:line: msg", then the SQL, indented.
func (f Failure) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d: %s", f.File, f.Line, f.Msg)
	if f.SQL != "" {
		b.WriteString("\n    sql: ")
		b.WriteString(strings.ReplaceAll(f.SQL, "\n", "\n         "))
	}
	return b.String()
}

// Result is what running one file did.
type Result struct {
	File string
	// Passed and Failed count statements and queries; Skipped counts records
	// left out by skipif/onlyif or after a halt. Control records
	// (hash-threshold, sleep, halt) are not counted.
	Passed, Failed, Skipped int
	// Rewritten counts queries whose expected results -rewrite replaced;
	// they count as Passed too.
	Rewritten int
	// Failures lists the failed records in file order.
	Failures []Failure
}

// Err returns nil when no record failed, else a *FailedError.
func (r *Result) Err() error {
	if len(r.Failures) == 0 {
		return nil
	}
	return &FailedError{File: r.File, Failures: r.Failures}
}

// FailedError lists the failed records of a file. It wraps
// ErrRecordsFailed.
type FailedError struct {
	File     string
	Failures []Failure
}

func (e *FailedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d records failed", e.File, len(e.Failures))
	for _, f := range e.Failures {
		b.WriteString("\n")
		b.WriteString(f.Error())
	}
	return b.String()
}

// Unwrap lets errors.Is(err, ErrRecordsFailed) hold.
func (e *FailedError) Unwrap() error { return ErrRecordsFailed }
