package build

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/sql"
)

const (
	pageviewsDDL = `CREATE STREAM pv (userid VARCHAR KEY, pageid VARCHAR, viewtime BIGINT) WITH (kafka_topic='pv', partitions=3)`
	usersDDL     = `CREATE TABLE users (id VARCHAR PRIMARY KEY, region VARCHAR, age INT) WITH (kafka_topic='users', partitions=2)`
)

// TestPersistentStages: the builder cuts a persistent plan into stages at
// its repartition, one task per partition each, and reports what the
// engine runs, waits on and removes: the inputs in pipeline order, the
// internal topics and the stores, named as data directories know them.
func TestPersistentStages(t *testing.T) {
	f := newFixture(t)
	f.declare(pageviewsDDL)
	f.declare(usersDDL)
	for _, tc := range []struct {
		name   string
		query  string
		inputs []string
		topics []string
		stores []Store
		tasks  int
	}{
		{"stateless", `CREATE STREAM s1 AS SELECT userid, pageid FROM pv WHERE viewtime > 10`, []string{"pv"}, nil, nil, 3},
		{"group by the key", `CREATE TABLE t1 AS SELECT userid, COUNT(*) AS n FROM pv GROUP BY userid`, []string{"pv"}, nil,
			[]Store{{"Q/agg/0", StoreAggregate}, {"Q/agg/1", StoreAggregate}, {"Q/agg/2", StoreAggregate}}, 3},
		{"group by another column", `CREATE TABLE t2 AS SELECT pageid, COUNT(*) AS n FROM pv GROUP BY pageid`,
			[]string{"pv", "_runnel_Q_repartition"}, []string{"_runnel_Q_repartition"},
			[]Store{{"Q/agg/0", StoreAggregate}, {"Q/agg/1", StoreAggregate}, {"Q/agg/2", StoreAggregate}}, 6},
		{"aggregate a table", `CREATE TABLE t3 AS SELECT region, COUNT(*) AS n FROM users GROUP BY region`,
			[]string{"users", "_runnel_Q_repartition"}, []string{"_runnel_Q_repartition"},
			[]Store{{"Q/rows/0", StoreRows}, {"Q/rows/1", StoreRows}, {"Q/agg/0", StoreAggregate}, {"Q/agg/1", StoreAggregate}}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, plan := f.built(t, tc.query)
			if q.Sink != plan.Sink().Target {
				t.Errorf("sink %v, want the plan's", q.Sink)
			}
			if len(q.Tasks) != tc.tasks || !reflect.DeepEqual(q.Inputs, tc.inputs) || !reflect.DeepEqual(q.Topics, tc.topics) ||
				!reflect.DeepEqual(q.Stores, tc.stores) {
				t.Errorf("%d tasks, inputs %v, topics %v, stores %v\nwant %d, %v, %v, %v", len(q.Tasks), q.Inputs, q.Topics, q.Stores,
					tc.tasks, tc.inputs, tc.topics, tc.stores)
			}
			for _, topic := range q.Topics {
				info, err := f.log.Topic(f.ctx, topic)
				if err != nil || info.Partitions != plan.Sources()[0].Partitions {
					t.Errorf("internal topic %s: %+v %v", topic, info, err)
				}
			}
			withStore := 0
			for i, task := range q.Tasks {
				if task.Group != "Q" || task.QueryID != "Q" || task.Processor == nil || task.Metrics != q.Metrics || task.OnFailure == nil {
					t.Errorf("task %d: %+v", i, task)
				}
				if task.Store != nil {
					if task.Store.Name() != q.Stores[withStore].Name {
						t.Errorf("task %d has store %s, want %s", i, task.Store.Name(), q.Stores[withStore].Name)
					}
					withStore++
				}
			}
			if withStore != len(tc.stores) {
				t.Errorf("%d tasks have a store, want %d", withStore, len(tc.stores))
			}
		})
	}
}

// TestInternalTopicsPurged: the builder makes a query's internal topics
// DeleteConsumed, so that the embedded log deletes what the query's group
// has committed past; the query's source, a user's topic, keeps all.
func TestInternalTopicsPurged(t *testing.T) {
	f := newFixture(t)
	f.declare(pageviewsDDL)
	q, _ := f.built(t, `CREATE TABLE t2 AS SELECT pageid, COUNT(*) AS n FROM pv GROUP BY pageid`)
	if len(q.Topics) != 1 {
		t.Fatalf("internal topics %v, want the repartition topic", q.Topics)
	}
	// More than the embedded log's default purge distance (16,384); the
	// fixture's log purges without waiting for an interval.
	const n = 20000
	offsets := map[log.TopicPartition]int64{}
	for _, topic := range []string{"pv", q.Topics[0]} {
		recs := make([]log.Record, n)
		for i := range recs {
			recs[i] = log.Record{Value: []byte(`{}`), Partition: 0}
		}
		if _, err := f.log.Append(f.ctx, topic, recs); err != nil {
			t.Fatal(err)
		}
		offsets[log.TopicPartition{Topic: topic, Partition: 0}] = n
	}
	if err := f.log.Commit(f.ctx, log.Txn{Group: "Q", Offsets: offsets}); err != nil {
		t.Fatal(err)
	}
	for topic, want := range map[string]int64{"pv": 0, q.Topics[0]: n} {
		starts, err := f.log.StartOffsets(f.ctx, topic)
		if err != nil || starts[0] != want {
			t.Errorf("start offsets of %s after the group committed %d: %v, %v; want %d first", topic, n, starts, err, want)
		}
	}
}

// TestPersistentRuns: the tasks the builder makes produce what the query
// says, through both stages and the retractions of a table's updates.
func TestPersistentRuns(t *testing.T) {
	f := newFixture(t)
	f.declare(pageviewsDDL)
	f.declare(usersDDL)

	plan := f.persistent(`CREATE STREAM long_views AS SELECT userid, UCASE(pageid) AS page FROM pv WHERE viewtime > 10`)
	q, err := f.b.Persistent(f.ctx, "CSAS_LONG_VIEWS_1", plan)
	if err != nil {
		t.Fatal(err)
	}
	f.run(q)
	f.insert("pv", rec{"alice", `{"PAGEID":"home","VIEWTIME":50}`, 1}, rec{"bob", `{"PAGEID":"news","VIEWTIME":5}`, 2},
		rec{"carol", `{"PAGEID":"shop","VIEWTIME":11}`, 3})
	f.caughtUp(q)
	if got := f.latest("LONG_VIEWS"); strings.Join(got, " ") != `alice={"PAGE":"HOME"} carol={"PAGE":"SHOP"}` {
		t.Errorf("long_views = %q", got)
	}

	plan = f.persistent(`CREATE TABLE per_region AS SELECT region, COUNT(*) AS n, SUM(age) AS total FROM users GROUP BY region`)
	q, err = f.b.Persistent(f.ctx, "CTAS_PER_REGION_2", plan)
	if err != nil {
		t.Fatal(err)
	}
	f.run(q)
	f.insert("users", rec{"alice", `{"REGION":"eu","AGE":30}`, 1}, rec{"bob", `{"REGION":"eu","AGE":40}`, 2},
		rec{"carol", `{"REGION":"us","AGE":20}`, 3})
	f.insert("users", rec{"alice", `{"REGION":"us","AGE":31}`, 4}, rec{"bob", "", 5})
	f.caughtUp(q)
	// alice moved to us and bob was deleted: eu has no rows left and
	// stays with COUNT 0, as in ksqlDB.
	if got := f.latest("PER_REGION"); strings.Join(got, " ") != `eu={"N":0,"TOTAL":null} us={"N":2,"TOTAL":51}` {
		t.Errorf("per_region = %q", got)
	}
}

// TestCheck: what the runtime cannot run is refused before anything is
// built, with a SQLSTATE.
func TestCheck(t *testing.T) {
	f := newFixture(t)
	f.declare(pageviewsDDL)
	f.declare(usersDDL)
	for _, tc := range []struct {
		query string
		code  sqlstate.Code
		msg   string
	}{
		{`CREATE TABLE t AS SELECT id, region FROM users WHERE age > 3`, "", ""},
		{`CREATE TABLE t AS SELECT region, MIN(age) AS youngest FROM users GROUP BY region`, sqlstate.FeatureNotSupported, "cannot aggregate a table"},
		{`CREATE TABLE t AS SELECT region, COUNT(*) AS n FROM users WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY region`, sqlstate.FeatureNotSupported, "windowed aggregation of a table"},
		{`CREATE TABLE t AS SELECT pageid, COUNT(*) AS n FROM pv GROUP BY pageid`, "", ""},
		{`CREATE STREAM s AS SELECT userid, pageid FROM pv PARTITION BY pageid`, "", ""},
	} {
		plan, err := f.planPersistent(tc.query)
		if err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		err = Check(plan)
		if sqlstate.Of(err) != tc.code || (err != nil && !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tc.msg))) {
			t.Errorf("%s: %v (%s), want %s %q", tc.query, err, sqlstate.Of(err), tc.code, tc.msg)
		}
		if tc.code != "" {
			if _, err := f.b.Persistent(f.ctx, "Q", plan); sqlstate.Of(err) != tc.code {
				t.Errorf("%s: Persistent built what Check refuses: %v", tc.query, err)
			}
		}
	}
	// Transient plans are checked the same way.
	for query, code := range map[string]sqlstate.Code{
		`SELECT region, MIN(age) AS m FROM users GROUP BY region EMIT CHANGES`: sqlstate.FeatureNotSupported,
		`SELECT region, COUNT(*) AS n FROM users GROUP BY region EMIT CHANGES`: "",
		`SELECT id FROM users WHERE id = 'a'`:                                  "",
		`SELECT userid FROM pv`:                                                "",
	} {
		if err := Check(f.transient(query)); sqlstate.Of(err) != code {
			t.Errorf("%s: %v, want %q", query, err, code)
		}
	}
	// The parser refuses bad windows first; the runtime's own check still
	// answers 22023.
	if _, err := windowSpec(&sql.Window{Kind: sql.Hopping, Size: time.Minute, Advance: 2 * time.Minute}); sqlstate.Of(err) != sqlstate.InvalidParameter {
		t.Errorf("ADVANCE BY over SIZE: %v", err)
	}
	// A plan whose shape the builder does not know is an internal error.
	odd := &planner.Plan{Root: &planner.Sink{Target: f.mustSource("PV"), Input: &planner.Values{}}}
	if err := Check(odd); sqlstate.Of(err) != sqlstate.Internal {
		t.Errorf("a sink over values: %v", err)
	}
}

// TestNames: internal topics and stores are part of a data directory's
// format; a restarted query finds its state under these names.
func TestNames(t *testing.T) {
	for got, want := range map[string]string{
		repartitionTopic("CTAS_X_3"):       "_runnel_CTAS_X_3_repartition",
		changelogTopic("CTAS_X_3/agg"):     "_runnel_CTAS_X_3-agg_changelog",
		storeName("CTAS_X_3/rows", 7):      "CTAS_X_3/rows/7",
		MaterializedStore("_MAT_T_4", 0):   "_MAT_T_4/0",
		changelogTopic("_MAT_T_4"):         "_runnel__MAT_T_4_changelog",
		storeName("CTAS_X_3/agg", 1234567): "CTAS_X_3/agg/1234567",
	} {
		if got != want {
			t.Errorf("%q, want %q", got, want)
		}
	}
	// A query id as long as the longest sink name still names topics that
	// Kafka accepts, and two such ids do not collide.
	long := "CTAS_" + strings.Repeat("N", 249) + "_12"
	a, b := repartitionTopic(long), repartitionTopic(long+"3")
	for _, n := range []string{a, b, changelogTopic(long + "/agg")} {
		if err := catalog.ValidateTopicName(n); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	if a == b {
		t.Errorf("two long query ids share the topic %s", a)
	}
}

// TestEnv: the builder refuses an environment without a log or state, and
// every loop per partition respects MaxPartitions.
func TestEnv(t *testing.T) {
	f := newFixture(t)
	if _, err := New(Env{State: f.state}); err == nil {
		t.Error("New without a log")
	}
	if _, err := New(Env{Log: f.log}); err == nil {
		t.Error("New without state")
	}
	if _, err := New(Env{Log: f.log, State: f.state, MaxPartitions: -1}); err == nil {
		t.Error("New with MaxPartitions -1")
	}
	b, err := New(Env{Log: f.log, State: f.state, MaxPartitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	f.declare(pageviewsDDL)
	if _, err := b.Partitions(f.ctx, "pv"); sqlstate.Of(err) != sqlstate.ProgramLimitExceeded {
		t.Errorf("3 partitions over a limit of 2: %v", err)
	}
	if _, err := b.Persistent(f.ctx, "Q", f.persistent(`CREATE STREAM s AS SELECT userid, pageid FROM pv`)); sqlstate.Of(err) != sqlstate.ProgramLimitExceeded {
		t.Errorf("a query over it: %v", err)
	}
	if _, err := b.Reads(f.ctx, "pv", ReadAll); sqlstate.Of(err) != sqlstate.ProgramLimitExceeded {
		t.Errorf("a push query over it: %v", err)
	}
	if _, err := b.Partitions(f.ctx, "nowhere"); err == nil || !strings.Contains(err.Error(), "nowhere") {
		t.Errorf("an unknown topic: %v", err)
	}
}

func (f *fixture) mustSource(name string) *catalog.Source {
	f.t.Helper()
	s, err := f.cat.Source(name)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}
