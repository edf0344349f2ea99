package operators

import (
	"encoding/binary"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/log/embedded"
)

// mergingTally is a tally that merges a commit's changes, as an
// aggregation's emit cache does: it counts its input records by key in
// its store, and at the flush emits each changed key's count once.
type mergingTally struct {
	tally
	changed map[string]bool
}

var _ commitMerger = (*mergingTally)(nil)

func (p *mergingTally) mergesCommit() bool { return true }

func (p *mergingTally) Process(rec *log.Record, _ Emit) error {
	if p.changed == nil {
		p.changed = map[string]bool{}
	}
	p.changed[string(rec.Key)] = true
	return p.tally.Process(rec, func(log.ProduceRecord) {})
}

func (p *mergingTally) Flush(emit Emit) error {
	keys := make([]string, 0, len(p.changed))
	for k := range p.changed {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, _, err := p.store.Get([]byte(k))
		if err != nil {
			return err
		}
		emit(log.ProduceRecord{Topic: "out", Record: log.Record{Key: []byte(k), Value: v, Partition: 0}})
	}
	clear(p.changed)
	return nil
}

// Recover forgets the changes of a batch that failed to commit.
func (p *mergingTally) Recover() { clear(p.changed) }

// newLingerRig is a batch rig whose task merges its commits' changes,
// read into a commit within bounds, and whose input is written by an
// upstream stage (group "up" reading topic "src") that is behind: "src"
// holds a commit's worth of records "up" has not consumed.
func newLingerRig(t *testing.T, opts embedded.Options, bounds lingerBounds) *batchRig {
	r := newBatchRig(t, opts, 0)
	r.task.Processor = &mergingTally{tally: *r.task.Processor.(*tally)}
	r.task.lingerFor = bounds
	if err := r.log.CreateTopic(r.ctx, "src", log.TopicConfig{Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	// Behind by the lag from which the task lingers.
	backlog := make([]log.Record, bounds.orDefaults().behind)
	for i := range backlog {
		backlog[i] = log.Record{Key: []byte("s"), Value: []byte("v"), Partition: 0}
	}
	if _, err := r.log.Append(r.ctx, "src", backlog); err != nil {
		t.Fatal(err)
	}
	r.backlog = int64(len(backlog))
	r.task.Upstream = []*MergeUpstream{{Group: "up", Topic: "src"}}
	return r
}

// upstreamCaughtUp commits the upstream stage's offsets to the end of
// its input.
func (r *batchRig) upstreamCaughtUp() { r.upstreamAt(r.backlog) }

// upstreamAt commits the upstream stage's offset in its input at off.
func (r *batchRig) upstreamAt(off int64) {
	r.t.Helper()
	if err := r.log.CommitOffsets(r.ctx, "up", map[log.TopicPartition]int64{{Topic: "src"}: off}); err != nil {
		r.t.Fatal(err)
	}
}

// outCounts reads the n records of "out" and returns, per key, the counts
// its records carried, in order.
func (r *batchRig) outCounts(n int) map[string][]uint64 {
	r.t.Helper()
	rd, err := r.log.NewReader(r.ctx, log.TopicPartition{Topic: "out"}, 0)
	if err != nil {
		r.t.Fatal(err)
	}
	defer rd.Close()
	got := map[string][]uint64{}
	for read := 0; read < n; {
		recs, err := rd.Next(r.ctx)
		if err != nil {
			r.t.Fatalf("read out after %d of %d records: %v", read, n, err)
		}
		for _, rec := range recs {
			got[string(rec.Key)] = append(got[string(rec.Key)], binary.BigEndian.Uint64(rec.Value))
		}
		read += len(recs)
	}
	if lag := rd.(log.LagReader).Lag(); lag != 0 {
		r.t.Fatalf("out holds %d records more than the %d expected", lag, n)
	}
	return got
}

// wantCounts fails unless every one of keys keys k0... has the counts
// want in got.
func wantCounts(t *testing.T, got map[string][]uint64, keys int, want ...uint64) {
	t.Helper()
	if len(got) != keys {
		t.Errorf("%d keys in the output, want %d", len(got), keys)
	}
	for i := range keys {
		k := fmt.Sprintf("k%d", i)
		if fmt.Sprint(got[k]) != fmt.Sprint(want) {
			t.Errorf("key %s: counts %v, want %v", k, got[k], want)
		}
	}
}

// twoArrivalsTwoCommits runs the task, appends 10 records (one per key)
// and waits for their commit, then 10 more: each arrival must be a commit
// of its own, every key's counts 1 then 2. what names the arrivals.
func (r *batchRig) twoArrivalsTwoCommits(what string) {
	r.t.Helper()
	defer r.run()()
	r.append(10)
	r.waitCommitted(10)
	r.append(10)
	r.waitCommitted(20)
	if commits := r.log.taken(); len(commits) != 2 {
		r.t.Errorf("%d commits of %s; want 2", len(commits), what)
	}
	wantCounts(r.t, r.outCounts(20), 10, 1, 2)
}

// TestMergingTaskCommitsArrivalsTogether: a task whose processor merges
// a commit's changes goes on reading into the commit after its reader
// has caught up, while its upstream stage is behind, so two arrivals
// within its bounds are one commit, and each key changed by both is one
// change: the count 2, never 1.
func TestMergingTaskCommitsArrivalsTogether(t *testing.T) {
	r := newLingerRig(t, embedded.Options{}, lingerBounds{interval: time.Hour, records: 20})
	defer r.run()()
	r.append(10)
	// Time for the task to read the first arrival on its own.
	time.Sleep(20 * time.Millisecond)
	r.append(10)
	r.waitCommitted(20)
	if commits := r.log.taken(); len(commits) != 1 || commits[0].records != 10 {
		t.Errorf("commits %+v; want one of 10 changes", commits)
	}
	wantCounts(t, r.outCounts(10), 10, 2)
}

// TestMergingTaskCommitsAfterInterval: a task whose input stops arriving
// commits what it read once the interval has passed; what arrives after
// is the next commit's.
func TestMergingTaskCommitsAfterInterval(t *testing.T) {
	r := newLingerRig(t, embedded.Options{}, lingerBounds{interval: 20 * time.Millisecond})
	r.twoArrivalsTwoCommits("two arrivals an interval apart")
}

// TestMergingTaskBehindCommitsFullBatches: a reader that is behind
// returns full batches, which fill a commit's bound at once: 1,000
// records waiting, read 100 at a time with a bound of 100 records, are
// 10 commits, however long the interval.
func TestMergingTaskBehindCommitsFullBatches(t *testing.T) {
	r := newLingerRig(t, embedded.Options{ReadBatch: 100}, lingerBounds{interval: time.Hour, records: 100})
	r.append(1000)
	defer r.run()()
	r.waitCommitted(1000)
	if commits := r.log.taken(); len(commits) != 10 {
		t.Errorf("%d commits of 1,000 records in full batches of 100; want 10", len(commits))
	}
	// Each batch of 100 records holds every key 10 times.
	counts := make([]uint64, 10)
	for i := range counts {
		counts[i] = uint64(10 * (i + 1))
	}
	wantCounts(t, r.outCounts(100), 10, counts...)
}

// TestMergingTaskLingerBoundedByBytes: the input bytes of a commit bound
// it as its records do: records of 3 bytes (key "k0", value "v") with a
// bound of 30 bytes commit at ten records, however long the interval.
func TestMergingTaskLingerBoundedByBytes(t *testing.T) {
	r := newLingerRig(t, embedded.Options{}, lingerBounds{interval: time.Hour, bytes: 30})
	r.twoArrivalsTwoCommits("two arrivals of 30 bytes")
}

// TestMergingTaskStopsWhileLingering: a task stopped while it waits for
// more of its commit returns without committing; started again, it
// reads the uncommitted records again, and each is counted once.
func TestMergingTaskStopsWhileLingering(t *testing.T) {
	r := newLingerRig(t, embedded.Options{}, lingerBounds{interval: time.Hour})
	stop := r.run()
	r.append(10)
	time.Sleep(20 * time.Millisecond)
	stop() // returns: the wait ends with Run's context
	if commits := r.log.taken(); len(commits) != 0 {
		t.Fatalf("%d commits while lingering within the hour; want none", len(commits))
	}
	if off, _ := r.task.Committed(); off != 0 {
		t.Fatalf("committed offset %d before any commit", off)
	}
	// Started again, as after a restart: the store and the processor
	// hold nothing of the attempt that was stopped.
	if err := r.task.Store.Recover(r.ctx); err != nil {
		t.Fatal(err)
	}
	r.task.Processor.(Recoverable).Recover()
	r.task.lingerFor = lingerBounds{interval: 20 * time.Millisecond}
	defer r.run()()
	r.waitCommitted(10)
	wantCounts(t, r.outCounts(10), 10, 1)
}

// TestMergingTaskCommitsAtOnceWhenUpstreamCaughtUp: with its upstream
// stage at the end of its input (the tail of a live stream), a merging
// task commits each arrival at once, however long its interval.
func TestMergingTaskCommitsAtOnceWhenUpstreamCaughtUp(t *testing.T) {
	r := newLingerRig(t, embedded.Options{}, lingerBounds{interval: time.Hour})
	r.upstreamCaughtUp()
	r.twoArrivalsTwoCommits("two arrivals")
}

// TestMergingTaskLingersPastUpstreamLag: the lag from which the upstream
// stage counts as behind is not the commit's bound: behind by 10 records,
// with a bound of 30, three arrivals of 10 are one commit, every key's
// count 3.
func TestMergingTaskLingersPastUpstreamLag(t *testing.T) {
	r := newLingerRig(t, embedded.Options{}, lingerBounds{interval: time.Hour, records: 30, behind: 10})
	defer r.run()()
	for range 3 {
		r.append(10)
		// Time for the task to read each arrival on its own.
		time.Sleep(20 * time.Millisecond)
	}
	r.waitCommitted(30)
	if commits := r.log.taken(); len(commits) != 1 || commits[0].records != 10 {
		t.Errorf("commits %+v; want one of 10 changes", commits)
	}
	wantCounts(t, r.outCounts(10), 10, 3)
}

// TestMergingTaskCommitsAtOnceBelowUpstreamLag: an upstream stage behind
// by less than the lag that counts (9 records of 10) is at the tail of
// its input: each arrival is a commit of its own.
func TestMergingTaskCommitsAtOnceBelowUpstreamLag(t *testing.T) {
	r := newLingerRig(t, embedded.Options{}, lingerBounds{interval: time.Hour, records: 30, behind: 10})
	r.upstreamAt(1)
	r.twoArrivalsTwoCommits("two arrivals, the upstream 9 records behind")
}

// TestMergingTaskReadsItsBacklogIntoCommit: records already in a merging
// task's input are read into its commit up to the bound, whether or not
// its upstream stage is behind and however short the interval: they
// cost no wait. 1,000 records waiting, read 100 at a time with a bound of
// 400, the upstream caught up, are three commits (400, 400, 200), not
// ten; every key's counts 40, 80, 100.
func TestMergingTaskReadsItsBacklogIntoCommit(t *testing.T) {
	r := newLingerRig(t, embedded.Options{ReadBatch: 100}, lingerBounds{interval: time.Nanosecond, records: 400})
	r.upstreamCaughtUp()
	r.append(1000)
	defer r.run()()
	r.waitCommitted(1000)
	if commits := r.log.taken(); len(commits) != 3 {
		t.Errorf("%d commits of 1,000 records waiting, with a bound of 400; want 3", len(commits))
	}
	wantCounts(t, r.outCounts(30), 10, 40, 80, 100)
}
