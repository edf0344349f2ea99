package engine

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators"
	"github.com/runnel/runnel/operators/serde"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/operators/window"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/server"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/types"
)

// prepareSelect describes a push query (EMIT CHANGES) or a pull query.
func (s *session) prepareSelect(st *sql.Select) (*statement, error) {
	if sel := st.Query.Select; sel.From == nil || sel.From.TableRefs == nil {
		return s.prepareConstant(st)
	}
	b := &binding{}
	plan, err := s.e.planner(b).PlanTransient(st.Query)
	if err != nil {
		return nil, err
	}
	if plan.Result().Mode == planner.Pull {
		return &statement{params: b.paramTypes(), cols: resultColumns(plan.Output()), exec: func(ctx context.Context, args []types.Value) (server.Result, error) {
			plan, err := s.e.planner(&binding{values: args}).PlanTransient(st.Query)
			if err != nil {
				return server.Result{}, err
			}
			rows, err := s.e.pull(ctx, plan, s.pullTimeout())
			if err != nil {
				return server.Result{}, err
			}
			return server.Result{Tag: "SELECT", Rows: &sliceIter{rows: rows}}, nil
		}}, nil
	}
	return &statement{params: b.paramTypes(), cols: resultColumns(plan.Output()), exec: func(ctx context.Context, args []types.Value) (server.Result, error) {
		plan, err := s.e.planner(&binding{values: args}).PlanTransient(st.Query)
		if err != nil {
			return server.Result{}, err
		}
		it, err := s.e.startTransient(ctx, plan, st.Query.Emit == sql.EmitNone, s.fromEarliest())
		if err != nil {
			return server.Result{}, err
		}
		return server.Result{Tag: "SELECT", Rows: it}, nil
	}}, nil
}

// resultColumns are a plan's output columns as a client sees them.
func resultColumns(cols []types.Column) []types.Column {
	out := make([]types.Column, len(cols))
	for i, c := range cols {
		out[i] = types.Column{Name: c.Name, Type: c.Type}
	}
	return out
}

// startTransient starts a transient query's readers. A pull query over a
// stream (no EMIT) scans what the topic held when it began; a push query
// starts at the end of the topic, or at its start under 'earliest'.
func (e *Engine) startTransient(ctx context.Context, tree *planner.Plan, scan, earliest bool) (server.RowIter, error) {
	plan := flatten(tree)
	src := plan.Source
	if err := e.sourceFailure(src); err != nil {
		return nil, err
	}
	dec, err := newDecoder(src)
	if err != nil {
		return nil, err
	}
	spec := operators.PushSpec{
		Log:     e.log,
		Topic:   src.Topic,
		Limit:   plan.Limit,
		Metrics: &operators.Metrics{},
		Logger:  e.logger,
		OnFailure: func(f operators.Failure) {
			e.logger.Debug("push query skipped a record", "topic", f.Topic, "partition", f.Record.Partition, "offset", f.Record.Offset, "error", f.Err)
		},
	}
	if err := e.readBounds(ctx, &spec, scan, earliest); err != nil {
		return nil, err
	}
	// The rows outlive this call: they stream until the client's statement
	// context ends, so the readers hang off e.ctx and the iterator's Close.
	if plan.Aggregate != nil {
		return e.startTransientAggregate(spec, plan)
	}
	pipe := &operators.Pipeline{Filter: plan.Filter, Project: plan.Project, TimeIndex: len(src.Columns)}
	return operators.StartPush(e.ctx, spec, e.safeConvert(src.Topic, operators.Rows(dec, pipe))), nil
}

// safeConvert makes a record that panics while a push query's reader
// converts it a skipped record, as a persistent query's task does: the
// readers are goroutines of their own, where a panic would end the process.
// The first panic of the query is logged with its stack; the others are
// counted like any skipped record, so that no query floods the log.
func (e *Engine) safeConvert(topic string, conv operators.Convert[types.Row]) operators.Convert[types.Row] {
	var logged atomic.Bool
	return func(rec *log.Record) (row types.Row, ok bool, err error) {
		defer func() {
			if r := recover(); r != nil {
				if !logged.Swap(true) {
					e.logPanic("push query", r, "topic", topic, "partition", rec.Partition, "offset", rec.Offset)
				}
				row, ok, err = nil, false, fmt.Errorf("panic: %v", r)
			}
		}()
		return conv(rec)
	}
}

// readBounds sets a transient read's partitions and start (and, for a
// scan, end) offsets.
func (e *Engine) readBounds(ctx context.Context, spec *operators.PushSpec, scan, earliest bool) error {
	partitions, err := e.partitionsOf(ctx, spec.Topic)
	if err != nil {
		return err
	}
	spec.Partitions = partitions
	starts, err := e.log.StartOffsets(ctx, spec.Topic)
	if err != nil {
		return fmt.Errorf("start offsets of %s: %w", spec.Topic, err)
	}
	ends, err := e.log.EndOffsets(ctx, spec.Topic)
	if err != nil {
		return fmt.Errorf("end offsets of %s: %w", spec.Topic, err)
	}
	switch {
	case scan:
		spec.Start, spec.End = starts, ends
	case earliest:
		spec.Start = starts
	default:
		spec.Start = ends
	}
	return nil
}

// preparePrint describes PRINT topic: the topic's raw records as text.
func (s *session) preparePrint(st *sql.Print) (*statement, error) {
	cols := []types.Column{
		{Name: "rowtime", Type: types.Timestamp},
		{Name: "partition", Type: types.Int},
		{Name: "offset", Type: types.Bigint},
		{Name: "key", Type: types.String},
		{Name: "value", Type: types.String},
	}
	return &statement{cols: cols, exec: func(ctx context.Context, _ []types.Value) (server.Result, error) {
		it, err := s.e.startPrint(ctx, st, s.fromEarliest())
		if err != nil {
			return server.Result{}, err
		}
		return server.Result{Tag: "PRINT", Rows: it}, nil
	}}, nil
}

// startPrint streams a topic's records. It reads through the same readers
// as a push query with a pass-through "decoder" of raw bytes.
func (e *Engine) startPrint(ctx context.Context, st *sql.Print, earliest bool) (server.RowIter, error) {
	if _, err := e.log.Topic(ctx, st.Topic); err != nil {
		return nil, &Error{Code: "42P01", Msg: fmt.Sprintf("topic %s does not exist", st.Topic)}
	}
	spec := operators.PushSpec{Log: e.log, Topic: st.Topic, Metrics: &operators.Metrics{}, Logger: e.logger}
	if err := e.readBounds(ctx, &spec, false, earliest || st.FromBeginning); err != nil {
		return nil, err
	}
	keyText := e.keyPrinter(st.Topic)
	it := operators.StartPush(e.ctx, spec, func(rec *log.Record) (types.Row, bool, error) {
		return types.Row{types.NewTimestamp(rec.Timestamp), types.NewInt(rec.Partition), types.NewBigint(rec.Offset),
			textValue(keyText(rec.Key)), textValue(printable(rec.Value))}, true, nil
	})
	return &printIter{push: it, interval: st.Interval, limit: st.Limit}, nil
}

// keyPrinter renders the keys of a topic for PRINT. Text keys (STRING,
// JSON) print as they are. When a stream or table over the topic declares
// the key, its key format reads binary keys exactly (KAFKA's INT, BIGINT
// and DOUBLE), and a windowed table's window shows as key@start/end, as
// ksqlDB prints it; otherwise, or when a key does not decode, printable
// guesses.
func (e *Engine) keyPrinter(topic string) func([]byte) any {
	for _, src := range e.cat.Sources() {
		keys := src.KeyColumns()
		if src.Topic != topic || len(keys) == 0 {
			continue
		}
		kf, err := serde.NewKeyFormat(src.KeyFormat, keys, serdeProps(src))
		if err != nil {
			break
		}
		win := windowedKey(src)
		return func(b []byte) any {
			if b == nil {
				return nil
			}
			key, suffix := b, ""
			if win != nil {
				var w window.Window
				var err error
				if win.Session {
					key, w, err = window.ParseSessionWindowedKey(b)
				} else {
					var start int64
					key, start, err = window.ParseTimeWindowedKey(b)
					w = window.Window{Start: start, End: start + win.SizeMs}
				}
				if err != nil {
					return printable(b)
				}
				suffix = fmt.Sprintf("@%d/%d", w.Start, w.End)
			}
			if utf8.Valid(key) && isText(key) {
				return string(key) + suffix // text keys print as they are
			}
			vals, err := kf.Decode(key)
			if err != nil {
				return printable(b)
			}
			parts := make([]string, len(vals))
			for i, v := range vals {
				parts[i] = types.Format(v, keys[i].Type)
			}
			return strings.Join(parts, ", ") + suffix
		}
	}
	return printable
}

// textValue turns printable's result into a STRING value or NULL.
func textValue(v any) types.Value {
	if s, ok := v.(string); ok {
		return types.NewString(s)
	}
	return types.NullValue
}

// printIter applies PRINT's INTERVAL and LIMIT.
type printIter struct {
	push     *operators.Push[types.Row]
	interval int64
	limit    int64
	seen     int64
	sent     int64
}

func (p *printIter) Next(ctx context.Context) (types.Row, error) {
	for {
		if p.limit > 0 && p.sent >= p.limit {
			return nil, io.EOF
		}
		row, err := p.push.Next(ctx)
		if err != nil {
			return nil, err
		}
		p.seen++
		if p.interval > 1 && (p.seen-1)%p.interval != 0 {
			continue
		}
		p.sent++
		return row, nil
	}
}

func (p *printIter) Close() { p.push.Close() }

// startTransientAggregate runs a push query with GROUP BY in the client's
// statement: readers of every partition feed raw records to one goroutine
// (the iterator's caller) that groups and aggregates them in memory, as one
// task would, and returns each changed row.
func (e *Engine) startTransientAggregate(spec operators.PushSpec, plan *flatPlan) (server.RowIter, error) {
	ag, err := buildAggregation(plan)
	if err != nil {
		return nil, err
	}
	limit := spec.Limit
	spec.Limit = 0
	it := &aggIter{limit: limit}
	it.agg = &operators.Aggregator{Spec: ag.spec, Store: state.NewMemStore(), Metrics: spec.Metrics,
		Output: func(out operators.AggOutput, _ operators.Emit) error {
			if out.Row != nil {
				it.pending = append(it.pending, out.Row)
			}
			return nil
		}}
	if plan.Source.Kind == catalog.KindTable {
		// A table's updates retract the rows they replace, exactly as the
		// persistent query's first stage does.
		codec := ag.spec.Codec
		rep := &operators.Repartition{Grouper: ag.grouper, Table: true, Store: state.NewMemStore()}
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
			in, ok, err := ag.grouper.Input(rec)
			if err != nil || !ok {
				return err
			}
			return it.agg.Apply(&in, nil)
		}
	}
	it.push = operators.StartPush(e.ctx, spec, func(rec *log.Record) (log.Record, bool, error) { return *rec, true, nil })
	return it, nil
}

// aggIter aggregates a transient query's records as it is read.
type aggIter struct {
	push    *operators.Push[log.Record]
	agg     *operators.Aggregator
	feed    func(rec *log.Record) error
	pending []types.Row
	limit   int64
	sent    int64
}

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
		_ = a.feed(&rec)
		if err := a.agg.Flush(nil); err != nil {
			return nil, err
		}
	}
}

func (a *aggIter) Close() { a.push.Close() }

// prepareConstant answers a SELECT without FROM with its one row.
func (s *session) prepareConstant(st *sql.Select) (*statement, error) {
	b := &binding{}
	plan, err := s.e.planner(b).PlanConstant(st.Query)
	if err != nil {
		return nil, err
	}
	return &statement{params: b.paramTypes(), cols: plan.Output(), exec: func(ctx context.Context, args []types.Value) (server.Result, error) {
		tree, err := s.e.planner(&binding{values: args}).PlanConstant(st.Query)
		if err != nil {
			return server.Result{}, err
		}
		plan := flatten(tree)
		row := make(types.Row, len(plan.Project))
		for i, e := range plan.Project {
			if row[i], err = e.Eval(nil); err != nil {
				return server.Result{}, err
			}
		}
		return server.Result{Tag: "SELECT", Rows: &sliceIter{rows: []types.Row{row}}}, nil
	}}, nil
}
