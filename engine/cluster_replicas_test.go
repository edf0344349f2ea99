package engine

import (
	"fmt"
	"testing"
)

// TestStandbysOf: the standbys of a partition are the k members after
// its owner in node id order, wrapping around, never the owner, and at
// most the other members; every node computes the same.
func TestStandbysOf(t *testing.T) {
	for _, tc := range []struct {
		owner   string
		members []string
		k       int
		want    []string
	}{
		{"a", []string{"a", "b", "c"}, 1, []string{"b"}},
		{"c", []string{"a", "b", "c"}, 1, []string{"a"}},
		{"b", []string{"a", "b", "c"}, 2, []string{"c", "a"}},
		{"b", []string{"a", "b", "c"}, 5, []string{"c", "a"}},
		{"a", []string{"a"}, 1, nil},
		{"a", []string{"a", "b"}, 0, nil},
		{"a", nil, 1, nil},
		// An owner that left as the group was described: the member at
		// its place comes first.
		{"b", []string{"a", "c"}, 1, []string{"c"}},
		{"d", []string{"a", "c"}, 2, []string{"a", "c"}},
	} {
		t.Run(fmt.Sprintf("%s of %v k=%d", tc.owner, tc.members, tc.k), func(t *testing.T) {
			if got := standbysOf(tc.owner, tc.members, tc.k); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("standbysOf = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestMemberClientID: a member's client id carries its node and address
// (which may hold colons and brackets) and parses back; other clients'
// ids are not Runnel nodes.
func TestMemberClientID(t *testing.T) {
	for _, tc := range []struct {
		in         string
		node, addr string
		ok         bool
	}{
		{"runnel|n1|10.0.0.1:6543", "n1", "10.0.0.1:6543", true},
		{"runnel|n2|[::1]:6543", "n2", "[::1]:6543", true},
		{"runnel|n3|", "n3", "", true},
		{"kgo", "", "", false},
		{"other|n1|x:1", "", "", false},
	} {
		node, addr, ok := parseMemberClientID(tc.in)
		if node != tc.node || addr != tc.addr || ok != tc.ok {
			t.Errorf("parseMemberClientID(%q) = %q, %q, %v; want %q, %q, %v", tc.in, node, addr, ok, tc.node, tc.addr, tc.ok)
		}
	}
}
