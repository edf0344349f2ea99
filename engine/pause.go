package engine

import (
	"context"
	"fmt"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/sql"
)

// This file runs ksqlDB's PAUSE and RESUME of persistent queries.
//
// A paused query's tasks are stopped the way TERMINATE and shutdown stop
// them: each task has committed its input offsets, state changes and
// output records together (one Pebble batch), so what it had not committed
// is simply read again. Its state stores and internal topics stay. RESUME
// plans the recorded query again and starts its tasks, which open the
// same stores and read on from the committed offsets: nothing is lost or
// repeated, as after a restart.
//
// The paused state lives in this engine only: after a restart every query
// runs again (ksqlDB records PAUSE in its command topic, so its queries
// stay paused; keeping that here needs a paused flag in the catalog's
// query record). For the same reason PAUSE is refused in Kafka mode,
// where each node runs part of a query's tasks and only the catalog topic
// would tell the other nodes.

// statePaused is a paused query's state in SHOW QUERIES, ksqlDB's word.
const statePaused = "PAUSED"

// pauseResume runs PAUSE or RESUME of one query or of all.
func (e *Engine) pauseResume(ctx context.Context, st *sql.PauseResume) error {
	verb := "PAUSE"
	if st.Resume {
		verb = "RESUME"
	}
	if e.clustered() {
		return errUnsupported.Errorf("%s is not supported in Kafka mode: a paused query would have to be recorded in the catalog topic for every node to stop its tasks", verb)
	}
	e.lockDDL(ctx)
	defer e.ddl.Unlock()
	qs, err := e.queriesNamed(st.All, st.QueryID)
	if err != nil {
		return err
	}
	for _, q := range qs {
		var err error
		if st.Resume {
			err = e.resumeLocked(ctx, q)
		} else {
			err = e.pauseLocked(ctx, q)
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", verb, q.ID, err)
		}
	}
	return nil
}

// pauseLocked stops q's tasks and leaves a paused entry in their place,
// which keeps the plan (EXPLAIN), the stores and internal topics
// (TERMINATE removes them) and when the tasks have all returned. The
// caller holds e.ddl.
func (e *Engine) pauseLocked(ctx context.Context, q *catalog.Query) error {
	rq, ok := e.runningQuery(q.ID)
	if !ok {
		return fmt.Errorf("query %s is not running on this node", q.ID)
	}
	if state, _ := rq.status(); state == statePaused {
		return nil
	}
	paused := &runningQuery{q: rq.q, plan: rq.plan, metrics: rq.metrics, inputs: rq.inputs,
		stores: rq.stores, topics: rq.topics, done: rq.done}
	paused.mu.state = statePaused
	if rq.cancel != nil {
		rq.cancel()
	}
	e.mu.Lock()
	e.mu.running[q.ID] = paused
	e.mu.Unlock()
	// The tasks commit nothing more once cancelled; wait for them to
	// close their stores, so that RESUME opens them again only after.
	if err := waitDone(ctx, rq.done); err != nil {
		return fmt.Errorf("wait for the tasks to stop: %w", err)
	}
	return nil
}

// resumeLocked starts a paused query's tasks again. A query that is not
// paused is left as it is. The caller holds e.ddl.
func (e *Engine) resumeLocked(ctx context.Context, q *catalog.Query) error {
	rq, ok := e.runningQuery(q.ID)
	if !ok {
		return fmt.Errorf("query %s is not running on this node", q.ID)
	}
	if state, _ := rq.status(); state != statePaused {
		return nil
	}
	// PAUSE may have returned on its context before the tasks stopped.
	if err := waitDone(ctx, rq.done); err != nil {
		return fmt.Errorf("wait for the paused tasks to stop: %w", err)
	}
	if err := e.startQuery(q); err != nil {
		e.markFailed(q, err)
		return fmt.Errorf("start: %w", err)
	}
	return nil
}

// waitDone waits until done is closed (a nil done is) or ctx ends.
func waitDone(ctx context.Context, done <-chan struct{}) error {
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
