package engine

import (
	"context"
	"time"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/log/kafka"
)

// DDL from any node (Kafka mode).
//
// Every node tails the catalog topic while it runs: catalogTailLoop
// applies what other nodes appended, then reconcile makes what runs here
// match the catalog (queries started or stopped, tables' materializers
// started, replaced or stopped). Before a statement checks anything
// against the catalog, lockDDL catches up too, so that it sees what the
// others did. Two statements on two nodes can still race between their
// checks and their writes; the catalog topic orders them, and a command
// that finds its key changed after what its node had read is not applied
// anywhere (catalog.ErrConcurrentChange, SQLSTATE 42P07): one node's
// CREATE succeeds and the other's fails.

// catalogPoll is how often a node looks for other nodes' catalog commands:
// DDL elsewhere takes effect here within about this long.
const catalogPoll = 200 * time.Millisecond

// clustered reports whether this node is part of a cluster (Kafka mode),
// where other nodes may change the catalog.
func (e *Engine) clustered() bool {
	_, ok := e.log.(*kafka.Log)
	return ok
}

// lockDDL takes the DDL lock and, in a cluster, brings the catalog and
// what runs here up to date with other nodes' commands first. A failed
// catch-up is logged, not fatal: the statement is then checked against
// what this node has read, and the catalog's conditional write still
// refuses it if another node got there first.
func (e *Engine) lockDDL(ctx context.Context) {
	e.ddl.Lock()
	if !e.clustered() {
		return
	}
	e.catchUpLocked(ctx)
}

// catchUpLocked applies other nodes' catalog commands and reconciles. The
// caller holds e.ddl.
func (e *Engine) catchUpLocked(ctx context.Context) {
	changed, err := e.cat.CatchUp(ctx)
	if err != nil {
		if ctx.Err() == nil {
			e.logger.Warn("catch up with the catalog", "error", err)
		}
		return
	}
	if changed {
		e.reconcileLocked(ctx)
	}
}

// catalogTailLoop tails the catalog until the engine closes. It is owned
// by the engine: Close waits for it (through e.background's group).
func (e *Engine) catalogTailLoop(done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(catalogPoll)
	defer t.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
		}
		e.ddl.Lock()
		e.catchUpLocked(e.ctx)
		e.ddl.Unlock()
	}
}

// reconcileLocked makes what runs on this node match the catalog: it
// starts the queries and materializers other nodes created, and stops
// those whose query or table another node removed or replaced. The state
// and topics of a removed query are dropped by the node that ran the
// statement. The caller holds e.ddl.
func (e *Engine) reconcileLocked(ctx context.Context) {
	want := map[string]*catalog.Query{}
	for _, q := range e.cat.Queries() {
		want[q.ID] = q
	}
	e.mu.Lock()
	var stop []string
	for id, rq := range e.mu.running {
		if q := want[id]; q == nil || q.Statement != rq.q.Statement {
			stop = append(stop, id)
		}
	}
	e.mu.Unlock()
	for _, id := range stop {
		e.logger.Info("query stopped or replaced on another node", "query", id)
		e.stopQuery(id)
	}

	tables := map[string]*catalog.Source{}
	for _, src := range e.cat.Sources() {
		if src.Kind == catalog.KindTable {
			tables[src.Name] = src
		}
	}
	e.mu.Lock()
	var gone []*catalog.Source
	for name, rq := range e.mu.materialized {
		if src := tables[name]; src == nil || e.materializerIDOn(src) != rq.q.ID {
			gone = append(gone, &catalog.Source{Name: name})
		}
	}
	e.mu.Unlock()
	for _, src := range gone {
		e.stopMaterializer(ctx, src)
	}
	for _, src := range tables {
		e.mu.Lock()
		_, running := e.mu.materialized[src.Name]
		e.mu.Unlock()
		if running || e.sourceFailure(src) != nil {
			continue
		}
		e.logger.Info("table created on another node", "table", src.Name)
		if err := e.startMaterializer(ctx, src); err != nil {
			e.logger.Error("materialize table", "table", src.Name, "error", err)
		}
	}

	for _, q := range e.cat.Queries() {
		if _, running := e.runningQuery(q.ID); running {
			continue
		}
		e.logger.Info("query created on another node", "query", q.ID)
		if err := e.startQuery(q); err != nil {
			e.logger.Error("start persistent query", "query", q.ID, "error", err)
			e.markFailed(q, err)
		}
	}
}

// querySequence returns the number that names a new persistent query
// (CSAS_<SINK>_<n>, CTAS_..., INSERTQUERY_<n>, as ksqlDB names them). On
// one node it is the catalog's NextSequence, as it always was: the DDL
// lock serializes statements, and the number is the catalog offset that
// the query's command will carry. In a cluster two nodes at the same
// catalog position would pick the same number, and so the same id,
// before the catalog decides which command wins; the loser would by
// then have committed its start offsets in the winner's consumer group
// (the group is named by the id). A node of a cluster therefore claims
// its number (catalog.ClaimSequence): an offset of the catalog topic
// that no other node is given, so the ids of two racing statements
// differ and the loser writes only under its own. The claim costs one
// append, and ids in a cluster skip the claims' offsets.
func (e *Engine) querySequence(ctx context.Context) (int64, error) {
	if !e.clustered() {
		return e.cat.NextSequence(), nil
	}
	return e.cat.ClaimSequence(ctx)
}
