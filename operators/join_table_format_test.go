package operators

import (
	"strings"
	"testing"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// oldStoredRow is a table row as joins stored it before binary rows
// (join_table.go): the record's ROWTIME, offset, partition and value.
func oldStoredRow(ts, offset int64, value string) []byte {
	v := appendBE64(nil, uint64(ts))
	v = appendBE64(v, uint64(offset))
	v = appendBE32(v, 0)
	return append(v, value...)
}

// TestForeignKeyJoinReadsOldStore: rows stored by an earlier version (the
// records' bytes) on either side still join, and a row written again is
// stored in the binary format.
func TestForeignKeyJoinReadsOldStore(t *testing.T) {
	j := fkJoin(t, false, nil, 1)
	// Left A -> a and right b, as an old version left them.
	put := func(k, v []byte) {
		if err := j.Store.Put(k, v); err != nil {
			t.Fatal(err)
		}
	}
	put(prefixed(leftRowPrefix, []byte("A")), leftEntry([]byte("a"), oldStoredRow(1, 7, `{"FK":"a","N":"1"}`)))
	put(append(indexPrefix([]byte("a")), 'A'), nil)
	put(prefixed(rightRowPrefix, []byte("b")), oldStoredRow(2, 8, `{"M":"n"}`))
	var out []log.ProduceRecord
	emit := func(pr log.ProduceRecord) { out = append(out, pr) }
	for _, step := range []struct {
		input int
		rec   log.Record
	}{
		{1, log.Record{Key: []byte("a"), Value: []byte(`{"M":"m"}`), Timestamp: 3, Offset: 1}},          // meets the old A
		{0, log.Record{Key: []byte("B"), Value: []byte(`{"FK":"b","N":"2"}`), Timestamp: 4, Offset: 2}}, // meets the old b
		{0, log.Record{Key: []byte("A"), Value: []byte(`{"FK":"a","N":"3"}`), Timestamp: 5, Offset: 3}}, // replaces the old A
	} {
		if err := j.ProcessInput(step.input, &step.rec, emit); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{fkOut("A", "a", "1", "m", 3), fkOut("B", "b", "2", "n", 4), fkOut("A", "a", "3", "m", 5)}
	if got := sinkRecords(out); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	v, ok, err := j.Store.Get(prefixed(leftRowPrefix, []byte("A")))
	if err != nil || !ok {
		t.Fatalf("A: %v %v", ok, err)
	}
	_, row, err := splitLeftEntry(v)
	if err != nil {
		t.Fatal(err)
	}
	if len(row) < 9 || row[8] != tableRowFlag || strings.Contains(string(row), `"N"`) {
		t.Errorf("A rewritten in the old format: %q", row)
	}
}

// TestStreamTableJoinReadsOldStore: a table row stored by an earlier
// version meets stream records; the table's next row for the key is
// stored in the binary format.
func TestStreamTableJoinReadsOldStore(t *testing.T) {
	j := joinFixture(t, true, nil)
	if err := j.Store.Put(tableStateKey([]byte("x")), oldStoredRow(1, 0, `{"R":"old"}`)); err != nil {
		t.Fatal(err)
	}
	var got []string
	j.Output = func(row types.Row, ts int64, _ Emit) error {
		got = append(got, row[1].Str()+" "+row[6].Str())
		return nil
	}
	for _, step := range []struct {
		input int
		rec   log.Record
	}{
		{1, log.Record{Key: []byte("x"), Value: []byte(`{"V":"A"}`), Timestamp: 2}},
		{0, log.Record{Key: []byte("x"), Value: []byte(`{"R":"new"}`), Timestamp: 3}},
		{1, log.Record{Key: []byte("x"), Value: []byte(`{"V":"B"}`), Timestamp: 4}},
	} {
		if err := j.ProcessInput(step.input, &step.rec, nil); err != nil {
			t.Fatal(err)
		}
	}
	if want := "A old\nB new"; strings.Join(got, "\n") != want {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), want)
	}
	v, _, err := j.Store.Get(tableStateKey([]byte("x")))
	if err != nil || len(v) < 9 || v[8] != tableRowFlag {
		t.Errorf("the new row is not stored in the binary format: %q %v", v, err)
	}
}

// TestTableTableJoinReadsOldStore: a primary-key table join meets a row
// an earlier version stored.
func TestTableTableJoinReadsOldStore(t *testing.T) {
	ldec, rdec := tableDecoder(t, "K", "A"), tableDecoder(t, "K", "B")
	store := state.NewMemStore()
	spec := &TableTableSpec{
		Left:  TableSide{Decoder: ldec, Width: ldec.Width(), TimeIndex: 2, Keys: []expr.Expr{strCol(0, "K")}},
		Right: TableSide{Decoder: rdec, Width: rdec.Width(), TimeIndex: 2, Keys: []expr.Expr{strCol(0, "K")}},
	}
	sink := tableSink(t, store, nil, 11, []string{"KEY", "A", "B"}, strCol(0, "K"), strCol(1, "A"), strCol(6, "B"))
	j := &TableTableJoin{Spec: spec, Store: store, RightFrom: 1, Output: sink.Emit}
	if err := store.Put(prefixed(leftRowPrefix, []byte("k")), oldStoredRow(1, 0, `{"A":"a"}`)); err != nil {
		t.Fatal(err)
	}
	var out []log.ProduceRecord
	if err := j.ProcessInput(1, &log.Record{Key: []byte("k"), Value: []byte(`{"B":"b"}`), Timestamp: 2}, func(pr log.ProduceRecord) { out = append(out, pr) }); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(sinkRecords(out), "\n"), `k {"A":"a","B":"b"}@2`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestStreamTableJoinStoresReadColumnsOnly: with TableStored set, the
// table's rows keep only those columns (the others' bytes are not in the
// store) and meet stream records with NULLs in the rest.
func TestStreamTableJoinStoresReadColumnsOnly(t *testing.T) {
	j := joinFixture(t, false, nil)
	j.Spec.TableStored = []int{0, 2} // ID and ROWTIME: R is not read
	var got []string
	j.Output = func(row types.Row, ts int64, _ Emit) error {
		r := "NULL"
		if !row[6].IsNull() {
			r = row[6].Str()
		}
		got = append(got, row[1].Str()+" "+row[5].Str()+" "+r)
		return nil
	}
	for _, step := range []struct {
		input int
		rec   log.Record
	}{
		{0, log.Record{Key: []byte("x"), Value: []byte(`{"R":"secret"}`), Timestamp: 1}},
		{1, log.Record{Key: []byte("x"), Value: []byte(`{"V":"A"}`), Timestamp: 2}},
	} {
		if err := j.ProcessInput(step.input, &step.rec, nil); err != nil {
			t.Fatal(err)
		}
	}
	if want := "A x NULL"; strings.Join(got, "\n") != want {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), want)
	}
	v, _, err := j.Store.Get(tableStateKey([]byte("x")))
	if err != nil || strings.Contains(string(v), "secret") {
		t.Errorf("a column nothing reads is stored: %q %v", v, err)
	}
}

// leftEntry is a left row's state entry over a stored row already
// encoded (here in the format before the binary one).
func leftEntry(fk []byte, row []byte) []byte {
	return append(appendLeftHeader(nil, fk), row...)
}
