package operators

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/log/embedded"
)

// recycleRig runs tasks over the real embedded log with small read
// batches, so that each task reads many batches and hands them back to
// its reader (batchRecycler); under the invariants tag, as in make test,
// the reader poisons a batch handed back, so a processor that keeps a
// view of one reads garbage.
type recycleRig struct {
	t      *testing.T
	ctx    context.Context
	emb    *embedded.Log
	quiet  *slog.Logger
	wg     sync.WaitGroup
	cancel context.CancelFunc
}

func newRecycleRig(t *testing.T, topics ...string) *recycleRig {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	emb, err := embedded.Open(embedded.Options{Dir: t.TempDir(), Logger: quiet, ReadBatch: 23})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	r := &recycleRig{t: t, ctx: ctx, emb: emb, quiet: quiet, cancel: cancel}
	t.Cleanup(r.stop)
	for _, name := range topics {
		if err := emb.CreateTopic(ctx, name, log.TopicConfig{Partitions: 1}); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// start runs task until stop.
func (r *recycleRig) start(task *Task) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if err := task.Run(r.ctx); err != nil {
			r.t.Errorf("task %s: %v", task.Group, err)
		}
	}()
}

// stop ends every task and waits for them.
func (r *recycleRig) stop() {
	r.cancel()
	r.wg.Wait()
}

// waitCommitted waits until task has committed its input up to the
// input topic's end.
func (r *recycleRig) waitCommitted(task *Task) {
	r.t.Helper()
	in := task.Inputs[0]
	for {
		ends, err := r.emb.EndOffsets(r.ctx, in.Topic)
		if err != nil {
			r.t.Fatal(err)
		}
		if got, ok := task.Committed(); ok && got == ends[in.Partition] {
			return
		}
		select {
		case <-r.ctx.Done():
			r.t.Fatalf("task %s never committed %s to its end", task.Group, in.Topic)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// TestAggregationTasksRecycleBatches: an aggregation's two stages, run as
// tasks over the embedded log with read batches of 23 records, give the
// groups the rows that feeding every record to them in memory gives
// (MAX of strings among the functions: a group that kept a view of a
// recycled batch would read poison). The second stage lingers, reading
// several batches into each commit and handing each back once processed
// (inputDropper), or commits each batch on its own.
func TestAggregationTasksRecycleBatches(t *testing.T) {
	for _, linger := range []bool{false, true} {
		t.Run(fmt.Sprintf("linger=%v", linger), func(t *testing.T) {
			f := newCombineFixture(t)
			r := newRecycleRig(t, "in", "rp")
			rng := rand.New(rand.NewPCG(7, 11))
			const n = 2000
			var recs []log.Record
			for i := range n {
				rec := f.record(rng, int64(i))
				rec.Value = append([]byte(nil), rec.Value...)
				recs = append(recs, rec)
			}
			// The reference: the same records through the same stages in
			// memory, each record's bytes its own.
			want := map[int64]string{}
			ref, refAgg := &Repartition{Grouper: f.grouper, Topic: "rp"}, f.aggregator(want)
			for i := range recs {
				var out []log.ProduceRecord
				if err := ref.Process(&recs[i], func(pr log.ProduceRecord) { out = append(out, pr) }); err != nil {
					t.Fatal(err)
				}
				for j := range out {
					if err := refAgg.Process(&out[j].Record, func(log.ProduceRecord) {}); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := refAgg.Flush(func(log.ProduceRecord) {}); err != nil {
				t.Fatal(err)
			}

			first := &Task{Log: r.emb, Group: "first", QueryID: "q", Inputs: []log.TopicPartition{{Topic: "in"}},
				Metrics: &Metrics{}, Logger: r.quiet, Processor: &Repartition{Grouper: f.grouper, Topic: "rp"}}
			got := map[int64]string{}
			second := &Task{Log: r.emb, Group: "second", QueryID: "q", Inputs: []log.TopicPartition{{Topic: "rp"}},
				Metrics: &Metrics{}, Logger: r.quiet, Processor: f.aggregator(got)}
			if linger {
				// Without the log's CommitAsync (a task with a store
				// commits and waits), the aggregation, whose emit cache
				// is on, lingers while the first stage is behind.
				second.Log = &failingLog{Log: r.emb}
				second.Upstream = []*MergeUpstream{{Group: "first", Topic: "in"}}
				second.lingerFor = lingerBounds{interval: 200 * time.Millisecond, records: 500, behind: 1}
			}
			if _, err := r.emb.Append(r.ctx, "in", recs[:n/2]); err != nil {
				t.Fatal(err)
			}
			r.start(second)
			r.start(first)
			if _, err := r.emb.Append(r.ctx, "in", recs[n/2:]); err != nil {
				t.Fatal(err)
			}
			r.waitCommitted(first)
			r.waitCommitted(second)
			r.stop()
			if len(got) != len(want) {
				t.Fatalf("%d groups, want %d", len(got), len(want))
			}
			for k, w := range want {
				if got[k] != w {
					t.Fatalf("group %d: %s, want %s", k, got[k], w)
				}
			}
		})
	}
}

// keeper is a processor that claims to keep nothing of a batch
// (batchRecycler) but keeps a view of every record's value: what a
// processor with a wrong recycleBatch does.
type keeper struct {
	views, copies [][]byte
}

func (k *keeper) Process(rec *log.Record, _ Emit) error {
	k.views = append(k.views, rec.Value)
	k.copies = append(k.copies, append([]byte(nil), rec.Value...))
	return nil
}
func (k *keeper) Flush(Emit) error   { return nil }
func (k *keeper) recycleBatch() bool { return true }

// TestRecycledViewsChange: the views a processor keeps of the batches
// its task hands back do not stay what they were (under the invariants
// tag they read as poison at once; without it, later batches land on
// them): the test above, and every task test over the embedded log,
// would see a processor that keeps them.
func TestRecycledViewsChange(t *testing.T) {
	r := newRecycleRig(t, "in")
	var recs []log.Record
	for i := range 500 {
		recs = append(recs, log.Record{Value: fmt.Appendf(nil, "value %d %s", i, strings.Repeat("x", i%9)), Partition: 0})
	}
	if _, err := r.emb.Append(r.ctx, "in", recs); err != nil {
		t.Fatal(err)
	}
	k := &keeper{}
	task := &Task{Log: r.emb, Group: "g", QueryID: "q", Inputs: []log.TopicPartition{{Topic: "in"}},
		Metrics: &Metrics{}, Logger: r.quiet, Processor: k}
	r.start(task)
	r.waitCommitted(task)
	r.stop()
	if len(k.views) != len(recs) {
		t.Fatalf("%d records processed, want %d", len(k.views), len(recs))
	}
	changed := 0
	for i := range k.views {
		if string(k.views[i]) != string(k.copies[i]) {
			changed++
		}
	}
	// Every batch but the last is handed back and written over.
	if changed < len(recs)/2 {
		t.Fatalf("%d of %d kept views changed: recycled batches are not written over", changed, len(recs))
	}
}
