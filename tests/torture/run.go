package torture

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Run starts the server (or the cluster's nodes), creates the schema,
// writes under a killer, and checks the result twice: after the kills, and
// after a graceful restart. It returns the report and nil, or an error
// naming every broken invariant (with the servers' log tails), or the
// failure that stopped the run. The report is filled as far as the run
// got.
func Run(ctx context.Context, opts Options) (*Report, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "runnel-torture-")
	if err != nil {
		return nil, err
	}
	rep := &Report{Seed: opts.Seed, Nodes: opts.Nodes, DataDir: opts.DataDir}
	if rep.DataDir == "" {
		rep.DataDir = filepath.Join(work, "data")
	}
	f, err := newFleet(&opts, rep, work)
	if err != nil {
		return rep, err
	}
	defer f.close()
	err = run(ctx, &opts, f, rep)
	if err == nil && !opts.Keep {
		f.close()
		os.RemoveAll(work)
		rep.Logs = nil
		if opts.DataDir == "" {
			rep.DataDir = ""
		}
	}
	return rep, err
}

func run(ctx context.Context, opts *Options, f *fleet, rep *Report) error {
	logf := opts.Logf
	logf("torture: seed %d; %d kills over %s of load; %d writers; runnel %s on %s; data %s; logs %s",
		opts.Seed, opts.Kills, opts.Duration, opts.Writers, opts.Binary, f.describe(), rep.DataDir, strings.Join(rep.Logs, ", "))
	for _, p := range f.nodes {
		if err := p.start(); err != nil {
			return err
		}
	}
	for _, p := range f.nodes {
		if err := p.waitReady(ctx, opts.RestartTimeout, -1); err != nil {
			return rep.withLogs(err)
		}
	}
	if err := createSchema(ctx, f.nodes[0].dsn(), opts.Partitions); err != nil {
		return rep.withLogs(err)
	}
	// Every node of a cluster learns the schema from the catalog topic;
	// the kills start once each runs every query.
	for _, p := range f.nodes {
		if err := p.waitQueries(ctx, opts.RestartTimeout, queries); err != nil {
			return rep.withLogs(err)
		}
	}

	led := newLedger()
	stats := &writeStats{}
	stop := make(chan struct{})
	wctx, wcancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var interval time.Duration
	if opts.Rate > 0 {
		interval = time.Duration(opts.Writers) * time.Second / time.Duration(opts.Rate)
	}
	for i := range opts.Writers {
		w := &writer{
			n: i + 1, dsns: f.dsns(), dials: i, users: opts.Users, batch: opts.MaxBatch,
			interval: interval, timeout: opts.StatementTimeout,
			ledger: led, rng: rand.New(rand.NewPCG(opts.Seed, uint64(i+1))), stats: stats, logf: logf,
		}
		wg.Go(func() { w.run(wctx, stop) })
	}
	began := time.Now()
	// The writers stop here on every path: cleanly (finishing the INSERT
	// in flight) when the kills are done, at once on a failure.
	stopWriters := sync.OnceFunc(func() {
		close(stop)
		wg.Wait()
		wcancel()
		rep.Writing = time.Since(began)
		rep.Acked, rep.Unknown = led.count(acked), led.count(unknown)+led.count(pending)
		rep.Refused = led.count(refused)
		rep.Statements, rep.Stalls, rep.BadTags = stats.statements.Load(), stats.stalls.Load(), stats.badTags.Load()
		if m := stats.firstRefusal.Load(); m != nil {
			rep.FirstRefusal = *m
		}
	})
	defer stopWriters()

	if err := killer(ctx, opts, f, rep, led, began); err != nil {
		wcancel()
		stopWriters()
		return rep.withLogs(err)
	}
	stopWriters()
	logf("torture: writers stopped: %s rows acknowledged (%.0f rows/s), %s unknown; checking", itoa(rep.Acked), rep.RowsPerSecond(), itoa(rep.Unknown))

	outcomes := led.snapshot()
	var problems []string
	// Each check asks another node, when there are several: the pull
	// queries and scans of any node must see every node's work.
	check := func(when string, via *process) error {
		t, v, err := verify(ctx, via.dsn(), outcomes, opts.Users, opts.CatchUpTimeout, logf, f.tableTopic)
		if err != nil {
			return fmt.Errorf("check %s (through%s %s): %w", when, via.label(), via.addr, err)
		}
		rep.Checks = append(rep.Checks, t)
		logf("torture: check %s: %d violations", when, v.total())
		if v.total() > 0 {
			problems = append(problems, fmt.Sprintf("check %s:\n%s", when, v))
		}
		return nil
	}
	if err := check("after the kills", f.nodes[0]); err != nil {
		return rep.withLogs(err)
	}
	// A graceful stop and start of every node must change nothing either.
	stopped := true
	for _, p := range f.nodes {
		if err := p.stop(30 * time.Second); err != nil {
			problems = append(problems, err.Error())
			stopped = false
		}
	}
	if stopped {
		t0 := time.Now()
		for _, p := range f.nodes {
			if err := p.start(); err != nil {
				return err
			}
		}
		for _, p := range f.nodes {
			if err := p.waitReady(ctx, opts.RestartTimeout, queries); err != nil {
				return rep.withLogs(err)
			}
		}
		rep.Graceful = time.Since(t0)
		if err := check("after a graceful restart", f.nodes[len(f.nodes)-1]); err != nil {
			return rep.withLogs(err)
		}
		for _, p := range f.nodes {
			if err := p.stop(30 * time.Second); err != nil {
				problems = append(problems, err.Error())
			}
		}
	}

	if rep.Stalls > 0 {
		problems = append(problems, fmt.Sprintf("%d INSERTs went unanswered for %s on a server that was up", rep.Stalls, opts.StatementTimeout))
	}
	if rep.BadTags > 0 {
		problems = append(problems, fmt.Sprintf("%d INSERTs were acknowledged with a command tag that does not count their rows", rep.BadTags))
	}
	fatal, err := scanLogs(rep)
	if err != nil {
		return err
	}
	problems = append(problems, fatal...)
	if len(problems) > 0 {
		return rep.withLogs(errors.New(strings.Join(problems, "\n")))
	}
	return nil
}

// killer lets the servers run under load for a random stretch, kills one
// with SIGKILL (a node drawn at random, in a cluster), starts it again on
// the same directory and times how long it takes to answer, opts.Kills
// times; sometimes (and at least once in a run of three kills or more) it
// kills a restart again before it answers. It ends after one more stretch
// of load on the last restart.
func killer(ctx context.Context, opts *Options, f *fleet, rep *Report, led *ledger, began time.Time) error {
	rng := rand.New(rand.NewPCG(opts.Seed, 0))
	mean := opts.Duration / time.Duration(opts.Kills+1)
	up := func() time.Duration {
		return mean/4 + time.Duration(rng.Int64N(int64(mean*3/2)+1))
	}
	early := false
	var p *process
	for k := 1; k <= opts.Kills; k++ {
		if !early {
			if err := f.runFor(ctx, up()); err != nil {
				return err
			}
			// An early kill hits the same node again, in its recovery.
			p = f.nodes[rng.IntN(len(f.nodes))]
		}
		if err := p.kill(); err != nil {
			return err
		}
		rep.Kills++
		killed := time.Now()
		if err := p.start(); err != nil {
			return err
		}
		// Every run with a few kills crashes a recovery at least once:
		// the last chance to is taken if chance has not.
		early = k < opts.Kills && len(rep.Restarts) > 0 && opts.EarlyKills > 0 &&
			(rng.Float64() < opts.EarlyKills || (k == opts.Kills-1 && rep.EarlyKills == 0))
		if early {
			// A crash during recovery: somewhere within the time a
			// restart usually takes.
			d := time.Duration(rng.Int64N(int64(summarize(rep.Restarts).Median) + 1))
			rep.EarlyKills++
			opts.Logf("torture: kill %d/%d%s; the next comes %s into the restart, before it answers", k, opts.Kills, p.label(), d.Round(time.Millisecond))
			if err := f.runFor(ctx, d); err != nil {
				return err
			}
			continue
		}
		if err := p.waitReady(ctx, opts.RestartTimeout, queries); err != nil {
			return err
		}
		d := time.Since(killed)
		rep.Restarts = append(rep.Restarts, d)
		open, ok := p.listening()
		if ok {
			rep.Opens = append(rep.Opens, open)
		}
		a := led.count(acked)
		opts.Logf("torture: kill %d/%d%s: answered again in %s (listening %s after exec); %s rows acknowledged (%.0f rows/s), %s unknown",
			k, opts.Kills, p.label(), d.Round(time.Millisecond), open.Round(time.Millisecond), itoa(a), float64(a)/time.Since(began).Seconds(), itoa(led.count(unknown)))
	}
	return f.runFor(ctx, up())
}

// runFor waits d while the server runs; a server that exits meanwhile is
// an errExited.
func (p *process) runFor(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-p.done:
		return &errExited{start: p.starts, err: p.waitErr}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// createSchema creates the source, the sink and the tables.
func createSchema(ctx context.Context, dsn string, partitions int) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect to create the schema: %w", err)
	}
	defer closeConn(conn)
	for _, s := range schema(partitions) {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// fatalMarkers are server log lines that fail a run whatever the data
// says: the race detector, a panic (invariant checks panic), a runtime
// fatal error.
var fatalMarkers = []string{"WARNING: DATA RACE", "panic:", "fatal error:"}

// scanLogs counts the servers' error and warning lines and returns one
// problem for each fatal marker found, with its line.
func scanLogs(rep *Report) ([]string, error) {
	var problems []string
	for _, path := range rep.Logs {
		p, err := scanLog(rep, path)
		if err != nil {
			return nil, err
		}
		problems = append(problems, p...)
	}
	return problems, nil
}

// scanLog is scanLogs for one server's log.
func scanLog(rep *Report, path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("server log: %w", err)
	}
	defer f.Close()
	var problems []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.Contains(line, "level=ERROR"):
			rep.ServerErrors++
		case strings.Contains(line, "level=WARN"):
			rep.ServerWarnings++
		}
		for _, m := range fatalMarkers {
			if strings.Contains(line, m) && len(problems) < maxExamples {
				problems = append(problems, fmt.Sprintf("server log %s line %d: %s", filepath.Base(path), n, line))
			}
		}
	}
	return problems, sc.Err()
}

// withLogs appends the last lines of every server's log to err.
func (r *Report) withLogs(err error) error {
	lines := 40
	if len(r.Logs) > 1 {
		lines = 25
	}
	for _, path := range r.Logs {
		err = withLogLines(err, path, lines)
	}
	return err
}

// withLog appends the last lines of the server's log to err.
func withLog(err error, path string) error { return withLogLines(err, path, 40) }

// withLogLines appends the last n lines of a server's log to err. It
// reads at most the log's last 16 KiB.
func withLogLines(err error, path string, n int) error {
	f, oerr := os.Open(path)
	if oerr != nil {
		return err
	}
	defer f.Close()
	const tail = 16 << 10
	if fi, serr := f.Stat(); serr == nil && fi.Size() > tail {
		if _, serr := f.Seek(fi.Size()-tail, io.SeekStart); serr != nil {
			return err
		}
	}
	data, rerr := io.ReadAll(f)
	if rerr != nil {
		return err
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return fmt.Errorf("%w\n--- last lines of %s ---\n%s", err, path, strings.Join(lines, "\n"))
}
