package kafkamode

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runnel/runnel/engine"
	"github.com/runnel/runnel/tests/harness"
)

// logBuffer collects a node's log lines, written from any goroutine.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// restored matches the state manager's line for one finished restore.
var restored = regexp.MustCompile(`msg="state: restored" store=(\S+) records=(\d+) .*checkpoint=(true|false)`)

// restores sums what a node's log says its restores read: the changelog
// records applied, and how many restores started from a checkpoint or
// from the changelog's start.
func restores(log string) (records, fromCheckpoint, fromStart int) {
	for _, m := range restored.FindAllStringSubmatch(log, -1) {
		n, _ := strconv.Atoi(m[2])
		records += n
		if m[3] == "true" {
			fromCheckpoint++
		} else {
			fromStart++
		}
	}
	return records, fromCheckpoint, fromStart
}

// loggedNode starts a cluster node whose log goes to buf, Debug included
// (a restore that reads nothing logs at Debug).
func loggedNode(t *testing.T, brokers []string, id, dir string, buf *logBuffer) *harness.Server {
	t.Helper()
	return harness.Start(t, harness.Options{Kafka: brokers, DataDir: dir, Engine: func(o *engine.Options) {
		o.NodeID = id
		o.Advertise = id + ":6543"
		o.ClusterSessionTimeout = 6 * time.Second
		o.Logger = slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}})
}

// TestCheckpointedRestoreReadsOnlyTheTail restarts a node whose table
// state is large (2,000 groups in its changelog) on its data directory,
// after a graceful stop and after a crash, and counts from the node's
// log what its restores read: only the changelog's tail since the
// checkpoint its last commits left (nothing after a graceful stop, at
// most the last commits' records after a crash), never the whole
// changelog. The same restart on an empty directory, for contrast, reads
// it all. The table stays exact throughout.
func TestCheckpointedRestoreReadsOnlyTheTail(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	brokers := cluster(t)
	const users = 2000
	var logs logBuffer
	a := loggedNode(t, brokers, "a", "", &logs)
	ca := a.Connect(t)
	exec(t, ca, `CREATE STREAM clicks (userid VARCHAR KEY, amount BIGINT)
  WITH (kafka_topic='clicks', value_format='JSON', partitions=2)`)
	exec(t, ca, `CREATE TABLE spend AS SELECT userid, COUNT(*) AS n, SUM(amount) AS total
  FROM clicks WHERE amount > 0 GROUP BY userid EMIT CHANGES`)
	want := map[string][2]int64{}
	load := func(s *harness.Server, first, n int) {
		t.Helper()
		c := s.Connect(t)
		var vals []string
		for i := first; i < first+n; i++ {
			user := fmt.Sprintf("u%04d", i%users)
			vals = append(vals, fmt.Sprintf("('%s', %d)", user, 1+i%5))
			g := want[user]
			want[user] = [2]int64{g[0] + 1, g[1] + int64(1+i%5)}
			if len(vals) == 500 {
				exec(t, c, `INSERT INTO clicks (userid, amount) VALUES `+strings.Join(vals, ", "))
				vals = vals[:0]
			}
		}
		if len(vals) > 0 {
			exec(t, c, `INSERT INTO clicks (userid, amount) VALUES `+strings.Join(vals, ", "))
		}
		// A pull of the whole table waits for the query to have counted
		// every row, then must agree with the load.
		got, err := pullRows(ctx, c, `SELECT userid, n, total FROM spend`)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("spend has %d groups, want %d", len(got), len(want))
		}
		for _, r := range got {
			var user string
			var n, total int64
			fmt.Sscan(r, &user, &n, &total)
			if g := want[user]; g != [2]int64{n, total} {
				t.Fatalf("spend row %q, want %v", r, g)
			}
		}
	}
	load(a, 0, 2*users)
	if rec, _, _ := restores(logs.String()); rec != 0 {
		t.Fatalf("the first start restored %d records from empty changelogs", rec)
	}

	// A graceful stop and a start on the same directory: the checkpoints
	// cover every commit, so nothing is read.
	dir := a.DataDir
	a.Stop()
	logs = logBuffer{}
	a = loggedNode(t, brokers, "a", dir, &logs)
	load(a, 2*users, 10)
	rec, fromCP, fromStart := restores(logs.String())
	t.Logf("after a graceful restart: %d restores from a checkpoint, %d from the start, %d records read", fromCP, fromStart, rec)
	if fromCP == 0 || fromStart != 0 || rec != 0 {
		t.Fatalf("after a graceful restart the restores read %d records (%d from a checkpoint, %d from the start), want 0 from checkpoints\n%s",
			rec, fromCP, fromStart, logs.String())
	}

	// A crash: the local applies of the last commits may be lost, and
	// their checkpoints with them; what is read is at most the tail
	// since the last checkpoint that survived, far below the changelog.
	if err := a.Engine.CloseAbruptly(); err != nil {
		t.Fatal(err)
	}
	a.Stop()
	logs = logBuffer{}
	a = loggedNode(t, brokers, "a", dir, &logs)
	load(a, 2*users+10, 10)
	rec, fromCP, fromStart = restores(logs.String())
	t.Logf("after a crash: %d restores from a checkpoint, %d from the start, %d records read", fromCP, fromStart, rec)
	if fromCP == 0 || fromStart != 0 || rec >= users/2 {
		t.Fatalf("after a crash the restores read %d records (%d from a checkpoint, %d from the start), want a tail from checkpoints\n%s",
			rec, fromCP, fromStart, logs.String())
	}

	// The contrast: an empty directory reads every group's record.
	a.Stop()
	logs = logBuffer{}
	a = loggedNode(t, brokers, "a", "", &logs)
	load(a, 2*users+20, 10)
	rec, fromCP, fromStart = restores(logs.String())
	t.Logf("on an empty directory: %d restores from a checkpoint, %d from the start, %d records read", fromCP, fromStart, rec)
	if fromStart == 0 || rec < users {
		t.Fatalf("on an empty directory the restores read %d records (%d from the start), want the whole changelog (at least %d)", rec, fromStart, users)
	}
}
