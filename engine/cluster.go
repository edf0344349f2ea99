package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/log/kafka"
	"github.com/runnel/runnel/operators"
	"github.com/runnel/runnel/operators/build"
)

// Task placement in Kafka mode (a cluster of nodes on one Kafka).
//
// Each persistent query is one consumer group, named by the query id, the
// group its tasks already commit their offsets to. Every node that runs
// the query joins the group (kafka.Log.JoinGroup, franz-go's
// cooperative-sticky balancer) subscribed to one topic per stage: the
// stage's first input. A task is (stage, partition), so it is owned by
// whoever holds partition p of its stage's first input; a join task that
// owns p of its first input reads p of its other inputs itself. The
// balancer assigns topic-partitions independently, and subscribing to the
// other inputs too would let it give p of the left and p of the right
// topic to two nodes, splitting a task that must read both: subscribing to
// one topic per stage is what keeps every task whole. Two stages with the
// same first input (none today) would simply move together.
//
// Fencing: the task's transaction commits its input offsets with the
// member's generation (see log/kafka/group.go), so a node the group has
// moved on from cannot commit; and the group hands a partition over only
// after OnRevoked returns, which is after the task has stopped. A task
// that arrives restores its store from its changelog (the previous owner
// committed state this node never saw) and its processor forgets what it
// kept in memory, as after a failed commit, then reads from the group's
// committed offsets.
//
// The builder opens every task's store when the query starts, on every
// node, but in a cluster opening reads no changelog (state's
// DeferRestore): a store is restored when its task arrives here, or
// followed while this node stands by for the task (cluster_standby.go).
// A store stays open while its task is elsewhere; only a running task or
// its standby writes it, one at a time (placedTask.prev).

// memberClientID is the client id a node's group members announce: the
// node id and its advertised address, which is how the other nodes learn
// who owns which partition (DescribeGroups shows each member's client
// id).
func (e *Engine) memberClientID() string {
	return "runnel|" + e.opts.NodeID + "|" + e.opts.Advertise
}

// clusterQuery is the placement of one query's tasks on this node.
type clusterQuery struct {
	e      *Engine
	rq     *runningQuery
	member *kafka.Member
	// group is the consumer group whose assignment places the tasks: the
	// query's id for a persistent query.
	group string
	// byInput maps a stage's first input partition to its tasks.
	byInput map[log.TopicPartition][]*operators.Task
	// wg counts the running task goroutines.
	wg sync.WaitGroup

	mu struct {
		sync.Mutex
		// running are the tasks this node runs now, with the means to
		// stop one: cancel, then wait for done.
		running map[*operators.Task]*placedTask
		// stopped is set once the query stops: no task starts after it.
		stopped bool
		// owned and standby are, for a table's copies (cluster_replicas.go),
		// the partitions this node owns in the table's group and those
		// it keeps a standby copy of; nil for a persistent query.
		owned, standby map[int32]bool
		// following are the tasks of a persistent query whose stores this
		// node keeps warm as a standby (cluster_standby.go).
		following map[*operators.Task]*placedTask
		// last is the latest run or standby of each task started here:
		// the next one waits for it to end before it touches the store.
		last map[*operators.Task]*placedTask
	}
	// applyMu serializes replicas' changes of what runs (cluster_replicas.go),
	// so that one computed from an older view never undoes a newer one.
	applyMu sync.Mutex
}

type placedTask struct {
	cancel context.CancelFunc
	done   chan struct{}
	// prev is the run or standby of the same task that this one follows
	// on this node (nil if none), already cancelled: this one waits for
	// it to end before it uses the task's store.
	prev  *placedTask
	since time.Time
	// ready is set once the task's state is restored and it runs: from
	// then its store may answer pull queries (cluster_pull.go).
	ready atomic.Bool
}

// launchClustered starts rq's tasks the way launch does, but only those
// whose partitions the query's consumer group gives this node; the group
// moves them as nodes come and go.
func (e *Engine) launchClustered(ctx context.Context, rq *runningQuery, bq *build.Query, kl *kafka.Log) error {
	rq.tasks, rq.inputs, rq.metrics = bq.Tasks, bq.Inputs, bq.Metrics
	rq.stores, rq.topics = bq.Stores, bq.Topics
	cq := &clusterQuery{e: e, rq: rq, group: rq.q.ID, byInput: map[log.TopicPartition][]*operators.Task{}}
	cq.mu.running = map[*operators.Task]*placedTask{}
	cq.mu.following = map[*operators.Task]*placedTask{}
	cq.mu.last = map[*operators.Task]*placedTask{}
	var topics []string
	seen := map[string]bool{}
	for _, t := range rq.tasks {
		in := t.Inputs[0]
		cq.byInput[in] = append(cq.byInput[in], t)
		if !seen[in.Topic] {
			seen[in.Topic] = true
			topics = append(topics, in.Topic)
		}
	}
	rq.cluster = cq
	m, err := kl.JoinGroup(ctx, kafka.MemberOptions{
		Group: rq.q.ID, Topics: topics, ClientID: e.memberClientID(),
		// Static membership by node id: a node restarted after a crash
		// replaces its dead member at once and gets its tasks back,
		// instead of every query stalling until the dead member's
		// session times out (ClusterSessionTimeout, 45 s by default).
		InstanceID:     e.opts.NodeID,
		SessionTimeout: e.opts.ClusterSessionTimeout,
		OnAssigned: func(_ context.Context, parts map[string][]int32) {
			cq.assign(ctx, parts)
		},
		OnRevoked: func(_ context.Context, parts map[string][]int32) {
			cq.revoke(parts)
		},
	})
	if err != nil {
		bq.Memory.Release()
		rq.closeStores()
		return err
	}
	cq.member = m
	// The supervisor owns the membership and the standbys' refresh: when
	// the query stops it leaves the group (revoking and stopping every
	// task here), stops the standbys, waits for the task goroutines and
	// closes the stores.
	go func() {
		cq.superviseStandbys(ctx)
		m.Leave()
		cq.mu.Lock()
		cq.mu.stopped = true
		cq.mu.Unlock()
		cq.stopAll()
		cq.wg.Wait()
		bq.Memory.Release()
		rq.closeStores()
	}()
	return nil
}

// assign starts the tasks of the partitions given to this node.
func (cq *clusterQuery) assign(ctx context.Context, parts map[string][]int32) {
	cq.mu.Lock()
	defer cq.mu.Unlock()
	if cq.mu.stopped || ctx.Err() != nil {
		return
	}
	for topic, ps := range parts {
		for _, p := range ps {
			for _, t := range cq.byInput[log.TopicPartition{Topic: topic, Partition: p}] {
				if cq.mu.running[t] != nil {
					continue
				}
				tctx, cancel := context.WithCancel(ctx)
				pt := &placedTask{cancel: cancel, done: make(chan struct{}), since: time.Now()}
				// A standby of the task here stops: the task restores
				// from where it got to, once it has stopped.
				if f := cq.mu.following[t]; f != nil {
					f.cancel()
					delete(cq.mu.following, t)
				}
				if cq.mu.last != nil {
					pt.prev = cq.mu.last[t]
					cq.mu.last[t] = pt
				}
				cq.mu.running[t] = pt
				cq.wg.Add(1)
				go cq.run(tctx, t, pt)
			}
		}
	}
}

// run restores a task's state and runs it until it is revoked or the
// query stops.
func (cq *clusterQuery) run(ctx context.Context, t *operators.Task, pt *placedTask) {
	e, rq := cq.e, cq.rq
	defer cq.wg.Done()
	defer close(pt.done)
	defer func() {
		if r := recover(); r != nil {
			e.logPanic("task", r, "query", rq.q.ID, "task", t.String())
			rq.fail(fmt.Errorf("task %s panicked: %v", t, r))
		}
	}()
	if pt.prev != nil {
		<-pt.prev.done
		pt.prev = nil // the chain of finished runs is not kept
	}
	if t.Store != nil {
		e.logger.Info("task arrived; restoring its state", "query", rq.q.ID, "task", t.String())
		// A restore that fails is retried: the task is this node's until
		// the group says otherwise.
		for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
			err := t.Store.Restore(ctx)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			e.logger.Warn("restore task state", "query", rq.q.ID, "task", t.String(), "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
	}
	if r, ok := t.Processor.(operators.Recoverable); ok {
		r.Recover()
	}
	pt.ready.Store(true)
	e.logger.Debug("task started on this node", "query", rq.q.ID, "task", t.String(), "node", e.opts.NodeID)
	e.runTask(ctx, rq, t)
}

// revoke stops the tasks of partitions taken from this node and waits for
// them: the group hands the partitions over when this returns.
func (cq *clusterQuery) revoke(parts map[string][]int32) {
	var stopping []*placedTask
	cq.mu.Lock()
	for topic, ps := range parts {
		for _, p := range ps {
			for _, t := range cq.byInput[log.TopicPartition{Topic: topic, Partition: p}] {
				if pt := cq.mu.running[t]; pt != nil {
					pt.cancel()
					stopping = append(stopping, pt)
					delete(cq.mu.running, t)
				}
			}
		}
	}
	cq.mu.Unlock()
	for _, pt := range stopping {
		<-pt.done
	}
}

// stopAll stops every task and standby still running here.
func (cq *clusterQuery) stopAll() {
	cq.mu.Lock()
	running, following := cq.mu.running, cq.mu.following
	cq.mu.running = map[*operators.Task]*placedTask{}
	cq.mu.following = map[*operators.Task]*placedTask{}
	cq.mu.Unlock()
	for _, pt := range following {
		pt.cancel()
	}
	for _, pt := range running {
		pt.cancel()
		<-pt.done
	}
	for _, pt := range following {
		<-pt.done
	}
}

// owns reports whether this node runs t now.
func (cq *clusterQuery) owns(t *operators.Task) bool {
	cq.mu.Lock()
	defer cq.mu.Unlock()
	return cq.mu.running[t] != nil
}

// ready reports whether this node runs t now with its state restored.
func (cq *clusterQuery) ready(t *operators.Task) bool {
	cq.mu.Lock()
	defer cq.mu.Unlock()
	pt := cq.mu.running[t]
	return pt != nil && pt.ready.Load()
}

// LocalTasks lists the tasks of query id that run on this node, as
// "topic[+topic]/partition", sorted; ok is false if the query does not run
// here. It is for tests and diagnostics.
func (e *Engine) LocalTasks(id string) (tasks []string, ok bool) {
	rq, found := e.runningQuery(id)
	if !found {
		return nil, false
	}
	if rq.cluster == nil {
		for _, t := range rq.tasks {
			tasks = append(tasks, t.String())
		}
	} else {
		rq.cluster.mu.Lock()
		for t := range rq.cluster.mu.running {
			tasks = append(tasks, t.String())
		}
		rq.cluster.mu.Unlock()
	}
	sort.Strings(tasks)
	return tasks, true
}

// parseMemberClientID splits a member client id made by memberClientID
// into node id and advertised address; ok is false for any other client.
func parseMemberClientID(s string) (node, addr string, ok bool) {
	parts := strings.SplitN(s, "|", 3)
	if len(parts) != 3 || parts[0] != "runnel" {
		return "", "", false
	}
	return parts[1], parts[2], true
}

// CloseAbruptly closes the engine the way a crash looks to the rest of a
// cluster: its query groups' members do not leave (a static member stays
// in its group until its session times out or the node comes back). It
// is the in-process stand-in for kill -9 in tests; locally the engine
// still stops its goroutines and closes its files. In embedded mode it is
// Close.
func (e *Engine) CloseAbruptly() error {
	if kl, ok := e.log.(*kafka.Log); ok {
		kl.Abandon()
	}
	return e.Close()
}
