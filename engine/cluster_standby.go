package engine

import (
	"context"
	"maps"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/operators"
	"github.com/runnel/runnel/sql/types"
)

// Standby tasks of persistent queries in a cluster (Kafka mode), Kafka
// Streams' standby replicas.
//
// A stateful task's store is kept warm on queryStandbyReplicas nodes
// (the query's num.standby.replicas, else the server's), placed by the
// rule a table's copies use (standbyPlacement, cluster_replicas.go): the
// first where the group's balancer would move the task if its owner
// died, the others following the owner in node id order. Each of them
// tails the store's changelog, read_committed, into its local copy with
// a checkpoint (state's TaskStore.Follow). When the group moves the task
// to one of them, its restore starts from that checkpoint and reads only
// what the owner committed since. Every node computes the standbys from
// one DescribeGroups of the query's group, every replicaRefresh, so no
// node tells another what to keep. A standby no longer wanted here (the
// group moved something) stops; its store stays, with its checkpoint.
//
// The group's balancer does not prefer a standby when it moves a task
// (franz-go's cooperative-sticky knows nothing of copies): the first
// standby is where it will move the task when the owner dies. A node
// that leaves gracefully is balanced the same way, but several nodes
// dying at once, or a node joining as one dies, can move a task
// elsewhere; it is then restored from its changelog (from its
// checkpoint if it ran or stood by here before).
//
// A task and its standby never run at once on one node: the standby is
// cancelled when the task arrives, and each waits for the other to end
// before touching the store (placedTask.prev).

// queryStandbyReplicas is how many standbys each stateful task of q has:
// the num.standby.replicas of the session that created q, stored with it
// in the catalog, so that every node computes the same; else the
// server's --standby-replicas. Less than 1 means none.
func (e *Engine) queryStandbyReplicas(q *catalog.Query) int {
	if v, ok := q.Props[propStandbyReplicas]; ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return e.opts.StandbyReplicas
}

// superviseStandbys keeps this node's standbys of the query's stateful
// tasks up to date until ctx ends, then returns.
func (cq *clusterQuery) superviseStandbys(ctx context.Context) {
	if cq.e.queryStandbyReplicas(cq.rq.q) < 1 || !cq.stateful() {
		<-ctx.Done()
		return
	}
	tick := time.NewTicker(replicaRefresh)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			cq.refreshTaskStandbys(ctx)
		}
	}
}

// stateful reports whether any of the query's tasks has a store.
func (cq *clusterQuery) stateful() bool {
	for _, t := range cq.rq.tasks {
		if t.Store != nil {
			return true
		}
	}
	return false
}

// refreshTaskStandbys starts the standbys of the tasks this node now
// stands by for and stops the others. A task between owners keeps its
// standbys: it is when its owner has just died that a warm copy matters.
// A group that cannot be described now changes nothing.
func (cq *clusterQuery) refreshTaskStandbys(ctx context.Context) {
	e := cq.e
	states, err := e.groupStates(ctx, cq.group)
	if err != nil {
		if ctx.Err() == nil {
			e.logger.Debug("standby tasks: describe the query's group", "group", cq.group, "error", err)
		}
		return
	}
	g := states[cq.group]
	if g == nil {
		return
	}
	place := placementOf(g, slices.Collect(maps.Keys(cq.byInput))...)
	k := e.queryStandbyReplicas(cq.rq.q)
	cq.mu.Lock()
	defer cq.mu.Unlock()
	if cq.mu.stopped || ctx.Err() != nil {
		return
	}
	for tp, tasks := range cq.byInput {
		owner, ok := g.owners[tp]
		if !ok {
			continue
		}
		want := owner.ID != e.opts.NodeID && contains(place.standbys(tp, k), e.opts.NodeID)
		for _, t := range tasks {
			if t.Store == nil || cq.mu.running[t] != nil {
				continue
			}
			f := cq.mu.following[t]
			switch {
			case want && f == nil:
				cq.followLocked(ctx, t)
			case !want && f != nil:
				f.cancel()
				delete(cq.mu.following, t)
			}
		}
	}
}

// followLocked starts a standby of t. The caller holds cq.mu.
func (cq *clusterQuery) followLocked(ctx context.Context, t *operators.Task) {
	fctx, cancel := context.WithCancel(ctx)
	pt := &placedTask{cancel: cancel, done: make(chan struct{}), since: time.Now(), prev: cq.mu.last[t]}
	cq.mu.last[t] = pt
	cq.mu.following[t] = pt
	cq.wg.Add(1)
	go cq.follow(fctx, t, pt)
}

// follow keeps t's store warm until ctx ends; a changelog that cannot be
// read is tried again, with a growing pause.
func (cq *clusterQuery) follow(ctx context.Context, t *operators.Task, pt *placedTask) {
	e, rq := cq.e, cq.rq
	defer cq.wg.Done()
	defer close(pt.done)
	defer func() {
		if r := recover(); r != nil {
			e.logPanic("standby", r, "query", rq.q.ID, "task", t.String())
		}
	}()
	if pt.prev != nil {
		<-pt.prev.done
		pt.prev = nil
	}
	e.logger.Debug("standby task started on this node", "query", rq.q.ID, "task", t.String(), "node", e.opts.NodeID)
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		err := t.Store.Follow(ctx)
		if ctx.Err() != nil {
			return
		}
		e.logger.Warn("standby task", "query", rq.q.ID, "task", t.String(), "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// LocalStandbys lists the tasks of query id whose stores this node keeps
// warm as a standby, as LocalTasks names them; ok is false if the query
// does not run here. It is for tests and diagnostics.
func (e *Engine) LocalStandbys(id string) (tasks []string, ok bool) {
	rq, found := e.runningQuery(id)
	if !found {
		return nil, false
	}
	if rq.cluster != nil {
		rq.cluster.mu.Lock()
		for t := range rq.cluster.mu.following {
			tasks = append(tasks, t.String())
		}
		rq.cluster.mu.Unlock()
	}
	sort.Strings(tasks)
	return tasks, true
}

// standbyCheckpointColumns are the columns of this node's answer to
// another's peer.StandbysRequest request (peer.StandbyCheckpoint).
var standbyCheckpointColumns = []types.Column{
	{Name: "query_id", Type: types.String}, {Name: "task", Type: types.String},
	{Name: "topic", Type: types.String}, {Name: "partition", Type: types.Int},
	{Name: "offset", Type: types.Bigint},
}

// serveStandbys answers another node's standbys request: one row per
// standby copy of a query task's store that this node keeps, with its
// changelog partition and checkpoint (NULL without one). A copy whose
// checkpoint cannot be read now is left out, as its row shows NULL on
// the node that asked.
func (e *Engine) serveStandbys() []types.Row {
	e.mu.Lock()
	rqs := make([]*runningQuery, 0, len(e.mu.running))
	for _, rq := range e.mu.running {
		if rq.cluster != nil {
			rqs = append(rqs, rq)
		}
	}
	e.mu.Unlock()
	var rows []types.Row
	for _, rq := range rqs {
		cq := rq.cluster
		cq.mu.Lock()
		tasks := make([]*operators.Task, 0, len(cq.mu.following))
		for t := range cq.mu.following {
			tasks = append(tasks, t)
		}
		cq.mu.Unlock()
		for _, t := range tasks {
			// Checkpoint reads the local store: not under cq.mu.
			tp, off, hasOff, err := t.Store.Checkpoint()
			if err != nil || tp.Topic == "" {
				continue
			}
			offset := types.NullValue
			if hasOff {
				offset = types.NewBigint(off)
			}
			rows = append(rows, types.Row{types.NewString(rq.q.ID), types.NewString(t.String()),
				types.NewString(tp.Topic), types.NewInt(tp.Partition), offset})
		}
	}
	return rows
}
