package kafkamode

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runnel/runnel/engine"
	"github.com/runnel/runnel/tests/harness"
)

// node starts a cluster node with its own id and data directory.
func node(t *testing.T, brokers []string, id string) *harness.Server {
	t.Helper()
	return harness.Start(t, harness.Options{Kafka: brokers, Engine: func(o *engine.Options) {
		o.NodeID = id
		o.Advertise = id + ":6543"
		// A short session (with its heartbeat, a tenth of it) keeps
		// rebalances quick: a member learns of one from a heartbeat.
		o.ClusterSessionTimeout = 6 * time.Second // the brokers' least
	}})
}

// awaitPlacement waits until the nodes together run every one of want's
// tasks exactly once, each node running at least min of them, and
// returns each node's tasks.
func awaitPlacement(t *testing.T, query string, want int, min int, nodes ...*harness.Server) [][]string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var per [][]string
		seen := map[string]int{}
		ok := true
		for _, n := range nodes {
			tasks, found := n.Engine.LocalTasks(query)
			if !found {
				t.Fatalf("query %s does not run on a node", query)
			}
			per = append(per, tasks)
			if len(tasks) < min {
				ok = false
			}
			for _, task := range tasks {
				seen[task]++
			}
		}
		if ok && len(seen) == want {
			for _, c := range seen {
				if c != 1 {
					ok = false
				}
			}
			if ok {
				return per
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("placement of %s never settled: %v", query, per)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func queryID(t *testing.T, c *pgx.Conn, prefix string) string {
	t.Helper()
	for _, r := range harness.Rows(t, c, `SHOW QUERIES`) {
		if f := strings.Fields(r); len(f) > 0 && strings.HasPrefix(f[0], prefix) {
			return f[0]
		}
	}
	t.Fatalf("no query %s* in SHOW QUERIES", prefix)
	return ""
}

// TestClusterSharesAndMovesTasks runs a stream → filter → aggregate →
// table pipeline on two nodes: the tasks are spread over both, a node that
// joins takes a share, a node that stops has its tasks moved, and the
// table counts every input exactly once (what one uninterrupted node
// computes: the counts of the records that pass the filter).
func TestClusterSharesAndMovesTasks(t *testing.T) {
	brokers := cluster(t)
	a := node(t, brokers, "a")
	ca := a.Connect(t)
	exec(t, ca, `CREATE STREAM clicks (userid VARCHAR KEY, amount BIGINT)
  WITH (kafka_topic='clicks', value_format='JSON', partitions=4)`)
	exec(t, ca, `CREATE TABLE spend AS SELECT userid, COUNT(*) AS n, SUM(amount) AS total
  FROM clicks WHERE amount > 0 GROUP BY userid EMIT CHANGES`)
	id := queryID(t, ca, "CTAS_SPEND")

	type agg struct{ n, total int64 }
	want := map[string]*agg{}
	seq := 0
	insert := func(c *pgx.Conn, rows int) {
		t.Helper()
		var vals []string
		for range rows {
			seq++
			user := fmt.Sprintf("u%02d", seq%13)
			amount := int64(seq%7) - 1 // some are filtered out
			vals = append(vals, fmt.Sprintf("('%s', %d)", user, amount))
			if amount > 0 {
				if want[user] == nil {
					want[user] = &agg{}
				}
				want[user].n++
				want[user].total += amount
			}
		}
		exec(t, c, `INSERT INTO clicks (userid, amount) VALUES `+strings.Join(vals, ", "))
	}
	insert(ca, 60)
	awaitPlacement(t, id, 4, 4, a)

	b := node(t, brokers, "b")
	cb := b.Connect(t)
	per := awaitPlacement(t, id, 4, 1, a, b)
	t.Logf("after b joined: a runs %v, b runs %v", per[0], per[1])
	insert(ca, 60)
	insert(cb, 60)

	b.Stop()
	awaitPlacement(t, id, 4, 4, a)
	insert(ca, 60)

	var expect []string
	for user, g := range want {
		expect = append(expect, fmt.Sprintf("%s %d %d", user, g.n, g.total))
	}
	sort.Strings(expect)
	got := rows(t, ca, `SELECT userid, n, total FROM spend`)
	if fmt.Sprint(got) != fmt.Sprint(expect) {
		t.Fatalf("spend after the moves =\n%q\nwant (an uninterrupted run's)\n%q", got, expect)
	}
}
