package operators

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/log/embedded"
)

// recorder is an InputProcessor that writes "input:value" for each record
// to the topic out, so the order a task processed records in is read
// back from the log, committed.
type recorder struct {
	seen atomic.Int64
}

func (r *recorder) Process(rec *log.Record, emit Emit) error { return r.ProcessInput(0, rec, emit) }

func (r *recorder) ProcessInput(input int, rec *log.Record, emit Emit) error {
	r.seen.Add(1)
	emit(log.ProduceRecord{Topic: "out", Record: log.Record{Value: fmt.Appendf(nil, "%d:%s", input, rec.Value), Timestamp: rec.Timestamp, Partition: 0}})
	return nil
}

func (r *recorder) Flush(Emit) error { return nil }

// mergeFixture is a real embedded log (possibly wrapped) with topics a,
// b and out of one partition.
type mergeFixture struct {
	t   *testing.T
	ctx context.Context
	log log.Log
}

func newMergeFixture(t *testing.T, wrap func(log.Log) log.Log) *mergeFixture {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	emb, err := embedded.Open(embedded.Options{Dir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	var l log.Log = emb
	if wrap != nil {
		l = wrap(emb)
	}
	for _, name := range []string{"a", "b", "out"} {
		if err := l.CreateTopic(ctx, name, log.TopicConfig{Partitions: 1}); err != nil {
			t.Fatal(err)
		}
	}
	return &mergeFixture{t: t, ctx: ctx, log: l}
}

// append writes value@timestamp records to topic, in order.
func (f *mergeFixture) append(topic string, recs ...string) {
	f.t.Helper()
	var out []log.Record
	for _, r := range recs {
		var v string
		var ts int64
		if _, err := fmt.Sscanf(strings.Replace(r, "@", " ", 1), "%s %d", &v, &ts); err != nil {
			f.t.Fatalf("bad record %q", r)
		}
		out = append(out, log.Record{Value: []byte(v), Timestamp: ts, Partition: 0})
	}
	if _, err := f.log.Append(f.ctx, topic, out); err != nil {
		f.t.Fatal(err)
	}
}

// out reads the values written to out.
func (f *mergeFixture) out() []string {
	f.t.Helper()
	ends, err := f.log.EndOffsets(f.ctx, "out")
	if err != nil {
		f.t.Fatal(err)
	}
	var got []string
	r, err := f.log.NewReader(f.ctx, log.TopicPartition{Topic: "out"}, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	defer r.Close()
	for r.Position() < ends[0] {
		recs, err := r.Next(f.ctx)
		if err != nil {
			f.t.Fatal(err)
		}
		for _, rec := range recs {
			got = append(got, string(rec.Value))
		}
	}
	return got
}

// task returns a task merging a and b into p.
func (f *mergeFixture) task(p Processor) *Task {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	return &Task{Log: f.log, Group: "g", QueryID: "q", Inputs: []log.TopicPartition{{Topic: "a"}, {Topic: "b"}},
		Processor: p, Metrics: &Metrics{}, Logger: quiet}
}

// run runs task until stop is called.
func (f *mergeFixture) run(task *Task) (stop func()) {
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := task.Run(ctx); err != nil {
			f.t.Errorf("Run: %v", err)
		}
	}()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	f.t.Cleanup(stop)
	return stop
}

// caughtUp waits until task has committed both inputs to their ends.
func (f *mergeFixture) caughtUp(task *Task) {
	f.t.Helper()
	for _, tp := range task.Inputs {
		ends, err := f.log.EndOffsets(f.ctx, tp.Topic)
		if err != nil {
			f.t.Fatal(err)
		}
		for {
			if off, ok := task.CommittedAt(tp); ok && off >= ends[0] {
				break
			}
			if f.ctx.Err() != nil {
				f.t.Fatalf("task never caught up on %s (failing: %v)", tp.Topic, task.Failing())
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
}

// TestMergeOrder: a task of two inputs processes their records in
// event-time order, ties to the first input, each input in offset order
// (an out-of-order record stays where it is in its input).
func TestMergeOrder(t *testing.T) {
	f := newMergeFixture(t, nil)
	f.append("a", "a1@10", "a2@20", "a3@20", "a4@5", "a5@40")
	f.append("b", "b1@1", "b2@20", "b3@30", "b4@50")
	task := f.task(&recorder{})
	f.run(task)
	f.caughtUp(task)
	want := []string{"1:b1", "0:a1", "0:a2", "0:a3", "0:a4", "1:b2", "1:b3", "0:a5", "1:b4"}
	if got := f.out(); !slices.Equal(got, want) {
		t.Fatalf("order:\n got %v\nwant %v", got, want)
	}
	if off, ok := task.CommittedAt(log.TopicPartition{Topic: "b"}); !ok || off != 4 {
		t.Errorf("CommittedAt(b) = %d, %v; want 4", off, ok)
	}
	if _, ok := task.CommittedAt(log.TopicPartition{Topic: "nope"}); ok {
		t.Errorf("CommittedAt of a topic the task does not read: ok")
	}
}

// TestMergeIdleInput: an input with nothing in it does not hold the
// other back; records that arrive later in it are processed when they
// come.
func TestMergeIdleInput(t *testing.T) {
	f := newMergeFixture(t, nil)
	f.append("a", "a1@10", "a2@20")
	task := f.task(&recorder{})
	f.run(task)
	f.caughtUp(task)
	if got := f.out(); !slices.Equal(got, []string{"0:a1", "0:a2"}) {
		t.Fatalf("with b empty: %v", got)
	}
	f.append("b", "b1@15")
	f.caughtUp(task)
	f.append("a", "a3@12")
	f.caughtUp(task)
	if got := f.out(); !slices.Equal(got, []string{"0:a1", "0:a2", "1:b1", "0:a3"}) {
		t.Fatalf("later records: %v", got)
	}
}

// slowLog delays the first batch of every reader of topic b: while it
// waits, b is behind its end, so the merge must wait for it rather than
// take a's records first.
type slowLog struct {
	log.Log
	delay time.Duration
}

func (s *slowLog) NewReader(ctx context.Context, tp log.TopicPartition, offset int64) (log.Reader, error) {
	r, err := s.Log.NewReader(ctx, tp, offset)
	if err != nil || tp.Topic != "b" {
		return r, err
	}
	return &slowReader{Reader: r, delay: s.delay}, nil
}

type slowReader struct {
	log.Reader
	delay time.Duration
	once  bool
}

func (r *slowReader) Next(ctx context.Context) ([]log.Record, error) {
	if !r.once {
		r.once = true
		select {
		case <-time.After(r.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return r.Reader.Next(ctx)
}

// TestMergeWaitsForRecordsInTheLog: when an input's records are in the
// log but its reader has not delivered them yet, the merge waits for them
// instead of taking the other input's later records first.
func TestMergeWaitsForRecordsInTheLog(t *testing.T) {
	f := newMergeFixture(t, func(l log.Log) log.Log { return &slowLog{Log: l, delay: 300 * time.Millisecond} })
	f.append("a", "a1@10", "a2@30")
	f.append("b", "b1@5", "b2@20")
	task := f.task(&recorder{})
	f.run(task)
	f.caughtUp(task)
	want := []string{"1:b1", "0:a1", "1:b2", "0:a2"}
	if got := f.out(); !slices.Equal(got, want) {
		t.Fatalf("order:\n got %v\nwant %v", got, want)
	}
}

// TestMergeReplaysTheSameOrder: a merging task whose commits fail goes
// back to its last commit (both inputs' positions, committed with the
// output in one transaction) and retries; the output is the order of an
// uninterrupted run, each record exactly once.
func TestMergeReplaysTheSameOrder(t *testing.T) {
	var fl *failingLog
	f := newMergeFixture(t, func(l log.Log) log.Log { fl = &failingLog{Log: l}; return fl })
	var a, b []string
	for i := 0; i < 3000; i++ {
		a = append(a, fmt.Sprintf("a%d@%d", i, 2*i))
		b = append(b, fmt.Sprintf("b%d@%d", i, 3*i))
	}
	f.append("a", a...)
	f.append("b", b...)
	fl.failCommits.Store(3)
	task := f.task(&recorder{})
	f.run(task)
	f.caughtUp(task)
	got := f.out()
	if len(got) != 6000 {
		t.Fatalf("out holds %d records, want each of the 6000 once", len(got))
	}
	// The uninterrupted order, computed: by time, ties to a.
	var want []string
	for i, j := 0, 0; i < 3000 || j < 3000; {
		if j >= 3000 || (i < 3000 && 2*i <= 3*j) {
			want = append(want, fmt.Sprintf("0:a%d", i))
			i++
		} else {
			want = append(want, fmt.Sprintf("1:b%d", j))
			j++
		}
	}
	if !slices.Equal(got, want) {
		for k := range got {
			if got[k] != want[k] {
				t.Fatalf("record %d is %s, want %s", k, got[k], want[k])
			}
		}
	}
	if fl.failCommits.Load() >= 0 {
		t.Fatalf("the injected commit failures were not all hit")
	}
}

// TestMergerBounded: a Merger over inputs with an End stops there, and
// reports Done.
func TestMergerBounded(t *testing.T) {
	f := newMergeFixture(t, nil)
	f.append("a", "a1@3", "a2@4", "a3@1")
	f.append("b", "b1@2", "b2@9")
	m, err := StartMerge(f.ctx, f.log, []MergeInput{{TP: log.TopicPartition{Topic: "a"}, End: 2}, {TP: log.TopicPartition{Topic: "b"}, End: 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var got []string
	for {
		i, rec, ok, err := m.Next(f.ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		got = append(got, fmt.Sprintf("%d:%s", i, rec.Value))
	}
	if want := []string{"1:b1", "0:a1", "0:a2", "1:b2"}; !slices.Equal(got, want) || !m.Done() {
		t.Fatalf("got %v (done %v), want %v", got, m.Done(), want)
	}
}

// TestMergeAlternatingAppends: records appended to one input while the
// task works on the other's never leave it waiting for an input that is
// caught up (what it knew of an idle input is forgotten once anything
// changes), and come out in event-time order when they are in the log
// together.
func TestMergeAlternatingAppends(t *testing.T) {
	f := newMergeFixture(t, nil)
	task := f.task(&recorder{})
	f.run(task)
	var want []string
	for i := range 60 {
		f.append("a", fmt.Sprintf("a%d@%d", i, 2*i))
		f.append("b", fmt.Sprintf("b%d@%d", i, 2*i+1))
		want = append(want, fmt.Sprintf("0:a%d", i), fmt.Sprintf("1:b%d", i))
		f.caughtUp(task)
	}
	if got := f.out(); !slices.Equal(got, want) {
		t.Fatalf("order:\n got %v\nwant %v", got, want)
	}
}

// awaitMerge waits as Next does when told to, then forgets, as Next does
// after a wait, what the merge knew of which inputs were caught up: a
// test that called wait alone would keep a stale "behind" from before the
// wait, Next would not look again, and the test would spin on a merge
// that could go on.
func awaitMerge(t *testing.T, ctx context.Context, m *Merger) {
	t.Helper()
	if err := m.wait(ctx); err != nil {
		t.Fatal(err)
	}
	m.forget()
}
