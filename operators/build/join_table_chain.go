package build

import (
	"fmt"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators"
	"github.com/runnel/runnel/operators/serde"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// Chains of tables: `t1 JOIN t2 ON … [FULL] JOIN t3 ON …`, every input a
// table, so every intermediate result a table. The first join is a join of
// two tables (on the primary key or a foreign key, built as join_table.go
// builds it); each later one joins the table so far with the next table on
// its primary key. Each join's changes reach the next as the changelog of
// the table so far, through an internal topic:
//
//	Sink                                     stage 2: a task per partition p
//	 └─ Project                                of t3, reading t3/p and
//	     └─ Join TABLE-TABLE (t3)        ─┐    _runnel_<id>_join2_repartition/p;
//	         ├─ Join TABLE-TABLE (t1⋈t2) ─┼──  store <id>/join2/<p>: both
//	         │   ├─ Scan t1               │    sides' rows by key
//	         │   └─ Scan t2               │
//	         └─ Scan t3                  ─┘    stage 1: the first join, as a
//	                                           two-way join runs it (store
//	                                           <id>/join/<p>), writing its
//	                                           changes to the internal topic
//
// The internal topic (_runnel_<id>_join<k>_repartition, the input of the
// k-th join counting from 1) holds an upsert of each result row the join
// below yields, keyed by the next join's key in the next table's key format
// and partitioned among that table's partitions, and a tombstone for each
// row it yielded before and no longer does (operators.TableJoinLink) — a
// table's changelog, which the next join treats as its left table. The
// key is the table so far's own key (the planner's Join.LeftKeyCols), which
// an outer join below keeps whichever side is present, so the next join
// meets the row under the key ksqlDB's join does. Records' values are the
// row as a JSON object (rowCodec), their timestamp its ROWTIME. Going
// through a topic even where the key bytes would not change keeps one rule
// for every key format and partition count, as the chains that start with
// a stream do (join_chain.go); the next join's task merges the topic with
// its table by event time, and waits, when the topic runs dry, for the
// stage that writes it (stage.upstream).
//
// A change of any input reaches the result: a row of t1 or t2 changes the
// table so far, which upserts or deletes its row in the topic, which the
// next join recomputes; a row of t3 recomputes its key. ROWTIME is the
// largest of the rows' that make a result row, at every join.
//
// A transient chain runs every join in one goroutine, each join's changes
// handed to the next through the same link, every table and store in
// memory.

// tableChain is a lowered join of tables: the first join (of two tables),
// then the later joins of a chain, bottom up (none for a two-way join).
type tableChain struct {
	first *tableJoin
	steps []*tableStep
}

// tableStep is a later join of a chain of tables: the rows of the join
// below (left) joined with a table on its primary key.
type tableStep struct {
	node  *planner.Join
	table *planner.Scan
	// tableTime is the table's event time for the merge (nil: the
	// record's timestamp).
	tableTime func(*log.Record) int64
	// codec writes and reads the rows of the join below.
	codec *rowCodec
	// keyCols are the indexes in the row below of this join's key, in the
	// order of the table's key columns; key is the table's key format.
	keyCols []int
	key     serde.KeyFormat
	spec    *operators.TableTableSpec
}

// top is the chain's top join, whose rows the query reads.
func (c *tableChain) top() *planner.Join {
	if len(c.steps) == 0 {
		return c.first.node
	}
	return c.steps[len(c.steps)-1].node
}

// lowerTableChain reads a join of tables: a two-way join, or an n-way
// chain whose first join is of two tables and every later one a
// primary-key join with one more table.
func lowerTableChain(top *planner.Join) (*tableChain, error) {
	joins := chainJoins(top)
	if len(joins) == 0 {
		return nil, errShape(top)
	}
	for _, j := range joins[1:] {
		if j.Kind != planner.TableTable {
			return nil, errChainShape(top)
		}
	}
	first, err := lowerTableJoin(joins[0])
	if err != nil {
		return nil, err
	}
	c := &tableChain{first: first}
	topics := map[string]string{first.left.Source.Topic: first.left.Source.Name, first.right.Source.Topic: first.right.Source.Name}
	for _, j := range joins[1:] {
		step, err := lowerTableStep(j)
		if err != nil {
			return nil, err
		}
		src := step.table.Source
		if other, ok := topics[src.Topic]; ok {
			// One topic's records would be two inputs, and the query's
			// committed positions in it would be one.
			return nil, ErrUnsupported.Errorf("Can't join %s with %s: both read the topic %s", other, src.Name, src.Topic)
		}
		topics[src.Topic] = src.Name
		c.steps = append(c.steps, step)
	}
	return c, nil
}

// lowerTableStep reads a later join of a chain of tables.
func lowerTableStep(j *planner.Join) (*tableStep, error) {
	table, ok := j.Right.(*planner.Scan)
	if !ok || j.Kind != planner.TableTable || len(j.LeftKeyCols) != len(j.LeftKeys) {
		return nil, errShape(j)
	}
	leftCols := j.Left.Columns()
	codec, err := newRowCodec(leftCols)
	if err != nil {
		return nil, err
	}
	tsrc := table.Source
	right, rdec, err := tableSide(tsrc, j.RightKeys)
	if err != nil {
		return nil, err
	}
	step := &tableStep{node: j, table: table, codec: codec, tableTime: eventTime(tsrc, rdec)}
	if step.key, err = serde.NewKeyFormat(tsrc.KeyFormat, tsrc.KeyColumns(), SerdeProps(tsrc)); err != nil {
		return nil, fmt.Errorf("table %s key format: %w", tsrc.Name, err)
	}
	order, ok := tableKeyOrder(j, tsrc)
	if !ok {
		return nil, errShape(j)
	}
	for _, k := range order {
		step.keyCols = append(step.keyCols, j.LeftKeyCols[k])
	}
	if j.Type == planner.FullJoin && j.Extra != nil {
		return nil, ErrUnsupported.Errorf("a FULL OUTER table-table join with conditions besides the key equalities is not supported: two unmatched rows of one key would both be the result's row for that key")
	}
	// The left row's key is the table so far's key, read where it always
	// is (Join.LeftKeyCols), not the column the ON condition names.
	leftKeys := make([]expr.Expr, len(j.LeftKeys))
	for i, c := range j.LeftKeyCols {
		leftKeys[i] = &expr.Column{Index: c, Name: leftCols[c].Name, T: leftCols[c].Type}
	}
	step.spec = &operators.TableTableSpec{
		Left:      operators.TableSide{Decoder: codec, Width: codec.Width(), TimeIndex: codec.Width() - 1, Keys: leftKeys},
		Right:     right,
		Extra:     j.Extra,
		KeepLeft:  j.Type == planner.LeftJoin || j.Type == planner.FullJoin,
		KeepRight: j.Type == planner.RightJoin || j.Type == planner.FullJoin,
	}
	return step, nil
}

// link hands the changes of the join below s to s, as TableJoinLink
// records: keyed by s's key in its table's key format, the row as
// rowCodec writes it. send delivers each record.
func (s *tableStep) link(store state.Store, send func(rec log.Record, emit operators.Emit) error) operators.TableJoinOutput {
	vals := make(types.Row, len(s.keyCols))
	l := &operators.TableJoinLink{
		Key: func(row types.Row) ([]byte, error) {
			for i, c := range s.keyCols {
				if vals[i] = row[c]; vals[i].IsNull() {
					return nil, nil
				}
			}
			k, err := s.key.Encode(vals)
			if err != nil {
				return nil, fmt.Errorf("encode join key: %w", err)
			}
			return k, nil
		},
		Value: s.codec.encode,
		Store: store,
		Send:  send,
	}
	return l.Emit
}

// stages are the first join's stage, writing its changes to the second
// join's topic, then a stage per later join, each writing the next one's
// topic, the last one's changes going to out. It returns the internal
// topics between them.
func (c *tableChain) stages(id string, out func(sc *stageContext, st state.Store) (operators.TableJoinOutput, error)) ([]stage, []internalTopic) {
	// output(i) is the output of the join below steps[i] (out past the
	// last step).
	output := func(i int) func(sc *stageContext, st state.Store) (operators.TableJoinOutput, error) {
		if i == len(c.steps) {
			return out
		}
		step := c.steps[i]
		topic := joinTopic(id, step.node, 0)
		parts := step.node.Partitions
		return func(_ *stageContext, st state.Store) (operators.TableJoinOutput, error) {
			return step.link(st, func(rec log.Record, emit operators.Emit) error {
				rec.Partition = log.PartitionFor(rec.Key, parts)
				emit(log.ProduceRecord{Topic: topic, Record: rec})
				return nil
			}), nil
		}
	}
	first := c.first.stage(id, output(0))
	stages := []stage{first}
	var topics []internalTopic
	// Both inputs of a table join make rows: the topic it writes is
	// caught up once the stage has consumed both.
	up := upstreamOf(id, first, []int{0, 1})
	for i, step := range c.steps {
		topic := joinTopic(id, step.node, 0)
		topics = append(topics, internalTopic{name: topic, partitions: step.node.Partitions})
		spec, o := step.spec, output(i+1)
		// The table so far first: it wins ties of the merge, as a
		// two-way join's left table does.
		st := stage{
			inputs:   []string{topic, step.table.Source.Topic},
			times:    []func(*log.Record) int64{nil, step.tableTime},
			upstream: []*operators.MergeUpstream{up, nil},
			store:    joinStore(id, step.node),
			role:     StoreJoin,
			failures: true,
			processor: func(sc *stageContext, ts *state.TaskStore) (operators.Processor, error) {
				store := &operators.TableJoinStore{Store: ts, Memory: sc.memory}
				out, err := o(sc, store)
				if err != nil {
					return nil, err
				}
				return &operators.TableTableJoin{Spec: spec, Store: store, RightFrom: 1, Output: out}, nil
			},
		}
		stages = append(stages, st)
		up = upstreamOf(id, st, []int{0, 1})
	}
	return stages, topics
}

// tableChainProcessor runs a transient chain of tables in one goroutine:
// the inputs below firstInputs are the first join's (its left table's
// partitions, then its right table's), then each later join's table's
// partitions in turn (stepFrom[i] is steps[i]'s first); each join's
// changes go straight to the next.
type tableChainProcessor struct {
	first       operators.InputProcessor
	firstInputs int
	steps       []operators.InputProcessor
	stepFrom    []int
}

var _ operators.InputProcessor = (*tableChainProcessor)(nil)

// processor is the chain's processor in one goroutine, every join's
// state in a store of its own in memory, the top join's changes to out.
// rightFrom splits the first join's inputs; stepFrom lists where each
// later join's table's inputs start.
func (c *tableChain) processor(rightFrom int, stepFrom []int, out operators.TableJoinOutput) operators.InputProcessor {
	if len(c.steps) == 0 {
		return c.first.processor(state.NewMemStore(), rightFrom, out)
	}
	p := &tableChainProcessor{steps: make([]operators.InputProcessor, len(c.steps)), stepFrom: stepFrom}
	for i := len(c.steps) - 1; i >= 0; i-- {
		step := c.steps[i]
		j := &operators.TableTableJoin{Spec: step.spec, Store: state.NewMemStore(), RightFrom: 1, Output: out}
		p.steps[i] = j
		out = step.link(state.NewMemStore(), func(rec log.Record, emit operators.Emit) error {
			return j.ProcessInput(0, &rec, emit)
		})
	}
	p.first = c.first.processor(state.NewMemStore(), rightFrom, out)
	p.firstInputs = stepFrom[0]
	return p
}

// Process implements operators.Processor; records come with their input.
func (p *tableChainProcessor) Process(*log.Record, operators.Emit) error {
	return fmt.Errorf("build: a join's records need their input")
}

// Flush implements operators.Processor.
func (p *tableChainProcessor) Flush(operators.Emit) error { return nil }

// ProcessInput implements operators.InputProcessor: a later join's inputs
// are its table's (TableTableJoin's right side).
func (p *tableChainProcessor) ProcessInput(input int, rec *log.Record, emit operators.Emit) error {
	if input < p.firstInputs {
		return p.first.ProcessInput(input, rec, emit)
	}
	i := len(p.stepFrom) - 1
	for i > 0 && input < p.stepFrom[i] {
		i--
	}
	return p.steps[i].ProcessInput(1, rec, emit)
}
