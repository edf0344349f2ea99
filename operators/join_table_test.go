package operators

import (
	"fmt"
	"strings"
	"testing"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/serde"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// The table joins' tests run each change through the real output a
// persistent query uses (TableJoinSink: WHERE, projection, encoding, and
// the memory of which result rows exist) and read the sink's records:
// "key {value}@ts" for an upsert, "key DEL@ts" for a tombstone.

// tableDecoder decodes a table of STRING columns, the first the primary
// key, KAFKA keys and JSON values.
func tableDecoder(t testing.TB, names ...string) *Decoder {
	t.Helper()
	cols := make([]types.Column, len(names))
	for i, n := range names {
		cols[i] = types.Column{Name: n, Type: types.String, Key: i == 0}
	}
	dec, err := NewDecoder(DecoderSpec{Columns: cols, KeyFormat: "KAFKA", ValueFormat: "JSON"})
	if err != nil {
		t.Fatal(err)
	}
	return dec
}

func strCol(i int, name string) *expr.Column {
	return &expr.Column{Index: i, Name: name, T: types.String}
}

// tableSink is a TableJoinSink over a MemStore writing sink columns cols
// (the first the key) computed by project, filtered by filter.
func tableSink(t testing.TB, store state.Store, filter expr.Expr, timeIndex int, cols []string, project ...expr.Expr) *TableJoinSink {
	t.Helper()
	out := make([]types.Column, len(cols))
	for i, c := range cols {
		out[i] = types.Column{Name: c, Type: types.String, Key: i == 0}
	}
	enc, err := NewEncoder(out, "KAFKA", "JSON", serde.Props{})
	if err != nil {
		t.Fatal(err)
	}
	return &TableJoinSink{Pipeline: &Pipeline{Filter: filter, Project: project, TimeIndex: timeIndex}, Encoder: enc, Topic: "out", Store: store}
}

// sinkRecords renders a sink's records.
func sinkRecords(out []log.ProduceRecord) []string {
	var got []string
	for _, pr := range out {
		if pr.Topic != "out" || pr.Partition != -1 {
			got = append(got, fmt.Sprintf("bad record %+v", pr))
		}
		v := "DEL"
		if pr.Value != nil {
			v = string(pr.Value)
		}
		got = append(got, fmt.Sprintf("%s %s@%d", pr.Key, v, pr.Timestamp))
	}
	return got
}

// tableStep turns "l key value@ts" or "r key value@ts" (value "-": a
// tombstone; "{...}": the JSON value itself; else the value of field)
// into a record of the left or right table.
func tableStep(t *testing.T, step, leftField, rightField string, offset int64) (right bool, rec log.Record) {
	t.Helper()
	var side, key, rest string
	if _, err := fmt.Sscan(step, &side, &key, &rest); err != nil {
		t.Fatalf("bad step %q", step)
	}
	at := strings.LastIndex(rest, "@")
	val := rest[:at]
	var ts int64
	fmt.Sscan(rest[at+1:], &ts)
	rec = log.Record{Timestamp: ts, Offset: offset}
	if key != "-" {
		rec.Key = []byte(key)
	}
	field := leftField
	if side == "r" {
		field = rightField
	}
	switch {
	case val == "-":
	case strings.HasPrefix(val, "{"):
		rec.Value = []byte(val)
	default:
		rec.Value = fmt.Appendf(nil, `{"%s":%q}`, field, val)
	}
	return side == "r", rec
}

// pkJoin is a primary-key join of L (K, A) and R (ID, B) on K = ID over
// store: the joined row is K A ROWTIME ROWPARTITION ROWOFFSET, ID B and
// its pseudo columns, the key, ROWTIME; the sink writes KEY (the join
// key), A and B.
func pkJoin(t *testing.T, keepLeft, keepRight bool, extra, where expr.Expr) (*TableTableJoin, *TableJoinSink) {
	t.Helper()
	ldec, rdec := tableDecoder(t, "K", "A"), tableDecoder(t, "ID", "B")
	spec := &TableTableSpec{
		Left:     TableSide{Decoder: ldec, Width: ldec.Width(), TimeIndex: 2, Keys: []expr.Expr{strCol(0, "K")}},
		Right:    TableSide{Decoder: rdec, Width: rdec.Width(), TimeIndex: 2, Keys: []expr.Expr{strCol(0, "ID")}},
		KeepLeft: keepLeft, KeepRight: keepRight, Extra: extra,
	}
	store := state.NewMemStore()
	sink := tableSink(t, store, where, 11, []string{"KEY", "A", "B"}, strCol(10, "KEY"), strCol(1, "A"), strCol(6, "B"))
	return &TableTableJoin{Spec: spec, Store: store, RightFrom: 1, Output: sink.Emit}, sink
}

// runTableJoin runs steps through a join whose left inputs are those
// below rightFrom (each step's input is left or rightFrom) and returns
// the sink's records.
func runTableJoin(t *testing.T, j InputProcessor, rightFrom int, leftField, rightField string, steps []string) []string {
	t.Helper()
	var out []log.ProduceRecord
	emit := func(pr log.ProduceRecord) { out = append(out, pr) }
	for i, step := range steps {
		right, rec := tableStep(t, step, leftField, rightField, int64(i))
		input := 0
		if right {
			input = rightFrom
		}
		if err := j.ProcessInput(input, &rec, emit); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	return sinkRecords(out)
}

// joinDocSteps are JOIN-DOC's fifteen steps of one key (tests/suites/
// joins/README.md): tombstones of absent rows, updates and deletes of
// either side in every order.
var joinDocSteps = []string{
	"l k1 -@1", "r k1 -@2", "l k1 A@3", "r k1 a@4", "l k1 B@5", "r k1 b@6", "l k1 -@7", "r k1 -@8",
	"l k1 C@9", "r k1 c@10", "r k1 -@11", "l k1 -@12", "r k1 -@13", "r k1 d@14", "l k1 D@15",
}

// TestTableTableJoin: every change on either side recomputes its key's
// result row; a row is upserted while the join yields it and deleted
// once (only once) it does not; a change's ROWTIME is the larger of its
// record's and the other side's row's.
func TestTableTableJoin(t *testing.T) {
	row := func(k, a, b string, ts int) string {
		js := func(s string) string {
			if s == "" {
				return "null"
			}
			return fmt.Sprintf("%q", s)
		}
		return fmt.Sprintf(`%s {"A":%s,"B":%s}@%d`, k, js(a), js(b), ts)
	}
	del := func(k string, ts int) string { return fmt.Sprintf("%s DEL@%d", k, ts) }
	for _, tc := range []struct {
		name                string
		keepLeft, keepRight bool
		extra               bool
		steps               []string
		want                []string
	}{
		{name: "inner, JOIN-DOC", steps: joinDocSteps, want: []string{
			row("k1", "A", "a", 4), row("k1", "B", "a", 5), row("k1", "B", "b", 6), del("k1", 7),
			row("k1", "C", "c", 10), del("k1", 11), row("k1", "D", "d", 15)}},
		{name: "left, JOIN-DOC", keepLeft: true, steps: joinDocSteps, want: []string{
			row("k1", "A", "", 3), row("k1", "A", "a", 4), row("k1", "B", "a", 5), row("k1", "B", "b", 6), del("k1", 7),
			row("k1", "C", "", 9), row("k1", "C", "c", 10), row("k1", "C", "", 11), del("k1", 12), row("k1", "D", "d", 15)}},
		{name: "right, JOIN-DOC", keepRight: true, steps: joinDocSteps, want: []string{
			row("k1", "A", "a", 4), row("k1", "B", "a", 5), row("k1", "B", "b", 6), row("k1", "", "b", 7), del("k1", 8),
			row("k1", "C", "c", 10), del("k1", 11), row("k1", "", "d", 14), row("k1", "D", "d", 15)}},
		{name: "full, JOIN-DOC", keepLeft: true, keepRight: true, steps: joinDocSteps, want: []string{
			row("k1", "A", "", 3), row("k1", "A", "a", 4), row("k1", "B", "a", 5), row("k1", "B", "b", 6), row("k1", "", "b", 7),
			del("k1", 8), row("k1", "C", "", 9), row("k1", "C", "c", 10), row("k1", "C", "", 11), del("k1", 12),
			row("k1", "", "d", 14), row("k1", "D", "d", 15)}},
		{name: "ROWTIME is the larger of the two rows'", steps: []string{"r k a@9", "l k A@3", "l k B@12"},
			want: []string{row("k", "A", "a", 9), row("k", "B", "a", 12)}},
		{name: "a tombstone's own time stamps the change", keepRight: true, steps: []string{"r k a@5", "l k A@6", "l k -@8"},
			want: []string{row("k", "", "a", 5), row("k", "A", "a", 6), row("k", "", "a", 8)}},
		{name: "keys do not meet each other", keepLeft: true, steps: []string{"l x X@1", "l y Y@2", "r x x@3", "r z z@4", "r y -@5"},
			// y's unchanged row is written again by the tombstone of its
			// absent right row (README decision 12 leaves it open).
			want: []string{row("x", "X", "", 1), row("y", "Y", "", 2), row("x", "X", "x", 3), row("y", "Y", "", 5)}},
		{name: "rows without a key are not joined", keepLeft: true, keepRight: true, steps: []string{"l - A@1", "r - a@2", "l k B@3"},
			want: []string{row("k", "B", "", 3)}},
		{name: "the extra condition decides a match", keepLeft: true, extra: true, steps: []string{"l k A@1", "r k skip@2", "r k ok@3", "r k skip@4"},
			want: []string{row("k", "A", "", 1), row("k", "A", "", 2), row("k", "A", "ok", 3), row("k", "A", "", 4)}},
		{name: "the extra condition, inner", extra: true, steps: []string{"l k A@1", "r k ok@2", "r k skip@3", "l k B@4"},
			want: []string{row("k", "A", "ok", 2), del("k", 3)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var extra expr.Expr
			if tc.extra {
				extra = notEqual{col: 6, s: "skip"} // B <> 'skip'
			}
			j, _ := pkJoin(t, tc.keepLeft, tc.keepRight, extra, nil)
			got := runTableJoin(t, j, 1, "A", "B", tc.steps)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestTableTableJoinInputs: with several partitions of each table (a
// transient query's merge), the inputs below RightFrom are the left's.
func TestTableTableJoinInputs(t *testing.T) {
	j, _ := pkJoin(t, false, false, nil, nil)
	j.RightFrom = 2
	var out []log.ProduceRecord
	emit := func(pr log.ProduceRecord) { out = append(out, pr) }
	for _, step := range []struct {
		input int
		rec   log.Record
	}{
		{1, log.Record{Key: []byte("k"), Value: []byte(`{"A":"A"}`), Timestamp: 1}},
		{3, log.Record{Key: []byte("k"), Value: []byte(`{"B":"b"}`), Timestamp: 2}},
		{0, log.Record{Key: []byte("k"), Value: []byte(`{"A":"A2"}`), Timestamp: 3}},
	} {
		if err := j.ProcessInput(step.input, &step.rec, emit); err != nil {
			t.Fatal(err)
		}
	}
	want := `k {"A":"A","B":"b"}@2` + "\n" + `k {"A":"A2","B":"b"}@3`
	if got := strings.Join(sinkRecords(out), "\n"); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestTableTableJoinRefusesBadRows: a row that does not decode is an
// error, and its key keeps its previous row; a record without its input
// is refused.
func TestTableTableJoinRefusesBadRows(t *testing.T) {
	j, _ := pkJoin(t, true, false, nil, nil)
	var out []log.ProduceRecord
	emit := func(pr log.ProduceRecord) { out = append(out, pr) }
	if err := j.ProcessInput(0, &log.Record{Key: []byte("k"), Value: []byte(`{"A":"A"}`), Timestamp: 1}, emit); err != nil {
		t.Fatal(err)
	}
	if err := j.ProcessInput(0, &log.Record{Key: []byte("k"), Value: []byte(`not json`), Timestamp: 2}, emit); err == nil {
		t.Fatal("an undecodable row was accepted")
	}
	if err := j.ProcessInput(1, &log.Record{Key: []byte("k"), Value: []byte(`{"B":"b"}`), Timestamp: 3}, emit); err != nil {
		t.Fatal(err)
	}
	want := `k {"A":"A","B":null}@1` + "\n" + `k {"A":"A","B":"b"}@3`
	if got := strings.Join(sinkRecords(out), "\n"); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if err := j.Process(&log.Record{}, nil); err == nil {
		t.Error("Process without an input was accepted")
	}
}

// TestTableJoinSinkWhere: WHERE filters the joined rows; a row that stops
// passing is deleted, once; one that never passed is never deleted.
func TestTableJoinSinkWhere(t *testing.T) {
	j, _ := pkJoin(t, true, false, nil, notEqual{col: 1, s: "hide"}) // WHERE A <> 'hide'
	got := runTableJoin(t, j, 1, "A", "B", []string{
		"l x hide@1", "r x b@2", "l y A@3", "l y hide@4", "r y b@5", "l y A2@6", "l y -@7", "l x -@8",
	})
	want := []string{`y {"A":"A","B":null}@3`, `y DEL@4`, `y {"A":"A2","B":"b"}@6`, `y DEL@7`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestTableJoinGroups: a result row's group input is added; a change
// retracts the one added before and adds the new one; a row that goes
// (or stops passing WHERE) is retracted.
func TestTableJoinGroups(t *testing.T) {
	codec, err := NewGroupCodec([]types.Type{types.String}, [][]types.Type{{types.String}})
	if err != nil {
		t.Fatal(err)
	}
	// GROUP BY B, COUNT(A), WHERE A <> 'hide', over the pkJoin row.
	g := &TableJoinGroups{Grouper: &Grouper{Filter: notEqual{col: 1, s: "hide"}, GroupBy: []expr.Expr{strCol(6, "B")},
		Args: [][]expr.Expr{{strCol(1, "A")}}, TimeIndex: 11, Codec: codec}, Topic: "groups", Store: state.NewMemStore()}
	j, _ := pkJoin(t, false, false, nil, nil)
	j.Store, j.Output = g.Store, g.Emit
	var out []log.ProduceRecord
	emit := func(pr log.ProduceRecord) { out = append(out, pr) }
	for i, step := range []string{"l k A@1", "r k b@2", "r k c@3", "l k hide@4", "l k A@5", "r k -@6", "r k b@7"} {
		right, rec := tableStep(t, step, "A", "B", int64(i))
		input := 0
		if right {
			input = 1
		}
		if err := j.ProcessInput(input, &rec, emit); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, pr := range out {
		in, err := codec.Decode(&pr.Record)
		if err != nil || pr.Topic != "groups" {
			t.Fatalf("%+v: %v", pr, err)
		}
		sign := "+"
		if in.Retract {
			sign = "-"
		}
		got = append(got, fmt.Sprintf("%s%s(%s)@%d", sign, in.Key[0].Str(), in.Args[0][0].Str(), in.Time))
	}
	want := []string{"+b(A)@2", "-b(A)@3", "+c(A)@3", "-c(A)@4", "+c(A)@5", "-c(A)@6", "+b(A)@7"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), strings.Join(want, " "))
	}
}

// TestTableJoinLink: the link between two joins of a chain of tables
// hands on an upsert for each row the join yields, under the row's key
// for the next join, and a tombstone only for a row it handed on before
// and yields no longer (or that moved to another key, or whose key became
// NULL).
func TestTableJoinLink(t *testing.T) {
	// A row here is [next key, value]; changes are "key:next=value",
	// "key:next=NULL-key" (a row whose next key is NULL) or "key:-" (no
	// row).
	for _, tc := range []struct {
		name    string
		changes []string
		want    []string
	}{
		{"upserts, then a delete", []string{"a:x=1", "a:x=2", "a:-"}, []string{"x=1@1", "x=2@2", "x DEL@3"}},
		{"a row that never was", []string{"a:-", "b:y=1", "a:-"}, []string{"y=1@2"}},
		{"deleted once", []string{"a:x=1", "a:-", "a:-"}, []string{"x=1@1", "x DEL@2"}},
		{"moved to another key", []string{"a:x=1", "a:z=2"}, []string{"x=1@1", "x DEL@2", "z=2@2"}},
		{"its key becomes NULL", []string{"a:x=1", "a:NULL-key", "a:x=3"}, []string{"x=1@1", "x DEL@2", "x=3@3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			l := &TableJoinLink{
				Key: func(row types.Row) ([]byte, error) {
					if row[0].IsNull() {
						return nil, nil
					}
					return []byte(row[0].Str()), nil
				},
				Value: func(row types.Row) ([]byte, error) { return []byte(row[1].Str()), nil },
				Store: state.NewMemStore(),
				Send: func(rec log.Record, _ Emit) error {
					if rec.Value == nil {
						got = append(got, fmt.Sprintf("%s DEL@%d", rec.Key, rec.Timestamp))
					} else {
						got = append(got, fmt.Sprintf("%s=%s@%d", rec.Key, rec.Value, rec.Timestamp))
					}
					return nil
				},
			}
			for i, ch := range tc.changes {
				key, rest, _ := strings.Cut(ch, ":")
				var row types.Row
				switch {
				case rest == "NULL-key":
					row = types.Row{types.NullValue, types.NewString("-")}
				case rest != "-":
					next, v, _ := strings.Cut(rest, "=")
					row = types.Row{types.NewString(next), types.NewString(v)}
				}
				if err := l.Emit([]byte(key), row, int64(i+1), nil); err != nil {
					t.Fatal(err)
				}
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
