package nexmark

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	rtrace "runtime/trace"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/runnel/runnel/engine"
	"github.com/runnel/runnel/internal/cputime"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/log/embedded"
)

// BenchOptions configure Bench. The zero value of each field means its
// documented default.
type BenchOptions struct {
	// Events is how many events to load. Default: DefaultBenchEvents.
	Events int64
	// Generator selects the events; its zero value is the benchmark's
	// default configuration.
	Generator Config
	// Partitions is the partition count of the event topics. Default:
	// DefaultPartitions.
	Partitions int32
	// Queries names the queries to run, in order ("q0", "q11"); queries
	// Runnel cannot run are listed with their reason. Default: every
	// query of the suite.
	Queries []string
	// DataDir is the embedded log's directory; it must be empty or absent.
	// Default: a new temporary directory, removed at the end.
	DataDir string
	// QueryTimeout, when set, bounds each query's run: a query that has
	// not finished by then is reported as incomplete, with how far it got,
	// and stopped. Default: 0, no bound.
	QueryTimeout time.Duration
	// CPUProfileDir, when set, gets a CPU profile of each query's run,
	// <query>.pprof, and of the raw copy, raw_copy.pprof; and the
	// allocation and mutex-contention profiles at the start and end of
	// each, <query>.allocs.start.pprof and <query>.allocs.pprof (`go tool
	// pprof -diff_base q0.allocs.start.pprof q0.allocs.pprof` shows the
	// run's), <query>.mutex.start.pprof and <query>.mutex.pprof.
	CPUProfileDir string
	// Trace, with CPUProfileDir set, also writes a runtime execution
	// trace of each run there, <query>.trace and raw_copy.trace (`go tool
	// trace`): where the goroutines ran, waited and were runnable, which a
	// CPU profile cannot show. It costs CPU of its own, so a traced run's
	// numbers are not comparable with an untraced one's. Default: off.
	Trace bool
	// Out receives the progress and result lines. Default: os.Stdout.
	Out io.Writer
	// Logger receives the engine's messages. Default: warnings and errors
	// to os.Stderr.
	Logger *slog.Logger
}

// DefaultBenchEvents is the default event count of `make nexmark`: sized
// so that the whole run takes well under 10 minutes on a 2-core machine
// shared with other work.
const DefaultBenchEvents = 1_000_000

// ensureDefaults fills in defaults and checks the options.
func (o *BenchOptions) ensureDefaults() error {
	if o.Events == 0 {
		o.Events = DefaultBenchEvents
	}
	if o.Events < 0 {
		return fmt.Errorf("nexmark: Events must be positive, not %d", o.Events)
	}
	if o.Partitions == 0 {
		o.Partitions = DefaultPartitions
	}
	if o.QueryTimeout < 0 {
		return fmt.Errorf("nexmark: QueryTimeout must not be negative, not %v", o.QueryTimeout)
	}
	if o.Partitions < 0 {
		return fmt.Errorf("nexmark: Partitions must be positive, not %d", o.Partitions)
	}
	if len(o.Queries) == 0 {
		for _, q := range Queries() {
			o.Queries = append(o.Queries, q.Name)
		}
	}
	for _, name := range o.Queries {
		if _, ok := Lookup(name); !ok {
			return fmt.Errorf("nexmark: no query %q (the suite has q0 to q23)", name)
		}
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	o.Generator.EnsureDefaults()
	return o.Generator.Validate()
}

// Result is one query's run.
type Result struct {
	Query Query
	// Events is how many input records the query read: the records of
	// the event topics it reads (the bids for most queries; people and
	// auctions for q3 and q8, auctions and bids for q4), not every event
	// generated.
	Events int64
	// Elapsed runs from the CREATE statement until the query had done all
	// its work (AwaitQuery).
	Elapsed time.Duration
	// Usage is how the CPUs were used meanwhile.
	Usage Usage
	// StateKeys and StateBytes measure the state stores of the query's
	// stages once it is done: their keys, and the bytes of their keys and
	// values as stored (engine.StateStats: an aggregation's groups, or a
	// join's rows). Zero for stateless queries.
	StateKeys, StateBytes int64
	// StateDiskBytes is what those stores take on disk once the run is
	// done (engine.StateDiskBytes: the memtables flushed, then Pebble's
	// estimate of their key ranges' share of the tables), so that
	// StateRatio can be held to the promise of at most twice the
	// encoded keys and values.
	StateDiskBytes int64
	// Written is the offsets the query's stages wrote into the topics
	// they own, their sinks and internal topics (a record each; in Kafka
	// a commit's marker takes one too), once it is done. Where a stage's
	// commits depend on timing (a lingering aggregation sends a change
	// per commit of a group, task_linger.go), the same query does more or
	// less work from run to run; Written says how much, so that two runs'
	// CPU seconds can be compared for the work they did (q5's vary by a
	// third).
	Written int64
	// RawRate is the raw copy's events/s over the same input topic.
	RawRate float64
	// Cores is what per-core rates divide by (GOMAXPROCS).
	Cores int
	// Incomplete is set when the query did not finish within
	// BenchOptions.QueryTimeout. InputRead is then how many input records
	// its first stage had committed, and SinkUpdates how many records its
	// sink topic held (for a table, one update per input record it
	// aggregated, plus deletes of merged sessions).
	Incomplete             bool
	InputRead, SinkUpdates int64
}

// Rate is input events per second.
func (r Result) Rate() float64 { return float64(r.Events) / r.Elapsed.Seconds() }

// PerCore is Rate over the cores the process had.
func (r Result) PerCore() float64 { return r.Rate() / float64(r.Cores) }

// RawCopyRatio is Rate over the raw copy's rate.
func (r Result) RawCopyRatio() float64 {
	if r.RawRate <= 0 {
		return 0
	}
	return r.Rate() / r.RawRate
}

// StateRatio is the state's bytes on disk over its encoded keys and
// values (StateDiskBytes over StateBytes); 0 for a query without state.
func (r Result) StateRatio() float64 {
	if r.StateBytes <= 0 {
		return 0
	}
	return float64(r.StateDiskBytes) / float64(r.StateBytes)
}

// Line is the result's one-line report. The fields after raw_copy_ratio
// say how much CPU the process used, which on a shared machine tells a
// slow query from a starved one.
func (r Result) Line() string {
	if !r.Query.Supported() {
		return fmt.Sprintf("nexmark %s not supported: %s", r.Query.Name, r.Query.NotSupported)
	}
	if r.Incomplete {
		return fmt.Sprintf("nexmark %s incomplete: did not finish in %.0fs; read %d of %d input records, %d sink records written (about %.0f events/s) cpu_seconds=%.2f",
			r.Query.Name, r.Elapsed.Seconds(), r.InputRead, r.Events, r.SinkUpdates, float64(r.SinkUpdates)/r.Elapsed.Seconds(), r.Usage.Process.Seconds())
	}
	return fmt.Sprintf("nexmark %s events=%d seconds=%.2f events/s=%.0f events/s/core=%.0f state_bytes=%d raw_copy_ratio=%.2f cpu_seconds=%.2f state_ratio=%.2f offsets_written=%d minor_faults=%d",
		r.Query.Name, r.Events, r.Elapsed.Seconds(), r.Rate(), r.PerCore(), r.StateBytes, r.RawCopyRatio(), r.Usage.Process.Seconds(), r.StateRatio(), r.Written, r.Usage.Faults)
}

// Report is a whole benchmark run.
type Report struct {
	Options BenchOptions
	Machine Machine
	Started time.Time
	// Load is how the events were written; RawCopy is the raw copy of the
	// bid topic, the input of every query Runnel runs today.
	Load    LoadStats
	RawCopy RawCopyStats
	Results []Result
	// Usage covers the whole run, load included.
	Usage Usage
}

// Bench loads the events into a fresh embedded log, copies the bid topic
// raw, then runs each query alone, topic to topic, from the earliest
// offset to completion, printing progress and one line per query.
func Bench(ctx context.Context, opts BenchOptions) (*Report, error) {
	if err := opts.ensureDefaults(); err != nil {
		return nil, err
	}
	// Progress comes from more than one goroutine.
	out := newSyncWriter(opts.Out)
	rep := &Report{Options: opts, Machine: ThisMachine(), Started: time.Now().UTC()}
	fmt.Fprintf(out, "nexmark: %s; load average %.2f\n", rep.Machine, rep.Machine.LoadAvg)
	clock := readCPUClock()

	dir := opts.DataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "runnel-nexmark-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("nexmark: data directory %s is not empty: the benchmark needs a fresh one", dir)
	}
	node, err := StartNode(ctx, engine.Options{DataDir: filepath.Clean(dir), Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	defer node.Close()
	conn, err := node.Connect(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := CreateStreams(ctx, conn, opts.Partitions); err != nil {
		return nil, err
	}
	g, err := NewGenerator(opts.Generator)
	if err != nil {
		return nil, err
	}
	lg := node.Engine.Log()
	w, err := NewLogWriter(ctx, lg)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "nexmark: loading %d events (seed %d) into %d partitions per topic\n", opts.Events, opts.Generator.Seed, opts.Partitions)
	rep.Load, err = Load(ctx, g, w, LoadOptions{Events: opts.Events, Progress: func(s LoadStats) {
		fmt.Fprintf(out, "nexmark: loaded %d of %d events (%.0f%%), %.0f events/s\n", s.Events, opts.Events, 100*float64(s.Events)/float64(opts.Events), s.Rate())
	}})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "nexmark load events=%d persons=%d auctions=%d bids=%d seconds=%.2f events/s=%.0f bytes=%d\n",
		rep.Load.Events, rep.Load.ByKind[KindPerson], rep.Load.ByKind[KindAuction], rep.Load.ByKind[KindBid],
		rep.Load.Elapsed.Seconds(), rep.Load.Rate(), rep.Load.Bytes)

	// Every query Runnel runs reads bids, so the bid topic's raw copy is
	// the one to compare with.
	settling := startLSM(lg)
	settle(ctx, out)
	settling.report(out, "settle_before_raw_copy")
	lsm := startLSM(lg)
	stop := startProfile(opts.CPUProfileDir, "raw_copy", opts.Trace, out)
	rep.RawCopy, err = RawCopy(ctx, lg, Topics[KindBid], "nexmark_raw_copy", "nexmark_raw_copy", func(done, total int64) {
		fmt.Fprintf(out, "nexmark: raw copy %d of %d records (%.0f%%)\n", done, total, 100*float64(done)/float64(max(total, 1)))
	})
	stop()
	lsm.report(out, "raw_copy")
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "nexmark raw_copy topic=%s events=%d seconds=%.2f events/s=%.0f events/s/core=%.0f cpu_seconds=%.2f\n",
		Topics[KindBid], rep.RawCopy.Events, rep.RawCopy.Elapsed.Seconds(), rep.RawCopy.Rate(),
		rep.RawCopy.Rate()/float64(rep.Machine.Procs), rep.RawCopy.Usage.Process.Seconds())

	for _, name := range opts.Queries {
		q, _ := Lookup(name)
		res := Result{Query: q, Cores: rep.Machine.Procs, RawRate: rep.RawCopy.Rate()}
		if q.Supported() {
			settling := startLSM(node.Engine.Log())
			settle(ctx, out)
			settling.report(out, "settle_before_"+name)
			if res, err = runOne(ctx, node, q, opts, rep, out); err != nil {
				return nil, err
			}
		}
		rep.Results = append(rep.Results, res)
		fmt.Fprintln(out, res.Line())
	}
	if n := len(opts.Queries); n > 0 {
		// What the last query left for the LSM to compact, as the
		// settle before each query shows for the one before it.
		settling := startLSM(lg)
		settle(ctx, out)
		settling.report(out, "settle_after_"+opts.Queries[n-1])
	}
	rep.Usage = usageSince(clock)
	fmt.Fprintf(out, "nexmark: done in %.0fs; %s\n", rep.Usage.Wall.Seconds(), rep.Quietness())
	return rep, nil
}

// runOne runs one supported query to completion, or until
// opts.QueryTimeout, and measures it.
func runOne(ctx context.Context, node *Node, q Query, opts BenchOptions, rep *Report, out io.Writer) (Result, error) {
	res := Result{Query: q, Cores: rep.Machine.Procs, RawRate: rep.RawCopy.Rate()}
	lg := node.Engine.Log()
	for _, k := range q.Inputs {
		n, err := sumEnds(ctx, lg, Topics[k])
		if err != nil {
			return res, err
		}
		res.Events += n
	}
	conn, err := node.Connect(ctx)
	if err != nil {
		return res, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	qctx, cancel := ctx, context.CancelFunc(func() {})
	if opts.QueryTimeout > 0 {
		qctx, cancel = context.WithTimeout(ctx, opts.QueryTimeout)
	}
	defer cancel()

	lsm := startLSM(lg)
	stop := startProfile(opts.CPUProfileDir, q.Name, opts.Trace, out)
	clock := readCPUClock()
	start := time.Now()
	ids, err := StartQuery(qctx, conn, q)
	if err != nil {
		stop()
		return res, err
	}
	// While a table's later stages catch up, AwaitQuery blocks in a pull
	// query: this goroutine reports the sink's growth meanwhile.
	var phase atomic.Value
	phase.Store("input")
	var wg sync.WaitGroup
	reporterDone := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-reporterDone:
				return
			case <-t.C:
			}
			if phase.Load() != "table" {
				continue
			}
			if n, err := sumEnds(ctx, lg, q.Sink); err == nil {
				fmt.Fprintf(out, "nexmark: %s read all %d input records; its table has %d updates (%.0fs)\n", q.Name, res.Events, n, time.Since(start).Seconds())
			}
		}
	}()
	last := time.Now()
	err = AwaitQuery(qctx, conn, lg, q, ids, func(p Progress) {
		res.InputRead = p.Done
		phase.Store(p.Phase)
		if p.Phase != "input" || time.Since(last) < 2*time.Second {
			return
		}
		last = time.Now()
		fmt.Fprintf(out, "nexmark: %s %d of %d input records (%.0f%%), %.0f events/s so far\n",
			q.Name, p.Done, p.Total, 100*float64(p.Done)/float64(max(p.Total, 1)), float64(p.Done)/time.Since(start).Seconds())
	})
	res.Elapsed = time.Since(start)
	res.Usage = usageSince(clock)
	stop()
	lsm.report(out, q.Name)
	close(reporterDone)
	wg.Wait()
	if err != nil && qctx.Err() != nil && ctx.Err() == nil {
		res.Incomplete = true
		if res.SinkUpdates, err = sumEnds(ctx, lg, q.Sink); err != nil {
			return res, err
		}
	} else if err != nil {
		return res, err
	} else {
		if res.Written, err = written(ctx, lg, q, ids); err != nil {
			return res, err
		}
		for i, id := range ids {
			if st := q.Stages[i]; st.Declared || !st.Table && !joins(st.SQL) {
				continue // stateless, or no query of its own
			}
			keys, bytes, err := node.Engine.StateStats(ctx, id)
			if err != nil {
				return res, fmt.Errorf("nexmark: %s: state: %w", q.Name, err)
			}
			res.StateKeys += keys
			res.StateBytes += bytes
			disk, err := node.Engine.StateDiskBytes(ctx, id)
			if err != nil {
				return res, fmt.Errorf("nexmark: %s: state on disk: %w", q.Name, err)
			}
			res.StateDiskBytes += disk
		}
	}
	// A connection whose query was cancelled may be closed: stop the
	// query over a fresh one.
	sconn, err := node.Connect(ctx)
	if err != nil {
		return res, err
	}
	defer sconn.Close(context.WithoutCancel(ctx))
	return res, StopQuery(ctx, sconn, q, ids)
}

// joins reports whether a statement's text has a JOIN: a stream written
// by a join keeps state, one written by a filter or projection does not.
// The word is looked for between any white space (q20 starts its JOIN on
// a line of its own, which a search for " JOIN " missed: its state read 0).
func joins(sql string) bool {
	for _, w := range strings.Fields(strings.ToUpper(sql)) {
		if w == "JOIN" {
			return true
		}
	}
	return false
}

// written sums the end offsets of the topics q's stages (ids, as
// StartQuery returned them) own: each persistent stage's sink topic and
// its internal topics (_runnel_<id>_...). A declared stage owns none; an
// insert owns its internal topics only, its sink being an earlier
// stage's.
func written(ctx context.Context, lg log.Log, q Query, ids []string) (int64, error) {
	infos, err := lg.Topics(ctx)
	if err != nil {
		return 0, fmt.Errorf("nexmark: %s: topics: %w", q.Name, err)
	}
	var topics []string
	for i, id := range ids {
		st := q.Stages[i]
		if st.Declared {
			continue
		}
		if !st.Insert {
			topics = append(topics, st.Topic)
		}
		topics = append(topics, internalTopics(infos, id)...)
	}
	var n int64
	for _, topic := range topics {
		ends, err := sumEnds(ctx, lg, topic)
		if err != nil {
			return 0, fmt.Errorf("nexmark: %s: end offsets of %s: %w", q.Name, topic, err)
		}
		n += ends
	}
	return n, nil
}

// sumEnds is the number of records a topic holds (from offset 0).
func sumEnds(ctx context.Context, lg log.Log, topic string) (int64, error) {
	ends, err := lg.EndOffsets(ctx, topic)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, e := range ends {
		n += e
	}
	return n, nil
}

// lsmMeter measures what the embedded log's LSM writes during a run: the
// bytes its memtable flushes and compactions write against what was
// written to it, by span (the log's records, its metadata, the state
// stores), which tells a query's write amplification in Pebble from its
// own work. A compaction still running when the run ends is counted in
// the next one's, or in the settle between them: reporting it before a
// query shows what the load or the last query left.
type lsmMeter struct {
	l      *embedded.Log
	before embedded.LSMStats
	cpu    time.Duration
}

// startLSM starts measuring lg's LSM; it measures nothing for a log that
// is not the embedded one.
func startLSM(lg log.Log) lsmMeter {
	l, ok := lg.(*embedded.Log)
	if !ok {
		return lsmMeter{}
	}
	s, err := l.LSMStats()
	if err != nil {
		return lsmMeter{}
	}
	return lsmMeter{l: l, before: s, cpu: cputime.Process()}
}

// report prints what the LSM wrote since the meter started, as the line
// "nexmark lsm <name> ...", with the CPU the process used meanwhile
// (for a settle, what compacting the last run's writes cost).
func (m lsmMeter) report(out io.Writer, name string) {
	if m.l == nil {
		return
	}
	s, err := m.l.LSMStats()
	if err != nil {
		return
	}
	fmt.Fprintf(out, "nexmark lsm %s %s cpu_seconds=%.2f\n", name, s.Sub(m.before), (cputime.Process() - m.cpu).Seconds())
}

// settle waits until the process is nearly idle (under a tenth of a core
// over half a second), for at most settleMax: the log's LSM compacts what
// the load and earlier queries wrote in the background, and a query
// started meanwhile would pay for their writes. A query still pays for the
// compaction of its own.
func settle(ctx context.Context, out io.Writer) {
	const (
		window    = 500 * time.Millisecond
		idle      = window / 10
		settleMax = time.Minute
	)
	start := time.Now()
	for time.Since(start) < settleMax {
		before := cputime.Process()
		if sleepUntil(ctx, time.Now().Add(window)) != nil {
			return
		}
		if cputime.Process()-before < idle {
			break
		}
	}
	if waited := time.Since(start); waited > 2*window {
		fmt.Fprintf(out, "nexmark: waited %.1fs for background work (compactions) to finish\n", waited.Seconds())
	}
}

// startProfile starts a CPU profile into dir/name.pprof, if dir is set,
// and an execution trace into dir/name.trace if trace is set too, and
// returns what stops them.
func startProfile(dir, name string, trace bool, out io.Writer) (stop func()) {
	if dir == "" {
		return func() {}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(out, "nexmark: no profile: %v\n", err)
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, name+".pprof"))
	if err != nil {
		fmt.Fprintf(out, "nexmark: no profile: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		fmt.Fprintf(out, "nexmark: no profile: %v\n", err)
		return func() {}
	}
	// The allocation and mutex profiles count since the process began:
	// one of each at each end of the run, so that pprof -diff_base tells
	// the run's. Mutex contention is sampled for the run only.
	runtime.SetMutexProfileFraction(10)
	writeProfile("allocs", filepath.Join(dir, name+".allocs.start.pprof"), out)
	writeProfile("mutex", filepath.Join(dir, name+".mutex.start.pprof"), out)
	var tf *os.File
	if trace {
		if tf, err = os.Create(filepath.Join(dir, name+".trace")); err != nil {
			fmt.Fprintf(out, "nexmark: no trace: %v\n", err)
		} else if err := rtrace.Start(tf); err != nil {
			tf.Close()
			tf = nil
			fmt.Fprintf(out, "nexmark: no trace: %v\n", err)
		}
	}
	return func() {
		if tf != nil {
			rtrace.Stop()
			tf.Close()
		}
		pprof.StopCPUProfile()
		f.Close()
		writeProfile("allocs", filepath.Join(dir, name+".allocs.pprof"), out)
		writeProfile("mutex", filepath.Join(dir, name+".mutex.pprof"), out)
		runtime.SetMutexProfileFraction(0)
	}
}

// writeProfile writes the named runtime profile (cumulative since the
// process began, sampled) to path.
func writeProfile(profile, path string, out io.Writer) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(out, "nexmark: no %s profile: %v\n", profile, err)
		return
	}
	defer f.Close()
	if err := pprof.Lookup(profile).WriteTo(f, 0); err != nil {
		fmt.Fprintf(out, "nexmark: no %s profile: %v\n", profile, err)
	}
}

// Quietness says how busy the machine was with other work during the run.
func (r *Report) Quietness() string { return Quietness(r.Usage, r.Machine) }

// Quietness says how busy machine m was with other work over u: "quiet"
// when other processes kept under a tenth of a core busy, "busy" from
// half a core.
func Quietness(u Usage, m Machine) string {
	oc := u.OtherCores()
	if oc < 0 {
		return fmt.Sprintf("load average %.2f at start; other processes' CPU use unknown", m.LoadAvg)
	}
	verdict := "quiet"
	switch {
	case oc >= 0.5:
		verdict = "busy"
	case oc >= 0.1:
		verdict = "not quiet"
	}
	return fmt.Sprintf("%s: other processes kept %.2f of %d cores busy on average (load average %.2f at start)",
		verdict, oc, m.CPUs, m.LoadAvg)
}

// UsageMeter measures how the CPUs are used from its start.
type UsageMeter struct{ start cpuClock }

// StartUsage starts measuring.
func StartUsage() UsageMeter { return UsageMeter{start: readCPUClock()} }

// Usage is the use since the meter started.
func (m UsageMeter) Usage() Usage { return usageSince(m.start) }

// syncWriter serializes writes to a writer.
type syncWriter struct {
	mu struct {
		sync.Mutex
		// w is only written to under mu.
		w io.Writer
	}
}

func newSyncWriter(w io.Writer) *syncWriter {
	s := &syncWriter{}
	s.mu.w = w
	return s
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.w.Write(p)
}
