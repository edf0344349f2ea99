package operators

import (
	"bytes"
	"testing"
	"time"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/serde"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/operators/window"
	"github.com/runnel/runnel/sql/types"
)

// TestAggregateRowsAreTheEmittedTable: the rows AggregateRows reads from
// an aggregation's store are the table its emitted records make (the
// last record of each key, a tombstone deleting it), byte for byte, with
// their timestamps: a group that HAVING drops is no row, an emptied one
// stays; a group stored in the format that kept no timestamp reads at
// time 0; the store's other keys are no rows.
func TestAggregateRowsAreTheEmittedTable(t *testing.T) {
	store := state.NewMemStore()
	h := newAggHarness(t, nil, false, store)
	cols := []types.Column{{Name: "K", Type: types.String, Key: true}, {Name: "N", Type: types.Bigint}, {Name: "S", Type: types.Bigint}}
	enc, err := NewEncoder(cols, "KAFKA", "JSON", serde.Props{})
	if err != nil {
		t.Fatal(err)
	}
	// HAVING SUM(v) < 100.
	h.a.Spec.Having = sumBelow(100)
	sink := &TableSink{Encoder: enc, Partitions: 3}
	table := map[string]log.Record{}
	h.a.Output = func(out AggOutput, _ Emit) error {
		return sink.Emit(out, func(r log.ProduceRecord) {
			if r.Record.Value == nil {
				delete(table, string(r.Record.Key))
				return
			}
			table[string(r.Record.Key)] = r.Record
		})
	}
	h.add("a", 1, 10)
	h.add("a", 2, 5) // out of order: the group keeps time 10
	h.add("b", 7, 20)
	h.add("c", 3, 30)
	h.add("-c", 3, 31) // emptied: COUNT 0 stays a row
	h.add("d", 60, 40)
	h.add("d", 50, 41) // 110: HAVING drops it
	// A group written before the state kept its time.
	ek := keyInput(t, h.codec, "e")
	accs := h.a.fresh()
	// The hidden COUNT(*), COUNT(*), SUM(v).
	if err := accs[0].Add(nil); err != nil {
		t.Fatal(err)
	}
	if err := accs[1].Add(nil); err != nil {
		t.Fatal(err)
	}
	if err := accs[2].Add([]types.Value{types.NewBigint(4)}); err != nil {
		t.Fatal(err)
	}
	if err := store.Put(stateKey(ek.KeyBytes, nil), encodeState(accs, 0)); err != nil {
		t.Fatal(err)
	}
	ekey, err := enc.EncodeKey(types.Row{types.NewString("e")})
	if err != nil {
		t.Fatal(err)
	}
	eval, err := enc.EncodeValue(types.Row{types.NewString("e"), types.NewBigint(1), types.NewBigint(4)})
	if err != nil {
		t.Fatal(err)
	}
	table[string(ekey)] = log.Record{Key: ekey, Value: eval, Timestamp: 0}
	// Keys beside the groups.
	for _, k := range []string{"s", "v", "x\x00"} {
		if err := store.Put([]byte(k), []byte{1}); err != nil {
			t.Fatal(err)
		}
	}

	rows, err := NewAggregateRows(h.a.Spec, enc, 3, store)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]log.Record{}
	start, end := GroupRange()
	err = rows.Scan(store, start, end, func(_, v []byte) bool {
		rec := AggregateRecord(v)
		if want := log.PartitionFor(rec.Key, 3); rec.Partition != want {
			t.Errorf("key %q: partition %d, want %d", rec.Key, rec.Partition, want)
		}
		got[string(bytes.Clone(rec.Key))] = log.Record{Key: bytes.Clone(rec.Key), Value: bytes.Clone(rec.Value), Timestamp: rec.Timestamp}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(table) || len(got) != 4 {
		t.Errorf("%d rows, the emitted table has %d (want 4: a, b, c, e)", len(got), len(table))
	}
	for k, want := range table {
		g, ok := got[k]
		if !ok {
			t.Errorf("key %q: no row", k)
			continue
		}
		if !bytes.Equal(g.Value, want.Value) || g.Timestamp != want.Timestamp {
			t.Errorf("key %q: got %s at %d, want %s at %d", k, g.Value, g.Timestamp, want.Value, want.Timestamp)
		}
	}
}

// sumBelow is HAVING SUM(v) < n over aggHarness's post-aggregation row
// (key, count, sum).
type sumBelow int64

func (n sumBelow) Type() types.Type { return types.Boolean }
func (n sumBelow) String() string   { return "SUM(v) < n" }
func (n sumBelow) Eval(row types.Row) (types.Value, error) {
	return types.NewBoolean(row[2].Int() < int64(n)), nil
}

// TestAggregateRowsWindowed: a windowed aggregation's stored windows read
// as the records its emits make (windowed keys, the window's end from the
// state), and a key's range holds that key's windows only. The engine
// keeps windowed tables on their copies (build.ServesPull): this checks
// the reader itself.
func TestAggregateRowsWindowed(t *testing.T) {
	store := state.NewMemStore()
	spec := &window.Spec{Kind: window.Tumbling, Size: 10 * time.Second, Grace: time.Hour, HasGrace: true}
	h := newAggHarness(t, spec, false, store)
	cols := []types.Column{{Name: "K", Type: types.String, Key: true}, {Name: "WS", Type: types.Bigint}, {Name: "WE", Type: types.Bigint},
		{Name: "N", Type: types.Bigint}, {Name: "S", Type: types.Bigint}}
	enc, err := NewEncoder(cols, "KAFKA", "JSON", serde.Props{})
	if err != nil {
		t.Fatal(err)
	}
	sink := &TableSink{Encoder: enc, Partitions: 2, Window: spec}
	table := map[string]log.Record{}
	h.a.Output = func(out AggOutput, _ Emit) error {
		return sink.Emit(out, func(r log.ProduceRecord) { table[string(r.Record.Key)] = r.Record })
	}
	h.add("a", 1, 1000)
	h.add("a", 2, 12000)
	h.add("b", 3, 15000)
	h.add("a", 4, 5000)
	rows, err := NewAggregateRows(h.a.Spec, enc, 2, store)
	if err != nil {
		t.Fatal(err)
	}
	read := func(start, end []byte) map[string]log.Record {
		got := map[string]log.Record{}
		if err := rows.Scan(store, start, end, func(_, v []byte) bool {
			rec := AggregateRecord(v)
			if rec.Partition != table[string(rec.Key)].Partition {
				t.Errorf("key %x: partition %d, want %d", rec.Key, rec.Partition, table[string(rec.Key)].Partition)
			}
			got[string(rec.Key)] = log.Record{Value: bytes.Clone(rec.Value), Timestamp: rec.Timestamp}
			return true
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	got := read(GroupRange())
	if len(got) != 3 || len(table) != 3 {
		t.Fatalf("%d rows, %d in the emitted table, want 3", len(got), len(table))
	}
	for k, want := range table {
		if g := got[k]; !bytes.Equal(g.Value, want.Value) || g.Timestamp != want.Timestamp {
			t.Errorf("key %x: got %s at %d, want %s at %d", k, g.Value, g.Timestamp, want.Value, want.Timestamp)
		}
	}
	kb, err := h.codec.EncodeKey(types.Row{types.NewString("a")})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(read(GroupKeyRange(kb, true))); n != 2 {
		t.Errorf("key a's range holds %d windows, want 2", n)
	}
}
