package build

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/runnel/runnel/planner"
)

// Streams for the stream-stream tests: pv (userid key, 3 partitions) and
// these.
const (
	pv3DDL       = `CREATE STREAM pv3 (userid VARCHAR KEY, pageid VARCHAR) WITH (kafka_topic='pv3', partitions=3)`
	pv2DDL       = `CREATE STREAM pv2 (userid VARCHAR KEY, pageid VARCHAR) WITH (kafka_topic='pv2', partitions=2)`
	clicksDDL    = `CREATE STREAM clicks (id VARCHAR KEY, userid VARCHAR, url VARCHAR) WITH (kafka_topic='clicks', partitions=2)`
	ordersDDL    = `CREATE STREAM orders (id VARCHAR KEY, shop VARCHAR, amount INT) WITH (kafka_topic='orders', partitions=2)`
	shipmentsDDL = `CREATE STREAM shipments (sid VARCHAR KEY, orderid VARCHAR, shop VARCHAR, carrier VARCHAR) WITH (kafka_topic='shipments', partitions=3)`
)

// TestStreamStreamStages: a stream-stream join is one stage reading
// partition p of both sides, left first, in the larger of their partition
// counts; a side not keyed by its join key, or in the other count, is
// first repartitioned by its own stage into an internal topic of that
// count. Each join task has a store; an aggregation adds its stage.
func TestStreamStreamStages(t *testing.T) {
	f := newFixture(t)
	for _, ddl := range []string{pageviewsDDL, pv3DDL, pv2DDL, clicksDDL, ordersDDL, shipmentsDDL} {
		f.declare(ddl)
	}
	joins := []Store{{"Q/join/0", StoreJoin}, {"Q/join/1", StoreJoin}, {"Q/join/2", StoreJoin}}
	for _, tc := range []struct {
		name   string
		query  string
		inputs []string
		topics []string
		stores []Store
		tasks  []string
	}{
		{"keyed and co-partitioned", `CREATE STREAM j1 AS SELECT p.userid AS userid, p.pageid, q.pageid AS qp FROM pv p JOIN pv3 q WITHIN 1 MINUTE ON p.userid = q.userid`,
			[]string{"pv", "pv3"}, nil, joins,
			[]string{"pv:0+pv3:0", "pv:1+pv3:1", "pv:2+pv3:2"}},
		{"the right side in the left's partition count", `CREATE STREAM j2 AS SELECT p.userid AS userid, q.pageid AS qp FROM pv p LEFT JOIN pv2 q WITHIN 1 MINUTE ON p.userid = q.userid`,
			[]string{"pv2", "pv", "_runnel_Q_join_right_repartition"}, []string{"_runnel_Q_join_right_repartition"}, joins,
			[]string{"pv2:0", "pv2:1", "pv:0+_runnel_Q_join_right_repartition:0", "pv:1+_runnel_Q_join_right_repartition:1", "pv:2+_runnel_Q_join_right_repartition:2"}},
		{"the left side keyed by a value column", `CREATE STREAM j3 AS SELECT ROWKEY AS userid, c.url, p.pageid FROM clicks c FULL JOIN pv p WITHIN 1 MINUTE GRACE PERIOD 0 SECONDS ON c.userid = p.userid`,
			[]string{"clicks", "_runnel_Q_join_left_repartition", "pv"}, []string{"_runnel_Q_join_left_repartition"}, joins,
			[]string{"clicks:0", "clicks:1", "_runnel_Q_join_left_repartition:0+pv:0", "_runnel_Q_join_left_repartition:1+pv:1", "_runnel_Q_join_left_repartition:2+pv:2"}},
		{"both sides repartitioned on two columns", `CREATE STREAM j4 AS SELECT o.id AS id, o.amount, s.carrier FROM orders o JOIN shipments s WITHIN 1 HOUR ON o.id = s.orderid AND o.shop = s.shop`,
			[]string{"orders", "shipments", "_runnel_Q_join_left_repartition", "_runnel_Q_join_right_repartition"},
			[]string{"_runnel_Q_join_left_repartition", "_runnel_Q_join_right_repartition"}, joins,
			[]string{"orders:0", "orders:1", "shipments:0", "shipments:1", "shipments:2",
				"_runnel_Q_join_left_repartition:0+_runnel_Q_join_right_repartition:0",
				"_runnel_Q_join_left_repartition:1+_runnel_Q_join_right_repartition:1",
				"_runnel_Q_join_left_repartition:2+_runnel_Q_join_right_repartition:2"}},
		{"aggregated", `CREATE TABLE j5 AS SELECT q.pageid AS pageid, COUNT(*) AS n FROM pv p JOIN pv3 q WITHIN 1 MINUTE ON p.userid = q.userid GROUP BY q.pageid`,
			[]string{"pv", "pv3", "_runnel_Q_repartition"}, []string{"_runnel_Q_repartition"},
			append(joins[:3:3], Store{"Q/agg/0", StoreAggregate}, Store{"Q/agg/1", StoreAggregate}, Store{"Q/agg/2", StoreAggregate}),
			[]string{"pv:0+pv3:0", "pv:1+pv3:1", "pv:2+pv3:2", "_runnel_Q_repartition:0", "_runnel_Q_repartition:1", "_runnel_Q_repartition:2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := f.persistent(tc.query)
			if err := Check(plan); err != nil {
				t.Fatalf("Check: %v", err)
			}
			q, err := f.b.Persistent(f.ctx, "Q", plan)
			if err != nil {
				t.Fatal(err)
			}
			defer f.remove(q)
			checkStages(t, q, tc.inputs, tc.topics, tc.stores, tc.tasks)
			for _, topic := range q.Topics {
				if info, err := f.log.Topic(f.ctx, topic); err != nil || info.Partitions != 3 {
					t.Errorf("internal topic %s: %+v %v; want the join's 3 partitions", topic, info, err)
				}
			}
		})
	}
}

// TestStreamStreamRuns: both sides of a two-column join, in 2 and 3
// partitions and keyed by other columns, are repartitioned into 3 and
// meet there: every pair within the hour on (id, shop), none across
// shops or past the window.
func TestStreamStreamRuns(t *testing.T) {
	f := newFixture(t)
	f.declare(ordersDDL)
	f.declare(shipmentsDDL)
	f.insert("orders", rec{"o1", `{"SHOP":"s1","AMOUNT":10}`, 0}, rec{"o2", `{"SHOP":"s1","AMOUNT":20}`, 1000},
		rec{"o3", `{"SHOP":"s2","AMOUNT":30}`, 2000}, rec{"o4", `{"SHOP":"s1","AMOUNT":40}`, 3000})
	f.insert("shipments", rec{"x1", `{"ORDERID":"o1","SHOP":"s1","CARRIER":"ups"}`, 60000},
		rec{"x2", `{"ORDERID":"o2","SHOP":"s2","CARRIER":"dhl"}`, 61000},
		rec{"x3", `{"ORDERID":"o3","SHOP":"s2","CARRIER":"tnt"}`, 62000},
		rec{"x4", `{"ORDERID":"o4","SHOP":"s1","CARRIER":"late"}`, 3000 + 3600001},
		rec{"x5", `{"ORDERID":"o1","SHOP":"s1","CARRIER":"fedex"}`, 3600000})
	plan := f.persistent(`CREATE STREAM out AS SELECT o.id AS id, o.amount, s.carrier FROM orders o JOIN shipments s WITHIN 1 HOUR ON o.id = s.orderid AND o.shop = s.shop`)
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
		`o1 {"AMOUNT":10,"CARRIER":"fedex"}`,
		`o1 {"AMOUNT":10,"CARRIER":"ups"}`,
		`o3 {"AMOUNT":30,"CARRIER":"tnt"}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("out:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestPushStreamStream: a transient stream-stream join reads both
// streams, every partition, from where it is told: at 'latest' the
// records written before it are not joined. A LEFT join's unmatched row
// comes when a later record closes its window.
func TestPushStreamStream(t *testing.T) {
	f := newFixture(t)
	f.declare(pageviewsDDL)
	f.declare(pv3DDL)
	f.insert("pv", rec{"alice", `{"PAGEID":"old","VIEWTIME":1}`, 1})
	f.insert("pv3", rec{"alice", `{"PAGEID":"old3"}`, 1})
	q, err := f.b.Push(f.ctx, f.transient(`SELECT p.userid, p.pageid, q.pageid FROM pv p LEFT JOIN pv3 q WITHIN 1 SECOND GRACE PERIOD 0 SECONDS ON p.userid = q.userid EMIT CHANGES LIMIT 2`), false)
	if err != nil {
		t.Fatal(err)
	}
	// It reads from the end offsets Push took.
	it := q.Start(f.ctx)
	f.insert("pv", rec{"alice", `{"PAGEID":"a","VIEWTIME":1}`, 10000}, rec{"bob", `{"PAGEID":"b","VIEWTIME":1}`, 10001})
	f.insert("pv3", rec{"alice", `{"PAGEID":"a3"}`, 10500})
	// Carol's record moves the stream time past bob's window.
	f.insert("pv", rec{"carol", `{"PAGEID":"c","VIEWTIME":1}`, 20000})
	got := drain(t, it, 2)
	if want := []string{"alice a a3", "bob b NULL"}; !reflect.DeepEqual(got, want) {
		t.Errorf("rows %q, want %q", got, want)
	}
}

// TestStreamStreamGrace: a WITHIN without GRACE PERIOD gets ksqlDB's
// default, max(24 h - 2 × before, 0); an explicit one is kept.
func TestStreamStreamGrace(t *testing.T) {
	f := newFixture(t)
	f.declare(pageviewsDDL)
	f.declare(pv3DDL)
	for query, want := range map[string][3]int64{
		`WITHIN 1 SECOND`:                                     {1000, 1000, 86398000},
		`WITHIN (2 HOURS, 1 SECOND)`:                          {7200000, 1000, 86400000 - 14400000},
		`WITHIN 13 HOURS`:                                     {46800000, 46800000, 0},
		`WITHIN 1 SECOND GRACE PERIOD 0 SECONDS`:              {1000, 1000, 0},
		`WITHIN (1 SECOND, 5 SECONDS) GRACE PERIOD 2 MINUTES`: {1000, 5000, 120000},
	} {
		plan := f.transient(`SELECT p.userid FROM pv p JOIN pv3 q ` + query + ` ON p.userid = q.userid EMIT CHANGES`)
		j := planner.Find[*planner.Join](plan.Root)
		ss, err := lowerStreamStream(j)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		if got := [3]int64{ss.spec.Before, ss.spec.After, ss.spec.Grace}; got != want {
			t.Errorf("%s: before, after, grace = %v, want %v", query, got, want)
		}
	}
}

// TestStreamStreamSideFilterRuns: an inner join under a WHERE on one
// side's columns (that side's Filter) writes the rows the WHERE keeps,
// whichever side came first.
func TestStreamStreamSideFilterRuns(t *testing.T) {
	f := newFixture(t)
	f.declare(ordersDDL)
	f.declare(shipmentsDDL)
	f.insert("orders", rec{"o1", `{"SHOP":"s1","AMOUNT":10}`, 0}, rec{"o2", `{"SHOP":"s1","AMOUNT":20}`, 1000})
	f.insert("shipments", rec{"x1", `{"ORDERID":"o1","SHOP":"s1","CARRIER":"ups"}`, 60000},
		rec{"x2", `{"ORDERID":"o2","SHOP":"s1","CARRIER":"dhl"}`, 61000},
		rec{"x3", `{"ORDERID":"o3","SHOP":"s1","CARRIER":"ups"}`, 62000},
		rec{"x4", `{"ORDERID":"o4","SHOP":"s1","CARRIER":"dhl"}`, 62000})
	f.insert("orders", rec{"o3", `{"SHOP":"s1","AMOUNT":30}`, 63000}, rec{"o4", `{"SHOP":"s1","AMOUNT":40}`, 63000})
	plan := f.persistent(`CREATE STREAM out AS SELECT o.id AS id, o.amount, s.carrier FROM orders o JOIN shipments s WITHIN 1 HOUR ON o.id = s.orderid WHERE s.carrier = 'ups'`)
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
		`o1 {"AMOUNT":10,"CARRIER":"ups"}`,
		`o3 {"AMOUNT":30,"CARRIER":"ups"}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("out:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
