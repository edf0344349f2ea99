package operators

import (
	"fmt"
	"strings"
	"testing"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// TestGroupingReusesRows: the first stage of an aggregation (Repartition)
// and a task's Reader decode every record into one row and build every
// group input in one set of buffers. What they give must be what grouping
// each record afresh gives (Grouper.Input, then Encode): a column a record
// lacks is NULL, not the previous record's; a row the filter drops or
// whose group is NULL gives nothing; strings with escapes and non-ASCII
// come through; and each repartition record's bytes stay as written while
// the records after it are grouped, since a batch's records all wait for
// one commit. Over a table, the first stage's retractions (read back from
// its last-row store) are the rows it grouped before.
func TestGroupingReusesRows(t *testing.T) {
	src := []types.Column{{Name: "ID", Type: types.Bigint}, {Name: "NAME", Type: types.String}, {Name: "N", Type: types.Int}}
	id := &expr.Column{Index: 0, Name: "ID", T: types.Bigint}
	name := &expr.Column{Index: 1, Name: "NAME", T: types.String}
	n := &expr.Column{Index: 2, Name: "N", T: types.Int}
	var recs []log.Record
	for i := range 2000 {
		var v string
		switch i % 5 {
		case 0:
			v = fmt.Sprintf(`{"ID":%d,"NAME":"plain %d","N":%d}`, i, i%7, i%100)
		case 1:
			v = fmt.Sprintf(`{"ID":%d,"N":3}`, i) // NAME absent: NULL, the row is dropped
		case 2:
			v = fmt.Sprintf(`{"NAME":"esc\\\\aped \"%d\" \u00e9t\u00e9","ID":%d}`, i%3, i) // N absent: NULL, kept
		case 3:
			v = fmt.Sprintf(`{"ID":%d,"NAME":"%s","N":1}`, i, strings.Repeat("long/", 1+i%4))
		case 4:
			v = fmt.Sprintf(`{"ID":%d,"NAME":"plain %d","N":-5}`, i, i%7) // the filter drops it
		}
		recs = append(recs, log.Record{Key: []byte(fmt.Sprint(i % 50)), Value: []byte(v), Timestamp: int64(i), Offset: int64(i)})
	}
	dec, err := NewDecoder(DecoderSpec{Columns: src, KeyFormat: "NONE", ValueFormat: "JSON"})
	if err != nil {
		t.Fatal(err)
	}
	codec, err := NewGroupCodec([]types.Type{types.String}, [][]types.Type{nil, {types.Bigint}, {types.String, types.Int}})
	if err != nil {
		t.Fatal(err)
	}
	newGrouper := func() *Grouper {
		return &Grouper{Decoder: dec, Filter: nNotNegative{n}, GroupBy: []expr.Expr{name},
			Args: [][]expr.Expr{nil, {id}, {upper{name}, n}}, TimeIndex: 3, Codec: codec}
	}
	// What grouping each record afresh gives.
	fresh := newGrouper()
	var want []string
	for i := range recs {
		in, ok, err := fresh.Input(&recs[i])
		if err != nil {
			t.Fatalf("record %d %s: %v", i, recs[i].Value, err)
		}
		if !ok {
			continue
		}
		out, err := codec.Encode(&in)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintf("%q %x @%d", out.Key, out.Value, out.Timestamp))
	}
	if len(want) == 0 || len(want) == len(recs) {
		t.Fatalf("%d of %d records grouped: the test filters nothing or everything", len(want), len(recs))
	}
	check := func(t *testing.T, what string, got []log.Record) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d records, want %d", what, len(got), len(want))
		}
		for i, r := range got {
			if s := fmt.Sprintf("%q %x @%d", r.Key, r.Value, r.Timestamp); s != want[i] {
				t.Fatalf("%s: record %d is %s, want %s", what, i, s, want[i])
			}
		}
	}

	t.Run("repartition", func(t *testing.T) {
		r := &Repartition{Grouper: newGrouper(), Topic: "rp"}
		var got []log.Record
		for i := range recs {
			if err := r.Process(&recs[i], func(p log.ProduceRecord) { got = append(got, p.Record) }); err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
		}
		check(t, "Repartition", got)
	})
	t.Run("reader", func(t *testing.T) {
		read := newGrouper().Reader()
		var got []log.Record
		var keys []types.Row
		own := make([]log.Record, len(recs)) // values this subtest damages after
		for i, r := range recs {
			r.Value = append([]byte(nil), r.Value...)
			own[i] = r
		}
		for i := range own {
			in, ok, err := read(&own[i])
			if err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
			if !ok {
				continue
			}
			// The Aggregator clones a group's key: its strings are
			// the row's own, not views of the record's bytes.
			keys = append(keys, append(types.Row(nil), in.Key...))
			out, err := codec.Encode(&in)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, out)
		}
		for i := range own {
			clear(own[i].Value) // the log reuses its read buffers
		}
		check(t, "Reader", got)
		for i, k := range keys {
			kb, err := codec.EncodeKey(k)
			if err != nil {
				t.Fatal(err)
			}
			if string(kb) != string(got[i].Key) {
				t.Fatalf("key %d kept as %q after its record's bytes changed, want %q", i, kb, got[i].Key)
			}
		}
	})
	t.Run("table", func(t *testing.T) {
		// Each record replaces its key's row (50 keys): every record after
		// a key's first retracts the row grouped for it before.
		r := &Repartition{Grouper: newGrouper(), Topic: "rp", Table: true, Store: NewOrderedMemStore()}
		var got []log.Record
		for i := range recs {
			if err := r.Process(&recs[i], func(p log.ProduceRecord) { got = append(got, p.Record) }); err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
		}
		var adds []log.Record
		for _, rec := range got {
			v := rec.Value
			if v[len(v)-1] == 1 {
				continue
			}
			adds = append(adds, rec)
		}
		check(t, "Repartition of a table, its additions", adds)
		for _, rec := range got {
			v := rec.Value
			if v[len(v)-1] != 1 {
				continue
			}
			body := fmt.Sprintf("%x", v[:len(v)-1])
			found := false
			for _, w := range want {
				if strings.Contains(w, " "+body) {
					found = true
					break
				}
			}
			if !found {
				t.Fatalf("retraction %q %s is of no row grouped before", rec.Key, body)
			}
		}
	})
}

// nNotNegative is N IS NULL OR N >= 0.
type nNotNegative struct{ col *expr.Column }

func (f nNotNegative) Type() types.Type { return types.Boolean }
func (f nNotNegative) String() string   { return f.col.String() + " >= 0" }
func (f nNotNegative) Eval(row types.Row) (types.Value, error) {
	v := row[f.col.Index]
	return types.NewBoolean(v.IsNull() || v.Int() >= 0), nil
}
