package nexmark

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runnel/runnel/log"
)

// LoadOptions configure Load. Events is required; every other field's
// zero value means its documented default.
type LoadOptions struct {
	// Events is how many events to write. Required, > 0.
	Events int64
	// First is the number of the first event written. Default: 0.
	First int64
	// Rate is how many events per second of wall time to write; the
	// writes are spread evenly, one chunk at a time. Default: 0, as fast
	// as the writer takes them.
	Rate float64
	// ChunkEvents is how many consecutive events make one chunk: one
	// Append per topic, or one run of INSERTs. A chunk is extended to the
	// end of its last millisecond of event time, so that the events of one
	// millisecond are written together. Default: 10,000; with Rate, the
	// events of 10 ms of wall time (at least 1).
	ChunkEvents int
	// Workers is how many goroutines generate and encode chunks while the
	// writer writes earlier ones in order. Default: GOMAXPROCS.
	Workers int
	// Progress, when set, is called about every ProgressEvery while the
	// load runs, from a goroutine of Load's, with the events written so
	// far. It is not called after Load returns.
	Progress func(LoadStats)
	// ProgressEvery is the period of Progress. Default: 1s.
	ProgressEvery time.Duration
	// BeforeWrite, when set, is called by the writing goroutine just
	// before each chunk's first write, with its event range [first, end):
	// the latency mode's start of the clock.
	BeforeWrite func(first, end int64)
}

// LoadStats say what Load wrote.
type LoadStats struct {
	// Events is how many events were written, and ByKind how many of each.
	Events int64
	ByKind [3]int64
	// Bytes is the size of the JSON values written (the log writer), or
	// of the INSERT statements sent (the pgwire writer).
	Bytes int64
	// Elapsed is the wall time since the load began.
	Elapsed time.Duration
}

// Rate is events per second of Elapsed.
func (s LoadStats) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Events) / s.Elapsed.Seconds()
}

// Writer is where Load writes events: NewLogWriter or NewPgwireWriter.
type Writer interface {
	// encode prepares a chunk for writing; it runs on the workers, many
	// chunks at once.
	encode(g *Generator, c *chunk) error
	// write writes an encoded chunk; it runs on one goroutine, in event
	// order.
	write(ctx context.Context, c *chunk) error
}

// chunk is a range of events on its way from a worker to the writer.
type chunk struct {
	first, end int64
	recs       [3][]log.Record // the log writer's records, by kind
	stmts      []string        // the pgwire writer's INSERTs
	byKind     [3]int64
	bytes      int64
	err        error
	done       chan struct{} // closed once encoded
}

// Load writes events [opts.First, opts.First+opts.Events) of g through w,
// in event order per topic, and returns what it wrote. It stops early,
// with ctx's error, when ctx is done; the events written until then stay
// written.
//
// Its goroutines (the chunk dispatcher, the workers and the progress
// ticker) all return before Load does, and at most 2*Workers+1 chunks are
// in memory at once.
func Load(ctx context.Context, g *Generator, w Writer, opts LoadOptions) (LoadStats, error) {
	if opts.Events <= 0 {
		return LoadStats{}, fmt.Errorf("nexmark: load: Events must be positive, not %d", opts.Events)
	}
	if opts.First < 0 || opts.Rate < 0 || opts.ChunkEvents < 0 || opts.Workers < 0 || opts.ProgressEvery < 0 {
		return LoadStats{}, fmt.Errorf("nexmark: load: negative option in %+v", opts)
	}
	if opts.Workers == 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.ChunkEvents == 0 {
		opts.ChunkEvents = 10_000
		if opts.Rate > 0 {
			opts.ChunkEvents = max(1, int(opts.Rate/100))
		}
	}
	if opts.ProgressEvery == 0 {
		opts.ProgressEvery = time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	last := opts.First + opts.Events

	jobs := make(chan *chunk, opts.Workers)
	ordered := make(chan *chunk, 2*opts.Workers)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the dispatcher: cuts the range into chunks
		defer wg.Done()
		defer close(jobs)
		defer close(ordered)
		for first := opts.First; first < last; {
			end := min(first+int64(opts.ChunkEvents), last)
			for end < last && g.Timestamp(end) == g.Timestamp(end-1) {
				end++
			}
			c := &chunk{first: first, end: end, done: make(chan struct{})}
			select {
			case ordered <- c:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- c:
			case <-ctx.Done():
				return
			}
			first = end
		}
	}()
	for range opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				c.err = w.encode(g, c)
				close(c.done)
			}
		}()
	}

	var written, bytes atomic.Int64
	var byKind [3]atomic.Int64
	stats := func() LoadStats {
		s := LoadStats{Events: written.Load(), Bytes: bytes.Load(), Elapsed: time.Since(start)}
		for k := range byKind {
			s.ByKind[k] = byKind[k].Load()
		}
		return s
	}
	progressDone := make(chan struct{})
	if opts.Progress != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(opts.ProgressEvery)
			defer t.Stop()
			for {
				select {
				case <-progressDone:
					return
				case <-t.C:
					opts.Progress(stats())
				}
			}
		}()
	}

	err := func() error {
		for c := range ordered {
			select {
			case <-c.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			if c.err != nil {
				return c.err
			}
			if opts.Rate > 0 {
				due := start.Add(time.Duration(float64(c.first-opts.First) / opts.Rate * float64(time.Second)))
				if err := sleepUntil(ctx, due); err != nil {
					return err
				}
			}
			if opts.BeforeWrite != nil {
				opts.BeforeWrite(c.first, c.end)
			}
			if err := w.write(ctx, c); err != nil {
				return err
			}
			written.Add(c.end - c.first)
			bytes.Add(c.bytes)
			for k := range byKind {
				byKind[k].Add(c.byKind[k])
			}
		}
		return ctx.Err()
	}()
	cancel()
	close(progressDone)
	// Unblock the dispatcher and workers: drain what they still send.
	for range ordered {
	}
	wg.Wait()
	s := stats()
	if err != nil {
		return s, fmt.Errorf("nexmark: load after %d of %d events: %w", s.Events, opts.Events, err)
	}
	return s, nil
}

// sleepUntil waits until t or until ctx is done.
func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// kindIndex is event n's position among the events of its kind, from 0:
// the generator's round-robin over a topic's partitions.
func kindIndex(n int64) int64 {
	epoch, rem := n/TotalProportion, n%TotalProportion
	switch KindOf(n) {
	case KindPerson:
		return epoch*PersonProportion + rem
	case KindAuction:
		return epoch*AuctionProportion + rem - PersonProportion
	}
	return epoch*BidProportion + rem - PersonProportion - AuctionProportion
}

// logWriter appends to the three topics through the log API.
type logWriter struct {
	lg         log.Log
	partitions [3]int32
}

// NewLogWriter writes through lg: one Append per topic per chunk, each
// event's JSON as a record without a key, with the event time as the
// record's timestamp, on partition (its index among its kind) modulo the
// topic's partitions: a round-robin like nexmark-flink's Kafka sink's. The
// topics must exist (DDL creates them).
func NewLogWriter(ctx context.Context, lg log.Log) (Writer, error) {
	w := &logWriter{lg: lg}
	for k, topic := range Topics {
		info, err := lg.Topic(ctx, topic)
		if err != nil {
			return nil, fmt.Errorf("nexmark: topic %s: %w", topic, err)
		}
		w.partitions[k] = info.Partitions
	}
	return w, nil
}

func (w *logWriter) encode(g *Generator, c *chunk) error {
	n := c.end - c.first
	// One arena per chunk for all values: sized for the average event
	// (about 150 bytes of JSON), grown by append if need be; records keep
	// slices of it, which stay valid if it moves.
	arena := make([]byte, 0, n*160)
	for i := c.first; i < c.end; i++ {
		e := g.Event(i)
		from := len(arena)
		arena = e.AppendJSON(arena)
		val := arena[from:len(arena):len(arena)]
		c.recs[e.Kind] = append(c.recs[e.Kind], log.Record{
			Value: val, Timestamp: e.Time(), Partition: int32(kindIndex(i) % int64(w.partitions[e.Kind])),
		})
		c.byKind[e.Kind]++
		c.bytes += int64(len(val))
	}
	return nil
}

// write appends a chunk, one Append per topic. Once the first has
// succeeded the others are not cancelled with ctx: a load stopped midway
// then leaves whole chunks, which it counts, rather than a chunk's people
// without its bids, which it would not (TestLoadStops saw 104 events in
// the log for 100 reported).
func (w *logWriter) write(ctx context.Context, c *chunk) error {
	for k, recs := range c.recs {
		if len(recs) == 0 {
			continue
		}
		if _, err := w.lg.Append(ctx, Topics[k], recs); err != nil {
			return fmt.Errorf("append to %s: %w", Topics[k], err)
		}
		ctx = context.WithoutCancel(ctx)
	}
	return nil
}

// pgwireWriter writes with multi-row INSERT ... VALUES over a connection.
type pgwireWriter struct {
	conn *pgx.Conn
	rows int
}

// DefaultInsertRows is how many rows one INSERT of the pgwire writer
// carries: README's ingest figure (25k rows/s) was measured with 500.
const DefaultInsertRows = 500

// NewPgwireWriter writes through conn with INSERT statements of up to rows
// rows each (DefaultInsertRows when rows is 0), ROWTIME set to each
// event's time. The streams must exist (DDL). It is the way in to a
// server that is running: the log API needs the data directory to itself.
// COPY FROM STDIN will be faster once Runnel has it.
func NewPgwireWriter(conn *pgx.Conn, rows int) Writer {
	if rows <= 0 {
		rows = DefaultInsertRows
	}
	return &pgwireWriter{conn: conn, rows: rows}
}

func (w *pgwireWriter) encode(g *Generator, c *chunk) error {
	var open [3]*strings.Builder
	var rows [3]int
	flush := func(k Kind) {
		if b := open[k]; b != nil {
			c.stmts = append(c.stmts, b.String())
			c.bytes += int64(b.Len())
			open[k], rows[k] = nil, 0
		}
	}
	for i := c.first; i < c.end; i++ {
		e := g.Event(i)
		b := open[e.Kind]
		if b == nil {
			b = &strings.Builder{}
			fmt.Fprintf(b, "INSERT INTO %s (%s) VALUES ", Streams[e.Kind], insertColumns[e.Kind])
			open[e.Kind] = b
		} else {
			b.WriteString(", ")
		}
		e.appendSQLValues(b)
		c.byKind[e.Kind]++
		if rows[e.Kind]++; rows[e.Kind] == w.rows {
			flush(e.Kind)
		}
	}
	for k := range open {
		flush(Kind(k))
	}
	return nil
}

func (w *pgwireWriter) write(ctx context.Context, c *chunk) error {
	for _, s := range c.stmts {
		if _, err := w.conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
	}
	return nil
}

// CreateStreams declares the three streams over conn (DDL), creating their
// topics with partitions partitions where they do not exist yet.
func CreateStreams(ctx context.Context, conn *pgx.Conn, partitions int32) error {
	if partitions < 1 {
		return errors.New("nexmark: partitions must be at least 1")
	}
	for _, stmt := range DDL(partitions) {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("nexmark: %s: %w", stmt, err)
		}
	}
	return nil
}
