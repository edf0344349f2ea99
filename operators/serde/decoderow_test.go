package serde

import (
	"errors"
	"strings"
	"testing"

	"github.com/runnel/runnel/sql/types"
)

func TestDecodeRow(t *testing.T) {
	cols := []types.Column{col("ID", types.Bigint), col("NAME", types.String), col("TS", types.Timestamp)}
	caseCols := []types.Column{col("a", types.Bigint), col("A", types.Bigint), col("b", types.String)}
	all := &Projection{Index: []int{0, 1, 2}}
	skipName := &Projection{Index: []int{0, 1, 2}, Skip: []bool{false, true, false}}
	skipID := &Projection{Index: []int{0, 1, 2}, Skip: []bool{true, false, false}}
	for _, tc := range []struct {
		name   string
		format string
		cols   []types.Column
		in     string
		p      *Projection
		want   string // the row as showRow prints it, or "error: <substring>"
	}{
		{"every column", "JSON", cols, `{"ID":1,"NAME":"x","TS":5}`, all, `[BIGINT(1) STRING("x") TIMESTAMP(5)]`},
		{"camel-case members in the columns' order", "JSON", cols, `{"id":1,"name":"x","ts":5}`, all, `[BIGINT(1) STRING("x") TIMESTAMP(5)]`},
		{"members in another order", "JSON", cols, `{"ts":5,"Name":"x","iD":1}`, all, `[BIGINT(1) STRING("x") TIMESTAMP(5)]`},
		{"a member missing, another unknown", "JSON", cols, `{"extra":[1,{"a":2}],"ID":1,"TS":5}`, all, `[BIGINT(1) NULL TIMESTAMP(5)]`},
		{"a skipped string of any JSON", "JSON", cols, `{"ID":1,"NAME":{"deep":[true,null]},"TS":5}`, skipName, `[BIGINT(1) NULL TIMESTAMP(5)]`},
		{"a skipped column that does not convert still fails", "JSON", cols, `{"ID":"one","NAME":"x","TS":5}`, skipID, "error: ID"},
		{"a skipped column of bad syntax fails", "JSON", cols, `{"ID":1,"NAME":"x\u00","TS":5}`, skipName, "error: invalid JSON"},
		{"a null record of a value is an error", "JSON", cols, `null`, all, "error: null record"},
		{"names that differ in case only: exact matches win", "JSON", caseCols, `{"A":1,"a":2,"B":"x"}`, all, `[BIGINT(2) BIGINT(1) STRING("x")]`},
		{"names that differ in case only: a later exact match replaces a folded one", "JSON", caseCols, `{"B":"x","b":"y"}`, all, `[NULL NULL STRING("y")]`},
		{"names that differ in case only: a later folded match does not replace", "JSON", caseCols, `{"b":"y","B":"x"}`, all, `[NULL NULL STRING("y")]`},
		{"delimited", "DELIMITED", cols, `1,x,5`, skipName, `[BIGINT(1) NULL TIMESTAMP(5)]`},
		{"delimited, a skipped field that does not convert", "DELIMITED", cols, `one,x,5`, skipID, "error: ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := NewValueFormat(tc.format, tc.cols, Props{})
			if err != nil {
				t.Fatal(err)
			}
			dst := make(types.Row, len(tc.cols))
			err = f.(RowDecoder).DecodeRow([]byte(tc.in), dst, tc.p)
			if want, ok := strings.CutPrefix(tc.want, "error: "); ok {
				if err == nil || !errors.Is(err, ErrDecode) || !strings.Contains(err.Error(), want) {
					t.Fatalf("DecodeRow(%s) = %s, %v; want an ErrDecode about %q", tc.in, showRow(dst), err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeRow(%s): %v", tc.in, err)
			}
			if got := showRow(dst); got != tc.want {
				t.Fatalf("DecodeRow(%s) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestDecodeRowKey(t *testing.T) {
	f, err := NewKeyFormat("KAFKA", []types.Column{col("K", types.String)}, Props{})
	if err != nil {
		t.Fatal(err)
	}
	rd := f.(RowDecoder)
	dst := make(types.Row, 3)
	if err := rd.DecodeRow([]byte("k1"), dst, &Projection{Index: []int{2}}); err != nil {
		t.Fatal(err)
	}
	if got := showRow(dst); got != `[NULL NULL STRING("k1")]` {
		t.Fatalf("key into place 2: %s", got)
	}
	dst = make(types.Row, 1)
	if err := rd.DecodeRow(nil, dst, &Projection{Index: []int{0}}); err != nil || !dst[0].IsNull() {
		t.Fatalf("no key: %s, %v; want NULL", showRow(dst), err)
	}
	if err := rd.DecodeRow([]byte("k"), dst, &Projection{Index: []int{0, 1}}); err == nil {
		t.Fatalf("a projection of the wrong width was accepted")
	}
}
