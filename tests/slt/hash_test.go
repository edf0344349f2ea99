package slt

import "testing"

// The expected sums were computed with md5sum over the same bytes, e.g.
// printf '1\n2\n3\n' | md5sum.
func TestHashValues(t *testing.T) {
	for _, tc := range []struct {
		values []string
		want   string
	}{
		{nil, "d41d8cd98f00b204e9800998ecf8427e"},
		{[]string{"a"}, "60b725f10c9c85c70d97880dfe8191b3"},
		{[]string{"1", "2", "3"}, "c0710d6b4f15dfa88f600b0e6b624077"},
		{[]string{"NULL", "(empty)", "1.500"}, "bf0ba1d6b3310124636860f31e0169da"},
	} {
		if got := HashValues(tc.values); got != tc.want {
			t.Errorf("HashValues(%q) = %s, want %s", tc.values, got, tc.want)
		}
	}
	if got, want := hashedLine([]string{"1", "2", "3"}), "3 values hashing to c0710d6b4f15dfa88f600b0e6b624077"; got != want {
		t.Errorf("hashedLine = %q, want %q", got, want)
	}
}
