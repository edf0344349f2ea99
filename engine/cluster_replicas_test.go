package engine

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/runnel/runnel/log"
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

// groupOf builds a group's description: each member's node id and the
// partitions of topic "t" (or of "topic/partition" for several topics)
// it holds.
func groupOf(held map[string][]string) *groupState {
	g := &groupState{owners: map[log.TopicPartition]nodeInfo{}}
	for id, parts := range held {
		n := nodeInfo{ID: id, Addr: "h:" + id}
		g.members = append(g.members, n)
		for _, s := range parts {
			topic, p, found := strings.Cut(s, "/")
			if !found {
				topic, p = "t", s
			}
			part, err := strconv.Atoi(p)
			if err != nil {
				panic(err)
			}
			g.owners[log.TopicPartition{Topic: topic, Partition: int32(part)}] = n
		}
	}
	sort.Slice(g.members, func(i, j int) bool { return g.members[i].ID < g.members[j].ID })
	return g
}

func tpOf(s string) log.TopicPartition {
	topic, p, found := strings.Cut(s, "/")
	if !found {
		topic, p = "t", s
	}
	part, _ := strconv.Atoi(p)
	return log.TopicPartition{Topic: topic, Partition: int32(part)}
}

// TestWarmStandbys: a partition's first standby is where franz-go's
// cooperative-sticky balancer puts it when its owner is gone (the least
// loaded survivor, in instance id order), not simply the member after
// the owner; further ones follow the owner in node id order; none
// without an owner or with k < 1.
func TestWarmStandbys(t *testing.T) {
	for _, tc := range []struct {
		name string
		held map[string][]string
		tp   string
		k    int
		want []string
	}{
		// c dies: its 4 and 5 go one each to a and b (both hold 2).
		{"even first", map[string][]string{"a": {"0", "1"}, "b": {"2", "3"}, "c": {"4", "5"}}, "4", 1, []string{"a"}},
		{"even second", map[string][]string{"a": {"0", "1"}, "b": {"2", "3"}, "c": {"4", "5"}}, "5", 1, []string{"b"}},
		{"even a's", map[string][]string{"a": {"0", "1"}, "b": {"2", "3"}, "c": {"4", "5"}}, "1", 1, []string{"c"}},
		// b holds fewer: c's partition goes to it, not to a.
		{"least loaded", map[string][]string{"a": {"0", "1", "2"}, "b": {"3", "4"}, "c": {"5"}}, "5", 1, []string{"b"}},
		{"two members", map[string][]string{"a": {"0", "1"}, "b": {"2"}}, "2", 1, []string{"a"}},
		{"k=2", map[string][]string{"a": {"0", "1"}, "b": {"2", "3"}, "c": {"4", "5"}}, "5", 2, []string{"b", "a"}},
		{"k past members", map[string][]string{"a": {"0", "1"}, "b": {"2", "3"}, "c": {"4", "5"}}, "5", 5, []string{"b", "a"}},
		{"alone", map[string][]string{"a": {"0", "1"}}, "0", 1, nil},
		{"k=0", map[string][]string{"a": {"0"}, "b": {"1"}}, "0", 0, nil},
		{"no owner", map[string][]string{"a": {"0"}, "b": {"1"}}, "2", 1, nil},
		// A member that holds nothing yet is the least loaded.
		{"empty member", map[string][]string{"a": {"0", "1"}, "b": {"2", "3"}, "c": nil}, "1", 1, []string{"c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := groupOf(tc.held)
			if got := g.warmStandbys(tpOf(tc.tp), tc.k); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("warmStandbys(%s, %d) = %v, want %v", tc.tp, tc.k, got, tc.want)
			}
		})
	}
}

// TestWarmStandbysAreWhereTheBalancerMoves: for every partition of
// groups of 2 to 5 members over one topic, the first standby is a
// survivor the balance without its owner gives the partition to, the
// same in every recomputation (the balancer is deterministic over one
// topic), and the nodes' answers cover every partition once.
func TestWarmStandbysAreWhereTheBalancerMoves(t *testing.T) {
	for members := 2; members <= 5; members++ {
		for parts := 1; parts <= 12; parts += 3 {
			held := map[string][]string{}
			for p := range parts {
				// Uneven on purpose: member i holds every
				// partition p with p%(members+1) == i, the
				// last one the rest.
				m := min(p%(members+1), members-1)
				id := string(rune('a' + m))
				held[id] = append(held[id], strconv.Itoa(p))
			}
			for m := range members {
				id := string(rune('a' + m))
				if held[id] == nil {
					held[id] = nil
				}
			}
			g := groupOf(held)
			first := map[log.TopicPartition][]string{}
			for tp, owner := range g.owners {
				sb := g.warmStandbys(tp, 1)
				if len(sb) != 1 || sb[0] == owner.ID {
					t.Fatalf("%d members, %d partitions: standbys of %v (owner %s) = %v, want one other member", members, parts, tp, owner.ID, sb)
				}
				first[tp] = sb
				var survivors []string
				for _, m := range g.memberIDs() {
					if m != owner.ID {
						survivors = append(survivors, m)
					}
				}
				p := placementOf(g)
				plan, err := balanceSurvivors(survivors, p.held, p.topics, p.counts)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Contains(plan[sb[0]], tp) {
					t.Fatalf("%d members, %d partitions: %v's standby is %s, but the balance without %s plans %v", members, parts, tp, sb[0], owner.ID, plan)
				}
			}
			for range 20 {
				clearPlacements()
				for tp, want := range first {
					if got := g.warmStandbys(tp, 1); fmt.Sprint(got) != fmt.Sprint(want) {
						t.Fatalf("%d members, %d partitions: %v's standby is now %v, was %v", members, parts, tp, got, want)
					}
				}
			}
		}
	}
}

// TestWarmStandbysOverSeveralTopics: over two topics the balancer may
// land a dead member's partition on either survivor (it numbers topics
// in map order); the first standbys are every survivor it lands on, the
// same set in every recomputation, and each an actual landing.
func TestWarmStandbysOverSeveralTopics(t *testing.T) {
	g := groupOf(map[string][]string{
		"a": {"x/0", "x/1", "y/3", "y/4"},
		"b": {"x/2", "x/5", "y/0"},
		"c": {"x/3", "x/4", "y/1", "y/2", "y/5"},
	})
	want := map[log.TopicPartition][]string{}
	for tp, owner := range g.owners {
		if owner.ID == "c" {
			want[tp] = g.warmStandbys(tp, 1)
		}
	}
	landed := map[log.TopicPartition]map[string]bool{}
	p := placementOf(g)
	for range 2000 {
		plan, err := balanceSurvivors([]string{"a", "b"}, p.held, p.topics, p.counts)
		if err != nil {
			t.Fatal(err)
		}
		for node, tps := range plan {
			for _, tp := range tps {
				if g.owners[tp].ID == "c" {
					if landed[tp] == nil {
						landed[tp] = map[string]bool{}
					}
					landed[tp][node] = true
				}
			}
		}
	}
	several := false
	for tp, nodes := range landed {
		var all []string
		for n := range nodes {
			all = append(all, n)
		}
		slices.Sort(all)
		several = several || len(all) > 1
		if fmt.Sprint(want[tp]) != fmt.Sprint(all) {
			t.Errorf("standbys of %v = %v; 2000 balances landed it on %v", tp, want[tp], all)
		}
	}
	if !several {
		t.Logf("every partition landed on one node in 2000 balances: the balancer is deterministic here now")
	}
	for range 10 {
		clearPlacements()
		for tp, w := range want {
			if got := g.warmStandbys(tp, 1); fmt.Sprint(got) != fmt.Sprint(w) {
				t.Fatalf("standbys of %v = %v, was %v", tp, got, w)
			}
		}
	}
}

// TestPlacementsBounded: the cache of placements never holds more than
// maxPlacements descriptions.
func TestPlacementsBounded(t *testing.T) {
	clearPlacements()
	for i := range 3 * maxPlacements {
		g := groupOf(map[string][]string{"a": {strconv.Itoa(i)}, "b": {strconv.Itoa(i + 1)}})
		g.warmStandbys(tpOf(strconv.Itoa(i)), 1)
		placements.Lock()
		n := len(placements.byKey)
		placements.Unlock()
		if n > maxPlacements {
			t.Fatalf("%d placements cached, want at most %d", n, maxPlacements)
		}
	}
}

func clearPlacements() {
	placements.Lock()
	placements.byKey = nil
	placements.Unlock()
}

// BenchmarkBalanceSurvivors is one simulated balance of two survivors
// over two topics of 6 partitions, what a standby placement pays per
// draw.
func BenchmarkBalanceSurvivors(b *testing.B) {
	g := groupOf(map[string][]string{
		"a": {"x/0", "x/1", "y/3", "y/4"},
		"b": {"x/2", "x/5", "y/0"},
		"c": {"x/3", "x/4", "y/1", "y/2", "y/5"},
	})
	p := placementOf(g)
	for b.Loop() {
		if _, err := balanceSurvivors([]string{"a", "b"}, p.held, p.topics, p.counts); err != nil {
			b.Fatal(err)
		}
	}
}
