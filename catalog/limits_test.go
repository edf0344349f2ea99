package catalog

import (
	"errors"
	"strings"
	"testing"

	"github.com/runnel/runnel/internal/sqlstate"
)

func TestValidateTopicName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want string // a fragment of the error; "" means valid
	}{
		{"orders", ""},
		{"Orders_v2.eu-west", ""},
		{strings.Repeat("a", 249), ""},
		{"", "can't be empty"},
		{".", `cannot be "." or ".."`},
		{"..", `cannot be "." or ".."`},
		{"...", ""},
		{strings.Repeat("a", 250), "can't be longer than 249 characters"},
		{strings.Repeat("b", 1<<20), "(1048576 characters)"},
		{"my topic", "contains a character other than ASCII alphanumerics"},
		{"topic/x", "contains a character other than ASCII alphanumerics"},
		{"tópico", "contains a character other than ASCII alphanumerics"},
		{"a\x00b", "contains a character other than ASCII alphanumerics"},
	} {
		err := ValidateTopicName(tc.name)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%.20q: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%.20q: %v, want %q", tc.name, err, tc.want)
		case err != nil && (!errors.Is(err, ErrInvalidTopicName) || sqlstate.Of(err) != sqlstate.InvalidParameter):
			t.Errorf("%.20q: %v has code %q", tc.name, err, sqlstate.Of(err))
		case len(tc.name) > 1000 && len(err.Error()) > 200:
			t.Errorf("the error quotes the whole name: %d bytes", len(err.Error()))
		}
	}
}

func TestParsePartitions(t *testing.T) {
	for _, tc := range []struct {
		v    string
		max  int32
		want int32
		code sqlstate.Code
	}{
		{"1", 10000, 1, ""},
		{"10000", 10000, 10000, ""},
		{" 4 ", 10000, 4, ""},
		{"10001", 10000, 0, sqlstate.ProgramLimitExceeded},
		{"2147483647", 10000, 0, sqlstate.ProgramLimitExceeded},
		{"2147483647", 0, 2147483647, ""},
		{"2147483648", 0, 0, sqlstate.ProgramLimitExceeded},
		{"99999999999999999999999", 10000, 0, sqlstate.ProgramLimitExceeded},
		{"0", 10000, 0, sqlstate.InvalidParameter},
		{"-1", 10000, 0, sqlstate.InvalidParameter},
		{"-99999999999999999999999", 10000, 0, sqlstate.InvalidParameter},
		{"four", 10000, 0, sqlstate.InvalidParameter},
		{"1.5", 10000, 0, sqlstate.InvalidParameter},
		{"", 10000, 0, sqlstate.InvalidParameter},
	} {
		got, err := ParsePartitions(tc.v, tc.max)
		if got != tc.want || sqlstate.Of(err) != tc.code {
			t.Errorf("ParsePartitions(%q, %d) = %d, %v (code %q); want %d, code %q", tc.v, tc.max, got, err, sqlstate.Of(err), tc.want, tc.code)
		}
	}
	if err := CheckPartitions("t", 10001, 10000); sqlstate.Of(err) != sqlstate.ProgramLimitExceeded || !strings.Contains(err.Error(), "10001 partitions") {
		t.Errorf("CheckPartitions over the limit: %v", err)
	}
	if err := CheckPartitions("t", 10000, 10000); err != nil {
		t.Errorf("CheckPartitions at the limit: %v", err)
	}
}

func TestParseReplicas(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want int16
		ok   bool
	}{
		{"1", 1, true},
		{"3", 3, true},
		{"32767", 32767, true},
		{"-1", 0, true},
		{"0", 0, false},
		{"-2", 0, false},
		{"32768", 0, false},
		{"99999999999", 0, false},
		{"three", 0, false},
	} {
		got, err := ParseReplicas(tc.v)
		if got != tc.want || (err == nil) != tc.ok || (err != nil && sqlstate.Of(err) != sqlstate.InvalidParameter) {
			t.Errorf("ParseReplicas(%q) = %d, %v; want %d, ok %v", tc.v, got, err, tc.want, tc.ok)
		}
	}
}

func TestAbbreviate(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdefghij", 4, "abcd..."},
		{"ééé", 3, "é..."}, // never cuts a character in two
	} {
		if got := Abbreviate(tc.s, tc.n); got != tc.want {
			t.Errorf("Abbreviate(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}
