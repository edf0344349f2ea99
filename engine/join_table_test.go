package engine

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"strings"
	"testing"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/build"
)

func openQuiet(t *testing.T, dir string) *Engine {
	t.Helper()
	e, err := Open(context.Background(), Options{DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestTableJoinStateAndTerminate: a foreign-key join of tables of 2 and 3
// partitions, aggregated, runs as one join task over all five partitions
// (its store holding both tables' rows) and the aggregation over its
// repartition topic; DESCRIBE EXTENDED shows the join, the internal topic
// and every store; TERMINATE removes the stores and the topic.
func TestTableJoinStateAndTerminate(t *testing.T) {
	e := openQuiet(t, t.TempDir())
	defer e.Close()
	s := e.NewSession(nil)
	run(t, s, `CREATE TABLE users (id VARCHAR PRIMARY KEY, region VARCHAR) WITH (kafka_topic='users', partitions=2)`)
	run(t, s, `CREATE TABLE regions (name VARCHAR PRIMARY KEY, manager VARCHAR) WITH (kafka_topic='regions', partitions=3)`)
	run(t, s, `INSERT INTO regions (name, manager) VALUES ('eu', 'mia'), ('us', 'sam')`)
	run(t, s, `INSERT INTO users (id, region) VALUES ('alice', 'eu'), ('bob', 'us'), ('carol', 'eu')`)
	run(t, s, `CREATE TABLE per_manager AS SELECT r.manager AS manager, COUNT(*) AS n FROM users u JOIN regions r ON u.region = r.name GROUP BY r.manager`)
	got := strings.Join(rowsOf(t, e, `SELECT manager, n FROM per_manager ORDER BY manager`), ",")
	if got != "mia | 2,sam | 1" {
		t.Fatalf("per_manager = %q", got)
	}
	id := e.cat.Queries()[0].ID
	rq, ok := e.runningQuery(id)
	if !ok {
		t.Fatal("the query does not run")
	}
	var joinTasks int
	for _, task := range rq.tasks {
		if len(task.Inputs) > 1 {
			joinTasks++
			if len(task.Inputs) != 5 {
				t.Errorf("join task inputs %v, want every partition of users and regions", task.Inputs)
			}
		}
	}
	roles := map[build.StoreRole]int{}
	for _, st := range rq.stores {
		roles[st.Role]++
	}
	if joinTasks != 1 || roles[build.StoreJoin] != 1 || roles[build.StoreAggregate] != 2 || len(rq.topics) != 1 {
		t.Fatalf("%d join tasks, stores %v, topics %v: want one join task and store, two aggregate stores, one internal topic",
			joinTasks, rq.stores, rq.topics)
	}
	describe := strings.Join(rowsOf(t, e, `DESCRIBE EXTENDED per_manager`), "\n")
	for _, want := range []string{"join | INNER FOREIGN KEY | ON U.REGION = R.NAME", "internal_topic | " + rq.topics[0],
		"state_store | " + id + "/join/0", "state_store | " + id + "/agg/1"} {
		if !strings.Contains(describe, want) {
			t.Errorf("DESCRIBE EXTENDED lacks %q:\n%s", want, describe)
		}
	}
	stored := func(role build.StoreRole) map[byte]int {
		n := map[byte]int{}
		for _, st := range rq.stores {
			if st.Role != role {
				continue
			}
			if err := e.state.Reader(st.Name).Scan(nil, nil, func(k, _ []byte) bool { n[k[0]]++; return true }); err != nil {
				t.Fatal(err)
			}
		}
		return n
	}
	// Both tables' rows, the index of the users' foreign keys, and what
	// each result row added to its group.
	if n := stored(build.StoreJoin); n['l'] != 3 || n['r'] != 2 || n['i'] != 3 || n['g'] != 3 {
		t.Fatalf("the join's store holds %v, want 3 left rows, 2 right rows, 3 index entries, 3 group inputs", n)
	}
	run(t, s, `TERMINATE `+id)
	if n := len(stored(build.StoreJoin)) + len(stored(build.StoreAggregate)); n != 0 {
		t.Errorf("keys left in the query's stores after TERMINATE")
	}
	for _, topic := range rq.topics {
		if _, err := e.log.Topic(context.Background(), topic); !errors.Is(err, log.ErrUnknownTopic) {
			t.Errorf("internal topic %s after TERMINATE: %v", topic, err)
		}
	}
}

// TestTableJoinRestart: a table join's state survives a restart of the
// embedded engine with its commits: after it, a right row's change still
// reaches every left row that points at it, a left row's change meets the
// right row stored before, and a pull query sees both, each once.
func TestTableJoinRestart(t *testing.T) {
	dir := t.TempDir()
	e := openQuiet(t, dir)
	s := e.NewSession(nil)
	run(t, s, `CREATE TABLE users (id VARCHAR PRIMARY KEY, region VARCHAR) WITH (kafka_topic='users', partitions=2)`)
	run(t, s, `CREATE TABLE regions (name VARCHAR PRIMARY KEY, manager VARCHAR) WITH (kafka_topic='regions', partitions=3)`)
	run(t, s, `CREATE TABLE phones (id VARCHAR PRIMARY KEY, phone VARCHAR) WITH (kafka_topic='phones', partitions=2)`)
	run(t, s, `CREATE TABLE user_managers AS SELECT u.id AS id, r.manager FROM users u JOIN regions r ON u.region = r.name`)
	run(t, s, `CREATE TABLE user_phones AS SELECT u.id AS id, u.region, p.phone FROM users u LEFT JOIN phones p ON u.id = p.id`)
	run(t, s, `INSERT INTO regions (name, manager) VALUES ('eu', 'mia'), ('us', 'sam')`)
	run(t, s, `INSERT INTO users (id, region) VALUES ('alice', 'eu'), ('bob', 'us'), ('carol', 'eu')`)
	run(t, s, `INSERT INTO phones (id, phone) VALUES ('bob', '555-2')`)
	if got := strings.Join(rowsOf(t, e, `SELECT * FROM user_managers ORDER BY id`), ","); got != "alice | mia,bob | sam,carol | mia" {
		t.Fatalf("before the restart: %q", got)
	}
	if got := strings.Join(rowsOf(t, e, `SELECT * FROM user_phones ORDER BY id`), ","); got != "alice | eu | ,bob | us | 555-2,carol | eu | " {
		t.Fatalf("before the restart: %q", got)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	e = openQuiet(t, dir)
	defer e.Close()
	s = e.NewSession(nil)
	run(t, s, `INSERT INTO regions (name, manager) VALUES ('eu', 'kim')`)
	run(t, s, `INSERT INTO phones (id, phone) VALUES ('carol', '555-3')`)
	run(t, s, `INSERT INTO users (id, region) VALUES ('dave', 'us')`)
	if got := strings.Join(rowsOf(t, e, `SELECT * FROM user_managers ORDER BY id`), ","); got != "alice | kim,bob | sam,carol | kim,dave | sam" {
		t.Errorf("after the restart: %q", got)
	}
	if got := strings.Join(rowsOf(t, e, `SELECT * FROM user_phones ORDER BY id`), ","); got != "alice | eu | ,bob | us | 555-2,carol | eu | 555-3,dave | us | " {
		t.Errorf("after the restart: %q", got)
	}
	// Every change reached the sink once: alice's and carol's rows were
	// written twice each (mia, then kim), bob's and dave's once.
	counts := map[string]int{}
	for _, rec := range topicRecords(t, e, "USER_MANAGERS") {
		if rec.Value == nil {
			t.Errorf("a tombstone for %s", rec.Key)
		}
		counts[string(rec.Key)]++
	}
	if want := map[string]int{"alice": 2, "bob": 1, "carol": 2, "dave": 1}; !maps.Equal(counts, want) {
		t.Errorf("records per key %v, want %v", counts, want)
	}
}

// topicRecords reads every record of topic up to its end.
func topicRecords(t *testing.T, e *Engine, topic string) []log.Record {
	t.Helper()
	ctx := context.Background()
	ends, err := e.log.EndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	var out []log.Record
	for p, end := range ends {
		r, err := e.log.NewReader(ctx, log.TopicPartition{Topic: topic, Partition: int32(p)}, 0)
		if err != nil {
			t.Fatal(err)
		}
		for r.Position() < end {
			recs, err := r.Next(ctx)
			if err != nil {
				r.Close()
				t.Fatal(err)
			}
			out = append(out, recs...)
		}
		r.Close()
	}
	return out
}
