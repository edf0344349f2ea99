package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runnel/runnel/engine"
	"github.com/runnel/runnel/internal/membudget"
	"github.com/runnel/runnel/tests/nexmark"
)

const nexmarkUsage = `Usage: runnel nexmark <command> [flags]

Nexmark, the streaming benchmark, in Runnel (see BENCHMARKS.md).

Commands:
  generate   write Nexmark events into the streams person, auction and bid
  bench      load events, then run each query to completion and report its speed
             (with --rate, measure latency at a fixed input rate instead)
  queries    list the queries: their Runnel SQL, or why Runnel cannot run them yet

Run 'runnel nexmark <command> --help' for a command's flags.
`

// runNexmark runs `runnel nexmark ...`.
func runNexmark(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, nexmarkUsage)
		return errors.New("nexmark: a command is required")
	}
	switch args[0] {
	case "generate":
		return nexmarkGenerate(ctx, args[1:], stdout, stderr)
	case "bench":
		// The bench runs the engine in this process, with the server's
		// garbage collector settings and default cache budget.
		fmt.Fprintf(stdout, "nexmark: garbage collector at %s\n", tuneGC(membudget.DefaultBytes))
		return nexmarkBench(ctx, args[1:], stdout, stderr)
	case "queries":
		return nexmarkQueries(stdout)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, nexmarkUsage)
		return nil
	}
	fmt.Fprint(stderr, nexmarkUsage)
	return fmt.Errorf("nexmark: unknown command %q", args[0])
}

// generatorFlags are the flags that choose the events.
type generatorFlags struct {
	seed      uint64
	eventRate float64
	baseTime  int64
}

func (g *generatorFlags) register(fs *flag.FlagSet) {
	fs.Uint64Var(&g.seed, "seed", 0, "the events' seed: the same seed gives the same events")
	fs.Float64Var(&g.eventRate, "event-rate", nexmark.DefaultFirstEventRate,
		"events per second of event time (nexmark's first-event.rate): event n happens n/event-rate seconds after --base-time")
	fs.Int64Var(&g.baseTime, "base-time", nexmark.DefaultBaseTime, "event time of the first event, in ms since the epoch (default 2015-07-15 00:00 UTC)")
}

func (g *generatorFlags) config() nexmark.Config {
	return nexmark.Config{Seed: g.seed, FirstEventRate: g.eventRate, BaseTime: g.baseTime}
}

func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("runnel nexmark "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.VisitAll(func(f *flag.Flag) {
			fmt.Fprintf(stderr, "  --%s\n    \t%s (default %q)\n", f.Name, f.Usage, f.DefValue)
		})
	}
	return fs
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

const generateUsage = `Usage: runnel nexmark generate --events N [flags]

Writes Nexmark events (people, auctions and bids, 1:3:46) as JSON into the
topics of the streams person, auction and bid, declaring the streams if they
do not exist. By default it opens the data directory's log itself (the
fastest way in; no server may be running on it, and persistent queries
recorded there run while it writes); with --pgwire it writes through a
running server with multi-row INSERTs instead.

Flags:
`

func nexmarkGenerate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("generate", generateUsage, stderr)
	var gen generatorFlags
	gen.register(fs)
	events := fs.Int64("events", 0, "how many events to write (required)")
	first := fs.Int64("first", 0, "number of the first event: a later run can continue where one stopped")
	rate := fs.Float64("rate", 0, "events per second of wall time; 0 writes as fast as possible")
	partitions := fs.Int("partitions", nexmark.DefaultPartitions, "partitions of each topic the command creates")
	dataDir := fs.String("data-dir", envOr("RUNNEL_DATA_DIR", "./runnel-data"), "directory of the embedded log (env RUNNEL_DATA_DIR)")
	kafka := fs.String("kafka", os.Getenv("RUNNEL_KAFKA"), "comma-separated Kafka brokers instead of the embedded log (env RUNNEL_KAFKA)")
	pgwire := fs.String("pgwire", "", "host:port of a running Runnel to write to with INSERT instead of opening the log")
	insertRows := fs.Int("insert-rows", nexmark.DefaultInsertRows, "rows per INSERT with --pgwire")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("nexmark generate: unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *events <= 0 {
		return errors.New("nexmark generate: --events must be a positive number of events")
	}
	if *partitions < 1 || *partitions > 10000 {
		return fmt.Errorf("nexmark generate: --partitions %d is not between 1 and 10000", *partitions)
	}
	if *pgwire != "" && *kafka != "" {
		return errors.New("nexmark generate: --pgwire writes to a running server, --kafka opens Kafka itself: choose one")
	}
	g, err := nexmark.NewGenerator(gen.config())
	if err != nil {
		return err
	}

	var w nexmark.Writer
	var conn *pgx.Conn
	if *pgwire != "" {
		if conn, err = pgx.Connect(ctx, nexmark.DSN(*pgwire)); err != nil {
			return fmt.Errorf("nexmark generate: connect to %s: %w", *pgwire, err)
		}
		defer conn.Close(context.WithoutCancel(ctx))
		if err := nexmark.CreateStreams(ctx, conn, int32(*partitions)); err != nil {
			return err
		}
		// A second connection for the INSERTs, so the first stays free.
		ins, err := pgx.Connect(ctx, nexmark.DSN(*pgwire))
		if err != nil {
			return fmt.Errorf("nexmark generate: connect to %s: %w", *pgwire, err)
		}
		defer ins.Close(context.WithoutCancel(ctx))
		w = nexmark.NewPgwireWriter(ins, *insertRows)
		fmt.Fprintf(stdout, "nexmark: writing to the server at %s with %d-row INSERTs\n", *pgwire, *insertRows)
	} else {
		opts := engine.Options{DataDir: *dataDir, Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
		where := "data directory " + *dataDir
		if *kafka != "" {
			for _, b := range strings.Split(*kafka, ",") {
				if b = strings.TrimSpace(b); b != "" {
					opts.Kafka = append(opts.Kafka, b)
				}
			}
			where = "Kafka brokers " + strings.Join(opts.Kafka, ",")
		}
		node, err := nexmark.StartNode(ctx, opts)
		if err != nil {
			if *kafka == "" {
				return fmt.Errorf("nexmark generate: open %s: %w (if a server is running on it, write through it with --pgwire host:port)", where, err)
			}
			return fmt.Errorf("nexmark generate: open %s: %w", where, err)
		}
		defer node.Close()
		if conn, err = node.Connect(ctx); err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		if err := nexmark.CreateStreams(ctx, conn, int32(*partitions)); err != nil {
			return err
		}
		if w, err = nexmark.NewLogWriter(ctx, node.Engine.Log()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "nexmark: writing to the log of %s\n", where)
	}
	pace := "as fast as possible"
	if *rate > 0 {
		pace = fmt.Sprintf("at %.0f events/s", *rate)
	}
	fmt.Fprintf(stdout, "nexmark: generating events %d to %d (seed %d) %s\n", *first, *first+*events-1, gen.seed, pace)
	st, err := nexmark.Load(ctx, g, w, nexmark.LoadOptions{Events: *events, First: *first, Rate: *rate,
		Progress: func(s nexmark.LoadStats) {
			fmt.Fprintf(stdout, "nexmark: %d of %d events (%.0f%%), %.0f events/s\n", s.Events, *events, 100*float64(s.Events)/float64(*events), s.Rate())
		}})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "nexmark: wrote %d events (%d people, %d auctions, %d bids) in %.1fs: %.0f events/s\n",
		st.Events, st.ByKind[nexmark.KindPerson], st.ByKind[nexmark.KindAuction], st.ByKind[nexmark.KindBid], st.Elapsed.Seconds(), st.Rate())
	return nil
}

const benchUsage = `Usage: runnel nexmark bench [flags]

Loads events into a fresh embedded log, copies the bid topic raw (no
decoding) for comparison, then runs each query alone, topic to topic, from
the earliest offset to completion, and prints one line per query:

  nexmark q1 events=... seconds=... events/s=... events/s/core=... state_bytes=... raw_copy_ratio=... cpu_seconds=... state_ratio=... offsets_written=... minor_faults=...

With --rate, it measures latency instead: for each --latency-queries query,
on a fresh log, events are written at that rate for --duration, and the
p50 and p99 from an event's append to its output record in the sink topic,
and to a push query's client, are printed.

Flags:
`

func nexmarkBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", benchUsage, stderr)
	var gen generatorFlags
	gen.register(fs)
	events := fs.Int64("events", nexmark.DefaultBenchEvents, "events to load")
	partitions := fs.Int("partitions", nexmark.DefaultPartitions, "partitions of each event topic")
	queryTimeout := fs.Duration("query-timeout", 90*time.Second, "stop a query that has not finished after this long and report how far it got; 0 waits forever")
	queries := fs.String("queries", "", "comma-separated queries to run (q0,q11,...); empty runs the whole suite")
	dataDir := fs.String("data-dir", "", "an empty directory for the log; empty uses a temporary one, removed at the end")
	profileDir := fs.String("profile-dir", "", "write a CPU profile of each query's run (<query>.pprof) here")
	trace := fs.Bool("trace", false, "with --profile-dir, also write an execution trace of each run (<query>.trace; go tool trace); it costs CPU itself")
	commit := fs.String("commit", "unknown", "the commit measured, for the report")
	benchmarks := fs.String("benchmarks", "", "a BENCHMARKS.md whose nexmark section to rewrite with the results")
	chart := fs.String("chart", "", "write an SVG bar chart of the results here")
	rate := fs.Float64("rate", 0, "latency mode: input events per second")
	duration := fs.Duration("duration", 20*time.Second, "latency mode: how long to write events")
	latencyQueries := fs.String("latency-queries", "q0", "latency mode: comma-separated queries to measure (q0, q1, q10, q14)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("nexmark bench: unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *partitions < 1 || *partitions > 10000 {
		return fmt.Errorf("nexmark bench: --partitions %d is not between 1 and 10000", *partitions)
	}
	if *benchmarks != "" {
		kind := "throughput"
		if *rate > 0 {
			kind = "latency"
		}
		if err := nexmark.CheckSection(*benchmarks, kind); err != nil {
			return err
		}
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if *rate > 0 {
		m := nexmark.ThisMachine()
		start := time.Now().UTC()
		meter := nexmark.StartUsage()
		results, err := nexmark.Latency(ctx, nexmark.LatencyOptions{Rate: *rate, Duration: *duration, Queries: splitList(*latencyQueries),
			Generator: gen.config(), Partitions: int32(*partitions), Out: stdout, Logger: logger})
		if err != nil {
			return err
		}
		quiet := nexmark.Quietness(meter.Usage(), m)
		fmt.Fprintf(stdout, "nexmark: %s\n", quiet)
		if *benchmarks != "" {
			md := nexmark.LatencyMarkdown(results, m, *commit, start.Format("2006-01-02 15:04 UTC"), quiet)
			if err := nexmark.ReplaceSection(*benchmarks, "latency", md); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "nexmark: wrote the latency section of %s\n", *benchmarks)
		}
		return nil
	}
	rep, err := nexmark.Bench(ctx, nexmark.BenchOptions{Events: *events, Generator: gen.config(), Partitions: int32(*partitions),
		Queries: splitList(*queries), QueryTimeout: *queryTimeout, DataDir: *dataDir, CPUProfileDir: *profileDir, Trace: *trace, Out: stdout, Logger: logger})
	if err != nil {
		return err
	}
	link := ""
	if *chart != "" {
		if err := os.MkdirAll(filepath.Dir(*chart), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(*chart, []byte(rep.SVG(*commit)), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "nexmark: wrote the chart %s\n", *chart)
		link = *chart
		if *benchmarks != "" {
			if rel, err := filepath.Rel(filepath.Dir(*benchmarks), *chart); err == nil {
				link = filepath.ToSlash(rel)
			}
		}
	}
	if *benchmarks != "" {
		if err := nexmark.ReplaceSection(*benchmarks, "throughput", rep.Markdown(*commit, link)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "nexmark: wrote the results into %s\n", *benchmarks)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func nexmarkQueries(stdout io.Writer) error {
	fmt.Fprintln(stdout, "-- The streams (runnel nexmark generate declares them):")
	for _, s := range nexmark.DDL(nexmark.DefaultPartitions) {
		fmt.Fprintln(stdout, s+";")
	}
	for _, q := range nexmark.Queries() {
		fmt.Fprintf(stdout, "\n-- %s: %s\n", q.Name, q.Title)
		if !q.Supported() {
			fmt.Fprintf(stdout, "-- not supported: %s\n", q.NotSupported)
			continue
		}
		fmt.Fprintln(stdout, q.SQL+";")
	}
	return nil
}
