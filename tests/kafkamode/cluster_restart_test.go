package kafkamode

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runnel/runnel/engine"
	"github.com/runnel/runnel/tests/harness"
)

// nodeIn starts a cluster node with its own id over dir ("" for a new
// directory), with the given group session timeout.
func nodeIn(t *testing.T, brokers []string, id, dir string, session time.Duration) *harness.Server {
	t.Helper()
	return harness.Start(t, harness.Options{Kafka: brokers, DataDir: dir, Engine: func(o *engine.Options) {
		o.NodeID = id
		o.Advertise = id + ":6543"
		o.ClusterSessionTimeout = session
	}})
}

// spendLoad feeds the clicks stream and keeps what an uninterrupted run of
// the spend query (count and sum of positive amounts per user) computes.
type spendLoad struct {
	seq  int
	want map[string][2]int64
}

func (l *spendLoad) insert(t *testing.T, c *pgx.Conn, rows int) {
	t.Helper()
	if l.want == nil {
		l.want = map[string][2]int64{}
	}
	var vals []string
	for range rows {
		l.seq++
		user := fmt.Sprintf("u%02d", l.seq%13)
		amount := int64(l.seq%7) - 1 // some are filtered out
		vals = append(vals, fmt.Sprintf("('%s', %d)", user, amount))
		if amount > 0 {
			g := l.want[user]
			l.want[user] = [2]int64{g[0] + 1, g[1] + amount}
		}
	}
	exec(t, c, `INSERT INTO clicks (userid, amount) VALUES `+strings.Join(vals, ", "))
}

func (l *spendLoad) expect() []string {
	var out []string
	for user, g := range l.want {
		out = append(out, fmt.Sprintf("%s %d %d", user, g[0], g[1]))
	}
	sort.Strings(out)
	return out
}

// awaitSpend polls the spend table until it holds exactly what the load
// expects, or fails once ctx ends. A pull query that times out (its tasks
// not running yet) is retried; a table that ever holds more than expected
// (a record counted twice) fails at once.
func awaitSpend(ctx context.Context, t *testing.T, c *pgx.Conn, l *spendLoad) {
	t.Helper()
	want := l.expect()
	var got []string
	var lastErr error
	for {
		got, lastErr = pullRows(ctx, c, `SELECT userid, n, total FROM spend`)
		if lastErr == nil {
			if fmt.Sprint(got) == fmt.Sprint(want) {
				return
			}
			for _, r := range got {
				var user string
				var n, total int64
				fmt.Sscan(r, &user, &n, &total)
				if g := l.want[user]; n > g[0] || total > g[1] {
					t.Fatalf("spend counts a record twice: row %q, want %v", r, g)
				}
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("spend never reached an uninterrupted run's result: got\n%q (err %v)\nwant\n%q", got, lastErr, want)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// pullRows runs a query and returns its rows as space-joined text, sorted.
func pullRows(ctx context.Context, c *pgx.Conn, sql string) ([]string, error) {
	rs, err := c.Query(ctx, sql, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		vals, err := rs.Values()
		if err != nil {
			return nil, err
		}
		var parts []string
		for _, v := range vals {
			parts = append(parts, fmt.Sprint(v))
		}
		out = append(out, strings.Join(parts, " "))
	}
	sort.Strings(out)
	return out, rs.Err()
}

// TestClusterCrashedNodeTakesItsTasksBack kills a node abruptly (its group
// members never leave, as after kill -9) while another node runs beside
// it, and restarts it with the same node id. The groups' session timeout
// is 60 s, longer than the test's own 30 s bound: the restarted node must
// replace its dead members at once (static membership), run its tasks
// again, and the pipeline must count every input exactly once.
func TestClusterCrashedNodeTakesItsTasksBack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const session = 60 * time.Second
	brokers := cluster(t)
	a := nodeIn(t, brokers, "a", "", session)
	ca := a.Connect(t)
	exec(t, ca, `CREATE STREAM clicks (userid VARCHAR KEY, amount BIGINT)
  WITH (kafka_topic='clicks', value_format='JSON', partitions=4)`)
	exec(t, ca, `CREATE TABLE spend AS SELECT userid, COUNT(*) AS n, SUM(amount) AS total
  FROM clicks WHERE amount > 0 GROUP BY userid EMIT CHANGES`)
	id := queryID(t, ca, "CTAS_SPEND")
	var load spendLoad
	load.insert(t, ca, 60)
	awaitSpend(ctx, t, ca, &load)

	b := nodeIn(t, brokers, "b", "", session)
	cb := b.Connect(t)
	per := awaitPlacement(t, id, 4, 1, a, b)
	t.Logf("before the crash: a runs %v, b runs %v", per[0], per[1])
	load.insert(t, cb, 60)
	awaitSpend(ctx, t, cb, &load)

	// The crash: a's members stay in their groups.
	dir := a.DataDir
	if err := a.Engine.CloseAbruptly(); err != nil {
		t.Fatalf("close abruptly: %v", err)
	}
	a.Stop()
	load.insert(t, cb, 60)

	a = nodeIn(t, brokers, "a", dir, session)
	ca = a.Connect(t)
	per = awaitPlacement(t, id, 4, 1, a, b)
	t.Logf("after a restarted: a runs %v, b runs %v", per[0], per[1])
	load.insert(t, ca, 60)
	awaitSpend(ctx, t, ca, &load)
	awaitSpend(ctx, t, cb, &load)
}

// TestClusterSingleNodeCrashRestart is the single-node Kafka user's crash
// restart: the node's query produces again at once after it comes back,
// not after the 60 s session of its dead members.
func TestClusterSingleNodeCrashRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	brokers := cluster(t)
	a := nodeIn(t, brokers, "solo", "", 60*time.Second)
	ca := a.Connect(t)
	exec(t, ca, `CREATE STREAM clicks (userid VARCHAR KEY, amount BIGINT)
  WITH (kafka_topic='clicks', value_format='JSON', partitions=2)`)
	exec(t, ca, `CREATE TABLE spend AS SELECT userid, COUNT(*) AS n, SUM(amount) AS total
  FROM clicks WHERE amount > 0 GROUP BY userid EMIT CHANGES`)
	var load spendLoad
	load.insert(t, ca, 40)
	awaitSpend(ctx, t, ca, &load)

	dir := a.DataDir
	if err := a.Engine.CloseAbruptly(); err != nil {
		t.Fatalf("close abruptly: %v", err)
	}
	a.Stop()
	a = nodeIn(t, brokers, "solo", dir, 60*time.Second)
	ca = a.Connect(t)
	load.insert(t, ca, 40)
	awaitSpend(ctx, t, ca, &load)
}
