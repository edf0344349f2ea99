package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"

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

// taskPlacements returns where each running query's tasks run, for the
// given queries, with one DescribeGroups for all of them.
func (e *Engine) taskPlacements(ctx context.Context, rqs []*runningQuery) (map[*runningQuery][]placedTaskInfo, error) {
	var groups []string
	for _, rq := range rqs {
		if g := rq.placementGroup(); g != "" {
			groups = append(groups, g)
		}
	}
	placed, err := e.placements(ctx, groups...)
	if err != nil {
		return nil, err
	}
	self := nodeInfo{ID: e.opts.NodeID, Addr: e.opts.Advertise}
	out := map[*runningQuery][]placedTaskInfo{}
	for _, rq := range rqs {
		g := rq.placementGroup()
		for _, t := range rq.tasks {
			pt := placedTaskInfo{task: t, node: self}
			if g != "" && len(t.Inputs) > 0 {
				pt.node = placed[g][t.Inputs[0]]
			}
			out[rq] = append(out[rq], pt)
		}
	}
	return out, nil
}

// showNodes lists the live nodes: id, advertised address, whether it is
// the node answering, the persistent query tasks it runs and the table
// partitions it holds for pull queries (as owner; standby copies are not
// counted).
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
	tasks, parts := map[string]int32{}, map[string]int32{}
	for rq, ts := range placed {
		count := tasks
		if isMaterializer(rq) {
			count = parts
		}
		for _, pt := range ts {
			count[pt.node.ID]++
		}
	}
	rows := make([]types.Row, 0, len(nodes))
	for _, n := range nodes {
		rows = append(rows, types.Row{types.NewString(n.ID), types.NewString(n.Addr),
			types.NewBoolean(n.ID == e.opts.NodeID), types.NewInt(tasks[n.ID]), types.NewInt(parts[n.ID])})
	}
	return rows, nil
}

// showNodesColumns are SHOW NODES' columns.
var showNodesColumns = []types.Column{
	{Name: "node_id", Type: types.String}, {Name: "address", Type: types.String},
	{Name: "this_node", Type: types.Boolean}, {Name: "tasks", Type: types.Int},
	{Name: "table_partitions", Type: types.Int},
}

// isMaterializer reports whether rq materializes a table for pull
// queries rather than being a persistent query of the catalog.
func isMaterializer(rq *runningQuery) bool {
	return strings.HasPrefix(rq.q.ID, materializerPrefix)
}

// showQueriesExtendedColumns are SHOW QUERIES EXTENDED's columns: a row
// per task, with ksqlDB's consumer group summary (offset, end offset and
// lag of the task's input partition) beside the node that runs it.
var showQueriesExtendedColumns = []types.Column{
	{Name: "query_id", Type: types.String}, {Name: "status", Type: types.String},
	{Name: "sink", Type: types.String}, {Name: "task", Type: types.String},
	{Name: "partition", Type: types.Int}, {Name: "node_id", Type: types.String},
	{Name: "address", Type: types.String}, {Name: "offset", Type: types.Bigint},
	{Name: "end_offset", Type: types.Bigint}, {Name: "lag", Type: types.Bigint},
	{Name: "query_string", Type: types.String},
}

// showQueriesExtended lists every task of every persistent query with the
// node that runs it. A query that does not run (it could not start) has
// one row without a task.
func (e *Engine) showQueriesExtended(ctx context.Context) ([]types.Row, error) {
	var rows []types.Row
	for _, q := range e.cat.Queries() {
		rq, ok := e.runningQuery(q.ID)
		if !ok || len(rq.tasks) == 0 {
			state := "UNKNOWN"
			if ok {
				state, _ = rq.status()
			}
			rows = append(rows, types.Row{types.NewString(q.ID), types.NewString(state), types.NewString(q.Sink),
				types.NullValue, types.NullValue, types.NullValue, types.NullValue, types.NullValue, types.NullValue, types.NullValue, types.NewString(q.Statement)})
			continue
		}
		tasks, err := e.queryTaskRows(ctx, rq)
		if err != nil {
			return nil, err
		}
		state, _ := rq.status()
		for _, t := range tasks {
			rows = append(rows, types.Row{types.NewString(q.ID), types.NewString(state), types.NewString(q.Sink),
				types.NewString(t.task), types.NewInt(t.partition), nullIfEmpty(t.node.ID), nullIfEmpty(t.node.Addr),
				t.offset, t.end, t.lag, types.NewString(q.Statement)})
		}
	}
	return rows, nil
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
	// offset is the query's committed offset of the task's first input
	// partition, end its end offset, lag their difference: NULL when
	// unknown.
	offset, end, lag types.Value
}

// queryTaskRows describes rq's tasks, sorted by task name.
func (e *Engine) queryTaskRows(ctx context.Context, rq *runningQuery) ([]taskRow, error) {
	placed, err := e.taskPlacements(ctx, []*runningQuery{rq})
	if err != nil {
		return nil, err
	}
	committed := map[string]map[int32]int64{}
	ends := map[string][]int64{}
	out := make([]taskRow, 0, len(rq.tasks))
	for _, pt := range placed[rq] {
		t := pt.task
		r := taskRow{task: t.String(), node: pt.node, offset: types.NullValue, end: types.NullValue, lag: types.NullValue}
		if len(t.Inputs) > 0 {
			in := t.Inputs[0]
			r.partition = in.Partition
			if _, ok := committed[in.Topic]; !ok {
				// Offsets that cannot be read now show as NULL: the
				// placement is what this listing is for.
				committed[in.Topic], _ = e.log.CommittedOffsets(ctx, rq.q.ID, in.Topic)
				ends[in.Topic], _ = e.log.EndOffsets(ctx, in.Topic)
			}
			off, hasOff := committed[in.Topic][in.Partition]
			if hasOff {
				r.offset = types.NewBigint(off)
			}
			if end := ends[in.Topic]; int(in.Partition) < len(end) {
				r.end = types.NewBigint(end[in.Partition])
				if hasOff {
					r.lag = types.NewBigint(max(end[in.Partition]-off, 0))
				} else {
					r.lag = types.NewBigint(end[in.Partition])
				}
			}
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].partition != out[j].partition {
			return out[i].partition < out[j].partition
		}
		return out[i].task < out[j].task
	})
	return out, nil
}

// taskLines renders rq's tasks for EXPLAIN and DESCRIBE EXTENDED, one
// line each: "task topic/p on node id (address), offset o of end e".
func (e *Engine) taskLines(ctx context.Context, rq *runningQuery) ([]string, error) {
	rows, err := e.queryTaskRows(ctx, rq)
	if err != nil {
		return nil, err
	}
	lines := make([]string, 0, len(rows))
	for _, r := range rows {
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
