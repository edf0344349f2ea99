package engine

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/log/kafka"
	"github.com/runnel/runnel/operators"
	"github.com/runnel/runnel/operators/build"
)

// Table copies for pull queries in a cluster (Kafka mode).
//
// A table's rows are kept, per partition, on the node that owns the
// partition and on StandbyReplicas others, not on every node. Ownership
// is a consumer group's, as for persistent queries: every node joins the
// table's group (materializerID, subscribed to the table's topic, static
// by node id, cooperative-sticky), and the partitions the group gives a
// node are the ones it owns. The standbys of a partition are the
// StandbyReplicas members that follow its owner in node id order: every
// node computes the same answer from one DescribeGroups, so no node has
// to tell the others, and each node looks again every replicaRefresh.
//
// A node's copies are its own materializer (materializerIDOn: its own
// group, stores and changelog, as before), running only the tasks of the
// partitions it owns or stands by for. Owner and standby copies are
// alike: each consumes the table's topic and commits where it is, so
// "caught up with a write" means the same for both, its committed offset
// in the table's topic. That is what lets a pull query read any copy
// that has reached the offsets the query must see (cluster_pull.go), and
// what makes a standby warm: when its partition's owner dies, it is
// already caught up, and a pull query reads it while the group moves
// the partition. A node that gains a partition it had no copy of builds
// one from the table's topic (its group's offsets start there).
//
// Unlike Kafka Streams, the group does not prefer a standby when it moves
// a partition (franz-go's cooperative-sticky balancer knows nothing of
// copies); the standbys are then recomputed around the new owner, and a
// standby that stays one keeps its copy.

// propStandbyReplicas is Kafka Streams' num.standby.replicas, which
// ksqlDB takes per query from the session (SET 'num.standby.replicas' or
// 'ksql.streams.num.standby.replicas'). A persistent query stores its
// session's value with it in the catalog, so that every node computes
// the same standbys for its tasks (queryStandbyReplicas); without one,
// and for a table's copies (which are not a query's), the server's
// Options.StandbyReplicas (--standby-replicas) applies.
const propStandbyReplicas = "num.standby.replicas"

// replicaRefresh is how often a node recomputes which partitions it keeps
// standby copies of.
const replicaRefresh = 500 * time.Millisecond

// launchReplicas starts a table's materializer in a cluster: it runs the
// tasks of the partitions this node owns or stands by for, and follows
// the table group's assignment.
func (e *Engine) launchReplicas(ctx context.Context, rq *runningQuery, bq *build.Query, kl *kafka.Log, src *catalog.Source) error {
	rq.tasks, rq.inputs, rq.metrics = bq.Tasks, bq.Inputs, bq.Metrics
	rq.stores, rq.topics = bq.Stores, bq.Topics
	cq := &clusterQuery{e: e, rq: rq, group: materializerID(src), byInput: map[log.TopicPartition][]*operators.Task{}}
	cq.mu.running = map[*operators.Task]*placedTask{}
	cq.mu.owned, cq.mu.standby = map[int32]bool{}, map[int32]bool{}
	for _, t := range rq.tasks {
		cq.byInput[t.Inputs[0]] = append(cq.byInput[t.Inputs[0]], t)
	}
	rq.cluster = cq
	topic := src.Topic
	m, err := kl.JoinGroup(ctx, kafka.MemberOptions{
		Group: cq.group, Topics: []string{topic}, ClientID: e.memberClientID(),
		InstanceID: e.opts.NodeID, SessionTimeout: e.opts.ClusterSessionTimeout,
		OnAssigned: func(_ context.Context, parts map[string][]int32) {
			cq.setOwned(ctx, topic, parts[topic], true)
		},
		OnRevoked: func(_ context.Context, parts map[string][]int32) {
			cq.setOwned(ctx, topic, parts[topic], false)
		},
	})
	if err != nil {
		rq.closeStores()
		return err
	}
	cq.member = m
	// The supervisor owns the membership and the standby refresh: when
	// the materializer stops it leaves the group, stops every task here,
	// waits for them and closes the stores.
	go func() {
		tick := time.NewTicker(replicaRefresh)
		defer tick.Stop()
	loop:
		for {
			select {
			case <-ctx.Done():
				break loop
			case <-tick.C:
				cq.refreshStandbys(ctx, topic)
			}
		}
		m.Leave()
		cq.mu.Lock()
		cq.mu.stopped = true
		cq.mu.Unlock()
		cq.stopAll()
		cq.wg.Wait()
		rq.closeStores()
	}()
	return nil
}

// setOwned records partitions the table's group gave to (or took from)
// this node and makes what runs match.
func (cq *clusterQuery) setOwned(ctx context.Context, topic string, parts []int32, owned bool) {
	cq.applyMu.Lock()
	defer cq.applyMu.Unlock()
	cq.mu.Lock()
	for _, p := range parts {
		if owned {
			cq.mu.owned[p] = true
		} else {
			delete(cq.mu.owned, p)
		}
	}
	cq.mu.Unlock()
	cq.applyLocked(ctx, topic)
}

// refreshStandbys recomputes the partitions this node stands by for from
// the table group's members and assignment, and makes what runs match. A
// partition between owners keeps its standbys: it is when its owner has
// just died that a standby copy matters most. A group that cannot be
// described now changes nothing.
func (cq *clusterQuery) refreshStandbys(ctx context.Context, topic string) {
	e := cq.e
	k := e.opts.StandbyReplicas
	states, err := e.groupStates(ctx, cq.group)
	if err != nil {
		if ctx.Err() == nil {
			e.logger.Debug("standby copies: describe the table's group", "group", cq.group, "error", err)
		}
		return
	}
	g := states[cq.group]
	if g == nil {
		return
	}
	cq.applyMu.Lock()
	defer cq.applyMu.Unlock()
	cq.mu.Lock()
	for tp := range cq.byInput {
		owner, ok := g.owners[tp]
		if !ok {
			continue
		}
		cq.mu.standby[tp.Partition] = k > 0 && contains(standbysOf(owner.ID, g.memberIDs(), k), e.opts.NodeID)
		if !cq.mu.standby[tp.Partition] {
			delete(cq.mu.standby, tp.Partition)
		}
	}
	cq.mu.Unlock()
	cq.applyLocked(ctx, topic)
}

// applyLocked starts the tasks of the partitions this node owns or stands
// by for and stops the others. The caller holds applyMu.
func (cq *clusterQuery) applyLocked(ctx context.Context, topic string) {
	start, stop := map[string][]int32{}, map[string][]int32{}
	cq.mu.Lock()
	for tp, tasks := range cq.byInput {
		want := cq.mu.owned[tp.Partition] || cq.mu.standby[tp.Partition]
		running := false
		for _, t := range tasks {
			running = running || cq.mu.running[t] != nil
		}
		switch {
		case want && !running:
			start[topic] = append(start[topic], tp.Partition)
		case !want && running:
			stop[topic] = append(stop[topic], tp.Partition)
		}
	}
	cq.mu.Unlock()
	if len(stop) > 0 {
		cq.revoke(stop)
	}
	if len(start) > 0 {
		cq.assign(ctx, start)
	}
}

// standbysOf returns the nodes that keep standby copies of a partition
// owned by owner: the k members that follow owner in members' (sorted)
// order, wrapping around, never owner itself.
func standbysOf(owner string, members []string, k int) []string {
	if len(members) == 0 {
		return nil
	}
	i := sort.SearchStrings(members, owner)
	// An owner that is no member any more (it left as the group was
	// described) is followed by the member at its place.
	first := 0
	if i < len(members) && members[i] == owner {
		first = 1
	}
	var out []string
	for j := first; j < first+len(members) && len(out) < k; j++ {
		if m := members[(i+j)%len(members)]; m != owner {
			out = append(out, m)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// LocalCopies lists the partitions of table whose copies run on this
// node, as the owner and as a standby, sorted; ok is false if this node
// does not materialize the table. It is for tests and diagnostics.
func (e *Engine) LocalCopies(table string) (owned, standby []int32, ok bool) {
	e.mu.Lock()
	rq := e.mu.materialized[table]
	e.mu.Unlock()
	if rq == nil {
		return nil, nil, false
	}
	cq := rq.cluster
	if cq == nil {
		for _, t := range rq.tasks {
			owned = append(owned, t.Inputs[0].Partition)
		}
		return owned, nil, true
	}
	cq.mu.Lock()
	for t, pt := range cq.mu.running {
		p := t.Inputs[0].Partition
		switch {
		case !pt.ready.Load():
		case cq.mu.owned[p]:
			owned = append(owned, p)
		default:
			standby = append(standby, p)
		}
	}
	cq.mu.Unlock()
	slices.Sort(owned)
	slices.Sort(standby)
	return owned, standby, true
}
