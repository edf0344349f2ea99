package build

import (
	"context"
	"fmt"
	"time"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators"
	"github.com/runnel/runnel/operators/serde"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// Stream-stream joins: lowering a STREAM-STREAM Join node into the spec of
// operators.StreamStreamJoin, and its stages:
//
//	Sink                                  stage 3: a task per partition p of
//	 └─ Project                             the join, reading p of the left
//	     └─ [Filter]                        and right inputs merged by ROWTIME
//	         └─ Join STREAM-STREAM     ─┐   (ties to the left); store
//	             ├─ [Repartition] ──────┼── <id>/join/<p> holds both sides'
//	             │   └─ Scan orders     │   records of the open windows
//	             └─ [Repartition] ──────┘
//	                 └─ Scan shipments      stages 1 and 2, only for a side
//	                                        not keyed by its join key or not
//	                                        in the join's partition count:
//	                                        its topic → an internal topic
//	                                        keyed by the join key
//
// Both sides' records must be keyed alike for equal keys to meet in one
// partition: a side that is not repartitioned keeps its source's key
// bytes, so the other side is repartitioned in that source's key format
// (the right's when neither is). When both are repartitioned the key is
// written as a source's default key format would write it: KAFKA for one
// primitive column, JSON otherwise.

// defaultJoinGrace is the grace of a WITHIN without GRACE PERIOD:
// max(24 hours - 2 × before, 0), the default of Kafka Streams'
// JoinWindows.of(before), which ksqlDB 0.29 builds such a join with
// (README "Stream ⋈ stream").
func defaultJoinGrace(before time.Duration) time.Duration {
	return max(24*time.Hour-2*before, 0)
}

// streamStream is a lowered stream-stream join.
type streamStream struct {
	node *planner.Join
	// scans are the left and right streams; reparts their Repartition
	// nodes, nil for a side partitioned by its join key already.
	scans   [2]*planner.Scan
	reparts [2]*planner.Repartition
	decs    [2]*operators.Decoder
	// keyDecs decode a repartitioned side's records for its repartition:
	// the columns of its join key; nil uses decs.
	keyDecs [2]*operators.Decoder
	// key serializes the join key: the repartition topics' record keys,
	// and the join state's.
	key serde.KeyFormat
	// times give a side's event time for the merge when it is a column
	// (TIMESTAMP=); nil reads the record's timestamp.
	times [2]func(*log.Record) int64
	// spec reads both sides from their streams' own topics; a persistent
	// join reading a repartition topic restores each record's key first.
	spec *operators.StreamStreamSpec
}

var _ joinRuntime = (*streamStream)(nil)

// lowerStreamStream reads a two-way stream-stream Join node.
func lowerStreamStream(j *planner.Join) (*streamStream, error) {
	if j.Within == nil {
		return nil, errShape(j)
	}
	ss := &streamStream{node: j}
	for i, n := range []planner.Node{j.Left, j.Right} {
		if rp, ok := n.(*planner.Repartition); ok {
			ss.reparts[i], n = rp, rp.Input
		}
		scan, ok := n.(*planner.Scan)
		if !ok {
			return nil, errShape(j)
		}
		ss.scans[i] = scan
		var err error
		if ss.decs[i], err = NewDecoder(scan.Source); err != nil {
			return nil, err
		}
		ss.times[i] = eventTime(scan.Source, ss.decs[i])
	}
	var err error
	if ss.key, err = ss.keyFormat(); err != nil {
		return nil, err
	}
	w := j.Within
	grace := w.Grace
	if !w.HasGrace {
		grace = defaultJoinGrace(w.Before)
	}
	ss.spec = &operators.StreamStreamSpec{
		Before: w.Before.Milliseconds(),
		After:  w.After.Milliseconds(),
		Grace:  grace.Milliseconds(),
		Outer:  [2]bool{j.Type == planner.LeftJoin || j.Type == planner.FullJoin, j.Type == planner.RightJoin || j.Type == planner.FullJoin},
		Key:    ss.key,
		Extra:  j.Extra,
	}
	for i, keys := range [][]expr.Expr{j.LeftKeys, j.RightKeys} {
		ss.spec.Sides[i] = operators.StreamSide{Decoder: ss.decs[i], Time: len(ss.scans[i].Source.Columns), Keys: keys}
	}
	return ss, nil
}

// keyFormat is the join key's serialization: a side that is not
// repartitioned keeps its source's key bytes (the right's first), so the
// other is written alike; with both repartitioned, a source's default.
func (ss *streamStream) keyFormat() (serde.KeyFormat, error) {
	for _, i := range []int{1, 0} {
		if ss.reparts[i] != nil {
			continue
		}
		src := ss.scans[i].Source
		kf, err := serde.NewKeyFormat(src.KeyFormat, src.KeyColumns(), SerdeProps(src))
		if err != nil {
			return nil, fmt.Errorf("stream %s key format: %w", src.Name, err)
		}
		return kf, nil
	}
	cols := make([]types.Column, len(ss.node.LeftKeys))
	for i, k := range ss.node.LeftKeys {
		cols[i] = types.Column{Name: fmt.Sprintf("JOINKEY_%d", i), Type: k.Type(), Key: true}
	}
	name := serde.FormatJSON
	if len(cols) == 1 && kafkaKey(cols[0].Type) {
		name = serde.FormatKafka
	}
	kf, err := serde.NewKeyFormat(name, cols, serde.Props{})
	if err != nil {
		return nil, fmt.Errorf("join key format: %w", err)
	}
	return kf, nil
}

// kafkaKey reports whether the KAFKA format carries a key of type t.
func kafkaKey(t types.Type) bool {
	switch t.Kind {
	case types.KindInt, types.KindBigint, types.KindDouble, types.KindString, types.KindBytes:
		return true
	}
	return false
}

func (ss *streamStream) join() *planner.Join     { return ss.node }
func (ss *streamStream) source() *catalog.Source { return ss.scans[0].Source }

// keyRepartition is the processor of the stage that repartitions side
// into topic, keyed by its join key.
func (ss *streamStream) keyRepartition(side int, topic string) *operators.KeyRepartition {
	dec := ss.keyDecs[side]
	if dec == nil {
		dec = ss.decs[side]
	}
	// Its records carry on only the columns the join keeps of them.
	return &operators.KeyRepartition{Decoder: dec, TimeIndex: len(ss.scans[side].Source.Columns),
		Keys: ss.reparts[side].Keys, Key: ss.key, Topic: topic, Partitions: ss.node.Partitions,
		Prune: operators.RepartitionPruner(dec, ss.spec.Sides[side].Stored)}
}

// stages implements joinRuntime: a repartition stage per side that needs
// one, then the join.
func (ss *streamStream) stages(id string, out func(sc *stageContext) (operators.JoinOutput, error)) ([]stage, []internalTopic, error) {
	var stages []stage
	var topics []internalTopic
	inputs := [2]string{ss.scans[0].Source.Topic, ss.scans[1].Source.Topic}
	spec := *ss.spec
	times := ss.times
	var upstream [2]*operators.MergeUpstream
	for side := range 2 {
		if ss.reparts[side] == nil {
			continue
		}
		topic := joinTopic(id, ss.node, side)
		topics = append(topics, internalTopic{name: topic, partitions: ss.node.Partitions})
		stages = append(stages, stage{inputs: []string{inputs[side]}, failures: true,
			processor: func(*stageContext, *state.TaskStore) (operators.Processor, error) {
				return ss.keyRepartition(side, topic), nil
			}})
		// The join waits for the stage to pass on what its stream holds
		// (operators/merge.go).
		upstream[side] = &operators.MergeUpstream{Group: id, Topic: inputs[side]}
		inputs[side] = topic
		// A repartitioned record carries its event time as its
		// timestamp, and its own key in a header.
		spec.Sides[side].Restore = operators.RestoreKey
		spec.Sides[side].KeyBytes = keysWritten(spec.Sides[side].Keys)
		times[side] = nil
	}
	stages = append(stages, stage{
		// The left first: it wins ties of the merge (README "Event time
		// and processing order").
		inputs:   inputs[:],
		times:    times[:],
		upstream: upstream[:],
		store:    joinStore(id, ss.node),
		role:     StoreJoin,
		failures: true,
		processor: func(sc *stageContext, store *state.TaskStore) (operators.Processor, error) {
			o, err := out(sc)
			if err != nil {
				return nil, err
			}
			return &operators.StreamStreamJoin{Spec: &spec, Store: store, Output: o, Metrics: sc.metrics, Memory: sc.memory}, nil
		},
	})
	return stages, topics, nil
}

// pushInputs implements joinRuntime: every partition of both streams,
// read from where earliest says; ties go to the left, then to the lower
// partition.
func (ss *streamStream) pushInputs(ctx context.Context, b *Builder, earliest bool) ([]operators.MergeInput, []int, error) {
	mode := ReadNew
	if earliest {
		mode = ReadAll
	}
	var inputs []operators.MergeInput
	var sides []int
	for side, scan := range ss.scans {
		spec, err := b.Reads(ctx, scan.Source.Topic, mode)
		if err != nil {
			return nil, nil, err
		}
		for p := range spec.Partitions {
			inputs = append(inputs, operators.MergeInput{TP: log.TopicPartition{Topic: spec.Topic, Partition: p}, Start: spec.Start[p], Time: ss.times[side]})
			sides = append(sides, side)
		}
	}
	return inputs, sides, nil
}

// pushProcessor implements joinRuntime: the windows in memory, in key
// order (a transient query has no store).
func (ss *streamStream) pushProcessor(out operators.JoinOutput) operators.InputProcessor {
	// Its store is in memory already: no index of it.
	return &operators.StreamStreamJoin{Spec: ss.spec, Store: operators.NewOrderedMemStore(), Output: out, IndexBytes: -1}
}

// storeOnly narrows what the join's state keeps of each side's records to
// the columns read: reads are every expression over the joined row above
// the join (its WHERE, its projection or grouping and aggregate
// arguments, its table functions' arguments). The rest of the ON
// condition reads the joined row too, each side's keys and ROWTIME its
// side's row. A joined row's other columns (the join key and ROWTIME
// after both sides) are computed, not stored. Called before the stages
// are cut, once the query over the join is known; a join whose rows go on
// to another join (a chain) keeps every column.
func (ss *streamStream) storeOnly(reads []expr.Expr) error {
	widths := [2]int{ss.decs[0].Width(), ss.decs[1].Width()}
	var used [2][]bool
	for side := range 2 {
		used[side] = make([]bool, widths[side])
		used[side][ss.spec.Sides[side].Time] = true
		for _, k := range ss.spec.Sides[side].Keys {
			markColumns(k, used[side], 0)
		}
	}
	if ss.spec.Extra != nil {
		reads = append(reads[:len(reads):len(reads)], ss.spec.Extra)
	}
	for _, e := range reads {
		markColumns(e, used[0], 0)
		markColumns(e, used[1], widths[0])
	}
	for side := range 2 {
		ss.spec.Sides[side].Stored = usedIndexes(used[side])
		// The records are decoded into those columns only: the join's
		// own, and a repartition's into its join key's.
		var err error
		if ss.decs[side], err = readingDecoder(ss.scans[side], used[side]); err != nil {
			return err
		}
		ss.spec.Sides[side].Decoder = ss.decs[side]
		ss.times[side] = eventTime(ss.scans[side].Source, ss.decs[side])
		if ss.reparts[side] != nil {
			keyUsed := make([]bool, widths[side])
			for _, e := range ss.reparts[side].Keys {
				markColumns(e, keyUsed, 0)
			}
			if ss.keyDecs[side], err = readingDecoder(ss.scans[side], keyUsed); err != nil {
				return err
			}
		}
	}
	return nil
}

// filterSides gives each side of an inner join the terms of the WHERE
// over the join (where) that read that side's columns only, as its
// Filter (sideFilters), so that the side's records they drop are neither
// matched nor stored. The WHERE still runs above the join, on every
// joined row, so the rows that come out are the same. Left alone: an
// outer join (its unmatched rows come out whatever the WHERE says of the
// side), and a join with the rest of an ON condition (a record dropped
// early would not report that condition's failures on its pairs).
func (ss *streamStream) filterSides(where expr.Expr) {
	if ss.node.Type != planner.InnerJoin || ss.spec.Extra != nil {
		return
	}
	ss.spec.Sides[0].Filter, ss.spec.Sides[1].Filter = sideFilters(where, planner.InnerJoin, ss.decs[0].Width(), ss.decs[1].Width())
}

// markColumns sets used[i] for each column reference of e to index
// offset+i (the references to other indexes are another row part's).
func markColumns(e expr.Expr, used []bool, offset int) {
	expr.Walk(e, func(x expr.Expr) bool {
		if c, ok := x.(*expr.Column); ok {
			if i := c.Index - offset; i >= 0 && i < len(used) {
				used[i] = true
			}
		}
		return true
	})
}

// usedIndexes lists, in ascending order, the indexes i with used[i] set:
// the columns a join side stores. Never nil, even when empty: a nil
// Stored means every column.
func usedIndexes(used []bool) []int {
	stored := []int{}
	for i, u := range used {
		if u {
			stored = append(stored, i)
		}
	}
	return stored
}

// keysWritten reports whether a repartitioned side's join key, as
// KeyRepartition wrote it in its record's key, can stand for the key the
// join computes (StreamSide.KeyBytes): both evaluate the same keys in the
// same format, and agree unless a key is volatile (RANDOM), which gives
// another value each time.
func keysWritten(keys []expr.Expr) bool {
	for _, k := range keys {
		if expr.Volatile(k) {
			return false
		}
	}
	return true
}
