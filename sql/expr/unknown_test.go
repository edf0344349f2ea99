package expr

import (
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// TestUnknownLiteralsInAssignments: a quoted literal bound as a column's
// value is read as that type, as PostgreSQL reads unknown-typed literals.
func TestUnknownLiteralsInAssignments(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		t    types.Type
		want string // the value, or the SQLSTATE of the error
	}{
		{"'1'", types.Int, "1"},
		{"' 42 '", types.Bigint, "42"},
		{"'-7'", types.Bigint, "-7"},
		{"'1.5'", types.Double, "1.5"},
		{"'12.345'", types.Decimal(10, 2), "12.35"},
		{"'t'", types.Boolean, "true"},
		{"'no'", types.Boolean, "false"},
		{"'2024-01-02T03:04:05'", types.Timestamp, "2024-01-02T03:04:05.000"},
		{"'2024-01-02'", types.Date, "2024-01-02"},
		{`'\xdeadbeef'`, types.Bytes, "3q2+7w=="},
		{"'raw'", types.Bytes, "cmF3"},
		{"('5')", types.Int, "5"},
		{"'x'", types.String, "x"},
		{"NULL", types.Int, "NULL"},
		{"'abc'", types.Int, "22P02"},
		{"'1.5'", types.Int, "22P02"},
		{"'3000000000'", types.Int, "22003"},
		{"'maybe'", types.Boolean, "22P02"},
		{`'\xzz'`, types.Bytes, "22P02"},
		{"'123.456'", types.Decimal(4, 2), "22003"},
		// Only literals written as such: an expression of type STRING is
		// not one.
		{"CONCAT('1', '2')", types.Int, "42804"},
		{"'[1]'", types.Array(types.Int), "42804"},
	} {
		t.Run(tc.sql+" as "+tc.t.String(), func(t *testing.T) {
			b := &Binder{}
			e, err := b.BindAs(parseExpr(t, tc.sql), tc.t)
			if err != nil {
				if got := SQLState(err); got != tc.want {
					t.Fatalf("error %v (%s), want %s", err, got, tc.want)
				}
				return
			}
			v, err := e.Eval(nil)
			if err != nil {
				t.Fatalf("eval: %v", err)
			}
			if !e.Type().Equal(tc.t) {
				t.Errorf("type %s, want %s", e.Type(), tc.t)
			}
			if got := show(v, tc.t); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
