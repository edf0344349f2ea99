package expr

import (
	"math"
	"math/big"
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// Tests of sql/types/format.go, kept here because sql/types belongs to
// the contract owners; format.go is this package's helper file there.

func TestFormat(t *testing.T) {
	nested := types.Struct(types.Field{Name: "A", Type: types.Int}, types.Field{Name: "B", Type: types.Array(types.String)})
	for _, tc := range []struct {
		v    types.Value
		t    types.Type
		want string
	}{
		{types.Value{}, types.Int, ""},
		{types.NewBoolean(true), types.Boolean, "true"},
		{types.NewInt(-3), types.Int, "-3"},
		{types.NewBigint(10000000000), types.Bigint, "10000000000"},
		{types.NewDouble(1), types.Double, "1.0"},
		{types.NewDouble(0.001), types.Double, "0.001"},
		{types.NewDouble(0.0001), types.Double, "1.0E-4"},
		{types.NewDouble(1.5e-5), types.Double, "1.5E-5"},
		{types.NewDouble(1234567), types.Double, "1234567.0"},
		{types.NewDouble(1e7), types.Double, "1.0E7"},
		{types.NewDouble(1e10), types.Double, "1.0E10"},
		{types.NewDouble(-2.25e21), types.Double, "-2.25E21"},
		{types.NewDouble(addF(0.1, 0.2)), types.Double, "0.30000000000000004"},
		{types.NewDouble(0), types.Double, "0.0"},
		{types.NewDouble(math.NaN()), types.Double, "NaN"},
		{types.NewDouble(math.Inf(-1)), types.Double, "-Infinity"},
		{types.NewDecimal(big.NewInt(150), 2), types.Decimal(3, 2), "1.50"},
		{types.NewDecimal(big.NewInt(-7), 2), types.Decimal(3, 2), "-0.07"},
		{types.NewDecimal(big.NewInt(42), 0), types.Decimal(3, 0), "42"},
		{types.NewString("x y"), types.String, "x y"},
		{types.NewBytes([]byte("Hi")), types.Bytes, "SGk="},
		{types.NewTimestamp(1795428000123), types.Timestamp, "2026-11-23T10:00:00.123"},
		{types.NewTimestamp(-1), types.Timestamp, "1969-12-31T23:59:59.999"},
		{types.NewDate(20780), types.Date, "2026-11-23"},
		{types.NewDate(-1), types.Date, "1969-12-31"},
		{types.NewTime(36000000), types.Time, "10:00:00"},
		{types.NewTime(36000250), types.Time, "10:00:00.250"},
		{types.NewArray([]types.Value{types.NewInt(1), {}, types.NewInt(2)}), types.Array(types.Int), "[1, null, 2]"},
		{types.NewArray(nil), types.Array(types.Int), "[]"},
		{types.NewMap([]types.Value{types.NewString("a")}, []types.Value{types.NewInt(1)}), types.Map(types.String, types.Int), "{a=1}"},
		{types.NewStruct([]types.Value{types.NewInt(1), types.NewArray([]types.Value{types.NewString("x")})}), nested, "{A=1, B=[x]}"},
	} {
		if got := types.Format(tc.v, tc.t); got != tc.want {
			t.Errorf("Format(%s) = %q, want %q", tc.t, got, tc.want)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	const base = int64(1795428000000) // 2026-11-23T10:00:00Z
	for _, tc := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "2026-11-23T10:00:00", want: base},
		{in: "2026-11-23T10:00:00.000", want: base},
		{in: "2026-11-23T10:00:00.5", want: base + 500},
		{in: "2026-11-23T10:00:00.123456789", want: base + 123},
		{in: "2026-11-23 10:00:00", want: base},
		{in: "2026-11-23T10:00", want: base},
		{in: "2026-11-23T10", want: base},
		{in: "2026-11-23", want: base - 10*3600000},
		{in: "2026-11", want: base - 10*3600000 - 22*86400000},
		{in: "2026-11-23T10:00:00Z", want: base},
		{in: "2026-11-23T11:00:00+01:00", want: base},
		{in: "2026-11-23T05:00:00-0500", want: base},
		{in: "2026-11-23T12:00:00+02", want: base},
		{in: " 2026-11-23T10:00:00 ", want: base},
		{in: "2026-02-30", bad: true},
		{in: "2026-13-01", bad: true},
		{in: "2026-11-23T25:00", bad: true},
		{in: "2026-11-23X", bad: true},
		{in: "yesterday", bad: true},
		{in: "", bad: true},
		{in: "2026-11-23T10:00:00.", bad: true},
	} {
		got, err := types.ParseTimestamp(tc.in)
		if tc.bad {
			if err == nil || !types.IsTimeTextError(err) {
				t.Errorf("ParseTimestamp(%q) = %d, %v; want an error", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseTimestamp(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	if d, err := types.ParseDate("1969-12-31"); err != nil || d != -1 {
		t.Errorf("ParseDate = %d, %v", d, err)
	}
	if _, err := types.ParseDate("2026-1-1"); err == nil {
		t.Error("ParseDate accepted 2026-1-1")
	}
	for in, want := range map[string]int64{"10:15": 36900000, "10:15:30": 36930000, "00:00:00.5": 500, "23:59:59.999": 86399999} {
		if got, err := types.ParseTime(in); err != nil || got != want {
			t.Errorf("ParseTime(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"24:00", "10", "10:60", "10:00:00.x"} {
		if _, err := types.ParseTime(in); err == nil {
			t.Errorf("ParseTime(%q) succeeded", in)
		}
	}
}

func TestParseType(t *testing.T) {
	for in, want := range map[string]string{
		"int":                             "INTEGER",
		"INTEGER":                         "INTEGER",
		"bigint":                          "BIGINT",
		"DOUBLE":                          "DOUBLE",
		"boolean":                         "BOOLEAN",
		"VARCHAR":                         "STRING",
		"STRING":                          "STRING",
		"BYTES":                           "BYTES",
		"TIMESTAMP":                       "TIMESTAMP",
		"DATE":                            "DATE",
		"TIME":                            "TIME",
		"DECIMAL(10,2)":                   "DECIMAL(10, 2)",
		"decimal( 5 )":                    "DECIMAL(5, 0)",
		"ARRAY<INT>":                      "ARRAY<INTEGER>",
		"MAP<STRING, ARRAY<DOUBLE>>":      "MAP<STRING, ARRAY<DOUBLE>>",
		"STRUCT<a INT, `b` STRING>":       "STRUCT<`A` INTEGER, `b` STRING>",
		"STRUCT<\"Q\" STRUCT<X BOOLEAN>>": "STRUCT<`Q` STRUCT<`X` BOOLEAN>>",
		"STRUCT<>":                        "STRUCT<>",
		"ARRAY<STRUCT<A DECIMAL(4, 1)>>":  "ARRAY<STRUCT<`A` DECIMAL(4, 1)>>",
	} {
		got, err := types.Parse(in)
		if err != nil || got.String() != want {
			t.Errorf("Parse(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "FOO", "DECIMAL", "DECIMAL(2, 3)", "ARRAY<INT", "MAP<INT>", "INT INT", "STRUCT<A>"} {
		if _, err := types.Parse(in); err == nil {
			t.Errorf("Parse(%q) succeeded", in)
		}
	}
}

// addF adds at run time (constants would be added exactly).
func addF(a, b float64) float64 { return a + b }
