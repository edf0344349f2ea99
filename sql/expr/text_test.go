package expr

import (
	"errors"
	"fmt"
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// TestConcatText: chains of STRING + STRING and CASTs of integers to
// STRING, written into one buffer (text.go), give the values, NULLs and
// errors that evaluating each + and CAST alone gives: the first NULL or
// error in order wins, and each nested + and CAST checks its own size
// first.
func TestConcatText(t *testing.T) {
	ov := valueOverhead
	for _, tc := range []struct {
		sql   string
		limit int64 // MaxValueBytes; 0: the default
		want  string
		err   string // the error's text, "" for none
	}{
		{sql: `RUNNEL_CAST(B, 'STRING') + '/' + RUNNEL_CAST(I, 'STRING')`, want: "10000000000/7"},
		{sql: `RUNNEL_CAST(I, 'STRING') + '/' + RUNNEL_CAST(B, 'STRING') + '/' + S`, want: "7/10000000000/Hello World"},
		{sql: `S + (RUNNEL_CAST(I, 'STRING') + ('-' + RUNNEL_CAST(-B, 'STRING')))`, want: "Hello World7--10000000000"},
		{sql: `RUNNEL_CAST(-9223372036854775807 - 1, 'STRING') + ''`, want: "-9223372036854775808"},
		{sql: `'' + ''`, want: ""},
		{sql: `RUNNEL_CAST(D, 'STRING') + RUNNEL_CAST(N, 'STRING') + RUNNEL_CAST(T, 'STRING')`, want: "2.512.50true"},
		{sql: `UCASE(S) + RUNNEL_CAST(I, 'STRING')`, want: "HELLO WORLD7"},
		{sql: `RUNNEL_CAST(NI, 'STRING') + 'x'`, want: "NULL"},
		{sql: `'x' + RUNNEL_CAST(NI, 'STRING') + 'y'`, want: "NULL"},
		{sql: `S + NS`, want: "NULL"},
		{sql: `S + NULL`, want: "NULL"},
		// The first NULL stops the chain before a later error...
		{sql: `NS + RUNNEL_CAST(I / Z, 'STRING')`, want: "NULL"},
		// ... and an earlier error comes before a later NULL.
		{sql: `RUNNEL_CAST(I / Z, 'STRING') + NS`, err: "division by zero"},
		// B's 11 digits, then "/" (12 bytes), then "7" (13).
		{sql: `RUNNEL_CAST(B, 'STRING') + '/' + RUNNEL_CAST(I, 'STRING')`, limit: ov + 13, want: "10000000000/7"},
		{sql: `RUNNEL_CAST(B, 'STRING') + '/' + RUNNEL_CAST(I, 'STRING')`, limit: ov + 12,
			err: fmt.Sprintf("+ would build a value of %d bytes, over the limit of %d bytes (--max-value-bytes)", ov+13, ov+12)},
		{sql: `RUNNEL_CAST(B, 'STRING') + '/' + RUNNEL_CAST(I, 'STRING')`, limit: ov + 11,
			err: fmt.Sprintf("+ would build a value of %d bytes, over the limit of %d bytes (--max-value-bytes)", ov+12, ov+11)},
		{sql: `RUNNEL_CAST(B, 'STRING') + '/' + RUNNEL_CAST(I, 'STRING')`, limit: ov + 10,
			err: fmt.Sprintf("CAST AS STRING would build a value of %d bytes, over the limit of %d bytes (--max-value-bytes)", ov+11, ov+10)},
		{sql: `RUNNEL_CAST(B, 'STRING')`, limit: ov + 10,
			err: fmt.Sprintf("CAST AS STRING would build a value of %d bytes, over the limit of %d bytes (--max-value-bytes)", ov+11, ov+10)},
	} {
		t.Run(fmt.Sprintf("%s/%d", tc.sql, tc.limit), func(t *testing.T) {
			e, err := bindSQL(t, &Binder{MaxValueBytes: int(tc.limit)}, tc.sql)
			if err != nil {
				t.Fatalf("bind: %v", err)
			}
			// Twice: the second evaluation reuses a pooled buffer.
			for range 2 {
				v, err := e.Eval(row)
				if tc.err != "" {
					if err == nil || err.Error() != tc.err {
						t.Fatalf("got %v (%v), want the error %q", show(v, e.Type()), err, tc.err)
					}
					if tc.limit > 0 && !errors.Is(err, ErrValueTooLarge) {
						t.Fatalf("%v is not ErrValueTooLarge", err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if got := show(v, e.Type()); got != tc.want {
					t.Fatalf("got %q, want %q", got, tc.want)
				}
				if !v.IsNull() && v.Kind() != types.KindString {
					t.Fatalf("value of kind %s", v.Kind())
				}
			}
		})
	}
}

// BenchmarkConcatKey is q5's group key, CAST(starttime AS VARCHAR) + '/'
// + CAST(maxn AS VARCHAR) (the sql package rewrites CAST to RUNNEL_CAST).
func BenchmarkConcatKey(b *testing.B) {
	e, err := bindSQL(b, &Binder{}, `RUNNEL_CAST(B, 'STRING') + '/' + RUNNEL_CAST(I, 'STRING')`)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Eval(row); err != nil {
			b.Fatal(err)
		}
	}
}
