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

// joinFixture is a stream (K STRING KEY, V STRING) joined with a table
// (ID STRING PRIMARY KEY, R STRING) on K = ID, both JSON values and KAFKA
// keys; the joined row is K, V, ROWTIME, ROWPARTITION, ROWOFFSET, then
// ID, R and its pseudo columns, then the key, then ROWTIME.
func joinFixture(t *testing.T, left bool, extra expr.Expr) *StreamTableJoin {
	t.Helper()
	scols := []types.Column{{Name: "K", Type: types.String, Key: true}, {Name: "V", Type: types.String}}
	tcols := []types.Column{{Name: "ID", Type: types.String, Key: true}, {Name: "R", Type: types.String}}
	sdec, err := NewDecoder(DecoderSpec{Columns: scols, KeyFormat: "KAFKA", ValueFormat: "JSON"})
	if err != nil {
		t.Fatal(err)
	}
	tdec, err := NewDecoder(DecoderSpec{Columns: tcols, KeyFormat: "KAFKA", ValueFormat: "JSON"})
	if err != nil {
		t.Fatal(err)
	}
	kf, err := serde.NewKeyFormat("KAFKA", tcols[:1], serde.Props{})
	if err != nil {
		t.Fatal(err)
	}
	spec := &StreamTableSpec{Stream: sdec.Decode, StreamTime: 2, Table: tdec, TableWidth: tdec.Width(),
		Keys: []expr.Expr{&expr.Column{Index: 0, Name: "K", T: types.String}}, KeyOrder: []int{0}, TableKey: kf, Left: left, Extra: extra}
	return &StreamTableJoin{Spec: spec, Store: state.NewMemStore(), TableInput: 0, StreamInput: 1}
}

// TestStreamTableJoin: table records change the state and emit nothing;
// each stream record meets the row its key has at that point.
func TestStreamTableJoin(t *testing.T) {
	// V <> 'skip' as an extra ON condition: V is the joined row's column 1.
	notSkip := &expr.Column{Index: 1, Name: "V", T: types.String}
	for _, tc := range []struct {
		name  string
		left  bool
		extra bool
		// steps: "t key value@ts" (value "-" a tombstone, key "-" none)
		// or "s key value@ts" (value "-" a null value, key "-" NULL).
		steps []string
		want  []string
	}{
		{name: "inner", steps: []string{"s x A@1", "t x a@2", "s x B@3", "t x b@4", "t x -@5", "s x C@6", "t x c@7", "s x D@8"},
			want: []string{"x B x a x @3", "x D x c x @8"}},
		{name: "left", left: true, steps: []string{"s x A@1", "t x a@2", "s x B@3", "t x -@5", "s x C@6"},
			want: []string{"x A NULL NULL x @1", "x B x a x @3", "x C NULL NULL x @6"}},
		{name: "null stream values are ignored", left: true, steps: []string{"t x a@1", "s x -@2", "s x B@3"},
			want: []string{"x B x a x @3"}},
		{name: "a NULL join key never matches: LEFT keeps the row", left: true, steps: []string{"t x a@1", "s - A@2"},
			want: []string{"NULL A NULL NULL NULL @2"}},
		{name: "a NULL join key never matches: INNER drops the row", steps: []string{"t x a@1", "s - A@2"}},
		{name: "a table row without a key is not stored", left: true, steps: []string{"t - a@1", "s x A@2"},
			want: []string{"x A NULL NULL x @2"}},
		{name: "ROWTIME is the larger of the two rows'", steps: []string{"t x a@9", "s x A@3"},
			want: []string{"x A x a x @9"}},
		{name: "the extra condition decides a match", left: true, extra: true, steps: []string{"t x a@1", "s x skip@2", "s x ok@3"},
			want: []string{"x skip NULL NULL x @2", "x ok x a x @3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var extra expr.Expr
			if tc.extra {
				extra = notSkipExpr(t, notSkip)
			}
			j := joinFixture(t, tc.left, extra)
			var got []string
			j.Output = func(row types.Row, ts int64, emit Emit) error {
				// K, V, table ID, R, the key column; then the time.
				cols := []int{0, 1, 5, 6, 10}
				parts := make([]string, 0, len(cols)+1)
				for _, c := range cols {
					if row[c].IsNull() {
						parts = append(parts, "NULL")
					} else {
						parts = append(parts, row[c].Str())
					}
				}
				if row[len(row)-1].Int() != ts {
					t.Errorf("the row's ROWTIME %d is not its time %d", row[len(row)-1].Int(), ts)
				}
				got = append(got, strings.Join(parts, " ")+fmt.Sprintf(" @%d", ts))
				return nil
			}
			for i, step := range tc.steps {
				input, rec := joinStep(t, step, int64(i))
				if err := j.ProcessInput(input, &rec, nil); err != nil {
					t.Fatalf("%s: %v", step, err)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// notSkipExpr is V <> 'skip' over the joined row (V at v's index).
func notSkipExpr(t *testing.T, v expr.Expr) expr.Expr {
	t.Helper()
	return notEqual{col: v.(*expr.Column).Index, s: "skip"}
}

// notEqual is column <> a string, built by hand: operators' tests do not
// parse SQL.
type notEqual struct {
	col int
	s   string
}

func (n notEqual) Type() types.Type { return types.Boolean }
func (n notEqual) String() string   { return fmt.Sprintf("$%d <> %q", n.col, n.s) }
func (n notEqual) Eval(row types.Row) (types.Value, error) {
	if row[n.col].IsNull() {
		return types.NullValue, nil
	}
	return types.NewBoolean(row[n.col].Str() != n.s), nil
}

// joinStep turns "t key value@ts" or "s key value@ts" into a record of
// the table (input 0) or stream (input 1).
func joinStep(t *testing.T, step string, offset int64) (int, log.Record) {
	t.Helper()
	var side, key, rest string
	if _, err := fmt.Sscan(step, &side, &key, &rest); err != nil {
		t.Fatalf("bad step %q", step)
	}
	at := strings.LastIndex(rest, "@")
	val := rest[:at]
	var ts int64
	fmt.Sscan(rest[at+1:], &ts)
	rec := log.Record{Timestamp: ts, Offset: offset}
	if key != "-" {
		rec.Key = []byte(key)
	}
	if val != "-" {
		field := "V"
		if side == "t" {
			field = "R"
		}
		rec.Value = fmt.Appendf(nil, `{"%s":%q}`, field, val)
	}
	if side == "t" {
		return 0, rec
	}
	return 1, rec
}

// TestStreamTableJoinRefusesBadTableRows: a table row that does not
// decode is an error, and the key keeps its previous row.
func TestStreamTableJoinRefusesBadTableRows(t *testing.T) {
	j := joinFixture(t, true, nil)
	var got []string
	j.Output = func(row types.Row, ts int64, emit Emit) error { got = append(got, row[6].Str()); return nil }
	if err := j.ProcessInput(0, &log.Record{Key: []byte("x"), Value: []byte(`{"R":"a"}`)}, nil); err != nil {
		t.Fatal(err)
	}
	if err := j.ProcessInput(0, &log.Record{Key: []byte("x"), Value: []byte(`not json`)}, nil); err == nil {
		t.Fatal("an undecodable table row was accepted")
	}
	if err := j.ProcessInput(1, &log.Record{Key: []byte("x"), Value: []byte(`{"V":"s"}`)}, nil); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "a" {
		t.Fatalf("the stream record met %q, want the previous row a", got)
	}
	if err := j.Process(&log.Record{}, nil); err == nil {
		t.Error("Process without an input was accepted")
	}
}

// TestKeyRepartition: a record is written keyed by its join key in the
// table's key format, in that key's partition, with its own key kept in a
// header that RestoreKey gives back; a NULL join key keeps the record in
// its source partition's place, without a key.
func TestKeyRepartition(t *testing.T) {
	cols := []types.Column{{Name: "ID", Type: types.Int, Key: true}, {Name: "U", Type: types.String}}
	dec, err := NewDecoder(DecoderSpec{Columns: cols, KeyFormat: "KAFKA", ValueFormat: "JSON"})
	if err != nil {
		t.Fatal(err)
	}
	kf, err := serde.NewKeyFormat("JSON", []types.Column{{Name: "K", Type: types.String, Key: true}}, serde.Props{})
	if err != nil {
		t.Fatal(err)
	}
	r := &KeyRepartition{Decoder: dec, TimeIndex: 2, Keys: []expr.Expr{&expr.Column{Index: 1, Name: "U", T: types.String}},
		Key: kf, Topic: "rp", Partitions: 3}
	idKey := []byte{0, 0, 0, 7}
	for _, tc := range []struct {
		value   string
		wantKey string
		wantP   int32
	}{
		{`{"U":"alice"}`, `"alice"`, log.PartitionFor([]byte(`"alice"`), 3)},
		// The decoded row is reused: a column the record lacks is NULL,
		// not the last record's.
		{`{}`, "", 5 % 3},
		{`{"U":"bob"}`, `"bob"`, log.PartitionFor([]byte(`"bob"`), 3)},
		{`{"U":null}`, "", 5 % 3},
	} {
		var out []log.ProduceRecord
		in := log.Record{Key: idKey, Value: []byte(tc.value), Timestamp: 42, Partition: 5, Headers: []log.Header{{Key: "h", Value: []byte("1")}}}
		if err := r.Process(&in, func(pr log.ProduceRecord) { out = append(out, pr) }); err != nil {
			t.Fatal(err)
		}
		if len(out) != 1 {
			t.Fatalf("%s: %d records", tc.value, len(out))
		}
		got := out[0]
		if got.Topic != "rp" || string(got.Key) != tc.wantKey || got.Partition != tc.wantP || got.Timestamp != 42 || string(got.Value) != tc.value {
			t.Errorf("%s: wrote %+v", tc.value, got)
		}
		back := RestoreKey(&got.Record)
		if string(back.Key) != string(idKey) || len(back.Headers) != 1 || back.Headers[0].Key != "h" {
			t.Errorf("%s: restored %+v", tc.value, back)
		}
		// The row's strings share the record's bytes; the written key
		// must not.
		for i := range in.Value {
			in.Value[i] = 'x'
		}
		if string(got.Key) != tc.wantKey {
			t.Errorf("%s: the key changed with the record's bytes: %q", tc.value, got.Key)
		}
	}
	// A null value is nothing to send.
	var n int
	if err := r.Process(&log.Record{Key: idKey}, func(log.ProduceRecord) { n++ }); err != nil || n != 0 {
		t.Errorf("a null value: %d records, %v", n, err)
	}
}

// TestKeyRepartitionPrunes: with a Pruner, a record goes on with only the
// value columns the join keeps and the event-time column (a NULL left
// out), and the join's decoder reads from it, after RestoreKey, the row
// it reads from the whole record.
func TestKeyRepartitionPrunes(t *testing.T) {
	cols := []types.Column{{Name: "ID", Type: types.Int, Key: true}, {Name: "U", Type: types.String},
		{Name: "P", Type: types.Bigint}, {Name: "TS", Type: types.Bigint}, {Name: "X", Type: types.String},
		{Name: "N", Type: types.Bigint}}
	// The join keeps U (its key) and P of the row, and ROWTIME, TS's.
	stored := []int{1, 2, 6}
	read := []bool{false, true, true, false, false, false}
	spec := DecoderSpec{Columns: cols, KeyFormat: "KAFKA", ValueFormat: "JSON", TimestampColumn: "TS", Read: read}
	dec, err := NewDecoder(spec)
	if err != nil {
		t.Fatal(err)
	}
	kf, err := serde.NewKeyFormat("JSON", []types.Column{{Name: "K", Type: types.String, Key: true}}, serde.Props{})
	if err != nil {
		t.Fatal(err)
	}
	prune := RepartitionPruner(dec, stored)
	if prune == nil {
		t.Fatal("no pruner")
	}
	r := &KeyRepartition{Decoder: dec, TimeIndex: 6, Keys: []expr.Expr{&expr.Column{Index: 1, Name: "U", T: types.String}},
		Key: kf, Topic: "rp", Partitions: 3, Prune: prune}
	for _, tc := range []struct{ value, want string }{
		{`{"U":"alice","P":7,"TS":42,"X":"padding","N":3}`, `{"U":"alice","P":7,"TS":42}`},
		{`{"X":"x","ts":43,"U":null}`, `{"TS":43}`},
		{`{"U":"bob","TS":44}`, `{"U":"bob","TS":44}`},
	} {
		var out []log.ProduceRecord
		in := log.Record{Key: []byte{0, 0, 0, 7}, Value: []byte(tc.value), Timestamp: 1, Partition: 5}
		if err := r.Process(&in, func(pr log.ProduceRecord) { out = append(out, pr) }); err != nil {
			t.Fatal(err)
		}
		if len(out) != 1 || string(out[0].Value) != tc.want {
			t.Fatalf("%s: wrote %+v", tc.value, out)
		}
		back := RestoreKey(&out[0].Record)
		got, _, err := dec.Decode(&back)
		if err != nil {
			t.Fatal(err)
		}
		whole, _, err := dec.Decode(&in)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range stored {
			if !types.Equal(got[i], whole[i]) && !(got[i].IsNull() && whole[i].IsNull()) {
				t.Errorf("%s: column %d is %v, want %v", tc.value, i, got[i], whole[i])
			}
		}
	}
	// A record the repartition refuses (N is no BIGINT) is refused as it
	// was: narrowing never lets it through.
	in := log.Record{Value: []byte(`{"U":"carol","P":1,"TS":45,"N":"many"}`)}
	if err := r.Process(&in, func(log.ProduceRecord) { t.Error("a bad record went on") }); err == nil {
		t.Error("a record whose unread column is no BIGINT was accepted")
	}
	// Every column kept, or ROWTIME from the record: nothing to narrow
	// but what the join does not read.
	if RepartitionPruner(dec, nil) != nil || RepartitionPruner(dec, []int{0, 1, 2, 3, 4, 5, 6}) != nil {
		t.Error("a pruner that keeps every column")
	}
}
