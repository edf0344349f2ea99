package build

import (
	"reflect"
	"sort"
	"strings"
	"testing"
)

// TestJoinStages: a stream-table join is one stage reading partition p of
// the table and of the stream — or of the stream's repartition topic,
// written by a first stage, when the stream is not keyed by its join key
// in the table's partition count — with the table's rows in a store per
// task; an aggregation over it adds its own repartition and stage.
func TestJoinStages(t *testing.T) {
	f := newFixture(t)
	f.declare(pageviewsDDL) // 3 partitions
	f.declare(usersDDL)     // 2 partitions
	f.declare(`CREATE STREAM pv2 (userid VARCHAR KEY, pageid VARCHAR) WITH (kafka_topic='pv2', partitions=2)`)
	for _, tc := range []struct {
		name   string
		query  string
		inputs []string
		topics []string
		stores []Store
		// tasks lists each task's inputs, topic:partition joined by +.
		tasks []string
	}{
		{"keyed and co-partitioned", `CREATE STREAM j1 AS SELECT v.userid AS userid, v.pageid, u.region FROM pv2 v JOIN users u ON v.userid = u.id`,
			[]string{"users", "pv2"}, nil, []Store{{"Q/join/0", StoreJoin}, {"Q/join/1", StoreJoin}},
			[]string{"users:0+pv2:0", "users:1+pv2:1"}},
		{"repartitioned into the table's partition count", `CREATE STREAM j2 AS SELECT p.userid AS userid, u.region FROM pv p LEFT JOIN users u ON p.userid = u.id`,
			[]string{"pv", "users", "_runnel_Q_join_repartition"}, []string{"_runnel_Q_join_repartition"},
			[]Store{{"Q/join/0", StoreJoin}, {"Q/join/1", StoreJoin}},
			[]string{"pv:0", "pv:1", "pv:2", "users:0+_runnel_Q_join_repartition:0", "users:1+_runnel_Q_join_repartition:1"}},
		{"aggregated", `CREATE TABLE j3 AS SELECT u.region AS region, COUNT(*) AS n FROM pv2 v JOIN users u ON v.userid = u.id GROUP BY u.region`,
			[]string{"users", "pv2", "_runnel_Q_repartition"}, []string{"_runnel_Q_repartition"},
			[]Store{{"Q/join/0", StoreJoin}, {"Q/join/1", StoreJoin}, {"Q/agg/0", StoreAggregate}, {"Q/agg/1", StoreAggregate}},
			[]string{"users:0+pv2:0", "users:1+pv2:1", "_runnel_Q_repartition:0", "_runnel_Q_repartition:1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := f.built(t, tc.query)
			checkStages(t, q, tc.inputs, tc.topics, tc.stores, tc.tasks)
			for _, topic := range q.Topics {
				if info, err := f.log.Topic(f.ctx, topic); err != nil || info.Partitions != 2 {
					t.Errorf("internal topic %s: %+v %v; want the table's 2 partitions", topic, info, err)
				}
			}
		})
	}
}

// TestJoinRuns: the stages of a stream-table join over a stream keyed by
// another column run end to end: the stream's records are repartitioned
// by their join key and each meets the table's row for it; a NULL join
// key keeps its row in a LEFT join.
func TestJoinRuns(t *testing.T) {
	f := newFixture(t)
	f.declare(usersDDL)
	f.declare(`CREATE STREAM clicks (id VARCHAR KEY, userid VARCHAR, url VARCHAR) WITH (kafka_topic='clicks', partitions=3)`)
	f.insert("users", rec{"alice", `{"REGION":"eu","AGE":30}`, 1}, rec{"bob", `{"REGION":"us","AGE":40}`, 2})
	f.insert("clicks", rec{"c1", `{"USERID":"alice","URL":"/a"}`, 10}, rec{"c2", `{"USERID":"bob","URL":"/b"}`, 11},
		rec{"c3", `{"USERID":"carol","URL":"/c"}`, 12}, rec{"c4", `{"USERID":null,"URL":"/d"}`, 13})
	plan := f.persistent(`CREATE STREAM out AS SELECT c.userid AS userid, c.id, c.url, u.region FROM clicks c LEFT JOIN users u ON c.userid = u.id`)
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
		` {"C_ID":"c4","URL":"/d","REGION":null}`,
		`alice {"C_ID":"c1","URL":"/a","REGION":"eu"}`,
		`bob {"C_ID":"c2","URL":"/b","REGION":"us"}`,
		`carol {"C_ID":"c3","URL":"/c","REGION":null}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("out:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestPushJoin: a transient join reads the table whole and the stream
// from where it is told: at 'latest', the stream records written before
// the query are not joined, the table rows written before it are.
func TestPushJoin(t *testing.T) {
	f := newFixture(t)
	f.declare(usersDDL)
	f.declare(pageviewsDDL)
	f.insert("users", rec{"alice", `{"REGION":"eu","AGE":30}`, 1}, rec{"bob", `{"REGION":"us","AGE":40}`, 2})
	f.insert("pv", rec{"alice", `{"PAGEID":"old","VIEWTIME":1}`, 3})
	q, err := f.b.Push(f.ctx, f.transient(`SELECT p.userid, p.pageid, u.region FROM pv p LEFT JOIN users u ON p.userid = u.id EMIT CHANGES LIMIT 3`), false)
	if err != nil {
		t.Fatal(err)
	}
	it := q.Start(f.ctx)
	f.insert("pv", rec{"bob", `{"PAGEID":"home","VIEWTIME":5}`, 10}, rec{"carol", `{"PAGEID":"cart","VIEWTIME":6}`, 11},
		rec{"alice", `{"PAGEID":"pay","VIEWTIME":7}`, 12})
	got := drain(t, it, 3)
	sort.Strings(got)
	if want := []string{"alice pay eu", "bob home us", "carol cart NULL"}; !reflect.DeepEqual(got, want) {
		t.Errorf("rows %q, want %q", got, want)
	}
}
