package build

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators"
	"github.com/runnel/runnel/operators/serde"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// Joins: lowering a Join node into the specs of a stream-table join (here)
// or a stream-stream join (join_window.go), and the stages (persistent) or
// the merged reads (push) that run it. Joins of two tables are
// join_table.go's; n-way chains are join_chain.go's.

// joinRuntime is a lowered two-way join: what the persistent and push
// builders below need of it, whatever its kind.
type joinRuntime interface {
	// join is the Join node.
	join() *planner.Join
	// source is the stream the query's first stage reads.
	source() *catalog.Source
	// stages cuts the join into its stages: the repartitions its inputs
	// need, then the join, whose output out makes. It returns them and
	// the internal topics they write.
	stages(id string, out func(sc *stageContext) (operators.JoinOutput, error)) ([]stage, []internalTopic, error)
	// pushInputs are the reads of a transient join, every partition of
	// each input, and for each the processor input it feeds.
	pushInputs(ctx context.Context, b *Builder, earliest bool) ([]operators.MergeInput, []int, error)
	// pushProcessor joins a transient query's merged records in memory.
	pushProcessor(out operators.JoinOutput) operators.InputProcessor
}

// streamTable is a lowered stream-table join.
type streamTable struct {
	node   *planner.Join
	stream *planner.Scan
	table  *planner.Scan
	// repartition is the Repartition under the stream side, or nil when
	// the stream is partitioned by its join key already.
	repartition *planner.Repartition
	streamDec   *operators.Decoder
	tableDec    *operators.Decoder
	// keyDec decodes the stream's records for its repartition: the
	// columns of its join key; nil uses streamDec.
	keyDec *operators.Decoder
	// spec is the join's spec, its Stream decoding records of the stream's
	// own topic; a persistent join over a repartition decodes with
	// repartitioned instead.
	spec *operators.StreamTableSpec
	// streamTime and tableTime give a record's event time for the merge
	// when it is a column (TIMESTAMP=); nil reads the record's timestamp.
	streamTime, tableTime func(*log.Record) int64
}

// repartitioned is the spec reading the stream side from the join's
// repartition topic: each record's own key back from its header.
func (st *streamTable) repartitioned() *operators.StreamTableSpec {
	s := *st.spec
	dec := st.streamDec
	s.Stream = func(rec *log.Record) (types.Row, bool, error) {
		r := operators.RestoreKey(rec)
		return dec.Decode(&r)
	}
	return &s
}

// lowerJoin reads a Join node whose runtime exists: a two-way stream-table
// or stream-stream join, or an n-way chain starting with a stream.
// Anything else is refused, naming what is not built.
func lowerJoin(j *planner.Join) (joinRuntime, error) {
	if hasJoinBelow(j) {
		return lowerChain(j)
	}
	if j.Kind == planner.StreamStream {
		return lowerStreamStream(j)
	}
	if j.Kind != planner.StreamTable {
		return nil, ErrUnsupported.Errorf("%s joins are not supported yet", strings.ToLower(j.Kind.String()))
	}
	st := &streamTable{node: j}
	left := j.Left
	if rp, ok := left.(*planner.Repartition); ok {
		st.repartition, left = rp, rp.Input
	}
	var ok bool
	if st.stream, ok = left.(*planner.Scan); !ok {
		return nil, errShape(j)
	}
	if st.table, ok = j.Right.(*planner.Scan); !ok {
		return nil, errShape(j)
	}
	var err error
	if st.streamDec, err = NewDecoder(st.stream.Source); err != nil {
		return nil, err
	}
	if st.tableDec, err = NewDecoder(st.table.Source); err != nil {
		return nil, err
	}
	tsrc := st.table.Source
	keyCols := tsrc.KeyColumns()
	tableKey, err := serde.NewKeyFormat(tsrc.KeyFormat, keyCols, SerdeProps(tsrc))
	if err != nil {
		return nil, fmt.Errorf("table %s key format: %w", tsrc.Name, err)
	}
	order, ok := tableKeyOrder(j, tsrc)
	if !ok {
		return nil, errShape(j)
	}
	dec := st.streamDec
	st.spec = &operators.StreamTableSpec{
		Stream:     dec.Decode,
		StreamTime: len(st.stream.Source.Columns),
		Table:      st.tableDec,
		TableWidth: st.tableDec.Width(),
		Keys:       j.LeftKeys,
		KeyOrder:   order,
		TableKey:   tableKey,
		Left:       j.Type == planner.LeftJoin,
		Extra:      j.Extra,
	}
	st.streamTime = eventTime(st.stream.Source, st.streamDec)
	st.tableTime = eventTime(tsrc, st.tableDec)
	return st, nil
}

// tableKeyOrder lists, for each of the table's key columns in order, the
// index of the key equality that equates it: each right key of a
// stream-table join is a reference to one of the table's key columns.
func tableKeyOrder(j *planner.Join, tsrc *catalog.Source) ([]int, bool) {
	var order []int
	for ci, c := range tsrc.Columns {
		if !c.Key {
			continue
		}
		found := -1
		for k, rk := range j.RightKeys {
			if col, ok := rk.(*expr.Column); ok && col.Index == ci {
				found = k
			}
		}
		if found < 0 {
			return nil, false
		}
		order = append(order, found)
	}
	return order, true
}

// eventTime is a merge's time function for a source whose event time is
// a column (TIMESTAMP=): the record is decoded for it (a record that does
// not decode sorts by its timestamp, and is refused when processed). nil
// for a source whose event time is the record's timestamp.
func eventTime(src *catalog.Source, dec *operators.Decoder) func(*log.Record) int64 {
	if src.Props["TIMESTAMP"] == "" {
		return nil
	}
	idx := len(src.Columns)
	return func(rec *log.Record) int64 {
		row, ok, err := dec.Decode(rec)
		if err != nil || !ok {
			return rec.Timestamp
		}
		return row[idx].Int()
	}
}

var _ joinRuntime = (*streamTable)(nil)

func (st *streamTable) join() *planner.Join     { return st.node }
func (st *streamTable) source() *catalog.Source { return st.stream.Source }

func (st *streamTable) stages(id string, out func(sc *stageContext) (operators.JoinOutput, error)) ([]stage, []internalTopic, error) {
	return joinStages(id, st, out)
}

// pushInputs reads the table from its start, into memory, and the stream
// from where earliest says. Ties go to the table, then to the lower
// partition.
func (st *streamTable) pushInputs(ctx context.Context, b *Builder, earliest bool) ([]operators.MergeInput, []int, error) {
	mode := ReadNew
	if earliest {
		mode = ReadAll
	}
	tspec, err := b.Reads(ctx, st.table.Source.Topic, ReadAll)
	if err != nil {
		return nil, nil, err
	}
	sspec, err := b.Reads(ctx, st.stream.Source.Topic, mode)
	if err != nil {
		return nil, nil, err
	}
	var inputs []operators.MergeInput
	var sides []int // per merge input: 0 the table, 1 the stream
	for p := range tspec.Partitions {
		inputs = append(inputs, operators.MergeInput{TP: log.TopicPartition{Topic: tspec.Topic, Partition: p}, Start: tspec.Start[p], Time: st.tableTime})
		sides = append(sides, 0)
	}
	for p := range sspec.Partitions {
		inputs = append(inputs, operators.MergeInput{TP: log.TopicPartition{Topic: sspec.Topic, Partition: p}, Start: sspec.Start[p], Time: st.streamTime})
		sides = append(sides, 1)
	}
	return inputs, sides, nil
}

func (st *streamTable) pushProcessor(out operators.JoinOutput) operators.InputProcessor {
	return &operators.StreamTableJoin{Spec: st.spec, Store: state.NewMemStore(), TableInput: 0, StreamInput: 1, Output: out}
}

// joinKeyRepartition is the processor of the stage that repartitions a
// join's stream side into topic.
func (st *streamTable) keyRepartition(topic string) (*operators.KeyRepartition, error) {
	tsrc := st.table.Source
	keyCols := tsrc.KeyColumns()
	kf, err := serde.NewKeyFormat(tsrc.KeyFormat, keyCols, SerdeProps(tsrc))
	if err != nil {
		return nil, err
	}
	dec := st.keyDec
	if dec == nil {
		dec = st.streamDec
	}
	return &operators.KeyRepartition{Decoder: dec, TimeIndex: len(st.stream.Source.Columns), Keys: st.repartition.Keys,
		Key: kf, Topic: topic, Partitions: st.node.Partitions}, nil
}

// joinBelow finds the Join a chain of row operators stands on: Project
// over [Filter] over Join, or an aggregation's Repartition over [Filter]
// over Join. It returns the join and the filter between, or nil.
func joinBelow(n planner.Node) (*planner.Join, *planner.Filter) {
	f, rest := peel[*planner.Filter](n)
	j, _ := rest.(*planner.Join)
	if j == nil {
		return nil, nil
	}
	return j, f
}

// joinRows is a select list over a join: Project over [Filter] over Join.
type joinRows struct {
	st      joinRuntime
	filter  expr.Expr
	flat    *planner.FlatMap // the table functions, or nil (flatmap.go)
	project *planner.Project
}

// lowerJoinRows reads Project over [Filter] over Join; ok is false when
// n is not that shape.
func lowerJoinRows(n planner.Node) (r *joinRows, ok bool, err error) {
	project, rest := peel[*planner.Project](n)
	if project == nil {
		return nil, false, nil
	}
	flat, rest := peel[*planner.FlatMap](rest)
	j, f := joinBelow(rest)
	if j == nil {
		return nil, false, nil
	}
	st, err := lowerJoin(j)
	if err != nil {
		return nil, true, err
	}
	r = &joinRows{st: st, flat: flat, project: project}
	if f != nil {
		r.filter = f.Predicate
	}
	reads := append([]expr.Expr{}, project.Exprs...)
	if r.filter != nil {
		reads = append(reads, r.filter)
	}
	if flat != nil {
		for _, c := range flat.Calls {
			reads = append(reads, c.Args...)
		}
	}
	if err := storeOnly(st, reads); err != nil {
		return nil, true, err
	}
	filterSides(st, r.filter)
	return r, true, nil
}

// pipeline filters and projects joined rows; the output's time is the
// joined row's ROWTIME.
func (r *joinRows) pipeline() *operators.Pipeline {
	p := &operators.Pipeline{Filter: r.filter, Project: r.project.Exprs, TimeIndex: r.st.join().TimeIndex()}
	if r.flat != nil {
		p.FlatMap = &operators.FlatMap{Calls: r.flat.Calls}
	}
	return p
}

// joinAggregation is an aggregation over a join: Project over [Having]
// over Aggregate over Repartition over [Filter] over Join.
type joinAggregation struct {
	st      joinRuntime
	agg     *aggregation
	grouper *operators.Grouper
	// repartition is the aggregation's Repartition node, which combines
	// reads.
	repartition *planner.Repartition
}

// lowerJoinAggregation reads an aggregation over a join; ok is false when
// n is not one.
func lowerJoinAggregation(n planner.Node) (*joinAggregation, bool, error) {
	project, rest := peel[*planner.Project](n)
	if project == nil {
		return nil, false, nil
	}
	_, rest = peel[*planner.Having](rest)
	node, rest := peel[*planner.Aggregate](rest)
	if node == nil {
		return nil, false, nil
	}
	rp, rest := peel[*planner.Repartition](rest)
	if rp == nil {
		return nil, false, nil
	}
	j, f := joinBelow(rest)
	if j == nil {
		return nil, false, nil
	}
	st, err := lowerJoin(j)
	if err != nil {
		return nil, true, err
	}
	a, err := lowerAggregate(n, node, nil)
	if err != nil {
		return nil, true, err
	}
	ja := &joinAggregation{st: st, agg: a, repartition: rp}
	ja.grouper = &operators.Grouper{GroupBy: node.GroupBy, Args: a.grouper.Args, TimeIndex: j.TimeIndex(), Codec: a.spec.Codec}
	if f != nil {
		ja.grouper.Filter = f.Predicate
	}
	reads := append([]expr.Expr{}, node.GroupBy...)
	for _, args := range ja.grouper.Args {
		reads = append(reads, args...)
	}
	if f != nil {
		reads = append(reads, f.Predicate)
	}
	if err := storeOnly(st, reads); err != nil {
		return nil, true, err
	}
	filterSides(st, ja.grouper.Filter)
	return ja, true, nil
}

// storeOnly narrows what a two-way join's state keeps of its rows to the
// columns reads (every expression over the joined row above the join)
// and the join itself read, and what its records are decoded into to
// those columns too (the planner's ReadColumns stops at a join). A
// chain's joins keep every column: the rows of one go on to the next.
func storeOnly(st joinRuntime, reads []expr.Expr) error {
	switch st := st.(type) {
	case *streamStream:
		return st.storeOnly(reads)
	case *streamTable:
		return st.storeOnly(reads)
	}
	return nil
}

// filterSides lets a two-way stream-stream or stream-table join drop,
// before they meet anything, the records of a side that the WHERE above
// it (where, nil for none) would drop from every row they make
// (sideFilters; StreamSide.Filter, StreamTableSpec.StreamFilter and
// TableFilter).
func filterSides(st joinRuntime, where expr.Expr) {
	switch st := st.(type) {
	case *streamStream:
		st.filterSides(where)
	case *streamTable:
		// The stream's terms for INNER and LEFT (every row a stream
		// record makes holds it), the table's for INNER only.
		s := st.spec
		s.StreamWidth = st.streamDec.Width()
		s.StreamFilter, s.TableFilter = sideFilters(where, st.node.Type, s.StreamWidth, s.TableWidth)
	}
}

// storeOnly narrows the table rows the join's state keeps to the columns
// read: reads and the rest of the ON condition over the joined row
// (stream row, table row, ...), and the table's ROWTIME, which the joined
// row's ROWTIME is computed from. The table's key columns are not read
// (a stream record finds its row by the key's bytes). The stream's
// records are decoded into the columns read of them, its join key's
// among them.
func (st *streamTable) storeOnly(reads []expr.Expr) error {
	s := st.spec
	if s.Extra != nil {
		reads = append(reads[:len(reads):len(reads)], s.Extra)
	}
	sw := st.streamDec.Width()
	used := make([]bool, s.TableWidth)
	used[len(st.table.Source.Columns)] = true // ROWTIME
	streamUsed := make([]bool, sw)
	for _, e := range append(reads[:len(reads):len(reads)], s.Keys...) {
		markColumns(e, streamUsed, 0)
	}
	for _, e := range reads {
		markColumns(e, used, sw)
	}
	s.TableStored = usedIndexes(used)
	var err error
	if st.tableDec, err = readingDecoder(st.table, used); err != nil {
		return err
	}
	if st.streamDec, err = readingDecoder(st.stream, streamUsed); err != nil {
		return err
	}
	if st.repartition != nil {
		keyUsed := make([]bool, sw)
		for _, e := range st.repartition.Keys {
			markColumns(e, keyUsed, 0)
		}
		if st.keyDec, err = readingDecoder(st.stream, keyUsed); err != nil {
			return err
		}
	}
	s.Table, s.Stream = st.tableDec, st.streamDec.Decode
	st.streamTime = eventTime(st.stream.Source, st.streamDec)
	st.tableTime = eventTime(st.table.Source, st.tableDec)
	return nil
}

// readingDecoder is the decoder of scan's records that builds the columns
// used marks (by index in its rows; the pseudo columns after the
// source's are always built), and only checks the others.
func readingDecoder(scan *planner.Scan, used []bool) (*operators.Decoder, error) {
	s := *scan
	s.Reads = used[:len(scan.Source.Columns)]
	return NewScanDecoder(&s)
}

// joinStages cuts a stream-table join into its stages: the stream side's
// repartition when it needs one, then the join, whose output out makes
// (a sink's records, or an aggregation's repartition records). It returns
// the stages and the internal topics they write.
func joinStages(id string, st *streamTable, out func(sc *stageContext) (operators.JoinOutput, error)) ([]stage, []internalTopic, error) {
	var stages []stage
	var topics []internalTopic
	streamTopic := st.stream.Source.Topic
	spec := st.spec
	streamTime := st.streamTime
	var upstream *operators.MergeUpstream
	if st.repartition != nil {
		topic := joinTopic(id, st.node, 0)
		topics = append(topics, internalTopic{name: topic, partitions: st.node.Partitions})
		if _, err := st.keyRepartition(topic); err != nil {
			return nil, nil, err
		}
		stages = append(stages, stage{inputs: []string{streamTopic}, failures: true,
			processor: func(*stageContext, *state.TaskStore) (operators.Processor, error) { return st.keyRepartition(topic) }})
		// The join waits for the stage to pass on what the stream holds
		// (operators/merge.go).
		upstream = &operators.MergeUpstream{Group: id, Topic: streamTopic}
		streamTopic, spec, streamTime = topic, st.repartitioned(), nil
	}
	stages = append(stages, stage{
		// The table first: on equal ROWTIME a table update is visible to
		// the stream record (README "Event time and processing order").
		inputs:   []string{st.table.Source.Topic, streamTopic},
		times:    []func(*log.Record) int64{st.tableTime, streamTime},
		upstream: []*operators.MergeUpstream{nil, upstream},
		store:    joinStore(id, st.node),
		role:     StoreJoin,
		failures: true,
		processor: func(sc *stageContext, store *state.TaskStore) (operators.Processor, error) {
			o, err := out(sc)
			if err != nil {
				return nil, err
			}
			return &operators.StreamTableJoin{Spec: spec, Store: store, TableInput: 0, StreamInput: 1, Output: o}, nil
		},
	})
	return stages, topics, nil
}

// sinkOutput writes joined rows to a stream sink: filter, project, encode
// (operators.JoinSink). sink is the JoinSink, nil for a pipeline with
// table functions.
func sinkOutput(sink *catalog.Source, pipe *operators.Pipeline) (out operators.JoinOutput, js *operators.JoinSink, err error) {
	enc, err := sinkEncoder(sink)
	if err != nil {
		return nil, nil, err
	}
	if pipe.FlatMap != nil {
		return flatSinkOutput(sink, pipe, enc), nil, nil
	}
	js = &operators.JoinSink{Pipeline: pipe, Encoder: enc, Topic: sink.Topic}
	return js.Output, js, nil
}

// sinkJoinStage wraps a stage's processor maker: when making it made a
// JoinSink (*made, which out sets; tasks are made one at a time) and the
// processor is a stream-stream join, the join is given the sink, to tell
// it its commits (StreamStreamJoin.Sink). Other processors write to the
// sink without.
func sinkJoinStage(proc func(*stageContext, *state.TaskStore) (operators.Processor, error), made **operators.JoinSink) func(*stageContext, *state.TaskStore) (operators.Processor, error) {
	return func(sc *stageContext, st *state.TaskStore) (operators.Processor, error) {
		*made = nil
		p, err := proc(sc, st)
		js := *made
		*made = nil
		if j, ok := p.(*operators.StreamStreamJoin); ok && err == nil && js != nil {
			j.Sink = js
		}
		return p, err
	}
}

// combinedJoinStage wraps a stage's processor maker: when making it made
// a JoinCombine (*made, which out sets; tasks are made one at a time),
// the join it made goes inside that, which flushes and recovers the
// partials with the join. Stages whose processor does not call out are
// left as they were.
func combinedJoinStage(proc func(*stageContext, *state.TaskStore) (operators.Processor, error), made **operators.JoinCombine) func(*stageContext, *state.TaskStore) (operators.Processor, error) {
	return func(sc *stageContext, st *state.TaskStore) (operators.Processor, error) {
		*made = nil
		p, err := proc(sc, st)
		c := *made
		*made = nil
		if err != nil || c == nil {
			return p, err
		}
		j, ok := p.(operators.InputProcessor)
		if !ok {
			return nil, fmt.Errorf("join stage: %T does not tell inputs apart", p)
		}
		c.Join = j
		return c, nil
	}
}

// lowerJoinPersistent cuts a persistent query over a join into stages.
func lowerJoinPersistent(id string, root *planner.Sink) (*persistent, bool, error) {
	if tableJoinOf(root) != nil {
		p, err := lowerTableJoinPersistent(id, root)
		return p, true, err
	}
	sink := root.Target
	if ja, ok, err := lowerJoinAggregation(root.Input); ok || err != nil {
		if err != nil {
			return nil, true, err
		}
		groups := repartitionTopic(id)
		// combined is the processor whose Output the join stage's
		// last call of out returned, when it combines: the stage's
		// processor is the join inside it (combinedJoinStage).
		var combined *operators.JoinCombine
		stages, topics, err := ja.st.stages(id, func(sc *stageContext) (operators.JoinOutput, error) {
			if combines(sc, ja.repartition, ja.agg.spec, false) {
				combined = &operators.JoinCombine{Grouper: ja.grouper, Topic: groups, Funcs: ja.agg.spec.Funcs}
				return combined.Output, nil
			}
			return ja.grouper.Output(groups), nil
		})
		if err != nil {
			return nil, true, err
		}
		for i := range stages {
			stages[i].processor = combinedJoinStage(stages[i].processor, &combined)
		}
		p := &persistent{source: ja.st.source(), sink: sink, tableSink: true, stages: stages}
		p.internal = append(topics, internalTopic{name: groups, partitions: ja.st.join().Partitions})
		p.stages = append(p.stages, aggregateStage(id, sink, ja.agg, groups))
		return p, true, nil
	}
	r, ok, err := lowerJoinRows(root.Input)
	if !ok || err != nil {
		return nil, ok, err
	}
	pipe := r.pipeline()
	// made is the JoinSink the join stage's last call of out made
	// (sinkJoinStage).
	var made *operators.JoinSink
	stages, topics, err := r.st.stages(id, func(*stageContext) (operators.JoinOutput, error) {
		out, js, err := sinkOutput(sink, pipe)
		made = js
		return out, err
	})
	if err != nil {
		return nil, true, err
	}
	for i := range stages {
		stages[i].processor = sinkJoinStage(stages[i].processor, &made)
	}
	return &persistent{source: r.st.source(), sink: sink, stages: stages, internal: topics}, true, nil
}

// pushJoin builds a transient query over a join. One goroutine (the
// iterator's caller) merges every partition of its inputs and joins them
// as a task would, its state in memory; no repartition is needed, since
// every key meets in that goroutine.
func (b *Builder) pushJoin(ctx context.Context, root *planner.Result, earliest bool) (*PushQuery, bool, error) {
	if tableJoinOf(root) != nil {
		q, err := b.pushTableJoin(ctx, root, earliest)
		return q, true, err
	}
	var st joinRuntime
	var feed func(it *joinIter) operators.JoinOutput
	if ja, ok, err := lowerJoinAggregation(root.Input); ok || err != nil {
		if err != nil {
			return nil, true, err
		}
		st = ja.st
		feed = func(it *joinIter) operators.JoinOutput {
			ag := &operators.Aggregator{Spec: ja.agg.spec, Store: state.NewMemStore(), Metrics: &operators.Metrics{},
				Output: func(out operators.AggOutput, _ operators.Emit) error {
					if out.Row != nil {
						it.pending = append(it.pending, out.Row)
					}
					return nil
				}}
			group := ja.grouper.Rows()
			return func(row types.Row, _ int64, _ operators.Emit) error {
				in, ok, err := group(row)
				if err != nil || !ok {
					return err
				}
				if err := ag.Apply(&in, nil); err != nil {
					return err
				}
				return ag.Flush(nil)
			}
		}
	} else {
		r, ok, err := lowerJoinRows(root.Input)
		if !ok || err != nil {
			return nil, ok, err
		}
		st = r.st
		pipe := r.pipeline()
		feed = func(it *joinIter) operators.JoinOutput {
			if pipe.FlatMap != nil {
				return flatPushOutput(pipe, &it.pending)
			}
			return func(row types.Row, _ int64, _ operators.Emit) error {
				out, _, ok, err := pipe.Apply(row)
				if err != nil || !ok {
					return err
				}
				it.pending = append(it.pending, out)
				return nil
			}
		}
	}
	inputs, sides, err := st.pushInputs(ctx, b, earliest)
	if err != nil {
		return nil, true, err
	}
	logger := b.env.Logger
	l := b.env.Log
	return &PushQuery{start: func(owner context.Context) RowIter {
		it := &joinIter{limit: root.Limit, sides: sides, logger: logger}
		it.join = st.pushProcessor(feed(it))
		m, err := operators.StartMerge(owner, l, inputs)
		if err != nil {
			it.err = err
			return it
		}
		it.merge = m
		return it
	}}, true, nil
}

// joinIter runs a transient join in its caller's goroutine: it takes the
// merged records and returns the rows they produce. Its memory is the
// join's state (a stream-table join's table rows, a stream-stream join's
// open windows: what a persistent join's store holds) and the rows one
// record produced.
type joinIter struct {
	merge   *operators.Merger
	join    operators.InputProcessor
	sides   []int
	pending []types.Row
	limit   int64
	sent    int64
	err     error
	logger  *slog.Logger
	// panicked is set once a record has panicked (logged once).
	panicked bool
}

// Next implements RowIter.
func (it *joinIter) Next(ctx context.Context) (types.Row, error) {
	if it.err != nil {
		return nil, it.err
	}
	// A record that cannot be joined is skipped, as in a persistent query.
	return nextMerged(ctx, it.merge, &it.pending, it.limit, &it.sent, func(i int, rec *log.Record) {
		_ = it.safeProcess(it.sides[i], rec)
	})
}

// nextMerged is the loop of a transient join's iterator: it returns the
// rows pending, and while there are none, hands the next merged record
// and its input to process, which may make some; io.EOF once limit rows
// are sent (limit < 0: at once; 0: never).
func nextMerged(ctx context.Context, merge *operators.Merger, pending *[]types.Row, limit int64, sent *int64, process func(int, *log.Record)) (types.Row, error) {
	for {
		if limit < 0 || (limit > 0 && *sent >= limit) {
			return nil, io.EOF
		}
		if len(*pending) > 0 {
			row := (*pending)[0]
			*pending = (*pending)[1:]
			*sent++
			return row, nil
		}
		i, rec, ok, err := merge.Next(ctx, true)
		if err != nil {
			return nil, err
		}
		if ok {
			process(i, &rec)
		}
	}
}

// safeProcess joins one record, turning a panic into its error.
func (it *joinIter) safeProcess(side int, rec *log.Record) (err error) {
	defer recoverRecord(it.logger, &it.panicked, rec, &err, nil)
	return it.join.ProcessInput(side, rec, nil)
}

// recoverRecord, deferred by a transient join's processing of rec, turns
// a panic into *err, logging the first of an iterator's panics (panicked)
// with its stack; cleanup, when set, drops what the record left half done.
func recoverRecord(logger *slog.Logger, panicked *bool, rec *log.Record, err *error, cleanup func()) {
	r := recover()
	if r == nil {
		return
	}
	if cleanup != nil {
		cleanup()
	}
	if !*panicked {
		*panicked = true
		logger.Error("push query panicked", "topic", "join", "partition", rec.Partition, "offset", rec.Offset,
			"panic", r, "stack", string(debug.Stack()))
	}
	*err = fmt.Errorf("panic: %v", r)
}

// Close implements RowIter.
func (it *joinIter) Close() {
	if it.merge != nil {
		it.merge.Close()
	}
}
