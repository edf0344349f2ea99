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

// Run starts the server, creates the schema, writes under a killer, and
// checks the result twice: after the kills, and after a graceful restart.
// It returns the report and nil, or an error naming every broken invariant
// (with the server's log tail), or the failure that stopped the run. The
// report is filled as far as the run got.
func Run(ctx context.Context, opts Options) (*Report, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "runnel-torture-")
	if err != nil {
		return nil, err
	}
	rep := &Report{Seed: opts.Seed, DataDir: opts.DataDir, Log: filepath.Join(work, "runnel.log")}
	if rep.DataDir == "" {
		rep.DataDir = filepath.Join(work, "data")
	}
	p, err := newProcess(opts.Binary, rep.DataDir, rep.Log, opts.ServerLogLevel)
	if err != nil {
		return rep, err
	}
	defer p.close()
	err = run(ctx, &opts, p, rep)
	if err == nil && !opts.Keep {
		p.close()
		os.RemoveAll(work)
		rep.Log = ""
		if opts.DataDir == "" {
			rep.DataDir = ""
		}
	}
	return rep, err
}

func run(ctx context.Context, opts *Options, p *process, rep *Report) error {
	logf := opts.Logf
	logf("torture: seed %d; %d kills over %s of load; %d writers; runnel %s on %s; data %s; log %s",
		opts.Seed, opts.Kills, opts.Duration, opts.Writers, opts.Binary, p.addr, rep.DataDir, rep.Log)
	if err := p.start(); err != nil {
		return err
	}
	if err := p.waitReady(ctx, opts.RestartTimeout, -1); err != nil {
		return withLog(err, rep.Log)
	}
	if err := createSchema(ctx, p.dsn(), opts.Partitions); err != nil {
		return withLog(err, rep.Log)
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
			n: i + 1, dsn: p.dsn(), users: opts.Users, batch: opts.MaxBatch,
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

	if err := killer(ctx, opts, p, rep, led, began); err != nil {
		wcancel()
		stopWriters()
		return withLog(err, rep.Log)
	}
	stopWriters()
	logf("torture: writers stopped: %s rows acknowledged (%.0f rows/s), %s unknown; checking", itoa(rep.Acked), rep.RowsPerSecond(), itoa(rep.Unknown))

	outcomes := led.snapshot()
	var problems []string
	check := func(when string) error {
		t, v, err := verify(ctx, p.dsn(), outcomes, opts.Users, opts.CatchUpTimeout, logf)
		if err != nil {
			return fmt.Errorf("check %s: %w", when, err)
		}
		rep.Checks = append(rep.Checks, t)
		logf("torture: check %s: %d violations", when, v.total())
		if v.total() > 0 {
			problems = append(problems, fmt.Sprintf("check %s:\n%s", when, v))
		}
		return nil
	}
	if err := check("after the kills"); err != nil {
		return withLog(err, rep.Log)
	}
	// A graceful stop and start must change nothing either.
	if err := p.stop(30 * time.Second); err != nil {
		problems = append(problems, err.Error())
	} else {
		t0 := time.Now()
		if err := p.start(); err != nil {
			return err
		}
		if err := p.waitReady(ctx, opts.RestartTimeout, queries); err != nil {
			return withLog(err, rep.Log)
		}
		rep.Graceful = time.Since(t0)
		if err := check("after a graceful restart"); err != nil {
			return withLog(err, rep.Log)
		}
		if err := p.stop(30 * time.Second); err != nil {
			problems = append(problems, err.Error())
		}
	}

	if rep.Stalls > 0 {
		problems = append(problems, fmt.Sprintf("%d INSERTs went unanswered for %s on a server that was up", rep.Stalls, opts.StatementTimeout))
	}
	if rep.BadTags > 0 {
		problems = append(problems, fmt.Sprintf("%d INSERTs were acknowledged with a command tag that does not count their rows", rep.BadTags))
	}
	fatal, err := scanLog(rep)
	if err != nil {
		return err
	}
	problems = append(problems, fatal...)
	if len(problems) > 0 {
		return withLog(errors.New(strings.Join(problems, "\n")), rep.Log)
	}
	return nil
}

// killer lets the server run under load for a random
// stretch, kills it with SIGKILL, starts it again on the same directory
// and times how long it takes to answer, opts.Kills times; sometimes (and
// at least once in a run of three kills or more) it kills a restart before
// it answers. It ends after one more stretch of
// load on the last restart.
func killer(ctx context.Context, opts *Options, p *process, rep *Report, led *ledger, began time.Time) error {
	rng := rand.New(rand.NewPCG(opts.Seed, 0))
	mean := opts.Duration / time.Duration(opts.Kills+1)
	up := func() time.Duration {
		return mean/4 + time.Duration(rng.Int64N(int64(mean*3/2)+1))
	}
	early := false
	for k := 1; k <= opts.Kills; k++ {
		if !early {
			if err := p.runFor(ctx, up()); err != nil {
				return err
			}
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
			opts.Logf("torture: kill %d/%d; the next comes %s into the restart, before it answers", k, opts.Kills, d.Round(time.Millisecond))
			if err := p.runFor(ctx, d); err != nil {
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
		opts.Logf("torture: kill %d/%d: answered again in %s (listening %s after exec); %s rows acknowledged (%.0f rows/s), %s unknown",
			k, opts.Kills, d.Round(time.Millisecond), open.Round(time.Millisecond), itoa(a), float64(a)/time.Since(began).Seconds(), itoa(led.count(unknown)))
	}
	return p.runFor(ctx, up())
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

// scanLog counts the server's error and warning lines and returns one
// problem for each fatal marker found, with its line.
func scanLog(rep *Report) ([]string, error) {
	f, err := os.Open(rep.Log)
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
				problems = append(problems, fmt.Sprintf("server log line %d: %s", n, line))
			}
		}
	}
	return problems, sc.Err()
}

// withLog appends the last lines of the server's log to err. It reads at
// most the log's last 16 KiB.
func withLog(err error, path string) error {
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
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return fmt.Errorf("%w\n--- last lines of %s ---\n%s", err, path, strings.Join(lines, "\n"))
}
