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
	"github.com/runnel/runnel/operators/serde"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// failingLog is the real embedded log with faults injected: its next
// failCommits commits fail.
type failingLog struct {
	log.Log
	failCommits atomic.Int32
}

var errInjected = errors.New("injected commit failure")

func (f *failingLog) Commit(ctx context.Context, txn log.Txn) error {
	if f.failCommits.Add(-1) >= 0 {
		return errInjected
	}
	return f.Log.Commit(ctx, txn)
}

// asyncFailingLog is failingLog with the embedded log's CommitAsync
// (log.AsyncCommitter), which a stateless task uses when the log has it.
// Its injected failures alternate between the two ways an asynchronous
// commit fails: refused at once, or reported by wait, in both cases with
// nothing written.
type asyncFailingLog struct {
	*failingLog
	emb    *embedded.Log
	asyncs atomic.Int32 // CommitAsync calls
}

func (f *asyncFailingLog) CommitAsync(ctx context.Context, txn log.Txn) (func() error, error) {
	f.asyncs.Add(1)
	if n := f.failCommits.Add(-1); n >= 0 {
		if n%2 == 0 {
			return nil, errInjected
		}
		return func() error { return errInjected }, nil
	}
	return f.emb.CommitAsync(ctx, txn)
}

// TestTaskRetriesFromItsLastCommit: commits that fail make the task go
// back to its last commit and retry; every input record still reaches the
// sink exactly once, and the task reports the failure only while it lasts.
func TestTaskRetriesFromItsLastCommit(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	emb, err := embedded.Open(embedded.Options{Dir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	l := &failingLog{Log: emb}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, name := range []string{"in", "out"} {
		if err := l.CreateTopic(ctx, name, log.TopicConfig{Partitions: 1}); err != nil {
			t.Fatal(err)
		}
	}
	cols := []types.Column{{Name: "V", Type: types.Bigint}}
	dec, err := NewDecoder(DecoderSpec{Columns: cols, KeyFormat: "NONE", ValueFormat: "JSON"})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := NewEncoder(cols, "NONE", "JSON", serde.Props{})
	if err != nil {
		t.Fatal(err)
	}
	task := &Task{Log: l, Group: "g", QueryID: "q", Inputs: []log.TopicPartition{{Topic: "in"}}, Metrics: &Metrics{}, Logger: quiet,
		Processor: &Stateless{Decoder: dec, Encoder: enc, Sink: "out",
			Pipeline: &Pipeline{Project: []expr.Expr{&expr.Column{Index: 0, T: types.Bigint}}, TimeIndex: 1}}}
	l.failCommits.Store(3)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := task.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	var recs []log.Record
	for i := 0; i < 10; i++ {
		recs = append(recs, log.Record{Value: []byte(`{"V":` + string(rune('0'+i)) + `}`), Partition: 0})
	}
	if _, err := l.Append(ctx, "in", recs); err != nil {
		t.Fatal(err)
	}
	// The failure shows while the task retries, then clears.
	sawFailing := false
	for {
		if errors.Is(task.Failing(), errInjected) {
			sawFailing = true
		}
		if off, ok := task.Committed(); ok && off == 10 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the task never committed all 10 records (failing: %v)", task.Failing())
		case <-time.After(5 * time.Millisecond):
		}
	}
	if !sawFailing || task.Failing() != nil {
		t.Fatalf("failing was seen %v, is now %v; want seen, then cleared", sawFailing, task.Failing())
	}
	ends, err := l.EndOffsets(ctx, "out")
	if err != nil {
		t.Fatal(err)
	}
	if ends[0] != 10 {
		t.Fatalf("sink holds %d records, want each of the 10 exactly once", ends[0])
	}
	cancel()
	<-done
}

// TestStatelessTaskRecyclesBatches: a stateless task over the embedded
// log reads each batch into the memory of the one before it and encodes
// into the same output chunks (batchRecycler, log.Recycler), in small
// batches, with commits that fail between them (after which nothing in
// use is reused); every record still reaches the sink exactly once, with
// its own bytes.
//
// It runs twice: over the log as a log.Log, whose commits the task waits
// for, and with the log's CommitAsync, where the task reads and processes
// each batch while the last one's commit syncs. That the task gets to
// commit the last record at all, once caught up, shows that it finishes
// its commit in flight before it parks in a read (log.LagReader).
func TestStatelessTaskRecyclesBatches(t *testing.T) {
	for _, async := range []bool{false, true} {
		t.Run(fmt.Sprintf("async=%v", async), func(t *testing.T) { testStatelessTaskRecyclesBatches(t, async) })
	}
}

func testStatelessTaskRecyclesBatches(t *testing.T, async bool) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	emb, err := embedded.Open(embedded.Options{Dir: t.TempDir(), Logger: quiet, ReadBatch: 37})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	fl := &failingLog{Log: emb}
	var l log.Log = fl
	var al *asyncFailingLog
	if async {
		al = &asyncFailingLog{failingLog: fl, emb: emb}
		l = al
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, name := range []string{"in", "out"} {
		if err := l.CreateTopic(ctx, name, log.TopicConfig{Partitions: 1}); err != nil {
			t.Fatal(err)
		}
	}
	cols := []types.Column{{Name: "S", Type: types.String}, {Name: "V", Type: types.Bigint}}
	dec, err := NewDecoder(DecoderSpec{Columns: cols, KeyFormat: "NONE", ValueFormat: "JSON"})
	if err != nil {
		t.Fatal(err)
	}
	outCols := []types.Column{{Name: "S", Type: types.String}, {Name: "U", Type: types.String}, {Name: "V", Type: types.Bigint}}
	enc, err := NewEncoder(outCols, "NONE", "JSON", serde.Props{})
	if err != nil {
		t.Fatal(err)
	}
	s := &expr.Column{Index: 0, Name: "S", T: types.String}
	v := &expr.Column{Index: 1, Name: "V", T: types.Bigint}
	s2 := &Stateless{Decoder: dec, Encoder: enc, Sink: "out",
		Pipeline: &Pipeline{Project: []expr.Expr{s, upper{s}, v}, TimeIndex: 2}}
	task := &Task{Log: l, Group: "g", QueryID: "q", Inputs: []log.TopicPartition{{Topic: "in"}}, Metrics: &Metrics{}, Logger: quiet,
		Processor: s2}
	const n = 3000
	word := func(i int) string { return strings.Repeat(string(rune('a'+i%26)), 1+i%53) }
	var recs []log.Record
	for i := range n {
		recs = append(recs, log.Record{Value: fmt.Appendf(nil, `{"S":%q,"V":%d}`, word(i), i), Partition: 0})
	}
	if _, err := l.Append(ctx, "in", recs[:n/2]); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := task.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	waitFor := func(off int64) {
		t.Helper()
		for {
			if got, ok := task.Committed(); ok && got == off {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("the task never committed up to %d", off)
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	waitFor(n / 2)
	fl.failCommits.Store(2) // the next two commits fail, and are retried
	if _, err := l.Append(ctx, "in", recs[n/2:]); err != nil {
		t.Fatal(err)
	}
	waitFor(n)
	cancel()
	<-done

	r, err := emb.NewReader(context.Background(), log.TopicPartition{Topic: "out"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer rcancel()
	var got []string
	for len(got) < n {
		batch, err := r.Next(rctx)
		if err != nil {
			t.Fatalf("read the sink after %d records: %v", len(got), err)
		}
		for _, rec := range batch {
			got = append(got, string(rec.Value))
		}
	}
	if ends, _ := emb.EndOffsets(context.Background(), "out"); ends[0] != n {
		t.Fatalf("the sink holds %d records, want %d", ends[0], n)
	}
	if async && al.asyncs.Load() < n/37 {
		t.Fatalf("%d asynchronous commits, want at least one a batch (%d)", al.asyncs.Load(), n/37)
	}
	for i, g := range got {
		w := word(i)
		if want := fmt.Sprintf(`{"S":%q,"U":%q,"V":%d}`, w, strings.ToUpper(w), i); g != want {
			t.Fatalf("record %d: %s, want %s", i, g, want)
		}
	}
}

// A task's stage names each topic it reads once, in order, whatever the
// partitions; String adds the first partition.
func TestTaskStageNamesTopicsOnce(t *testing.T) {
	task := &Task{Group: "g", Inputs: []log.TopicPartition{
		{Topic: "bids", Partition: 2}, {Topic: "bids", Partition: 3}, {Topic: "maxima", Partition: 2},
	}}
	if got, want := task.Stage(), "bids+maxima"; got != want {
		t.Errorf("Stage() = %q, want %q", got, want)
	}
	if got, want := task.String(), "bids+maxima/2"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := (&Task{Group: "g"}).Stage(); got != "g" {
		t.Errorf("Stage() of a task with no inputs = %q, want its group", got)
	}
}
