package serde

import (
	"math"
	"math/big"
	"strconv"
	"testing"

	"github.com/runnel/runnel/sql/types"
)

func TestJavaDouble(t *testing.T) {
	// Expectations are Java's Double.toString.
	tests := []struct {
		f    float64
		want string
	}{
		{0, "0.0"}, {math.Copysign(0, -1), "-0.0"}, {1, "1.0"}, {-2.5, "-2.5"}, {100, "100.0"},
		{0.001, "0.001"}, {0.0001, "1.0E-4"}, {1.5e-4, "1.5E-4"}, {1234567, "1234567.0"},
		{9999999, "9999999.0"}, {1e7, "1.0E7"}, {12345678.9, "1.23456789E7"}, {0.1, "0.1"},
		{1.0 / 3, "0.3333333333333333"}, {math.MaxFloat64, "1.7976931348623157E308"},
		{5e-324, "4.9E-324"}, {1e23, "1.0E23"}, {2e-323, "2.0E-323"}, {0.002, "0.002"}, {math.Inf(1), "Infinity"}, {math.NaN(), "NaN"},
	}
	for _, tc := range tests {
		got := string(types.AppendDouble(nil, tc.f))
		if got != tc.want {
			t.Errorf("types.AppendDouble(%v) = %s, want %s", tc.f, got, tc.want)
		}
		if !math.IsNaN(tc.f) {
			back, err := parseDouble(got)
			if err != nil || back != tc.f || math.Signbit(back) != math.Signbit(tc.f) {
				t.Errorf("parseDouble(%s) = %v, %v", got, back, err)
			}
		}
	}
}

func TestDecimalText(t *testing.T) {
	tests := []struct {
		in        string
		prec, sc  int
		want      string // unscaled, or "" for an error
		formatted string
	}{
		{"1.5", 5, 2, "150", "1.50"},
		{"-0.05", 5, 2, "-5", "-0.05"},
		{"0", 5, 2, "0", "0.00"},
		{"-0.000", 5, 2, "0", "0.00"},
		{"1e2", 5, 0, "100", "100"},
		{"12345.6", 6, 1, "123456", "12345.6"},
		{"123456.7", 6, 1, "", ""},
		{"0.125", 10, 2, "", ""},
		{"1000e-3", 3, 0, "1", "1"},
		{"1e-1000000000", 10, 2, "", ""},
		{"0e99999999999", 10, 2, "0", "0.00"},
		{"1.", 5, 0, "1", "1"},
		{"abc", 5, 0, "", ""},
		{"1e", 5, 0, "", ""},
	}
	for _, tc := range tests {
		d, err := parseDecimal(tc.in, tc.prec, tc.sc)
		if tc.want == "" {
			if err == nil {
				t.Errorf("parseDecimal(%s, %d, %d) = %s, want an error", tc.in, tc.prec, tc.sc, d)
			}
			continue
		}
		if err != nil || d.String() != tc.want {
			t.Errorf("parseDecimal(%s, %d, %d) = %v, %v; want %s", tc.in, tc.prec, tc.sc, d, err, tc.want)
			continue
		}
		if got := string(types.AppendDecimal(nil, d, int32(tc.sc))); got != tc.formatted {
			t.Errorf("types.AppendDecimal(%s, %d) = %s, want %s", d, tc.sc, got, tc.formatted)
		}
	}
	min := new(big.Int).SetInt64(math.MinInt64)
	if got := string(types.AppendDecimal(nil, min, 0)); got != strconv.FormatInt(math.MinInt64, 10) {
		t.Errorf("types.AppendDecimal(MinInt64) = %s", got)
	}
	if got := string(types.AppendDecimal(nil, big.NewInt(12), -2)); got != "1200" {
		t.Errorf("negative scale = %s", got)
	}
}

func TestParseIntegral(t *testing.T) {
	tests := []struct {
		in   string
		bits int
		want int64
		ok   bool
	}{
		{"42", 32, 42, true}, {"+42", 32, 42, true}, {"-0", 64, 0, true}, {"4.20e1", 32, 42, true},
		{"9223372036854775807", 64, math.MaxInt64, true}, {"9223372036854775808", 64, 0, false},
		{"2147483648", 32, 0, false}, {"1.5", 64, 0, false}, {"1e19", 64, 0, false}, {"", 64, 0, false},
		{"0x10", 64, 0, false}, {"1_000", 64, 0, false},
	}
	for _, tc := range tests {
		got, err := parseIntegral(tc.in, tc.bits)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseIntegral(%q, %d) = %d, %v", tc.in, tc.bits, got, err)
		}
	}
}
