package build

import (
	"context"
	"fmt"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/sql/types"
)

// aggregateTable is the aggregation of a persistent query whose state
// holds, group by group, the table the query writes: its spec and sink,
// and the topic its tasks read (their partitions are the store's), or ""
// for its repartition topic. ok is false for a query of another shape.
func aggregateTable(query *planner.Plan) (a *aggregation, sink *planner.Sink, input string, ok bool) {
	sink = query.Sink()
	if sink == nil || sink.Target == nil {
		return nil, nil, "", false
	}
	switch {
	case planner.Find[*planner.Join](sink) == nil:
		var err error
		if a, ok, err = lowerAggregation(sink.Input); !ok || err != nil {
			return nil, nil, "", false
		}
		if a.repartition == nil {
			input = a.scan.Source.Topic
		}
	case tableJoinOf(sink) != nil:
		// A join of tables, then the aggregation over the groups it
		// writes to the repartition topic (lowerTableJoinPersistent).
		_, ja, err := lowerTableJoinQuery(sink.Input)
		if err != nil || ja == nil {
			return nil, nil, "", false
		}
		a = ja.agg
	default:
		// A join of a stream, likewise (lowerJoinPersistent).
		ja, ok, err := lowerJoinAggregation(sink.Input)
		if !ok || err != nil {
			return nil, nil, "", false
		}
		a = ja.agg
	}
	// A windowed aggregation drops a window's state once stream time
	// passes its retention (Aggregator.Flush), where the table's topic,
	// and so its copy, keeps the window: Kafka Streams' segmented window
	// stores, which ksqlDB's pull queries read, keep it too until its
	// whole segment expires. Such a table keeps its copy, which answers
	// as before. (EMIT FINAL, besides, stores windows still open.)
	if a.spec.Window != nil {
		return nil, nil, "", false
	}
	return a, sink, input, true
}

// ServesPull reports whether the persistent query whose plan is query
// keeps, in its aggregation's stores, every row of the table it writes:
// a CREATE TABLE AS SELECT ... GROUP BY (over a join too) without a
// window. Pull queries on that table then read those stores
// (PullAggregate) and the table needs no materializer.
func ServesPull(query *planner.Plan) bool {
	_, _, _, ok := aggregateTable(query)
	return ok
}

// aggregateStore names the store of partition part of query id's
// aggregation (see aggregateStage).
func aggregateStore(id string, part int32) string { return storeName(id+"/agg", part) }

// PullAggregate builds the pull query plan over a table that the
// persistent query id, planned as query, writes from its aggregation
// (ServesPull): it reads the aggregation's stores, each stored group made
// the table's row as the aggregation emits it (operators.AggregateRows),
// and filters, sorts, limits and projects them as Pull does. The caller
// has waited for the query to catch up with the writes the pull query
// must see. A key lookup reads that key's group (or its windows) only: in
// the one partition that holds it when the aggregation reads a
// repartition topic keyed by the group, else in each partition.
func (b *Builder) PullAggregate(ctx context.Context, plan *planner.Plan, id string, query *planner.Plan) (RowIter, error) {
	root, r, err := lowerPull(plan)
	if err != nil {
		return nil, err
	}
	a, sink, input, ok := aggregateTable(query)
	if !ok {
		return nil, fmt.Errorf("query %s does not aggregate its table", id)
	}
	// The aggregation's tasks read the repartition topic, or the source.
	repartitioned := input == ""
	if repartitioned {
		input = repartitionTopic(id)
	}
	partitions, err := b.Partitions(ctx, input)
	if err != nil {
		return nil, err
	}
	sinkParts, err := b.Partitions(ctx, sink.Target.Topic)
	if err != nil {
		return nil, fmt.Errorf("sink topic: %w", err)
	}
	enc, err := sinkEncoder(sink.Target)
	if err != nil {
		return nil, err
	}
	read := func(part int32) PartitionReader {
		return aggregatePartition{spec: a.spec, enc: enc, sinkParts: sinkParts, r: b.env.State.Reader(aggregateStore(id, part))}
	}
	windowed := a.spec.Window != nil
	lookup := func(v types.Value) ([]byte, []byte, int32, error) {
		key, err := a.spec.Codec.EncodeKey(types.Row{v})
		if err != nil {
			return nil, nil, 0, err
		}
		start, end := operators.GroupKeyRange(key, windowed)
		part := int32(-1)
		if repartitioned {
			// As the repartition topic's producer placed the group.
			part = log.PartitionFor(key, partitions)
		}
		return start, end, part, nil
	}
	return pullRows(root, r, pullSpace{partitions: partitions, read: read, lookup: lookup,
		record: func(v []byte, _ int32) log.Record { return operators.AggregateRecord(v) }})
}

// aggregatePartition reads one partition of an aggregation's store as its
// table's rows.
type aggregatePartition struct {
	spec      *operators.AggregateSpec
	enc       *operators.Encoder
	sinkParts int32
	r         operators.StoreReader
}

// Scan implements PartitionReader. A scan without bounds reads the
// groups; the store's other keys (indexes, stream time) are no rows.
func (p aggregatePartition) Scan(_ context.Context, start, end []byte, fn func(key, value []byte) bool) error {
	rows, err := operators.NewAggregateRows(p.spec, p.enc, p.sinkParts, p.r)
	if err != nil {
		return err
	}
	gs, ge := operators.GroupRange()
	if start == nil {
		start = gs
	}
	if end == nil {
		end = ge
	}
	return rows.Scan(p.r, start, end, fn)
}
