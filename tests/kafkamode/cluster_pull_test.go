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

	"github.com/runnel/runnel/engine"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/tests/harness"
)

// nodeWithStandbys starts a cluster node that keeps standby standby
// copies of each table partition (-1: none).
func nodeWithStandbys(t *testing.T, brokers []string, id string, standbys int) *harness.Server {
	t.Helper()
	return harness.Start(t, harness.Options{Kafka: brokers, Engine: func(o *engine.Options) {
		o.NodeID = id
		o.ClusterSessionTimeout = 6 * time.Second // the brokers' least
		o.StandbyReplicas = standbys
	}})
}

// copies is where a table's partitions are kept: owner and standbys by
// partition, by node id.
type copies struct {
	owner   map[int32]string
	standby map[int32][]string
}

// awaitCopies waits until every one of the table's partitions has exactly
// one owner and standbys standby copies among nodes (ids as given), each
// node owning at least one.
func awaitCopies(t *testing.T, table string, partitions int32, standbys int, ids []string, nodes ...*harness.Server) copies {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c := copies{owner: map[int32]string{}, standby: map[int32][]string{}}
		ok := true
		for i, n := range nodes {
			owned, standby, found := n.Engine.LocalCopies(table)
			if !found {
				ok = false
				break
			}
			if len(owned) == 0 {
				ok = false
			}
			for _, p := range owned {
				if c.owner[p] != "" {
					ok = false
				}
				c.owner[p] = ids[i]
			}
			for _, p := range standby {
				c.standby[p] = append(c.standby[p], ids[i])
			}
		}
		for p := int32(0); ok && p < partitions; p++ {
			ok = c.owner[p] != "" && len(c.standby[p]) == standbys
		}
		if ok {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("copies of %s never settled (want one owner and %d standbys per partition): %+v", table, standbys, c)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// partitionOf is the partition of a KAFKA-format string key among n.
func partitionOf(key string, n int32) int32 { return log.PartitionFor([]byte(key), n) }

// TestClusterPullForwarded: a pull query sent to either node answers from
// the copies of both: key lookups for keys whose partition the other node
// holds are forwarded, a scan merges every partition (ORDER BY and LIMIT
// over all of them), and a write on one node is seen by a pull query on
// the other right after it is acknowledged (read-your-writes). No standby
// copies, so that each partition is on one node only.
func TestClusterPullForwarded(t *testing.T) {
	brokers := cluster(t)
	a := nodeWithStandbys(t, brokers, "a", -1)
	b := nodeWithStandbys(t, brokers, "b", -1)
	ca, cb := a.Connect(t), b.Connect(t)
	exec(t, ca, `CREATE STREAM clicks (userid VARCHAR KEY, amount BIGINT)
  WITH (kafka_topic='clicks', value_format='JSON', partitions=4)`)
	exec(t, ca, `CREATE TABLE spend AS SELECT userid, COUNT(*) AS n, SUM(amount) AS total
  FROM clicks WHERE amount > 0 GROUP BY userid EMIT CHANGES`)
	awaitCopies(t, "SPEND", 4, 0, []string{"a", "b"}, a, b)
	owned, _, _ := b.Engine.LocalCopies("SPEND")
	// SHOW NODES counts the table partitions each node owns, from the
	// table group's assignment (and the query's 4 tasks beside them);
	// without standby replicas, no node keeps a standby copy.
	ownedA, _, _ := a.Engine.LocalCopies("SPEND")
	id := queryID(t, ca, "CTAS_SPEND")
	awaitRunning(t, id, b)
	per := awaitPlacement(t, id, 4, 1, a, b)
	awaitRows(t, ca, `SHOW NODES`,
		fmt.Sprintf("a %s true %d %d 0 0", a.Addr, len(per[0]), len(ownedA)),
		fmt.Sprintf("b %s false %d %d 0 0", b.Addr, len(per[1]), len(owned)))
	onB := map[int32]bool{}
	for _, p := range owned {
		onB[p] = true
	}

	var load spendLoad
	forwarded := 0
	for round := range 3 {
		// Written on a, read on b at once: every lookup and the scan
		// must see the write.
		load.insert(t, ca, 40)
		for user, g := range load.want {
			if !onB[partitionOf(user, 4)] {
				forwarded++
			}
			got := harness.Rows(t, cb, fmt.Sprintf(`SELECT n, total FROM spend WHERE userid = '%s'`, user))
			if want := fmt.Sprintf("%d %d", g[0], g[1]); len(got) != 1 || got[0] != want {
				t.Fatalf("round %d: pull of %s on b = %q, want [%s]", round, user, got, want)
			}
		}
		if got, want := rows(t, cb, `SELECT userid, n, total FROM spend`), load.expect(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("round %d: scan on b =\n%q\nwant\n%q", round, got, want)
		}
	}
	if forwarded == 0 {
		t.Fatalf("no key looked up on b lives in a partition a holds (b holds %v): nothing was forwarded", owned)
	}

	// ORDER BY and LIMIT over partitions of both nodes, from both nodes.
	type kv struct {
		user string
		n    int64
	}
	var all []kv
	for user, g := range load.want {
		all = append(all, kv{user, g[0]})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].n != all[j].n {
			return all[i].n > all[j].n
		}
		return all[i].user < all[j].user
	})
	var want []string
	for _, r := range all[:5] {
		want = append(want, fmt.Sprintf("%s %d", r.user, r.n))
	}
	for _, c := range []*pgx.Conn{ca, cb} {
		if got := harness.Rows(t, c, `SELECT userid, n FROM spend ORDER BY n DESC, userid LIMIT 5`); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("ORDER BY ... LIMIT 5 = %q, want %q", got, want)
		}
	}

	// A client that reads a scan slowly, through a cursor, is not failed
	// by the pull timeout: it bounds each wait for a copy, not the scan.
	// Partitions are read in order, one per step here, and between the
	// two nodes some partition after the first is another node's.
	for _, c := range []*pgx.Conn{ca, cb} {
		exec(t, c, `SET 'runnel.pull.timeout.ms' = '300'`)
		exec(t, c, `BEGIN`)
		exec(t, c, `DECLARE slow CURSOR FOR SELECT userid, n, total FROM spend`)
		got := harness.Rows(t, c, `FETCH 1 FROM slow`)
		time.Sleep(500 * time.Millisecond)
		got = append(got, harness.Rows(t, c, `FETCH ALL FROM slow`)...)
		exec(t, c, `COMMIT`)
		sort.Strings(got)
		if want := load.expect(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("slow cursor =\n%q\nwant\n%q", got, want)
		}
	}
}

// pullErr runs a pull query and returns its rows, sorted, or its error.
func pullErr(ctx context.Context, c *pgx.Conn, sql string) ([]string, error) {
	r, err := c.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []string
	for r.Next() {
		vals, err := r.Values()
		if err != nil {
			return nil, err
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = fmt.Sprint(v)
		}
		out = append(out, strings.Join(parts, " "))
	}
	sort.Strings(out)
	return out, r.Err()
}

// TestClusterPullStandbyFailover: three nodes, one standby copy of each
// partition. The standbys catch up with the writes; when a node that owns
// partitions dies, a pull query on another node answers at once from the
// standbys, before the group has even noticed the death (its session is
// longer than the query's timeout); once the group moves the partitions,
// new writes are answered by the new owners.
func TestClusterPullStandbyFailover(t *testing.T) {
	brokers := cluster(t)
	ids := []string{"a", "b", "c"}
	nodes := []*harness.Server{nodeWithStandbys(t, brokers, "a", 1), nodeWithStandbys(t, brokers, "b", 1), nodeWithStandbys(t, brokers, "c", 1)}
	ca := nodes[0].Connect(t)
	exec(t, ca, `CREATE STREAM clicks (userid VARCHAR KEY, amount BIGINT)
  WITH (kafka_topic='clicks', value_format='JSON', partitions=6)`)
	exec(t, ca, `CREATE TABLE spend AS SELECT userid, COUNT(*) AS n, SUM(amount) AS total
  FROM clicks WHERE amount > 0 GROUP BY userid EMIT CHANGES`)
	placed := awaitCopies(t, "SPEND", 6, 1, ids, nodes...)

	var load spendLoad
	load.insert(t, ca, 120)
	// Every copy, owner and standby, catches up with the writes: a
	// pull query on each node reads its own copies and forwards the rest.
	for i, n := range nodes {
		c := n.Connect(t)
		if got, want := rows(t, c, `SELECT userid, n, total FROM spend`), load.expect(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("scan on %s =\n%q\nwant\n%q", ids[i], got, want)
		}
	}

	// The victim: a node that owns partitions and is not a.
	victim := 1
	if len(ownedBy(placed, "b")) == 0 {
		victim = 2
	}
	lost := ownedBy(placed, ids[victim])
	if len(lost) == 0 {
		t.Fatalf("neither b nor c owns a partition: %+v", placed)
	}
	if err := nodes[victim].Engine.CloseAbruptly(); err != nil {
		t.Fatalf("close abruptly: %v", err)
	}
	nodes[victim].Stop()

	// Its session (6 s) has not timed out: its partitions are still its
	// own in the group, and only their standbys can answer within 3 s.
	exec(t, ca, `SET 'runnel.pull.timeout.ms' = '3000'`)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	got, err := pullErr(ctx, ca, `SELECT userid, n, total FROM spend`)
	if err != nil {
		t.Fatalf("scan right after %s died (it owned partitions %v): %v", ids[victim], lost, err)
	}
	if want := load.expect(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("scan from the standbys =\n%q\nwant\n%q", got, want)
	}
	t.Logf("scan answered from the standbys %s after the crash (machine loaded: no bound asserted)", time.Since(start).Round(time.Millisecond))

	// The group moves the dead node's tasks and partitions; writes made
	// after the crash are seen once the new owners run.
	survivors := []*harness.Server{nodes[0], nodes[3-victim]}
	awaitCopies(t, "SPEND", 6, 1, []string{"a", ids[3-victim]}, survivors...)
	load.insert(t, ca, 60)
	exec(t, ca, `SET 'runnel.pull.timeout.ms' = '20000'`)
	if got, want := rows(t, ca, `SELECT userid, n, total FROM spend`), load.expect(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("scan after the move =\n%q\nwant\n%q", got, want)
	}
}

func ownedBy(c copies, id string) []int32 {
	var out []int32
	for p, n := range c.owner {
		if n == id {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// TestClusterPullWaitsWithoutCopy: without standbys, a partition whose
// owner died has no copy until the group moves it: a pull query that
// needs it waits up to runnel.pull.timeout.ms and fails with SQLSTATE
// 40001 (retry), never answering without the partition's rows; a key
// lookup in a partition that is still served answers meanwhile; once the
// partition has moved, the query answers in full.
func TestClusterPullWaitsWithoutCopy(t *testing.T) {
	brokers := cluster(t)
	a := nodeWithStandbys(t, brokers, "a", -1)
	b := nodeWithStandbys(t, brokers, "b", -1)
	ca := a.Connect(t)
	exec(t, ca, `CREATE STREAM clicks (userid VARCHAR KEY, amount BIGINT)
  WITH (kafka_topic='clicks', value_format='JSON', partitions=4)`)
	exec(t, ca, `CREATE TABLE spend AS SELECT userid, COUNT(*) AS n, SUM(amount) AS total
  FROM clicks WHERE amount > 0 GROUP BY userid EMIT CHANGES`)
	placed := awaitCopies(t, "SPEND", 4, 0, []string{"a", "b"}, a, b)
	var load spendLoad
	load.insert(t, ca, 80)
	if got, want := rows(t, ca, `SELECT userid, n, total FROM spend`), load.expect(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("scan before the crash =\n%q\nwant\n%q", got, want)
	}
	lost := map[int32]bool{}
	for _, p := range ownedBy(placed, "b") {
		lost[p] = true
	}
	var kept, gone string
	for user := range load.want {
		if lost[partitionOf(user, 4)] {
			gone = user
		} else {
			kept = user
		}
	}
	if kept == "" || gone == "" {
		t.Fatalf("the users do not span both nodes' partitions (b owns %v)", ownedBy(placed, "b"))
	}

	if err := b.Engine.CloseAbruptly(); err != nil {
		t.Fatalf("close abruptly: %v", err)
	}
	b.Stop()
	exec(t, ca, `SET 'runnel.pull.timeout.ms' = '500'`)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if got, err := pullErr(ctx, ca, fmt.Sprintf(`SELECT n, total FROM spend WHERE userid = '%s'`, kept)); err != nil {
		t.Fatalf("lookup of %s (a's partition) after b died: %v", kept, err)
	} else if g := load.want[kept]; fmt.Sprint(got) != fmt.Sprintf("[%d %d]", g[0], g[1]) {
		t.Fatalf("lookup of %s = %q", kept, got)
	}
	_, err := pullErr(ctx, ca, fmt.Sprintf(`SELECT n, total FROM spend WHERE userid = '%s'`, gone))
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "40001" {
		t.Fatalf("lookup of %s (b's partition, no copy anywhere) right after b died: err %v, want SQLSTATE 40001", gone, err)
	}
	t.Logf("while the partition moves: %v", err)

	// Once the group has moved b's partitions to a (after b's session),
	// the lookup and the scan answer in full, a having built the copies.
	for {
		got, err := pullErr(ctx, ca, `SELECT userid, n, total FROM spend`)
		if err == nil {
			if want := load.expect(); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("scan after the move =\n%q\nwant\n%q", got, want)
			}
			break
		}
		if !errors.As(err, &pgErr) || pgErr.Code != "40001" {
			t.Fatalf("scan while the partition moves: %v, want SQLSTATE 40001 or the rows", err)
		}
		if ctx.Err() != nil {
			t.Fatalf("b's partitions never moved to a: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestClusterPushFromAnyNode: a push query on either node sees the rows
// of every partition, whichever node runs the tasks that write them.
func TestClusterPushFromAnyNode(t *testing.T) {
	brokers := cluster(t)
	a := nodeWithStandbys(t, brokers, "a", -1)
	b := nodeWithStandbys(t, brokers, "b", -1)
	ca, cb := a.Connect(t), b.Connect(t)
	exec(t, ca, `CREATE STREAM clicks (userid VARCHAR KEY, amount BIGINT)
  WITH (kafka_topic='clicks', value_format='JSON', partitions=4)`)
	exec(t, ca, `CREATE STREAM big AS SELECT userid, amount FROM clicks WHERE amount > 2 EMIT CHANGES`)
	id := queryID(t, ca, "CSAS_BIG")
	awaitRunning(t, id, b)
	awaitPlacement(t, id, 4, 1, a, b)
	var vals, want []string
	parts := map[int32]bool{}
	for i := range 60 {
		user := fmt.Sprintf("user-%d", i)
		vals = append(vals, fmt.Sprintf("('%s', %d)", user, i%7))
		if i%7 > 2 {
			want = append(want, fmt.Sprintf("%s %d", user, i%7))
			parts[partitionOf(user, 4)] = true
		}
	}
	if len(parts) != 4 {
		t.Fatalf("the rows kept span partitions %v, want all 4", parts)
	}
	exec(t, ca, `INSERT INTO clicks (userid, amount) VALUES `+strings.Join(vals, ", "))
	sort.Strings(want)
	for _, c := range []*pgx.Conn{ca, cb} {
		exec(t, c, `SET 'auto.offset.reset' = 'earliest'`)
		got := rows(t, c, fmt.Sprintf(`SELECT userid, amount FROM big EMIT CHANGES LIMIT %d`, len(want)))
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("push query =\n%q\nwant\n%q", got, want)
		}
	}
}
