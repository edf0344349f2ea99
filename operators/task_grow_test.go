package operators

import (
	"io"
	"log/slog"
	"testing"

	"github.com/runnel/runnel/log"
)

// fanout emits first records for the first record it processes and each
// records for every other, as an EXPLODE does (each: 5 for Nexmark q5's).
type fanout struct {
	first, each int
	n           int
}

func (f *fanout) Process(rec *log.Record, emit Emit) error {
	k := f.each
	if f.n == 0 {
		k = f.first
	}
	f.n++
	for range k {
		emit(log.ProduceRecord{Topic: "out", Record: log.Record{Value: rec.Value, Partition: 0}})
	}
	return nil
}

func (f *fanout) Flush(Emit) error { return nil }

// quietTask is a task of one input partition running p, logging
// nowhere.
func quietTask(p Processor) *Task {
	return &Task{Group: "g", Inputs: []log.TopicPartition{{Topic: "in"}}, Processor: p, Metrics: &Metrics{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// countGrowth counts in grown each emit of b that grows its output.
func countGrowth(b *batch, grown *int) {
	emit := b.emit
	b.emit = func(pr log.ProduceRecord) {
		c := cap(b.txn.Records)
		emit(pr)
		if cap(b.txn.Records) != c {
			*grown++
		}
	}
}

// growBatch processes n records through p in one batch that expects
// them, and returns the output's capacity and how many times it changed.
func growBatch(p Processor, n int) (capacity, grown int) {
	var txn log.Txn
	b := quietTask(p).newBatch(&txn)
	b.expect = n
	rec := log.Record{Value: []byte("v")}
	for range n {
		before := cap(txn.Records)
		b.process(0, &rec)
		if cap(txn.Records) != before {
			grown++
		}
	}
	return cap(txn.Records), grown
}

// TestBatchGrowsByEstimate: a batch whose records each emit five grows
// its output in a few steps to about the five times its records it ends
// up holding (append, a quarter at a time, took 29 steps and five times
// the final slice's bytes).
func TestBatchGrowsByEstimate(t *testing.T) {
	const n = 16384
	capacity, grown := growBatch(&fanout{first: 5, each: 5}, n)
	if capacity < 5*n || capacity > 5*n*9/8 {
		t.Errorf("output capacity %d for %d records, want %d to %d", capacity, 5*n, 5*n, 5*n*9/8)
	}
	if grown > 3 {
		t.Errorf("the output grew %d times, want at most 3", grown)
	}
}

// TestBatchGrowthBounded: an estimate made from a first record that
// emits many (5,000 of a batch of 1,000 whose others emit none) grows
// the output at most growMax times at a step, not to the 5 million the
// estimate says.
func TestBatchGrowthBounded(t *testing.T) {
	capacity, _ := growBatch(&fanout{first: 5000}, 1000)
	if capacity < 5000 || capacity > growMax*growFirst*2 {
		t.Errorf("output capacity %d for 5,000 records, want at most %d", capacity, growMax*growFirst*2)
	}
}

// flusher emits nothing as it processes a record and each records per
// record processed at its Flush, as an aggregation's emit cache or a
// combiner does; it says how many (flushSizer).
// With burst set, the burst-th record processed emits what the records
// so far merged before its Process returns, as an aggregation whose
// emit cache outgrows its bytes does.
type flusher struct {
	each, n int
	burst   int
	seen    int
}

func (f *flusher) Process(_ *log.Record, emit Emit) error {
	f.n++
	if f.seen++; f.seen == f.burst {
		return f.Flush(emit)
	}
	return nil
}

// Flush emits the merged records, held (flushOutput counts them) until
// the last is out.
func (f *flusher) Flush(emit Emit) error {
	for range f.n * f.each {
		emit(log.ProduceRecord{Topic: "out", Record: log.Record{Value: []byte("v")}})
	}
	f.n = 0
	return nil
}

func (f *flusher) flushOutput() int { return f.n * f.each }

// TestBatchReservesBurst: a merging processor's burst before the Flush,
// past the records the batch expected (a merging task reads past its
// first read batch), makes room for itself in one step.
func TestBatchReservesBurst(t *testing.T) {
	const n, each = 10000, 5
	f := &flusher{each: each, burst: 2 * n}
	var txn log.Txn
	b := quietTask(f).newBatch(&txn)
	b.expect = n
	rec := log.Record{Value: []byte("v")}
	grown := 0
	countGrowth(b, &grown)
	for range 2 * n {
		b.process(0, &rec)
	}
	if len(txn.Records) != 2*n*each {
		t.Fatalf("%d records, want %d", len(txn.Records), 2*n*each)
	}
	if grown != 1 {
		t.Errorf("the output grew %d times for one burst, want once", grown)
	}
	if c := cap(txn.Records); c > 2*n*each*9/8+1 {
		t.Errorf("output capacity %d for %d records, want at most an eighth more", c, 2*n*each)
	}
}

// TestBatchReservesFlush: a flush that emits 50,000 records after the
// batch's records emitted none makes room for them in one step (append
// took 30 or so, five times the final slice's bytes, all fresh memory),
// and a next batch of the same output, in the slice kept from the last
// (Task.run's out), makes none.
func TestBatchReservesFlush(t *testing.T) {
	const n, each = 10000, 5
	f := &flusher{each: each}
	tk := quietTask(f)
	var out []log.ProduceRecord
	grown := 0
	for round := range 2 {
		txn := log.Txn{Records: out[:0]}
		b := tk.newBatch(&txn)
		b.expect = n
		rec := log.Record{Value: []byte("v")}
		for range n {
			b.process(0, &rec)
		}
		before := cap(txn.Records)
		countGrowth(b, &grown)
		if err := tk.flush(b); err != nil {
			t.Fatal(err)
		}
		if cap(txn.Records) != before {
			grown++ // grown by reserve, before the first emit
		}
		if len(txn.Records) != n*each {
			t.Fatalf("round %d: %d records, want %d", round, len(txn.Records), n*each)
		}
		if c := cap(txn.Records); c > n*each*9/8+1 {
			t.Errorf("round %d: output capacity %d for %d records, want at most an eighth more", round, c, n*each)
		}
		out = txn.Records
		clear(out)
	}
	if grown != 1 {
		t.Errorf("the output grew %d times over two batches, want once", grown)
	}
}
