package build

import (
	"math/big"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/sql/types"
)

// chainDDL declares a stream keyed by id joined to a table on a value
// column, then to another table on a second value column: both joins need
// the stream (then the intermediate stream) rekeyed.
var chainDDL = []string{
	`CREATE STREAM orders (id VARCHAR KEY, userid VARCHAR, item VARCHAR) WITH (kafka_topic='orders', partitions=3)`,
	usersDDL, // 2 partitions
	`CREATE TABLE items (id VARCHAR PRIMARY KEY, title VARCHAR) WITH (kafka_topic='items', partitions=4)`,
	`CREATE STREAM ships (id VARCHAR KEY, item VARCHAR, port VARCHAR) WITH (kafka_topic='ships', partitions=1)`,
}

// TestChainStages: an n-way chain is its first join's stages, writing its
// rows to an internal topic keyed for the second join, then the second
// join's stage over that topic and its table (in the table's partition
// count), with a store per task; a stream-stream step after the first
// repartitions its right stream too. Every internal topic and store is
// the query's.
func TestChainStages(t *testing.T) {
	f := newFixture(t)
	for _, d := range chainDDL {
		f.declare(d)
	}
	for _, tc := range []struct {
		name   string
		query  string
		inputs []string
		topics []string
		stores []string
		parts  map[string]int32
	}{
		{"stream-table-table", `CREATE STREAM o1 AS SELECT o.item, o.id AS oid, u.region, i.title FROM orders o JOIN users u ON o.userid = u.id LEFT JOIN items i ON o.item = i.id`,
			[]string{"orders", "users", "_runnel_Q_join_repartition", "items", "_runnel_Q_join2_repartition"},
			[]string{"_runnel_Q_join_repartition", "_runnel_Q_join2_repartition"},
			[]string{"Q/join/0", "Q/join/1", "Q/join2/0", "Q/join2/1", "Q/join2/2", "Q/join2/3"},
			map[string]int32{"_runnel_Q_join_repartition": 2, "_runnel_Q_join2_repartition": 4}},
		{"stream-table-stream", `CREATE STREAM o2 AS SELECT o.item, o.id AS oid, u.region, s.port FROM orders o JOIN users u ON o.userid = u.id JOIN ships s WITHIN 1 HOUR ON o.item = s.item`,
			[]string{"orders", "users", "_runnel_Q_join_repartition", "ships", "_runnel_Q_join2_repartition", "_runnel_Q_join2_right_repartition"},
			[]string{"_runnel_Q_join_repartition", "_runnel_Q_join2_repartition", "_runnel_Q_join2_right_repartition"},
			[]string{"Q/join/0", "Q/join/1", "Q/join2/0", "Q/join2/1"},
			map[string]int32{"_runnel_Q_join_repartition": 2, "_runnel_Q_join2_repartition": 2, "_runnel_Q_join2_right_repartition": 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := f.built(t, tc.query)
			var stores []string
			for _, s := range q.Stores {
				if s.Role != StoreJoin {
					t.Errorf("store %s has role %v, want a join's", s.Name, s.Role)
				}
				stores = append(stores, s.Name)
			}
			if !reflect.DeepEqual(q.Inputs, tc.inputs) || !reflect.DeepEqual(q.Topics, tc.topics) || !reflect.DeepEqual(stores, tc.stores) {
				t.Errorf("inputs %v, topics %v, stores %v\nwant %v, %v, %v", q.Inputs, q.Topics, stores, tc.inputs, tc.topics, tc.stores)
			}
			for topic, want := range tc.parts {
				if info, err := f.log.Topic(f.ctx, topic); err != nil || info.Partitions != want {
					t.Errorf("internal topic %s: %+v %v; want %d partitions", topic, info, err, want)
				}
			}
		})
	}
}

// TestChainRuns: a stream-table-table chain runs end to end over several
// partition counts: each order meets its user, then its item; a NULL
// second join key keeps its row in a LEFT join.
func TestChainRuns(t *testing.T) {
	f := newFixture(t)
	for _, d := range chainDDL {
		f.declare(d)
	}
	f.insert("users", rec{"alice", `{"REGION":"eu","AGE":30}`, 1}, rec{"bob", `{"REGION":"us","AGE":40}`, 2})
	f.insert("items", rec{"pen", `{"TITLE":"A pen"}`, 3}, rec{"ink", `{"TITLE":"Ink"}`, 4})
	f.insert("orders", rec{"o1", `{"USERID":"alice","ITEM":"pen"}`, 10}, rec{"o2", `{"USERID":"bob","ITEM":"ink"}`, 11},
		rec{"o3", `{"USERID":"carol","ITEM":"pen"}`, 12}, rec{"o4", `{"USERID":"bob","ITEM":"cup"}`, 13},
		rec{"o5", `{"USERID":"alice","ITEM":null}`, 14})
	plan := f.persistent(`CREATE STREAM out AS SELECT o.item, o.id AS oid, u.region, i.title FROM orders o JOIN users u ON o.userid = u.id LEFT JOIN items i ON o.item = i.id`)
	q, err := f.b.Persistent(f.ctx, "Q", plan)
	if err != nil {
		t.Fatal(err)
	}
	f.run(q)
	f.caughtUp(q)
	var got []string
	for _, r := range f.records("OUT") {
		got = append(got, string(r.Key)+" "+string(r.Value))
	}
	sort.Strings(got)
	want := []string{
		` {"OID":"o5","REGION":"eu","TITLE":null}`,
		`cup {"OID":"o4","REGION":"us","TITLE":null}`,
		`ink {"OID":"o2","REGION":"us","TITLE":"Ink"}`,
		`pen {"OID":"o1","REGION":"eu","TITLE":"A pen"}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("out:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestPushChain: a transient chain joins in one goroutine, its tables read
// whole and its stream from where it is told.
func TestPushChain(t *testing.T) {
	f := newFixture(t)
	for _, d := range chainDDL {
		f.declare(d)
	}
	f.insert("users", rec{"alice", `{"REGION":"eu","AGE":30}`, 1}, rec{"bob", `{"REGION":"us","AGE":40}`, 2})
	f.insert("items", rec{"pen", `{"TITLE":"A pen"}`, 3})
	f.insert("orders", rec{"o0", `{"USERID":"alice","ITEM":"pen"}`, 5})
	q, err := f.b.Push(f.ctx, f.transient(`SELECT o.id, u.region, i.title FROM orders o JOIN users u ON o.userid = u.id LEFT JOIN items i ON o.item = i.id EMIT CHANGES LIMIT 3`), false)
	if err != nil {
		t.Fatal(err)
	}
	it := q.Start(f.ctx)
	f.insert("orders", rec{"o1", `{"USERID":"bob","ITEM":"pen"}`, 10}, rec{"o2", `{"USERID":"carol","ITEM":"pen"}`, 11},
		rec{"o3", `{"USERID":"alice","ITEM":"ink"}`, 12}, rec{"o4", `{"USERID":"alice","ITEM":"pen"}`, 13})
	got := drain(t, it, 3)
	if want := []string{"o1 us A pen", "o3 eu NULL", "o4 eu A pen"}; !reflect.DeepEqual(got, want) {
		t.Errorf("rows %q, want %q", got, want)
	}
}

// TestRowCodec: the rows between a chain's joins come back as they went,
// NULLs and every column type included, ROWTIME from the record's time.
func TestRowCodec(t *testing.T) {
	cols := []types.Column{
		{Name: "A", Type: types.String}, {Name: "B", Type: types.Bigint}, {Name: "C", Type: types.Int},
		{Name: "D", Type: types.Double}, {Name: "E", Type: types.Boolean}, {Name: "N", Type: types.Null},
		{Name: "TS", Type: types.Timestamp}, {Name: "BY", Type: types.Bytes}, {Name: "DEC", Type: types.Decimal(10, 2)},
		{Name: "ARR", Type: types.Array(types.String)},
		{Name: "ROWTIME", Type: types.Bigint},
	}
	c, err := newRowCodec(cols)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range []types.Row{
		{types.NewString("x"), types.NewBigint(1 << 40), types.NewInt(-3), types.NewDouble(1.5), types.NewBoolean(true), types.NullValue,
			types.NewTimestamp(1700000000123), types.NewBytes([]byte{0, 1, 255}), types.NewDecimal(big.NewInt(-12345), 2),
			types.NewArray([]types.Value{types.NewString("a"), types.NullValue}), types.NewBigint(7)},
		{types.NullValue, types.NullValue, types.NullValue, types.NullValue, types.NullValue, types.NullValue,
			types.NullValue, types.NullValue, types.NullValue, types.NullValue, types.NewBigint(8)},
	} {
		v, err := c.encode(row)
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := c.Decode(&log.Record{Value: v, Timestamp: row[len(row)-1].Int()})
		if err != nil || !ok {
			t.Fatalf("decode %s: %v %v", v, ok, err)
		}
		if len(got) != c.Width() || len(got) != len(row) {
			t.Fatalf("width %d, want %d", len(got), len(row))
		}
		for i := range row {
			if got[i].IsNull() != row[i].IsNull() || (!row[i].IsNull() && types.Format(got[i], cols[i].Type) != types.Format(row[i], cols[i].Type)) {
				t.Errorf("column %d: %v, want %v", i, got[i], row[i])
			}
		}
	}
	if _, ok, err := c.Decode(&log.Record{}); ok || err != nil {
		t.Errorf("a record without a value: %v %v, want ignored", ok, err)
	}
}
