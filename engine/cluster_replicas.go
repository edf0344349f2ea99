package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

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
// node are the ones it owns. The first standby of a partition is the
// node the group would move it to if its owner died, and further ones
// (StandbyReplicas > 1) follow the owner in node id order (see "Where
// standbys go" below): every node computes the same answer from one
// DescribeGroups, so no node has to tell the others, and each node looks
// again every replicaRefresh.
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
// copies): the standby is put where the balancer will move the partition
// instead. After any move the standbys are recomputed around the new
// owners; a standby that stays one keeps running, and one no longer
// wanted stops and keeps its copy (its group's committed offset, its
// store), so that it is warm again, but for what it missed, if the
// partition's standby comes back to it.

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
	place := placementOf(g, slices.Collect(maps.Keys(cq.byInput))...)
	cq.applyMu.Lock()
	defer cq.applyMu.Unlock()
	cq.mu.Lock()
	for tp := range cq.byInput {
		owner, ok := g.owners[tp]
		// A partition the description already gives this node is left
		// as it is: the group's callback (setOwned), not the
		// description, says when this node owns it, and a standby copy
		// stopped in between would be started again, cold, by it.
		if !ok || owner.ID == e.opts.NodeID {
			continue
		}
		cq.mu.standby[tp.Partition] = contains(place.standbys(tp, k), e.opts.NodeID)
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

// Where standbys go: the stock balancer as an oracle.
//
// A standby is worth its upkeep only if its task (or table partition)
// moves to it when the owner dies. The group moves it with franz-go's
// cooperative-sticky balancer, which knows nothing of copies, and the
// issue rules out a balancer of our own; but the balancer is a function
// of what the survivors tell it when they rejoin: their subscriptions
// and the partitions they hold (with their generation). Those are in
// the group's description, so every node can run the same balancer on
// the same input before the owner dies: drop the owner, balance the
// survivors (kgo.CooperativeStickyBalancer's MemberBalancer and Balance,
// members sorted by instance id as the group's leader sorts them) and
// read where the owner's partitions land. That node keeps the first
// standby. Further ones (k > 1) are the members after the owner in node
// id order (standbysOf), as all standbys were before: the balancer is
// not asked where a task goes when several nodes die at once.
//
// The sticky balancer (kgo/internal/sticky) is deterministic for a group
// over one topic: a table's copies (its group subscribes to the table's
// topic) and a query of one stage. Over several topics (a query with a
// repartition) it is not: it numbers the topics in Go map order, and a
// dead member's partitions, handed out in that order to the least
// loaded survivors, can land on different nodes from one balance to the
// next, on the group's leader as here. There the first standbys are
// every node that placementRuns balances of the same description land
// the partition on (so possibly more than k): a warm copy wherever the
// leader's own draw puts it, at the price of an extra copy for some
// partitions. The draws are random, so two nodes could in principle
// disagree on a rare outcome: over two topics the rarer outcome came up
// in about one balance in eight when measured, which 256 balances all
// miss with a probability near 1e-15; a node that missed one would cost
// that partition its warmth, never correctness.
//
// The answer is kept per description (placements), so a refresh that
// sees the same group as the last one balances nothing. A balance of a
// small group took about 0.2 ms on a loaded 2-core machine: 256 of them,
// per member, are paid once per change of a group over several topics.

// placementRuns is how many balances of a group over several topics
// gather the nodes a partition may land on (one suffices over one topic).
const placementRuns = 256

// placementGeneration is the generation the simulated survivors rejoin
// with: they all rejoin with the same (the group's current), and the
// balancer only compares generations between members that claim the
// same partition, which these never do.
const placementGeneration = 1

// standbyPlacement is one description of a group, reduced to what its
// balancer reads, with the landings computed from it so far.
type standbyPlacement struct {
	// members are the group's node ids, sorted (as instance ids, the
	// order the group's leader balances them in).
	members []string
	// held is what each member holds: topic → sorted partitions.
	held map[string]map[string][]int32
	// counts are the partitions of each topic the group shares out.
	counts map[string]int32
	topics []string
	// owner maps each held partition to its member.
	owner map[log.TopicPartition]string

	mu struct {
		sync.Mutex
		// landings maps a member to where its partitions land if it
		// dies: partition → nodes, sorted.
		landings map[string]map[log.TopicPartition][]string
	}
}

// placements caches the placements of the descriptions seen last, by
// their key; it is cleared when it holds maxPlacements, which bounds it.
var placements struct {
	sync.Mutex
	byKey map[string]*standbyPlacement
}

const maxPlacements = 64

// placementOf returns the placement for g's description. The partitions
// of each topic are counted from g's assignment (every partition is
// held by a member once the group has settled); extra adds ones that
// must be counted even if no member holds them now.
func placementOf(g *groupState, extra ...log.TopicPartition) *standbyPlacement {
	p := &standbyPlacement{
		members: g.memberIDs(),
		held:    map[string]map[string][]int32{},
		counts:  map[string]int32{},
		owner:   make(map[log.TopicPartition]string, len(g.owners)),
	}
	count := func(tp log.TopicPartition) {
		if tp.Partition+1 > p.counts[tp.Topic] {
			p.counts[tp.Topic] = tp.Partition + 1
		}
	}
	for tp, n := range g.owners {
		p.owner[tp] = n.ID
		count(tp)
		if p.held[n.ID] == nil {
			p.held[n.ID] = map[string][]int32{}
		}
		p.held[n.ID][tp.Topic] = append(p.held[n.ID][tp.Topic], tp.Partition)
	}
	for _, tp := range extra {
		count(tp)
	}
	for t := range p.counts {
		p.topics = append(p.topics, t)
	}
	sort.Strings(p.topics)
	var key strings.Builder
	for _, t := range p.topics {
		fmt.Fprintf(&key, "%s:%d;", t, p.counts[t])
	}
	for _, m := range p.members {
		fmt.Fprintf(&key, "|%s", m)
		for _, t := range p.topics {
			ps := p.held[m][t]
			slices.Sort(ps)
			fmt.Fprintf(&key, ";%s:%v", t, ps)
		}
	}
	placements.Lock()
	defer placements.Unlock()
	if cached := placements.byKey[key.String()]; cached != nil {
		return cached
	}
	if placements.byKey == nil || len(placements.byKey) >= maxPlacements {
		placements.byKey = map[string]*standbyPlacement{}
	}
	placements.byKey[key.String()] = p
	return p
}

// standbys returns the nodes that keep standby copies of tp, at most k
// of them unless several are where tp may land (see above); none when
// tp has no owner now or k < 1. Every node computes the same from the
// same description.
func (p *standbyPlacement) standbys(tp log.TopicPartition, k int) []string {
	owner, ok := p.owner[tp]
	if !ok || k < 1 {
		return nil
	}
	out := slices.Clone(p.landingsOf(owner)[tp])
	for _, m := range standbysOf(owner, p.members, len(p.members)) {
		if len(out) >= k {
			break
		}
		if !contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// landingsOf returns where dead's partitions land if it dies: the
// survivors' balance, once per description and member.
func (p *standbyPlacement) landingsOf(dead string) map[log.TopicPartition][]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l, ok := p.mu.landings[dead]; ok {
		return l
	}
	if p.mu.landings == nil {
		p.mu.landings = map[string]map[log.TopicPartition][]string{}
	}
	l := p.balanceWithout(dead)
	p.mu.landings[dead] = l
	return l
}

// balanceWithout balances the group without dead, as its survivors'
// rejoin would, and returns where dead's partitions land; nil if the
// balancer refuses (the callers then fall back on standbysOf).
func (p *standbyPlacement) balanceWithout(dead string) map[log.TopicPartition][]string {
	var survivors []string
	for _, m := range p.members {
		if m != dead {
			survivors = append(survivors, m)
		}
	}
	if len(survivors) == 0 || len(p.topics) == 0 {
		return nil
	}
	runs := 1
	if len(p.topics) > 1 {
		runs = placementRuns
	}
	landed := map[log.TopicPartition]map[string]bool{}
	for range runs {
		plan, err := balanceSurvivors(survivors, p.held, p.topics, p.counts)
		if err != nil {
			return nil
		}
		for node, tps := range plan {
			for _, tp := range tps {
				if p.owner[tp] != dead {
					continue
				}
				if landed[tp] == nil {
					landed[tp] = map[string]bool{}
				}
				landed[tp][node] = true
			}
		}
	}
	out := make(map[log.TopicPartition][]string, len(landed))
	for tp, nodes := range landed {
		for n := range nodes {
			out[tp] = append(out[tp], n)
		}
		slices.Sort(out[tp])
	}
	return out
}

// balanceSurvivors runs franz-go's cooperative-sticky balancer over
// members (sorted node ids, each its own instance and member id), each
// rejoining with what it holds, as kgo's JoinGroupMetadata says it, and
// returns each member's planned partitions.
func balanceSurvivors(members []string, held map[string]map[string][]int32, topics []string, counts map[string]int32) (map[string][]log.TopicPartition, error) {
	b := kgo.CooperativeStickyBalancer()
	joined := make([]kmsg.JoinGroupResponseMember, 0, len(members))
	for _, id := range members {
		owned := make(map[string][]int32, len(held[id]))
		for t, ps := range held[id] {
			owned[t] = slices.Clone(ps)
		}
		m := kmsg.NewJoinGroupResponseMember()
		m.MemberID = id
		m.InstanceID = kmsg.StringPtr(id)
		m.ProtocolMetadata = b.JoinGroupMetadata(slices.Clone(topics), owned, placementGeneration)
		joined = append(joined, m)
	}
	mb, _, err := b.MemberBalancer(joined)
	if err != nil {
		return nil, fmt.Errorf("standby placement: %w", err)
	}
	var into kgo.IntoSyncAssignment
	if be, ok := mb.(kgo.GroupMemberBalancerOrError); ok {
		if into, err = be.BalanceOrError(maps.Clone(counts)); err != nil {
			return nil, fmt.Errorf("standby placement: %w", err)
		}
	} else {
		into = mb.Balance(maps.Clone(counts))
	}
	out := map[string][]log.TopicPartition{}
	for _, a := range into.IntoSyncAssignment() {
		var c kmsg.ConsumerMemberAssignment
		if err := c.ReadFrom(a.MemberAssignment); err != nil {
			return nil, fmt.Errorf("standby placement: member %s's assignment: %w", a.MemberID, err)
		}
		for _, t := range c.Topics {
			for _, part := range t.Partitions {
				out[a.MemberID] = append(out[a.MemberID], log.TopicPartition{Topic: t.Topic, Partition: part})
			}
		}
	}
	return out, nil
}

// warmStandbys returns the node ids that keep standby copies of tp, k at
// most (see standbyPlacement), from the group's description.
func (g *groupState) warmStandbys(tp log.TopicPartition, k int) []string {
	return placementOf(g, tp).standbys(tp, k)
}

// standbyNodes is warmStandbys with each node's address.
func (g *groupState) standbyNodes(tp log.TopicPartition, k int) []nodeInfo {
	ids := g.warmStandbys(tp, k)
	out := make([]nodeInfo, 0, len(ids))
	for _, id := range ids {
		for _, m := range g.members {
			if m.ID == id {
				out = append(out, m)
				break
			}
		}
	}
	return out
}
