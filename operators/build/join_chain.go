package build

import (
	"context"
	"fmt"
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

// N-way joins: a left-deep chain `a JOIN b ON … JOIN c ON …`, as ksqlDB
// builds it, where each join's result is the left input of the next. The
// first join is a two-way join of sources (stream-table or stream-stream,
// built as join.go and join_window.go build them); each later join is a
// stream-table join whose stream is the rows of the join before it:
//
//	Sink                                 stage 3: a task per partition p of
//	 └─ Project                            t3, reading t3/p and
//	     └─ Join STREAM-TABLE (t3)    ─┐   _runnel_<id>_join2_repartition/p;
//	         ├─ [Repartition]         ─┼── store <id>/join2/<p>
//	         │   └─ Join (s ⋈ t2)    ─┐
//	         │       ├─ Scan s        │    stages 1..2: the first join, as a
//	         │       └─ Scan t2      ─┘    two-way join builds it, writing
//	         └─ Scan t3                    its rows to the internal topic
//
// Every intermediate row goes through an internal topic
// (_runnel_<id>_join<k>_repartition for the input of the k-th join,
// counting from 1), keyed by the next join's key in the next table's key
// format and partitioned among that table's partitions — also when the
// planner found the intermediate key already right (no Repartition node).
// Fusing those joins into one task would save the topic, but needs the
// next table co-partitioned with the first and keyed in the same format,
// which the planner does not check for an intermediate; the topic is
// always right, and the simplest correct first step. Its records' values
// are the intermediate row (every column but ROWTIME) as a JSON object,
// their timestamp the row's ROWTIME. The next join's task merges that
// topic with its table by event time, and waits, when the topic runs dry,
// for the stage that writes it (stage.upstream), as a repartition does.
//
// A transient push chain needs no topic: one goroutine merges every
// partition of every input and hands each join's rows straight to the
// next (operators.StreamTableJoin.StreamRow), the tables in memory.
//
// A later stream-stream join (S-T-S, S-S-S) reads the topic as its left
// side, keyed in its right stream's key format when that stream is keyed
// by its join key already, else in a stream-stream join's default, its
// right stream then repartitioned alike (_runnel_<id>_join<k>_right_
// repartition).
//
// Chains of tables (T-T-T, a foreign-key join first) are built by
// join_table_chain.go, through internal topics named alike.

// chain is a lowered n-way join.
type chain struct {
	top *planner.Join
	// first is the chain's first (bottom) join, of two sources.
	first joinRuntime
	// steps are the later joins, bottom up; steps[len-1].node is top.
	steps []*chainStep
}

// chainStep is a later join of a chain: a stream-table or stream-stream
// join whose left input is the rows of the join below it.
type chainStep struct {
	node *planner.Join
	// codec writes and reads the rows of the join below; keys and key key
	// them for this join (the internal topic's record keys).
	codec *rowCodec
	keys  []expr.Expr
	key   serde.KeyFormat
	// A stream-table step: its table, and its spec, reading the stream
	// side from the internal topic (push hands rows to StreamRow).
	table     *planner.Scan
	tableTime func(*log.Record) int64
	st        *operators.StreamTableSpec
	// A stream-stream step: its right stream, the Repartition under it
	// (nil when keyed by key already), and its spec, whose left side reads
	// the internal topic.
	right       *planner.Scan
	rightRepart *planner.Repartition
	rightDec    *operators.Decoder
	rightTime   func(*log.Record) int64
	ss          *operators.StreamStreamSpec
}

var _ joinRuntime = (*chain)(nil)

// hasJoinBelow reports whether j's inputs hold a join: j is the top of an
// n-way chain.
func hasJoinBelow(j *planner.Join) bool {
	return planner.Find[*planner.Join](j.Left) != nil || planner.Find[*planner.Join](j.Right) != nil
}

// chainJoins lists the joins of a left-deep chain, bottom up.
func chainJoins(top *planner.Join) []*planner.Join {
	var joins []*planner.Join
	for n := planner.Node(top); ; {
		j, ok := n.(*planner.Join)
		if !ok {
			break
		}
		joins = append([]*planner.Join{j}, joins...)
		n = j.Left
		if rp, ok := n.(*planner.Repartition); ok {
			n = rp.Input
		}
	}
	return joins
}

// chainShape names a chain by its sources' kinds in order, as
// "stream-table-stream".
func chainShape(top *planner.Join) string {
	var kinds []string
	planner.Walk(top, func(n planner.Node) bool {
		if s, ok := n.(*planner.Scan); ok {
			kinds = append(kinds, strings.ToLower(string(s.Source.Kind)))
		}
		return true
	})
	return strings.Join(kinds, "-")
}

// errChainShape refuses a chain that is none of those built: one that
// starts with a stream (this file), or a chain of tables
// (join_table_chain.go). The planner lets no other shape through; this is
// the builder's guard.
func errChainShape(top *planner.Join) error {
	return ErrUnsupported.Errorf("n-way joins of the shape %s are not supported: a chain starts with a stream and joins streams and tables, or joins tables only", chainShape(top))
}

// lowerChain reads an n-way chain whose runtime exists.
func lowerChain(top *planner.Join) (*chain, error) {
	joins := chainJoins(top)
	if len(joins) < 2 {
		return nil, errShape(top)
	}
	for _, j := range joins {
		if j.Kind != planner.StreamTable && j.Kind != planner.StreamStream {
			return nil, errChainShape(top)
		}
	}
	first, err := lowerJoin(joins[0])
	if err != nil {
		return nil, err
	}
	c := &chain{top: top, first: first}
	for _, j := range joins[1:] {
		step, err := lowerChainStep(j)
		if err != nil {
			return nil, err
		}
		c.steps = append(c.steps, step)
	}
	return c, nil
}

// lowerChainStep reads a later join of a chain.
func lowerChainStep(j *planner.Join) (*chainStep, error) {
	leftCols := j.Left.Columns()
	codec, err := newRowCodec(leftCols)
	if err != nil {
		return nil, err
	}
	step := &chainStep{node: j, codec: codec}
	if j.Kind == planner.StreamStream {
		return step, step.lowerStreamStream(j)
	}
	table, ok := j.Right.(*planner.Scan)
	if !ok {
		return nil, errShape(j)
	}
	tdec, err := NewDecoder(table.Source)
	if err != nil {
		return nil, err
	}
	tsrc := table.Source
	if step.key, err = serde.NewKeyFormat(tsrc.KeyFormat, tsrc.KeyColumns(), SerdeProps(tsrc)); err != nil {
		return nil, fmt.Errorf("table %s key format: %w", tsrc.Name, err)
	}
	order, ok := tableKeyOrder(j, tsrc)
	if !ok {
		return nil, errShape(j)
	}
	for _, k := range order {
		step.keys = append(step.keys, j.LeftKeys[k])
	}
	step.table, step.tableTime = table, eventTime(tsrc, tdec)
	step.st = &operators.StreamTableSpec{
		Stream:     codec.decode,
		StreamTime: len(leftCols) - 1,
		Table:      tdec,
		TableWidth: tdec.Width(),
		Keys:       j.LeftKeys,
		KeyOrder:   order,
		TableKey:   step.key,
		Left:       j.Type == planner.LeftJoin,
		Extra:      j.Extra,
	}
	return step, nil
}

// lowerStreamStream reads a stream-stream step. The rows of the join
// below are always written to an internal topic, keyed for this one: in
// the right stream's key format when the right is keyed by its join key
// already, else in the default a stream-stream join's repartitions use
// (streamStream.keyFormat), and the right is repartitioned alike.
func (step *chainStep) lowerStreamStream(j *planner.Join) error {
	if j.Within == nil {
		return errShape(j)
	}
	n := j.Right
	if rp, ok := n.(*planner.Repartition); ok {
		step.rightRepart, n = rp, rp.Input
	}
	right, ok := n.(*planner.Scan)
	if !ok {
		return errShape(j)
	}
	var err error
	if step.rightDec, err = NewDecoder(right.Source); err != nil {
		return err
	}
	step.right, step.rightTime = right, eventTime(right.Source, step.rightDec)
	// The key format: streamStream's rule, with the left side always
	// repartitioned.
	kf := &streamStream{node: j, scans: [2]*planner.Scan{nil, right}, reparts: [2]*planner.Repartition{{}, step.rightRepart}}
	if step.key, err = kf.keyFormat(); err != nil {
		return err
	}
	step.keys = j.LeftKeys
	w := j.Within
	grace := w.Grace
	if !w.HasGrace {
		grace = defaultJoinGrace(w.Before)
	}
	step.ss = &operators.StreamStreamSpec{
		Before: w.Before.Milliseconds(),
		After:  w.After.Milliseconds(),
		Grace:  grace.Milliseconds(),
		Outer:  [2]bool{j.Type == planner.LeftJoin || j.Type == planner.FullJoin, j.Type == planner.RightJoin || j.Type == planner.FullJoin},
		Key:    step.key,
		Extra:  j.Extra,
	}
	step.ss.Sides[0] = operators.StreamSide{Decoder: step.codec, Time: len(j.Left.Columns()) - 1, Keys: j.LeftKeys}
	step.ss.Sides[1] = operators.StreamSide{Decoder: step.rightDec, Time: len(right.Source.Columns), Keys: j.RightKeys}
	return nil
}

func (c *chain) join() *planner.Join     { return c.top }
func (c *chain) source() *catalog.Source { return c.first.source() }

// joinTopic is the internal topic feeding input side of j (0 left, 1
// right) in the query id: a repartitioned stream, or the rows of the join
// before j in a chain. The planner names it (Join.InputTopicSuffix), so
// that EXPLAIN shows the name the query uses.
func joinTopic(id string, j *planner.Join, side int) string {
	return internalTopicName(id, j.InputTopicSuffix(side))
}

// joinStore is the base name of j's tasks' stores in the query id.
func joinStore(id string, j *planner.Join) string { return id + j.StoreSuffix() }

// stages are the first join's stages writing its rows to the second
// join's topic, then the stages of each later join (a repartition of a
// stream-stream step's right stream when it needs one, then the join),
// the last one's rows to out.
func (c *chain) stages(id string, out func(sc *stageContext) (operators.JoinOutput, error)) ([]stage, []internalTopic, error) {
	next := func(i int) func(sc *stageContext) (operators.JoinOutput, error) {
		if i == len(c.steps) {
			return out
		}
		step := c.steps[i]
		topic := joinTopic(id, step.node, 0)
		return func(sc *stageContext) (operators.JoinOutput, error) { return step.writer(topic, sc), nil }
	}
	stages, topics, err := c.first.stages(id, next(0))
	if err != nil {
		return nil, nil, err
	}
	// The stage that writes the next join's topic, which that join waits
	// for: the last stage, on the inputs whose records make rows (a
	// stream-table join's stream, listed after its table; both streams of
	// a stream-stream join), after the stages that write those.
	rowInputs := []int{0, 1}
	if _, ok := c.first.(*streamTable); ok {
		rowInputs = []int{1}
	}
	up := upstreamOf(id, stages[len(stages)-1], rowInputs)
	for i, step := range c.steps {
		topic := joinTopic(id, step.node, 0)
		topics = append(topics, internalTopic{name: topic, partitions: step.node.Partitions})
		st := stage{
			store:    joinStore(id, step.node),
			role:     StoreJoin,
			failures: true,
		}
		output := next(i + 1)
		if step.st != nil {
			spec := step.st
			// The table first: on equal ROWTIME its update is visible to
			// the row (README "Event time and processing order").
			st.inputs = []string{step.table.Source.Topic, topic}
			st.times = []func(*log.Record) int64{step.tableTime, nil}
			st.upstream = []*operators.MergeUpstream{nil, up}
			st.processor = func(sc *stageContext, store *state.TaskStore) (operators.Processor, error) {
				o, err := output(sc)
				if err != nil {
					return nil, err
				}
				return &operators.StreamTableJoin{Spec: spec, Store: store, TableInput: 0, StreamInput: 1, Output: o}, nil
			}
		} else {
			spec := *step.ss
			right, rightTime := step.right.Source.Topic, step.rightTime
			var rightUp *operators.MergeUpstream
			if step.rightRepart != nil {
				rtopic := joinTopic(id, step.node, 1)
				topics = append(topics, internalTopic{name: rtopic, partitions: step.node.Partitions})
				stages = append(stages, stage{inputs: []string{right}, failures: true,
					processor: func(*stageContext, *state.TaskStore) (operators.Processor, error) {
						return &operators.KeyRepartition{Decoder: step.rightDec, TimeIndex: len(step.right.Source.Columns),
							Keys: step.rightRepart.Keys, Key: step.key, Topic: rtopic, Partitions: step.node.Partitions}, nil
					}})
				rightUp = &operators.MergeUpstream{Group: id, Topic: right}
				right, rightTime = rtopic, nil
				spec.Sides[1].Restore = operators.RestoreKey
				spec.Sides[1].KeyBytes = keysWritten(spec.Sides[1].Keys)
			}
			// The left first: it wins ties of the merge.
			st.inputs = []string{topic, right}
			st.times = []func(*log.Record) int64{nil, rightTime}
			st.upstream = []*operators.MergeUpstream{up, rightUp}
			st.processor = func(sc *stageContext, store *state.TaskStore) (operators.Processor, error) {
				o, err := output(sc)
				if err != nil {
					return nil, err
				}
				return &operators.StreamStreamJoin{Spec: &spec, Store: store, Output: o, Metrics: sc.metrics, Memory: sc.memory}, nil
			}
		}
		stages = append(stages, st)
		rowInputs = []int{0, 1}
		if step.st != nil {
			rowInputs = []int{1}
		}
		up = upstreamOf(id, st, rowInputs)
	}
	return stages, topics, nil
}

// upstreamOf is the upstream (operators.MergeUpstream) of a topic that
// stage s writes: the query's group on each of s's inputs listed in rows,
// each after the stages that write that input. A merge reading the topic
// then waits, when it runs dry, until every stage before it has passed
// on what it held (operators/merge.go): which input the merge takes first
// does not depend on which stage runs faster.
func upstreamOf(id string, s stage, rows []int) *operators.MergeUpstream {
	var ups []*operators.MergeUpstream
	for _, i := range rows {
		u := &operators.MergeUpstream{Group: id, Topic: s.inputs[i]}
		if i < len(s.upstream) && s.upstream[i] != nil {
			u.Via = []*operators.MergeUpstream{s.upstream[i]}
		}
		ups = append(ups, u)
	}
	ups[0].Via = append(ups[0].Via, ups[1:]...)
	return ups[0]
}

// writer writes the rows of the join below s to topic, keyed by s's join
// key, in the partition that key has among s's partitions: where s's
// table keeps it, or where its right stream's records of that key are. A
// row whose key is NULL has no key and stays in the writing task's
// partition (modulo the topic's), so that an outer join still emits it.
func (s *chainStep) writer(topic string, sc *stageContext) operators.JoinOutput {
	parts := s.node.Partitions
	var home int32
	if len(sc.inputs) > 0 {
		home = sc.inputs[0].Partition % parts
	}
	vals := make(types.Row, len(s.keys))
	return func(row types.Row, ts int64, emit operators.Emit) error {
		v, err := s.codec.encode(row)
		if err != nil {
			return err
		}
		null := false
		for i, k := range s.keys {
			if vals[i], err = k.Eval(row); err != nil {
				return err
			}
			null = null || vals[i].IsNull()
		}
		rec := log.Record{Value: v, Timestamp: ts, Partition: home}
		if !null {
			if rec.Key, err = s.key.Encode(vals); err != nil {
				return fmt.Errorf("encode join key: %w", err)
			}
			rec.Partition = log.PartitionFor(rec.Key, parts)
		}
		emit(log.ProduceRecord{Topic: topic, Record: rec})
		return nil
	}
}

// pushInputs are the first join's inputs, then every partition of each
// later join's right input: a table read from its start, a stream from
// where earliest says.
func (c *chain) pushInputs(ctx context.Context, b *Builder, earliest bool) ([]operators.MergeInput, []int, error) {
	inputs, sides, err := c.first.pushInputs(ctx, b, earliest)
	if err != nil {
		return nil, nil, err
	}
	for i, step := range c.steps {
		topic, mode, time := "", ReadAll, step.tableTime
		if step.st != nil {
			topic = step.table.Source.Topic
		} else {
			topic, time = step.right.Source.Topic, step.rightTime
			if !earliest {
				mode = ReadNew
			}
		}
		spec, err := b.Reads(ctx, topic, mode)
		if err != nil {
			return nil, nil, err
		}
		for p := range spec.Partitions {
			inputs = append(inputs, operators.MergeInput{TP: log.TopicPartition{Topic: spec.Topic, Partition: p}, Start: spec.Start[p], Time: time})
			sides = append(sides, chainFirstInputs+i)
		}
	}
	return inputs, sides, nil
}

// chainFirstInputs is the number of inputs of a chain's first join in a
// push query (a stream-table or stream-stream join has two); the right
// inputs of the later joins follow.
const chainFirstInputs = 2

func (c *chain) pushProcessor(out operators.JoinOutput) operators.InputProcessor {
	p := &chainProcessor{steps: make([]operators.InputProcessor, len(c.steps))}
	for i := len(c.steps) - 1; i >= 0; i-- {
		step := c.steps[i]
		if step.st != nil {
			j := &operators.StreamTableJoin{Spec: step.st, Store: state.NewMemStore(), TableInput: 0, StreamInput: 1, Output: out}
			p.steps[i] = j
			out = func(row types.Row, _ int64, emit operators.Emit) error { return j.StreamRow(row, emit) }
			continue
		}
		// A stream-stream join keeps its records as they were read, so a
		// row of the join below becomes the record the internal topic
		// would hold, placed by a sequence number (its state's entries
		// are unique by place).
		// Its store is in memory already: no index of it.
		j := &operators.StreamStreamJoin{Spec: step.ss, Store: operators.NewOrderedMemStore(), Output: out, IndexBytes: -1}
		p.steps[i] = j
		var seq int64
		codec := step.codec
		out = func(row types.Row, ts int64, emit operators.Emit) error {
			v, err := codec.encode(row)
			if err != nil {
				return err
			}
			rec := log.Record{Value: v, Timestamp: ts, Offset: seq}
			seq++
			return j.ProcessInput(0, &rec, emit)
		}
	}
	p.first = c.first.pushProcessor(out)
	return p
}

// chainProcessor runs a push chain in one goroutine: inputs 0 and 1 are
// the first join's, input chainFirstInputs+i the right input of steps[i];
// each join's rows go straight to the next.
type chainProcessor struct {
	first operators.InputProcessor
	steps []operators.InputProcessor
}

var _ operators.InputProcessor = (*chainProcessor)(nil)

// Process implements operators.Processor; records come with their input.
func (p *chainProcessor) Process(*log.Record, operators.Emit) error {
	return fmt.Errorf("build: a join's records need their input")
}

// Flush implements operators.Processor.
func (p *chainProcessor) Flush(emit operators.Emit) error {
	if err := p.first.Flush(emit); err != nil {
		return err
	}
	for _, s := range p.steps {
		if err := s.Flush(emit); err != nil {
			return err
		}
	}
	return nil
}

// ProcessInput implements operators.InputProcessor: a later join's right
// input is its table (StreamTableJoin input 0) or its right stream
// (StreamStreamJoin input 1).
func (p *chainProcessor) ProcessInput(input int, rec *log.Record, emit operators.Emit) error {
	if input < chainFirstInputs {
		return p.first.ProcessInput(input, rec, emit)
	}
	switch s := p.steps[input-chainFirstInputs].(type) {
	case *operators.StreamTableJoin:
		return s.ProcessInput(0, rec, emit)
	default:
		return s.ProcessInput(1, rec, emit)
	}
}

// rowCodec writes a join's rows as record values and reads them back: a
// JSON object of every column but the last, ROWTIME, which is the
// record's timestamp.
type rowCodec struct {
	value serde.ValueFormat
	width int
}

func newRowCodec(cols []types.Column) (*rowCodec, error) {
	vcols := make([]types.Column, len(cols)-1)
	for i, c := range cols[:len(cols)-1] {
		t := c.Type
		if t.Kind == types.KindNull {
			// A column that is always NULL (a NULL literal's type) is
			// written as a JSON null, read back as a STRING NULL.
			t = types.String
		}
		vcols[i] = types.Column{Name: fmt.Sprintf("C%d", i), Type: t}
	}
	v, err := serde.NewValueFormat(serde.FormatJSON, vcols, serde.Props{})
	if err != nil {
		return nil, fmt.Errorf("n-way join row format: %w", err)
	}
	return &rowCodec{value: v, width: len(vcols)}, nil
}

// Width implements operators.RowDecoder: the row's columns and ROWTIME.
func (c *rowCodec) Width() int { return c.width + 1 }

// Decode implements operators.RowDecoder.
func (c *rowCodec) Decode(rec *log.Record) (types.Row, bool, error) { return c.decode(rec) }

func (c *rowCodec) encode(row types.Row) ([]byte, error) {
	b, err := c.value.Encode(row[:c.width])
	if err != nil {
		return nil, fmt.Errorf("encode an n-way join's row: %w", err)
	}
	return b, nil
}

// decode reads a row written by encode; a record without a value is
// ignored.
func (c *rowCodec) decode(rec *log.Record) (types.Row, bool, error) {
	if rec.Value == nil {
		return nil, false, nil
	}
	vals, err := c.value.Decode(rec.Value)
	if err != nil {
		return nil, false, fmt.Errorf("decode an n-way join's row: %w", err)
	}
	row := make(types.Row, 0, c.width+1)
	row = append(append(row, vals...), types.NewBigint(rec.Timestamp))
	return row, true, nil
}
