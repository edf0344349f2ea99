package state

import (
	"strings"
	"testing"
)

// TestApplyBytesCoversApply checks that applyBytes, the size a commit's
// batch is allocated for a store's writes, is at least what applyPending
// adds to the batch, so that the batch never grows (and copies itself) to
// take them, and not far above it, so that it does not waste memory.
func TestApplyBytesCoversApply(t *testing.T) {
	long := strings.Repeat("v", 300) // a value whose length takes two varint bytes
	cases := []struct {
		name string
		ops  func(s *TaskStore)
		// scans makes the store move its writes into an indexed batch
		// (more than maxSortsPerCommit scans over new writes).
		scans bool
	}{
		{name: "none", ops: func(*TaskStore) {}},
		{name: "puts", ops: func(s *TaskStore) {
			put(t, s, "b", "2")
			put(t, s, "a", "1")
		}},
		{name: "overwrites and deletes", ops: func(s *TaskStore) {
			put(t, s, "a", "1")
			put(t, s, "a", long)
			put(t, s, "c", "3")
			del(t, s, "c")
			del(t, s, "d")
		}},
		{name: "long values", ops: func(s *TaskStore) {
			for _, k := range []string{"x", "y", "z"} {
				put(t, s, k, long)
			}
		}},
		{name: "indexed", scans: true, ops: func(s *TaskStore) {
			for _, k := range []string{"k1", "k2", "k3", "k4"} {
				put(t, s, k, long)
				dump(t, s, nil, nil)
			}
			del(t, s, "k2")
		}},
	}
	l := openEmbedded(t, t.TempDir())
	defer l.Close()
	m := newManager(t, l)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, m, Spec{Name: "q/applybytes/" + tc.name})
			defer s.Close()
			tc.ops(s)
			if tc.scans != (s.batch != nil) {
				t.Fatalf("indexed batch in use = %v, want %v", s.batch != nil, tc.scans)
			}
			b := l.DB().NewBatch()
			defer b.Close()
			before := len(b.Repr())
			if err := s.applyPending(b); err != nil {
				t.Fatal(err)
			}
			added, est := len(b.Repr())-before, s.applyBytes()
			if est < added {
				t.Fatalf("applyBytes = %d, but applyPending added %d bytes", est, added)
			}
			// At most the varints' slack (up to 8 bytes a write) and an
			// indexed batch's header over the exact size.
			if slack := est - added; slack > 8*max(s.Pending(), 1)+16 {
				t.Fatalf("applyBytes = %d for %d bytes added: %d too many", est, added, slack)
			}
		})
	}
}
