package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/internal/peer"
	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators"
	"github.com/runnel/runnel/operators/build"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/server"
	"github.com/runnel/runnel/sql/types"
)

// Pull queries in a cluster (Kafka mode).
//
// A node holds copies of some partitions of each table only
// (cluster_replicas.go), so a pull query that arrives at any node reads
// each partition it needs where a copy is: here if this node's copy has
// caught up, else from the partition's owner or a standby, forwarded over
// pgwire (internal/peer). A key lookup needs one partition, a scan all of
// them; the builder's pull scan (build.PullFrom) does the filtering,
// sorting, limiting and projecting here, over stored rows that come a
// chunk at a time from wherever they are, so a forwarded scan costs what
// a local one does in memory, and its rows are the ones a local scan
// would produce.
//
// Read-your-writes across nodes: before the scan, the query waits for the
// queries that write the table (through their groups' committed offsets
// when they run elsewhere) and takes the high watermarks of the table's
// topic (writtenEnds: past every acknowledged write, even one behind a
// dead node's open transaction).
// A copy answers for partition p only once it has consumed the topic up
// to that end offset; the offsets travel with each forwarded request, and
// the node that holds the copy checks them itself. A copy that is behind
// is waited for; a partition with no copy that has caught up (its owner
// died and no standby is warm, or it is being rebuilt) is waited for too,
// bounded by runnel.pull.timeout.ms, after which the query fails with
// SQLSTATE 40001 (serialization_failure: retry), as it does when a query
// that writes the table has not caught up in time. No copy that is behind
// ever answers, so a pull query never returns an older state than the
// writes acknowledged before it began.

// errPartitionUnavailable is a pull query's partition with no caught-up
// copy now, or a forwarded request that this node cannot serve: both may
// succeed if tried again.
var errPartitionUnavailable = sqlstate.New(sqlstate.SerializationFailure, "engine: no caught-up copy of the partition")

// errNotInternal refuses a node's internal request from another user.
var errNotInternal = sqlstate.New(sqlstate.InsufficientPriv, "engine: internal request from a client")

// Forwarding's pacing.
const (
	// pullPage is the rows one forwarded request asks for: the builder's
	// scan reads 256 stored rows per step.
	pullPage = 256
	// copyWait bounds how long one attempt waits for a copy (here or on
	// another node) to catch up before the next copy is tried.
	copyWait = 250 * time.Millisecond
	// retryPause is the pause between rounds over the copies.
	retryPause = 20 * time.Millisecond
)

// pullClustered answers a pull query on a node of a cluster: it waits for
// the table's writers, then scans the table's partitions wherever their
// caught-up copies are.
func (e *Engine) pullClustered(ctx context.Context, plan *planner.Plan, src *catalog.Source, timeout time.Duration) (build.RowIter, error) {
	deadline := time.Now().Add(timeout)
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	// In a cluster a writer that is behind is most often a task moving
	// between nodes (its node died): worth a retry, hence 40001 rather
	// than the single node's 57014.
	timedOut := func() error {
		return errPartitionUnavailable.Errorf("pull query on %s timed out after %s waiting for the queries that write the table to catch up with acknowledged writes (a task may be moving between nodes, or a node that died left a transaction open; retry, or SET '%s' to wait longer)", src.Name, timeout, propPullTimeout)
	}
	if err := e.awaitWriters(wctx, src, map[string]bool{}); err != nil {
		if ctx.Err() == nil && wctx.Err() != nil {
			return nil, timedOut()
		}
		return nil, err
	}
	ends, err := e.writtenEnds(wctx, src.Topic)
	if err != nil {
		if ctx.Err() == nil && wctx.Err() != nil {
			return nil, timedOut()
		}
		return nil, fmt.Errorf("end offsets of %s: %w", src.Topic, err)
	}
	cp := &clusterPull{e: e, src: src, ends: ends, deadline: deadline, timeout: timeout}
	return e.builder.PullFrom(ctx, plan, cp.reader)
}

// clusterPull reads the partitions of one table for one pull query. It is
// used from the goroutine that reads the query's rows.
type clusterPull struct {
	e   *Engine
	src *catalog.Source
	// ends are the table topic's end offsets when the query began, after
	// its writers caught up: what every copy read must have consumed.
	ends []int64
	// deadline bounds the first read's wait for a copy, sharing the
	// query's timeout with the wait for its writers; each later read (a
	// chunk of a partition, which a client reading through a cursor may
	// ask for long after the query began) may wait one whole timeout
	// again. So no single wait is longer than the timeout, and a slow
	// reader is not failed for being slow.
	deadline time.Time
	timeout  time.Duration
	// began is set once the first read has begun.
	began bool
	// group is the table group's last description; nil until needed,
	// and described again after a round in which no copy answered.
	group *groupState
}

func (cp *clusterPull) reader(part int32) build.PartitionReader {
	return &partitionReader{cp: cp, part: part}
}

// partitionReader reads one partition of the table for the query.
type partitionReader struct {
	cp   *clusterPull
	part int32
}

// Scan implements build.PartitionReader: this node's copy if it has
// caught up, else another node's, until the query's deadline.
func (r *partitionReader) Scan(ctx context.Context, start, end []byte, fn func(key, value []byte) bool) error {
	cp, e := r.cp, r.cp.e
	if cp.began {
		cp.deadline = time.Now().Add(cp.timeout)
	}
	cp.began = true
	ctx, cancel := context.WithDeadline(ctx, cp.deadline)
	defer cancel()
	var need int64
	if int(r.part) < len(cp.ends) {
		need = cp.ends[r.part]
	}
	// from is where the next attempt starts: after the last row handed
	// to fn, if an attempt fails midway.
	from := start
	var last error
	for round := 0; ; round++ {
		wait := min(copyWait, time.Until(cp.deadline))
		store, err := e.awaitCopy(ctx, cp.src, r.part, need, wait)
		if err == nil {
			return e.state.Reader(store).Scan(from, end, fn)
		}
		if ctx.Err() != nil {
			return cp.expired(ctx, r.part, last)
		}
		if !errors.Is(err, errPartitionUnavailable) && !errors.Is(err, errNoCopyHere) {
			return err
		}
		if !errors.Is(err, errNoCopyHere) {
			last = err
		}
		done, next, err := cp.scanRemote(ctx, r.part, from, end, need, round > 0, fn)
		if done {
			return err
		}
		from = next
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return cp.expired(ctx, r.part, last)
		case <-time.After(retryPause):
		}
	}
}

// expired is the error of a partition read whose ctx ended: the query's
// retryable timeout when its deadline passed, else the cancellation.
func (cp *clusterPull) expired(ctx context.Context, part int32, last error) error {
	if time.Now().Before(cp.deadline) {
		return ctx.Err()
	}
	why := ""
	if last != nil {
		why = "; last: " + last.Error()
	}
	return errPartitionUnavailable.Errorf("pull query on %s: no copy of partition %d caught up with the writes acknowledged before the query within %s (the partition may be moving between nodes, or a node that died left a transaction open before them; retry, or SET '%s' to wait longer)%s",
		cp.src.Name, part, cp.timeout, propPullTimeout, why)
}

// scanRemote reads the partition from the other nodes that may hold a
// copy: its owner first, then its standbys, then the table group's other
// members. done is true when the scan ended (err is then its result);
// otherwise no node could serve and next is where to start again.
func (cp *clusterPull) scanRemote(ctx context.Context, part int32, from, end []byte, need int64, refresh bool, fn func(k, v []byte) bool) (done bool, next []byte, err error) {
	e := cp.e
	if cp.group == nil || refresh {
		states, err := e.groupStates(ctx, materializerID(cp.src))
		if err != nil {
			return false, from, err
		}
		cp.group = states[materializerID(cp.src)]
	}
	var lastErr error
	for _, n := range cp.candidates(part) {
		for {
			// The deadline may have passed since ctx was last checked: a
			// peer asked to wait no time answers from its copy as it is,
			// or that it is behind, and the caller then reports 40001.
			wait := max(0, min(copyWait, time.Until(cp.deadline)))
			req := peer.ScanRequest{Table: cp.src.Name, Seq: cp.src.Seq, Partition: part, Start: from, End: end,
				MinOffset: need, Limit: pullPage, WaitMs: wait.Milliseconds()}
			var lastKey []byte
			stopped := false
			rows, err := e.peers.Scan(ctx, n.Addr, req, func(k, v []byte) bool {
				lastKey = append(lastKey[:0], k...)
				if !fn(k, v) {
					stopped = true
					return false
				}
				return true
			})
			if lastKey != nil {
				from = append(lastKey, 0)
			}
			switch {
			case err != nil && !peer.Retryable(err):
				return true, nil, fmt.Errorf("pull query on %s: partition %d from node %s: %w", cp.src.Name, part, n.ID, err)
			case err != nil:
				lastErr = fmt.Errorf("node %s: %w", n.ID, err)
			case stopped || rows < pullPage:
				return true, nil, nil
			default:
				// A full page: the next one starts after its last key.
				continue
			}
			break
		}
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("no node holds a copy of partition %d", part)
	}
	return false, from, lastErr
}

// candidates are the other nodes to ask for a partition, in order: its
// owner, its standbys, then the group's other members (a copy that has
// just stopped being wanted, or a rebalance under way).
func (cp *clusterPull) candidates(part int32) []nodeInfo {
	g := cp.group
	if g == nil {
		return nil
	}
	self := cp.e.opts.NodeID
	byID := map[string]nodeInfo{}
	for _, m := range g.members {
		byID[m.ID] = m
	}
	var order []string
	tp := log.TopicPartition{Topic: cp.src.Topic, Partition: part}
	if owner, ok := g.owners[tp]; ok {
		byID[owner.ID] = owner
		order = append(order, owner.ID)
		order = append(order, g.warmStandbys(tp, cp.e.opts.StandbyReplicas)...)
	}
	order = append(order, g.memberIDs()...)
	seen := map[string]bool{self: true}
	var out []nodeInfo
	for _, id := range order {
		if n, ok := byID[id]; ok && !seen[id] && n.Addr != "" {
			seen[id] = true
			out = append(out, n)
		}
	}
	return out
}

// errNoCopyHere is awaitCopy's answer when this node runs no copy of the
// partition at all (as opposed to one that is behind): retryable too.
var errNoCopyHere = sqlstate.New(sqlstate.SerializationFailure, "engine: no copy of the partition on this node")

// awaitCopy waits up to wait for this node's copy of partition part of
// src to have consumed its topic up to need, and returns the store to
// read. It fails at once with errNoCopyHere when there is no copy here,
// and with errPartitionUnavailable after wait when the copy is behind.
func (e *Engine) awaitCopy(ctx context.Context, src *catalog.Source, part int32, need int64, wait time.Duration) (string, error) {
	e.mu.Lock()
	rq := e.mu.materialized[src.Name]
	e.mu.Unlock()
	if rq == nil || rq.q.ID != e.materializerIDOn(src) {
		return "", errNoCopyHere.Errorf("table %s is not materialized on node %s", src.Name, e.opts.NodeID)
	}
	tp := log.TopicPartition{Topic: src.Topic, Partition: part}
	var t *operators.Task
	if rq.cluster != nil {
		if ts := rq.cluster.byInput[tp]; len(ts) > 0 {
			t = ts[0]
		}
	} else if int(part) < len(rq.tasks) {
		t = rq.tasks[part]
	}
	if t == nil {
		return "", errNoCopyHere.Errorf("table %s has no partition %d on node %s", src.Name, part, e.opts.NodeID)
	}
	timer := time.NewTimer(max(wait, 0))
	defer timer.Stop()
	for {
		if rq.cluster != nil && !rq.cluster.ready(t) {
			return "", errNoCopyHere.Errorf("node %s holds no running copy of partition %d of %s", e.opts.NodeID, part, src.Name)
		}
		if off, ok := t.CommittedAt(tp); ok && off >= need {
			return build.MaterializedStore(rq.q.ID, part), nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-timer.C:
			off, _ := t.CommittedAt(tp)
			return "", errPartitionUnavailable.Errorf("node %s's copy of partition %d of %s is at offset %d, behind %d", e.opts.NodeID, part, src.Name, off, need)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// internalStatement answers a node's internal request (peer.ScanPrefix,
// peer.StandbysRequest);
// ok is false for any other text. Only the cluster's internal user may
// send one.
func (s *session) internalStatement(text string) (st server.Statement, ok bool, err error) {
	standbys := peer.IsStandbys(text)
	if !standbys && !strings.HasPrefix(strings.TrimSpace(text), peer.ScanPrefix) {
		return nil, false, nil
	}
	e := s.e
	if !e.clustered() || s.user != e.opts.ClusterUser {
		return nil, true, errNotInternal.Errorf("only the cluster's internal user (%s) may send a node's internal requests", e.opts.ClusterUser)
	}
	if standbys {
		return &statement{cols: standbyCheckpointColumns, exec: func(ctx context.Context, _ []types.Value) (server.Result, error) {
			return server.Result{Tag: "SELECT", Rows: &sliceIter{rows: e.serveStandbys()}}, nil
		}}, true, nil
	}
	req, _, err := peer.ParseScan(text)
	if err != nil {
		return nil, true, errProtocol.Errorf("%v", err)
	}
	cols := []types.Column{{Name: "key", Type: types.Bytes}, {Name: "value", Type: types.Bytes}}
	return &statement{cols: cols, exec: func(ctx context.Context, _ []types.Value) (server.Result, error) {
		rows, err := e.serveScan(ctx, req)
		if err != nil {
			return server.Result{}, err
		}
		return server.Result{Tag: "SELECT", Rows: &sliceIter{rows: rows}}, nil
	}}, true, nil
}

// serveScan answers another node's scan of a partition this node holds a
// copy of, once the copy has caught up with the request's offset: at most
// req.Limit stored rows from req.Start.
func (e *Engine) serveScan(ctx context.Context, req peer.ScanRequest) ([]types.Row, error) {
	src, err := e.cat.Source(req.Table)
	if err != nil || src.Seq != req.Seq || src.Kind != catalog.KindTable {
		// The catalog tail here may not have reached the table yet.
		return nil, errPartitionUnavailable.Errorf("table %s (catalog sequence %d) is not known on node %s", req.Table, req.Seq, e.opts.NodeID)
	}
	store, err := e.awaitCopy(ctx, src, req.Partition, req.MinOffset, time.Duration(req.WaitMs)*time.Millisecond)
	if err != nil {
		return nil, err
	}
	rows := make([]types.Row, 0, min(req.Limit, 64))
	var end []byte
	if len(req.End) > 0 {
		end = req.End
	}
	err = e.state.Reader(store).Scan(req.Start, end, func(k, v []byte) bool {
		// NewBytes copies: the slices are the scan's.
		rows = append(rows, types.Row{types.NewBytes(k), types.NewBytes(v)})
		return len(rows) < req.Limit
	})
	if err != nil {
		return nil, fmt.Errorf("scan partition %d of %s: %w", req.Partition, src.Name, err)
	}
	e.logger.Debug("served a forwarded scan", "table", src.Name, "partition", req.Partition, "rows", len(rows), "min_offset", req.MinOffset)
	return rows, nil
}
