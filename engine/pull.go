package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/log/kafka"
	"github.com/runnel/runnel/operators/build"
	"github.com/runnel/runnel/planner"
)

// propPullTimeout bounds how long a pull query waits for its table to
// catch up with the writes acknowledged before it began.
const (
	propPullTimeout    = "runnel.pull.timeout.ms"
	defaultPullTimeout = 10 * time.Second
)

// materializerPrefix starts the id of every table's materializer.
const materializerPrefix = "_MAT_"

// materializerID names the internal query that materializes a table, per
// creation of the table (a re-created table starts afresh).
func materializerID(src *catalog.Source) string {
	return fmt.Sprintf("%s%s_%d", materializerPrefix, src.Name, src.Seq)
}

// materializerIDOn is materializerID on this node: in Kafka mode each node
// keeps its own copies of the table partitions it owns or stands by for
// (cluster_replicas.go), so its materializer's group, stores and
// changelogs carry the node id; materializerID itself names the group
// that says who owns which partition.
func (e *Engine) materializerIDOn(src *catalog.Source) string {
	if _, ok := e.log.(*kafka.Log); ok {
		return copyGroup(materializerID(src), e.opts.NodeID)
	}
	return materializerID(src)
}

// groupCommitted is group's committed offset of tp; ok is false if it
// cannot be read now (the caller polls again).
func (e *Engine) groupCommitted(ctx context.Context, group string, tp log.TopicPartition) (int64, bool) {
	offs, err := e.log.CommittedOffsets(ctx, group, tp.Topic)
	if err != nil {
		return 0, false
	}
	return offs[tp.Partition], true
}

// startMaterializer starts the tasks that keep a table's current rows in
// state stores for pull queries, unless the table's aggregation keeps them
// (aggregateWriter): then it drops what an earlier version's materializer
// left. A declared table's materializer waits for the table's first pull
// query (lazyMaterializer), unless it ran before.
func (e *Engine) startMaterializer(ctx context.Context, src *catalog.Source) error {
	if _, ok := e.aggregateWriter(src); ok {
		e.dropOldMaterialized(e.ctx, src)
		return nil
	}
	if e.lazyMaterializer(src) && !e.materializedBefore(ctx, src) {
		return nil
	}
	return e.runMaterializer(src)
}

// lazyMaterializer reports whether table src's materializer starts at the
// table's first pull query (pull, materializeLate) rather than with the
// table: so it does for a table declared over a topic by CREATE TABLE in
// embedded mode. ksqlDB serves pull queries on CREATE SOURCE TABLE and
// CREATE TABLE AS SELECT tables, which it materializes at once, and on no
// declared table: those stay eager, so that their first pull query does
// not wait for a copy of the whole topic. A declared table's copy is often
// never read (Nexmark q7's nexmark_q7_rows: its materializer was 1.32 s
// of q7's 13.4 s of samples, and half the rows Pebble flushed). In a
// cluster, a table's copies are placed by its group (cluster_replicas.go)
// on every node at once, as before.
func (e *Engine) lazyMaterializer(src *catalog.Source) bool {
	return src.Kind == catalog.KindTable && src.Query == "" && !src.ReadOnly && !src.System && !e.clustered()
}

// materializedBefore reports whether table src's materializer ran before
// (a pull query started it): its group has committed offsets, which in
// embedded mode commit in the same batches as its stores. A table that
// was pulled once is likely pulled again, and its stores hold what was
// read: Open restarts it at once, to read only what was written since.
// (One pulled over an empty topic committed nothing, and starts lazily
// again, at no cost.) When the offsets cannot be read, it says true: the
// materializer starts, as it did before lazy starts.
func (e *Engine) materializedBefore(ctx context.Context, src *catalog.Source) bool {
	offs, err := e.log.CommittedOffsets(ctx, materializerID(src), src.Topic)
	if err != nil {
		e.logger.Warn("read the materializer's offsets: starting it", "table", src.Name, "error", err)
		return true
	}
	return len(offs) > 0
}

// materializing reports whether table name's materializer runs.
func (e *Engine) materializing(name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.mu.materialized[name]
	return ok
}

// runMaterializer starts table src's materializer, whatever its origin.
func (e *Engine) runMaterializer(src *catalog.Source) error {
	id := e.materializerIDOn(src)
	ctx, cancel := context.WithCancel(e.ctx)
	bq, err := e.builder.Materializer(ctx, id, src)
	if err != nil {
		cancel()
		return err
	}
	rq := &runningQuery{q: &catalog.Query{ID: id, Sink: src.Name, Sources: []string{src.Name}}, cancel: cancel, done: make(chan struct{})}
	rq.mu.state = stateRunning
	if kl, ok := e.log.(*kafka.Log); ok {
		// In a cluster this node keeps only the partitions it owns or
		// stands by for (cluster_replicas.go).
		if err := e.launchReplicas(ctx, rq, bq, kl, src); err != nil {
			cancel()
			return fmt.Errorf("join the group of table %s: %w", src.Name, err)
		}
	} else {
		e.launch(ctx, rq, bq)
	}
	e.mu.Lock()
	e.mu.materialized[src.Name] = rq
	e.mu.Unlock()
	return nil
}

// stopMaterializer stops a dropped or replaced table's materializer and
// drops its state: one store per task, so a table whose materializer never
// started (a failed one) costs nothing here.
func (e *Engine) stopMaterializer(ctx context.Context, src *catalog.Source) {
	e.mu.Lock()
	rq, ok := e.mu.materialized[src.Name]
	delete(e.mu.materialized, src.Name)
	e.mu.Unlock()
	if !ok {
		return
	}
	rq.stopAndWait(e.opts.ShutdownTimeout)
	for _, s := range rq.stores {
		if err := e.state.Drop(ctx, s.Name); err != nil {
			e.logger.Warn("drop materialized state", "store", s.Name, "error", err)
		}
	}
}

// pullTimeout is the session's pull query timeout.
func (s *session) pullTimeout() time.Duration {
	if v := s.prop(propPullTimeout); v != "" {
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil && ms > 0 {
			return time.Duration(ms) * time.Millisecond
		}
	}
	return s.e.opts.PullTimeout
}

// pull answers a pull query over a table: it waits until the table has
// caught up with every write acknowledged before the query began, then
// returns the builder's scan of the table's materialized rows (its
// materializer's, or its aggregation's stores: pull_agg.go), which
// filters, sorts, limits and projects them as the client reads.
func (e *Engine) pull(ctx context.Context, plan *planner.Plan, timeout time.Duration) (build.RowIter, error) {
	sources := plan.Sources()
	for _, src := range sources {
		if err := e.sourceFailure(src); err != nil {
			return nil, err
		}
	}
	src := sources[0]
	if e.clustered() {
		return e.pullClustered(ctx, plan, src, timeout)
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// waited says why a wait for the table to catch up failed: the pull
	// timeout, or what the wait returned.
	waited := func(err error) error {
		if ctx.Err() == nil && wctx.Err() != nil {
			return errCanceled.Errorf("pull query on %s timed out after %s waiting for the table to catch up with acknowledged writes (SET '%s' to wait longer)", src.Name, timeout, propPullTimeout)
		}
		return err
	}
	if err := e.awaitSource(wctx, src, map[string]bool{}); err != nil {
		return nil, waited(err)
	}
	e.mu.Lock()
	rq := e.mu.materialized[src.Name]
	e.mu.Unlock()
	if rq == nil {
		if w, ok := e.aggregateWriter(src); ok {
			return e.builder.PullAggregate(ctx, plan, w.q.ID, w.plan)
		}
		// A declared table's first pull query starts its materializer
		// (lazyMaterializer), and the aggregation that served a table
		// may be gone (TERMINATE): its topic still holds the rows, which
		// a materializer reads. Either way this query waits, within its
		// timeout, for the materializer to read the topic's rows.
		late, err := e.materializeLate(src)
		if err != nil {
			return nil, err
		}
		if err := e.awaitQuery(wctx, late); err != nil {
			return nil, waited(err)
		}
		rq = late
	}
	return e.builder.Pull(ctx, plan, rq.q.ID)
}

// awaitSource waits until the queries that write src (the one that made
// it and those that INSERT INTO it), and the queries upstream of them, and
// src's materializer, have consumed their inputs up to the end offsets
// those inputs have now: then every write acknowledged before the call is
// reflected in src's materialized rows.
func (e *Engine) awaitSource(ctx context.Context, src *catalog.Source, visited map[string]bool) error {
	if err := e.awaitWriters(ctx, src, visited); err != nil {
		return err
	}
	e.mu.Lock()
	mat := e.mu.materialized[src.Name]
	e.mu.Unlock()
	if mat != nil {
		return e.awaitQuery(ctx, mat)
	}
	return nil
}

// awaitWriters is awaitSource without src's own materializer: in a
// cluster, each partition's copy is awaited where it is read
// (cluster_pull.go).
func (e *Engine) awaitWriters(ctx context.Context, src *catalog.Source, visited map[string]bool) error {
	if visited[src.Name] {
		return nil
	}
	visited[src.Name] = true
	for _, q := range e.cat.Queries() {
		if q.Sink != src.Name {
			continue
		}
		for _, name := range q.Sources {
			if up, err := e.cat.Source(name); err == nil {
				// The queries that write an upstream source, not its
				// materialized copy: a query reads its inputs' topics.
				if err := e.awaitWriters(ctx, up, visited); err != nil {
					return err
				}
			}
		}
		if rq, ok := e.runningQuery(q.ID); ok {
			if err := e.awaitQuery(ctx, rq); err != nil {
				return err
			}
		}
	}
	return nil
}

// writtenEnds are, per partition of topic, the offset a reader must have
// consumed to have read every record acknowledged before the call. In
// Kafka mode that is the high watermark, not the last stable offset
// (EndOffsets) that read_committed readers stop at: a transaction left
// open by a node that died holds the last stable offset back, up to the
// transaction timeout or the node's return, below records that other
// nodes' transactions committed and acknowledged after it began; waiting
// for the last stable offset would answer without them. A reader reaches
// the high watermark once every transaction below it has ended (the
// dead one aborted, live ones committed or aborted), and a pull query
// waits for that, bounded by its timeout. The embedded log has no open
// transactions: its end offsets are what was acknowledged.
func (e *Engine) writtenEnds(ctx context.Context, topic string) ([]int64, error) {
	if kl, ok := e.log.(*kafka.Log); ok {
		return kl.HighWatermarks(ctx, topic)
	}
	return e.log.EndOffsets(ctx, topic)
}

// currentEntry is the entry this engine now keeps for rq's query: rq
// itself, unless PAUSE, RESUME or TERMINATE replaced or removed it (then
// rq, so that a terminated query's wait goes on to its timeout as before).
func (e *Engine) currentEntry(rq *runningQuery) *runningQuery {
	if rq.q == nil {
		return rq
	}
	if cur, ok := e.runningQuery(rq.q.ID); ok && cur != nil {
		return cur
	}
	return rq
}

// awaitQuery waits until a running query's tasks have committed their
// work at or past the end of each of the query's input topics
// (writtenEnds), in pipeline order. It reads the tasks' own positions,
// which move only once a commit's output is visible in the log, rather
// than the committed offsets in the log, which Kafka may show before the
// output's markers.
func (e *Engine) awaitQuery(ctx context.Context, rq *runningQuery) error {
	for _, topic := range rq.inputs {
		ends, err := e.writtenEnds(ctx, topic)
		if err != nil {
			return fmt.Errorf("end offsets of %s: %w", topic, err)
		}
		for {
			state, qerr := rq.status()
			// A query that could not start has no tasks to catch up.
			caught := len(rq.tasks) > 0 || state != stateError
			for _, t := range rq.tasks {
				// A join's task reads several topics: each of its inputs
				// on this topic must have caught up.
				for _, in := range t.Inputs {
					if in.Topic != topic || int(in.Partition) >= len(ends) {
						continue
					}
					off, ok := t.CommittedAt(in)
					if rq.cluster != nil && !rq.cluster.owns(t) {
						// Another node runs the task: its progress is
						// the group's committed offset.
						off, ok = e.groupCommitted(ctx, rq.q.ID, in)
					}
					if !ok || off < ends[in.Partition] {
						caught = false
						break
					}
				}
				if !caught {
					break
				}
			}
			// A query that has caught up answers even while one of its
			// tasks is in ERROR: on a full disk, pull queries still read
			// what was committed before. One that is behind and in ERROR
			// fails at once, saying why, rather than at the timeout.
			if caught {
				break
			}
			// PAUSE (or RESUME) swaps the query's entry while we wait on
			// the one we were given: a paused query's stopped tasks will
			// never catch up, so say so now rather than at the timeout
			// (ksqlDB's pull queries never wait, so a user who paused the
			// query expects no wait on it); a resumed one's new tasks
			// are the ones to wait for.
			if cur := e.currentEntry(rq); cur != rq {
				if cstate, _ := cur.status(); cstate == statePaused {
					return errNotInState.Errorf("query %s was paused while this pull query waited for it to process the writes acknowledged before the query began: RESUME %s and query again", rq.q.ID, rq.q.ID)
				}
				rq = cur
				continue
			}
			if state == stateError {
				if errors.Is(qerr, log.ErrDiskFull) {
					return log.ErrDiskFull.Errorf("disk full: query %s is paused until space is freed, so its output is behind the writes acknowledged before this query: %v", rq.q.ID, qerr)
				}
				return errNotInState.Errorf("query %s has failed: %v", rq.q.ID, qerr)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(2 * time.Millisecond):
			}
		}
	}
	return nil
}
