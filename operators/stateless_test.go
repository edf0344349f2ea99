package operators

import (
	"strings"
	"testing"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/serde"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// TestStatelessNullValues: what a stateless stage writes for records
// whose value is null, and for rows its filter drops, over a stream (as
// ksqlDB: null.json, partition-by.json) and over a table's changelog (a
// delete stays a delete).
func TestStatelessNullValues(t *testing.T) {
	// The source: ID INT KEY, NAME STRING; rows are ID, NAME, ROWTIME,
	// ROWPARTITION, ROWOFFSET.
	src := []types.Column{{Name: "ID", Type: types.Int, Key: true}, {Name: "NAME", Type: types.String}}
	id := &expr.Column{Index: 0, Name: "ID", T: types.Int}
	name := &expr.Column{Index: 1, Name: "NAME", T: types.String}
	nameNotNull := nameIsSet{name}
	key := func(n string, t types.Type) types.Column { return types.Column{Name: n, Type: t, Key: true} }
	val := func(n string, t types.Type) types.Column { return types.Column{Name: n, Type: t} }
	recs := []log.Record{
		{Key: []byte{0, 0, 0, 1}, Value: nil, Timestamp: 10},                     // a null value
		{Key: []byte{0, 0, 0, 2}, Value: []byte(`{"NAME":null}`), Timestamp: 11}, // a null column
		{Key: []byte{0, 0, 0, 3}, Value: []byte(`{"NAME":"n"}`), Timestamp: 12},
		{Key: nil, Value: []byte(`{"NAME":"no key"}`), Timestamp: 13}, // a null key
	}
	tests := []struct {
		name       string
		out        []types.Column
		project    []expr.Expr
		filter     expr.Expr
		tombstones bool
		table      bool
		want       string
	}{
		{
			name: "stream, the key kept: a null value stays null", out: []types.Column{key("ID", types.Int), val("NAME", types.String)},
			project: []expr.Expr{id, name}, tombstones: true,
			want: `1=<null>@10 2={"NAME":null}@11 3={"NAME":"n"}@12 <none>={"NAME":"no key"}@13`,
		},
		{
			name: "stream with WHERE: a null value is dropped", out: []types.Column{key("ID", types.Int), val("NAME", types.String)},
			project: []expr.Expr{id, name}, filter: nameNotNull, tombstones: true,
			want: `3={"NAME":"n"}@12 <none>={"NAME":"no key"}@13`,
		},
		{
			name: "stream PARTITION BY a value column: the null value's key is NULL", out: []types.Column{key("NAME", types.String), val("ID", types.Int)},
			project: []expr.Expr{name, id}, tombstones: true,
			want: `<none>=<null>@10 <none>={"ID":2}@11 n={"ID":3}@12 "no key"={"ID":null}@13`,
		},
		{
			name: "without Tombstones null values are skipped", out: []types.Column{key("ID", types.Int), val("NAME", types.String)},
			project: []expr.Expr{id, name},
			want:    `2={"NAME":null}@11 3={"NAME":"n"}@12 <none>={"NAME":"no key"}@13`,
		},
		{
			name: "table with WHERE: deletes stay deletes, a dropped row deletes its key, no key is skipped", out: []types.Column{key("ID", types.Int), val("NAME", types.String)},
			project: []expr.Expr{id, name}, filter: nameNotNull, table: true,
			want: `1=<null>@10 2=<null>@11 3={"NAME":"n"}@12`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dec, err := NewDecoder(DecoderSpec{Columns: src, KeyFormat: "KAFKA", ValueFormat: "JSON"})
			if err != nil {
				t.Fatal(err)
			}
			enc, err := NewEncoder(tc.out, "KAFKA", "JSON", serde.Props{})
			if err != nil {
				t.Fatal(err)
			}
			pipe := &Pipeline{Filter: tc.filter, Project: tc.project, TimeIndex: 2}
			for i, c := range tc.out {
				if c.Key {
					keyOnly := tc.project[i] == expr.Expr(id)
					pipe.Keys, pipe.KeyOnly = append(pipe.Keys, i), append(pipe.KeyOnly, keyOnly)
				}
			}
			s := &Stateless{Decoder: dec, Pipeline: pipe, Encoder: enc, Sink: "out", Tombstones: tc.tombstones, Table: tc.table}
			var got []string
			for i := range recs {
				if err := s.Process(&recs[i], func(r log.ProduceRecord) {
					got = append(got, showRecord(t, tc.out, r.Record))
				}); err != nil {
					t.Fatal(err)
				}
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("got  %s\nwant %s", g, tc.want)
			}
		})
	}
}

// nameIsSet is NAME IS NOT NULL.
type nameIsSet struct{ col *expr.Column }

func (n nameIsSet) Type() types.Type { return types.Boolean }
func (n nameIsSet) String() string   { return n.col.String() + " IS NOT NULL" }
func (n nameIsSet) Eval(row types.Row) (types.Value, error) {
	return types.NewBoolean(!row[n.col.Index].IsNull()), nil
}

// showRecord renders a record as key=value@time, the key decoded.
func showRecord(t *testing.T, cols []types.Column, r log.Record) string {
	t.Helper()
	k := "<none>"
	if r.Key != nil {
		var keys []types.Column
		for _, c := range cols {
			if c.Key {
				keys = append(keys, c)
			}
		}
		kf, err := serde.NewKeyFormat("KAFKA", keys, serde.Props{})
		if err != nil {
			t.Fatal(err)
		}
		row, err := kf.Decode(r.Key)
		if err != nil {
			t.Fatal(err)
		}
		k = types.Format(row[0], keys[0].Type)
		if strings.Contains(k, " ") {
			k = `"` + k + `"`
		}
	}
	v := "<null>"
	if r.Value != nil {
		v = string(r.Value)
	}
	return k + "=" + v + "@" + itoa(r.Timestamp)
}

func itoa(n int64) string { return types.Format(types.NewBigint(n), types.Bigint) }
