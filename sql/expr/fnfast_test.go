package expr

import (
	"fmt"
	"strings"
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// TestFormatLiteralArgsBoundOnce checks that TIMESTAMPTOSTRING and
// FORMAT_TIMESTAMP with a literal pattern and zone, compiled when the
// call is bound, give what the per-row path gives with the same pattern
// and zone read from columns: the same text, or the same error.
func TestFormatLiteralArgsBoundOnce(t *testing.T) {
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	patterns := []string{
		"yyyy-MM-dd", "HH:mm", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "EEEE d MMMM yy, h:mm a",
		"D k K n A", "z VV Z x", "''yyyy''", "uuuu-LL", "",
		"yyyy-MM-dd 'unterminated", "yyyy-MM-dd qq", // invalid: the error comes from each row
	}
	zones := []string{"UTC", "America/New_York", "+05:30", "GMT-3", "Not/AZone"}
	times := []int64{1795428000123, 0, -1, 951782400000}
	for _, p := range patterns {
		for _, z := range zones {
			for _, call := range []struct{ fn, arg string }{
				{"FORMAT_TIMESTAMP", "TS"},
				{"TIMESTAMPTOSTRING", "B"},
			} {
				lit, err := bindLine(fmt.Sprintf("%s(%s, %s, %s)", call.fn, call.arg, quote(p), quote(z)))
				if err != nil {
					t.Fatal(err)
				}
				perRow, err := bindLine(fmt.Sprintf("%s(%s, S, JS)", call.fn, call.arg))
				if err != nil {
					t.Fatal(err)
				}
				for _, ms := range times {
					r := append(types.Row(nil), row...)
					r[1] = types.NewBigint(ms)
					r[6] = types.NewTimestamp(ms)
					r[4] = types.NewString(p)
					r[18] = types.NewString(z)
					want, wantErr := perRow.Eval(r)
					got, gotErr := lit.Eval(r)
					if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || types.Format(got, types.String) != types.Format(want, types.String) {
						t.Errorf("%s(%d, %q, %q) = %v, %v; per row %v, %v", call.fn, ms, p, z, got, gotErr, want, wantErr)
					}
				}
			}
		}
	}
	// And what a literal pattern and zone give, so that the two paths
	// cannot agree on something wrong.
	for _, c := range []struct{ sql, want string }{
		{"FORMAT_TIMESTAMP(TS, 'yyyy-MM-dd', 'UTC')", "2026-11-23"},
		{"FORMAT_TIMESTAMP(TS, 'HH:mm', 'UTC')", "10:00"},
		{"FORMAT_TIMESTAMP(TS, 'yyyy-MM-dd HH:mm', 'America/New_York')", "2026-11-23 05:00"},
		{"TIMESTAMPTOSTRING(1795428000000, 'yyyy-MM-dd HH:mm:ss.SSS')", "2026-11-23 10:00:00.000"},
	} {
		e, err := bindLine(c.sql)
		if err != nil {
			t.Fatal(err)
		}
		v, err := e.Eval(row)
		if err != nil || v.Str() != c.want {
			t.Errorf("%s = %v, %v; want %s", c.sql, v, err, c.want)
		}
	}
}

// TestSplitPieces checks SPLIT's pieces at a delimiter of one or more
// bytes, at the ends and repeated, and its subscripts (1-based, negative
// from the end, out of range NULL).
func TestSplitPieces(t *testing.T) {
	for _, c := range []struct{ sql, want string }{
		{"SPLIT('https://www.nexmark.com/a/b/c/item.htm', '/')", "[https:, , www.nexmark.com, a, b, c, item.htm]"},
		{"SPLIT('/a//b/', '/')", "[, a, , b, ]"},
		{"SPLIT('a::b:::c', '::')", "[a, b, :c]"},
		{"SPLIT('abc', 'abc')", "[, ]"},
		{"SPLIT('abc', 'abcd')", "[abc]"},
		{"ARRAY_LENGTH(SPLIT('', '/'))", "1"},
		{"SPLIT('a/b/c', '/')[1]", "a"},
		{"SPLIT('a/b/c', '/')[3]", "c"},
		{"SPLIT('a/b/c', '/')[-1]", "c"},
		{"SPLIT('a/b/c', '/')[-3]", "a"},
		{"SPLIT('a/b/c', '/')[4]", "NULL"},
		{"SPLIT('a/b/c', '/')[-4]", "NULL"},
		{"SPLIT('a/b/c', '/')[0]", "NULL"},
	} {
		e, err := bindLine(c.sql)
		if err != nil {
			t.Fatal(err)
		}
		v, err := e.Eval(row)
		if err != nil {
			t.Fatalf("%s: %v", c.sql, err)
		}
		if got := show(v, e.Type()); got != c.want {
			t.Errorf("%s = %s; want %s", c.sql, got, c.want)
		}
	}
}
