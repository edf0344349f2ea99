package types

import (
	"math"
	"math/big"
	"testing"
)

func TestFormat(t *testing.T) {
	nested := Struct(Field{Name: "A", Type: Int}, Field{Name: "B", Type: Array(String)})
	for _, tc := range []struct {
		v    Value
		t    Type
		want string
	}{
		{Value{}, Int, ""},
		{NewBoolean(true), Boolean, "true"},
		{NewInt(-3), Int, "-3"},
		{NewBigint(10000000000), Bigint, "10000000000"},
		{NewDouble(1), Double, "1.0"},
		{NewDouble(0.001), Double, "0.001"},
		{NewDouble(0.0001), Double, "1.0E-4"},
		{NewDouble(1.5e-5), Double, "1.5E-5"},
		{NewDouble(1234567), Double, "1234567.0"},
		{NewDouble(1e7), Double, "1.0E7"},
		{NewDouble(1e10), Double, "1.0E10"},
		{NewDouble(-2.25e21), Double, "-2.25E21"},
		{NewDouble(addF(0.1, 0.2)), Double, "0.30000000000000004"},
		{NewDouble(0), Double, "0.0"},
		{NewDouble(math.NaN()), Double, "NaN"},
		{NewDouble(math.Inf(-1)), Double, "-Infinity"},
		{NewDecimal(big.NewInt(150), 2), Decimal(3, 2), "1.50"},
		{NewDecimal(big.NewInt(-7), 2), Decimal(3, 2), "-0.07"},
		{NewDecimal(big.NewInt(42), 0), Decimal(3, 0), "42"},
		{NewString("x y"), String, "x y"},
		{NewBytes([]byte("Hi")), Bytes, "SGk="},
		{NewTimestamp(1795428000123), Timestamp, "2026-11-23T10:00:00.123"},
		{NewTimestamp(-1), Timestamp, "1969-12-31T23:59:59.999"},
		{NewDate(20780), Date, "2026-11-23"},
		{NewDate(-1), Date, "1969-12-31"},
		{NewTime(36000000), Time, "10:00:00"},
		{NewTime(36000250), Time, "10:00:00.250"},
		{NewArray([]Value{NewInt(1), {}, NewInt(2)}), Array(Int), "[1, null, 2]"},
		{NewArray(nil), Array(Int), "[]"},
		{NewMap([]Value{NewString("a")}, []Value{NewInt(1)}), Map(String, Int), "{a=1}"},
		{NewStruct([]Value{NewInt(1), NewArray([]Value{NewString("x")})}), nested, "Struct{A=1,B=[x]}"},
		{NewStruct([]Value{{}, NewArray(nil)}), nested, "Struct{B=[]}"},
	} {
		if got := Format(tc.v, tc.t); got != tc.want {
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
		got, err := ParseTimestamp(tc.in)
		if tc.bad {
			if err == nil || !IsTimeTextError(err) {
				t.Errorf("ParseTimestamp(%q) = %d, %v; want an error", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseTimestamp(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	if d, err := ParseDate("1969-12-31"); err != nil || d != -1 {
		t.Errorf("ParseDate = %d, %v", d, err)
	}
	if _, err := ParseDate("2026-1-1"); err == nil {
		t.Error("ParseDate accepted 2026-1-1")
	}
	for in, want := range map[string]int64{"10:15": 36900000, "10:15:30": 36930000, "00:00:00.5": 500, "23:59:59.999": 86399999} {
		if got, err := ParseTime(in); err != nil || got != want {
			t.Errorf("ParseTime(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"24:00", "10", "10:60", "10:00:00.x"} {
		if _, err := ParseTime(in); err == nil {
			t.Errorf("ParseTime(%q) succeeded", in)
		}
	}
}

// addF adds at run time (constants would be added exactly).
func addF(a, b float64) float64 { return a + b }
