package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/internal/membudget"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators"
	"github.com/runnel/runnel/operators/agg"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/operators/window"
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
	// StoreJoin holds a join's state: for a stream-table join, the
	// table's latest row of each key.
	StoreJoin
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
	// Memory is the account the tasks' caches draw their shares of
	// Env.Memory from; the owner releases it when every task's Run has
	// returned. Nil without Env.Memory.
	Memory *membudget.Account
}

// Internal topic names of a query. They are part of a data directory's
// format: a restarted query must find the topics, offsets and stores its
// previous run committed, so they never change.
func repartitionTopic(queryID string) string { return internalTopicName(queryID, "_repartition") }
func changelogTopic(store string) string     { return internalTopicName(store, "_changelog") }

// internalTopic is an internal topic a query writes between its stages,
// and its partition count (0: the query's source topic's).
type internalTopic struct {
	name       string
	partitions int32
}

// internalTopicName names an internal topic so that Kafka accepts it: a store's
// '/' becomes '-' (Kafka allows only letters, digits, '.', '_' and '-'),
// and a name past Kafka's 249 characters (a long sink name in a query id)
// keeps its start and ends in a hash of the whole, so that it stays unique.
func internalTopicName(name, suffix string) string {
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
	// inputs are the topics the stage reads, co-partitioned: one, or a
	// join's two, merged by event time (ties to the first). The stage runs
	// a task per partition of its inputs.
	inputs []string
	// times, per input, give a record's event time for the merge when it
	// is not the record's timestamp (nil entries: it is).
	times []func(*log.Record) int64
	// upstream, per input, names the earlier stage that writes it (a
	// join's repartition topic), which the merge waits for (nil entries:
	// a source).
	upstream []*operators.MergeUpstream
	// store is the base name of each task's store ("" when stateless),
	// role what it holds.
	store string
	role  StoreRole
	// failures reports skipped records to Env.OnFailure.
	failures bool
	// whole makes the stage one task that reads every partition of every
	// input, the inputs in order and each input's partitions in order (a
	// foreign-key join, whose tables need not be co-partitioned).
	whole bool
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
	// inputs are the inputs of the task whose processor is being made.
	inputs []log.TopicPartition
	// memory is the query's account (Query.Memory), which its caches
	// draw from.
	memory *membudget.Account
	// emitCacheBytes is the query's cache.max.bytes.buffering for its
	// aggregation (operators.Aggregator.EmitCacheBytes): 0 is off.
	emitCacheBytes int
	// combine is the query's planner.Sink.Combine: its aggregation's
	// first stage may write partials; combineWindows its CombineWindows:
	// a windowed one's too.
	combine, combineWindows bool
}

// emitCacheBytes is the emit cache of sink's query, as
// operators.Aggregator.EmitCacheBytes takes it.
func emitCacheBytes(sink *planner.Sink) int {
	switch n := sink.CacheMaxBytes; {
	case n == 0:
		return planner.DefaultCacheMaxBytes
	case n < 0:
		return 0
	case n > math.MaxInt32:
		// Pending groups are at most a batch's anyway (32,768 records,
		// times a hopping window's windows each): a larger limit is
		// no limit.
		return math.MaxInt32
	default:
		return int(n)
	}
}

// persistent is a lowered persistent query: its stages in pipeline order
// and the internal topics between them.
type persistent struct {
	// source is the stream or table the first stage reads.
	source *catalog.Source
	// internal are the topics between stages, created when missing.
	internal []internalTopic
	stages   []stage
	sink     *catalog.Source
	// tableSink is set when a stage writes the sink as a table, or a
	// windowed stream's rows: a windowed key is partitioned by the key
	// alone, which needs the sink topic's partition count.
	tableSink bool
}

// lowerPersistent cuts a persistent plan into stages.
func lowerPersistent(id string, root *planner.Sink) (*persistent, error) {
	sink := root.Target
	if _, err := sinkEncoder(sink); err != nil {
		return nil, err
	}
	if planner.Find[*planner.Join](root) != nil {
		p, ok, err := lowerJoinPersistent(id, root)
		if !ok && err == nil {
			err = errShape(root)
		}
		return p, err
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
	table := src.Kind == catalog.KindTable
	pipe := r.pipeline()
	windowed := WindowedKey(sink)
	return &persistent{source: src, sink: sink, tableSink: windowed != nil, stages: []stage{{
		inputs:   []string{src.Topic},
		failures: true,
		processor: func(sc *stageContext, _ *state.TaskStore) (operators.Processor, error) {
			enc, err := sinkEncoder(sink)
			if err != nil {
				return nil, err
			}
			// A stream's null values flow through as ksqlDB's do; a
			// table's changelog keeps its deletes (operators.Stateless).
			// A windowed stream's rows keep their windows.
			return &operators.Stateless{Decoder: r.dec, Pipeline: pipe, Encoder: enc, Sink: sink.Topic,
				Tombstones: !table, Table: table,
				Window: windowed, WindowIndex: len(src.Columns) + 3, Partitions: sc.sinkPartitions}, nil
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
	if rp := a.repartition; rp != nil {
		topic := repartitionTopic(id)
		p.internal = append(p.internal, internalTopic{name: topic})
		first := stage{inputs: []string{src.Topic}, failures: true}
		if rp.Retract {
			first.store, first.role = id+"/rows", StoreRows
		}
		first.processor = func(sc *stageContext, st *state.TaskStore) (operators.Processor, error) {
			proc := &operators.Repartition{Grouper: a.grouper, Topic: topic, Table: rp.Retract}
			if st != nil {
				proc.Store = st
			}
			if combines(sc, rp, a.spec, true) {
				proc.Combine = a.spec.Funcs
				proc.Window = a.spec.Window
			}
			return proc, nil
		}
		second := aggregateStage(id, sink, a, topic)
		// The first stage is the second's upstream: a cached aggregation
		// waits for more of its commit only while that stage is behind
		// (operators' task_linger.go).
		second.upstream = []*operators.MergeUpstream{{Group: id, Topic: src.Topic}}
		p.stages = append(p.stages, first, second)
		return p, nil
	}
	p.stages = append(p.stages, aggregateStage(id, sink, a, ""))
	return p, nil
}

// combines reports whether an aggregation's first stage combines a
// batch's rows of a group before the repartition (operators' combine.go):
// the query's plan allows it (planner.Sink.Combine, which a query created
// before partials existed lacks, so that it keeps writing rows; and for
// windows CombineWindows, likewise); the input is a stream, the
// aggregation unwindowed or (when windows is set: a Repartition's, not a
// JoinCombine's) in time windows, which combine per group and window,
// and every function combines (agg.Combines:
// COUNT, MIN, MAX, no DISTINCT set); and the emit cache is on, for with
// cache.max.bytes.buffering = 0 every row's change is to be seen, unless
// the windows EMIT FINAL, which shows none of them.
func combines(sc *stageContext, rp *planner.Repartition, spec *operators.AggregateSpec, windows bool) bool {
	if !sc.combine || rp.Retract {
		return false
	}
	if w := spec.Window; w != nil && (!windows || !sc.combineWindows || w.Kind == window.Session) {
		return false
	}
	if sc.emitCacheBytes <= 0 && !(spec.Window != nil && spec.Final) {
		return false
	}
	for _, f := range spec.Funcs {
		if !agg.Combines(f) {
			return false
		}
	}
	return true
}

// aggregateStage is the stage that folds groups into the aggregation's
// store and writes the result table: reading the repartition topic (its
// records are group inputs), or the source itself when input is "".
func aggregateStage(id string, sink *catalog.Source, a *aggregation, input string) stage {
	repartitioned := input != ""
	if !repartitioned {
		input = a.scan.Source.Topic
	}
	return stage{
		inputs: []string{input}, store: id + "/agg", role: StoreAggregate, failures: true,
		processor: func(sc *stageContext, st *state.TaskStore) (operators.Processor, error) {
			enc, err := sinkEncoder(sink)
			if err != nil {
				return nil, err
			}
			out := &operators.TableSink{Encoder: enc, Topic: sink.Topic, Partitions: sc.sinkPartitions, Window: a.spec.Window}
			// TableSink.Emit encodes each row before it returns.
			ag := &operators.Aggregator{Spec: a.spec, Store: st, Output: out.Emit, Metrics: sc.metrics, Memory: sc.memory, ReuseRows: true,
				EmitCacheBytes: sc.emitCacheBytes}
			if repartitioned {
				ag.Input = a.spec.Codec.Reader()
			} else {
				ag.Input = a.grouper.Reader()
			}
			return ag, nil
		},
	}
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
	sourceParts, err := b.Partitions(ctx, p.source.Topic)
	if err != nil {
		return nil, fmt.Errorf("source topic: %w", err)
	}
	sc := &stageContext{emitCacheBytes: emitCacheBytes(root), combine: root.Combine, combineWindows: root.CombineWindows}
	if p.tableSink {
		info, err := b.env.Log.Topic(ctx, p.sink.Topic)
		if err != nil {
			return nil, fmt.Errorf("sink topic %s: %w", p.sink.Topic, err)
		}
		sc.sinkPartitions = info.Partitions
	}
	q := &Query{Metrics: &operators.Metrics{}, Sink: p.sink, Memory: b.env.Memory.Account()}
	sc.memory = q.Memory
	for _, t := range p.internal {
		// A topic's count is the planner's (a join's partition count),
		// checked against this server's limit like any topic's.
		if t.partitions == 0 {
			t.partitions = sourceParts
		}
		if err := catalog.CheckPartitions(t.name, t.partitions, b.env.MaxPartitions); err != nil {
			return nil, err
		}
		// Each is written by one stage of the query and read by the
		// next, under the query's group, once: the log may delete
		// what the group has committed past, as Kafka Streams purges
		// its repartition topics. (A topic made before the flag
		// existed keeps its records, as it did.)
		if err := b.ensureTopic(ctx, t.name, log.TopicConfig{Partitions: t.partitions, DeleteConsumed: true}); err != nil {
			return nil, err
		}
		q.Topics = append(q.Topics, t.name)
	}
	sc.metrics = q.Metrics
	if err := b.buildStages(ctx, id, p.stages, sc, q); err != nil {
		return nil, err
	}
	return q, nil
}

// Materializer builds the tasks that keep a table's current rows in state
// stores for pull queries, as the query id: one store per partition,
// MaterializedStore(id, p).
func (b *Builder) Materializer(ctx context.Context, id string, table *catalog.Source) (*Query, error) {
	if _, err := b.Partitions(ctx, table.Topic); err != nil {
		return nil, fmt.Errorf("table topic: %w", err)
	}
	win := WindowedKey(table)
	q := &Query{Metrics: &operators.Metrics{}}
	st := stage{inputs: []string{table.Topic}, store: id, role: StoreMaterialized,
		processor: func(_ *stageContext, st *state.TaskStore) (operators.Processor, error) {
			return &operators.Materialize{Store: st, Window: win}, nil
		}}
	if err := b.buildStages(ctx, id, []stage{st}, &stageContext{metrics: q.Metrics}, q); err != nil {
		return nil, err
	}
	return q, nil
}

// buildStages makes one task per partition of every stage, in pipeline
// order, into q: a stage has as many tasks as its inputs have partitions
// (inputs that disagree are refused: they are not co-partitioned). On an
// error it closes the stores it opened.
func (b *Builder) buildStages(ctx context.Context, id string, stages []stage, sc *stageContext, q *Query) (err error) {
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
		tasks, times, err := b.stageTasks(ctx, s)
		if err != nil {
			return err
		}
		partitions := int32(len(tasks))
		q.Inputs = append(q.Inputs, s.inputs...)
		if s.store != "" && !b.env.State.Shared() {
			q.Topics = append(q.Topics, changelogTopic(s.store))
		}
		for part := int32(0); part < partitions; part++ {
			t := &operators.Task{Log: b.env.Log, Group: id, QueryID: id, Time: times, Metrics: q.Metrics, Logger: b.env.Logger}
			t.Inputs = tasks[part]
			sc.inputs = t.Inputs
			if !s.whole {
				// A whole stage reads every partition of catalog tables:
				// none is written by an earlier stage.
				t.Upstream = s.upstream
			}
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

// stageTasks lists the inputs of each task of a stage, and the time
// functions of a task's inputs: a task per partition of its inputs, which
// must agree (they are co-partitioned), reading that partition of each —
// or, for a whole stage, one task reading every partition of each.
func (b *Builder) stageTasks(ctx context.Context, s stage) ([][]log.TopicPartition, []func(*log.Record) int64, error) {
	counts := make([]int32, len(s.inputs))
	for i, in := range s.inputs {
		n, err := b.Partitions(ctx, in)
		if err != nil {
			return nil, nil, err
		}
		counts[i] = n
	}
	if s.whole {
		var set []log.TopicPartition
		var times []func(*log.Record) int64
		for i, in := range s.inputs {
			for p := range counts[i] {
				set = append(set, log.TopicPartition{Topic: in, Partition: p})
				if i < len(s.times) {
					times = append(times, s.times[i])
				} else {
					times = append(times, nil)
				}
			}
		}
		return [][]log.TopicPartition{set}, times, nil
	}
	for i, n := range counts[1:] {
		if n != counts[0] {
			return nil, nil, ErrUnsupported.Errorf("cannot join %s and %s: their topics have %d and %d partitions now, and a join reads them co-partitioned (were they re-created?)",
				s.inputs[0], s.inputs[i+1], counts[0], n)
		}
	}
	tasks := make([][]log.TopicPartition, counts[0])
	for part := range counts[0] {
		for _, in := range s.inputs {
			tasks[part] = append(tasks[part], log.TopicPartition{Topic: in, Partition: part})
		}
	}
	return tasks, s.times, nil
}

// ensureTopic creates an internal topic if missing.
func (b *Builder) ensureTopic(ctx context.Context, name string, cfg log.TopicConfig) error {
	err := b.env.Log.CreateTopic(ctx, name, cfg)
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
		if err := b.ensureTopic(ctx, topic, log.TopicConfig{Partitions: partitions, Compacted: true}); err != nil {
			return nil, err
		}
		spec.Changelog = log.TopicPartition{Topic: topic, Partition: partition}
	}
	return b.env.State.Open(ctx, spec)
}
