package operators

import (
	"context"
	"fmt"
	"time"

	"github.com/runnel/runnel/internal/invariants"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/window"
)

// A task whose processor merges what a commit changes (an aggregation
// with its emit cache on sends one change per group it changed, at the
// flush before the commit) goes on reading into the same commit, when
// it has read less than a full batch, while the query's earlier stage
// that writes its input (Task.Upstream: an aggregation's first stage,
// which repartitions) is behind its own input by a batch or more, for up
// to an interval.
// Kafka Streams forwards a cached aggregation's changes at its commits,
// every commit.interval.ms (2,000 ms as ksqlDB sets it); here the wait
// ends as soon as the upstream stage has caught up, so that at the tail
// of a live stream a task commits what it has at once, as before.
//
// Without it, such a task that keeps up with its upstream stage commits
// each arrival on its own, and an arrival is one upstream task's commit:
// a table aggregation fed through a repartition of four partitions saw a
// group's partials in about four arrivals, one from each upstream task,
// and sent about four changes per group however large the read batches
// were (Nexmark's q5 counts: 1.25 million changes for 304,000 groups,
// each of which costs the stages after it state writes and compactions;
// BENCHMARKS.md).
//
// A task whose own reader is behind reads what its input already holds
// into the commit, up to the bounds below, whatever its upstream stage
// and the interval: it waits for none of it, and what it left would be
// the next commit's. It used to commit each read batch on its own, as
// before the linger: q5's windows stage, once the bids' stage had read
// every bid, had the rest of its input waiting and committed 32,768
// partials at a time, fewer than a window's, so that how many changes
// it sent (416,000 to 571,000 for 304,000 groups) followed how far the
// bids' stage ran ahead of it; and the interval, which on a loaded
// machine a commit's processing alone could outlast, cut commits short
// by the machine's load. Read on, 401,000 and 416,000 in two runs
// (BENCHMARKS.md).
//
// The wait is bounded by time, records and input bytes: a commit holds
// at most eight of the embedded log's read batches (Options.ReadBatch
// and ReadBatchBytes) and one more, the last read taking it past the
// bounds at most once. Four, not one: q5's counts are windows of 10 s,
// about 44,000 of a task's partials each, and with a commit of one read
// batch a group's updates spanned two or three commits, each sending its
// change on to the three stages after it (784,000 changes for 304,000
// groups); with four, 537,000 (BENCHMARKS.md). Eight, not four, once a
// task behind reads its backlog into the commit: the counts' stage sent
// 343,000 and 345,000 changes where it sent 386,000 and 378,000, and q5
// took 13.8 and 12.5 CPU seconds where it took 14.9 and 14.1 (load 7-8).
// Since a group cache's rotation emits only the groups it forgets, a
// longer commit no longer sends every pending change at each rotation
// within it.
//
// The upstream stage counts as behind from one read batch of lag
// (lingerBehind), whatever the commit's bound: at the tail of a live
// stream it has a few records in flight, which are no backlog.
const (
	lingerInterval = time.Second
	lingerRecords  = 8 * 32768
	lingerBytes    = 8 * 4 << 20
	lingerBehind   = 32768
)

// lingerBounds bound what a merging task reads into one commit, and say
// from what lag its upstream stage is behind; the zero value is the
// defaults above. Tests set their own.
type lingerBounds struct {
	interval time.Duration
	records  int
	bytes    int
	// behind is the upstream stage's lag, in records, from which the
	// task lingers; by default lingerBehind, or records when that is
	// less (a test's small commit).
	behind int
}

func (l lingerBounds) orDefaults() lingerBounds {
	if l.interval <= 0 {
		l.interval = lingerInterval
	}
	if l.records <= 0 {
		l.records = lingerRecords
	}
	if l.bytes <= 0 {
		l.bytes = lingerBytes
	}
	if l.behind <= 0 {
		l.behind = min(l.records, lingerBehind)
	}
	return l
}

// commitMerger is implemented by a processor whose output merges the
// changes of a commit's records, so that reading more records into a
// commit sends fewer changes downstream.
type commitMerger interface {
	mergesCommit() bool
}

var _ commitMerger = (*Aggregator)(nil)

// mergesCommit implements commitMerger: the emit cache is on and its
// changes wait for the flush. An EMIT FINAL window emits when it closes
// whatever the commits, and session windows are left as they were (their
// merging, aggsession.go, was not measured with it).
func (a *Aggregator) mergesCommit() bool {
	w := a.Spec.Window
	if a.EmitCacheBytes <= 0 || (w != nil && (a.Spec.Final || w.Kind == window.Session)) {
		return false
	}
	return true
}

// lingers reports whether the task reads on into a commit (commitMerger).
func (t *Task) lingers() bool {
	m, ok := t.Processor.(commitMerger)
	return ok && m.mergesCommit()
}

// linger reads r on into batch b, whose first read was recs, while r
// has records waiting or the upstream stage is behind (looked at again
// every upstreamPoll), until the commit holds lingerBounds' records or
// bytes of input, or, waiting, its interval has passed since that read
// returned. prev is the reader's
// position before each read (invariants), moved with it. It returns the
// last batch it read (recs when it read none): a processor that drops
// its input (inputDropper) has had each batch before it handed back to
// the reader already. An ended ctx ends it with ctx's error; the caller
// then commits nothing.
func (t *Task) linger(ctx context.Context, r log.Reader, b *batch, recs []log.Record, prev *int64) ([]log.Record, error) {
	var rc log.Recycler
	if p, ok := t.Processor.(inputDropper); ok && p.dropsInput() {
		rc, _ = r.(log.Recycler)
	}
	bounds := t.lingerFor.orDefaults()
	in := t.Inputs[0]
	n, size := len(recs), 0
	for i := range recs {
		size += len(recs[i].Key) + len(recs[i].Value)
	}
	lagger, _ := r.(log.LagReader)
	deadline := time.Now().Add(bounds.interval)
	for n < bounds.records && size < bounds.bytes {
		// Records already in the input are read into the commit at
		// once, whatever the interval: they would be the next commit's
		// otherwise, and the task, behind, commits nothing sooner for
		// leaving them. Then, only while the query's earlier stage is
		// behind its input, and until the interval is over: more is
		// then on its way, and a task at the tail of a live stream
		// commits what it has at once.
		now := time.Now()
		ready := lagger != nil && lagger.Lag() > 0
		if !ready {
			behind, err := t.upstreamBehind(ctx)
			if err != nil || !behind {
				return recs, err
			}
			if !now.Before(deadline) {
				return recs, nil
			}
		}
		wait := now.Add(upstreamPoll)
		if !ready && deadline.Before(wait) {
			wait = deadline
		}
		if rc != nil && len(recs) > 0 {
			// Processed, and nothing of it kept: the next read may
			// write over it. Not to be handed back twice.
			rc.Recycle(recs)
			recs = nil
		}
		wctx, cancel := context.WithDeadline(ctx, wait)
		more, err := r.Next(wctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return recs, ctx.Err()
			}
			if wctx.Err() != nil {
				continue // a look at the upstream again, or the interval is over
			}
			return recs, fmt.Errorf("task %s/%d: read: %w", t.Group, in.Partition, err)
		}
		if invariants.Enabled {
			checkBatch(in, more, *prev, r.Position())
		}
		*prev = r.Position()
		b.txn.Offsets[in] = r.Position()
		for i := range more {
			size += len(more[i].Key) + len(more[i].Value)
			b.process(0, &more[i])
		}
		n += len(more)
		recs = more
	}
	return recs, nil
}

// upstreamBehind reports whether the stage of the same query that writes
// the task's input (Upstream) is behind its own input by at least
// lingerBounds' behind records; false when the task has no such stage.
func (t *Task) upstreamBehind(ctx context.Context) (bool, error) {
	if len(t.Upstream) == 0 || t.Upstream[0] == nil {
		return false, nil
	}
	up := t.Upstream[0]
	ends, err := t.Log.EndOffsets(ctx, up.Topic)
	if err != nil {
		return false, fmt.Errorf("task %s %s: end offsets of %s: %w", t.Group, t, up.Topic, err)
	}
	committed, err := t.Log.CommittedOffsets(ctx, up.Group, up.Topic)
	if err != nil {
		return false, fmt.Errorf("task %s %s: committed offsets of %s: %w", t.Group, t, up.Topic, err)
	}
	// Behind by a read batch at least: at the tail of a live stream the
	// stage always has a few records in flight, which are no backlog.
	lag := int64(0)
	for p, e := range ends {
		lag += max(e-committed[int32(p)], 0)
	}
	return lag >= int64(t.lingerFor.orDefaults().behind), nil
}
