package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	oexec "os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runnel/runnel/tests/torture"
)

// TestJoinKilledMidRunIsDeterministic: a stream-table join over inputs
// that are both in the log before the query starts, run by the real
// binary and killed with kill -9 again and again while it works, writes
// exactly what an uninterrupted run writes: the same rows, in the same
// order in every partition of the sink. The stream is keyed otherwise, so
// the join has two stages (the repartition by the join key, and the join);
// the table's rows change over time, so each stream record's match
// depends on the order the inputs are merged in.
//
// The stream has one partition: a repartition topic written by several
// tasks interleaves their records in whatever order they commit, in any
// run, crashed or not (as in ksqlDB), and the join reads it in that
// order. From one partition the repartition topic's order is the
// stream's, and the whole output is a function of the input.
func TestJoinKilledMidRunIsDeterministic(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bin, err := torture.Build(ctx, t.TempDir(), torture.RaceEnabled)
	if err != nil {
		t.Fatal(err)
	}
	const views, users = 30000, 300
	setup := joinCrashData(views, users)

	calm := startBinary(t, bin)
	calm.run(ctx, setup)
	calm.run(ctx, []string{`SET 'auto.offset.reset' = 'earliest'`, joinCrashQuery})
	want := calm.waitSink(ctx, views)
	calm.stop()

	killed := startBinary(t, bin)
	killed.run(ctx, setup)
	killed.run(ctx, []string{`SET 'auto.offset.reset' = 'earliest'`, joinCrashQuery})
	midRun := 0
	for kill := 0; kill < 5; kill++ {
		n := killed.waitProgress(ctx, views)
		if n >= views {
			break
		}
		killed.kill()
		midRun++
		t.Logf("kill -9 with %d of %d rows in the sink", n, views)
		killed.restart()
	}
	if midRun == 0 {
		t.Fatal("the join finished before it could be killed: make the input larger")
	}
	got := killed.waitSink(ctx, views)
	killed.stop()
	for p := range want {
		if !slices.Equal(got[p], want[p]) {
			i := firstDiff(got[p], want[p])
			t.Fatalf("partition %d of the sink differs from the uninterrupted run's: %d rows vs %d, first difference at %d:\n got  %s\n want %s",
				p, len(got[p]), len(want[p]), i, at(got[p], i), at(want[p], i))
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d partitions, want %d", len(got), len(want))
	}
}

const joinCrashQuery = `CREATE STREAM enriched AS SELECT v.userid AS userid, v.id, v.n, u.region, u.version
	FROM views v LEFT JOIN users u ON v.userid = u.id EMIT CHANGES`

// joinCrashData declares the inputs and fills them: users rows that
// change every 100 ms of event time, and views that interleave with those
// changes, all with explicit ROWTIMEs in order within each topic.
func joinCrashData(views, users int) []string {
	stmts := []string{
		`CREATE STREAM views (id BIGINT KEY, userid VARCHAR, n INT) WITH (kafka_topic='views', partitions=1)`,
		`CREATE TABLE users (id VARCHAR PRIMARY KEY, region VARCHAR, version INT) WITH (kafka_topic='users', partitions=2)`,
	}
	var b strings.Builder
	flush := func(prefix string) {
		if b.Len() > 0 {
			stmts = append(stmts, prefix+b.String())
			b.Reset()
		}
	}
	const versions = 10
	for v := range versions {
		for u := range users {
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "('u%d', 'r%d', %d, %d)", u, (u+v)%7, v, 1000+v*100000+u)
		}
		flush(`INSERT INTO users (id, region, version, ROWTIME) VALUES `)
	}
	for i := range views {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		// Every 13th view names a user that has no row.
		user := fmt.Sprintf("u%d", (i*7)%users)
		if i%13 == 0 {
			user = "nobody"
		}
		fmt.Fprintf(&b, "(%d, '%s', %d, %d)", i, user, i, 1000+int64(i)*int64(versions)*100000/int64(views))
		if (i+1)%2000 == 0 {
			flush(`INSERT INTO views (id, userid, n, ROWTIME) VALUES `)
		}
	}
	flush(`INSERT INTO views (id, userid, n, ROWTIME) VALUES `)
	return stmts
}

// binary is the server as a child process on one data directory and port.
type binary struct {
	t       *testing.T
	bin     string
	dir     string
	addr    string
	logPath string
	cmd     *oexec.Cmd
	done    chan struct{}
}

func startBinary(t *testing.T, bin string) *binary {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	b := &binary{t: t, bin: bin, dir: t.TempDir(), addr: addr}
	b.logPath = filepath.Join(b.dir, "server.log")
	b.restart()
	t.Cleanup(func() {
		if b.running() {
			b.kill()
		}
	})
	return b
}

func (b *binary) running() bool {
	select {
	case <-b.done:
		return false
	default:
		return b.cmd != nil
	}
}

// restart starts the server and waits until it answers.
func (b *binary) restart() {
	b.t.Helper()
	f, err := os.OpenFile(b.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		b.t.Fatal(err)
	}
	cmd := oexec.Command(b.bin, "--listen", b.addr, "--data-dir", filepath.Join(b.dir, "data"), "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = f, f
	// The kernel kills the server if the test process dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	b.cmd, b.done = cmd, make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		f.Close()
		close(done)
	}(b.done)
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := b.connect(context.Background())
		if err == nil {
			c.Close(context.Background())
			return
		}
		if !b.running() || time.Now().After(deadline) {
			log, _ := os.ReadFile(b.logPath)
			b.t.Fatalf("the server does not answer: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *binary) connect(ctx context.Context) (*pgx.Conn, error) {
	return pgx.Connect(ctx, fmt.Sprintf("postgres://runnel@%s/runnel?sslmode=disable&connect_timeout=5", b.addr))
}

// run executes statements on one connection.
func (b *binary) run(ctx context.Context, stmts []string) {
	b.t.Helper()
	c, err := b.connect(ctx)
	if err != nil {
		b.t.Fatal(err)
	}
	defer c.Close(ctx)
	for _, s := range stmts {
		if _, err := c.Exec(ctx, s); err != nil {
			b.t.Fatalf("%.80s: %v", s, err)
		}
	}
}

// kill sends SIGKILL and waits until the process is gone.
func (b *binary) kill() {
	b.t.Helper()
	if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		b.t.Fatal(err)
	}
	<-b.done
}

// stop shuts the server down with SIGTERM.
func (b *binary) stop() {
	b.t.Helper()
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		b.t.Fatal(err)
	}
	select {
	case <-b.done:
	case <-time.After(30 * time.Second):
		b.kill()
	}
}

// sinkRows is how many records the sink's topic holds, from DESCRIBE
// EXTENDED.
func (b *binary) sinkRows(ctx context.Context) int {
	b.t.Helper()
	c, err := b.connect(ctx)
	if err != nil {
		b.t.Fatal(err)
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, `DESCRIBE EXTENDED enriched`)
	if err != nil {
		b.t.Fatal(err)
	}
	defer rows.Close()
	n := -1
	for rows.Next() {
		var prop, val string
		if err := rows.Scan(&prop, &val); err != nil {
			b.t.Fatal(err)
		}
		if prop == "topic_end_offsets_total" {
			n, _ = strconv.Atoi(val)
		}
	}
	return n
}

// waitProgress waits until the sink holds some rows, and returns how many.
func (b *binary) waitProgress(ctx context.Context, total int) int {
	b.t.Helper()
	start := b.sinkRows(ctx)
	for {
		if n := b.sinkRows(ctx); n > start || n >= total {
			return n
		}
		if ctx.Err() != nil {
			b.t.Fatal("the join makes no progress")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitSink waits until the sink holds total rows and returns its records
// per partition, in offset order, as PRINT shows them (key and value).
func (b *binary) waitSink(ctx context.Context, total int) [][]string {
	b.t.Helper()
	for {
		n := b.sinkRows(ctx)
		if n == total {
			break
		}
		if n > total {
			b.t.Fatalf("the sink holds %d rows, more than the %d input records", n, total)
		}
		if ctx.Err() != nil {
			b.t.Fatalf("the sink holds %d of %d rows", n, total)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c, err := b.connect(ctx)
	if err != nil {
		b.t.Fatal(err)
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, fmt.Sprintf(`PRINT 'ENRICHED' FROM BEGINNING LIMIT %d`, total))
	if err != nil {
		b.t.Fatal(err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		var ts time.Time
		var part int32
		var off int64
		var key, value *string
		if err := rows.Scan(&ts, &part, &off, &key, &value); err != nil {
			b.t.Fatal(err)
		}
		for int(part) >= len(out) {
			out = append(out, nil)
		}
		k, v := "<nil>", "<nil>"
		if key != nil {
			k = *key
		}
		if value != nil {
			v = *value
		}
		out[part] = append(out[part], fmt.Sprintf("%d %s %s", ts.UnixMilli(), k, v))
	}
	if err := rows.Err(); err != nil {
		b.t.Fatal(err)
	}
	return out
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func at(rows []string, i int) string {
	if i < len(rows) {
		return rows[i]
	}
	return "(none)"
}
