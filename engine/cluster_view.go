package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/log/kafka"
)

// What a node knows of the cluster (Kafka mode).
//
// Membership is Kafka's, as everything else about placement is: every
// node is a static member (by node id) of one more consumer group,
// nodesGroup, that exists whether or not any query runs. Its members are
// the live nodes: one joins when it starts, leaves when it stops, and is
// dropped by the group coordinator once its session times out after a
// crash (ClusterSessionTimeout). Each member's client id names its node
// and advertised address (memberClientID), so a DescribeGroups of
// nodesGroup lists the nodes and a DescribeGroups of a query's group says
// which node holds which partition.
//
// ksqlDB learns of its peers through the Kafka Streams metadata of its
// persistent queries (the consumer groups' user data), and so knows only
// itself while no query runs, then checks liveness with heartbeats of its
// own over REST (/clusterStatus). A group of its own gives Runnel both in
// one mechanism the brokers already run: SHOW NODES lists a node that
// runs nothing, and a node is live exactly as long as the groups that
// place tasks consider it live.

// nodesGroup is the consumer group every node joins to be listed.
const nodesGroup = "_runnel_nodes"

// clusterView reads group membership and assignments from the brokers.
type clusterView struct {
	cl  *kgo.Client
	adm *kadm.Client
	// member is this node's membership of nodesGroup; Leave ends it.
	member *kafka.Member
}

// nodeInfo is a node as its group members announce it.
type nodeInfo struct {
	ID   string
	Addr string
}

// openClusterView connects the view's admin client and joins nodesGroup.
func (e *Engine) openClusterView(ctx context.Context, kl *kafka.Log) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.opts.Kafka...), kgo.ClientID("runnel-admin-"+e.opts.NodeID))
	if err != nil {
		return fmt.Errorf("cluster view: %w", err)
	}
	// The group shares out the catalog topic's partition, which nobody
	// reads through it: the member only has to exist (its topic stays
	// paused).
	m, err := kl.JoinGroup(ctx, kafka.MemberOptions{
		Group: nodesGroup, Topics: []string{catalog.Topic}, ClientID: e.memberClientID(),
		InstanceID: e.opts.NodeID, SessionTimeout: e.opts.ClusterSessionTimeout,
		OnAssigned: func(context.Context, map[string][]int32) {},
		OnRevoked:  func(context.Context, map[string][]int32) {},
	})
	if err != nil {
		cl.Close()
		return fmt.Errorf("join the cluster (group %s): %w", nodesGroup, err)
	}
	e.view = &clusterView{cl: cl, adm: kadm.NewClient(cl), member: m}
	return nil
}

// close leaves nodesGroup (unless the log was abandoned, as by a crash)
// and closes the admin client.
func (v *clusterView) close() {
	v.member.Leave()
	v.cl.Close()
}

// describe describes groups; a group that does not exist comes back
// empty, not as an error. Brokers answer either Dead or, as kfake does
// before the group's first member has joined, GROUP_ID_NOT_FOUND.
func (v *clusterView) describe(ctx context.Context, groups ...string) (kadm.DescribedGroups, error) {
	described, err := v.adm.DescribeGroups(ctx, groups...)
	if err != nil {
		return nil, fmt.Errorf("describe groups: %w", err)
	}
	for name, g := range described {
		if errors.Is(g.Err, kerr.GroupIDNotFound) {
			g.Err, g.Members = nil, nil
			described[name] = g
		}
	}
	return described, nil
}

// liveNodes lists the nodes in nodesGroup, sorted by node id; this node
// is always among them (it may not have joined yet just after it starts).
func (e *Engine) liveNodes(ctx context.Context) ([]nodeInfo, error) {
	self := nodeInfo{ID: e.opts.NodeID, Addr: e.opts.Advertise}
	if e.view == nil {
		return []nodeInfo{self}, nil
	}
	described, err := e.view.describe(ctx, nodesGroup)
	if err != nil {
		return nil, err
	}
	seen := map[string]nodeInfo{self.ID: self}
	for _, g := range described {
		if g.Err != nil {
			return nil, fmt.Errorf("describe group %s: %w", g.Group, g.Err)
		}
		for _, m := range g.Members {
			if id, addr, ok := parseMemberClientID(m.ClientID); ok {
				seen[id] = nodeInfo{ID: id, Addr: addr}
			}
		}
	}
	out := make([]nodeInfo, 0, len(seen))
	for _, n := range seen {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// groupState is one group's members and who holds which partition.
type groupState struct {
	// members are the group's Runnel members, sorted by node id.
	members []nodeInfo
	// owners maps each assigned partition to its member; a partition in
	// no member's assignment (a rebalance under way) is absent.
	owners map[log.TopicPartition]nodeInfo
}

// memberIDs are the members' node ids, sorted.
func (g *groupState) memberIDs() []string {
	ids := make([]string, len(g.members))
	for i, m := range g.members {
		ids[i] = m.ID
	}
	return ids
}

// groupStates describes groups with one DescribeGroups. A group that does
// not exist comes back with no members.
func (e *Engine) groupStates(ctx context.Context, groups ...string) (map[string]*groupState, error) {
	out := map[string]*groupState{}
	if e.view == nil || len(groups) == 0 {
		return out, nil
	}
	described, err := e.view.describe(ctx, groups...)
	if err != nil {
		return nil, err
	}
	for _, g := range described {
		if g.Err != nil {
			return nil, fmt.Errorf("describe group %s: %w", g.Group, g.Err)
		}
		st := &groupState{owners: map[log.TopicPartition]nodeInfo{}}
		for _, mem := range g.Members {
			id, addr, ok := parseMemberClientID(mem.ClientID)
			if !ok {
				continue
			}
			n := nodeInfo{ID: id, Addr: addr}
			st.members = append(st.members, n)
			c, ok := mem.Assigned.AsConsumer()
			if !ok {
				continue
			}
			for _, t := range c.Topics {
				for _, p := range t.Partitions {
					st.owners[log.TopicPartition{Topic: t.Topic, Partition: p}] = n
				}
			}
		}
		sort.Slice(st.members, func(i, j int) bool { return st.members[i].ID < st.members[j].ID })
		out[g.Group] = st
	}
	return out, nil
}
