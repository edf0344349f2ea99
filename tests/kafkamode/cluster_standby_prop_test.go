package kafkamode

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runnel/runnel/tests/harness"
)

// TestClusterSessionStandbyReplicas: num.standby.replicas set in a
// session applies to the persistent queries that session starts, on
// every node, over the servers' --standby-replicas. Two nodes without
// standbys by default (-1); a query created after SET
// 'num.standby.replicas' = '1' has each of its 4 stateful tasks kept warm
// on the node that does not run it, and node b, which never saw the
// SET, keeps and lists them (the setting travels with the query in the
// catalog); a query created after UNSET (the other spelling) has none.
func TestClusterSessionStandbyReplicas(t *testing.T) {
	brokers := cluster(t)
	a := nodeWithStandbys(t, brokers, "a", -1)
	b := nodeWithStandbys(t, brokers, "b", -1)
	ca, cb := a.Connect(t), b.Connect(t)
	exec(t, ca, `CREATE STREAM orders (userid VARCHAR KEY, amount BIGINT)
  WITH (kafka_topic='orders', value_format='JSON', partitions=4)`)
	exec(t, ca, `SET 'num.standby.replicas' = '1'`)
	exec(t, ca, `CREATE TABLE warm AS SELECT userid, SUM(amount) AS total FROM orders GROUP BY userid EMIT CHANGES`)
	exec(t, ca, `UNSET 'ksql.streams.num.standby.replicas'`)
	exec(t, ca, `CREATE TABLE cold AS SELECT userid, COUNT(*) AS n FROM orders GROUP BY userid EMIT CHANGES`)
	warm, cold := queryID(t, ca, "CTAS_WARM"), queryID(t, ca, "CTAS_COLD")
	awaitRunning(t, warm, b)
	awaitRunning(t, cold, b)
	nodes := []*harness.Server{a, b}

	// standbyRows counts query id's STANDBY rows in SHOW QUERIES
	// EXTENDED as c's node lists them.
	standbyRows := func(c *pgx.Conn, id string) int {
		n := 0
		for _, r := range harness.Rows(t, c, `SHOW QUERIES EXTENDED`) {
			f := strings.Fields(r)
			if len(f) > 7 && f[0] == id && f[7] == "STANDBY" {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		why := ""
		active, kept := map[string]string{}, map[string]string{}
		for _, n := range nodes {
			tasks, _ := n.Engine.LocalTasks(warm)
			for _, task := range tasks {
				active[task] = n.Engine.NodeID()
			}
			standbys, _ := n.Engine.LocalStandbys(warm)
			for _, task := range standbys {
				kept[task] = n.Engine.NodeID()
			}
		}
		switch {
		case len(active) != 4 || len(kept) != 4:
			why = fmt.Sprintf("%s runs %v and is kept warm on %v, want all 4 tasks each", warm, active, kept)
		case standbyRows(cb, warm) != 4:
			why = fmt.Sprintf("node b lists %d STANDBY rows of %s, want 4", standbyRows(cb, warm), warm)
		}
		for task, node := range kept {
			if active[task] == node {
				why = fmt.Sprintf("task %s runs and is kept warm on %s", task, node)
			}
		}
		if why == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(why)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The query made after UNSET takes the servers' setting: none. Its
	// standbys would have started within the same refreshes as warm's.
	time.Sleep(2 * replicaRefreshForTest)
	for i, n := range nodes {
		if kept, _ := n.Engine.LocalStandbys(cold); len(kept) != 0 {
			t.Fatalf("node %d keeps %v of %s warm, want none", i, kept, cold)
		}
	}
	for _, c := range []*pgx.Conn{ca, cb} {
		if n := standbyRows(c, cold); n != 0 {
			t.Fatalf("%d STANDBY rows of %s, want none", n, cold)
		}
	}
}

// replicaRefreshForTest is the engine's replicaRefresh: how often a node
// recomputes the standbys it keeps.
const replicaRefreshForTest = 500 * time.Millisecond
