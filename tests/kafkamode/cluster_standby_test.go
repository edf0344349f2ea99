package kafkamode

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/runnel/runnel/engine"
	"github.com/runnel/runnel/tests/harness"
)

// standbyNode starts a cluster node with standby replicas standbys (-1:
// none) whose log, Debug included, goes to buf. It advertises where it
// really serves, so pull queries can be forwarded to it.
func standbyNode(t *testing.T, brokers []string, id string, standbys int, buf *logBuffer) *harness.Server {
	t.Helper()
	return harness.Start(t, harness.Options{Kafka: brokers, Engine: func(o *engine.Options) {
		o.NodeID = id
		o.StandbyReplicas = standbys
		o.ClusterSessionTimeout = 6 * time.Second
		o.Logger = slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}})
}

// standbyNodes starts one standbyNode per id, each logging to its own
// buffer.
func standbyNodes(t *testing.T, brokers []string, standbys int, ids ...string) ([]*harness.Server, []*logBuffer) {
	t.Helper()
	nodes := make([]*harness.Server, len(ids))
	logs := make([]*logBuffer, len(ids))
	for i, id := range ids {
		logs[i] = &logBuffer{}
		nodes[i] = standbyNode(t, brokers, id, standbys, logs[i])
	}
	return nodes, logs
}

// restoreLine matches a finished restore; arrivedLine a task arriving.
var (
	restoreLine = regexp.MustCompile(`msg="state: restored" store=(\S+) records=(\d+) .*checkpoint=(true|false)`)
	arrivedLine = regexp.MustCompile(`msg="task arrived; restoring its state" query=(\S+) task=(\S+)`)
)

// storePartition is the partition of a task's store name ("Q/agg/3").
func storePartition(t *testing.T, store string) int {
	t.Helper()
	p, err := strconv.Atoi(store[strings.LastIndex(store, "/")+1:])
	if err != nil {
		t.Fatalf("store name %q ends in no partition", store)
	}
	return p
}

// restoredOf lists the restores of query id's stores in a node's log:
// per partition, the records each restore read, in order.
func restoredOf(t *testing.T, log, id string) map[int][]int {
	t.Helper()
	out := map[int][]int{}
	for _, m := range restoreLine.FindAllStringSubmatch(log, -1) {
		if !strings.HasPrefix(m[1], id+"/") {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		p := storePartition(t, m[1])
		out[p] = append(out[p], n)
	}
	return out
}

// arrivedOf is the set of partitions of query id whose tasks arrived on a
// node, from its log.
func arrivedOf(log, id string) map[int]bool {
	out := map[int]bool{}
	for _, m := range arrivedLine.FindAllStringSubmatch(log, -1) {
		if m[1] != id {
			continue
		}
		task := m[2]
		p, err := strconv.Atoi(task[strings.LastIndex(task, "/")+1:])
		if err == nil {
			out[p] = true
		}
	}
	return out
}

// clickLoad inserts clicks and keeps what an uninterrupted computation of
// spend (COUNT and SUM per user) gives.
type clickLoad struct {
	t    *testing.T
	seq  int
	want map[string][2]int64
}

func (l *clickLoad) insert(c *pgx.Conn, n int) {
	l.t.Helper()
	var vals []string
	for range n {
		l.seq++
		user := fmt.Sprintf("u%03d", l.seq%97)
		amount := int64(l.seq%5) + 1
		vals = append(vals, fmt.Sprintf("('%s', %d)", user, amount))
		g := l.want[user]
		l.want[user] = [2]int64{g[0] + 1, g[1] + amount}
	}
	exec(l.t, c, `INSERT INTO clicks (userid, amount) VALUES `+strings.Join(vals, ", "))
}

// await waits until a scan of spend on c equals the computation.
func (l *clickLoad) await(c *pgx.Conn) {
	l.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, want := rows(l.t, c, `SELECT userid, n, total FROM spend`), l.expect()
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("spend =\n%q\nwant\n%q", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (l *clickLoad) expect() []string {
	var out []string
	for user, g := range l.want {
		out = append(out, fmt.Sprintf("%s %d %d", user, g[0], g[1]))
	}
	sort.Strings(out)
	return out
}

// TestClusterRestoresOnlyItsTasks runs an aggregation of 4 partitions
// on two nodes without standbys: each node restores the stores of the
// tasks the group gave it and of no other (a node used to restore every
// task's changelog when the query started, whichever node ran it). Node
// b joins last, so it never runs some of the tasks: its log shows their
// stores never restored.
func TestClusterRestoresOnlyItsTasks(t *testing.T) {
	brokers := cluster(t)
	var la, lb logBuffer
	a := standbyNode(t, brokers, "a", -1, &la)
	ca := a.Connect(t)
	exec(t, ca, `CREATE STREAM clicks (userid VARCHAR KEY, amount BIGINT)
  WITH (kafka_topic='clicks', value_format='JSON', partitions=4)`)
	exec(t, ca, `CREATE TABLE spend AS SELECT userid, COUNT(*) AS n, SUM(amount) AS total
  FROM clicks GROUP BY userid EMIT CHANGES`)
	id := queryID(t, ca, "CTAS_SPEND")
	load := &clickLoad{t: t, want: map[string][2]int64{}}
	load.insert(ca, 200)
	awaitPlacement(t, id, 4, 4, a)
	load.await(ca)

	b := standbyNode(t, brokers, "b", -1, &lb)
	awaitRunning(t, id, b)
	per := awaitPlacement(t, id, 4, 1, a, b)
	load.insert(b.Connect(t), 200)
	if got, want := rows(t, ca, `SELECT userid, n, total FROM spend`), load.expect(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("spend =\n%q\nwant\n%q", got, want)
	}
	t.Logf("a runs %v, b runs %v", per[0], per[1])

	for name, log := range map[string]string{"a": la.String(), "b": lb.String()} {
		restored, arrived := restoredOf(t, log, id), arrivedOf(log, id)
		for p := range restored {
			if !arrived[p] {
				t.Errorf("node %s restored the store of partition %d, whose task never ran there (its tasks: %v)", name, p, arrived)
			}
		}
		for p := range arrived {
			if len(restored[p]) == 0 {
				t.Errorf("node %s ran the task of partition %d without restoring its store", name, p)
			}
		}
	}
	if got := len(restoredOf(t, lb.String(), id)); got >= 4 {
		t.Fatalf("b restored %d of the 4 stores, though it runs %v", got, per[1])
	}
}

// TestClusterStandbyTasks runs an aggregation on three nodes with two
// standby replicas, so that every node keeps a warm copy of every task
// it does not run. A node that owns tasks is closed abruptly once the
// load has been processed; when the group moves its tasks, each moved
// task's restore on its new node starts from the standby's checkpoint
// and reads at most half the records its changelog partition holds
// (counted from the topic; in practice none, the standby having tailed
// them all), where a node that merely ran the task once before reads
// what was committed since (nearly all of it here), and the table,
// written on through the failover, equals an uninterrupted computation.
func TestClusterStandbyTasks(t *testing.T) {
	brokers := cluster(t)
	ids := []string{"a", "b", "c"}
	nodes, logs := standbyNodes(t, brokers, 2, ids...)
	ca := nodes[0].Connect(t)
	exec(t, ca, `CREATE STREAM clicks (userid VARCHAR KEY, amount BIGINT)
  WITH (kafka_topic='clicks', value_format='JSON', partitions=3)`)
	exec(t, ca, `CREATE TABLE spend AS SELECT userid, COUNT(*) AS n, SUM(amount) AS total
  FROM clicks GROUP BY userid EMIT CHANGES`)
	id := queryID(t, ca, "CTAS_SPEND")
	awaitRunning(t, id, nodes...)
	per := awaitPlacement(t, id, 3, 1, nodes...)
	load := &clickLoad{t: t, want: map[string][2]int64{}}
	// Many small transactions, so that each changelog partition holds
	// many records (an update of a group is one record per commit).
	for i := range 30 {
		load.insert(nodes[i%3].Connect(t), 20)
	}
	load.await(ca)

	// Every node stands by for the tasks it does not run.
	deadline := time.Now().Add(30 * time.Second)
	for i, n := range nodes {
		for {
			sb, _ := n.Engine.LocalStandbys(id)
			if len(sb)+len(per[i]) == 3 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %s runs %v and stands by for %v, want the other tasks", ids[i], per[i], sb)
			}
			time.Sleep(20 * time.Millisecond)
			per[i], _ = n.Engine.LocalTasks(id)
		}
	}
	if got, want := rows(t, ca, `SELECT userid, n, total FROM spend`), load.expect(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("spend before the crash =\n%q\nwant\n%q", got, want)
	}
	// The standbys catch up by tailing; give them a moment after the
	// last commit (not needed for correctness: a restore reads whatever
	// tail is left, which the assertion below bounds loosely).
	time.Sleep(time.Second)

	victim := 1
	if len(per[1]) == 0 {
		victim = 2
	}
	moved := map[int]bool{}
	for _, task := range per[victim] {
		p, _ := strconv.Atoi(task[strings.LastIndex(task, "/")+1:])
		moved[p] = true
	}
	if len(moved) == 0 {
		t.Fatalf("neither b nor c runs a task: %v", per)
	}
	before := make([]int, 3)
	for i := range nodes {
		before[i] = len(logs[i].String())
	}
	if err := nodes[victim].Engine.CloseAbruptly(); err != nil {
		t.Fatalf("close abruptly: %v", err)
	}
	nodes[victim].Stop()
	survivors := []*harness.Server{nodes[0], nodes[3-victim]}
	awaitPlacement(t, id, 3, 1, survivors...)
	load.insert(ca, 100)
	if got, want := rows(t, ca, `SELECT userid, n, total FROM spend`), load.expect(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("spend after the failover =\n%q\nwant (an uninterrupted run's)\n%q", got, want)
	}

	held := changelogRecords(t, brokers, id)
	seen := map[int]bool{}
	for _, i := range []int{0, 3 - victim} {
		after := logs[i].String()[before[i]:]
		for _, m := range restoreLine.FindAllStringSubmatch(after, -1) {
			if !strings.HasPrefix(m[1], id+"/") {
				continue
			}
			p := storePartition(t, m[1])
			if !moved[p] {
				continue
			}
			n, _ := strconv.Atoi(m[2])
			seen[p] = true
			t.Logf("partition %d moved to %s: its restore read %d of the %d changelog records (checkpoint=%s)", p, ids[i], n, held[p], m[3])
			// The load had ended a while before the crash, so the
			// standby had tailed nearly all of it: its restore reads
			// what it had not yet tailed. Without a standby the node
			// would read what was committed since it last ran the task
			// (here: since the placement settled, nearly everything).
			if m[3] != "true" || n > held[p]/2 {
				t.Errorf("partition %d's restore on %s read %d records, checkpoint=%s; its changelog holds %d: want a restore of the tail from the standby's checkpoint", p, ids[i], n, m[3], held[p])
			}
		}
	}
	for p := range moved {
		if !seen[p] {
			t.Errorf("no restore of moved partition %d logged on the survivors", p)
		}
	}
}

// changelogRecords counts the committed records of each partition of
// query id's changelog topic.
func changelogRecords(t *testing.T, brokers []string, id string) map[int]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var topic string
	for name := range topics {
		if strings.HasPrefix(name, "_runnel_"+id) && strings.HasSuffix(name, "_changelog") {
			topic = name
		}
	}
	if topic == "" {
		t.Fatalf("no changelog topic of %s among %v", id, topics.Names())
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { want[o.Partition] = o.Offset })
	rd, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords())
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	out := map[int]int{}
	at := map[int32]int64{}
	done := func() bool {
		for p, end := range want {
			if at[p] < end {
				return false
			}
		}
		return true
	}
	for !done() {
		fs := rd.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read changelog %s: %v (at %v, ends %v)", topic, ctx.Err(), at, want)
		}
		fs.EachRecord(func(r *kgo.Record) {
			at[r.Partition] = r.Offset + 1
			if !r.Attrs.IsControl() {
				out[int(r.Partition)]++
			}
		})
	}
	return out
}
