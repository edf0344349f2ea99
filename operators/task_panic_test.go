package operators

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/log/embedded"
)

// panicky is a processor that copies each record's value to the sink
// "out", panics on the values in poison (after emitting a first output,
// which must not survive), and panics in its first flushPanics Flushes.
type panicky struct {
	poison      map[string]bool
	flushPanics atomic.Int32
	flushes     atomic.Int32
}

func (p *panicky) Process(rec *log.Record, emit Emit) error {
	emit(log.ProduceRecord{Topic: "out", Record: log.Record{Value: rec.Value, Partition: 0}})
	if p.poison[string(rec.Value)] {
		var s []int
		_ = s[len(rec.Value)] // an index out of range, as a bug would
	}
	return nil
}

func (p *panicky) Flush(Emit) error {
	p.flushes.Add(1)
	if p.flushPanics.Add(-1) >= 0 {
		panic("flush exploded")
	}
	return nil
}

// panicTaskFixture is an embedded log with topics in and out, and a task
// running p over in until the test ends.
type panicTaskFixture struct {
	log     log.Log
	task    *Task
	done    chan struct{}
	runErr  error
	records func(topic string) []string
}

func startPanicTask(t *testing.T, p Processor) *panicTaskFixture {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	l, err := embedded.Open(embedded.Options{Dir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	for _, name := range []string{"in", "out", "plog"} {
		if err := l.CreateTopic(ctx, name, log.TopicConfig{Partitions: 1}); err != nil {
			t.Fatal(err)
		}
	}
	f := &panicTaskFixture{log: l, done: make(chan struct{})}
	f.task = &Task{Log: l, Group: "g", QueryID: "q", Inputs: []log.TopicPartition{{Topic: "in"}}, Metrics: &Metrics{}, Logger: quiet,
		Processor: p,
		OnFailure: func(fl Failure) (log.ProduceRecord, bool) {
			return log.ProduceRecord{Topic: "plog", Record: log.Record{Value: []byte(fl.Err.Error()), Partition: 0}}, true
		}}
	f.records = func(topic string) []string {
		t.Helper()
		ends, err := l.EndOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		r, err := l.NewReader(ctx, log.TopicPartition{Topic: topic}, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var out []string
		for r.Position() < ends[0] {
			recs, err := r.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range recs {
				out = append(out, string(rec.Value))
			}
		}
		return out
	}
	go func() {
		defer close(f.done)
		f.runErr = f.task.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-f.done
		if f.runErr != nil {
			t.Errorf("Run returned %v, want nil once stopped", f.runErr)
		}
		l.Close()
	})
	return f
}

func (f *panicTaskFixture) append(t *testing.T, values ...string) {
	t.Helper()
	var recs []log.Record
	for _, v := range values {
		recs = append(recs, log.Record{Value: []byte(v), Partition: 0})
	}
	if _, err := f.log.Append(context.Background(), "in", recs); err != nil {
		t.Fatal(err)
	}
}

// waitCommitted waits until the task has committed offset n.
func (f *panicTaskFixture) waitCommitted(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if off, ok := f.task.Committed(); ok && off >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the task never committed offset %d (failing: %v)", n, f.task.Failing())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTaskSkipsARecordThatPanics: a processor that panics on one record
// does not stop its task, let alone the process. The record is skipped
// (its partial output dropped), counted as failed, and described for the
// processing log with the panic's message; the records around it flow.
func TestTaskSkipsARecordThatPanics(t *testing.T) {
	p := &panicky{poison: map[string]bool{"bad": true}}
	f := startPanicTask(t, p)
	f.append(t, "a", "bad", "b")
	f.waitCommitted(t, 3)
	if got := strings.Join(f.records("out"), ","); got != "a,b" {
		t.Errorf("sink = %q, want a,b: the poisoned record's output must not survive", got)
	}
	plog := f.records("plog")
	if len(plog) != 1 || !strings.Contains(plog[0], "panic: runtime error: index out of range") {
		t.Errorf("processing log = %q, want the panic's message", plog)
	}
	m := f.task.Metrics
	if m.Failed.Load() != 1 || m.Consumed.Load() != 3 || m.Produced.Load() != 2 {
		t.Errorf("metrics: failed %d consumed %d produced %d, want 1 3 2", m.Failed.Load(), m.Consumed.Load(), m.Produced.Load())
	}
	if last := m.LastError.Load(); last == nil || !strings.HasPrefix(*last, "panic: ") {
		t.Errorf("last error = %v", last)
	}
	if err := f.task.Failing(); err != nil {
		t.Errorf("the task reports a failure after a skipped record: %v", err)
	}
	// And it goes on.
	f.append(t, "c")
	f.waitCommitted(t, 4)
	if got := strings.Join(f.records("out"), ","); got != "a,b,c" {
		t.Errorf("sink after more input = %q", got)
	}
}

// TestTaskPanicInFlushRetriesFromLastCommit: a panic outside any record
// (here Flush) fails the attempt: the task reports the panic through
// Failing, goes back to its last commit and retries with its backoff.
// When the panics stop, every record reaches the sink exactly once.
func TestTaskPanicInFlushRetriesFromLastCommit(t *testing.T) {
	p := &panicky{}
	p.flushPanics.Store(2)
	f := startPanicTask(t, p)
	f.append(t, "a", "b")
	sawPanic := false
	deadline := time.Now().Add(15 * time.Second)
	for {
		var pe *PanicError
		if err := f.task.Failing(); errors.As(err, &pe) && fmt.Sprint(pe.Value) == "flush exploded" && len(pe.Stack) > 0 {
			sawPanic = true
		}
		if off, ok := f.task.Committed(); ok && off == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the task never committed (failing: %v)", f.task.Failing())
		}
		time.Sleep(time.Millisecond)
	}
	if !sawPanic {
		t.Error("Failing never reported the panic while the task retried")
	}
	if err := f.task.Failing(); err != nil {
		t.Errorf("Failing after recovery: %v", err)
	}
	if n := p.flushes.Load(); n < 3 {
		t.Errorf("Flush ran %d times, want the 2 that panicked and one more", n)
	}
	if got := strings.Join(f.records("out"), ","); got != "a,b" {
		t.Errorf("sink = %q, want each record exactly once", got)
	}
	if n := f.task.Metrics.Failed.Load(); n != 0 {
		t.Errorf("%d records counted as failed: a Flush panic is not a bad record", n)
	}
}

// TestTaskPanickingForeverStaysUp: a task whose Flush always panics keeps
// retrying (and reporting the panic) until it is stopped, and Run then
// returns normally.
func TestTaskPanickingForeverStaysUp(t *testing.T) {
	p := &panicky{}
	p.flushPanics.Store(1 << 30)
	f := startPanicTask(t, p)
	f.append(t, "a")
	deadline := time.Now().Add(15 * time.Second)
	for p.flushes.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("Flush ran %d times", p.flushes.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := f.task.Failing(); err == nil || !strings.Contains(err.Error(), "flush exploded") {
		t.Errorf("Failing = %v", err)
	}
	if off, _ := f.task.Committed(); off != 0 {
		t.Errorf("committed %d through a panicking Flush", off)
	}
	if got := f.records("out"); len(got) != 0 {
		t.Errorf("sink = %q: nothing of a failed attempt may be visible", got)
	}
}
