package nexmark

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runnel/runnel/engine"
	"github.com/runnel/runnel/log"
)

// LatencyOptions configure Latency. Rate is required; the zero value of
// every other field means its documented default.
type LatencyOptions struct {
	// Rate is the input rate, in events per second of wall time.
	Rate float64
	// Duration is how long events are written. Default: 20s.
	Duration time.Duration
	// Queries names the queries to measure, each on a fresh node. Each
	// must be a stream query whose rows carry the bid's dateTime: q0, q1,
	// q10 or q14. Default: q0.
	Queries []string
	// Generator, Partitions, Out and Logger are as in BenchOptions.
	Generator  Config
	Partitions int32
	Out        io.Writer
	Logger     *slog.Logger
}

// latencyQueries are the queries whose output rows name their bid's
// event time, which is how a row is traced back to its input.
var latencyQueries = map[string]bool{"q0": true, "q1": true, "q10": true, "q14": true}

// Percentiles summarize latencies.
type Percentiles struct {
	N             int
	P50, P99, Max time.Duration
}

func percentiles(d []time.Duration) Percentiles {
	if len(d) == 0 {
		return Percentiles{}
	}
	slices.Sort(d)
	at := func(p float64) time.Duration { return d[min(len(d)-1, int(p*float64(len(d))))] }
	return Percentiles{N: len(d), P50: at(0.50), P99: at(0.99), Max: d[len(d)-1]}
}

// LatencyResult is one query's latency at a fixed input rate.
type LatencyResult struct {
	Query string
	// Rate is the rate asked for; Achieved, the rate the events were
	// written at (lower when the log could not take them faster).
	Rate, Achieved float64
	Events         int64
	// Sink runs from the moment the generator hands an event's chunk to
	// Append until a reader of the sink topic (through the same log) gets
	// the event's output record; Push, until a push query's client
	// (SELECT ... EMIT CHANGES over pgwire) gets the row.
	Sink, Push Percentiles
}

// Line is the result's one-line report.
func (r LatencyResult) Line() string {
	ms := func(d time.Duration) string { return strconv.FormatFloat(d.Seconds()*1000, 'f', 1, 64) }
	return fmt.Sprintf("nexmark latency %s rate=%.0f achieved=%.0f events=%d sink_p50_ms=%s sink_p99_ms=%s sink_max_ms=%s push_p50_ms=%s push_p99_ms=%s push_max_ms=%s",
		r.Query, r.Rate, r.Achieved, r.Events, ms(r.Sink.P50), ms(r.Sink.P99), ms(r.Sink.Max), ms(r.Push.P50), ms(r.Push.P99), ms(r.Push.Max))
}

// Latency runs each query while events are written at a fixed rate, and
// measures how long each event takes to reach the query's sink topic and
// a push query's client.
func Latency(ctx context.Context, opts LatencyOptions) ([]LatencyResult, error) {
	if !(opts.Rate > 0) {
		return nil, fmt.Errorf("nexmark: latency: Rate must be positive, not %v", opts.Rate)
	}
	if opts.Duration == 0 {
		opts.Duration = 20 * time.Second
	}
	if len(opts.Queries) == 0 {
		opts.Queries = []string{"q0"}
	}
	if opts.Partitions == 0 {
		opts.Partitions = DefaultPartitions
	}
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	events := int64(opts.Rate * opts.Duration.Seconds())
	if events < 1 {
		return nil, fmt.Errorf("nexmark: latency: %v events/s for %v is no event", opts.Rate, opts.Duration)
	}
	var out []LatencyResult
	for _, name := range opts.Queries {
		q, ok := Lookup(name)
		if !ok || !latencyQueries[q.Name] {
			return nil, fmt.Errorf("nexmark: latency: %q is not one of q0, q1, q10, q14, whose rows carry their bid's time", name)
		}
		res, err := runLatency(ctx, q, events, opts)
		if err != nil {
			return nil, err
		}
		fmt.Fprintln(opts.Out, res.Line())
		out = append(out, res)
	}
	return out, nil
}

// chunkMark is when the chunk whose events start at event time ms was
// handed to Append.
type chunkMark struct {
	ms int64
	at time.Time
}

// sample is an output row's event time and when it arrived.
type sample struct {
	ms int64
	at time.Time
}

func runLatency(ctx context.Context, q Query, events int64, opts LatencyOptions) (LatencyResult, error) {
	res := LatencyResult{Query: q.Name, Rate: opts.Rate, Events: events}
	dir, err := os.MkdirTemp("", "runnel-nexmark-latency-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	node, err := StartNode(ctx, engine.Options{DataDir: dir, Logger: opts.Logger})
	if err != nil {
		return res, err
	}
	defer node.Close()
	conn, err := node.Connect(ctx)
	if err != nil {
		return res, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := CreateStreams(ctx, conn, opts.Partitions); err != nil {
		return res, err
	}
	g, err := NewGenerator(opts.Generator)
	if err != nil {
		return res, err
	}
	lg := node.Engine.Log()
	w, err := NewLogWriter(ctx, lg)
	if err != nil {
		return res, err
	}
	ids, err := StartQuery(ctx, conn, q)
	if err != nil {
		return res, err
	}
	info, err := lg.Topic(ctx, q.Sink)
	if err != nil {
		return res, fmt.Errorf("nexmark: latency: sink topic: %w", err)
	}

	// The watchers: a reader per sink partition and a push query, on a
	// connection of its own. They stop when watchCancel is called, once
	// they have seen everything, or when runLatency returns early; either
	// way they are waited for before their connection closes.
	pconn, err := node.Connect(ctx)
	if err != nil {
		return res, err
	}
	defer pconn.Close(context.WithoutCancel(ctx))
	if _, err := pconn.Exec(ctx, `SET 'auto.offset.reset'='earliest'`); err != nil {
		return res, err
	}
	wctx, watchCancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		watchCancel()
		wg.Wait()
	}()
	sinkSamples := make([][]sample, info.Partitions)
	positions := make([]atomic.Int64, info.Partitions)
	errs := make([]error, info.Partitions+1)
	for p := range info.Partitions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[p] = watchSink(wctx, lg, log.TopicPartition{Topic: q.Sink, Partition: p}, &sinkSamples[p], &positions[p])
		}()
	}
	var pushSamples []sample
	var pushed atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		errs[info.Partitions] = watchPush(wctx, pconn, q.Sink, &pushSamples, &pushed)
	}()

	var marks []chunkMark
	fmt.Fprintf(opts.Out, "nexmark: %s: writing %d events at %.0f events/s\n", q.Name, events, opts.Rate)
	st, err := Load(ctx, g, w, LoadOptions{Events: events, Rate: opts.Rate,
		BeforeWrite: func(first, _ int64) { marks = append(marks, chunkMark{ms: g.Timestamp(first), at: time.Now()}) },
		Progress: func(s LoadStats) {
			fmt.Fprintf(opts.Out, "nexmark: %s: written %d of %d events, %d rows pushed\n", q.Name, s.Events, events, pushed.Load())
		},
		ProgressEvery: 5 * time.Second,
	})
	if err != nil {
		return res, err
	}
	res.Achieved = st.Rate()
	if err := AwaitQuery(ctx, conn, lg, q, ids, nil); err != nil {
		return res, err
	}
	ends, err := lg.EndOffsets(ctx, q.Sink)
	if err != nil {
		return res, err
	}
	var total int64
	for _, e := range ends {
		total += e
	}
	// Everything is in the sink; give the watchers a minute to see it.
	deadline := time.Now().Add(time.Minute)
	for {
		caught := pushed.Load() >= total
		for p, e := range ends {
			caught = caught && positions[p].Load() >= e
		}
		if caught {
			break
		}
		if time.Now().After(deadline) {
			watchCancel()
			wg.Wait()
			return res, fmt.Errorf("nexmark: latency: %s: the watchers saw %d pushed rows of %d a minute after the query finished: %w",
				q.Name, pushed.Load(), total, errors.Join(errs...))
		}
		if err := sleepUntil(ctx, time.Now().Add(10*time.Millisecond)); err != nil {
			return res, err
		}
	}
	watchCancel()
	wg.Wait()

	latencies := func(samples []sample) []time.Duration {
		out := make([]time.Duration, 0, len(samples))
		for _, s := range samples {
			// The chunk holding ms is the last one starting at or before
			// it: chunks cover whole milliseconds of event time, in order.
			i, found := slices.BinarySearchFunc(marks, s.ms, func(m chunkMark, ms int64) int {
				switch {
				case m.ms < ms:
					return -1
				case m.ms > ms:
					return 1
				}
				return 0
			})
			if !found {
				i--
			}
			if i < 0 {
				continue
			}
			out = append(out, s.at.Sub(marks[i].at))
		}
		return out
	}
	var all []sample
	for _, s := range sinkSamples {
		all = append(all, s...)
	}
	res.Sink = percentiles(latencies(all))
	res.Push = percentiles(latencies(pushSamples))
	return res, StopQuery(ctx, conn, q, ids)
}

// watchSink reads one partition of a sink topic from its start, noting
// when each record arrives and which event time it carries.
func watchSink(ctx context.Context, lg log.Log, tp log.TopicPartition, samples *[]sample, pos *atomic.Int64) error {
	r, err := lg.NewReader(ctx, tp, 0)
	if err != nil {
		return err
	}
	defer r.Close()
	for {
		recs, err := r.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		now := time.Now()
		for _, rec := range recs {
			if ms, ok := jsonInt(rec.Value, `"DATETIME":`); ok {
				*samples = append(*samples, sample{ms: ms, at: now})
			}
		}
		pos.Store(r.Position())
	}
}

// watchPush runs a push query on the sink and notes when each row arrives.
func watchPush(ctx context.Context, conn *pgx.Conn, sink string, samples *[]sample, n *atomic.Int64) error {
	rows, err := conn.Query(ctx, "SELECT dateTime FROM "+sink+" EMIT CHANGES", pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		now := time.Now()
		if raw := rows.RawValues(); len(raw) == 1 {
			if t, err := time.Parse("2006-01-02 15:04:05.999999999", string(raw[0])); err == nil {
				*samples = append(*samples, sample{ms: t.UnixMilli(), at: now})
			}
		}
		n.Add(1)
	}
	if ctx.Err() != nil {
		return nil
	}
	return rows.Err()
}

// jsonInt finds the integer after key in a JSON object's text: enough for
// the flat records Runnel's JSON format writes.
func jsonInt(b []byte, key string) (int64, bool) {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return 0, false
	}
	rest := b[i+len(key):]
	j := 0
	for j < len(rest) && (rest[j] == '-' || rest[j] >= '0' && rest[j] <= '9') {
		j++
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(rest[:j])), 10, 64)
	return v, err == nil
}
