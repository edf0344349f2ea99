package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators"
	"github.com/runnel/runnel/operators/agg"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/operators/window"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// resolveAggregate is the planner's AggregateResolver, backed by the
// operators' aggregate functions.
func resolveAggregate(name string, argTypes []types.Type, consts []types.Value, distinct bool) (types.Type, error) {
	f, err := agg.Resolve(name, argTypes, consts, distinct)
	if err != nil {
		return types.Type{}, err
	}
	return f.ResultType(), nil
}

// checkFormats is the planner's FormatChecker: building the decoder checks
// a source's formats against its columns.
func checkFormats(src *catalog.Source) error {
	_, err := newDecoder(src)
	return err
}

// windowSpec converts a WINDOW clause.
func windowSpec(w *sql.Window) (*window.Spec, error) {
	if w == nil {
		return nil, nil
	}
	s := &window.Spec{Size: w.Size, Advance: w.Advance, Grace: w.Grace, HasGrace: w.HasGrace, Retention: w.Retention}
	switch w.Kind {
	case sql.Tumbling:
		s.Kind = window.Tumbling
	case sql.Hopping:
		s.Kind = window.Hopping
	case sql.Session:
		s.Kind, s.Gap, s.Size = window.Session, w.Size, 0
	}
	if err := s.Validate(); err != nil {
		return nil, &Error{Code: "22023", Msg: err.Error()}
	}
	return s, nil
}

// aggregation is everything the tasks of an aggregating query share.
type aggregation struct {
	spec    *operators.AggregateSpec
	grouper *operators.Grouper
	// repartition is set when groups are not the input's partitioning
	// key (or the input is a table): stage one then writes the internal
	// repartition topic, which stage two reads.
	repartition bool
}

// buildAggregation resolves a plan's aggregate calls and window into the
// operators' shared spec.
func buildAggregation(plan *flatPlan) (*aggregation, error) {
	a := plan.Aggregate
	src := plan.Source
	if src.Kind == catalog.KindTable && a.Window != nil {
		return nil, &Error{Code: "0A000", Msg: "windowed aggregation of a table is not supported: aggregate a stream"}
	}
	funcs := make([]agg.Func, len(a.Calls))
	args := make([][]expr.Expr, len(a.Calls))
	argTypes := make([][]types.Type, len(a.Calls))
	for i, c := range a.Calls {
		f, err := agg.Resolve(c.Name, c.ArgTypes(), c.Consts, c.Distinct)
		if err != nil {
			return nil, err
		}
		if src.Kind == catalog.KindTable && !f.Retractable() {
			return nil, &Error{Code: "0A000", Msg: fmt.Sprintf("%s cannot aggregate a table: its result cannot retract an updated or deleted row", c.Text)}
		}
		funcs[i], args[i], argTypes[i] = f, c.Args, c.ArgTypes()
	}
	groupTypes := make([]types.Type, len(a.GroupBy))
	for i, g := range a.GroupBy {
		groupTypes[i] = g.Type()
	}
	codec, err := operators.NewGroupCodec(groupTypes, argTypes)
	if err != nil {
		return nil, err
	}
	ws, err := windowSpec(a.Window)
	if err != nil {
		return nil, err
	}
	dec, err := newDecoder(src)
	if err != nil {
		return nil, err
	}
	return &aggregation{
		spec: &operators.AggregateSpec{
			Funcs: funcs, Codec: codec, Window: ws, Final: a.Emit == sql.EmitFinal,
			Having: plan.Having, Project: plan.Project,
		},
		grouper: &operators.Grouper{
			Decoder: dec, Filter: plan.Filter, GroupBy: a.GroupBy, Args: args,
			TimeIndex: len(src.Columns), Codec: codec,
		},
		repartition: a.NeedsRepartition(src),
	}, nil
}

// Internal topic and store names of a query.
func repartitionTopic(queryID string) string { return "_runnel_" + queryID + "_repartition" }
func changelogTopic(store string) string     { return "_runnel_" + store + "_changelog" }

// ensureInternalTopic creates an internal topic of n partitions if missing.
func (e *Engine) ensureInternalTopic(ctx context.Context, name string, n int32, compacted bool) error {
	err := e.log.CreateTopic(ctx, name, log.TopicConfig{Partitions: n, Compacted: compacted})
	if err != nil && !errors.Is(err, log.ErrTopicExists) {
		return fmt.Errorf("create internal topic %s: %w", name, err)
	}
	return nil
}

// openStore opens a task's state store, creating its changelog topic when
// the log keeps state outside its own batches (Kafka).
func (e *Engine) openStore(ctx context.Context, name string, partitions, partition int32) (*state.TaskStore, error) {
	spec := state.Spec{Name: fmt.Sprintf("%s/%d", name, partition)}
	if !e.state.Shared() {
		topic := changelogTopic(name)
		if err := e.ensureInternalTopic(ctx, topic, partitions, true); err != nil {
			return nil, err
		}
		spec.Changelog = log.TopicPartition{Topic: topic, Partition: partition}
	}
	return e.state.Open(ctx, spec)
}

// aggregateTasks builds the tasks of an aggregating persistent query.
func (e *Engine) aggregateTasks(ctx context.Context, q *catalog.Query, plan *flatPlan, rq *runningQuery, partitions int32) ([]*operators.Task, error) {
	ag, err := buildAggregation(plan)
	if err != nil {
		return nil, err
	}
	src, sink := plan.Source, plan.Sink.Target
	sinkInfo, err := e.log.Topic(ctx, sink.Topic)
	if err != nil {
		return nil, fmt.Errorf("sink topic %s: %w", sink.Topic, err)
	}
	onFailure := func(f operators.Failure) (log.ProduceRecord, bool) { return e.processingLogRecord(f), true }
	var tasks []*operators.Task
	var stores []*state.TaskStore
	fail := func(err error) ([]*operators.Task, error) {
		for _, s := range stores {
			s.Close()
		}
		return nil, err
	}
	input := src.Topic
	rq.inputs = []string{src.Topic}
	if ag.repartition {
		rq.inputs = append(rq.inputs, repartitionTopic(q.ID))
		input = repartitionTopic(q.ID)
		if err := e.ensureInternalTopic(ctx, input, partitions, false); err != nil {
			return fail(err)
		}
		for p := int32(0); p < partitions; p++ {
			proc := &operators.Repartition{Grouper: ag.grouper, Topic: input, Table: src.Kind == catalog.KindTable}
			t := &operators.Task{Log: e.log, Group: q.ID, QueryID: q.ID, Processor: proc,
				Input: log.TopicPartition{Topic: src.Topic, Partition: p}, OnFailure: onFailure, Metrics: rq.metrics, Logger: e.logger}
			if proc.Table {
				st, err := e.openStore(ctx, q.ID+"/rows", partitions, p)
				if err != nil {
					return fail(err)
				}
				stores = append(stores, st)
				proc.Store, t.Store = st, st
			}
			tasks = append(tasks, t)
		}
	}
	for p := int32(0); p < partitions; p++ {
		enc, err := operators.NewEncoder(sink.Columns, sink.KeyFormat, sink.ValueFormat, serdeProps(sink))
		if err != nil {
			return fail(err)
		}
		st, err := e.openStore(ctx, q.ID+"/agg", partitions, p)
		if err != nil {
			return fail(err)
		}
		stores = append(stores, st)
		out := &operators.TableSink{Encoder: enc, Topic: sink.Topic, Partitions: sinkInfo.Partitions, Window: ag.spec.Window}
		a := &operators.Aggregator{Spec: ag.spec, Store: st, Output: out.Emit, Metrics: rq.metrics}
		if ag.repartition {
			codec := ag.spec.Codec
			a.Input = func(rec *log.Record) (operators.GroupInput, bool, error) {
				in, err := codec.Decode(rec)
				return in, err == nil, err
			}
		} else {
			a.Input = ag.grouper.Input
		}
		tasks = append(tasks, &operators.Task{Log: e.log, Group: q.ID, QueryID: q.ID, Processor: a, Store: st,
			Input: log.TopicPartition{Topic: input, Partition: p}, OnFailure: onFailure, Metrics: rq.metrics, Logger: e.logger})
	}
	return tasks, nil
}

// dropQueryState removes a terminated aggregation's state stores, their
// changelogs and its repartition topic. Failures are logged: the query is
// gone either way, and what is left is only space.
func (e *Engine) dropQueryState(ctx context.Context, id, sourceTopic string) {
	partitions, err := e.partitionsOf(ctx, sourceTopic)
	if err != nil {
		e.logger.Warn("drop query state: source topic", "query", id, "error", err)
		return
	}
	for _, store := range []string{id + "/agg", id + "/rows"} {
		for p := int32(0); p < partitions; p++ {
			if err := e.state.Drop(ctx, fmt.Sprintf("%s/%d", store, p)); err != nil {
				e.logger.Warn("drop query state", "store", store, "partition", p, "error", err)
			}
		}
		if !e.state.Shared() {
			e.deleteInternalTopic(ctx, changelogTopic(store))
		}
	}
	e.deleteInternalTopic(ctx, repartitionTopic(id))
}

func (e *Engine) deleteInternalTopic(ctx context.Context, name string) {
	if err := e.log.DeleteTopic(ctx, name); err != nil && !errors.Is(err, log.ErrUnknownTopic) {
		e.logger.Warn("delete internal topic", "topic", name, "error", err)
	}
}
