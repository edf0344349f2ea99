package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators"
	"github.com/runnel/runnel/operators/window"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/sql/types"
)

// propPullTimeout bounds how long a pull query waits for its table to
// catch up with the writes acknowledged before it began.
const (
	propPullTimeout    = "runnel.pull.timeout.ms"
	defaultPullTimeout = 10 * time.Second
)

// materializerID names the internal query that materializes a table, per
// creation of the table (a re-created table starts afresh).
func materializerID(src *catalog.Source) string {
	return fmt.Sprintf("_MAT_%s_%d", src.Name, src.Seq)
}

func windowedKey(src *catalog.Source) *operators.WindowedKey {
	if src.Window == nil {
		return nil
	}
	return &operators.WindowedKey{Session: src.Window.Kind == "SESSION", SizeMs: src.Window.SizeMs}
}

// startMaterializer starts the tasks that keep a table's current rows in
// state stores for pull queries.
func (e *Engine) startMaterializer(src *catalog.Source) error {
	partitions, err := e.partitionsOf(e.ctx, src.Topic)
	if err != nil {
		return fmt.Errorf("table topic: %w", err)
	}
	id := materializerID(src)
	ctx, cancel := context.WithCancel(e.ctx)
	rq := &runningQuery{
		q:       &catalog.Query{ID: id, Sink: src.Name, Sources: []string{src.Name}},
		metrics: &operators.Metrics{}, cancel: cancel, done: make(chan struct{}),
		inputs: []string{src.Topic},
	}
	rq.mu.state = stateRunning
	var tasks []*operators.Task
	for p := int32(0); p < partitions; p++ {
		st, err := e.openStore(ctx, id, partitions, p)
		if err != nil {
			for _, t := range tasks {
				t.Store.Close()
			}
			cancel()
			return err
		}
		tasks = append(tasks, &operators.Task{
			Log: e.log, Group: id, QueryID: id, Input: log.TopicPartition{Topic: src.Topic, Partition: p},
			Processor: &operators.Materialize{Store: st, Window: windowedKey(src)}, Store: st,
			Metrics: rq.metrics, Logger: e.logger,
		})
	}
	e.launch(ctx, rq, tasks)
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
	for _, t := range rq.tasks {
		name := fmt.Sprintf("%s/%d", rq.q.ID, t.Input.Partition)
		if err := e.state.Drop(ctx, name); err != nil {
			e.logger.Warn("drop materialized state", "store", name, "error", err)
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
	return defaultPullTimeout
}

// pull answers a pull query over a table: it waits until the table has
// caught up with every write acknowledged before the query began, then
// scans the table's materialized rows, filters, sorts, limits and
// projects them.
func (e *Engine) pull(ctx context.Context, tree *planner.Plan, timeout time.Duration) ([]types.Row, error) {
	plan := flatten(tree)
	src := plan.Source
	if err := e.sourceFailure(src); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := e.awaitSource(wctx, src, map[string]bool{}); err != nil {
		if ctx.Err() == nil && wctx.Err() != nil {
			return nil, &Error{Code: "57014", Msg: fmt.Sprintf("pull query on %s timed out after %s waiting for the table to catch up with acknowledged writes (SET '%s' to wait longer)", src.Name, timeout, propPullTimeout)}
		}
		return nil, err
	}
	e.mu.Lock()
	rq := e.mu.materialized[src.Name]
	e.mu.Unlock()
	if rq == nil {
		return nil, &Error{Code: "55000", Msg: fmt.Sprintf("table %s is not materialized", src.Name)}
	}
	partitions, err := e.partitionsOf(ctx, src.Topic)
	if err != nil {
		return nil, err
	}
	dec, err := newDecoder(src)
	if err != nil {
		return nil, err
	}
	type sorted struct {
		row  types.Row
		keys types.Row
	}
	var rows []sorted
	// A key lookup reads one partition, and in it one key (or one key's
	// windows); anything else scans every partition.
	first, last := int32(0), partitions-1
	var start, end []byte
	if plan.KeyLookup != nil {
		if start, end, first, err = lookupRange(plan, src, partitions); err != nil {
			return nil, err
		}
		last = first
	}
	for p := first; p <= last; p++ {
		r := e.state.Reader(fmt.Sprintf("%s/%d", rq.q.ID, p))
		var rowErr error
		err := r.Scan(start, end, func(_, v []byte) bool {
			rec := operators.MaterializedRecord(v, p)
			in, ok, err := dec.Decode(&rec)
			if err != nil || !ok {
				return true // a row that does not decode is not part of the table
			}
			if plan.Filter != nil {
				fv, err := plan.Filter.Eval(in)
				if err != nil {
					rowErr = err
					return false
				}
				if fv.IsNull() || !fv.Bool() {
					return true
				}
			}
			s := sorted{row: make(types.Row, len(plan.Project))}
			for i, e := range plan.Project {
				if s.row[i], err = e.Eval(in); err != nil {
					rowErr = err
					return false
				}
			}
			for _, o := range plan.OrderBy {
				v, err := o.Expr.Eval(in)
				if err != nil {
					rowErr = err
					return false
				}
				s.keys = append(s.keys, v)
			}
			rows = append(rows, s)
			return true
		})
		if err == nil {
			err = rowErr
		}
		if err != nil {
			return nil, err
		}
	}
	if len(plan.OrderBy) > 0 {
		sort.SliceStable(rows, func(i, j int) bool {
			for k, o := range plan.OrderBy {
				c := types.Compare(rows[i].keys[k], rows[j].keys[k])
				if o.Desc {
					c = -c
				}
				if c != 0 {
					return c < 0
				}
			}
			return false
		})
	}
	if plan.Limit < 0 {
		rows = nil
	} else if plan.Limit > 0 && int64(len(rows)) > plan.Limit {
		rows = rows[:plan.Limit]
	}
	out := make([]types.Row, len(rows))
	for i, r := range rows {
		out[i] = r.row
	}
	return out, nil
}

// awaitSource waits until the queries that write src, and the queries
// upstream of them, and src's materializer, have consumed their inputs up
// to the end offsets those inputs have now: then every write acknowledged
// before the call is reflected in src's materialized rows.
func (e *Engine) awaitSource(ctx context.Context, src *catalog.Source, visited map[string]bool) error {
	if visited[src.Name] {
		return nil
	}
	visited[src.Name] = true
	if src.Query != "" {
		if q, err := e.cat.Query(src.Query); err == nil {
			for _, name := range q.Sources {
				if up, err := e.cat.Source(name); err == nil {
					if err := e.awaitSource(ctx, up, visited); err != nil {
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
	}
	e.mu.Lock()
	mat := e.mu.materialized[src.Name]
	e.mu.Unlock()
	if mat != nil {
		return e.awaitQuery(ctx, mat)
	}
	return nil
}

// awaitQuery waits until a running query's tasks have committed their
// work at or past the current end of each of the query's input topics, in
// pipeline order. It reads the tasks' own positions, which move only once
// a commit's output is visible in the log, rather than the committed
// offsets in the log, which Kafka may show before the output's markers.
func (e *Engine) awaitQuery(ctx context.Context, rq *runningQuery) error {
	for _, topic := range rq.inputs {
		ends, err := e.log.EndOffsets(ctx, topic)
		if err != nil {
			return fmt.Errorf("end offsets of %s: %w", topic, err)
		}
		for {
			state, qerr := rq.status()
			// A query that could not start has no tasks to catch up.
			caught := len(rq.tasks) > 0 || state != stateError
			for _, t := range rq.tasks {
				if t.Input.Topic != topic || int(t.Input.Partition) >= len(ends) {
					continue
				}
				if off, ok := t.Committed(); !ok || off < ends[t.Input.Partition] {
					caught = false
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
			if state == stateError {
				if errors.Is(qerr, log.ErrDiskFull) {
					return log.ErrDiskFull.Errorf("disk full: query %s is paused until space is freed, so its output is behind the writes acknowledged before this query: %v", rq.q.ID, qerr)
				}
				return &Error{Code: "55000", Msg: fmt.Sprintf("query %s has failed: %v", rq.q.ID, qerr)}
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

// lookupRange turns a pull query's key constraint into the store range and
// partition that hold the key's rows.
func lookupRange(plan *flatPlan, src *catalog.Source, partitions int32) (start, end []byte, partition int32, err error) {
	v, err := plan.KeyLookup.Eval(nil)
	if err != nil {
		return nil, nil, 0, err
	}
	enc, err := operators.NewEncoder(src.Columns, src.KeyFormat, src.ValueFormat, serdeProps(src))
	if err != nil {
		return nil, nil, 0, err
	}
	key, err := enc.EncodeKey(types.Row{v})
	if err != nil {
		return nil, nil, 0, err
	}
	partition = log.PartitionFor(key, partitions)
	if src.Window == nil {
		start = append([]byte{'k'}, key...)
		return start, append(append([]byte(nil), start...), 0), partition, nil
	}
	return window.AppendStoreKeyPrefix([]byte{'k'}, key), window.AppendStoreKeyPrefixEnd([]byte{'k'}, key), partition, nil
}
