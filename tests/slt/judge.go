package slt

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// verdict is the judgement of one execution of a record.
type verdict struct {
	ok  bool
	msg string // why it failed
	// values are a query's rendered values after sorting; nil when the
	// query failed before they could be rendered.
	values []string
	// got are the result lines the query should have had in its file;
	// nil unless a rewrite could fix the record.
	got []string
}

// judge compares one execution of rec with what rec expects.
func (fr *fileRun) judge(rec *Record, out *outcome, err error) verdict {
	if rec.Error != nil {
		return judgeError(rec.Error, err)
	}
	if err != nil {
		return verdict{msg: "unexpected error: " + describeError(err)}
	}
	if rec.Kind == KindStatement {
		if rec.RowsAffected >= 0 && out.tag.RowsAffected() != rec.RowsAffected {
			return verdict{msg: fmt.Sprintf("expected %d rows affected, got %d (%s)", rec.RowsAffected, out.tag.RowsAffected(), out.tag)}
		}
		return verdict{ok: true}
	}
	if out.ncols != len(rec.Types) {
		return verdict{msg: fmt.Sprintf("type string %q has %d columns, the query returned %d", rec.Types, len(rec.Types), out.ncols)}
	}
	rows, err := renderRows(rec.Types, out.rows)
	if err != nil {
		return verdict{msg: err.Error()}
	}
	values := sortedValues(rec.Sort, rows)
	got := formatResults(values, out.ncols, rowLayout(rec.Expected, out.ncols), fr.threshold)
	if rec.Expected.Hashed {
		got = []string{hashedLine(values)} // kept hashed, whatever the threshold
	}
	var ok bool
	switch {
	case rec.Expected.Hashed:
		ok = len(values) == rec.Expected.HashCount && HashValues(values) == rec.Expected.Hash
	case fr.threshold > 0 && len(values) > fr.threshold:
		ok = false // over the threshold the results must be written hashed
	default:
		ok = matchValues(rec.Expected.Lines, values)
	}
	if ok {
		return verdict{ok: true, values: values}
	}
	msg := "results differ\n    expected:" + indentLines(rec.Expected.Lines) + "\n    got:" + indentLines(got)
	return verdict{msg: msg, values: values, got: got}
}

func indentLines(lines []string) string {
	if len(lines) == 0 {
		return " (no rows)"
	}
	return "\n        " + strings.Join(lines, "\n        ")
}

// judgeError checks err against what a failing record expects.
func judgeError(want *ErrorExpectation, err error) verdict {
	if err == nil {
		return verdict{msg: "expected an error, but it succeeded"}
	}
	code, text, pos := "", err.Error(), 0
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		code, text, pos = pgErr.Code, pgErr.Message, int(pgErr.Position)
	}
	if want.Code != "" && code != want.Code {
		return verdict{msg: fmt.Sprintf("expected SQLSTATE %s, got: %s", want.Code, describeError(err))}
	}
	if want.HasPosition && pos != want.Position {
		return verdict{msg: fmt.Sprintf("expected position %d, got %d: %s", want.Position, pos, describeError(err))}
	}
	if want.Pattern != nil && !want.Pattern.MatchString(text) {
		return verdict{msg: fmt.Sprintf("error does not match %q: %s", want.Pattern, describeError(err))}
	}
	return verdict{ok: true}
}

// describeError renders err with its SQLSTATE when the server sent one.
func describeError(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return fmt.Sprintf("%s: %s (SQLSTATE %s)", pgErr.Severity, pgErr.Message, pgErr.Code)
	}
	return err.Error()
}
