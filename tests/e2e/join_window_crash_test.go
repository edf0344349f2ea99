package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	oexec "os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runnel/runnel/tests/torture"
)

// TestStreamStreamJoinSurvivesKill9: the real binary runs a stream-stream
// LEFT join — its right side repartitioned, GRACE PERIOD 0, so unmatched
// rows come out as windows close — over 8,000 records written before it
// starts; it is killed with SIGKILL once part of its output is committed,
// and restarted on the same data directory. The sink then holds exactly
// the rows the join defines, computed here independently: none lost, none
// repeated, the windows' state (matched flags included) carried across
// the crash.
func TestStreamStreamJoinSurvivesKill9(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin, err := torture.Build(ctx, t.TempDir(), torture.RaceEnabled)
	if err != nil {
		t.Fatal(err)
	}
	srv := &crashServer{t: t, bin: bin, dir: t.TempDir()}
	defer srv.kill()
	srv.start(ctx)
	c := srv.connect(ctx)

	// Left i: key k(i%300) at 10·i ms. Right j: key k(j%250), keyless,
	// at 10·j+5 ms. WITHIN 1 SECOND: a pair when the keys are equal and
	// the times at most 1000 ms apart.
	const n = 4000
	exec(t, c, `CREATE STREAM l (k VARCHAR KEY, lid INT) WITH (kafka_topic='l', partitions=1)`)
	exec(t, c, `CREATE STREAM r (k VARCHAR, rid INT) WITH (kafka_topic='r', partitions=1)`)
	var want []string
	var lv, rv []string
	for i := range n {
		lv = append(lv, fmt.Sprintf("('k%d', %d, %d)", i%300, i, 10*i))
		rv = append(rv, fmt.Sprintf("('k%d', %d, %d)", i%250, i, 10*i+5))
		if len(lv) == 500 {
			exec(t, c, `INSERT INTO l (k, lid, ROWTIME) VALUES `+strings.Join(lv, ", "))
			exec(t, c, `INSERT INTO r (k, rid, ROWTIME) VALUES `+strings.Join(rv, ", "))
			lv, rv = lv[:0], rv[:0]
		}
	}
	for i := range n {
		matched := false
		for j := range n {
			if i%300 == j%250 && abs(10*i-(10*j+5)) <= 1000 {
				want = append(want, fmt.Sprintf("k%d %d %d", i%300, i, j))
				matched = true
			}
		}
		if !matched {
			want = append(want, fmt.Sprintf("k%d %d <nil>", i%300, i))
		}
	}
	// The sentinel pair closes every window: it is the last row.
	exec(t, c, fmt.Sprintf(`INSERT INTO l (k, lid, ROWTIME) VALUES ('end', -1, %d)`, 10*n+100000))
	exec(t, c, fmt.Sprintf(`INSERT INTO r (k, rid, ROWTIME) VALUES ('end', -1, %d)`, 10*n+100000))
	want = append(want, "end -1 -1")
	exec(t, c, `SET 'auto.offset.reset' = 'earliest'`)
	exec(t, c, `CREATE STREAM j AS SELECT l.k AS k, l.lid, r.rid FROM l LEFT JOIN r WITHIN 1 SECOND GRACE PERIOD 0 SECONDS ON l.k = r.k`)

	// Kill it once a quarter of the rows are out.
	var out int64
	for out < int64(len(want)/4) {
		time.Sleep(2 * time.Millisecond)
		out = srv.sinkEnd(c)
	}
	c.Close(ctx)
	srv.kill()
	t.Logf("killed with %d of %d rows written", out, len(want))
	srv.start(ctx)
	c = srv.connect(ctx)
	defer c.Close(ctx)
	for !slices.Contains(collect(t, c, `SELECT k, lid, rid FROM j`), "end -1 -1") {
		if ctx.Err() != nil {
			t.Fatal("the join never finished after the restart")
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := collect(t, c, `SELECT k, lid, rid FROM j`)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("after kill -9: %d rows, want %d; first difference: %s", len(got), len(want), firstDifference(got, want))
	}
}

func abs(x int) int { return max(x, -x) }

func firstDifference(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("row %d: %q, want %q", i, got[i], want[i])
		}
	}
	return fmt.Sprintf("the lists agree for %d rows", min(len(got), len(want)))
}

// crashServer is the runnel binary on a data directory, started, killed
// with SIGKILL and started again on the same port.
type crashServer struct {
	t        *testing.T
	bin, dir string
	addr     string
	cmd      *oexec.Cmd
	done     chan struct{}
}

func (s *crashServer) start(ctx context.Context) {
	s.t.Helper()
	if s.addr == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.t.Fatal(err)
		}
		s.addr = ln.Addr().String()
		ln.Close()
	}
	logf, err := os.OpenFile(filepath.Join(s.dir, "..", filepath.Base(s.dir)+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	s.cmd = oexec.Command(s.bin, "--listen", s.addr, "--data-dir", s.dir)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	// The kernel kills the server if the test process dies.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.done = make(chan struct{})
	go func(cmd *oexec.Cmd, done chan struct{}) {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}(s.cmd, s.done)
}

// connect waits until the server answers.
func (s *crashServer) connect(ctx context.Context) *pgx.Conn {
	s.t.Helper()
	for {
		c, err := pgx.Connect(ctx, fmt.Sprintf("postgres://runnel@%s/runnel?sslmode=disable&connect_timeout=5", s.addr))
		if err == nil {
			return c
		}
		select {
		case <-s.done:
			s.t.Fatalf("the server exited: see %s.log", s.dir)
		case <-ctx.Done():
			s.t.Fatalf("the server never answered: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *crashServer) kill() {
	if s.cmd == nil {
		return
	}
	select {
	case <-s.done:
	default:
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.done
	}
}

// sinkEnd is how many records the sink topic holds.
func (s *crashServer) sinkEnd(c *pgx.Conn) int64 {
	s.t.Helper()
	for _, r := range collect(s.t, c, `DESCRIBE EXTENDED j`) {
		if v, ok := strings.CutPrefix(r, "topic_end_offsets_total "); ok {
			var n int64
			fmt.Sscan(v, &n)
			return n
		}
	}
	s.t.Fatal("DESCRIBE EXTENDED j has no topic_end_offsets_total")
	return 0
}
