package expr

import (
	"fmt"
	"math"
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

// TestSplitIndex checks SPLIT(s, literal)[i], which finds the piece
// without building the array, against SPLIT(s, column)[i], which builds
// it, and splitPiece against strings.Split: separators of one and more
// bytes, overlapping themselves, at the ends, indexes in and out of range
// both ways, NULLs.
func TestSplitIndex(t *testing.T) {
	strs := []string{"", "/", "//", "a", "a/b", "/a/b/", "https://www.nexmark.com/x/y/z/item.htm", "aaa", "aaaa", "abab", "ééé/é", "a::b:::c"}
	seps := []string{"/", "a", "aa", "::", "é", "ab", "zz"}
	idx := []int64{1, 2, 3, 4, 5, 8, -1, -2, -3, -4, -8, 0, math.MaxInt64, math.MinInt64}
	for _, s := range strs {
		for _, sep := range seps {
			parts := strings.Split(s, sep)
			ref := make([]types.Value, len(parts))
			for i, p := range parts {
				ref[i] = types.NewString(p)
			}
			for _, i := range idx {
				want := arrayAt(ref, i)
				got, ok := splitPiece(s, sep, i)
				if ok != !want.IsNull() || ok && got != want.Str() {
					t.Errorf("splitPiece(%q, %q, %d) = %q, %v; want %s", s, sep, i, got, ok, showV(want))
				}
			}
		}
	}
	fast, err := bindLine("SPLIT(S, '::')[I]")
	if err != nil {
		t.Fatal(err)
	}
	built, err := bindLine("SPLIT(S, JS)[I]")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []types.Value{types.NewString("a::b:::c"), types.NewString(""), types.NewString("::"), types.NullValue} {
		for _, i := range []types.Value{types.NewInt(1), types.NewInt(3), types.NewInt(4), types.NewInt(-1), types.NewInt(-3), types.NewInt(0), types.NullValue} {
			r := append(types.Row(nil), row...)
			r[4], r[0], r[18] = s, i, types.NewString("::")
			want, werr := built.Eval(r)
			got, gerr := fast.Eval(r)
			if werr != nil || gerr != nil || !sameV(got, want) {
				t.Errorf("SPLIT(%s, '::')[%s] = %s, %v; want %s, %v", showV(s), showV(i), showV(got), gerr, showV(want), werr)
			}
		}
	}
}
