package operators

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/runnel/runnel/internal/invariants"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/operators/window"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// Failure describes an input record a query had to skip.
type Failure struct {
	QueryID string
	Record  log.Record
	Topic   string
	Err     error
}

// FailureSink turns a failure into a record for the processing log, or
// returns ok == false to record nothing.
type FailureSink func(f Failure) (rec log.ProduceRecord, ok bool)

// Emit hands an output record to the task's transaction.
type Emit func(log.ProduceRecord)

// Processor is the per-record work of one task: a stateless pipeline, a
// repartition step, an aggregation. A processor is owned by its task's
// goroutine.
type Processor interface {
	// Process handles one input record and emits its output records. An
	// error skips the record (it is counted and reported); the task goes on.
	Process(rec *log.Record, emit Emit) error
	// Flush runs after every batch, before the commit: window closing for
	// EMIT FINAL, expiry of old state.
	Flush(emit Emit) error
}

// InputProcessor is the Processor of a task with several inputs (a
// join): it learns which of the task's Inputs each record came from.
type InputProcessor interface {
	Processor
	// ProcessInput is Process for a record of Inputs[input].
	ProcessInput(input int, rec *log.Record, emit Emit) error
}

// Task runs one input partition of a persistent query — or, for a join,
// partition p of each of its co-partitioned input topics: it reads from
// the group's committed offsets, runs every record through its processor,
// and commits each batch's output records, processing-log records, state
// changes and next input offsets in one log transaction. A crash between
// two commits replays the uncommitted batch, whose output and state were
// never made visible, so nothing is lost or repeated.
//
// A task of several inputs merges them in event-time order (merge.go), so
// that a replay processes their records in the order the first run did.
type Task struct {
	Log log.Log
	// Group is the consumer group whose offsets the task commits.
	Group   string
	QueryID string
	// Inputs are the partitions the task reads: one for most stages; a
	// join stage reads the same partition of each of its topics. With
	// several, the Processor must be an InputProcessor, and ties of the
	// merge go to the input listed first.
	Inputs []log.TopicPartition
	// Time gives a record's event time for the merge of several inputs,
	// per input; a nil entry (or a nil Time) reads the record's timestamp.
	// A source whose event time is a column (TIMESTAMP=) needs one.
	Time []func(*log.Record) int64
	// Upstream names, per input, the stage of the same query that writes
	// it (a repartition topic), for the merge of several inputs to wait
	// for (MergeInput.Upstream); a nil entry (or a nil Upstream): none.
	// A task of one input whose processor merges its commits waits for
	// more of a commit only while its Upstream is behind (task_linger.go).
	Upstream  []*MergeUpstream
	Processor Processor
	// Store is the task's state store; nil for a stateless task.
	Store *state.TaskStore
	// OnFailure reports skipped records; nil only counts them.
	OnFailure FailureSink
	Metrics   *Metrics
	Logger    *slog.Logger

	// committed holds, per input, the input offset of the task's last
	// successful commit, valid once started is set: what a pull query
	// waits on. It moves only after the log's Commit returns, when the
	// commit's output is visible. Run makes it.
	committed []atomic.Int64
	started   atomic.Bool
	// failing is the error the task is retrying after; nil while it works.
	failing atomic.Pointer[error]
	// pausedLogged is when Run last logged that the task is paused for a
	// full disk; owned by Run's goroutine.
	pausedLogged time.Time
	// lingerFor bounds what a task whose processor merges a commit's
	// changes reads into one commit (task_linger.go); zero: the
	// defaults. Tests set it.
	lingerFor lingerBounds
	// mergeFor bounds a commit of a task of several inputs (merge.go);
	// zero: the defaults. Tests set it.
	mergeFor mergeBounds
}

// Committed is the offset of its first input up to which the task has
// committed its work, output included; ok is false before the task has
// started.
func (t *Task) Committed() (offset int64, ok bool) {
	if len(t.Inputs) == 0 {
		return 0, false
	}
	return t.CommittedAt(t.Inputs[0])
}

// CommittedAt is Committed for one of the task's inputs; ok is false
// before the task has started or when tp is not one of its inputs.
func (t *Task) CommittedAt(tp log.TopicPartition) (offset int64, ok bool) {
	if !t.started.Load() {
		return 0, false
	}
	for i, in := range t.Inputs {
		if in == tp {
			return t.committed[i].Load(), true
		}
	}
	return 0, false
}

// String names the task in messages: its input topics and partition.
func (t *Task) String() string {
	if len(t.Inputs) == 0 {
		return t.Group
	}
	return fmt.Sprintf("%s/%d", t.Stage(), t.Inputs[0].Partition)
}

// Stage names the topics the task reads (its group when it reads none),
// which the tasks of one stage of a query share, whatever their
// partition.
func (t *Task) Stage() string {
	if len(t.Inputs) == 0 {
		return t.Group
	}
	topics := make([]string, 0, len(t.Inputs))
	for _, in := range t.Inputs {
		// A task may read several partitions of a topic: named once.
		if !slices.Contains(topics, in.Topic) {
			topics = append(topics, in.Topic)
		}
	}
	return strings.Join(topics, "+")
}

// Recoverable is implemented by processors that keep state in memory
// beside their store (an aggregator's stream time): Recover forgets it, so
// that it is read again from the store after a failed commit.
type Recoverable interface {
	Recover()
}

// Retry bounds: a failing task retries from its last commit after
// minRetry, doubling up to maxRetry.
const (
	minRetry = 100 * time.Millisecond
	maxRetry = 30 * time.Second
)

// A task whose commit is refused for lack of disk space (log.ErrDiskFull)
// is paused, not failing: it tries again every pausedRetry, without
// backing off, so that it resumes within that time once space returns,
// and logs that it is paused once per pausedLogEvery, not per try. Its
// refused commit wrote nothing, so resuming from the last commit loses and
// repeats nothing.
const (
	pausedRetry    = time.Second
	pausedLogEvery = time.Minute
)

// Run processes records until ctx is done, and returns nil then. A failure
// of the log (a read, a commit) does not end it: the task goes back to its
// last commit — its store's pending writes dropped, its processor's memory
// reset, its reader reopened at the committed offsets — and retries after
// a backoff. While it fails, Failing reports why.
//
// A panic never leaves Run. One while processing a record skips that
// record like an error would (see process); one anywhere else (Flush, the
// state store, a commit) fails the attempt, which is retried as above.
func (t *Task) Run(ctx context.Context) error {
	if len(t.Inputs) == 0 {
		return fmt.Errorf("task %s: no inputs", t.Group)
	}
	if _, ok := t.Processor.(InputProcessor); len(t.Inputs) > 1 && !ok {
		return fmt.Errorf("task %s: %d inputs, but %T does not tell inputs apart", t, len(t.Inputs), t.Processor)
	}
	if t.committed == nil {
		t.committed = make([]atomic.Int64, len(t.Inputs))
	}
	// A task that stops (its query stops, or in a cluster it moves to
	// another node) is no longer retrying here: its query's status must
	// not keep its last failure.
	defer t.failing.Store(nil)
	wait := minRetry
	for {
		err := t.guard(func() error {
			if len(t.Inputs) > 1 {
				return t.runMerged(ctx)
			}
			return t.run(ctx)
		})
		if err == nil || ctx.Err() != nil {
			return nil
		}
		t.failing.Store(&err)
		delay := wait
		if errors.Is(err, log.ErrDiskFull) {
			delay = pausedRetry
			if now := time.Now(); now.Sub(t.pausedLogged) >= pausedLogEvery {
				t.pausedLogged = now
				t.Logger.Warn("task paused: disk full; it resumes from its last commit when space returns", "query", t.QueryID,
					"task", t.String(), "error", err)
			}
		} else {
			wait = min(2*wait, maxRetry)
			t.Logger.Warn("task failed; retrying from its last commit", "query", t.QueryID, "task", t.String(),
				"in", delay, "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		if t.Store != nil {
			if err := t.guard(func() error { return t.Store.Recover(ctx) }); err != nil {
				t.failing.Store(&err)
				continue
			}
		}
		if r, ok := t.Processor.(Recoverable); ok {
			if err := t.guard(func() error { r.Recover(); return nil }); err != nil {
				t.failing.Store(&err)
				continue
			}
		}
	}
}

// Failing returns the error the task is retrying after, or nil while it
// works.
func (t *Task) Failing() error {
	if p := t.failing.Load(); p != nil {
		return *p
	}
	return nil
}

// PanicError is a panic recovered in a task, as an error: the panic's
// value and the stack where it happened.
type PanicError struct {
	Value any
	Stack []byte
}

func (p *PanicError) Error() string { return fmt.Sprintf("panic: %v", p.Value) }

// recovered turns a recovered panic value into a PanicError. In builds
// with invariants, a violated invariant is not an accident to survive:
// it panics on, so that the test that found it fails.
func recovered(r any) *PanicError {
	if s, ok := r.(string); ok && invariants.Enabled && strings.HasPrefix(s, "invariant:") {
		panic(r)
	}
	return &PanicError{Value: r, Stack: debug.Stack()}
}

// guard runs fn (an attempt, or a step of going back to the last commit)
// with a panic turned into its error, so that Run retries from the last
// commit. The deferred closes of run (the reader) have happened by the
// time the panic reaches here.
func (t *Task) guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			pe := recovered(r)
			t.Logger.Error("task panicked; it goes back to its last commit", "query", t.QueryID, "task", t.String(),
				"panic", pe.Value, "stack", string(pe.Stack))
			err = fmt.Errorf("task %s %s: %w", t.Group, t, pe)
		}
	}()
	return fn()
}

// process runs one record through the processor and turns a panic into
// the record's error, so the record is skipped, counted and reported like
// one that failed to decode. (State the processor wrote before panicking
// stays, as it does when Process returns an error.)
func (t *Task) process(input int, rec *log.Record, emit Emit) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = recovered(r)
		}
	}()
	if len(t.Inputs) > 1 {
		return t.Processor.(InputProcessor).ProcessInput(input, rec, emit)
	}
	return t.Processor.Process(rec, emit)
}

// run is one attempt of a task of one input: from the committed offset
// until ctx ends (nil) or the log fails (the error).
func (t *Task) run(ctx context.Context) error {
	in := t.Inputs[0]
	committed, err := t.Log.CommittedOffsets(ctx, t.Group, in.Topic)
	if err != nil {
		return fmt.Errorf("task %s/%d: committed offsets: %w", t.Group, in.Partition, err)
	}
	r, err := t.Log.NewReader(ctx, in, committed[in.Partition])
	if err != nil {
		return fmt.Errorf("task %s/%d: open reader: %w", t.Group, in.Partition, err)
	}
	defer r.Close()
	prev := committed[in.Partition]
	t.committed[0].Store(prev)
	t.started.Store(true)
	// out is the output records' slice, reused from batch to batch: no
	// log keeps a Txn's slice once Commit returns (the embedded log
	// encodes the records into its batch, Kafka's makes records of its
	// own), and a batch of 4,096 records took a new slice of 400 KB.
	// Cleared after each commit, so that it holds no record's bytes.
	var out []log.ProduceRecord
	// A task without a store commits through the log's AsyncCommitter
	// when it has one: the batch's sync then goes on while the next batch
	// is read and processed, where the task used to wait for it (a
	// quarter of q0's tasks' time and half of the raw copy's, their cores
	// left idle).
	// pending is that commit, finished (waited for, then counted) before
	// the next commit starts, so that batches still commit one at a
	// time and in order; and before the next read unless the task is
	// behind by at least the batch it committed (log.LagReader): a read
	// that may park must not leave the last commit uncounted (a pull
	// query waits on committed), and at the tail, where batches are
	// small, reading the next one early would only hold back what comes
	// after it for one more commit (Nexmark q0 at 10,000 events/s: sink
	// p99 about 40-60 ms waiting, 50-150 ms reading early, on the loaded
	// machine). A task with a store commits its state changes with the
	// batch and waits: its next batch reads the store.
	ac, _ := t.Log.(log.AsyncCommitter)
	if t.Store != nil {
		ac = nil
	}
	lagger, _ := r.(log.LagReader)
	// A task whose processor merges a commit's changes reads on into the
	// commit for a while (task_linger.go); it has a store, so it never
	// commits asynchronously.
	merging := ac == nil && t.lingers()
	var (
		pending *pendingCommit
		last    int64 // the records of the batch pending commits
	)
	defer func() {
		if pending != nil {
			// The attempt is ending (an error, or ctx): the commit's
			// outcome no longer matters to it, but its sync must not
			// outlive the attempt unjoined.
			_ = pending.wait()
		}
	}()
	finish := func() error {
		p := pending
		pending = nil
		return t.finishCommit(ctx, p)
	}
	for {
		if pending != nil && (lagger == nil || lagger.Lag() < max(last, 1)) {
			if err := finish(); err != nil {
				return err
			}
		}
		recs, err := r.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("task %s/%d: read: %w", t.Group, in.Partition, err)
		}
		if invariants.Enabled {
			checkBatch(in, recs, prev, r.Position())
		}
		prev = r.Position()
		// The committed offset is the reader's position, which is past
		// any transaction marker after the last record: a pull query
		// waiting for the task to reach the end offsets must see it get
		// there. A batch of markers only commits just that.
		txn := log.Txn{Group: t.Group, Offsets: map[log.TopicPartition]int64{in: r.Position()}}
		if len(recs) == 0 {
			if pending != nil {
				if err := finish(); err != nil {
					return err
				}
			}
			if err := t.Log.CommitOffsets(ctx, t.Group, txn.Offsets); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("task %s/%d: commit offsets: %w", t.Group, in.Partition, err)
			}
			t.committed[0].Store(r.Position())
			t.resumed()
			continue
		}
		txn.Records = out[:0]
		b := t.newBatch(&txn)
		b.expect = len(recs)
		for i := range recs {
			b.process(0, &recs[i])
		}
		if merging {
			// recs becomes the last batch read into the commit, the one
			// the reader may take back after it.
			if recs, err = t.linger(ctx, r, b, recs, &prev); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
		if pending != nil {
			// The last batch's commit, whose sync went on while this
			// batch was read and processed, is done before this one's
			// starts.
			if err := finish(); err != nil {
				return err
			}
		}
		if ac != nil {
			pending, err = t.commitAsync(ctx, ac, b)
			last = int64(len(recs))
		} else {
			err = t.commit(ctx, b)
		}
		out = txn.Records
		clear(out)
		if err != nil {
			return err
		}
		// The batch is committed, or handed to the log whole: a processor
		// that keeps nothing of its records, and whose output bytes the
		// log no longer holds, lets both be written over by the next
		// batch.
		if p, ok := t.Processor.(batchRecycler); ok && p.recycleBatch() {
			if rr, ok := r.(log.Recycler); ok {
				rr.Recycle(recs)
			}
		}
	}
}

// pendingCommit is a batch handed to the log's AsyncCommitter whose
// commit the task has not yet waited for.
type pendingCommit struct {
	b    *batch
	wait func() error
}

// commitAsync flushes the processor and hands the batch to ac; the
// task's counts and committed offsets move when finishCommit has waited
// for it. A nil pendingCommit with a nil error means ctx ended.
func (t *Task) commitAsync(ctx context.Context, ac log.AsyncCommitter, b *batch) (*pendingCommit, error) {
	if err := t.flush(b); err != nil {
		return nil, err
	}
	wait, err := ac.CommitAsync(ctx, *b.txn)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil
		}
		return nil, fmt.Errorf("task %s %s: commit: %w", t.Group, t, err)
	}
	// The log holds nothing of the Txn now (log.AsyncCommitter): only
	// its offsets, a map of its own, are read again, by finishCommit.
	return &pendingCommit{b: b, wait: wait}, nil
}

// finishCommit waits for p's commit, then moves the task's counts and
// committed offsets as commit does.
func (t *Task) finishCommit(ctx context.Context, p *pendingCommit) error {
	if err := p.wait(); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("task %s %s: commit: %w", t.Group, t, err)
	}
	t.committedBatch(p.b)
	return nil
}

// batchRecycler is implemented by a processor that may keep nothing of a
// batch's input records once the batch is committed (no value that
// aliases their bytes is read again), and whose output records' bytes
// are its own to reuse then (no log keeps a Txn's bytes once Commit
// returns: the embedded log encodes them into its batch, Kafka's has
// sent them). After each commit of a task of one input, the task calls
// recycleBatch, which reuses the processor's output memory, and, if it
// reports true, recycles the batch read (log.Recycler).
type batchRecycler interface {
	recycleBatch() bool
}

// inputDropper is implemented by a processor that keeps nothing of a
// record once its Process returns: no state, cache or output record
// aliases the record's bytes (it copies what it keeps, and emits bytes
// of its own). A task that reads several batches into one commit (a
// lingering aggregation, task_linger.go) hands each back as soon as it
// is processed, so that every read of the commit reuses one batch's
// memory rather than only the commit's last.
type inputDropper interface {
	dropsInput() bool
}

// batch is the work between two commits: the transaction being built and
// what it counts.
type batch struct {
	t        *Task
	txn      *log.Txn
	consumed int
	produced int
	panics   int
	emit     Emit
	// expect is the input records the batch is known to hold (a task of
	// one input: its read batch), or 0: what grow sizes the output by.
	expect int
}

func (t *Task) newBatch(txn *log.Txn) *batch {
	b := &batch{t: t, txn: txn}
	b.emit = func(pr log.ProduceRecord) {
		if len(b.txn.Records) == cap(b.txn.Records) {
			b.grow()
		}
		b.txn.Records = append(b.txn.Records, pr)
		b.produced++
	}
	return b
}

// growMax bounds each step of batch.grow to this many times the
// output's capacity, or growFirst's: an estimate made from the batch's
// first records may be far off, as when the first record alone emits
// many.
const (
	growMax   = 8
	growFirst = 2048
)

// grow makes room in a full output slice for the records the batch is
// expected to emit: its output so far per input record consumed, times
// the input records it holds (expect), and a sixteenth more; at most
// growMax times the capacity in one step. A stage that emits several
// records per input (an EXPLODE: Nexmark q5's five per bid) grew its
// output by append, a quarter at a time past a few hundred records, to
// 5 times a read batch's records: 29 slices, 51 MB, nearly five times
// the last one's 11 MB, all fresh memory, every page of which faulted
// at its first touch (growslice was 0.78 s of q5's 17.5 s, 210 MB).
// Grown by estimate, q5's grows in two steps, 16,384 records then
// 88,400, 12 MB in all. The slice is kept from batch to
// batch (Task.run's out), so this is once per task, or per batch that
// outgrows the last. Past its expect (a merging task reads on into its
// commit), a batch grows by what its processor says it is emitting
// (flushSizer), or as append does.
func (b *batch) grow() {
	r := b.txn.Records
	if b.expect <= b.consumed || b.consumed == 0 {
		// No estimate from the batch's records (a merging task reads
		// past its first read batch): a processor that emits what it
		// merged, in a burst, says how much that is (flushSizer), as an
		// aggregation whose emit cache outgrows its bytes mid-commit
		// does. Appended, such bursts took 263 MB of fresh memory in
		// q5's run where one step per burst takes a fifth.
		if fs, ok := b.t.Processor.(flushSizer); ok {
			b.reserve(fs.flushOutput())
		}
		return
	}
	est := (len(r) + 1) * b.expect / b.consumed
	est += est / 16
	n := min(est, growMax*max(cap(r), growFirst))
	if n <= cap(r) {
		return
	}
	// Made, not slices.Grow: append's own step past the size asked for
	// would add up to a quarter more.
	grown := make([]log.ProduceRecord, len(r), n)
	copy(grown, r)
	b.txn.Records = grown
}

// flushSizer is implemented by a processor whose Flush emits what it
// merged from the batch's records (an aggregation's emit cache, a
// combiner's partials), most of a merging task's output: it says how
// many records that is, so that the batch makes room for them at once.
// The same merged records go out in a burst before the Flush when they
// outgrow their bound, and are held until the burst ends: asked while
// one is under way (grow), it counts the burst's records.
type flushSizer interface {
	// flushOutput is about the records the next Flush, or the burst
	// under way, emits.
	flushOutput() int
}

// reserve makes room in the output for n more records, and an eighth
// more: what a flush is about to emit (flushSizer). The emits of a
// flush come after every record is consumed, when grow has no estimate
// to go by, and appended, they took a chain of slices, each a quarter
// larger than the last, to the output's size: five times its bytes,
// all fresh memory whose every page faulted at its first touch
// (Nexmark q5's counts stage: growslice 0.16-0.45 of its 2.3-2.7 CPU
// seconds). The slice is kept from commit to commit (Task.run's out),
// so this makes a new one only when a flush outgrows the last.
func (b *batch) reserve(n int) {
	r := b.txn.Records
	if n <= cap(r)-len(r) {
		return
	}
	want := len(r) + n
	grown := make([]log.ProduceRecord, len(r), want+want/8)
	copy(grown, r)
	b.txn.Records = grown
}

// process runs one record of Inputs[input] through the processor. A
// record that fails is skipped, counted and reported; one that panics
// leaves no partial output.
func (b *batch) process(input int, rec *log.Record) {
	t := b.t
	b.consumed++
	emitted, producedBefore := len(b.txn.Records), b.produced
	err := t.process(input, rec, b.emit)
	if err == nil {
		return
	}
	topic := t.Inputs[input].Topic
	if pe, ok := err.(*PanicError); ok {
		// A skipped record leaves no partial output, and one stack per
		// batch is logged: a query that panics on every record must not
		// flood the log.
		b.txn.Records, b.produced = b.txn.Records[:emitted], producedBefore
		if b.panics++; b.panics == 1 {
			t.Logger.Error("task panicked on a record; skipping it", "query", t.QueryID, "topic", topic,
				"partition", rec.Partition, "offset", rec.Offset, "panic", pe.Value, "stack", string(pe.Stack))
		}
	}
	t.Metrics.fail(err)
	t.Logger.Debug("skipped record", "query", t.QueryID, "topic", topic, "partition", rec.Partition, "offset", rec.Offset, "error", err)
	if t.OnFailure != nil {
		if pl, ok := t.OnFailure(Failure{QueryID: t.QueryID, Record: *rec, Topic: topic, Err: err}); ok {
			b.txn.Records = append(b.txn.Records, pl)
		}
	}
}

// flush ends a batch before its commit, either way (commit,
// commitAsync): the processor's Flush emits into it, and what that failed
// to emit is described in it (describeFlushFailures).
func (t *Task) flush(b *batch) error {
	if fs, ok := t.Processor.(flushSizer); ok {
		b.reserve(fs.flushOutput())
	}
	if err := t.Processor.Flush(b.emit); err != nil {
		return fmt.Errorf("task %s %s: flush: %w", t.Group, t, err)
	}
	t.describeFlushFailures(b)
	return nil
}

// flushFailer is implemented by a processor that can fail to emit a
// change that no one input record made, without failing the batch: an
// aggregation's change merged from the batch's records (its record
// cache), whose HAVING or projection fails to evaluate.
type flushFailer interface {
	// takeFlushFailures returns the failures since its last call and
	// forgets them. The processor has counted them (Metrics); each
	// error's message names what failed (a group's key and window).
	takeFlushFailures() []error
}

// describeFlushFailures describes in the processing log, in the batch
// being committed, the changes the processor failed to emit (flushFailer).
// Such a failure has no input record: the Failure's Record is empty but
// for its partition, at Offset -1, and its error names what failed.
func (t *Task) describeFlushFailures(b *batch) {
	ff, ok := t.Processor.(flushFailer)
	if !ok {
		return
	}
	in := t.Inputs[0]
	for _, err := range ff.takeFlushFailures() {
		t.Logger.Debug("skipped change", "query", t.QueryID, "task", t.String(), "error", err)
		if t.OnFailure == nil {
			continue
		}
		f := Failure{QueryID: t.QueryID, Topic: in.Topic, Record: log.Record{Partition: in.Partition, Offset: -1}, Err: err}
		if pl, ok := t.OnFailure(f); ok {
			b.txn.Records = append(b.txn.Records, pl)
		}
	}
}

// commit flushes the processor and commits the batch: output records,
// state changes and the input offsets in b.txn, atomically. Then the
// task's committed offsets move to them.
func (t *Task) commit(ctx context.Context, b *batch) error {
	if err := t.flush(b); err != nil {
		return err
	}
	var err error
	if t.Store != nil {
		err = t.Store.Commit(ctx, *b.txn)
	} else {
		err = t.Log.Commit(ctx, *b.txn)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("task %s %s: commit: %w", t.Group, t, err)
	}
	t.committedBatch(b)
	return nil
}

// committedBatch counts a committed batch and moves the task's committed
// offsets to its.
func (t *Task) committedBatch(b *batch) {
	// Counted once committed: a paused task processes its batch again
	// on every try.
	t.Metrics.Consumed.Add(int64(b.consumed))
	t.Metrics.Produced.Add(int64(b.produced))
	for i, in := range t.Inputs {
		if off, ok := b.txn.Offsets[in]; ok {
			t.committed[i].Store(off)
		}
	}
	t.resumed()
}

// resumed clears the failure a commit has just overcome: one of records,
// or of offsets alone (a batch of transaction markers).
func (t *Task) resumed() {
	if t.failing.Swap(nil) != nil {
		t.pausedLogged = time.Time{}
		t.Logger.Info("task resumed", "query", t.QueryID, "task", t.String())
	}
}

// Stateless is the processor of a stateless query: decode, filter,
// project, encode to the sink.
type Stateless struct {
	Decoder  *Decoder
	Pipeline *Pipeline
	// Encoder encodes for Sink; each task has its own.
	Encoder *Encoder
	Sink    string
	// Tombstones forwards a stream's records whose value is null, as
	// ksqlDB does (null.json, partition-by.json): with no WHERE, each is
	// written with a null value under its output key (Pipeline.Key over
	// the record's key); a WHERE drops it. Unset, they are skipped.
	Tombstones bool
	// Table is set when the input is a table's changelog (CREATE TABLE
	// ... AS SELECT over a table): a tombstone deletes its key from the
	// output, and so does a row the WHERE drops (the row may have been
	// in the output before); a record without a key is skipped, as a
	// table cannot hold it.
	Table bool
	// Window is set when the input's keys carry a window (a windowed
	// stream, WINDOW_TYPE): the output's keys carry the input row's
	// window too, read at WindowIndex (WINDOWSTART, then WINDOWEND), and
	// a record goes to the partition of its key without the window, of
	// Partitions, as TableSink writes a windowed table.
	Window      *WindowedKey
	WindowIndex int
	Partitions  int32

	// in and out are the input and output rows, reused from record to
	// record: a record's rows are encoded and dropped before the next
	// (Decoder.decodeReuse). buf holds the encoded values until their
	// batch is committed (outBuf). Made by the first Process.
	in, out types.Row
	buf     outBuf
	// pass copies the text of unchanged JSON values from input to
	// output (newPassPlan); nil when nothing is copied so.
	pass *passPlan
}

// passPlan is a stateless task's pass-through of unchanged values: the
// output's value columns that are an input value column as it is, same
// type, JSON to JSON, are written with the text read (serde.RawDecoder,
// serde.RawEncoder) rather than decoded and encoded again; those that
// nothing else reads are not even built. Nexmark's q0 copies five of a
// bid's seven columns so.
type passPlan struct {
	dec *rawPlan
	// from[pos] is the row place of the input value column that output
	// value column pos copies, or -1.
	from []int
	// raw[pos] is the text to write for output value column pos, for the
	// record at hand.
	raw [][]byte
	// skip[i] is set, for the record at hand, on output column i when it
	// is copied as text (raw holds it): the encoder ignores its value,
	// so the projection does not compute it.
	skip []bool
	// out[i] is the value place of output column i when it is copied
	// (from's index), or -1.
	out []int
}

// newPassPlan plans the pass-through of s's unchanged values, or returns
// nil when there is none.
func (s *Stateless) newPassPlan() *passPlan {
	if !s.Encoder.passesRaw() || s.Pipeline.FlatMap != nil {
		return nil
	}
	nvals := s.Encoder.valueCount()
	pp := &passPlan{from: make([]int, nvals)}
	for i := range pp.from {
		pp.from[i] = -1
	}
	copied := map[int]bool{}
	isPass := make([]bool, len(s.Pipeline.Project))
	pp.out = make([]int, len(s.Pipeline.Project))
	for i, e := range s.Pipeline.Project {
		pp.out[i] = -1
		pos, t, ok := s.Encoder.valueColumn(i)
		if !ok {
			continue
		}
		c, ok := e.(*expr.Column)
		if !ok {
			continue
		}
		if it, ok := s.Decoder.valueType(c.Index); !ok || !it.Equal(t) || !c.T.Equal(t) {
			continue
		}
		pp.from[pos] = c.Index
		pp.out[i] = pos
		copied[c.Index] = true
		isPass[i] = true
	}
	pp.skip = make([]bool, len(s.Pipeline.Project))
	if len(copied) == 0 {
		return nil
	}
	pp.raw = make([][]byte, nvals)
	// What else reads a copied column needs its value built.
	read := map[int]bool{}
	known := true
	note := func(at int) { read[at] = true }
	if f := s.Pipeline.Filter; f != nil {
		known = expr.ReadsColumns(f, note) && known
	}
	for i, e := range s.Pipeline.Project {
		if !isPass[i] {
			known = expr.ReadsColumns(e, note) && known
		}
	}
	built := func(at int) bool { return !known || read[at] }
	if pp.dec = s.Decoder.newRawPlan(copied, built); pp.dec == nil {
		return nil
	}
	return pp
}

var _ Processor = (*Stateless)(nil)

// Process implements Processor.
func (s *Stateless) Process(rec *log.Record, emit Emit) error {
	if s.Pipeline.FlatMap != nil {
		return s.processFlat(rec, emit) // table functions (flatmap.go)
	}
	if rec.Value == nil {
		if !s.Table && (!s.Tombstones || s.Pipeline.Filter != nil) {
			return nil
		}
		row, err := s.Decoder.DecodeKey(rec)
		if err != nil {
			return err
		}
		if s.Table && s.Decoder.KeyNull(row) {
			return nil
		}
		return s.tombstone(row, true, rec.Timestamp, s.noKey(rec), emit)
	}
	if s.in == nil {
		// Room after the input's values for what the WHERE and the
		// SELECT compute once and share (Pipeline.share); decodeReuse
		// clears it with the row.
		w := s.Decoder.Width()
		s.in = make(types.Row, w+s.Pipeline.share(w))
		s.out = make(types.Row, len(s.Pipeline.Project))
		s.pass = s.newPassPlan()
	}
	row, out := s.in, s.out
	var ok bool
	var err error
	if s.pass != nil {
		ok, err = s.Decoder.decodeReuseRaw(rec, row, s.pass.dec)
	} else {
		ok, err = s.Decoder.decodeReuse(rec, row)
	}
	if err != nil || !ok {
		return err
	}
	if s.Table && s.Decoder.KeyNull(row) {
		return nil
	}
	ok, err = s.Pipeline.keep(row)
	if err != nil {
		return err
	}
	if !ok {
		if s.Table {
			return s.tombstone(row, false, row[s.Pipeline.TimeIndex].Int(), false, emit)
		}
		return nil
	}
	var (
		raw  [][]byte
		skip []bool
	)
	if pp := s.pass; pp != nil {
		for pos, at := range pp.from {
			pp.raw[pos] = nil
			if at >= 0 {
				pp.raw[pos] = s.Decoder.rawAt(pp.dec, at)
			}
		}
		for i, pos := range pp.out {
			pp.skip[i] = pos >= 0 && pp.raw[pos] != nil
		}
		raw, skip = pp.raw, pp.skip
	}
	ts, err := s.Pipeline.projectSkip(row, out, skip)
	if err != nil {
		return err
	}
	enc, err := s.Encoder.encodeBuf(out, ts, &s.buf, raw)
	if err != nil {
		return err
	}
	if s.noKey(rec) {
		enc.Key = nil
	}
	s.windowKey(&enc, row)
	emit(log.ProduceRecord{Topic: s.Sink, Record: enc})
	return nil
}

// noKey reports whether the output record of rec is written without a
// key: rec had none and the query passes its key through
// (Pipeline.KeyPass).
func (s *Stateless) noKey(rec *log.Record) bool {
	return s.Pipeline.KeyPass && s.Window == nil && s.Decoder.KeyAbsent(rec)
}

// windowKey adds the input row's window to a record's key (see Window).
func (s *Stateless) windowKey(rec *log.Record, in types.Row) {
	if s.Window == nil {
		return
	}
	w := window.Window{Start: in[s.WindowIndex].Int(), End: in[s.WindowIndex+1].Int()}
	rec.Partition = log.PartitionFor(rec.Key, s.Partitions)
	if s.Window.Session {
		rec.Key = window.AppendSessionWindowedKey(nil, rec.Key, w)
	} else {
		rec.Key = window.AppendTimeWindowedKey(nil, rec.Key, w.Start)
	}
}

// tombstone writes a record with a null value under the output key
// computed over row (keyOnly: a row of the input's key alone), or
// without a key when noKey is set.
func (s *Stateless) tombstone(row types.Row, keyOnly bool, ts int64, noKey bool, emit Emit) error {
	var kb []byte
	if !noKey {
		key, err := s.Pipeline.Key(row, keyOnly)
		if err != nil {
			return err
		}
		if kb, err = s.Encoder.EncodeKey(key); err != nil {
			return err
		}
	}
	rec := log.Record{Key: kb, Timestamp: ts, Partition: -1}
	s.windowKey(&rec, row)
	emit(log.ProduceRecord{Topic: s.Sink, Record: rec})
	return nil
}

// Flush implements Processor.
func (s *Stateless) Flush(Emit) error { return nil }

var (
	_ batchRecycler = (*Stateless)(nil)
	_ Recoverable   = (*Stateless)(nil)
)

// recycleBatch implements batchRecycler: the batch's output bytes are
// reused for the next, and its input records may be. The rows in and out
// still hold views of the last record's bytes, but each is written whole
// by the next decode before anything reads it (decodeReuse).
func (s *Stateless) recycleBatch() bool {
	s.buf.recycle()
	return true
}

// Recover implements Recoverable: after a failed commit, the output
// bytes handed out since the last good one are left to the collector
// rather than reused, whatever a log might still do with a transaction
// it failed to commit.
func (s *Stateless) Recover() { s.buf.forget() }

// checkBatch asserts what exactly-once rests on: a reader returns each
// offset once, in increasing order, between where it stood and where it
// says it stands now.
func checkBatch(tp log.TopicPartition, recs []log.Record, prev, pos int64) {
	last := prev - 1
	for _, r := range recs {
		if r.Offset <= last || r.Offset >= pos {
			panic(fmt.Sprintf("invariant: %s/%d returned offset %d after %d with position %d", tp.Topic, tp.Partition, r.Offset, last, pos))
		}
		last = r.Offset
	}
	if pos < prev {
		panic(fmt.Sprintf("invariant: %s/%d position went back from %d to %d", tp.Topic, tp.Partition, prev, pos))
	}
}
