package kafkamode

import (
	"testing"
	"time"

	"github.com/runnel/runnel/tests/harness"
)

// TestTableJoinsOnKafka runs a foreign-key join of tables of 2 and 3
// partitions and a primary-key LEFT join, then restarts the node on an
// empty data directory: the joins' stores (both tables' rows, the
// foreign-key index, the rows each sink holds) come back from their
// changelog topics, so a region's change reaches every user pointing at
// it, a new phone meets its user's row, and each sink's topic holds every
// change exactly once: no row lost, none repeated by the restart.
func TestTableJoinsOnKafka(t *testing.T) {
	brokers := cluster(t)
	s := harness.Start(t, harness.Options{Kafka: brokers})
	c := s.Connect(t)
	exec(t, c, `CREATE TABLE users (id VARCHAR PRIMARY KEY, region VARCHAR) WITH (kafka_topic='users', partitions=2)`)
	exec(t, c, `CREATE TABLE regions (name VARCHAR PRIMARY KEY, manager VARCHAR) WITH (kafka_topic='regions', partitions=3)`)
	exec(t, c, `CREATE TABLE phones (id VARCHAR PRIMARY KEY, phone VARCHAR) WITH (kafka_topic='phones', partitions=2)`)
	exec(t, c, `INSERT INTO regions (name, manager) VALUES ('eu', 'mia'), ('us', 'sam')`)
	exec(t, c, `INSERT INTO users (id, region) VALUES ('alice', 'eu'), ('bob', 'us')`)
	exec(t, c, `INSERT INTO phones (id, phone) VALUES ('bob', '555-2')`)
	exec(t, c, `CREATE TABLE user_managers AS SELECT u.id AS id, r.manager FROM users u JOIN regions r ON u.region = r.name`)
	exec(t, c, `CREATE TABLE user_phones AS SELECT u.id AS id, u.region, p.phone FROM users u LEFT JOIN phones p ON u.id = p.id`)
	eventuallyRows(t, c, `SELECT id, manager FROM user_managers`, "[alice mia bob sam]", 30*time.Second)
	eventuallyRows(t, c, `SELECT id, region, phone FROM user_phones`, "[alice eu <nil> bob us 555-2]", 30*time.Second)

	s.Stop()
	s = harness.Start(t, harness.Options{Kafka: brokers})
	c = s.Connect(t)
	// Only the restored state knows alice's and bob's rows and where their
	// foreign keys point.
	exec(t, c, `INSERT INTO regions (name, manager) VALUES ('eu', 'kim')`)
	exec(t, c, `INSERT INTO users (id, region) VALUES ('carol', 'eu')`)
	exec(t, c, `INSERT INTO phones (id, phone) VALUES ('alice', '555-1')`)
	eventuallyRows(t, c, `SELECT id, manager FROM user_managers`, "[alice kim bob sam carol kim]", 30*time.Second)
	eventuallyRows(t, c, `SELECT id, region, phone FROM user_phones`, "[alice eu 555-1 bob us 555-2 carol eu <nil>]", 30*time.Second)

	// Every change the sinks' topics hold, read as streams: each once.
	exec(t, c, `CREATE STREAM manager_changes (id VARCHAR KEY, manager VARCHAR) WITH (kafka_topic='USER_MANAGERS')`)
	exec(t, c, `CREATE STREAM phone_changes (id VARCHAR KEY, region VARCHAR, phone VARCHAR) WITH (kafka_topic='USER_PHONES')`)
	eventuallyRows(t, c, `SELECT id, manager FROM manager_changes`, "[alice kim alice mia bob sam carol kim]", 30*time.Second)
	eventuallyRows(t, c, `SELECT id, region, phone FROM phone_changes`,
		"[alice eu 555-1 alice eu <nil> bob us 555-2 bob us <nil> carol eu <nil>]", 30*time.Second)
}
