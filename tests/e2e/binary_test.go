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
)

// The real binary as a child process, for the tests that kill it with
// SIGKILL mid-run and start it again on the same data directory (the
// join crash tests): one helper for all of them.

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

// sinkRows is how many records the topic of the stream or table sink
// holds, from DESCRIBE EXTENDED.
func (b *binary) sinkRows(ctx context.Context, sink string) int {
	b.t.Helper()
	c, err := b.connect(ctx)
	if err != nil {
		b.t.Fatal(err)
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, `DESCRIBE EXTENDED `+sink)
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

// waitProgress waits until the sink holds more rows than when it was
// called (or total), and returns how many.
func (b *binary) waitProgress(ctx context.Context, sink string, total int) int {
	b.t.Helper()
	start := b.sinkRows(ctx, sink)
	for {
		if n := b.sinkRows(ctx, sink); n > start || n >= total {
			return n
		}
		if ctx.Err() != nil {
			b.t.Fatal("the join makes no progress")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// killWhileWorking kills the binary with kill -9 and restarts it, up to
// five times, each time as soon as the sink has grown and before it holds
// total rows. It fails the test when no kill came mid-run: the query
// finished first, and the input is too small to test a crash with.
func (b *binary) killWhileWorking(ctx context.Context, sink string, total int) {
	b.t.Helper()
	midRun := 0
	for kill := 0; kill < 5; kill++ {
		n := b.waitProgress(ctx, sink, total)
		if n >= total {
			break
		}
		b.kill()
		midRun++
		b.t.Logf("kill -9 with %d of %d rows in the sink", n, total)
		b.restart()
	}
	if midRun == 0 {
		b.t.Fatal("the query finished before it could be killed: make the input larger")
	}
}

// waitSink waits until the sink holds total rows and returns its records
// per partition, in offset order, as PRINT shows them (key and value).
func (b *binary) waitSink(ctx context.Context, sink string, total int) [][]string {
	b.t.Helper()
	for {
		n := b.sinkRows(ctx, sink)
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
	rows, err := c.Query(ctx, fmt.Sprintf(`PRINT '%s' FROM BEGINNING LIMIT %d`, strings.ToUpper(sink), total))
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

// samePartitions fails the test unless got holds the records of want,
// partition by partition, in the same order.
func samePartitions(t *testing.T, got, want [][]string) {
	t.Helper()
	for p := range want {
		if p >= len(got) || !slices.Equal(got[p], want[p]) {
			var g []string
			if p < len(got) {
				g = got[p]
			}
			i := firstDiff(g, want[p])
			t.Fatalf("partition %d of the sink differs from the uninterrupted run's: %d rows vs %d, first difference at %d:\n got  %s\n want %s",
				p, len(g), len(want[p]), i, at(g, i), at(want[p], i))
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d partitions, want %d", len(got), len(want))
	}
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
