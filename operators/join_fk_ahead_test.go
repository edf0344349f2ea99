package operators

import (
	"fmt"
	"strings"
	"testing"

	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/sql/types"
)

// TestFKIndexCacheAheadPolicy: lists put ahead that no right row comes
// to (Nexmark q7's windows and prices) are put one in aheadSample once
// aheadWarmup of them have been judged; lists a right row comes to keep
// every list put ahead.
func TestFKIndexCacheAheadPolicy(t *testing.T) {
	var c fkIndexCache
	fk := func(i int) []byte { return fmt.Appendf(nil, "fk%d", i) }
	for i := range aheadWarmup {
		if !c.wantAhead() {
			t.Fatalf("list %d not put ahead while warming up", i)
		}
		c.putAhead(fk(i), [][]byte{[]byte("k")})
	}
	put := 0
	const after = 64 * aheadSample
	for i := range after {
		if c.wantAhead() {
			put++
			c.putAhead(fk(aheadWarmup+i), [][]byte{[]byte("k")})
		}
	}
	if want := after / aheadSample; put != want {
		t.Fatalf("%d of %d lists put ahead with no right row coming to any, want %d", put, after, want)
	}

	var d fkIndexCache
	for i := range 4 * aheadWindow {
		if !d.wantAhead() {
			t.Fatalf("list %d not put ahead, every right row having come to its list", i)
		}
		d.putAhead(fk(i), [][]byte{[]byte("k")})
		if _, ok := d.read(fk(i), false); !ok {
			t.Fatalf("list %d not cached", i)
		}
	}
}

// TestForeignKeyJoinNotAhead: a right row that comes to left rows whose
// list was not put ahead (the cache judged lists put ahead useless)
// scans the index and joins every one of them, and a right delete ends
// them.
func TestForeignKeyJoinNotAhead(t *testing.T) {
	j := fkJoin(t, false, nil, 1)
	j.Store = &TableJoinStore{Store: j.Store}
	steps := []string{rrow("z", "m0", 0)} // loads the filters
	// Enough left rows, each with a foreign key of its own, for the
	// cache to stop putting their lists ahead.
	n := 2 * aheadWarmup
	for i := range n {
		steps = append(steps, lrow(fmt.Sprintf("k%05d", i), fmt.Sprintf("f%05d", i), "x", i+1))
	}
	// The last left rows share foreign keys whose lists were mostly not
	// put ahead.
	for i := range 3 {
		steps = append(steps, lrow(fmt.Sprintf("m%d", i), fmt.Sprintf("f%05d", n-1-i%2), "y", n+1+i))
	}
	runTableJoin(t, j, 1, "", "M", steps)
	if c := &j.index.aheads; !(c.done > 0 && c.paid == 0 && c.done < n) {
		t.Fatalf("%d lists put ahead of %d, %d arrivals: the policy did not judge", c.done, n, c.paid)
	}
	a, b := fmt.Sprintf("f%05d", n-1), fmt.Sprintf("f%05d", n-2)
	got := runTableJoin(t, j, 1, "", "M", []string{rrow(a, "r1", 3*n), rrow(b, "r2", 3*n+1), "r " + a + " -@" + fmt.Sprint(3*n+2)})
	ka, kb := fmt.Sprintf("k%05d", n-1), fmt.Sprintf("k%05d", n-2)
	want := []string{
		fkOut(ka, a, "x", "r1", 3*n), fkOut("m0", a, "y", "r1", 3*n), fkOut("m2", a, "y", "r1", 3*n),
		fkOut(kb, b, "x", "r2", 3*n+1), fkOut("m1", b, "y", "r2", 3*n+1),
		fkDel(ka, 3*n+2), fkDel("m0", 3*n+2), fkDel("m2", 3*n+2),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestStoredRowLeavesOutRowtime: a narrowed table row's entry leaves its
// ROWTIME column out when it is the entry's time, and reads it back from
// it; a ROWTIME that is not (a NULL, another value) is kept, as is every
// column of a row stored whole.
func TestStoredRowLeavesOutRowtime(t *testing.T) {
	const ts = 1700000000123
	side := &TableSide{Width: 4, TimeIndex: 2, Stored: []int{0, 2, 3}}
	for _, tc := range []struct {
		name      string
		row       types.Row
		keep      []int
		leftOut   bool
		wantWhole types.Row
	}{
		{"ROWTIME is the time", types.Row{types.NewString("a"), types.NewBigint(7), types.NewBigint(ts), types.NewBigint(9)}, side.Stored, true,
			types.Row{types.NewString("a"), types.NullValue, types.NewBigint(ts), types.NewBigint(9)}},
		{"ROWTIME is another time", types.Row{types.NewString("a"), types.NewBigint(7), types.NewBigint(ts + 1), types.NewBigint(9)}, side.Stored, false,
			types.Row{types.NewString("a"), types.NullValue, types.NewBigint(ts + 1), types.NewBigint(9)}},
		{"ROWTIME is NULL", types.Row{types.NewString("a"), types.NewBigint(7), types.NullValue, types.NewBigint(9)}, side.Stored, false,
			types.Row{types.NewString("a"), types.NullValue, types.NullValue, types.NewBigint(9)}},
		{"every column", types.Row{types.NewString("a"), types.NewBigint(7), types.NewBigint(ts), types.NewBigint(9)}, nil, false,
			types.Row{types.NewString("a"), types.NewBigint(7), types.NewBigint(ts), types.NewBigint(9)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := *side
			s.Stored = tc.keep
			v := storedTableRow(&s, tc.row, ts)
			if long := appendStoredRow(nil, tc.row, ts, tc.keep); tc.leftOut != (len(v) < len(long)) {
				t.Fatalf("entry of %d bytes, with ROWTIME %d: left out %v, want %v", len(v), len(long), len(v) < len(long), tc.leftOut)
			}
			got, err := decodeStoredInto(nil, nil, s.Width, s.TimeIndex, nil, v)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.wantWhole) {
				t.Fatalf("read back %v, want %v", got, tc.wantWhole)
			}
		})
	}
}

// rightGetCounter counts the reads of a store's right rows.
type rightGetCounter struct {
	state.Store
	gets int
}

func (s *rightGetCounter) Get(key []byte) ([]byte, bool, error) {
	if len(key) > 0 && key[0] == rightRowPrefix {
		s.gets++
	}
	return s.Store.Get(key)
}

// TestForeignKeyJoinRightsFilter: a left change whose foreign key no
// right row has reads no right row from the store; right rows stored
// before the filter's load (and before a Recover) and after it are all
// found.
func TestForeignKeyJoinRightsFilter(t *testing.T) {
	j := fkJoin(t, false, nil, 1)
	counter := &rightGetCounter{Store: j.Store}
	j.Store = counter
	steps := []string{rrow("a", "m", 1), lrow("A", "a", "1", 2)}
	const misses = 50
	for i := range misses {
		steps = append(steps, lrow(fmt.Sprintf("X%02d", i), fmt.Sprintf("x%02d", i), "x", 3))
	}
	steps = append(steps, rrow("b", "mb", 4), lrow("B", "b", "2", 5))
	got := runTableJoin(t, j, 1, "", "M", steps)
	want := []string{fkOut("A", "a", "1", "m", 2), fkOut("B", "b", "2", "mb", 5)}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A and B read theirs; a false positive of the filter (10 bits a key)
	// now and then reads another.
	if counter.gets > 2+misses/10 {
		t.Fatalf("%d reads of right rows for %d left changes whose foreign key has none", counter.gets, misses)
	}
	j.Recover()
	got = runTableJoin(t, j, 1, "", "M", []string{lrow("C", "a", "3", 6), lrow("D", "b", "4", 7)})
	want = []string{fkOut("C", "a", "3", "m", 6), fkOut("D", "b", "4", "mb", 7)}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after Recover: got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
