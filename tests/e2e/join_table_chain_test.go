package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/tests/harness"
)

// TestTableChainDescribeAndTerminate: a chain of three tables shows, in
// DESCRIBE EXTENDED of its result, both joins (the later one as a stage
// of its own), the internal topic between them and a store per partition
// of each join, all named after the query; EXPLAIN of the running query
// shows the topic between the joins; TERMINATE removes the stores and the
// topic.
func TestTableChainDescribeAndTerminate(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	c := s.Connect(t)
	ctx := context.Background()
	exec(t, c, `CREATE TABLE users (id VARCHAR PRIMARY KEY, region VARCHAR) WITH (kafka_topic='users', partitions=2)`)
	exec(t, c, `CREATE TABLE phones (id VARCHAR PRIMARY KEY, phone VARCHAR) WITH (kafka_topic='phones', partitions=2)`)
	exec(t, c, `CREATE TABLE emails (id VARCHAR PRIMARY KEY, email VARCHAR) WITH (kafka_topic='emails', partitions=2)`)
	exec(t, c, `INSERT INTO users (id, region) VALUES ('alice', 'eu'), ('bob', 'us')`)
	exec(t, c, `INSERT INTO phones (id, phone) VALUES ('alice', '555-1')`)
	exec(t, c, `INSERT INTO emails (id, email) VALUES ('alice', 'a@x'), ('bob', 'b@x')`)
	exec(t, c, `CREATE TABLE contacts AS SELECT u.id AS id, u.region, p.phone, e.email FROM users u LEFT JOIN phones p ON u.id = p.id JOIN emails e ON u.id = e.id`)
	if got := strings.Join(collect(t, c, `SELECT id, region, phone, email FROM contacts ORDER BY id`), ","); got != "alice eu 555-1 a@x,bob us <nil> b@x" {
		t.Fatalf("contacts = %q", got)
	}
	var id string
	for _, r := range collect(t, c, `SHOW QUERIES`) {
		if strings.Contains(r, "CONTACTS") {
			id = strings.Fields(r)[0]
		}
	}
	if id == "" {
		t.Fatal("no query writes CONTACTS")
	}
	topic := "_runnel_" + id + "_join2_repartition"
	describe := strings.Join(collect(t, c, `DESCRIBE EXTENDED contacts`), "\n")
	for _, want := range []string{
		"join INNER TABLE-TABLE | ON U.ID = E.ID | 2 partitions, inputs merged by ROWTIME | join 2 of the chain, a stage of its own | state store per task (" + id + "/join2/<partition>)",
		"join LEFT OUTER TABLE-TABLE | ON U.ID = P.ID | 2 partitions, inputs merged by ROWTIME | state store per task (" + id + "/join/<partition>)",
		"internal_topic " + topic,
		"state_store " + id + "/join/0", "state_store " + id + "/join/1", "state_store " + id + "/join2/0", "state_store " + id + "/join2/1",
	} {
		if !strings.Contains(describe, want) {
			t.Errorf("DESCRIBE EXTENDED lacks %q:\n%s", want, describe)
		}
	}
	plan := strings.Join(collect(t, c, `EXPLAIN `+id), "\n")
	if !strings.Contains(plan, "[ INTERNAL TOPIC ] | "+topic+" | the rows of join 1") {
		t.Errorf("EXPLAIN %s does not name %s:\n%s", id, topic, plan)
	}
	exec(t, c, `TERMINATE `+id)
	if _, _, err := s.Engine.StateStats(ctx, id); err == nil {
		t.Error("StateStats of a terminated query")
	}
	if _, err := s.Engine.Log().Topic(ctx, topic); !errors.Is(err, log.ErrUnknownTopic) {
		t.Errorf("internal topic %s after TERMINATE: %v", topic, err)
	}
}
