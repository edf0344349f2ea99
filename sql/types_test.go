package sql

import (
	"errors"
	"testing"

	"github.com/runnel/runnel/sql/types"
)

func TestParseType(t *testing.T) {
	tests := []struct {
		in   string
		want types.Type
	}{
		{"BOOLEAN", types.Boolean},
		{"int", types.Int},
		{"INTEGER", types.Int},
		{"BigInt", types.Bigint},
		{"DOUBLE", types.Double},
		{"DECIMAL(10, 2)", types.Decimal(10, 2)},
		{"decimal(5)", types.Decimal(5, 0)},
		{"VARCHAR", types.String},
		{"VARCHAR(255)", types.String},
		{"VARCHAR(STRING)", types.String},
		{"BIGINT(20)", types.Bigint},
		{"STRING", types.String},
		{"BYTES", types.Bytes},
		{"TIMESTAMP", types.Timestamp},
		{"DATE", types.Date},
		{"TIME", types.Time},
		{"ARRAY<INT>", types.Array(types.Int)},
		{"MAP<STRING,ARRAY<INT>>", types.Map(types.String, types.Array(types.Int))},
		{"STRUCT<a INT, `b` STRUCT<\"C\" STRING, d ARRAY<MAP<STRING, BOOLEAN>>>>", types.Struct(
			types.Field{Name: "A", Type: types.Int},
			types.Field{Name: "b", Type: types.Struct(
				types.Field{Name: "C", Type: types.String},
				types.Field{Name: "D", Type: types.Array(types.Map(types.String, types.Boolean))},
			)},
		)},
		{"STRUCT<>", types.Struct()},
		{"  struct < > ", types.Struct()},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseType(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			// Round trip: String renders what ParseType reads.
			again, err := ParseType(got.String())
			if err != nil {
				t.Fatalf("ParseType(%q): %v", got.String(), err)
			}
			if !again.Equal(got) || again.String() != got.String() {
				t.Errorf("round trip %v -> %v", got, again)
			}
		})
	}
}

func TestParseTypeErrors(t *testing.T) {
	tests := []struct {
		in  string
		pos int
	}{
		{"INTT", 1},
		{"", 1},
		{"ARRAY<>", 7},
		{"ARRAY<INT", 10},
		{"MAP<STRING>", 11},
		{"DECIMAL(0, 0)", 9},
		{"DECIMAL(2, 3)", 12},
		{"DECIMAL", 8},
		{"STRUCT<a INT, a STRING>", 15},
		{"STRUCT<a>", 9},
		{"INT INT", 5},
		{"VARCHAR('x')", 9},
		{"ARRAY<'x>", 7},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			_, err := ParseType(tc.in)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *SyntaxError", err)
			}
			if se.Pos != tc.pos {
				t.Errorf("Pos = %d, want %d (%s)", se.Pos, tc.pos, se.Msg)
			}
		})
	}
}
