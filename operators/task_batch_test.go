package operators

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/log/embedded"
	"github.com/runnel/runnel/operators/state"
)

// commitCounter is the embedded log, whose commits with state
// (CommitWithSize, what a task with a store commits through) it counts
// and measures; its next failCommits such commits fail, having written
// nothing.
type commitCounter struct {
	*embedded.Log
	mu          sync.Mutex
	commits     []committedTxn
	failCommits int
}

// committedTxn is what one commit held.
type committedTxn struct {
	records int // output records
	held    int // bytes the task held for it: output and state writes
}

func (c *commitCounter) CommitWithSize(ctx context.Context, txn log.Txn, extraBytes int, extra func(b *pebble.Batch) error) error {
	c.mu.Lock()
	fail := c.failCommits > 0
	if fail {
		c.failCommits--
	}
	c.mu.Unlock()
	if fail {
		return errInjected
	}
	if err := c.Log.CommitWithSize(ctx, txn, extraBytes, extra); err != nil {
		return err
	}
	held := extraBytes
	for i := range txn.Records {
		held += recordBytes(&txn.Records[i])
	}
	c.mu.Lock()
	c.commits = append(c.commits, committedTxn{records: len(txn.Records), held: held})
	c.mu.Unlock()
	return nil
}

// taken returns the commits since the last call.
func (c *commitCounter) taken() []committedTxn {
	c.mu.Lock()
	defer c.mu.Unlock()
	got := c.commits
	c.commits = nil
	return got
}

// tally is a processor with state: it counts its input records by key
// in its store, and emits each record's new count, padded to pad bytes,
// to "out". It keeps nothing in memory.
type tally struct {
	store *state.TaskStore
	pad   int
}

func (p *tally) Process(rec *log.Record, emit Emit) error {
	v, _, err := p.store.Get(rec.Key)
	if err != nil {
		return err
	}
	var n uint64
	if len(v) == 8 {
		n = binary.BigEndian.Uint64(v)
	}
	n++
	if err := p.store.Put(rec.Key, binary.BigEndian.AppendUint64(nil, n)); err != nil {
		return err
	}
	value := make([]byte, 8, max(8, p.pad))
	binary.BigEndian.PutUint64(value, n)
	value = value[:cap(value)]
	emit(log.ProduceRecord{Topic: "out", Record: log.Record{Key: rec.Key, Value: value, Partition: 0}})
	return nil
}

func (p *tally) Flush(Emit) error { return nil }

// batchRig is a task with a tally over the embedded log, its commits
// counted, and a way to feed it.
type batchRig struct {
	t    *testing.T
	ctx  context.Context
	log  *commitCounter
	task *Task
	keys int
	// value is each input record's value; nil: "v".
	value []byte
	// backlog is what the upstream stage of a linger rig has to read.
	backlog int64
}

// newBatchRig opens the log with opts (Dir and Logger filled in).
func newBatchRig(t *testing.T, opts embedded.Options, pad int) *batchRig {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts.Dir, opts.Logger = t.TempDir(), quiet
	emb, err := embedded.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emb.Close() })
	l := &commitCounter{Log: emb}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	for _, name := range []string{"in", "out"} {
		if err := l.CreateTopic(ctx, name, log.TopicConfig{Partitions: 1}); err != nil {
			t.Fatal(err)
		}
	}
	m, err := state.NewManager(state.Options{Log: l, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	st, err := m.Open(ctx, state.Spec{Name: "tally"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	task := &Task{Log: l, Group: "g", QueryID: "q", Inputs: []log.TopicPartition{{Topic: "in"}}, Metrics: &Metrics{}, Logger: quiet,
		Store: st, Processor: &tally{store: st, pad: pad}}
	return &batchRig{t: t, ctx: ctx, log: l, task: task, keys: 10}
}

// append writes n records to each input, keyed by their number modulo
// the rig's keys.
func (r *batchRig) append(n int) {
	r.t.Helper()
	for _, in := range r.task.Inputs {
		recs := make([]log.Record, n)
		for i := range recs {
			recs[i] = log.Record{Key: fmt.Appendf(nil, "k%d", i%r.keys), Value: []byte("v"), Timestamp: int64(i), Partition: 0}
			if r.value != nil {
				recs[i].Value = r.value
			}
		}
		if _, err := r.log.Append(r.ctx, in.Topic, recs); err != nil {
			r.t.Fatal(err)
		}
	}
}

// run starts the task; the returned function stops it and waits.
func (r *batchRig) run() (stop func()) {
	ctx, cancel := context.WithCancel(r.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := r.task.Run(ctx); err != nil {
			r.t.Errorf("Run: %v", err)
		}
	}()
	return func() { cancel(); <-done }
}

// waitCommitted waits until the task has committed every input up to
// offset.
func (r *batchRig) waitCommitted(offset int64) {
	r.t.Helper()
	for {
		all := true
		for _, in := range r.task.Inputs {
			if off, ok := r.task.CommittedAt(in); !ok || off < offset {
				all = false
			}
		}
		if all {
			return
		}
		select {
		case <-r.ctx.Done():
			r.t.Fatalf("the task never committed offset %d (failing: %v)", offset, r.task.Failing())
		case <-time.After(time.Millisecond):
		}
	}
}

// checkOutput asserts that "out" holds each input record's count exactly
// once: for every key, the counts 1 to its number of records, in order.
func (r *batchRig) checkOutput(perInput int) {
	r.t.Helper()
	rd, err := r.log.NewReader(r.ctx, log.TopicPartition{Topic: "out"}, 0)
	if err != nil {
		r.t.Fatal(err)
	}
	defer rd.Close()
	want := len(r.task.Inputs) * perInput
	last := map[string]uint64{}
	for got := 0; got < want; {
		recs, err := rd.Next(r.ctx)
		if err != nil {
			r.t.Fatalf("read out after %d of %d records: %v", got, want, err)
		}
		for _, rec := range recs {
			n := binary.BigEndian.Uint64(rec.Value)
			if n != last[string(rec.Key)]+1 {
				r.t.Fatalf("key %s: count %d after %d: a record lost or repeated", rec.Key, n, last[string(rec.Key)])
			}
			last[string(rec.Key)] = n
		}
		got += len(recs)
	}
	if lag := rd.(log.LagReader).Lag(); lag != 0 {
		r.t.Fatalf("out holds %d records more than the %d input records", lag, want)
	}
}

// TestBehindTaskCommitsFewerLargerTxns: a task with a store commits each
// batch its reader returns, and a reader that is behind returns full
// batches (Options.ReadBatch): 5,000 records waiting make 5 commits of
// 1,000 records when batches are 1,000, where batches of 100 made 50; and
// every record's output is there exactly once, across a failed commit
// that sends the task back to its last one.
func TestBehindTaskCommitsFewerLargerTxns(t *testing.T) {
	const n = 5000
	for _, batch := range []int{100, 1000} {
		r := newBatchRig(t, embedded.Options{ReadBatch: batch}, 0)
		r.append(n)
		r.log.failCommits = 1
		stop := r.run()
		r.waitCommitted(n)
		stop()
		commits := r.log.taken()
		if len(commits) != n/batch {
			t.Errorf("batches of %d: %d commits, want %d", batch, len(commits), n/batch)
		}
		for i, c := range commits {
			if c.records != batch {
				t.Errorf("batches of %d: commit %d holds %d records", batch, i, c.records)
			}
		}
		r.checkOutput(n)
	}
}

// TestCaughtUpTaskCommitsEachBatch: a task with a store whose reader has
// caught up gets what has arrived, however little, and commits it at
// once, with the default batch of the log.
func TestCaughtUpTaskCommitsEachBatch(t *testing.T) {
	r := newBatchRig(t, embedded.Options{}, 0)
	defer r.run()()
	for i := 1; i <= 5; i++ {
		r.append(3)
		r.waitCommitted(int64(3 * i))
	}
	if commits := r.log.taken(); len(commits) != 5 {
		t.Errorf("%d commits of 5 appends, each read when caught up; want 5", len(commits))
	}
	r.checkOutput(15)
}

// TestCommitBoundedByBatchBytes: a commit holds the output and state
// writes of one batch, and a batch is bounded by bytes
// (Options.ReadBatchBytes), not only by records: records of 1 KiB in
// batches of at most 64 KiB make commits of at most about 64 records,
// however many the batch's record count would allow.
func TestCommitBoundedByBatchBytes(t *testing.T) {
	const (
		n     = 3000
		bound = 64 << 10
		pad   = 1 << 10
	)
	r := newBatchRig(t, embedded.Options{ReadBatch: 1 << 20, ReadBatchBytes: bound}, pad)
	// Input records as large as their output.
	r.value = make([]byte, pad)
	r.append(n)
	defer r.run()()
	r.waitCommitted(n)
	commits := r.log.taken()
	total := 0
	for i, c := range commits {
		total += c.records
		if c.records > bound/pad+1 || c.held > 2*bound {
			t.Errorf("commit %d holds %d records of %d bytes (%d bytes with its state writes), over a batch of %d bytes", i, c.records, pad, c.held, bound)
		}
	}
	if total != n || len(commits) < n*pad/bound {
		t.Errorf("%d records in %d commits; want %d in at least %d", total, len(commits), n, n*pad/bound)
	}
	r.checkOutput(n)
}

// recordBytes is what an output record holds in memory until its
// commit: its place in the Txn's slice, its key and value.
func recordBytes(pr *log.ProduceRecord) int {
	return int(unsafe.Sizeof(*pr)) + len(pr.Key) + len(pr.Value)
}
