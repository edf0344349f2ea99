package engine

import (
	"context"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/operators/build"
)

// aggregateWriter returns the running query whose aggregation's stores
// hold table src's rows, which pull queries on src then read instead of a
// materializer's copy (build.PullAggregate), as ksqlDB's pull queries read
// the aggregate's store: src is written by that one query, a CREATE TABLE
// AS SELECT ... GROUP BY (build.ServesPull). ok is false for tables of
// other origins, when the query is not running here (it failed to plan,
// or was terminated), and in Kafka mode, where each node keeps copies of
// the partitions it owns or stands by for through materializers
// (cluster_replicas.go).
func (e *Engine) aggregateWriter(src *catalog.Source) (rq *runningQuery, ok bool) {
	if e.clustered() {
		return nil, false
	}
	var writer *catalog.Query
	for _, q := range e.cat.Queries() {
		if q.Sink != src.Name {
			continue
		}
		if writer != nil {
			// Another query writes the table's topic too: its rows
			// are not all in one aggregation's stores.
			return nil, false
		}
		writer = q
	}
	if writer == nil {
		return nil, false
	}
	rq, ok = e.runningQuery(writer.ID)
	if !ok || rq == nil || rq.plan == nil || !build.ServesPull(rq.plan) {
		return nil, false
	}
	return rq, true
}

// syncMaterializer gives table src a materializer exactly when its
// aggregation does not serve its pull queries (aggregateWriter): after
// its query started, or was replaced by one of another shape (CREATE OR
// REPLACE).
func (e *Engine) syncMaterializer(ctx context.Context, src *catalog.Source) error {
	e.mu.Lock()
	_, running := e.mu.materialized[src.Name]
	e.mu.Unlock()
	if _, ok := e.aggregateWriter(src); ok {
		if running {
			e.stopMaterializer(ctx, src)
		}
		return nil
	}
	if running {
		return nil
	}
	// Not served, as just found: startMaterializer would ask again.
	return e.runMaterializer(src)
}

// dropOldMaterialized drops the stores that an earlier version's
// materializer of table src left in the data directory, now that its
// aggregation serves its pull queries: they would otherwise hold a copy
// of the table on disk for nothing. A store found empty costs a read.
func (e *Engine) dropOldMaterialized(ctx context.Context, src *catalog.Source) {
	parts, err := e.builder.Partitions(ctx, src.Topic)
	if err != nil {
		return
	}
	id := materializerID(src)
	for p := range parts {
		name := build.MaterializedStore(id, p)
		empty := true
		if err := e.state.Reader(name).Scan(nil, nil, func(_, _ []byte) bool { empty = false; return false }); err != nil || empty {
			continue
		}
		// The group's offsets go back to the topic's start first: a
		// materializer started later (after TERMINATE) must read every
		// row again into its emptied stores. A crash between the two
		// leaves the stores, which the next start drops.
		if err := e.commitStartOffsets(ctx, id, src.Topic, true); err != nil {
			e.logger.Warn("reset the old materializer's offsets", "table", src.Name, "error", err)
			return
		}
		if err := e.state.Drop(ctx, name); err != nil {
			e.logger.Warn("drop the old materialized state", "store", name, "error", err)
			continue
		}
		e.logger.Info("dropped the old materialized state: the aggregation serves pull queries", "table", src.Name, "store", name)
	}
}

// materializeLate starts, for a pull query, the materializer of a table
// that has none running: a declared table not pulled before
// (lazyMaterializer), or one whose aggregation no longer serves it (its
// query was terminated): pull queries then read the rows its topic holds.
// It holds e.ddl, so that a DROP cannot run between its check that src
// still exists and the start, and leave a materializer behind, and so
// that two first pull queries at once start one materializer: the second
// finds the first's running (syncMaterializer).
func (e *Engine) materializeLate(src *catalog.Source) (*runningQuery, error) {
	e.ddl.Lock()
	defer e.ddl.Unlock()
	cur, err := e.cat.Source(src.Name)
	if err != nil || cur.Seq != src.Seq {
		return nil, errNotInState.Errorf("table %s is not materialized", src.Name)
	}
	if err := e.syncMaterializer(e.ctx, cur); err != nil {
		return nil, err
	}
	e.mu.Lock()
	rq := e.mu.materialized[src.Name]
	e.mu.Unlock()
	if rq == nil {
		// A query serves it again (CREATE OR REPLACE ran meanwhile).
		return nil, errNotInState.Errorf("table %s changed while the pull query began: query again", src.Name)
	}
	return rq, nil
}

// aggregateServedParts counts the table partitions this node holds for
// pull queries in aggregations' stores (aggregateWriter), for SHOW NODES:
// one per task of each such aggregation, as a copy counts one per task.
func (e *Engine) aggregateServedParts() int32 {
	var n int32
	for _, src := range e.cat.Sources() {
		if src.Kind != catalog.KindTable {
			continue
		}
		rq, ok := e.aggregateWriter(src)
		if !ok {
			continue
		}
		for _, s := range rq.stores {
			if s.Role == build.StoreAggregate {
				n++
			}
		}
	}
	return n
}
