package operators

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/operators/window"
	"github.com/runnel/runnel/sql/types"
)

// updateCodec is the codec of a STRING group key and two calls, COUNT(*)
// (no arguments) and SUM(v BIGINT): the harness's (newAggHarness).
func updateCodec(t testing.TB) *GroupCodec {
	t.Helper()
	c, err := NewGroupCodec([]types.Type{types.String}, [][]types.Type{nil, {types.Bigint}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// addRecord is the repartition record that adds a row of v to group key
// at ts.
func addRecord(t testing.TB, c *GroupCodec, key string, v, ts int64) log.Record {
	t.Helper()
	in := keyInput(t, c, key)
	in.Args, in.Time = [][]types.Value{nil, {types.NewBigint(v)}}, ts
	rec, err := c.Encode(&in)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// describe renders a repartition record as the Aggregator reads it: key,
// time, then "+v", "-v" or "v<-old".
func describe(t testing.TB, c *GroupCodec, rec log.Record) string {
	t.Helper()
	in, err := c.Decode(&rec)
	if err != nil {
		t.Fatal(err)
	}
	v := fmt.Sprint(in.Args[1][0].Int())
	switch {
	case in.Prev != nil:
		if in.Retract {
			t.Fatalf("an update that retracts: %x", rec.Value)
		}
		v += "<-" + fmt.Sprint(in.Prev[1][0].Int())
	case in.Retract:
		v = "-" + v
	default:
		v = "+" + v
	}
	return fmt.Sprintf("%s@%d %s", in.Key[0].Str(), in.Time, v)
}

// TestGroupCodecTableChange: a table row's change is one record when the
// old and the new row are of the same group (KIP-904), the retraction
// then the addition when the group changes, the retraction alone for a
// delete, the addition alone for a new key; and the last-row store of a
// binary that wrote JSON values is read too.
func TestGroupCodecTableChange(t *testing.T) {
	c := updateCodec(t)
	stored := func(key string, v, ts int64) []byte {
		rec := addRecord(t, c, key, v, ts)
		return joinPrev(rec.Key, rec.Value, rec.Timestamp)
	}
	storedJSON := func(key string, v, ts int64) []byte {
		rec := addRecord(t, c, key, v, ts)
		jv, err := c.value.Encode(types.Row{types.NewBigint(v), types.NewBoolean(false)})
		if err != nil {
			t.Fatal(err)
		}
		return joinPrev(rec.Key, jv, rec.Timestamp)
	}
	next := func(key string, v, ts int64) *log.Record {
		rec := addRecord(t, c, key, v, ts)
		return &rec
	}
	for _, tc := range []struct {
		name string
		prev []byte
		next *log.Record
		want []string
	}{
		{"new key", nil, next("x", 5, 7), []string{"x@7 +5"}},
		{"update within the group", stored("x", 5, 3), next("x", 6, 7), []string{"x@7 6<-5"}},
		{"the same row again", stored("x", 5, 3), next("x", 5, 7), []string{"x@7 5<-5"}},
		{"moved to another group", stored("x", 5, 3), next("y", 6, 7), []string{"x@9 -5", "y@7 +6"}},
		{"deleted", stored("x", 5, 3), nil, []string{"x@9 -5"}},
		{"neither", nil, nil, nil},
		{"JSON last row, within the group", storedJSON("x", 5, 3), next("x", 6, 7), []string{"x@7 6<-5"}},
		{"JSON last row, moved", storedJSON("x", 5, 3), next("y", 6, 7), []string{"x@9 -5", "y@7 +6"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			err := c.TableChange(tc.prev, tc.prev != nil, tc.next, 9, func(rec log.Record) {
				if rec.Partition != -1 {
					t.Errorf("record for partition %d, want -1 (by its key)", rec.Partition)
				}
				got = append(got, describe(t, c, rec))
			})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ", ") != strings.Join(tc.want, ", ") {
				t.Fatalf("records %q, want %q", got, tc.want)
			}
		})
	}
}

// TestGroupCodecUpdateRoundTrip: an update written by Encode reads back
// through Decode and Input with both rows' arguments, and a damaged update
// value is an error.
func TestGroupCodecUpdateRoundTrip(t *testing.T) {
	c := updateCodec(t)
	in := keyInput(t, c, "x")
	in.Args = [][]types.Value{nil, {types.NewBigint(-7)}}
	in.Prev = [][]types.Value{nil, {types.NullValue}}
	in.Time = 11
	rec, err := c.Encode(&in)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Value[0] != groupValueUpdate {
		t.Fatalf("value %x is not in the update layout", rec.Value)
	}
	for _, read := range []func() (GroupInput, error){
		func() (GroupInput, error) { return c.Decode(&rec) },
		func() (GroupInput, error) { got, _, err := c.Input(&rec); return got, err },
	} {
		got, err := read()
		if err != nil {
			t.Fatal(err)
		}
		if got.Retract || got.Time != 11 || len(got.Args) != 2 || len(got.Prev) != 2 ||
			got.Args[1][0].Int() != -7 || !got.Prev[1][0].IsNull() || len(got.Args[0]) != 0 || len(got.Prev[0]) != 0 {
			t.Fatalf("read back as %+v", got)
		}
	}
	for _, bad := range [][]byte{rec.Value[:len(rec.Value)-1], append(rec.Value[:len(rec.Value):len(rec.Value)], 0), {groupValueUpdate}} {
		if _, _, err := c.Input(&log.Record{Key: rec.Key, Value: bad}); err == nil {
			t.Errorf("damaged update %x read without an error", bad)
		}
	}
}

// update applies a row of group key replaced within it (old by v) and
// flushes; the error is Apply's.
func (h *aggHarness) update(key string, old, v, ts int64) error {
	h.t.Helper()
	in := keyInput(h.t, h.codec, key)
	in.Time = ts
	in.Args = [][]types.Value{nil, {types.NewBigint(v)}}
	in.Prev = [][]types.Value{nil, {types.NewBigint(old)}}
	err := h.a.Apply(&in, nil)
	if ferr := h.a.Flush(nil); ferr != nil {
		h.t.Fatal(ferr)
	}
	return err
}

// TestAggregatorUpdateWithinGroup: a row replaced within its group is
// one change, emitted once, which a HAVING that only the retraction would
// fail does not delete (KIP-904).
func TestAggregatorUpdateWithinGroup(t *testing.T) {
	h := newAggHarness(t, nil, false, state.NewMemStore())
	h.a.Spec.Having = countAtLeast(1)
	h.add("a", 5, 1)
	h.add("a", 7, 2)
	h.expect("a 1 5", "a 2 12")
	if err := h.update("a", 5, 9, 4); err != nil {
		t.Fatal(err)
	}
	h.expect("a 2 16")
	// The group's one row replaced: no tombstone between.
	h.add("-a", 7, 5)
	h.expect("a 1 9")
	if err := h.update("a", 9, 1, 3); err != nil {
		t.Fatal(err)
	}
	h.expectTimes(5) // stamped as any change to a group it has
	h.expect("a 1 1")
	// A group that has no rows to take the old one from adds the new.
	if err := h.update("b", 4, 6, 6); err != nil {
		t.Fatal(err)
	}
	h.expect("b 1 6")
}

// TestAggregatorUpdateHalfFails: an update whose addition fails (SUM
// overflows) keeps its retraction and is emitted once, with the error,
// as the two records of the old layout would have been: the retraction
// applied, the addition skipped.
func TestAggregatorUpdateHalfFails(t *testing.T) {
	h := newAggHarness(t, nil, false, state.NewMemStore())
	h.add("a", math.MaxInt64, 1)
	h.add("a", 0, 2)
	h.expect(fmt.Sprintf("a 1 %d", int64(math.MaxInt64)), fmt.Sprintf("a 2 %d", int64(math.MaxInt64)))
	if err := h.update("a", 0, 1, 3); err == nil {
		t.Fatal("an update whose SUM overflows applied without an error")
	}
	h.expect(fmt.Sprintf("a 1 %d", int64(math.MaxInt64)))
	// Its count holds one row, as the store does.
	h.add("a", -1, 4)
	h.expect(fmt.Sprintf("a 2 %d", int64(math.MaxInt64)-1))
}

// TestAggregatorUpdateWindowed: a windowed aggregation, whose inputs are
// streams, is never sent an update; one that reaches it anyway is its
// retraction and its addition.
func TestAggregatorUpdateWindowed(t *testing.T) {
	w := &window.Spec{Kind: window.Tumbling, Size: time.Minute, Grace: time.Hour, HasGrace: true}
	h := newAggHarness(t, w, false, state.NewMemStore())
	h.add("a", 5, 1)
	h.expect("a 0 60000 1 5")
	if err := h.update("a", 5, 8, 2); err != nil {
		t.Fatal(err)
	}
	h.expect("a 0 60000 0 0", "a 0 60000 1 8")
}

// TestAggregatorReadsBothLayouts: a repartition topic written partly by a
// binary that predates the update layout (an update as a retraction and
// an addition, two changes) and partly by this one (one record, one
// change) aggregates to the same groups.
func TestAggregatorReadsBothLayouts(t *testing.T) {
	h := newAggHarness(t, nil, false, state.NewMemStore())
	c := h.codec
	h.a.Input = c.Input
	retract := func(key string, v, ts int64) log.Record {
		rec := addRecord(t, c, key, v, ts)
		rec.Value[len(rec.Value)-1] = 1
		return rec
	}
	var stored []byte
	change := func(key string, v, ts int64) log.Record {
		var out []log.Record
		next := addRecord(t, c, key, v, ts)
		if err := c.TableChange(stored, stored != nil, &next, ts, func(r log.Record) { out = append(out, r) }); err != nil {
			t.Fatal(err)
		}
		stored = joinPrev(next.Key, next.Value, next.Timestamp)
		if len(out) != 1 {
			t.Fatalf("%d records for an update within the group", len(out))
		}
		return out[0]
	}
	// The old binary's: a row added, then updated as two records; it kept
	// the added row in its last-row store as this binary does.
	first, second := addRecord(t, c, "a", 5, 1), addRecord(t, c, "a", 6, 2)
	records := []log.Record{first, retract("a", 5, 2), second}
	stored = joinPrev(second.Key, second.Value, second.Timestamp)
	records = append(records, change("a", 7, 3), change("a", 8, 4))
	for _, rec := range records {
		if err := h.a.Process(&rec, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.a.Flush(nil); err != nil {
		t.Fatal(err)
	}
	h.expect("a 1 5", "a 0 0", "a 1 6", "a 1 7", "a 1 8")
}

// TestGroupCodecReader: one Reader, whose buffers every record reuses,
// reads an update, an addition, a JSON retraction and an update again,
// each as Input reads it alone: nothing of a record stays for the next.
func TestGroupCodecReader(t *testing.T) {
	c := updateCodec(t)
	read := c.Reader()
	update := func(old, v int64) log.Record {
		in := keyInput(t, c, "x")
		in.Args, in.Prev, in.Time = [][]types.Value{nil, {types.NewBigint(v)}}, [][]types.Value{nil, {types.NewBigint(old)}}, 5
		rec, err := c.Encode(&in)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	jv, err := c.value.Encode(types.Row{types.NewBigint(4), types.NewBoolean(true)})
	if err != nil {
		t.Fatal(err)
	}
	add := addRecord(t, c, "x", 3, 6)
	for i, rec := range []log.Record{update(1, 2), add, {Key: add.Key, Value: jv, Timestamp: 7}, update(8, 9)} {
		want, _, err := c.Input(&rec)
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := read(&rec)
		if err != nil || !ok {
			t.Fatalf("record %d: %v", i, err)
		}
		if fmt.Sprint(got.Args, got.Prev, got.Retract, got.Time, got.Prev == nil) != fmt.Sprint(want.Args, want.Prev, want.Retract, want.Time, want.Prev == nil) {
			t.Fatalf("record %d read as %v %v %v, Input reads %v %v %v", i, got.Args, got.Prev, got.Retract, want.Args, want.Prev, want.Retract)
		}
	}
}
