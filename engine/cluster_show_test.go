package engine

import (
	"fmt"
	"testing"

	"github.com/runnel/runnel/sql/types"
)

// TestGroupStandbysOf: SHOW QUERIES EXTENDED's standby nodes are
// standbysOf the owner among the group's members, with each member's
// advertised address; none when the group has no other member.
func TestGroupStandbysOf(t *testing.T) {
	g := &groupState{members: []nodeInfo{{"a", "h:1"}, {"b", "h:2"}, {"c", "h:3"}}}
	for _, tc := range []struct {
		owner string
		k     int
		want  []nodeInfo
	}{
		{"a", 1, []nodeInfo{{"b", "h:2"}}},
		{"c", 1, []nodeInfo{{"a", "h:1"}}},
		{"b", 2, []nodeInfo{{"c", "h:3"}, {"a", "h:1"}}},
		{"b", 5, []nodeInfo{{"c", "h:3"}, {"a", "h:1"}}},
		{"a", 0, []nodeInfo{}},
	} {
		if got := g.standbysOf(tc.owner, tc.k); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("standbysOf(%q, %d) = %v, want %v", tc.owner, tc.k, got, tc.want)
		}
	}
	alone := &groupState{members: []nodeInfo{{"a", "h:1"}}}
	if got := alone.standbysOf("a", 1); len(got) != 0 {
		t.Errorf("a lone member's standbys = %v, want none", got)
	}
}

// TestTaskRowOffsets: a row's offset, end offset and lag, each NULL when
// unknown; with no offset the lag is the whole partition, and a
// checkpoint past the end (a listing read before the end) is lag 0.
func TestTaskRowOffsets(t *testing.T) {
	for _, tc := range []struct {
		off            int64
		hasOff         bool
		end            int64
		hasEnd         bool
		wantOff, wantE string
		wantLag        string
	}{
		{3, true, 5, true, "3", "5", "2"},
		{0, false, 5, true, "NULL", "5", "5"},
		{7, true, 5, true, "7", "5", "0"},
		{3, true, 0, false, "3", "NULL", "NULL"},
		{0, false, 0, false, "NULL", "NULL", "NULL"},
	} {
		r := taskRow{offset: types.NullValue, end: types.NullValue, lag: types.NullValue}
		r.setOffsets(tc.off, tc.hasOff, tc.end, tc.hasEnd)
		show := func(v types.Value) string {
			if v.IsNull() {
				return "NULL"
			}
			return fmt.Sprint(v.Int())
		}
		if got := [3]string{show(r.offset), show(r.end), show(r.lag)}; got != [3]string{tc.wantOff, tc.wantE, tc.wantLag} {
			t.Errorf("setOffsets(%d, %t, %d, %t) = %v, want %s %s %s", tc.off, tc.hasOff, tc.end, tc.hasEnd, got, tc.wantOff, tc.wantE, tc.wantLag)
		}
	}
	if (taskRow{}).kind() != "ACTIVE" || (taskRow{standby: true}).kind() != "STANDBY" {
		t.Error("task_type of an active and a standby row")
	}
}
