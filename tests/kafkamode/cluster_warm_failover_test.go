package kafkamode

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runnel/runnel/tests/harness"
)

// TestClusterFailoverOntoWarmStandby: 3 nodes, one standby each
// (--standby-replicas 1), an aggregation over 6 partitions. Each stateful
// task's standby, and each table partition's standby copy, is kept where
// the group's balancer moves the task or partition when its owner dies.
// The owner of two tasks dies: each of its tasks moves to the node that
// stood by for it, whose restore reads only what it had not tailed (none
// here: it was caught up) of a changelog partition holding many records;
// each of its table partitions moves to the node that kept its standby
// copy, which goes on without building the copy again; the table, written
// on after the failover, equals an uninterrupted computation.
//
// The two moved tasks go one to each survivor (the balancer evens the
// load), so a rule that put both standbys on one node (the member after
// the owner, as before) would have left one of them cold: the test fails
// on it.
func TestClusterFailoverOntoWarmStandby(t *testing.T) {
	brokers := cluster(t)
	ids := []string{"a", "b", "c"}
	nodes, logs := standbyNodes(t, brokers, 1, ids...)
	ca := nodes[0].Connect(t)
	exec(t, ca, `CREATE STREAM clicks (userid VARCHAR KEY, amount BIGINT)
  WITH (kafka_topic='clicks', value_format='JSON', partitions=6)`)
	exec(t, ca, `CREATE TABLE spend AS SELECT userid, COUNT(*) AS n, SUM(amount) AS total
  FROM clicks GROUP BY userid EMIT CHANGES`)
	id := queryID(t, ca, "CTAS_SPEND")
	awaitRunning(t, id, nodes...)
	per := awaitPlacement(t, id, 6, 2, nodes...)
	load := &clickLoad{t: t, want: map[string][2]int64{}}
	// Many small transactions, so that each changelog partition holds
	// many records (an update of a group is one record per commit).
	for i := range 30 {
		load.insert(nodes[i%3].Connect(t), 20)
	}
	load.await(ca)

	// Settled: every task has one standby on another node, every
	// table partition one standby copy, and all of them have caught up.
	before := awaitWarm(t, ca, id, ids, nodes)
	copies := awaitCopies(t, "SPEND", 6, 1, ids, nodes...)

	victim := 2
	if len(per[victim]) == 0 {
		t.Fatalf("c runs no task: %v", per)
	}
	survivors := []*harness.Server{nodes[0], nodes[1]}
	moved := map[int]string{} // partition → the node that stood by for it
	for _, task := range per[victim] {
		p := taskPartition(t, task)
		moved[p] = before.standby[p]
	}
	lostCopies := ownedBy(copies, "c")
	if len(lostCopies) == 0 {
		t.Fatalf("c owns no table partition: %+v", copies)
	}
	// What the rule before put there: the member after the owner.
	spread := map[string]bool{}
	for p, sb := range moved {
		spread[sb] = true
		t.Logf("task of partition %d: standby on %s (the member after c would be a)", p, sb)
	}
	if len(spread) < 2 {
		t.Fatalf("c's tasks %v all stand by on one node (%v): the balancer spreads them over both survivors", per[victim], moved)
	}
	held := changelogRecords(t, brokers, id)
	mark := make([]int, 3)
	for i := range nodes {
		mark[i] = len(logs[i].String())
	}
	if err := nodes[victim].Engine.CloseAbruptly(); err != nil {
		t.Fatalf("close abruptly: %v", err)
	}
	nodes[victim].Stop()

	after := awaitPlacement(t, id, 6, 1, survivors...)
	for i, tasks := range after {
		for _, task := range tasks {
			p := taskPartition(t, task)
			if sb, ok := moved[p]; ok && sb != ids[i] {
				t.Errorf("task of partition %d moved to %s, but its standby was on %s", p, ids[i], sb)
			}
		}
	}
	parts := map[int]bool{}
	for p := range moved {
		parts[p] = true
	}
	for p, r := range awaitRestores(t, id, parts, ids, logs[:2], mark) {
		t.Logf("partition %d moved to %s: its restore read %d of the %d changelog records (checkpoint=%v; standby lag before the crash %d)",
			p, r.node, r.records, held[p], r.checkpoint, before.lag[p])
		if held[p] == 0 {
			t.Errorf("partition %d's changelog is empty: the test proves nothing about it", p)
		}
		if !r.checkpoint || r.records > before.lag[p] || r.records >= held[p] {
			t.Errorf("partition %d's restore on %s read %d records, checkpoint=%v; its changelog holds %d and the standby was %d behind: want only the standby's lag read from its checkpoint",
				p, r.node, r.records, r.checkpoint, held[p], before.lag[p])
		}
	}

	// The table's partitions c owned are owned by the nodes that kept
	// their standby copies, which went on without starting again.
	now := awaitCopies(t, "SPEND", 6, 1, ids[:2], survivors...)
	for _, p := range lostCopies {
		if len(copies.standby[p]) != 1 || now.owner[p] != copies.standby[p][0] {
			t.Errorf("table partition %d moved to %s, but its standby copy was on %v", p, now.owner[p], copies.standby[p])
			continue
		}
		i := strings.Index("ab", now.owner[p])
		copyID := before.copyGroup + "_" + now.owner[p]
		if !arrivedOf(logs[i].String()[:mark[i]], copyID)[int(p)] {
			t.Fatalf("no start of %s's standby copy of partition %d in its log: the check below would prove nothing", now.owner[p], p)
		}
		since := logs[i].String()[mark[i]:]
		if arrivedOf(since, copyID)[int(p)] {
			t.Errorf("table partition %d's copy on %s was started again when it moved there:\n%s", p, now.owner[p], since)
		}
		t.Logf("table partition %d moved to %s, which kept its standby copy", p, now.owner[p])
	}

	load.insert(ca, 100)
	load.await(nodes[1].Connect(t))
	if got, want := rows(t, ca, `SELECT userid, n, total FROM spend`), load.expect(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("spend after the failover =\n%q\nwant (an uninterrupted run's)\n%q", got, want)
	}
}

// warmState is where a query's task standbys were, and how far behind.
type warmState struct {
	// standby and lag are by partition: the node that keeps the task's
	// standby and its lag in the changelog, as SHOW QUERIES EXTENDED
	// lists them.
	standby map[int]string
	lag     map[int]int
	// copyGroup is the table's copies' group (_MAT_<table>_<n>).
	copyGroup string
}

// awaitWarm waits until SHOW QUERIES EXTENDED on c lists one standby
// per task of query id (a node that keeps it, not its owner), each one
// the node that follows the task (LocalStandbys), and every standby row,
// the task's and the table copies', caught up (lag 0).
func awaitWarm(t *testing.T, c *pgx.Conn, id string, ids []string, nodes []*harness.Server) warmState {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ws, why := warmOf(t, c, id, ids, nodes)
		if why == "" {
			return ws
		}
		if time.Now().After(deadline) {
			t.Fatalf("standbys never settled: %s", why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// warmOf reads the standbys once; why says what is not settled yet, ""
// when all is.
func warmOf(t *testing.T, c *pgx.Conn, id string, ids []string, nodes []*harness.Server) (warmState, string) {
	ws := warmState{standby: map[int]string{}, lag: map[int]int{}}
	following := map[int]string{}
	for i, n := range nodes {
		tasks, _ := n.Engine.LocalStandbys(id)
		for _, task := range tasks {
			following[taskPartition(t, task)] = ids[i]
		}
	}
	active := map[int]string{}
	for _, r := range harness.Rows(t, c, `SHOW QUERIES EXTENDED`) {
		f := strings.Fields(r)
		if len(f) < 11 {
			t.Fatalf("SHOW QUERIES EXTENDED row %q", r)
		}
		p, err := strconv.Atoi(f[4])
		if err != nil {
			t.Fatalf("SHOW QUERIES EXTENDED row %q: partition %q", r, f[4])
		}
		if strings.HasPrefix(f[0], "_MAT_SPEND_") {
			ws.copyGroup = f[0]
		}
		if f[7] == "ACTIVE" && f[0] == id {
			active[p] = f[5]
		}
		if f[7] != "STANDBY" {
			continue
		}
		if f[10] != "0" {
			return ws, fmt.Sprintf("%s's standby of partition %d on %s has lag %s", f[0], p, f[5], f[10])
		}
		if f[0] != id {
			continue
		}
		if ws.standby[p] != "" {
			return ws, fmt.Sprintf("partition %d has standbys on %s and %s", p, ws.standby[p], f[5])
		}
		ws.standby[p], ws.lag[p] = f[5], 0
	}
	if len(ws.standby) != 6 || len(active) != 6 {
		return ws, fmt.Sprintf("tasks on %v, standbys on %v: want 6 of each", active, ws.standby)
	}
	for p, n := range ws.standby {
		if n == active[p] || following[p] != n {
			return ws, fmt.Sprintf("partition %d runs on %s, is listed standing by on %s and followed on %q", p, active[p], n, following[p])
		}
	}
	if ws.copyGroup == "" {
		return ws, "no table copy rows"
	}
	return ws, ""
}

// restore is one restore of a task's store, from a node's log.
type restore struct {
	node       string
	records    int
	checkpoint bool
}

// awaitRestores waits until the logs (of nodes ids, each read from its
// mark) show the first restore of query id's store of each of parts,
// and returns them. A moved task is listed as soon as it is placed; its
// restore ends a moment later.
func awaitRestores(t *testing.T, id string, parts map[int]bool, ids []string, logs []*logBuffer, mark []int) map[int]restore {
	t.Helper()
	out := map[int]restore{}
	deadline := time.Now().Add(30 * time.Second)
	for len(out) < len(parts) {
		for i, l := range logs {
			for _, m := range restoreLine.FindAllStringSubmatch(l.String()[mark[i]:], -1) {
				if !strings.HasPrefix(m[1], id+"/") {
					continue
				}
				p := storePartition(t, m[1])
				if _, seen := out[p]; !parts[p] || seen {
					continue
				}
				n, _ := strconv.Atoi(m[2])
				out[p] = restore{node: ids[i], records: n, checkpoint: m[3] == "true"}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("restores of partitions %v: only %v logged", parts, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return out
}

// taskPartition is the partition of a task name ("topic/3").
func taskPartition(t *testing.T, task string) int {
	t.Helper()
	p, err := strconv.Atoi(task[strings.LastIndex(task, "/")+1:])
	if err != nil {
		t.Fatalf("task %q ends in no partition", task)
	}
	return p
}

// TestClusterFailoverOntoWarmStandbyRepartitioned: as above, for an
// aggregation behind a repartition, whose group shares out two topics
// (the source's and the repartition topic's partitions). Over two topics
// the balancer may land a dead node's partition on either survivor (see
// engine/cluster_replicas.go), so a stateful task may have a standby on
// each; whichever node the group moves it to stood by for it, and its
// restore reads only what that standby had not tailed. The table equals
// an uninterrupted computation.
func TestClusterFailoverOntoWarmStandbyRepartitioned(t *testing.T) {
	brokers := cluster(t)
	ids := []string{"a", "b", "c"}
	nodes, logs := standbyNodes(t, brokers, 1, ids...)
	ca := nodes[0].Connect(t)
	exec(t, ca, `CREATE STREAM clicks (userid VARCHAR KEY, amount BIGINT)
  WITH (kafka_topic='clicks', value_format='JSON', partitions=6)`)
	exec(t, ca, `CREATE TABLE by_amount AS SELECT amount, COUNT(*) AS n
  FROM clicks GROUP BY amount EMIT CHANGES`)
	id := queryID(t, ca, "CTAS_BY_AMOUNT")
	awaitRunning(t, id, nodes...)
	awaitPlacement(t, id, 12, 3, nodes...)
	want := map[int64]int64{}
	seq := 0
	for i := range 30 {
		var vals []string
		for range 20 {
			seq++
			user, amount := fmt.Sprintf("u%03d", seq%97), int64(seq%23)
			vals = append(vals, fmt.Sprintf("('%s', %d)", user, amount))
			want[amount]++
		}
		exec(t, nodes[i%3].Connect(t), `INSERT INTO clicks (userid, amount) VALUES `+strings.Join(vals, ", "))
	}
	expect := func() []string {
		var out []string
		for a, n := range want {
			out = append(out, fmt.Sprintf("%d %d", a, n))
		}
		sort.Strings(out)
		return out
	}
	await := func(c *pgx.Conn) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			got := rows(t, c, `SELECT amount, n FROM by_amount`)
			if fmt.Sprint(got) == fmt.Sprint(expect()) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("by_amount =\n%q\nwant\n%q", got, expect())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	await(ca)

	// Settled: every stateful task (6, the aggregation's) runs on one
	// node and stands by on at least one other, unchanged for a while.
	var owner map[string]string
	var standbys map[string][]string
	deadline := time.Now().Add(30 * time.Second)
	stable := 0
	for stable < 5 {
		o, s := map[string]string{}, map[string][]string{}
		for i, n := range nodes {
			sb, _ := n.Engine.LocalStandbys(id)
			for _, task := range sb {
				s[task] = append(s[task], ids[i])
			}
			tasks, _ := n.Engine.LocalTasks(id)
			for _, task := range tasks {
				o[task] = ids[i]
			}
		}
		ok := len(s) == 6
		for task, on := range s {
			ok = ok && !slices.Contains(on, o[task])
		}
		if ok && fmt.Sprint(o, s) == fmt.Sprint(owner, standbys) {
			stable++
		} else {
			stable = 0
		}
		owner, standbys = o, s
		if time.Now().After(deadline) {
			t.Fatalf("standbys never settled: tasks on %v, standbys on %v", o, s)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The standbys catch up by tailing; give them a moment after the
	// last commit.
	time.Sleep(time.Second)

	extra := 0
	for _, on := range standbys {
		extra += len(on) - 1
	}
	t.Logf("%d of the 6 stateful tasks stand by on both other nodes (k=1)", extra)
	moved := map[int][]string{} // stateful task partition → its standbys
	for task, on := range standbys {
		if owner[task] == "c" {
			moved[taskPartition(t, task)] = on
			t.Logf("task %s: runs on c, stands by on %v", task, on)
		}
	}
	if len(moved) == 0 {
		t.Fatalf("c runs no stateful task: tasks on %v", owner)
	}
	mark := make([]int, 3)
	for i := range nodes {
		mark[i] = len(logs[i].String())
	}
	if err := nodes[2].Engine.CloseAbruptly(); err != nil {
		t.Fatalf("close abruptly: %v", err)
	}
	nodes[2].Stop()
	survivors := []*harness.Server{nodes[0], nodes[1]}
	awaitPlacement(t, id, 12, 1, survivors...)

	parts := map[int]bool{}
	for p := range moved {
		parts[p] = true
	}
	for p, r := range awaitRestores(t, id, parts, ids, logs[:2], mark) {
		t.Logf("partition %d moved to %s: its restore read %d records (checkpoint=%v)", p, r.node, r.records, r.checkpoint)
		if !slices.Contains(moved[p], r.node) {
			t.Errorf("partition %d's task moved to %s, but it stood by on %v", p, r.node, moved[p])
		}
		if !r.checkpoint {
			t.Errorf("partition %d's restore on %s read %d records from the changelog's start: want the tail after its standby's checkpoint", p, r.node, r.records)
		}
	}
	held := changelogRecords(t, brokers, id)
	for p := range moved {
		t.Logf("partition %d's changelog holds %d records", p, held[p])
	}

	for i := range 5 {
		var vals []string
		for range 20 {
			seq++
			amount := int64(seq % 23)
			vals = append(vals, fmt.Sprintf("('u%03d', %d)", seq%97, amount))
			want[amount]++
		}
		exec(t, survivors[i%2].Connect(t), `INSERT INTO clicks (userid, amount) VALUES `+strings.Join(vals, ", "))
	}
	await(nodes[1].Connect(t))
}
