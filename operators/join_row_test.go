package operators

import (
	"bytes"
	"encoding/binary"
	"math/big"
	"strings"
	"testing"

	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/sql/types"
)

// TestJoinRowRoundTrip: a stored join row decodes to the row it was made
// from in the columns it keeps, and to NULL in the others.
func TestJoinRowRoundTrip(t *testing.T) {
	row := types.Row{
		types.NewString("k1"),
		types.NullValue,
		types.NewBigint(-42),
		types.NewDouble(2.5),
		types.NewBoolean(true),
		types.NewDecimal(big.NewInt(12345), 2),
		types.NewTimestamp(1436918400000),
		types.NewBytes([]byte{0, 1, 2}),
		types.NewArray([]types.Value{types.NewInt(1), types.NullValue}),
		types.NewString(strings.Repeat("x", 300)),
	}
	for _, tc := range []struct {
		name string
		keep []int
	}{
		{"every column", nil},
		{"none", []int{}},
		{"the first and last", []int{0, 9}},
		{"a NULL kept", []int{1, 2}},
		{"the middle", []int{3, 4, 5, 6, 7, 8}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := appendJoinRow([]byte("prefix"), row, tc.keep)
			if !bytes.HasPrefix(b, []byte("prefix")) {
				t.Fatalf("appendJoinRow dropped what it appends to")
			}
			got, err := decodeJoinRow(b[len("prefix"):], len(row))
			if err != nil {
				t.Fatal(err)
			}
			kept := make([]bool, len(row))
			for _, i := range tc.keep {
				kept[i] = true
			}
			for i := range row {
				want := types.NullValue
				if tc.keep == nil || kept[i] {
					want = row[i]
				}
				if types.Compare(got[i], want) != 0 || got[i].Kind() != want.Kind() {
					t.Errorf("column %d: %v, want %v", i, got[i], want)
				}
			}
		})
	}
}

// TestJoinRowDecodeRefusesCorruption: bytes that are not a stored row are
// refused with XX001, never a panic or a misplaced column.
func TestJoinRowDecodeRefusesCorruption(t *testing.T) {
	good := appendJoinRow(nil, types.Row{types.NewString("a"), types.NewBigint(7)}, nil)
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"more columns than the row", binary.AppendUvarint(nil, 3)},
		{"a count the bytes cannot hold", []byte{2, 0, 0}},
		{"an index past the row", append([]byte{1, 5}, good[2:]...)},
		{"indexes out of order", []byte{2, 1, 0, 0, 0}},
		{"a truncated value", good[:len(good)-1]},
		{"trailing bytes", append(append([]byte{}, good...), 0)},
		{"an unknown kind", []byte{1, 0, 0xee}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeJoinRow(tc.b, 2)
			if err == nil {
				t.Fatal("decoded")
			}
			if code := sqlstate.Of(err); code != sqlstate.DataCorrupted {
				t.Errorf("%v: SQLSTATE %q, want %q", err, code, sqlstate.DataCorrupted)
			}
		})
	}
}

// FuzzDecodeJoinRow: decoding never panics, and what decodes encodes
// back to the same bytes.
func FuzzDecodeJoinRow(f *testing.F) {
	f.Add(appendJoinRow(nil, types.Row{types.NewString("a"), types.NullValue, types.NewBigint(7)}, nil))
	f.Add(appendJoinRow(nil, types.Row{types.NewString("a"), types.NullValue, types.NewBigint(7)}, []int{2}))
	f.Add([]byte{1, 0, 0xee})
	f.Fuzz(func(t *testing.T, b []byte) {
		row, err := decodeJoinRow(b, 3)
		if err != nil {
			return
		}
		// Re-encoded with every column listed, NULLs included, it decodes
		// to the same row.
		again, err := decodeJoinRow(appendJoinRow(nil, row, nil), 3)
		if err != nil {
			t.Fatalf("re-encoded row does not decode: %v", err)
		}
		for i := range row {
			if types.Compare(row[i], again[i]) != 0 {
				t.Fatalf("column %d: %v then %v", i, row[i], again[i])
			}
		}
	})
}

// legacyEntry is a record entry as the join stored it before rows
// (join_window.go, "A value without bit 7"): flags, the record's
// timestamp, its key, its value bytes.
func legacyEntry(flags byte, rec *log.Record) []byte {
	v := append([]byte{flags}, appendBE64(nil, uint64(rec.Timestamp))...)
	v = binary.AppendUvarint(v, uint64(len(rec.Key))+1)
	v = append(v, rec.Key...)
	return append(v, rec.Value...)
}

// putLegacy stores a left (side 0) or right record in the join's store in
// the format before rows, with its time index entry, as a store written
// by an earlier version holds it.
func putLegacy(t *testing.T, f *windowFixture, side int, key, val string, ts int64) {
	t.Helper()
	field := "V"
	if side == 1 {
		field = "W"
	}
	rec := log.Record{Key: []byte(key), Value: []byte(`{"` + field + `":"` + val + `"}`), Timestamp: ts, Offset: 1000 + f.offsets[side]}
	f.offsets[side]++
	k := appendPlace(appendTime(recordPrefix(nil, side, rec.Key), ts), &rec)
	if err := f.j.Store.Put(k, legacyEntry(0, &rec)); err != nil {
		t.Fatal(err)
	}
	if err := f.j.Store.Put(appendIndexKey(nil, side, ts, &rec), rec.Key); err != nil {
		t.Fatal(err)
	}
}

// TestStreamStreamJoinReadsOldStore: records stored by an earlier version
// (their record bytes, not rows) still match, are marked matched, and an
// outer side's unmatched one is emitted when its window closes; the
// records stored from then on are rows. Rows are "V W key @ROWTIME".
func TestStreamStreamJoinReadsOldStore(t *testing.T) {
	store := NewOrderedMemStore()
	f := newWindowFixture(t, within{10, 10, 0, "full"}, store, nil)
	putLegacy(t, f, 0, "x", "A", 100)
	putLegacy(t, f, 0, "y", "B", 101)
	f.step(t, "r x a@105") // meets the old left record A
	f.step(t, "l x C@106") // a new left record, stored as a row, meets a
	f.step(t, "r x b@116") // closes A (matched) and B (never matched), meets C
	f.step(t, "r z c@200") // closes the rest, all matched
	want := []string{"A a x @105", "C a x @106", "B NULL y @101", "C b x @116"}
	if strings.Join(f.got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(f.got, "\n"), strings.Join(want, "\n"))
	}
	// What remains (c) was stored as a row.
	n := 0
	if err := store.Scan([]byte{'r'}, []byte{'s'}, func(_, v []byte) bool {
		n++
		if v[0]&rowFormatFlag == 0 {
			t.Errorf("an entry stored in the old format after the upgrade: %x", v)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no record left in the store; the test checks nothing")
	}
}

// TestStreamStreamJoinStoresReadColumnsOnly: with Stored set, a side's
// stored records keep those columns only (the others' bytes are not in
// the store) and meet the other side's records with NULLs in the rest;
// the key and ROWTIME they need are kept.
func TestStreamStreamJoinStoresReadColumnsOnly(t *testing.T) {
	store := NewOrderedMemStore()
	f := newWindowFixture(t, within{10, 10, 1 << 40, "inner"}, store, nil)
	// The left's K and ROWTIME only: V is not read.
	f.j.Spec.Sides[0].Stored = []int{0, 2}
	f.step(t, "l x secret@100")
	f.step(t, "r x a@101")
	f.step(t, "l x shown@102") // the record being processed is whole
	want := []string{"NULL a x @101", "shown a x @102"}
	if strings.Join(f.got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(f.got, "\n"), strings.Join(want, "\n"))
	}
	if err := store.Scan(nil, nil, func(k, v []byte) bool {
		if bytes.Contains(v, []byte("secret")) || bytes.Contains(v, []byte("shown")) {
			t.Errorf("a column nothing reads is stored: %q -> %q", k, v)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
}
