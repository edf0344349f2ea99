package build

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators"
	"github.com/runnel/runnel/operators/serde"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// Table-table joins, on the primary key and on a foreign key: lowering a
// Join of two tables into its spec, the stage that runs it (persistent),
// and the merged reads of a transient one. Their results are tables: a
// sink's upserts and tombstones, or an aggregation's retractions and
// additions (doc.go, "Joins").

// tableJoin is a lowered join of two tables.
type tableJoin struct {
	node        *planner.Join
	left, right *planner.Scan
	// leftTime and rightTime give a record's event time for the merge
	// when it is a column (TIMESTAMP=); nil reads the record's timestamp.
	leftTime, rightTime func(*log.Record) int64
	// Exactly one of pk (on the primary key) and fk (a foreign key) is
	// set.
	pk *operators.TableTableSpec
	fk *operators.ForeignKeySpec
}

// tableJoinOf returns the join at the top of the tree under n when it
// joins two tables — or nil, for a join that join.go builds.
func tableJoinOf(n planner.Node) *planner.Join {
	j := planner.Find[*planner.Join](n)
	if j == nil || (j.Kind != planner.TableTable && j.Kind != planner.ForeignKey) {
		return nil
	}
	return j
}

// lowerTableJoin reads a Join of two tables.
func lowerTableJoin(j *planner.Join) (*tableJoin, error) {
	tj := &tableJoin{node: j}
	var ok bool
	if tj.left, ok = j.Left.(*planner.Scan); !ok {
		return nil, errShape(j)
	}
	if tj.right, ok = j.Right.(*planner.Scan); !ok {
		return nil, errShape(j)
	}
	lsrc, rsrc := tj.left.Source, tj.right.Source
	if lsrc.Topic == rsrc.Topic {
		// One topic's records would be both sides, and the query's
		// committed positions in it would be one.
		return nil, ErrUnsupported.Errorf("Can't join %s with %s: both read the topic %s", lsrc.Name, rsrc.Name, lsrc.Topic)
	}
	left, ldec, err := tableSide(lsrc, j.LeftKeys)
	if err != nil {
		return nil, err
	}
	right, rdec, err := tableSide(rsrc, j.RightKeys)
	if err != nil {
		return nil, err
	}
	tj.leftTime, tj.rightTime = eventTime(lsrc, ldec), eventTime(rsrc, rdec)
	if j.Kind == planner.ForeignKey {
		order, ok := keyOrder(rsrc, j.RightKeys)
		if !ok {
			return nil, errShape(j)
		}
		kf, err := serde.NewKeyFormat(rsrc.KeyFormat, rsrc.KeyColumns(), SerdeProps(rsrc))
		if err != nil {
			return nil, fmt.Errorf("table %s key format: %w", rsrc.Name, err)
		}
		tj.fk = &operators.ForeignKeySpec{Left: left, Right: right, FKOrder: order, RightKey: kf,
			KeepLeft: j.Type == planner.LeftJoin, Extra: j.Extra}
		return tj, nil
	}
	if why := keysUnlike(lsrc, rsrc, j); why != "" {
		return nil, ErrUnsupported.Errorf("Can't join %s with %s on their primary keys: %s, so equal keys are different bytes in different partitions, and tables cannot be repartitioned",
			lsrc.Name, rsrc.Name, why)
	}
	if j.Type == planner.FullJoin && j.Extra != nil {
		return nil, ErrUnsupported.Errorf("a FULL OUTER table-table join with conditions besides the key equalities is not supported: two unmatched rows of one key would both be the result's row for that key")
	}
	tj.pk = &operators.TableTableSpec{Left: left, Right: right, Extra: j.Extra,
		KeepLeft:  j.Type == planner.LeftJoin || j.Type == planner.FullJoin,
		KeepRight: j.Type == planner.RightJoin || j.Type == planner.FullJoin}
	return tj, nil
}

// filterSides gives the sides of a join of two tables the terms of the
// WHERE above it (where) that read one side only and may go to it
// (sideFilters): a row that fails them is, for the join, a delete of its
// key. A chain's joins are left alone: the WHERE is over the rows of the
// last join.
func (c *tableChain) filterSides(where expr.Expr) {
	if len(c.steps) > 0 {
		return
	}
	tj := c.first
	if tj.fk != nil {
		s := tj.fk
		s.Left.Filter, s.Right.Filter = sideFilters(where, tj.node.Type, s.Left.Width, s.Right.Width)
		return
	}
	s := tj.pk
	s.Left.Filter, s.Right.Filter = sideFilters(where, tj.node.Type, s.Left.Width, s.Right.Width)
}

// storeOnly narrows what a join of two tables keeps of each table's rows
// to the columns read (TableSide.Stored): reads are every expression
// over the joined row above the join (its WHERE, its projection or its
// grouping and aggregate arguments). The rest of the ON condition reads
// the joined row too; each side's join key and ROWTIME read its side's
// row. A side's pushed filter (filterSides, set after this) is terms of
// the WHERE, among reads already. The joined row's other columns (the join key and
// ROWTIME after both sides) are computed, not stored. Each table's
// records are decoded into those columns only (the others are checked,
// not built). A chain's joins keep every column: the rows of the first
// go on to the next.
func (c *tableChain) storeOnly(reads []expr.Expr) error {
	if len(c.steps) > 0 {
		return nil
	}
	tj := c.first
	var left, right *operators.TableSide
	var extra expr.Expr
	if tj.fk != nil {
		left, right, extra = &tj.fk.Left, &tj.fk.Right, tj.fk.Extra
	} else {
		left, right, extra = &tj.pk.Left, &tj.pk.Right, tj.pk.Extra
	}
	if extra != nil {
		reads = append(reads[:len(reads):len(reads)], extra)
	}
	sides := []*operators.TableSide{left, right}
	scans := []*planner.Scan{tj.left, tj.right}
	offsets := []int{0, left.Width}
	for i, side := range sides {
		used := make([]bool, side.Width)
		used[side.TimeIndex] = true
		for _, k := range side.Keys {
			markColumns(k, used, 0)
		}
		for _, e := range reads {
			markColumns(e, used, offsets[i])
		}
		dec, err := readingDecoder(scans[i], used)
		if err != nil {
			return err
		}
		side.Stored, side.Decoder = usedIndexes(used), dec
		if i == 0 {
			tj.leftTime = eventTime(scans[i].Source, dec)
		} else {
			tj.rightTime = eventTime(scans[i].Source, dec)
		}
	}
	return nil
}

// tableSide describes a table input of a join whose key is keys, and
// returns its decoder.
func tableSide(src *catalog.Source, keys []expr.Expr) (operators.TableSide, *operators.Decoder, error) {
	dec, err := NewDecoder(src)
	if err != nil {
		return operators.TableSide{}, nil, err
	}
	return operators.TableSide{Decoder: dec, Width: dec.Width(), TimeIndex: len(src.Columns), Keys: keys}, dec, nil
}

// keyOrder lists, for each of src's key columns in order, the index in
// keys (references to src's columns) of the one that reads it; ok is
// false unless keys are exactly src's key columns.
func keyOrder(src *catalog.Source, keys []expr.Expr) (order []int, ok bool) {
	for ci, c := range src.Columns {
		if !c.Key {
			continue
		}
		found := -1
		for k, e := range keys {
			if col, ok := e.(*expr.Column); ok && col.Index == ci {
				found = k
			}
		}
		if found < 0 {
			return nil, false
		}
		order = append(order, found)
	}
	return order, len(order) == len(keys)
}

// keysUnlike says how two tables joined on their primary keys serialize
// equal keys differently, or "" when they serialize them alike: the same
// key format, each equality equating the key columns at the same position
// of both keys, and, where the format writes column names (a JSON key of
// several columns is an object), the same names. WRAP_SINGLE_VALUE does
// not reach keys, as in ksqlDB: a one-column JSON key is bare. Joins are of key bytes: a table
// lives in the partitions its key bytes hash to.
func keysUnlike(l, r *catalog.Source, j *planner.Join) string {
	lf, rf := keyFormatName(l), keyFormatName(r)
	if lf != rf {
		return fmt.Sprintf("their key formats differ (%s and %s)", lf, rf)
	}
	lo, lok := keyOrder(l, j.LeftKeys)
	ro, rok := keyOrder(r, j.RightKeys)
	if !lok || !rok {
		return "the join does not equate their keys"
	}
	for p := range lo {
		if lo[p] != ro[p] {
			return "the equalities pair their key columns in another order than the keys have"
		}
	}
	if lf != serde.FormatJSON {
		return ""
	}
	lk, rk := l.KeyColumns(), r.KeyColumns()
	wl, wr := len(lk) != 1, len(rk) != 1
	if wl != wr {
		return "one writes its JSON key wrapped in an object and the other does not"
	}
	if wl {
		for p := range lk {
			if lk[p].Name != rk[p].Name {
				return fmt.Sprintf("their JSON keys name their columns differently (%s and %s)", lk[p].Name, rk[p].Name)
			}
		}
	}
	return ""
}

// keyFormatName is a source's key format as the runtime reads it.
func keyFormatName(src *catalog.Source) string {
	if src.KeyFormat == "" {
		return serde.FormatKafka
	}
	return strings.ToUpper(src.KeyFormat)
}

// tableJoinRows is a select list over a join of tables (two, or a
// chain): Project over [Filter] over Join.
type tableJoinRows struct {
	c    *tableChain
	pipe *operators.Pipeline
}

// tableJoinAggregation is an aggregation over a join of tables: Project
// over [Having] over Aggregate over Repartition over [Filter] over Join.
type tableJoinAggregation struct {
	c       *tableChain
	agg     *aggregation
	grouper *operators.Grouper
}

// lowerTableJoinQuery reads the chain over a table join: an aggregation
// (agg set) or a select list (rows set).
func lowerTableJoinQuery(n planner.Node) (rows *tableJoinRows, agg *tableJoinAggregation, err error) {
	project, rest := peel[*planner.Project](n)
	if project == nil {
		return nil, nil, errShape(n)
	}
	if j, f := joinBelow(rest); j != nil {
		c, err := lowerTableChain(j)
		if err != nil {
			return nil, nil, err
		}
		r := &tableJoinRows{c: c, pipe: &operators.Pipeline{Project: project.Exprs, TimeIndex: j.TimeIndex()}}
		reads := append([]expr.Expr{}, project.Exprs...)
		if f != nil {
			r.pipe.Filter = f.Predicate
			reads = append(reads, f.Predicate)
		}
		if err := c.storeOnly(reads); err != nil {
			return nil, nil, err
		}
		if f != nil {
			c.filterSides(f.Predicate)
		}
		return r, nil, nil
	}
	_, rest = peel[*planner.Having](rest)
	node, rest := peel[*planner.Aggregate](rest)
	rp, rest := peel[*planner.Repartition](rest)
	j, f := joinBelow(rest)
	if node == nil || rp == nil || j == nil {
		return nil, nil, errShape(n)
	}
	c, err := lowerTableChain(j)
	if err != nil {
		return nil, nil, err
	}
	if node.Window != nil {
		return nil, nil, ErrUnsupported.Errorf("windowed aggregation of a table is not supported: aggregate a stream")
	}
	a, err := lowerAggregate(n, node, nil)
	if err != nil {
		return nil, nil, err
	}
	// The join's result is a table: its updated and deleted rows are
	// retracted, which every aggregate must be able to undo.
	for i, f := range a.spec.Funcs {
		if !f.Retractable() {
			return nil, nil, ErrUnsupported.Errorf("%s cannot aggregate a table: its result cannot retract an updated or deleted row", node.Calls[i].Text)
		}
	}
	ja := &tableJoinAggregation{c: c, agg: a}
	ja.grouper = &operators.Grouper{GroupBy: node.GroupBy, Args: a.grouper.Args, TimeIndex: j.TimeIndex(), Codec: a.spec.Codec}
	reads := append([]expr.Expr{}, node.GroupBy...)
	for _, args := range ja.grouper.Args {
		reads = append(reads, args...)
	}
	if f != nil {
		ja.grouper.Filter = f.Predicate
		reads = append(reads, f.Predicate)
	}
	if err := c.storeOnly(reads); err != nil {
		return nil, nil, err
	}
	if f != nil {
		c.filterSides(f.Predicate)
	}
	return nil, ja, nil
}

// stage is the stage that runs the join: a task per partition of the two
// tables, co-partitioned, for a primary-key join; one task reading every
// partition of both for a foreign-key join. Its store (<id>/join/<p>)
// holds both tables' rows; out makes the task's output over that store
// (the join's, behind its read cache: the output must write through it).
func (tj *tableJoin) stage(id string, out func(sc *stageContext, st state.Store) (operators.TableJoinOutput, error)) stage {
	lt, rt := tj.left.Source.Topic, tj.right.Source.Topic
	return stage{
		inputs:   []string{lt, rt},
		times:    []func(*log.Record) int64{tj.leftTime, tj.rightTime},
		store:    joinStore(id, tj.node),
		role:     StoreJoin,
		failures: true,
		whole:    tj.fk != nil,
		processor: func(sc *stageContext, ts *state.TaskStore) (operators.Processor, error) {
			st := &operators.TableJoinStore{Store: ts, Memory: sc.memory}
			o, err := out(sc, st)
			if err != nil {
				return nil, err
			}
			rightFrom := 0
			for _, in := range sc.inputs {
				if in.Topic == lt {
					rightFrom++
				}
			}
			proc := tj.processor(st, rightFrom, o)
			if fk, ok := proc.(*operators.ForeignKeyJoin); ok {
				fk.Memory = sc.memory
			}
			return proc, nil
		},
	}
}

// processor is the join's processor over store, the inputs below
// rightFrom being the left table's.
func (tj *tableJoin) processor(st state.Store, rightFrom int, out operators.TableJoinOutput) operators.InputProcessor {
	if tj.fk != nil {
		return &operators.ForeignKeyJoin{Spec: tj.fk, Store: st, RightFrom: rightFrom, Output: out}
	}
	return &operators.TableTableJoin{Spec: tj.pk, Store: st, RightFrom: rightFrom, Output: out}
}

// lowerTableJoinPersistent cuts a persistent query over a table join into
// its stages: the join, writing the sink (a table); or the join, writing
// an aggregation's repartition topic, then the aggregation. The sink may
// be another query's table (INSERT INTO, which ksqlDB keeps to streams):
// each query upserts and deletes the rows it writes, and where two write
// one key the later change wins.
func lowerTableJoinPersistent(id string, root *planner.Sink) (*persistent, error) {
	sink := root.Target
	if sink.Kind != catalog.KindTable {
		// INSERT INTO a stream: CREATE STREAM ... AS SELECT is refused by
		// the planner.
		return nil, sqlstate.Errorf(sqlstate.WrongObjectType, "%s is a stream and a join of two tables produces a TABLE: write it to a table", sink.Name)
	}
	rows, ja, err := lowerTableJoinQuery(root.Input)
	if err != nil {
		return nil, err
	}
	if ja != nil {
		groups := repartitionTopic(id)
		c := ja.c
		stages, topics := c.stages(id, func(_ *stageContext, st state.Store) (operators.TableJoinOutput, error) {
			return (&operators.TableJoinGroups{Grouper: ja.grouper, Topic: groups, Store: st}).Emit, nil
		})
		p := &persistent{source: c.first.left.Source, sink: sink, tableSink: true, internal: topics, stages: stages}
		p.internal = append(p.internal, internalTopic{name: groups, partitions: c.top().Partitions})
		p.stages = append(p.stages, aggregateStage(id, sink, ja.agg, groups))
		return p, nil
	}
	c := rows.c
	stages, topics := c.stages(id, func(_ *stageContext, st state.Store) (operators.TableJoinOutput, error) {
		enc, err := sinkEncoder(sink)
		if err != nil {
			return nil, err
		}
		return (&operators.TableJoinSink{Pipeline: rows.pipe, Encoder: enc, Topic: sink.Topic, Store: st}).Emit, nil
	})
	return &persistent{source: c.first.left.Source, sink: sink, stages: stages, internal: topics}, nil
}

// checkTableJoin is Check for a transient query over a table join.
func checkTableJoin(root *planner.Result) error {
	_, _, err := lowerTableJoinQuery(root.Input)
	return err
}

// pushTableJoin builds a transient query over a join of two tables. One
// goroutine (the iterator's caller) merges every partition of both
// tables, each read from its start, and joins them as a task would, with
// both tables' rows in memory; no co-partitioning is needed, since every
// key meets in that goroutine. Ties go to the left table, then to the
// lower partition. Read from 'latest', the rows already in the tables
// only build the state: the query returns the changes that the records
// written after it began make to the result, joined with everything
// before.
func (b *Builder) pushTableJoin(ctx context.Context, root *planner.Result, earliest bool) (*PushQuery, error) {
	rows, ja, err := lowerTableJoinQuery(root.Input)
	if err != nil {
		return nil, err
	}
	var c *tableChain
	if ja != nil {
		c = ja.c
	} else {
		c = rows.c
	}
	tj := c.first
	// The first join's tables, then each later join's table.
	srcs := []*catalog.Source{tj.left.Source, tj.right.Source}
	times := []func(*log.Record) int64{tj.leftTime, tj.rightTime}
	for _, step := range c.steps {
		srcs, times = append(srcs, step.table.Source), append(times, step.tableTime)
	}
	var inputs []operators.MergeInput
	var live []int64
	var stepFrom []int
	rightFrom := 0
	for i, src := range srcs {
		if i >= 2 {
			stepFrom = append(stepFrom, len(inputs))
		}
		spec, err := b.Reads(ctx, src.Topic, ReadAll)
		if err != nil {
			return nil, err
		}
		from := spec.Start
		if !earliest {
			if from, err = b.env.Log.EndOffsets(ctx, src.Topic); err != nil {
				return nil, fmt.Errorf("end offsets of %s: %w", src.Topic, err)
			}
		}
		tm := times[i]
		for p := range spec.Partitions {
			inputs = append(inputs, operators.MergeInput{TP: log.TopicPartition{Topic: src.Topic, Partition: p}, Start: spec.Start[p], Time: tm})
			live = append(live, from[p])
		}
		if i == 0 {
			rightFrom = len(inputs)
		}
	}
	logger := b.env.Logger
	l := b.env.Log
	return &PushQuery{start: func(owner context.Context) RowIter {
		it := &tableJoinIter{limit: root.Limit, live: live, logger: logger}
		store := state.NewMemStore()
		if ja != nil {
			groups := &operators.TableJoinGroups{Grouper: ja.grouper, Store: store}
			it.proc = c.processor(rightFrom, stepFrom, groups.Emit)
			it.aggregate(ja)
		} else {
			pipe := rows.pipe
			it.proc = c.processor(rightFrom, stepFrom, func(_ []byte, row types.Row, _ int64, _ operators.Emit) error {
				// A push query returns the rows a change makes, not
				// deletions.
				if row == nil || it.quiet {
					return nil
				}
				out, _, ok, err := pipe.Apply(row)
				if err != nil || !ok {
					return err
				}
				it.pending = append(it.pending, out)
				return nil
			})
		}
		m, err := operators.StartMerge(owner, l, inputs)
		if err != nil {
			it.err = err
			return it
		}
		it.merge = m
		return it
	}}, nil
}

// tableJoinIter runs a transient table join in its caller's goroutine: it
// takes the merged records and returns the rows they produce. Its memory
// is both tables' rows (as a persistent join's store holds them), an
// aggregation's groups, and the rows one record produced.
type tableJoinIter struct {
	merge *operators.Merger
	proc  operators.InputProcessor
	// live, per merge input, is the offset from which records' results are
	// returned; the records before it only build the state.
	live []int64
	// quiet is set while a record before its input's live offset is
	// processed.
	quiet bool
	// records collects a record's group inputs, for an aggregation.
	records []log.Record
	// apply aggregates the collected group inputs; nil without one.
	apply   func() error
	pending []types.Row
	limit   int64
	sent    int64
	err     error
	logger  *slog.Logger
	// panicked is set once a record has panicked (logged once).
	panicked bool
}

// aggregate makes the iterator aggregate the join's changes, as the
// persistent query's aggregation stage does with what the join stage
// sends it: retractions and additions of group inputs. The groups live
// in a store of their own, beside the join's.
func (it *tableJoinIter) aggregate(ja *tableJoinAggregation) {
	ag := &operators.Aggregator{Spec: ja.agg.spec, Store: state.NewMemStore(), Metrics: &operators.Metrics{},
		Output: func(out operators.AggOutput, _ operators.Emit) error {
			if out.Row != nil && !it.quiet {
				it.pending = append(it.pending, out.Row)
			}
			return nil
		}}
	codec := ja.agg.spec.Codec
	it.apply = func() error {
		defer func() { it.records = it.records[:0] }()
		for i := range it.records {
			in, err := codec.Decode(&it.records[i])
			if err != nil {
				return err
			}
			if err := ag.Apply(&in, nil); err != nil {
				return err
			}
		}
		return ag.Flush(nil)
	}
}

// Next implements RowIter.
func (it *tableJoinIter) Next(ctx context.Context) (types.Row, error) {
	if it.err != nil {
		return nil, it.err
	}
	// A record that cannot be joined is skipped, as in a persistent query.
	return nextMerged(ctx, it.merge, &it.pending, it.limit, &it.sent, func(i int, rec *log.Record) {
		it.quiet = rec.Offset < it.live[i]
		_ = it.safeProcess(i, rec)
	})
}

// safeProcess joins one record, turning a panic into its error.
func (it *tableJoinIter) safeProcess(input int, rec *log.Record) (err error) {
	defer recoverRecord(it.logger, &it.panicked, rec, &err, func() { it.records = it.records[:0] })
	if err := it.proc.ProcessInput(input, rec, func(pr log.ProduceRecord) { it.records = append(it.records, pr.Record) }); err != nil {
		it.records = it.records[:0]
		return err
	}
	if it.apply != nil {
		return it.apply()
	}
	return nil
}

// Close implements RowIter.
func (it *tableJoinIter) Close() {
	if it.merge != nil {
		it.merge.Close()
	}
}
