package build

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync/atomic"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/sql/types"
)

// RowIter is the rows of a transient query, as the server sends them: the
// contract of server.RowIter, which every iterator the builder returns
// meets. Next and Close are called from one goroutine at a time.
type RowIter interface {
	// Next returns the next row, io.EOF when there are no more, or an
	// error (ctx's, when it ends first). The row is the caller's.
	Next(ctx context.Context) (types.Row, error)
	// Close stops whatever produces the rows and waits for it. It must be
	// called once the rows are not wanted, also after io.EOF.
	Close()
}

// ReadMode is where a transient read of a topic starts and ends.
type ReadMode int

const (
	// ReadNew starts at the end of each partition and streams what is
	// written from then on (a push query's default).
	ReadNew ReadMode = iota + 1
	// ReadAll starts at the start of each partition and streams on
	// ('auto.offset.reset' = 'earliest').
	ReadAll
	// ReadToEnd reads from the start to where each partition ends when the
	// read begins, then stops (a stream queried without EMIT).
	ReadToEnd
)

// Reads describes reading every partition of topic for a transient
// query: its partitions and the offsets mode gives. The caller starts the
// readers (operators.StartPush) and sets what else the spec needs.
func (b *Builder) Reads(ctx context.Context, topic string, mode ReadMode) (operators.PushSpec, error) {
	spec := operators.PushSpec{Log: b.env.Log, Topic: topic, Metrics: &operators.Metrics{}, Logger: b.env.Logger}
	partitions, err := b.Partitions(ctx, topic)
	if err != nil {
		return spec, err
	}
	spec.Partitions = partitions
	starts, err := b.env.Log.StartOffsets(ctx, topic)
	if err != nil {
		return spec, fmt.Errorf("start offsets of %s: %w", topic, err)
	}
	ends, err := b.env.Log.EndOffsets(ctx, topic)
	if err != nil {
		return spec, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	switch mode {
	case ReadToEnd:
		spec.Start, spec.End = starts, ends
	case ReadAll:
		spec.Start = starts
	default:
		spec.Start = ends
	}
	return spec, nil
}

// PushQuery is a transient push query (or stream scan) built and ready to
// start: its reads are planned, nothing runs yet.
type PushQuery struct {
	start func(owner context.Context) RowIter
}

// Start starts the query's readers, one goroutine per partition, which run
// until the returned iterator is closed or owner ends. owner is the
// context of whoever owns the rows' lifetime (the engine's, since rows
// stream past the statement that started them).
func (q *PushQuery) Start(owner context.Context) RowIter { return q.start(owner) }

// Push builds a transient query whose root is a Result in Push or
// StreamScan mode: a reader per partition of its source, decoding and
// running the plan's row operators — or, for GROUP BY, feeding one
// aggregation in the caller's goroutine. earliest starts a push query at
// the start of its topic rather than its end. ctx bounds looking up the
// topic's partitions and offsets.
func (b *Builder) Push(ctx context.Context, plan *planner.Plan, earliest bool) (*PushQuery, error) {
	root := plan.Result()
	if root == nil || (root.Mode != planner.Push && root.Mode != planner.StreamScan) {
		return nil, errShape(plan.Root)
	}
	if planner.Find[*planner.Join](root) != nil {
		q, ok, err := b.pushJoin(ctx, root, earliest)
		if !ok && err == nil {
			err = errShape(root)
		}
		return q, err
	}
	a, isAgg, err := lowerAggregation(root.Input)
	if err != nil {
		return nil, err
	}
	var r *rows
	var scan *planner.Scan
	if isAgg {
		scan = a.scan
	} else {
		if r, err = lowerRows(root.Input); err != nil {
			return nil, err
		}
		scan = r.scan
	}
	mode := ReadNew
	switch {
	case scan.Bounded:
		mode = ReadToEnd
	case earliest:
		mode = ReadAll
	}
	spec, err := b.Reads(ctx, scan.Source.Topic, mode)
	if err != nil {
		return nil, err
	}
	spec.Limit = root.Limit
	spec.OnFailure = func(f operators.Failure) {
		b.env.Logger.Debug("push query skipped a record", "topic", f.Topic, "partition", f.Record.Partition, "offset", f.Record.Offset, "error", f.Err)
	}
	if isAgg {
		return b.pushAggregate(spec, a), nil
	}
	if r.flat != nil {
		return b.pushFlat(spec, r), nil // table functions (flatmap.go)
	}
	conv := b.safeConvert(spec.Topic, operators.Rows(r.dec, r.pipeline()))
	return &PushQuery{start: func(owner context.Context) RowIter { return operators.StartPush(owner, spec, conv) }}, nil
}

// safeConvert makes a record that panics while a push query's reader
// converts it a skipped record, as a persistent query's task does: the
// readers are goroutines of their own, where a panic would end the process.
// The first panic of the query is logged with its stack; the others are
// counted like any skipped record, so that no query floods the log.
func (b *Builder) safeConvert(topic string, conv operators.Convert[types.Row]) operators.Convert[types.Row] {
	return safeConvertOf(b, topic, conv)
}

// safeConvertOf is safeConvert for a converter of any item.
func safeConvertOf[T any](b *Builder, topic string, conv operators.Convert[T]) operators.Convert[T] {
	var logged atomic.Bool
	return func(rec *log.Record) (row T, ok bool, err error) {
		defer func() {
			if r := recover(); r != nil {
				if !logged.Swap(true) {
					b.env.Logger.Error("push query panicked", "topic", topic, "partition", rec.Partition, "offset", rec.Offset,
						"panic", r, "stack", string(debug.Stack()))
				}
				var zero T
				row, ok, err = zero, false, fmt.Errorf("panic: %v", r)
			}
		}()
		return conv(rec)
	}
}

// pushAggregate runs a push query with GROUP BY in the client's
// statement: readers of every partition feed raw records to one goroutine
// (the iterator's caller) that groups and aggregates them in memory, as
// one task would, and returns each changed row. Its repartition is not
// needed — every partition meets in that goroutine — except for what it
// does over a table: retracting the rows that updates replace.
func (b *Builder) pushAggregate(spec operators.PushSpec, a *aggregation) *PushQuery {
	limit := spec.Limit
	spec.Limit = 0
	return &PushQuery{start: func(owner context.Context) RowIter {
		it := &aggIter{limit: limit, logger: b.env.Logger, topic: spec.Topic}
		it.agg = &operators.Aggregator{Spec: a.spec, Store: state.NewMemStore(), Metrics: spec.Metrics,
			Output: func(out operators.AggOutput, _ operators.Emit) error {
				if out.Row != nil {
					it.pending = append(it.pending, out.Row)
				}
				return nil
			}}
		if a.scan.Source.Kind == catalog.KindTable {
			// A table's updates retract the rows they replace, exactly
			// as the persistent query's first stage does.
			codec := a.spec.Codec
			rep := &operators.Repartition{Grouper: a.grouper, Table: true, Store: state.NewMemStore()}
			it.feed = func(rec *log.Record) error {
				var inputs []log.Record
				if err := rep.Process(rec, func(pr log.ProduceRecord) { inputs = append(inputs, pr.Record) }); err != nil {
					return err
				}
				for i := range inputs {
					in, err := codec.Decode(&inputs[i])
					if err != nil {
						return err
					}
					if err := it.agg.Apply(&in, nil); err != nil {
						return err
					}
				}
				return nil
			}
		} else {
			it.feed = func(rec *log.Record) error {
				in, ok, err := a.grouper.Input(rec)
				if err != nil || !ok {
					return err
				}
				return it.agg.Apply(&in, nil)
			}
		}
		it.push = operators.StartPush(owner, spec, func(rec *log.Record) (log.Record, bool, error) { return *rec, true, nil })
		return it
	}}
}

// aggIter aggregates a transient query's records as it is read. Its memory
// is the groups it has seen, as a persistent aggregation's store would be,
// and the rows one record changed (one per window it falls in).
type aggIter struct {
	push    *operators.Push[log.Record]
	agg     *operators.Aggregator
	feed    func(rec *log.Record) error
	pending []types.Row
	limit   int64
	sent    int64
	logger  *slog.Logger
	topic   string
	// panicked is set once a record has panicked (logged once).
	panicked bool
}

// Next implements RowIter.
func (a *aggIter) Next(ctx context.Context) (types.Row, error) {
	for {
		if a.limit < 0 || (a.limit > 0 && a.sent >= a.limit) {
			return nil, io.EOF
		}
		if len(a.pending) > 0 {
			row := a.pending[0]
			a.pending = a.pending[1:]
			a.sent++
			return row, nil
		}
		rec, err := a.push.Next(ctx)
		if err != nil {
			return nil, err
		}
		// A record that cannot be processed is skipped, as in a
		// persistent query.
		_ = a.safeFeed(&rec)
		if err := a.agg.Flush(nil); err != nil {
			return nil, err
		}
	}
}

// safeFeed feeds one record, turning a panic into the record's error as
// the readers' safeConvert does: a push query skips such a record.
func (a *aggIter) safeFeed(rec *log.Record) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if !a.panicked {
				a.panicked = true
				a.logger.Error("push query panicked", "topic", a.topic, "partition", rec.Partition, "offset", rec.Offset,
					"panic", r, "stack", string(debug.Stack()))
			}
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return a.feed(rec)
}

// Close implements RowIter.
func (a *aggIter) Close() { a.push.Close() }
