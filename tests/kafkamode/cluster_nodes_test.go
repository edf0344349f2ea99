package kafkamode

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/runnel/runnel/internal/peer"
	"github.com/runnel/runnel/tests/harness"
)

// awaitRows polls a statement until its sorted rows are want, or fails
// after 30 s with the last rows seen.
func awaitRows(t *testing.T, c *pgx.Conn, sql string, want ...string) {
	t.Helper()
	sort.Strings(want)
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := rows(t, c, sql)
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s =\n%q\nwant\n%q", sql, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// awaitRunning waits until query id runs on every node (the others learn
// of it from the catalog topic).
func awaitRunning(t *testing.T, id string, nodes ...*harness.Server) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, n := range nodes {
		for {
			if _, ok := n.Engine.LocalTasks(id); ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("query %s never started on a node", id)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestShowNodes: SHOW NODES lists the live nodes from any node, before
// any query runs; a node that joins appears, one that stops disappears at
// once (it leaves the group), and one that dies disappears once its
// session times out. Each row says whether it is the node answering.
func TestShowNodes(t *testing.T) {
	brokers := cluster(t)
	a := node(t, brokers, "a")
	ca := a.Connect(t)
	// Each node advertises where it serves (the harness's listener).
	aSelf, aOther := "a "+a.Addr+" true 0 0 0 0", "a "+a.Addr+" false 0 0 0 0"
	awaitRows(t, ca, `SHOW NODES`, aSelf)

	b := node(t, brokers, "b")
	cb := b.Connect(t)
	awaitRows(t, ca, `SHOW NODES`, aSelf, "b "+b.Addr+" false 0 0 0 0")
	awaitRows(t, cb, `SHOW NODES`, aOther, "b "+b.Addr+" true 0 0 0 0")

	b.Stop()
	awaitRows(t, ca, `SHOW NODES`, aSelf)

	// A crash: c's member stays in the group until its session (10 s
	// here) times out, and SHOW NODES lists it until then.
	c := nodeIn(t, brokers, "c", "", 10*time.Second)
	awaitRows(t, ca, `SHOW NODES`, aSelf, "c "+c.Addr+" false 0 0 0 0")
	if err := c.Engine.CloseAbruptly(); err != nil {
		t.Fatalf("close abruptly: %v", err)
	}
	c.Stop()
	if got := rows(t, ca, `SHOW NODES`); len(got) != 2 {
		t.Fatalf("SHOW NODES right after c crashed = %q, want c still listed (its session has not timed out)", got)
	}
	awaitRows(t, ca, `SHOW NODES`, aSelf)
}

// TestShowQueriesExtended: SHOW QUERIES EXTENDED (and EXPLAIN <query id>,
// and DESCRIBE EXTENDED of the sink) list every task of a query with the
// node that runs it, cluster-wide: the same on every node, the tasks
// spread over both, and the counts in SHOW NODES agree. The query keeps
// no state, so with the default standby replica it has no STANDBY rows:
// every row is an ACTIVE task.
func TestShowQueriesExtended(t *testing.T) {
	brokers := cluster(t)
	a := node(t, brokers, "a")
	b := node(t, brokers, "b")
	ca, cb := a.Connect(t), b.Connect(t)
	exec(t, ca, `CREATE STREAM clicks (userid VARCHAR KEY, amount BIGINT)
  WITH (kafka_topic='clicks', value_format='JSON', partitions=4)`)
	exec(t, ca, `CREATE STREAM big AS SELECT userid, amount FROM clicks WHERE amount > 10 EMIT CHANGES`)
	id := queryID(t, ca, "CSAS_BIG")
	awaitRunning(t, id, b)
	per := awaitPlacement(t, id, 4, 1, a, b)

	// What each node runs, as SHOW QUERIES EXTENDED must report it.
	var want []string
	for i, n := range []*harness.Server{a, b} {
		for _, task := range per[i] {
			p := task[strings.LastIndex(task, "/")+1:]
			want = append(want, fmt.Sprintf("%s %s %s %s ACTIVE", task, p, n.Engine.NodeID(), n.Addr))
		}
	}
	sort.Strings(want)
	extended := func(c *pgx.Conn) []string {
		var out []string
		for _, r := range harness.Rows(t, c, `SHOW QUERIES EXTENDED`) {
			f := strings.Fields(r)
			if len(f) < 8 || f[0] != id {
				t.Fatalf("SHOW QUERIES EXTENDED row %q", r)
			}
			out = append(out, strings.Join(f[3:8], " "))
		}
		sort.Strings(out)
		return out
	}
	for _, c := range []*pgx.Conn{ca, cb} {
		deadline := time.Now().Add(30 * time.Second)
		for got := extended(c); fmt.Sprint(got) != fmt.Sprint(want); got = extended(c) {
			if time.Now().After(deadline) {
				t.Fatalf("SHOW QUERIES EXTENDED =\n%q\nwant (the nodes' own tasks)\n%q", got, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	awaitRows(t, cb, `SHOW NODES`,
		fmt.Sprintf("a %s false %d 0 0 0", a.Addr, len(per[0])), fmt.Sprintf("b %s true %d 0 0 0", b.Addr, len(per[1])))

	var explain []string
	for _, r := range harness.Rows(t, cb, `EXPLAIN `+id) {
		if strings.HasPrefix(r, "  clicks/") {
			explain = append(explain, r)
		}
	}
	if len(explain) != 4 {
		t.Fatalf("EXPLAIN %s task lines = %q", id, explain)
	}
	for _, l := range explain {
		if !strings.Contains(l, " on node a ("+a.Addr+")") && !strings.Contains(l, " on node b ("+b.Addr+")") {
			t.Fatalf("EXPLAIN task line %q names no node", l)
		}
	}
	tasks := 0
	for _, r := range harness.Rows(t, ca, `DESCRIBE big EXTENDED`) {
		if strings.HasPrefix(r, "task clicks/") {
			tasks++
		}
	}
	if tasks != 4 {
		t.Fatalf("DESCRIBE big EXTENDED lists %d tasks, want 4", tasks)
	}
}

// TestShowQueriesExtendedStandbys: two nodes with one standby replica
// (--standby-replicas 1) and an aggregation, which keeps a store per
// task. SHOW QUERIES EXTENDED lists, on either node, each task once as
// ACTIVE on the node that runs it and once as STANDBY on the other node,
// the one that keeps its store warm (as LocalStandbys says). A standby
// shows its checkpoint against the changelog's end, and catches up to lag
// 0 once the writes stop, on either node: the answering node reads its
// own copies' checkpoints and asks the other node for its copies'.
//
// The table's copies for pull queries follow, under its group's id
// (_MAT_SPENT_n): each partition once as ACTIVE on the node that owns it
// and once as STANDBY on the other node (as LocalCopies says), each
// caught up to lag 0 on either node, as every copy commits its offset in
// the brokers.
func TestShowQueriesExtendedStandbys(t *testing.T) {
	brokers := cluster(t)
	a := nodeWithStandbys(t, brokers, "a", 1)
	b := nodeWithStandbys(t, brokers, "b", 1)
	ca, cb := a.Connect(t), b.Connect(t)
	exec(t, ca, `CREATE STREAM orders (userid VARCHAR KEY, amount BIGINT)
  WITH (kafka_topic='orders', value_format='JSON', partitions=4)`)
	exec(t, ca, `CREATE TABLE spent AS SELECT userid, SUM(amount) AS total FROM orders GROUP BY userid EMIT CHANGES`)
	id := queryID(t, ca, "CTAS_SPENT")
	awaitRunning(t, id, b)
	for i := range 40 {
		exec(t, ca, fmt.Sprintf(`INSERT INTO orders (userid, amount) VALUES ('u%d', %d)`, i, i))
	}

	nodes := []*harness.Server{a, b}
	const null = "<nil>" // how harness.Rows renders NULL
	// row is a SHOW QUERIES EXTENDED row's task, partition, node,
	// task_type and, for a standby, its lag.
	type row struct {
		task, node, kind, offset, lag string
	}
	// extended returns the query's rows and the table's copies' rows.
	extended := func(c *pgx.Conn) (query, copies []row) {
		for _, r := range harness.Rows(t, c, `SHOW QUERIES EXTENDED`) {
			f := strings.Fields(r)
			if len(f) < 12 {
				t.Fatalf("SHOW QUERIES EXTENDED row %q", r)
			}
			rw := row{task: f[3], node: f[5], kind: f[7], offset: f[8], lag: f[10]}
			switch {
			case f[0] == id:
				query = append(query, rw)
			case strings.HasPrefix(f[0], "_MAT_SPENT_") && f[2] == "SPENT" && len(f) == 12 && f[11] == null:
				copies = append(copies, rw)
			default:
				t.Fatalf("SHOW QUERIES EXTENDED row %q", r)
			}
		}
		return query, copies
	}
	// copiesSettled reports why the table's copy rows do not yet match
	// where the nodes keep the table's partitions, "" when they do.
	copiesSettled := func(rows []row) string {
		owner, standby := map[string]string{}, map[string]string{}
		for _, n := range nodes {
			owned, kept, _ := n.Engine.LocalCopies("SPENT")
			for _, p := range owned {
				owner[fmt.Sprintf("SPENT/%d", p)] = n.Engine.NodeID()
			}
			for _, p := range kept {
				standby[fmt.Sprintf("SPENT/%d", p)] = n.Engine.NodeID()
			}
		}
		if len(owner) != 4 || len(standby) != 4 {
			return fmt.Sprintf("nodes own %v and stand by for %v", owner, standby)
		}
		if len(rows) != 8 {
			return fmt.Sprintf("%d table copy rows, want 8", len(rows))
		}
		for _, r := range rows {
			switch {
			case r.kind == "ACTIVE" && owner[r.task] != r.node:
				return fmt.Sprintf("%+v: the partition is owned by %q", r, owner[r.task])
			case r.kind == "STANDBY" && (standby[r.task] != r.node || r.node == owner[r.task]):
				return fmt.Sprintf("%+v: the partition is owned by %q and kept on %q", r, owner[r.task], standby[r.task])
			case r.kind != "ACTIVE" && r.kind != "STANDBY":
				return fmt.Sprintf("%+v: task_type is neither ACTIVE nor STANDBY", r)
			case r.offset == null || r.lag != "0":
				return fmt.Sprintf("%+v: the copy has not caught up", r)
			}
		}
		return ""
	}
	// settled reports why rows (as node self answers them) do not yet
	// match where the nodes run and keep the tasks, "" when they do.
	settled := func(self string, rows []row) string {
		active, standby := map[string]string{}, map[string]string{}
		for i, n := range nodes {
			tasks, _ := n.Engine.LocalTasks(id)
			for _, task := range tasks {
				active[task] = nodes[i].Engine.NodeID()
			}
			kept, _ := n.Engine.LocalStandbys(id)
			for _, task := range kept {
				standby[task] = nodes[i].Engine.NodeID()
			}
		}
		if len(active) != 4 || len(standby) != 4 {
			return fmt.Sprintf("nodes run %v and stand by for %v", active, standby)
		}
		if len(rows) != 8 {
			return fmt.Sprintf("%d rows, want 8", len(rows))
		}
		for _, r := range rows {
			switch r.kind {
			case "ACTIVE":
				if active[r.task] != r.node {
					return fmt.Sprintf("%+v: the task runs on %q", r, active[r.task])
				}
			case "STANDBY":
				if standby[r.task] != r.node || r.node == active[r.task] {
					return fmt.Sprintf("%+v: the task runs on %q and is kept on %q", r, active[r.task], standby[r.task])
				}
				if r.offset == null || r.lag != "0" {
					return fmt.Sprintf("%+v: the standby kept on %s has not caught up, as %s sees it", r, r.node, self)
				}
			default:
				return fmt.Sprintf("%+v: task_type is neither ACTIVE nor STANDBY", r)
			}
		}
		return ""
	}
	// The request that lists a node's standby checkpoints is the
	// nodes' own: a client's is refused.
	_, err := ca.Exec(context.Background(), peer.StandbysRequest, pgx.QueryExecModeSimpleProtocol)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Fatalf("a client's standbys request: %v, want SQLSTATE 42501", err)
	}
	for i, c := range []*pgx.Conn{ca, cb} {
		deadline := time.Now().Add(30 * time.Second)
		for {
			rows, copies := extended(c)
			why := settled(nodes[i].Engine.NodeID(), rows)
			if why == "" {
				why = copiesSettled(copies)
			}
			if why == "" {
				t.Logf("SHOW QUERIES EXTENDED on %s: %+v\n%+v", nodes[i].Engine.NodeID(), rows, copies)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("SHOW QUERIES EXTENDED on %s never listed the standbys: %s\n%+v\n%+v", nodes[i].Engine.NodeID(), why, rows, copies)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}
