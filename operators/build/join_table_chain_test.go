package build

import (
	"reflect"
	"strconv"
	"testing"
)

// emailsDDL is a third table keyed as users and phones are, in as many
// partitions (2).
const emailsDDL = `CREATE TABLE emails (id VARCHAR PRIMARY KEY, email VARCHAR) WITH (kafka_topic='emails', partitions=2)`

// TestTableChainStages: a chain of tables is its first join's stage,
// writing its changes to an internal topic in the next table's partition
// count, then a stage per later join over that topic and its table, with a
// store per task; a foreign-key join first is one task over every
// partition of its two tables, and an aggregation adds its own topic and
// stage after the chain's.
func TestTableChainStages(t *testing.T) {
	f := newFixture(t)
	f.declare(usersDDL)   // 2 partitions
	f.declare(phonesDDL)  // 2 partitions
	f.declare(emailsDDL)  // 2 partitions
	f.declare(regionsDDL) // 3 partitions
	for _, tc := range []struct {
		name   string
		query  string
		inputs []string
		topics []string
		stores []Store
		tasks  []string
	}{
		{"table-table-table", `CREATE TABLE t1 AS SELECT ROWKEY AS id, u.region, p.phone, e.email FROM users u LEFT JOIN phones p ON u.id = p.id FULL JOIN emails e ON u.id = e.id`,
			[]string{"users", "phones", "_runnel_Q_join2_repartition", "emails"},
			[]string{"_runnel_Q_join2_repartition"},
			[]Store{{"Q/join/0", StoreJoin}, {"Q/join/1", StoreJoin}, {"Q/join2/0", StoreJoin}, {"Q/join2/1", StoreJoin}},
			[]string{"users:0+phones:0", "users:1+phones:1", "_runnel_Q_join2_repartition:0+emails:0", "_runnel_Q_join2_repartition:1+emails:1"}},
		{"a foreign key first", `CREATE TABLE t2 AS SELECT u.id AS id, r.boss, p.phone FROM users u JOIN regions r ON u.region = r.name LEFT JOIN phones p ON u.id = p.id`,
			[]string{"users", "regions", "_runnel_Q_join2_repartition", "phones"},
			[]string{"_runnel_Q_join2_repartition"},
			[]Store{{"Q/join/0", StoreJoin}, {"Q/join2/0", StoreJoin}, {"Q/join2/1", StoreJoin}},
			[]string{"users:0+users:1+regions:0+regions:1+regions:2", "_runnel_Q_join2_repartition:0+phones:0", "_runnel_Q_join2_repartition:1+phones:1"}},
		{"aggregated", `CREATE TABLE t3 AS SELECT p.phone AS phone, COUNT(*) AS n FROM users u JOIN phones p ON u.id = p.id JOIN emails e ON u.id = e.id GROUP BY p.phone`,
			[]string{"users", "phones", "_runnel_Q_join2_repartition", "emails", "_runnel_Q_repartition"},
			[]string{"_runnel_Q_join2_repartition", "_runnel_Q_repartition"},
			[]Store{{"Q/join/0", StoreJoin}, {"Q/join/1", StoreJoin}, {"Q/join2/0", StoreJoin}, {"Q/join2/1", StoreJoin},
				{"Q/agg/0", StoreAggregate}, {"Q/agg/1", StoreAggregate}},
			[]string{"users:0+phones:0", "users:1+phones:1", "_runnel_Q_join2_repartition:0+emails:0", "_runnel_Q_join2_repartition:1+emails:1",
				"_runnel_Q_repartition:0", "_runnel_Q_repartition:1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := f.built(t, tc.query)
			checkStages(t, q, tc.inputs, tc.topics, tc.stores, tc.tasks)
		})
	}
}

// TestTableChainChangelog: every record a chain of tables writes, key by
// key: an update of any input re-writes the result row with the largest
// ROWTIME of its rows, a delete in the middle table deletes an INNER row
// (once), and a row that never matched — added and deleted in the last
// table, or in the first two — sends no tombstone.
func TestTableChainChangelog(t *testing.T) {
	f := newFixture(t)
	f.declare(usersDDL)
	f.declare(phonesDDL)
	f.declare(emailsDDL)
	f.insert("users", rec{"alice", `{"REGION":"eu","AGE":30}`, 1}, rec{"bob", `{"REGION":"us","AGE":40}`, 2})
	f.insert("phones", rec{"alice", `{"PHONE":"555-1"}`, 3}, rec{"bob", `{"PHONE":"555-2"}`, 4})
	f.insert("emails", rec{"alice", `{"EMAIL":"a@x"}`, 5}, rec{"carol", `{"EMAIL":"c@x"}`, 6})
	plan := f.persistent(`CREATE TABLE contacts AS SELECT u.id AS id, p.phone, e.email FROM users u JOIN phones p ON u.id = p.id JOIN emails e ON u.id = e.id`)
	q, err := f.b.Persistent(f.ctx, "Q", plan)
	if err != nil {
		t.Fatal(err)
	}
	f.run(q)
	f.caughtUp(q)
	// Then: alice's phone is deleted and comes back; bob gets an email;
	// carol's email (never matched) goes; dave comes and goes in users
	// and phones without an email; bob's user row changes.
	f.insert("phones", rec{"alice", "", 10})
	f.insert("phones", rec{"alice", `{"PHONE":"555-9"}`, 11})
	f.insert("emails", rec{"bob", `{"EMAIL":"b@x"}`, 12}, rec{"carol", "", 13})
	f.insert("users", rec{"dave", `{"REGION":"eu","AGE":50}`, 14})
	f.insert("phones", rec{"dave", `{"PHONE":"555-4"}`, 15}, rec{"dave", "", 16})
	f.insert("users", rec{"bob", `{"REGION":"apac","AGE":41}`, 17})
	f.caughtUp(q)
	byKey := map[string][]string{}
	for _, r := range f.records("CONTACTS") {
		v := "tombstone"
		if r.Value != nil {
			v = string(r.Value)
		}
		byKey[string(r.Key)] = append(byKey[string(r.Key)], v+"@"+strconv.FormatInt(r.Timestamp, 10))
	}
	want := map[string][]string{
		"alice": {`{"PHONE":"555-1","EMAIL":"a@x"}@5`, "tombstone@10", `{"PHONE":"555-9","EMAIL":"a@x"}@11`},
		"bob":   {`{"PHONE":"555-2","EMAIL":"b@x"}@12`, `{"PHONE":"555-2","EMAIL":"b@x"}@17`},
	}
	if !reflect.DeepEqual(byKey, want) {
		t.Errorf("CONTACTS records\n%v\nwant\n%v", byKey, want)
	}
	// Between the joins: dave's row of the first join (users ⋈ phones)
	// was written once and deleted once, and never reached the result,
	// which has no email of his; carol, only in the last table, is not
	// there at all.
	var link []string
	for _, r := range f.records("_runnel_Q_join2_repartition") {
		if string(r.Key) == "dave" {
			v := "upsert"
			if r.Value == nil {
				v = "tombstone"
			}
			link = append(link, v)
		}
		if string(r.Key) == "carol" {
			t.Errorf("carol reached the second join: %q", r.Value)
		}
	}
	if !reflect.DeepEqual(link, []string{"upsert", "tombstone"}) {
		t.Errorf("dave's records between the joins %v, want [upsert tombstone]", link)
	}
}

// TestPushTableChain: a transient chain of tables reads every table
// whole; at 'latest' the rows already there only build its state, and
// the query returns the changes written after it began, a change of the
// last table and of the first both reaching the result.
func TestPushTableChain(t *testing.T) {
	f := newFixture(t)
	f.declare(usersDDL)
	f.declare(phonesDDL)
	f.declare(emailsDDL)
	f.insert("users", rec{"alice", `{"REGION":"eu","AGE":30}`, 1}, rec{"bob", `{"REGION":"us","AGE":40}`, 2})
	f.insert("phones", rec{"alice", `{"PHONE":"555-1"}`, 3})
	f.insert("emails", rec{"alice", `{"EMAIL":"a@x"}`, 4}, rec{"bob", `{"EMAIL":"b@x"}`, 5})
	q, err := f.b.Push(f.ctx, f.transient(`SELECT u.id, u.region, p.phone, e.email FROM users u LEFT JOIN phones p ON u.id = p.id JOIN emails e ON u.id = e.id EMIT CHANGES LIMIT 3`), false)
	if err != nil {
		t.Fatal(err)
	}
	all, err := f.b.Push(f.ctx, f.transient(`SELECT u.id, u.region, p.phone, e.email FROM users u LEFT JOIN phones p ON u.id = p.id JOIN emails e ON u.id = e.id EMIT CHANGES LIMIT 2`), true)
	if err != nil {
		t.Fatal(err)
	}
	it, ait := q.Start(f.ctx), all.Start(f.ctx)
	f.insert("emails", rec{"alice", `{"EMAIL":"a2@x"}`, 10})
	f.insert("phones", rec{"bob", `{"PHONE":"555-2"}`, 11})
	f.insert("users", rec{"carol", `{"REGION":"eu","AGE":50}`, 12}, rec{"bob", `{"REGION":"apac","AGE":41}`, 13})
	if got, want := drain(t, it, 3), []string{"alice eu 555-1 a2@x", "bob us 555-2 b@x", "bob apac 555-2 b@x"}; !reflect.DeepEqual(got, want) {
		t.Errorf("rows %q, want %q", got, want)
	}
	if got, want := drain(t, ait, 2), []string{"alice eu 555-1 a@x", "bob us NULL b@x"}; !reflect.DeepEqual(got, want) {
		t.Errorf("rows from the start %q, want %q", got, want)
	}
}
