package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/runnel/runnel/internal/peer"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators"
	"github.com/runnel/runnel/sql/types"
)

// SHOW NODES, SHOW QUERIES EXTENDED, and the task lines of EXPLAIN and
// DESCRIBE EXTENDED: who runs what, cluster-wide, read from the groups'
// assignments (cluster_view.go) rather than asked of each node, so that
// the answer is the brokers' and costs one DescribeGroups.

// placedTaskInfo is one task of a query and the node that runs it.
type placedTaskInfo struct {
	task *operators.Task
	// node is who holds the task's partition; its ID is "" while the
	// partition is between owners (a rebalance under way).
	node nodeInfo
	// standbys are the nodes that keep the task's store warm, as
	// refreshTaskStandbys places them (groupState.standbyNodes), or for
	// a table's materializer the nodes that
	// keep standby copies of its partition, as refreshStandbys places
	// them: none for a stateless task, for a task between owners, or
	// without standby replicas.
	standbys []nodeInfo
}

// placementGroup is the group whose assignment places rq's tasks: the
// query's own, or for a table's materializer the group its copies
// follow; "" when this node runs every task (embedded mode).
func (rq *runningQuery) placementGroup() string {
	if rq.cluster == nil {
		return ""
	}
	return rq.cluster.group
}

// taskPlacements returns where each running query's tasks run, and where
// their standbys are kept, for the given queries, with one DescribeGroups
// for all of them.
func (e *Engine) taskPlacements(ctx context.Context, rqs []*runningQuery) (map[*runningQuery][]placedTaskInfo, error) {
	var groups []string
	for _, rq := range rqs {
		if g := rq.placementGroup(); g != "" {
			groups = append(groups, g)
		}
	}
	states, err := e.groupStates(ctx, groups...)
	if err != nil {
		return nil, err
	}
	self := nodeInfo{ID: e.opts.NodeID, Addr: e.opts.Advertise}
	out := map[*runningQuery][]placedTaskInfo{}
	for _, rq := range rqs {
		g := states[rq.placementGroup()]
		for _, t := range rq.tasks {
			pt := placedTaskInfo{task: t, node: self}
			if g != nil && len(t.Inputs) > 0 {
				pt.node = g.owners[t.Inputs[0]]
				// A query's stateful task is kept warm on its
				// query's standby count of nodes; a table partition
				// on the server's (cluster_replicas.go's rule).
				k := e.opts.StandbyReplicas
				if !isMaterializer(rq) {
					k = e.queryStandbyReplicas(rq.q)
					if t.Store == nil {
						k = 0
					}
				}
				if pt.node.ID != "" && k > 0 {
					pt.standbys = g.standbyNodes(t.Inputs[0], k)
				}
			}
			out[rq] = append(out[rq], pt)
		}
	}
	return out, nil
}

// showNodes lists the live nodes: id, advertised address, whether it is
// the node answering, the persistent query tasks it runs and the table
// partitions it holds for pull queries (as owner), and the standby
// copies it keeps of each: of stateful query tasks' stores, and of table
// partitions. The standby counts come from the same assignments as the
// ownership counts, placed by the rule that places the copies
// (standbysOf), so they agree with SHOW QUERIES EXTENDED's STANDBY rows.
func (e *Engine) showNodes(ctx context.Context) ([]types.Row, error) {
	nodes, err := e.liveNodes(ctx)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	var queries, mats []*runningQuery
	for _, rq := range e.mu.running {
		queries = append(queries, rq)
	}
	for _, rq := range e.mu.materialized {
		mats = append(mats, rq)
	}
	e.mu.Unlock()
	placed, err := e.taskPlacements(ctx, append(append([]*runningQuery(nil), queries...), mats...))
	if err != nil {
		return nil, err
	}
	c := countPlacements(placed)
	if !e.clustered() {
		c.parts[e.opts.NodeID] += e.aggregateServedParts() // tables without a copy (pull_agg.go)
	}
	rows := make([]types.Row, 0, len(nodes))
	for _, n := range nodes {
		rows = append(rows, types.Row{types.NewString(n.ID), types.NewString(n.Addr),
			types.NewBoolean(n.ID == e.opts.NodeID), types.NewInt(c.tasks[n.ID]), types.NewInt(c.parts[n.ID]),
			types.NewInt(c.standbyTasks[n.ID]), types.NewInt(c.standbyParts[n.ID])})
	}
	return rows, nil
}

// nodeCounts are SHOW NODES' counts, by node id.
type nodeCounts struct {
	// tasks and parts count what a node owns: query tasks, table
	// partitions.
	tasks, parts map[string]int32
	// standbyTasks and standbyParts count the standby copies a node
	// keeps: of query tasks' stores, of table partitions.
	standbyTasks, standbyParts map[string]int32
}

// countPlacements counts, per node, the tasks and table partitions it
// owns and the standby copies of them it keeps. A task between owners
// counts for no node (its id is "") and has no standbys.
func countPlacements(placed map[*runningQuery][]placedTaskInfo) nodeCounts {
	c := nodeCounts{tasks: map[string]int32{}, parts: map[string]int32{},
		standbyTasks: map[string]int32{}, standbyParts: map[string]int32{}}
	for rq, ts := range placed {
		own, standby := c.tasks, c.standbyTasks
		if isMaterializer(rq) {
			own, standby = c.parts, c.standbyParts
		}
		for _, pt := range ts {
			own[pt.node.ID]++
			for _, n := range pt.standbys {
				standby[n.ID]++
			}
		}
	}
	return c
}

// showNodesColumns are SHOW NODES' columns.
var showNodesColumns = []types.Column{
	{Name: "node_id", Type: types.String}, {Name: "address", Type: types.String},
	{Name: "this_node", Type: types.Boolean}, {Name: "tasks", Type: types.Int},
	{Name: "table_partitions", Type: types.Int},
	{Name: "standby_tasks", Type: types.Int}, {Name: "standby_table_partitions", Type: types.Int},
}

// isMaterializer reports whether rq materializes a table for pull
// queries rather than being a persistent query of the catalog.
func isMaterializer(rq *runningQuery) bool {
	return strings.HasPrefix(rq.q.ID, materializerPrefix)
}

// showQueriesExtendedColumns are SHOW QUERIES EXTENDED's columns: a row
// per task, with ksqlDB's consumer group summary (offset, end offset and
// lag of the task's input partition) beside the node that runs it, and a
// row per standby copy of a task's store (task_type STANDBY, Kafka
// Streams' name for it, where the task's own row is ACTIVE) with the node
// that keeps it. A standby row's offset is the copy's checkpoint in the
// store's changelog, its end offset the changelog's end and lag how far
// the copy is behind: what a failover to that node would restore. The
// answering node reads its own copies' checkpoints and asks each other
// node for its copies', all at once (askStandbys): a node that does not
// answer within peerStandbyWait has its standby rows show NULL. In a
// cluster the tables' copies for pull queries follow, in the same
// columns (tableCopyRows).
var showQueriesExtendedColumns = []types.Column{
	{Name: "query_id", Type: types.String}, {Name: "status", Type: types.String},
	{Name: "sink", Type: types.String}, {Name: "task", Type: types.String},
	{Name: "partition", Type: types.Int}, {Name: "node_id", Type: types.String},
	{Name: "address", Type: types.String}, {Name: "task_type", Type: types.String},
	{Name: "offset", Type: types.Bigint},
	{Name: "end_offset", Type: types.Bigint}, {Name: "lag", Type: types.Bigint},
	{Name: "query_string", Type: types.String},
}

// showQueriesExtended lists every task of every persistent query with the
// node that runs it. A query that does not run (it could not start) has
// one row without a task. The placements of every query come from one
// DescribeGroups, and the other nodes that keep standby copies are asked
// for their checkpoints all at once (askStandbys), so that the listing
// waits for the slowest of them at most peerStandbyWait, however many
// do not answer.
func (e *Engine) showQueriesExtended(ctx context.Context) ([]types.Row, error) {
	queries := e.cat.Queries()
	// running is read once, so that a query restarted meanwhile is
	// listed as placed.
	running := make(map[string]*runningQuery, len(queries))
	var rqs []*runningQuery
	for _, q := range queries {
		if rq, ok := e.runningQuery(q.ID); ok {
			running[q.ID] = rq
			if len(rq.tasks) > 0 {
				rqs = append(rqs, rq)
			}
		}
	}
	placed, err := e.taskPlacements(ctx, rqs)
	if err != nil {
		return nil, err
	}
	remote := e.askStandbys(ctx, e.remoteStandbyNodes(placed), peerStandbyWait)
	var rows []types.Row
	for _, q := range queries {
		rq, ok := running[q.ID]
		if !ok || len(rq.tasks) == 0 {
			state := "UNKNOWN"
			if ok {
				state, _ = rq.status()
			}
			rows = append(rows, types.Row{types.NewString(q.ID), types.NewString(state), types.NewString(q.Sink),
				types.NullValue, types.NullValue, types.NullValue, types.NullValue, types.NullValue, types.NullValue, types.NullValue, types.NullValue, types.NewString(q.Statement)})
			continue
		}
		state, _ := rq.status()
		for _, t := range e.placedTaskRows(ctx, rq, placed[rq], remote) {
			rows = append(rows, types.Row{types.NewString(q.ID), types.NewString(state), types.NewString(q.Sink),
				types.NewString(t.task), types.NewInt(t.partition), nullIfEmpty(t.node.ID), nullIfEmpty(t.node.Addr),
				types.NewString(t.kind()), t.offset, t.end, t.lag, types.NewString(q.Statement)})
		}
	}
	copies, err := e.tableCopyRows(ctx)
	if err != nil {
		return nil, err
	}
	return append(rows, copies...), nil
}

// tableCopyRows lists, in a cluster, the copies of each table's partitions
// that pull queries read (cluster_replicas.go), after the persistent
// queries' tasks: one ACTIVE row per partition on the node that owns it in
// the table's group and one STANDBY row per node that keeps a standby copy.
// The query_id is the table's group (materializerID, the same on every
// node), the sink the table and the query_string NULL, as no statement
// started it. Every copy commits what it has consumed of the table's topic
// in its node's own group (materializerIDOn), which any node can read from
// the brokers, so unlike a query's standby every copy's offset and lag are
// shown on every node. In embedded mode the one node holds every
// partition and nothing is listed, as before.
func (e *Engine) tableCopyRows(ctx context.Context) ([]types.Row, error) {
	if !e.clustered() {
		return nil, nil
	}
	e.mu.Lock()
	mats := make([]*runningQuery, 0, len(e.mu.materialized))
	for _, rq := range e.mu.materialized {
		if rq.cluster != nil && len(rq.tasks) > 0 {
			mats = append(mats, rq)
		}
	}
	e.mu.Unlock()
	sort.Slice(mats, func(i, j int) bool { return mats[i].q.Sink < mats[j].q.Sink })
	var rows []types.Row
	for _, rq := range mats {
		copies, err := e.queryTaskRows(ctx, rq, nil)
		if err != nil {
			return nil, err
		}
		state, _ := rq.status()
		for _, c := range copies {
			rows = append(rows, types.Row{types.NewString(rq.cluster.group), types.NewString(state), types.NewString(rq.q.Sink),
				types.NewString(c.task), types.NewInt(c.partition), nullIfEmpty(c.node.ID), nullIfEmpty(c.node.Addr),
				types.NewString(c.kind()), c.offset, c.end, c.lag, types.NullValue})
		}
	}
	return rows, nil
}

// copyGroup is the group in which node's copy of a table whose group is
// tableGroup commits its offsets in the table's topic: what
// materializerIDOn names on that node.
func copyGroup(tableGroup, node string) string {
	return tableGroup + "_" + node
}

func nullIfEmpty(s string) types.Value {
	if s == "" {
		return types.NullValue
	}
	return types.NewString(s)
}

// taskRow is one task of a query as SHOW QUERIES EXTENDED, EXPLAIN and
// DESCRIBE EXTENDED show it.
type taskRow struct {
	task      string
	partition int32
	node      nodeInfo
	// standby marks a standby copy of the task's store kept on node.
	standby bool
	// offset is the query's committed offset of the task's first input
	// partition, end its end offset, lag their difference: NULL when
	// unknown. For a standby they are of the store's changelog instead:
	// the copy's checkpoint, the changelog's end and the difference.
	offset, end, lag types.Value
}

// kind is the row's task_type, as Kafka Streams names its tasks.
func (r taskRow) kind() string {
	if r.standby {
		return "STANDBY"
	}
	return "ACTIVE"
}

// setOffsets fills r's offset, end and lag from a committed offset (if
// hasOff) and the partition's end offset (if hasEnd).
func (r *taskRow) setOffsets(off int64, hasOff bool, end int64, hasEnd bool) {
	if hasOff {
		r.offset = types.NewBigint(off)
	}
	if !hasEnd {
		return
	}
	r.end = types.NewBigint(end)
	if hasOff {
		r.lag = types.NewBigint(max(end-off, 0))
	} else {
		r.lag = types.NewBigint(end)
	}
}

// queryTaskRows describes rq's tasks, sorted by task name. For a table's
// materializer in a cluster they are the table's copies (tableCopyRows).
// A standby kept by another node has its checkpoint read from remote,
// what that node answered (askStandbys); with remote nil, or a node that
// did not answer, it stays NULL.
func (e *Engine) queryTaskRows(ctx context.Context, rq *runningQuery, remote remoteStandbys) ([]taskRow, error) {
	placed, err := e.taskPlacements(ctx, []*runningQuery{rq})
	if err != nil {
		return nil, err
	}
	return e.placedTaskRows(ctx, rq, placed[rq], remote), nil
}

// placedTaskRows is queryTaskRows for tasks placed already.
func (e *Engine) placedTaskRows(ctx context.Context, rq *runningQuery, placed []placedTaskInfo, remote remoteStandbys) []taskRow {
	tableCopies := isMaterializer(rq) && rq.cluster != nil
	// committed caches CommittedOffsets by group and topic, ends
	// EndOffsets by topic: one request each per listing.
	committed := map[[2]string]map[int32]int64{}
	ends := map[string][]int64{}
	// inputOffsets fills r from group's committed offset of in against
	// in's end. Offsets that cannot be read now show as NULL: the
	// placement is what this listing is for.
	inputOffsets := func(r *taskRow, group string, in log.TopicPartition) {
		key := [2]string{group, in.Topic}
		if _, ok := committed[key]; !ok {
			committed[key], _ = e.log.CommittedOffsets(ctx, group, in.Topic)
		}
		if _, ok := ends[in.Topic]; !ok {
			ends[in.Topic], _ = e.log.EndOffsets(ctx, in.Topic)
		}
		off, hasOff := committed[key][in.Partition]
		end, hasEnd := endOf(ends[in.Topic], in.Partition)
		r.setOffsets(off, hasOff, end, hasEnd)
	}
	out := make([]taskRow, 0, len(rq.tasks))
	for _, pt := range placed {
		t := pt.task
		r := taskRow{task: t.String(), node: pt.node, offset: types.NullValue, end: types.NullValue, lag: types.NullValue}
		if len(t.Inputs) > 0 {
			in := t.Inputs[0]
			r.partition = in.Partition
			switch {
			case !tableCopies:
				inputOffsets(&r, rq.q.ID, in)
			case pt.node.ID != "":
				// A partition between owners has no copy to
				// describe: its row stays NULL.
				inputOffsets(&r, copyGroup(rq.cluster.group, pt.node.ID), in)
			}
		}
		out = append(out, r)
		for _, n := range pt.standbys {
			sr := taskRow{task: r.task, partition: r.partition, node: n, standby: true,
				offset: types.NullValue, end: types.NullValue, lag: types.NullValue}
			switch {
			case tableCopies:
				// A table's standby copy consumes the table's topic
				// as its owner does, and commits in its node's group.
				inputOffsets(&sr, copyGroup(rq.cluster.group, n.ID), t.Inputs[0])
			case n.ID == e.opts.NodeID:
				e.standbyOffsets(ctx, &sr, t, ends)
			case remote != nil:
				e.remoteStandbyOffsets(ctx, &sr, remote[n.ID], rq.q.ID, ends)
			}
			out = append(out, sr)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].partition != out[j].partition {
			return out[i].partition < out[j].partition
		}
		if out[i].task != out[j].task {
			return out[i].task < out[j].task
		}
		if out[i].standby != out[j].standby {
			return !out[i].standby
		}
		return out[i].node.ID < out[j].node.ID
	})
	return out
}

// standbyOffsets fills a standby row of t kept on this node: the copy's
// checkpoint against its changelog's end, both read locally or with one
// ListOffsets per changelog topic (ends caches them). What cannot be read
// now stays NULL, as for a task's offsets.
func (e *Engine) standbyOffsets(ctx context.Context, r *taskRow, t *operators.Task, ends map[string][]int64) {
	tp, off, hasOff, err := t.Store.Checkpoint()
	if err != nil || tp.Topic == "" {
		return
	}
	if _, ok := ends[tp.Topic]; !ok {
		ends[tp.Topic], _ = e.log.EndOffsets(ctx, tp.Topic)
	}
	end, hasEnd := endOf(ends[tp.Topic], tp.Partition)
	r.setOffsets(off, hasOff, end, hasEnd)
}

// peerStandbyWait bounds how long one SHOW QUERIES EXTENDED waits for the
// other nodes to list their standby copies' checkpoints: they are asked
// all at once, and a node that does not answer in time (dead but still a
// group member, partitioned, overloaded) leaves its standby rows NULL
// rather than holding up the listing.
const peerStandbyWait = time.Second

// remoteStandbys holds, for one listing, the checkpoints of the standby
// copies that other nodes keep, by node id and then by query id and task;
// a node that did not answer maps to nil.
type remoteStandbys map[string]map[[2]string]peer.StandbyCheckpoint

// remoteStandbyNodes returns the other nodes that keep standby copies of
// the placed query tasks, each once, in id order: the nodes a listing
// asks. A table's copies are not among them: every copy commits its
// offset in the brokers (tableCopyRows).
func (e *Engine) remoteStandbyNodes(placed map[*runningQuery][]placedTaskInfo) []nodeInfo {
	seen := map[string]nodeInfo{}
	for rq, ts := range placed {
		if isMaterializer(rq) {
			continue
		}
		for _, pt := range ts {
			for _, n := range pt.standbys {
				if n.ID != e.opts.NodeID && n.Addr != "" {
					seen[n.ID] = n
				}
			}
		}
	}
	out := make([]nodeInfo, 0, len(seen))
	for _, n := range seen {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// askStandbys asks each of nodes for the checkpoints of the standby
// copies it keeps (peer.StandbysRequest), all at once: one goroutine per
// node, owned by this call, which returns only when every one of them
// has ended. They share one context that ends when wait has passed (or
// ctx ends), and a request ends with its context, so the call takes at
// most about wait however many nodes are slow or silent; the ones that
// did not answer map to nil. The answers are bounded by the tasks that
// exist (peer.Client.Standbys).
func (e *Engine) askStandbys(ctx context.Context, nodes []nodeInfo, wait time.Duration) remoteStandbys {
	remote := make(remoteStandbys, len(nodes))
	if e.peers == nil || len(nodes) == 0 {
		return remote
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	type answer struct {
		node nodeInfo
		list []peer.StandbyCheckpoint
		err  error
	}
	// Buffered for every answer, so that no request waits on the
	// collector to send its own.
	answers := make(chan answer, len(nodes))
	for _, n := range nodes {
		go func() {
			list, err := e.peers.Standbys(ctx, n.Addr)
			answers <- answer{node: n, list: list, err: err}
		}()
	}
	for range nodes {
		a := <-answers
		if a.err != nil {
			e.logger.Debug("SHOW QUERIES EXTENDED: another node's standby checkpoints", "node", a.node.ID, "error", a.err)
			remote[a.node.ID] = nil
			continue
		}
		byTask := make(map[[2]string]peer.StandbyCheckpoint, len(a.list))
		for _, c := range a.list {
			byTask[[2]string{c.Query, c.Task}] = c
		}
		remote[a.node.ID] = byTask
	}
	return remote
}

// remoteStandbyOffsets fills a standby row of query's task kept on
// another node from the checkpoint that node reported for it (byTask,
// nil when it did not answer) against its changelog's end (ends caches
// them). A node that did not answer, or does not keep the copy yet,
// leaves the row NULL.
func (e *Engine) remoteStandbyOffsets(ctx context.Context, r *taskRow, byTask map[[2]string]peer.StandbyCheckpoint, query string, ends map[string][]int64) {
	c, ok := byTask[[2]string{query, r.task}]
	if !ok {
		return
	}
	if _, ok := ends[c.Topic]; !ok {
		ends[c.Topic], _ = e.log.EndOffsets(ctx, c.Topic)
	}
	end, hasEnd := endOf(ends[c.Topic], c.Partition)
	r.setOffsets(c.Offset, c.HasOffset, end, hasEnd)
}

// endOf is partition p's entry of a topic's end offsets, if listed.
func endOf(ends []int64, p int32) (int64, bool) {
	if p < 0 || int(p) >= len(ends) {
		return 0, false
	}
	return ends[p], true
}

// taskLines renders rq's tasks for EXPLAIN and DESCRIBE EXTENDED, one
// line each: "task topic/p on node id (address), offset o of end e".
func (e *Engine) taskLines(ctx context.Context, rq *runningQuery) ([]string, error) {
	rows, err := e.queryTaskRows(ctx, rq, nil)
	if err != nil {
		return nil, err
	}
	lines := make([]string, 0, len(rows))
	for _, r := range rows {
		if r.standby {
			// EXPLAIN and DESCRIBE say who runs the query; SHOW
			// QUERIES EXTENDED also lists the standby copies.
			continue
		}
		where := "no node (moving)"
		if r.node.ID != "" {
			where = "node " + r.node.ID
			if r.node.Addr != "" {
				where += " (" + r.node.Addr + ")"
			}
		}
		line := fmt.Sprintf("%s on %s", r.task, where)
		if !r.end.IsNull() {
			off := "none"
			if !r.offset.IsNull() {
				off = fmt.Sprint(r.offset.Int())
			}
			line += fmt.Sprintf(", offset %s of %d, lag %d", off, r.end.Int(), r.lag.Int())
		}
		lines = append(lines, line)
	}
	return lines, nil
}
