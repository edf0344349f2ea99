package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime/pprof"
	"strconv"
	"sync"
	"time"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/log/kafka"
	"github.com/runnel/runnel/operators"
	"github.com/runnel/runnel/operators/build"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// Query states shown by SHOW QUERIES.
const (
	stateRunning = "RUNNING"
	stateError   = "ERROR"
)

// runningQuery is a persistent query (or a table's materializer) started
// by this engine: one task goroutine per input partition of each stage,
// owned by it and stopped by stopAndWait. What runs was made by the
// builder; the engine launches, supervises and stops it.
type runningQuery struct {
	q *catalog.Query
	// plan is the query's plan, for EXPLAIN; nil for a materializer and a
	// query that could not start.
	plan    *planner.Plan
	metrics *operators.Metrics
	cancel  context.CancelFunc
	// done is closed when every task has returned.
	done chan struct{}
	// inputs are the topics the query consumes with its group, in
	// pipeline order (source, then repartition): what a pull query waits
	// on.
	inputs []string
	// tasks are the query's tasks; set by launch, then read-only.
	tasks []*operators.Task
	// stores and topics are the state stores and internal topics the
	// query uses: TERMINATE removes them once its tasks have stopped.
	stores []build.Store
	topics []string
	// cluster places the tasks in Kafka mode (cluster.go); nil when this
	// node runs every task (the embedded log, materializers).
	cluster *clusterQuery

	mu struct {
		sync.Mutex
		state string // guarded by mu
		err   error  // the failure that put it in stateError
	}
}

// status is the query's state: ERROR with the reason when it could not
// start or a task is retrying after a failure, RUNNING otherwise.
func (rq *runningQuery) status() (string, error) {
	rq.mu.Lock()
	state, err := rq.mu.state, rq.mu.err
	rq.mu.Unlock()
	if state == stateRunning {
		for _, t := range rq.tasks {
			if terr := t.Failing(); terr != nil {
				return stateError, fmt.Errorf("task %s is retrying: %w", t, terr)
			}
		}
	}
	return state, err
}

// closeStores closes the stores of the query's tasks and marks the query
// done: the end of a clustered query (or materializer) whose tasks have
// stopped, or that never joined its group.
func (rq *runningQuery) closeStores() {
	for _, t := range rq.tasks {
		if t.Store != nil {
			t.Store.Close()
		}
	}
	close(rq.done)
}

func (rq *runningQuery) fail(err error) {
	rq.mu.Lock()
	defer rq.mu.Unlock()
	if rq.mu.err == nil {
		rq.mu.state, rq.mu.err = stateError, err
	}
}

// stopAndWait cancels the tasks and waits up to timeout for them.
func (rq *runningQuery) stopAndWait(timeout time.Duration) {
	if rq.cancel == nil {
		return
	}
	rq.cancel()
	select {
	case <-rq.done:
	case <-time.After(timeout):
	}
}

// planStored re-plans a recorded persistent query against the catalog. Its
// sink exists (it was recorded with the query), so it is planned as an
// INSERT into it whatever statement made it.
func (e *Engine) planStored(q *catalog.Query) (*planner.Plan, error) {
	query, err := e.storedQuery(q)
	if err != nil {
		return nil, err
	}
	p := e.planner(nil)
	return p.PlanPersistent(query, planner.SinkSpec{Name: q.Sink, Insert: true, Stored: true})
}

// storedQuery parses a recorded persistent query's text back into its
// query (the SELECT of its CREATE ... AS or INSERT INTO).
func (e *Engine) storedQuery(q *catalog.Query) (*sql.Query, error) {
	// The text was recorded with its variables substituted: a ${name}
	// left in it is text, not a variable.
	opts := e.parseOptions()
	opts.Substituted = true
	stmts, err := sql.ParseWith(q.Statement, opts)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if len(stmts) != 1 {
		return nil, fmt.Errorf("statement holds %d statements", len(stmts))
	}
	var query *sql.Query
	switch s := stmts[0].(type) {
	case *sql.CreateSource:
		query = s.Query
	case *sql.Insert:
		query = s.Query
	}
	if query == nil {
		return nil, fmt.Errorf("not a persistent query: %s", q.Statement)
	}
	return query, nil
}

// parseOptions are the options statements are parsed with: custom types
// resolve in the catalog.
func (e *Engine) parseOptions() sql.Options {
	return sql.Options{Types: e.cat.Type}
}

// binding carries one execution's parameter values and the engine's
// limits into the binders that planning creates. They share one parameter
// set, so the inferred parameter types are read back in one place when
// describing, in time linear in the parameters however many binders
// planning makes.
type binding struct {
	// values are the parameter values; nil while describing.
	values []types.Value
	// maxValueBytes is the engine's MaxValueBytes, set by Engine.planner
	// (and bindInsert) before any binder is made.
	maxValueBytes int
	set           *expr.ParamSet
}

// paramTypes are the parameter types the binders inferred; STRING for a
// parameter nothing constrained (or that never occurred below the highest
// one).
func (b *binding) paramTypes() []types.Type {
	if b.set == nil {
		return nil
	}
	out := append([]types.Type(nil), b.set.Types...)
	for i, t := range out {
		if t.Kind == types.KindNull {
			out[i] = types.String
		}
	}
	return out
}

// newBinder returns a binder over sc that sees b's parameters and limits.
func (b *binding) newBinder(sc expr.Scope) *expr.Binder {
	if b.set == nil {
		b.set = &expr.ParamSet{Values: b.values}
	}
	return &expr.Binder{Scope: sc, Set: b.set, MaxValueBytes: b.maxValueBytes}
}

// planner returns a planner whose binders see b's parameters and the
// engine's limits.
func (e *Engine) planner(b *binding) *planner.Planner {
	if b == nil {
		b = &binding{}
	}
	b.maxValueBytes = e.opts.MaxValueBytes
	return &planner.Planner{Catalog: e.cat, NewBinder: b.newBinder, Aggregates: build.ResolveAggregate, Formats: build.CheckFormats}
}

// startQuery plans a recorded query and starts its tasks.
func (e *Engine) startQuery(q *catalog.Query) error {
	plan, err := e.planStored(q)
	if err != nil {
		return err
	}
	return e.startPlan(q, plan)
}

// queryCacheMaxBytes is the cache.max.bytes.buffering that q was
// created with, as planner.Sink.CacheMaxBytes takes it: 0 (the default)
// when the session that created it had not set it.
func queryCacheMaxBytes(q *catalog.Query) int64 {
	v, ok := q.Props[propCacheMaxBytes]
	if !ok {
		return 0
	}
	// SET checked it; a catalog written otherwise falls back to the
	// default.
	n, err := strconv.ParseInt(v, 10, 64)
	switch {
	case err != nil || n < 0:
		return 0
	case n == 0:
		return planner.NoCache
	}
	return n
}

// propCombine is the query property that records that the query's
// aggregation may write partial aggregates to its repartition topic
// (planner.Sink.Combine): set for every query created since the layout
// exists, absent from those created before, which keep writing a record
// per row after an upgrade. It is no session property: no SET reaches it.
const propCombine = "runnel.repartition.partials"

// propCombineWindows is propCombine for a time-windowed aggregation's
// partials, a group's in one window (the 0x04 layout, planner.Sink's
// CombineWindows), which came later: a windowed query created before
// them keeps writing a record per row.
const propCombineWindows = "runnel.repartition.window_partials"

// withCombine returns props with propCombine and propCombineWindows
// recorded, for a new query; a replacement (CREATE OR REPLACE) keeps its
// predecessor's choice of each, whose repartition topic it goes on with.
func withCombine(props map[string]string, replaced *catalog.Query) map[string]string {
	out := make(map[string]string, len(props)+2)
	for k, v := range props {
		out[k] = v
	}
	for _, p := range [...]string{propCombine, propCombineWindows} {
		if replaced == nil || replaced.Props[p] != "" {
			out[p] = "true"
		}
	}
	return out
}

// startPlan builds plan's tasks and starts them.
func (e *Engine) startPlan(q *catalog.Query, plan *planner.Plan) error {
	for _, src := range plan.Sources() {
		if err := e.sourceFailure(src); err != nil {
			return err
		}
	}
	if sink := plan.Sink(); sink != nil {
		sink.CacheMaxBytes = queryCacheMaxBytes(q)
		sink.Combine = q.Props[propCombine] == "true"
		sink.CombineWindows = sink.Combine && q.Props[propCombineWindows] == "true"
	}
	ctx, cancel := context.WithCancel(e.ctx)
	bq, err := e.builder.Persistent(ctx, q.ID, plan)
	if err != nil {
		cancel()
		return err
	}
	rq := &runningQuery{q: q, plan: plan, cancel: cancel, done: make(chan struct{})}
	rq.mu.state = stateRunning
	if kl, ok := e.log.(*kafka.Log); ok {
		if err := e.launchClustered(ctx, rq, bq, kl); err != nil {
			cancel()
			return fmt.Errorf("join the group of query %s: %w", q.ID, err)
		}
	} else {
		e.launch(ctx, rq, bq)
	}
	e.mu.Lock()
	e.mu.running[q.ID] = rq
	e.mu.Unlock()
	return nil
}

// launch runs tasks, one goroutine each, owned by rq: rq.cancel stops them
// and rq.done closes when all have returned and closed their stores.
//
// Task.Run recovers the panics of its processing; a panic that still
// reaches here (closing the store) puts the query in ERROR and is logged,
// and never takes the process down.
func (e *Engine) launch(ctx context.Context, rq *runningQuery, bq *build.Query) {
	rq.tasks, rq.inputs, rq.metrics = bq.Tasks, bq.Inputs, bq.Metrics
	rq.stores, rq.topics = bq.Stores, bq.Topics
	var wg sync.WaitGroup
	for _, t := range rq.tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					e.logPanic("task", r, "query", rq.q.ID, "task", t.String())
					rq.fail(fmt.Errorf("task %s panicked: %v", t, r))
				}
			}()
			if t.Store != nil {
				defer t.Store.Close()
			}
			e.runTask(ctx, rq, t)
		}()
	}
	go func() {
		wg.Wait()
		// The tasks are done with their caches: their shares of the
		// cache budget go to the other queries'.
		bq.Memory.Release()
		close(rq.done)
	}()
}

// runTask runs task t of query rq until ctx ends or it fails, which
// fails the query. CPU profiles split by query and stage: the task's
// samples, and those of the goroutines it starts, carry its query's id
// and the topics it reads (go tool pprof -tags).
func (e *Engine) runTask(ctx context.Context, rq *runningQuery, t *operators.Task) {
	labels := pprof.Labels("query", rq.q.ID, "stage", t.Stage())
	pprof.Do(ctx, labels, func(ctx context.Context) {
		if err := t.Run(ctx); err != nil {
			e.logger.Error("task failed", "query", rq.q.ID, "task", t.String(), "error", err)
			rq.fail(err)
		}
	})
}

// markFailed records a query that could not start, so SHOW QUERIES shows
// it in ERROR and TERMINATE can remove it.
func (e *Engine) markFailed(q *catalog.Query, err error) {
	rq := &runningQuery{q: q, metrics: &operators.Metrics{}}
	rq.mu.state, rq.mu.err = stateError, err
	e.mu.Lock()
	e.mu.running[q.ID] = rq
	e.mu.Unlock()
}

// running returns the runtime of query id, if this engine runs it.
func (e *Engine) runningQuery(id string) (*runningQuery, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rq, ok := e.mu.running[id]
	return rq, ok
}

// stopQuery stops query id's tasks and forgets it.
func (e *Engine) stopQuery(id string) {
	e.mu.Lock()
	rq, ok := e.mu.running[id]
	delete(e.mu.running, id)
	e.mu.Unlock()
	if ok {
		rq.stopAndWait(e.opts.ShutdownTimeout)
	}
}

// dropQueryState removes a stopped query's state stores and internal
// topics (repartition topics, changelogs). Failures are logged: the query
// is gone either way, and what is left is only space.
func (e *Engine) dropQueryState(ctx context.Context, rq *runningQuery) {
	for _, s := range rq.stores {
		if err := e.state.Drop(ctx, s.Name); err != nil {
			e.logger.Warn("drop query state", "query", rq.q.ID, "store", s.Name, "error", err)
		}
	}
	for _, topic := range rq.topics {
		if err := e.log.DeleteTopic(ctx, topic); err != nil && !errors.Is(err, log.ErrUnknownTopic) {
			e.logger.Warn("delete internal topic", "query", rq.q.ID, "topic", topic, "error", err)
		}
	}
}
