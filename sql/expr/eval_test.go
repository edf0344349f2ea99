package expr

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/types"
)

// TestEvalData runs the files of testdata/eval: one expression a line,
// read by the real front end (sql.Parse, as a client's SELECT would be)
// and bound against the test scope of helpers_test.go, then evaluated
// over its row. Each line's result is printed after " ==> ":
//
//	'text' : STRING                    a value and its static type (a top-level
//	                                   STRING quoted, NULL as NULL)
//	error 22012: division by zero      an evaluation error and its SQLSTATE
//	bind error 42804: ...              an error binding the expression
//	syntax error: ...                  the front end refused the text
//
// UNIX_TIMESTAMP() and friends see 2026-11-23T10:00:00Z. Regenerate
// the expected output with -rewrite.
func TestEvalData(t *testing.T) {
	fixed := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	now = func() time.Time { return fixed }
	defer func() { now = time.Now }()
	datadriven.Walk(t, "testdata/eval", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd != "eval" {
				d.Fatalf(t, "unknown command %s", d.Cmd)
			}
			var out strings.Builder
			for _, line := range strings.Split(d.Input, "\n") {
				if strings.TrimSpace(line) == "" {
					continue
				}
				fmt.Fprintf(&out, "%s ==> %s\n", line, evalLine(t, line))
			}
			return out.String()
		})
	})
}

// evalLine evaluates one expression as TestEvalData prints it.
func evalLine(t *testing.T, line string) string {
	e, err := bindLine(line)
	if err != nil {
		var se *sql.SyntaxError
		if errors.As(err, &se) {
			return "syntax error: " + se.Msg
		}
		return fmt.Sprintf("bind error %s: %v", sqlstate.Of(err), err)
	}
	v, err := e.Eval(row)
	if err != nil {
		return fmt.Sprintf("error %s: %v", sqlstate.Of(err), err)
	}
	if !v.IsNull() && v.Kind() != e.Type().Kind {
		t.Errorf("%s: value kind %s differs from static type %s", line, v.Kind(), e.Type())
	}
	return showData(v, e.Type()) + " : " + e.Type().String()
}

// bindLine reads line as the only field of SELECT line FROM T with the
// front end and binds it against the test scope.
func bindLine(line string) (Expr, error) {
	stmts, err := sql.Parse("SELECT " + line + " FROM T")
	if err != nil {
		return nil, err
	}
	sel, ok := stmts[0].(*sql.Select)
	if len(stmts) != 1 || !ok || sel.Query.Select == nil || len(sel.Query.Select.Fields.Fields) != 1 {
		return nil, fmt.Errorf("not one expression: %q", line)
	}
	b := &Binder{Scope: scope}
	return b.Bind(sel.Query.Select.Fields.Fields[0].Expr)
}

// showData renders a value for the files: NULL as NULL, a top-level
// STRING quoted as a SQL literal (so an empty string and leading blanks
// are visible), anything else as types.Format renders it.
func showData(v types.Value, t types.Type) string {
	switch {
	case v.IsNull():
		return "NULL"
	case v.Kind() == types.KindString:
		return "'" + strings.ReplaceAll(v.Str(), "'", "''") + "'"
	}
	return types.Format(v, t)
}
