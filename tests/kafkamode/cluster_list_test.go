package kafkamode

import (
	"context"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runnel/runnel/engine"
	"github.com/runnel/runnel/tests/harness"
)

// TestShowNodesCountsStandbys: two nodes with --standby-replicas 1 and an
// aggregation into a table. SHOW NODES counts, beside the query tasks and
// table partitions a node owns, the standby copies it keeps of each
// (standby_tasks, standby_table_partitions), as the nodes themselves
// report keeping them (LocalStandbys, LocalCopies): with one standby and
// two nodes, each node keeps a copy of every task and partition the
// other owns. Both nodes answer alike.
func TestShowNodesCountsStandbys(t *testing.T) {
	brokers := cluster(t)
	a := nodeWithStandbys(t, brokers, "a", 1)
	b := nodeWithStandbys(t, brokers, "b", 1)
	ca, cb := a.Connect(t), b.Connect(t)
	exec(t, ca, `CREATE STREAM orders (userid VARCHAR KEY, amount BIGINT)
  WITH (kafka_topic='orders', value_format='JSON', partitions=4)`)
	exec(t, ca, `CREATE TABLE spent AS SELECT userid, SUM(amount) AS total FROM orders GROUP BY userid EMIT CHANGES`)
	id := queryID(t, ca, "CTAS_SPENT")
	awaitRunning(t, id, b)
	nodes := []*harness.Server{a, b}

	// want is SHOW NODES as the nodes report what they own and keep,
	// for the node answering on self; "" while a task or partition is
	// not yet owned once and kept once.
	want := func(self *harness.Server) []string {
		var rows []string
		tasks, standbys, parts, copies := 0, 0, 0, 0
		for _, n := range nodes {
			owned, _ := n.Engine.LocalTasks(id)
			kept, _ := n.Engine.LocalStandbys(id)
			ownedParts, keptParts, _ := n.Engine.LocalCopies("SPENT")
			tasks, standbys, parts, copies = tasks+len(owned), standbys+len(kept), parts+len(ownedParts), copies+len(keptParts)
			rows = append(rows, fmt.Sprintf("%s %s %t %d %d %d %d", n.Engine.NodeID(), n.Addr, n == self,
				len(owned), len(ownedParts), len(kept), len(keptParts)))
		}
		if tasks != 4 || standbys != 4 || parts != 4 || copies != 4 {
			return nil
		}
		sort.Strings(rows)
		return rows
	}
	for _, self := range nodes {
		c := ca
		if self == b {
			c = cb
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			w := want(self)
			got := rows(t, c, `SHOW NODES`)
			if w != nil && fmt.Sprint(got) == fmt.Sprint(w) {
				t.Logf("SHOW NODES on %s: %q", self.Engine.NodeID(), got)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("SHOW NODES on %s =\n%q\nthe nodes report\n%q", self.Engine.NodeID(), got, w)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// Every copy is on the node that does not own it: each node's
	// standby counts are the other's owned counts.
	got := rows(t, ca, `SHOW NODES`)
	if len(got) != 2 {
		t.Fatalf("SHOW NODES = %q, want 2 nodes", got)
	}
	fa, fb := strings.Fields(got[0]), strings.Fields(got[1])
	if fa[3] != fb[5] || fb[3] != fa[5] || fa[4] != fb[6] || fb[4] != fa[6] {
		t.Fatalf("SHOW NODES = %q: each node's standby copies should be the other's owned tasks and partitions", got)
	}
}

// silentNode is an address that accepts connections and never answers:
// a node that hangs, or whose address leads nowhere useful. It counts the
// connections it accepted and closes them when the test ends.
type silentNode struct {
	ln net.Listener
	mu struct {
		sync.Mutex
		accepted int
		conns    []net.Conn
	}
}

func newSilentNode(t *testing.T) *silentNode {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &silentNode{ln: ln}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.mu.accepted++
			s.mu.conns = append(s.mu.conns, conn)
			s.mu.Unlock()
			go func() { _, _ = io.Copy(io.Discard, conn) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range s.mu.conns {
			c.Close()
		}
	})
	return s
}

func (s *silentNode) accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.accepted
}

// TestShowQueriesExtendedSilentNodes: three nodes with --standby-replicas
// 1, two of which (b and c) advertise an address that accepts and never
// answers, as a node that hangs while the groups still list it. Node a's
// SHOW QUERIES EXTENDED asks both for their standby copies' checkpoints
// (each is asked: its address accepted a request) and still answers: the
// standby rows kept on b and c show NULL offset, end offset and lag,
// while a's own standby rows show their checkpoints, caught up to lag 0.
// How long the listing took is logged, not asserted (the engine's
// TestAskStandbysAtOnce shows that the nodes are asked at once).
func TestShowQueriesExtendedSilentNodes(t *testing.T) {
	brokers := cluster(t)
	start := func(id, advertise string) *harness.Server {
		return harness.Start(t, harness.Options{Kafka: brokers, Engine: func(o *engine.Options) {
			o.NodeID = id
			o.ClusterSessionTimeout = 6 * time.Second // the brokers' least
			o.StandbyReplicas = 1
			if advertise != "" {
				o.Advertise = advertise
			}
		}})
	}
	silentB, silentC := newSilentNode(t), newSilentNode(t)
	a := start("a", "")
	b := start("b", silentB.ln.Addr().String())
	c := start("c", silentC.ln.Addr().String())
	ca := a.Connect(t)
	exec(t, ca, `CREATE STREAM orders (userid VARCHAR KEY, amount BIGINT)
  WITH (kafka_topic='orders', value_format='JSON', partitions=6)`)
	exec(t, ca, `CREATE TABLE spent AS SELECT userid, SUM(amount) AS total FROM orders GROUP BY userid EMIT CHANGES`)
	id := queryID(t, ca, "CTAS_SPENT")
	awaitRunning(t, id, b, c)
	for i := range 30 {
		exec(t, ca, fmt.Sprintf(`INSERT INTO orders (userid, amount) VALUES ('u%d', %d)`, i, i))
	}
	nodes := []*harness.Server{a, b, c}
	const null = "<nil>" // how harness.Rows renders NULL

	var last []string
	deadline := time.Now().Add(60 * time.Second)
	for {
		active, standby := map[string]string{}, map[string]string{}
		for _, n := range nodes {
			tasks, _ := n.Engine.LocalTasks(id)
			for _, task := range tasks {
				active[task] = n.Engine.NodeID()
			}
			kept, _ := n.Engine.LocalStandbys(id)
			for _, task := range kept {
				standby[task] = n.Engine.NodeID()
			}
		}
		began := time.Now()
		listed := harness.Rows(t, ca, `SHOW QUERIES EXTENDED`)
		took := time.Since(began)
		why := ""
		if len(active) != 6 || len(standby) != 6 {
			why = fmt.Sprintf("nodes run %v and stand by for %v", active, standby)
		}
		silentRows, ownRows := 0, 0
		last = last[:0]
		for _, r := range listed {
			f := strings.Fields(r)
			if len(f) < 12 || f[0] != id || f[7] != "STANDBY" {
				continue
			}
			last = append(last, r)
			task, node, off, end, lag := f[3], f[5], f[8], f[9], f[10]
			if why == "" && standby[task] != node {
				why = fmt.Sprintf("row %q: the task is kept on %q", r, standby[task])
			}
			switch node {
			case "b", "c":
				silentRows++
				if off != null || end != null || lag != null {
					t.Fatalf("row %q: a standby kept on a node that does not answer shows offsets", r)
				}
			case "a":
				ownRows++
				if why == "" && (off == null || lag != "0") {
					why = fmt.Sprintf("row %q: a's own standby has not caught up", r)
				}
			}
		}
		if why == "" && (silentRows == 0 || ownRows == 0 || silentRows+ownRows != 6) {
			why = fmt.Sprintf("%d standby rows on the silent nodes and %d on a, want 6 in all, some of each", silentRows, ownRows)
		}
		if why == "" && (silentB.accepted() == 0 || silentC.accepted() == 0) {
			why = fmt.Sprintf("the silent nodes were asked %d and %d times", silentB.accepted(), silentC.accepted())
		}
		if why == "" {
			t.Logf("SHOW QUERIES EXTENDED with two silent nodes took %v (machine loaded): %d NULL standby rows, %d of a's own", took, silentRows, ownRows)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SHOW QUERIES EXTENDED on a: %s\n%s", why, strings.Join(last, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestClusterRacingCreatesKeepTheWinnersStart: node a (SET
// 'auto.offset.reset' = 'earliest') and node b (the default, the end)
// run CREATE TABLE cnt AS SELECT ... over one stream, started together,
// several times. One wins each round and the other fails with 42P07. Two
// nodes at one catalog position used to give both statements one query
// id, and the loser had then already committed its start offsets in the
// winner's consumer group (named by the id): the table would count from
// where the loser said. In a cluster each node claims its query's
// number, so the table counts what the winner's statement says: the 3
// records written before it and the one after if a won, the one after
// if b won.
func TestClusterRacingCreatesKeepTheWinnersStart(t *testing.T) {
	const rounds = 6
	brokers := cluster(t)
	nodes := []*harness.Server{node(t, brokers, "a"), node(t, brokers, "b")}
	conns := []*pgx.Conn{nodes[0].Connect(t), nodes[1].Connect(t)}
	exec(t, conns[0], `SET 'auto.offset.reset' = 'earliest'`)
	ids := map[string]bool{}
	wins := [2]int{}
	for i := range rounds {
		src, tbl := fmt.Sprintf("src%d", i), fmt.Sprintf("cnt%d", i)
		exec(t, conns[0], fmt.Sprintf(`CREATE STREAM %s (k VARCHAR KEY, v BIGINT) WITH (kafka_topic='%s', value_format='JSON', partitions=2)`, src, src))
		exec(t, conns[0], fmt.Sprintf(`INSERT INTO %s (k, v) VALUES ('x', 1), ('x', 2), ('x', 3)`, src))
		// b learns of the stream from the catalog topic.
		deadline := time.Now().Add(30 * time.Second)
		for conns[1].PgConn().Exec(context.Background(), `DESCRIBE `+src).Close() != nil {
			if time.Now().After(deadline) {
				t.Fatalf("node b never learned of %s", src)
			}
			time.Sleep(20 * time.Millisecond)
		}
		create := fmt.Sprintf(`CREATE TABLE %s AS SELECT k, COUNT(*) AS n FROM %s GROUP BY k EMIT CHANGES`, tbl, src)
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for j, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[j] = c.PgConn().Exec(context.Background(), create).Close()
			}()
		}
		close(start)
		wg.Wait()
		winner := 0
		switch {
		case errs[0] == nil && errs[1] == nil:
			t.Fatalf("round %d: both nodes created %s", i, tbl)
		case errs[0] == nil:
			wantCode(t, i, "b's CREATE TABLE", errs[1], "42P07")
		case errs[1] == nil:
			wantCode(t, i, "a's CREATE TABLE", errs[0], "42P07")
			winner = 1
		default:
			t.Fatalf("round %d: both failed: %v; %v", i, errs[0], errs[1])
		}
		wins[winner]++
		id := queryID(t, conns[winner], "CTAS_"+strings.ToUpper(tbl)+"_")
		if ids[id] {
			t.Fatalf("round %d: query id %s given twice", i, id)
		}
		ids[id] = true
		exec(t, conns[1], fmt.Sprintf(`INSERT INTO %s (k, v) VALUES ('x', 4)`, src))
		want := "[4]" // from the start: 3 records before, 1 after
		if winner == 1 {
			want = "[1]" // from the end: the one after
		}
		// A pull query waits until the table has consumed what was
		// written before it began.
		eventuallyRows(t, conns[0], fmt.Sprintf(`SELECT n FROM %s WHERE k = 'x'`, tbl), want, 30*time.Second)
	}
	t.Logf("%d rounds: a (from the start) won %d, b (from the end) %d", rounds, wins[0], wins[1])
}
