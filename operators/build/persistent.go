package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/planner"
)

// StoreRole says what a state store holds.
type StoreRole int

const (
	// StoreAggregate holds an aggregation's groups (and windows).
	StoreAggregate StoreRole = iota + 1
	// StoreRows holds the last row of each key of a table input, which a
	// repartition retracts when the key changes.
	StoreRows
	// StoreMaterialized holds a table's current rows, for pull queries.
	StoreMaterialized
)

// Store is one task's state store.
type Store struct {
	// Name is the store's name for state.Manager (Open, Reader, Drop).
	Name string
	Role StoreRole
}

// Query is a persistent query built into tasks, with what its owner needs
// to run it, wait on it and remove it. The tasks are not started: the
// owner runs each (Task.Run) in a goroutine of its own, closes each task's
// Store when its Run returns, and on TERMINATE drops Stores and deletes
// Topics.
type Query struct {
	Tasks []*operators.Task
	// Inputs are the topics the tasks consume with the query's consumer
	// group, in pipeline order — sources, then internal topics: what a
	// pull query waits on, in that order, to read its writes.
	Inputs []string
	// Topics are the internal topics the query uses: repartition topics
	// and, when stores commit through changelogs (Kafka), their changelog
	// topics. The builder creates them when missing.
	Topics []string
	// Stores are the tasks' state stores.
	Stores []Store
	// Sink is the stream or table the query writes; nil for a
	// materializer, which writes only its stores.
	Sink *catalog.Source
	// Metrics count what every task of the query did.
	Metrics *operators.Metrics
}

// Internal topic names of a query. They are part of a data directory's
// format: a restarted query must find the topics, offsets and stores its
// previous run committed, so they never change.
func repartitionTopic(queryID string) string { return internalTopic(queryID, "_repartition") }
func changelogTopic(store string) string     { return internalTopic(store, "_changelog") }

// internalTopic names an internal topic so that Kafka accepts it: a store's
// '/' becomes '-' (Kafka allows only letters, digits, '.', '_' and '-'),
// and a name past Kafka's 249 characters (a long sink name in a query id)
// keeps its start and ends in a hash of the whole, so that it stays unique.
func internalTopic(name, suffix string) string {
	t := "_runnel_" + strings.ReplaceAll(name, "/", "-") + suffix
	if len(t) <= maxTopicName {
		return t
	}
	sum := sha256.Sum256([]byte(t))
	tail := "_" + hex.EncodeToString(sum[:8]) + suffix
	return t[:maxTopicName-len(tail)] + tail
}

// maxTopicName is Kafka's limit on a topic name's length.
const maxTopicName = 249

// storeName is the store of one task: base (a query's stage) and the
// task's partition.
func storeName(base string, partition int32) string { return fmt.Sprintf("%s/%d", base, partition) }

// MaterializedStore names the store that holds partition p of the table
// materialized by the query id (see Materializer).
func MaterializedStore(id string, p int32) string { return storeName(id, p) }

// stage is one cut of a persistent query between topics: its tasks, one
// per partition, read inputs and write the next stage's topic or the sink.
// A stage ends where the tree has a Repartition (whose internal topic the
// next stage reads) or a Sink.
type stage struct {
	// inputs are the topics the stage reads, co-partitioned. Today a stage
	// reads one; a join stage will read two (see doc.go).
	inputs []string
	// store is the base name of each task's store ("" when stateless),
	// role what it holds.
	store string
	role  StoreRole
	// failures reports skipped records to Env.OnFailure.
	failures bool
	// processor makes one task's processor over its store (nil when the
	// stage is stateless). Specs are shared; per-task state (an encoder's
	// buffers) is made here.
	processor func(ctx *stageContext, st *state.TaskStore) (operators.Processor, error)
}

// stageContext is what processors learn only when the query is built
// against the log.
type stageContext struct {
	sinkPartitions int32
	metrics        *operators.Metrics
}

// persistent is a lowered persistent query: its stages in pipeline order
// and the internal topics between them.
type persistent struct {
	// source is the stream or table the first stage reads; every stage
	// has its partition count.
	source   *catalog.Source
	internal []string
	stages   []stage
	sink     *catalog.Source
	// tableSink is set when a stage writes the sink as a table, which
	// partitions a windowed key by the key alone and so needs the sink
	// topic's partition count.
	tableSink bool
}

// lowerPersistent cuts a persistent plan into stages.
func lowerPersistent(id string, root *planner.Sink) (*persistent, error) {
	if err := unbuiltJoin(root); err != nil {
		return nil, err
	}
	sink := root.Target
	if _, err := sinkEncoder(sink); err != nil {
		return nil, err
	}
	a, ok, err := lowerAggregation(root.Input)
	if err != nil {
		return nil, err
	}
	if ok {
		return lowerAggregateStages(id, sink, a)
	}
	r, err := lowerRows(root.Input)
	if err != nil {
		return nil, err
	}
	src := r.scan.Source
	if src.Kind == catalog.KindTable {
		return nil, ErrUnsupported.Errorf("persistent queries over tables are not supported yet, except GROUP BY")
	}
	pipe := r.pipeline()
	return &persistent{source: src, sink: sink, stages: []stage{{
		inputs:   []string{src.Topic},
		failures: true,
		processor: func(*stageContext, *state.TaskStore) (operators.Processor, error) {
			enc, err := sinkEncoder(sink)
			if err != nil {
				return nil, err
			}
			return &operators.Stateless{Decoder: r.dec, Pipeline: pipe, Encoder: enc, Sink: sink.Topic}, nil
		},
	}}}, nil
}

// lowerAggregateStages cuts an aggregation into one stage, or two around
// its repartition topic: the first groups each source record and writes it
// keyed by its group (over a table, retracting the key's previous row,
// which it keeps in a store); the second folds the groups in its store and
// writes the result table.
func lowerAggregateStages(id string, sink *catalog.Source, a *aggregation) (*persistent, error) {
	src := a.scan.Source
	p := &persistent{source: src, sink: sink, tableSink: true}
	input := src.Topic
	if rp := a.repartition; rp != nil {
		topic := repartitionTopic(id)
		p.internal = append(p.internal, topic)
		first := stage{inputs: []string{src.Topic}, failures: true}
		if rp.Retract {
			first.store, first.role = id+"/rows", StoreRows
		}
		first.processor = func(_ *stageContext, st *state.TaskStore) (operators.Processor, error) {
			proc := &operators.Repartition{Grouper: a.grouper, Topic: topic, Table: rp.Retract}
			if st != nil {
				proc.Store = st
			}
			return proc, nil
		}
		p.stages = append(p.stages, first)
		input = topic
	}
	repartitioned := a.repartition != nil
	p.stages = append(p.stages, stage{
		inputs: []string{input}, store: id + "/agg", role: StoreAggregate, failures: true,
		processor: func(sc *stageContext, st *state.TaskStore) (operators.Processor, error) {
			enc, err := sinkEncoder(sink)
			if err != nil {
				return nil, err
			}
			out := &operators.TableSink{Encoder: enc, Topic: sink.Topic, Partitions: sc.sinkPartitions, Window: a.spec.Window}
			ag := &operators.Aggregator{Spec: a.spec, Store: st, Output: out.Emit, Metrics: sc.metrics}
			if repartitioned {
				codec := a.spec.Codec
				ag.Input = func(rec *log.Record) (operators.GroupInput, bool, error) {
					in, err := codec.Decode(rec)
					return in, err == nil, err
				}
			} else {
				ag.Input = a.grouper.Input
			}
			return ag, nil
		},
	})
	return p, nil
}

// Persistent builds the tasks of the persistent query id from its plan,
// whose root is a Sink: it creates the query's internal topics when
// missing and opens its tasks' state stores (restoring them from their
// changelogs in Kafka mode). ctx bounds that work; the tasks run under the
// context their owner gives Task.Run.
//
// On an error nothing is left open: the stores opened so far are closed.
// Topics it created stay (they are created idempotently, and TERMINATE of
// the query deletes them).
func (b *Builder) Persistent(ctx context.Context, id string, plan *planner.Plan) (*Query, error) {
	root := plan.Sink()
	if root == nil {
		return nil, errShape(plan.Root)
	}
	p, err := lowerPersistent(id, root)
	if err != nil {
		return nil, err
	}
	partitions, err := b.Partitions(ctx, p.source.Topic)
	if err != nil {
		return nil, fmt.Errorf("source topic: %w", err)
	}
	sc := &stageContext{}
	if p.tableSink {
		info, err := b.env.Log.Topic(ctx, p.sink.Topic)
		if err != nil {
			return nil, fmt.Errorf("sink topic %s: %w", p.sink.Topic, err)
		}
		sc.sinkPartitions = info.Partitions
	}
	for _, topic := range p.internal {
		if err := b.ensureTopic(ctx, topic, partitions, false); err != nil {
			return nil, err
		}
	}
	q := &Query{Metrics: &operators.Metrics{}, Topics: append([]string(nil), p.internal...), Sink: p.sink}
	sc.metrics = q.Metrics
	if err := b.buildStages(ctx, id, p.stages, partitions, sc, q); err != nil {
		return nil, err
	}
	return q, nil
}

// Materializer builds the tasks that keep a table's current rows in state
// stores for pull queries, as the query id: one store per partition,
// MaterializedStore(id, p).
func (b *Builder) Materializer(ctx context.Context, id string, table *catalog.Source) (*Query, error) {
	partitions, err := b.Partitions(ctx, table.Topic)
	if err != nil {
		return nil, fmt.Errorf("table topic: %w", err)
	}
	win := WindowedKey(table)
	q := &Query{Metrics: &operators.Metrics{}}
	st := stage{inputs: []string{table.Topic}, store: id, role: StoreMaterialized,
		processor: func(_ *stageContext, st *state.TaskStore) (operators.Processor, error) {
			return &operators.Materialize{Store: st, Window: win}, nil
		}}
	if err := b.buildStages(ctx, id, []stage{st}, partitions, &stageContext{metrics: q.Metrics}, q); err != nil {
		return nil, err
	}
	return q, nil
}

// buildStages makes one task per partition of every stage, in pipeline
// order, into q. On an error it closes the stores it opened.
func (b *Builder) buildStages(ctx context.Context, id string, stages []stage, partitions int32, sc *stageContext, q *Query) (err error) {
	defer func() {
		if err != nil {
			for _, t := range q.Tasks {
				if t.Store != nil {
					t.Store.Close()
				}
			}
			q.Tasks = nil
		}
	}()
	for _, s := range stages {
		if len(s.inputs) != 1 {
			// A stage of co-partitioned inputs needs a task that reads
			// several partitions and commits them together (doc.go).
			return ErrUnsupported.Errorf("a stage reading %d topics is not supported yet", len(s.inputs))
		}
		q.Inputs = append(q.Inputs, s.inputs...)
		if s.store != "" && !b.env.State.Shared() {
			q.Topics = append(q.Topics, changelogTopic(s.store))
		}
		for part := int32(0); part < partitions; part++ {
			t := &operators.Task{Log: b.env.Log, Group: id, QueryID: id, Inputs: []log.TopicPartition{{Topic: s.inputs[0], Partition: part}},
				Metrics: q.Metrics, Logger: b.env.Logger}
			if s.failures {
				t.OnFailure = b.env.OnFailure
			}
			if s.store != "" {
				name := storeName(s.store, part)
				if t.Store, err = b.openStore(ctx, s.store, name, partitions, part); err != nil {
					return err
				}
				q.Stores = append(q.Stores, Store{Name: name, Role: s.role})
				// The task owns its store from here: the defer closes it
				// if a later step fails.
				q.Tasks = append(q.Tasks, t)
				if t.Processor, err = s.processor(sc, t.Store); err != nil {
					return err
				}
				continue
			}
			q.Tasks = append(q.Tasks, t)
			if t.Processor, err = s.processor(sc, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// ensureTopic creates an internal topic of n partitions if missing.
func (b *Builder) ensureTopic(ctx context.Context, name string, n int32, compacted bool) error {
	err := b.env.Log.CreateTopic(ctx, name, log.TopicConfig{Partitions: n, Compacted: compacted})
	if err != nil && !errors.Is(err, log.ErrTopicExists) {
		return fmt.Errorf("create internal topic %s: %w", name, err)
	}
	return nil
}

// openStore opens a task's state store, creating its changelog topic when
// the log keeps state outside its own batches (Kafka).
func (b *Builder) openStore(ctx context.Context, base, name string, partitions, partition int32) (*state.TaskStore, error) {
	spec := state.Spec{Name: name}
	if !b.env.State.Shared() {
		topic := changelogTopic(base)
		if err := b.ensureTopic(ctx, topic, partitions, true); err != nil {
			return nil, err
		}
		spec.Changelog = log.TopicPartition{Topic: topic, Partition: partition}
	}
	return b.env.State.Open(ctx, spec)
}
