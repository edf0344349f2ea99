package torture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// process is the runnel server as a child process that can be killed and
// started again on the same data directory and port. Only the run's
// goroutine calls its methods.
type process struct {
	bin, dataDir, addr, level string
	// name is the node's name in a cluster ("n1"), empty for a lone
	// server; extra are the flags a cluster node gets beyond the lone
	// server's (--kafka, --node-id, --advertise).
	name  string
	extra []string
	// log receives the server's stdout and stderr across every start,
	// each start headed by a line of ours.
	log *os.File

	starts int
	cmd    *exec.Cmd
	// spawned is when the current process was started; watch sees its
	// stdout.
	spawned time.Time
	watch   *listenWatch
	// done is closed when the current process has exited and waitErr is
	// set. The goroutine that closes it is the one cmd.Wait runs on; it
	// ends when the process does, which kill and stop wait for.
	done    chan struct{}
	waitErr error
}

func newProcess(bin, dataDir, logPath, level string) (*process, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("server log: %w", err)
	}
	return &process{bin: bin, dataDir: dataDir, addr: addr, level: level, log: f}, nil
}

// freeAddr picks a loopback port that is free now. The server keeps it
// across restarts, as a real one would; a restart binds it again at once
// because Go's listeners set SO_REUSEADDR. The port comes from below the
// kernel's ephemeral range when it can, so that no other test's outgoing
// connection or ":0" listener takes it while the server is down.
func freeAddr() (string, error) {
	low := 32768 // Linux's default ip_local_port_range starts here
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				low = n
			}
		}
	}
	if low > 10000 {
		for range 50 {
			port := 10000 + rand.IntN(low-10000)
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err == nil {
				ln.Close()
				return ln.Addr().String(), nil
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// dsn is the server's connection string. connect_timeout bounds the dial
// and the startup exchange of a connection made while the server starts.
func (p *process) dsn() string {
	return fmt.Sprintf("postgres://runnel@%s/runnel?sslmode=disable&connect_timeout=5", p.addr)
}

// running reports whether a started process has not exited.
func (p *process) running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// start starts the server on the data directory. It returns once the
// process exists, not once it answers (waitReady).
func (p *process) start() error {
	if p.running() {
		return errors.New("torture: start while the server runs")
	}
	p.starts++
	fmt.Fprintf(p.log, "=== torture: start %d at %s ===\n", p.starts, time.Now().Format(time.RFC3339Nano))
	args := append([]string{"--listen", p.addr, "--data-dir", p.dataDir, "--log-level", p.level}, p.extra...)
	cmd := exec.Command(p.bin, args...)
	// stdout goes through a pipe that exec copies on a goroutine of its
	// own, which cmd.Wait waits for; stderr straight to the file.
	watch := &listenWatch{log: p.log}
	cmd.Stdout, cmd.Stderr = watch, p.log
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.bin, err)
	}
	p.cmd, p.done, p.waitErr = cmd, make(chan struct{}), nil
	p.spawned, p.watch = time.Now(), watch
	go func(done chan struct{}) {
		p.waitErr = cmd.Wait()
		close(done)
	}(p.done)
	return nil
}

// listening returns how long the current process took from exec to
// saying it serves pgwire: the server's own share of a restart, opening
// its data and restarting its queries. ok is false before it says so.
func (p *process) listening() (d time.Duration, ok bool) {
	at := p.watch.listening()
	if at.IsZero() {
		return 0, false
	}
	return at.Sub(p.spawned), true
}

// listenWatch is the server's stdout: it copies it to the log and notes
// when the server says it serves pgwire.
type listenWatch struct {
	log io.Writer
	mu  struct {
		sync.Mutex
		// partial is the last line, while it is incomplete: at most
		// one line is kept.
		partial []byte
		// at is when the "serving pgwire on" line arrived.
		at time.Time
	}
}

func (w *listenWatch) Write(b []byte) (int, error) {
	now := time.Now()
	w.mu.Lock()
	if w.mu.at.IsZero() {
		w.mu.partial = append(w.mu.partial, b...)
		if bytes.Contains(w.mu.partial, []byte("serving pgwire on")) {
			w.mu.at, w.mu.partial = now, nil
		} else if i := bytes.LastIndexByte(w.mu.partial, '\n'); i >= 0 {
			w.mu.partial = append(w.mu.partial[:0], w.mu.partial[i+1:]...)
		}
	}
	w.mu.Unlock()
	return w.log.Write(b)
}

func (w *listenWatch) listening() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mu.at
}

// errExited reports a server that exited when it was not asked to: a
// crash of its own, which is a finding, not a harness failure.
type errExited struct {
	node  string
	start int
	err   error
}

func (e *errExited) Error() string {
	node := ""
	if e.node != "" {
		node = " " + e.node
	}
	return fmt.Sprintf("runnel%s (start %d) exited on its own: %v", node, e.start, e.err)
}

// label is " <name>" for a cluster node, empty for a lone server, for
// messages.
func (p *process) label() string {
	if p.name == "" {
		return ""
	}
	return " " + p.name
}

// kill sends SIGKILL and waits until the process is gone. A process that
// had already exited is an errExited.
func (p *process) kill() error {
	if !p.running() {
		if p.cmd == nil {
			return errors.New("torture: kill before start")
		}
		return &errExited{node: p.name, start: p.starts, err: p.waitErr}
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill -9 runnel: %w", err)
	}
	<-p.done
	fmt.Fprintf(p.log, "=== torture: killed start %d at %s ===\n", p.starts, time.Now().Format(time.RFC3339Nano))
	return nil
}

// stop asks the server to shut down (SIGTERM) and waits up to timeout for
// it to exit with status 0; past the timeout it is killed.
func (p *process) stop(timeout time.Duration) error {
	if !p.running() {
		if p.cmd == nil {
			return nil
		}
		return &errExited{node: p.name, start: p.starts, err: p.waitErr}
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("SIGTERM runnel: %w", err)
	}
	select {
	case <-p.done:
		if p.waitErr != nil {
			return fmt.Errorf("runnel%s (start %d) shut down with %v", p.label(), p.starts, p.waitErr)
		}
		return nil
	case <-time.After(timeout):
		_ = p.kill()
		return fmt.Errorf("runnel%s (start %d) did not shut down within %s of SIGTERM", p.label(), p.starts, timeout)
	}
}

// close kills a running server and closes the log. Safe to call always.
func (p *process) close() {
	if p.running() {
		_ = p.kill()
	}
	p.log.Close()
}

// waitReady polls until the server answers SHOW QUERIES with wantQueries
// rows (a negative wantQueries accepts any), or fails when the process
// exits, timeout passes or ctx ends.
func (p *process) waitReady(ctx context.Context, timeout time.Duration, wantQueries int) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if !p.running() {
			return &errExited{node: p.name, start: p.starts, err: p.waitErr}
		}
		n, err := p.showQueries(ctx)
		switch {
		case err == nil && (wantQueries < 0 || n == wantQueries):
			return nil
		case err == nil:
			// The listener opens after the catalog is replayed and
			// the queries started, so a short list means the catalog
			// lost a query.
			return fmt.Errorf("runnel%s (start %d) answers with %d persistent queries, want %d", p.label(), p.starts, n, wantQueries)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("runnel%s (start %d) did not answer within %s: %v", p.label(), p.starts, timeout, last)
		case <-p.done:
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// waitQueries polls until the server lists want persistent queries: a
// cluster node learns of the others' statements from the catalog topic,
// a moment after they were made.
func (p *process) waitQueries(ctx context.Context, timeout time.Duration, want int) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		n, err := p.showQueries(ctx)
		if err == nil && n == want {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("runnel%s (start %d) lists %d persistent queries (%v), not %d, after %s", p.label(), p.starts, n, err, want, timeout)
		case <-p.done:
			return &errExited{node: p.name, start: p.starts, err: p.waitErr}
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// showQueries connects and counts the rows of SHOW QUERIES.
func (p *process) showQueries(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, p.dsn())
	if err != nil {
		return 0, err
	}
	defer closeConn(c)
	rows, err := c.Query(ctx, "SHOW QUERIES")
	if err != nil {
		return 0, err
	}
	n := 0
	for rows.Next() {
		n++
	}
	return n, rows.Err()
}

// closeConn closes a connection, waiting at most a second to say goodbye
// to a server that may be gone.
func closeConn(c *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c.Close(ctx)
}
