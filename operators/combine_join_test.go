package operators

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/log/embedded"
	"github.com/runnel/runnel/operators/agg"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// joinGrouping groups the window fixture's joined rows (V, W, the key,
// ROWTIME at 1, 6, 10, 11) by the key: COUNT(*), MAX(W), MIN(V), all of
// which combine; MAX and MIN of strings that are views of the join's
// stored rows, which a partial must copy.
func joinGrouping(t *testing.T) (*Grouper, []agg.Func) {
	t.Helper()
	resolve := func(name string, arg ...types.Type) agg.Func {
		f, err := agg.Resolve(name, arg, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	funcs := []agg.Func{resolve("COUNT"), resolve("MAX", types.String), resolve("MIN", types.String)}
	codec, err := NewGroupCodec([]types.Type{types.String}, [][]types.Type{nil, {types.String}, {types.String}})
	if err != nil {
		t.Fatal(err)
	}
	col := func(i int) expr.Expr { return &expr.Column{Index: i, T: types.String} }
	return &Grouper{GroupBy: []expr.Expr{col(10)}, Args: [][]expr.Expr{nil, {col(6)}, {col(1)}}, TimeIndex: 11, Codec: codec}, funcs
}

// joinRig is a stream-stream join task over the embedded log whose
// commits with state fail on demand (commitCounter), writing its rows
// grouped to out: one record per row, or combined (JoinCombine).
type joinRig struct {
	t       *testing.T
	ctx     context.Context
	log     *commitCounter
	m       *state.Manager
	group   string
	out     string
	combine bool
	bound   int
	task    *Task
	store   *state.TaskStore
	stop    func()
}

// start builds the task afresh (a restart: a new processor over the
// store's last commit) and runs it.
func (r *joinRig) start() {
	r.t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := r.m.Open(r.ctx, state.Spec{Name: r.group + "/join"})
	if err != nil {
		r.t.Fatal(err)
	}
	r.store = st
	// A grace that closes nothing: the pairs do not depend on how the
	// two inputs' records arrived, which differs from task to task.
	f := newWindowFixture(r.t, within{200, 200, 1 << 40, "inner"}, st, nil)
	g, funcs := joinGrouping(r.t)
	var proc InputProcessor = f.j
	if r.combine {
		c := &JoinCombine{Join: f.j, Grouper: g, Topic: r.out, Funcs: funcs, CombineBytes: r.bound}
		f.j.Output = c.Output
		proc = c
	} else {
		f.j.Output = g.Output(r.out)
	}
	r.task = &Task{Log: r.log, Group: r.group, QueryID: r.group, Inputs: []log.TopicPartition{{Topic: "l"}, {Topic: "r"}},
		Store: st, Processor: proc, Metrics: &Metrics{}, Logger: quiet}
	ctx, cancel := context.WithCancel(r.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := r.task.Run(ctx); err != nil {
			r.t.Errorf("Run: %v", err)
		}
	}()
	r.stop = func() { cancel(); <-done; st.Close() }
}

// caughtUp waits until the task has committed both inputs to their ends.
func (r *joinRig) caughtUp() {
	r.t.Helper()
	for _, tp := range r.task.Inputs {
		ends, err := r.log.EndOffsets(r.ctx, tp.Topic)
		if err != nil {
			r.t.Fatal(err)
		}
		for {
			if off, ok := r.task.CommittedAt(tp); ok && off >= ends[0] {
				break
			}
			select {
			case <-r.ctx.Done():
				r.t.Fatalf("%s never caught up on %s (failing: %v)", r.group, tp.Topic, r.task.Failing())
			case <-time.After(2 * time.Millisecond):
			}
		}
	}
}

// TestJoinCombineMatchesRows runs a stream-stream join into a grouping
// twice over the same inputs, on the real log: once writing a record per
// joined row, once combining them, with commits that fail (the task goes
// back to its last commit and replays), a restart, and a bound small
// enough that partials are also written between records. Folded by the
// aggregation's second stage, the two topics give the same groups, with
// the same times; the combined one holds fewer records.
func TestJoinCombineMatchesRows(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	emb, err := embedded.Open(embedded.Options{Dir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emb.Close() })
	l := &commitCounter{Log: emb}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	for _, name := range []string{"l", "r", "rows", "parts"} {
		if err := l.CreateTopic(ctx, name, log.TopicConfig{Partitions: 1}); err != nil {
			t.Fatal(err)
		}
	}
	m, err := state.NewManager(state.Options{Log: l, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	rows := &joinRig{t: t, ctx: ctx, log: l, m: m, group: "rows", out: "rows"}
	parts := &joinRig{t: t, ctx: ctx, log: l, m: m, group: "parts", out: "parts", combine: true, bound: 700}
	rng := rand.New(rand.NewPCG(3, 4))
	n := 0
	appendChunk := func() {
		for _, side := range []string{"l", "r"} {
			var recs []log.Record
			for i := range 60 {
				ts := int64((n+i)*10 + rng.IntN(30))
				if side == "r" {
					ts += 5
				}
				field := map[string]string{"l": "V", "r": "W"}[side]
				recs = append(recs, log.Record{Key: fmt.Appendf(nil, "k%d", rng.IntN(6)),
					Value: fmt.Appendf(nil, `{"%s":"%c%d"}`, field, 'a'+rng.IntN(26), rng.IntN(100)), Timestamp: ts, Partition: 0})
			}
			if _, err := l.Append(ctx, side, recs); err != nil {
				t.Fatal(err)
			}
		}
		n += 60
	}
	for _, r := range []*joinRig{rows, parts} {
		r.start()
	}
	for chunk := range 8 {
		switch chunk {
		case 3:
			// A restart of the combining task: its processor and its
			// partials are new.
			parts.stop()
			parts.start()
		case 5:
			// Commits fail while the combining task runs alone, so
			// that the failures injected are its own.
			rows.stop()
			l.mu.Lock()
			l.failCommits = 3
			l.mu.Unlock()
		case 6:
			rows.start()
		}
		appendChunk()
		for _, r := range []*joinRig{rows, parts} {
			if chunk != 5 || r != rows {
				r.caughtUp()
			}
		}
	}
	for _, r := range []*joinRig{rows, parts} {
		r.caughtUp()
		r.stop()
	}
	if l.failCommits != 0 {
		t.Fatalf("%d injected failures left: the combining task did not commit through them", l.failCommits)
	}

	g, funcs := joinGrouping(t)
	fold := func(topic string) (groups map[string]string, records, partials int) {
		groups = map[string]string{}
		project := []expr.Expr{&expr.Column{Index: 0, T: types.String}, &expr.Column{Index: 1, T: types.Bigint},
			&expr.Column{Index: 2, T: types.String}, &expr.Column{Index: 3, T: types.String}}
		a := &Aggregator{
			Spec:  &AggregateSpec{Funcs: funcs, Codec: g.Codec, Project: project, AddsOnly: true},
			Store: state.NewMemStore(), Metrics: &Metrics{}, Input: g.Codec.Reader(), EmitCacheBytes: 1 << 20,
			Output: func(o AggOutput, _ Emit) error {
				groups[o.Key[0].Str()] = fmt.Sprintf("%v@%d", o.Row, o.Time)
				return nil
			},
		}
		ends, err := l.EndOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		rd, err := l.NewReader(ctx, log.TopicPartition{Topic: topic}, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		for rd.Position() < ends[0] {
			recs, err := rd.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for i := range recs {
				records++
				if isPartial(recs[i].Value) {
					partials++
				}
				if err := a.Process(&recs[i], func(log.ProduceRecord) {}); err != nil {
					t.Fatal(err)
				}
			}
			if err := a.Flush(func(log.ProduceRecord) {}); err != nil {
				t.Fatal(err)
			}
		}
		return groups, records, partials
	}
	want, rowRecs, _ := fold("rows")
	got, combRecs, partials := fold("parts")
	if len(want) == 0 || len(got) != len(want) {
		t.Fatalf("groups differ:\nrows     %v\ncombined %v", want, got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("group %s: rows %s, combined %s", k, v, got[k])
		}
	}
	if partials != combRecs || combRecs >= rowRecs {
		t.Fatalf("the combining join wrote %d records (%d partials) for %d rows", combRecs, partials, rowRecs)
	}
	t.Logf("%d rows, %d records combined: %v", rowRecs, combRecs, got)
}

// TestJoinCombineRecover: a batch that failed leaves no partials behind;
// its replay makes them again.
func TestJoinCombineRecover(t *testing.T) {
	f := newWindowFixture(t, within{1 << 40, 1 << 40, 0, "inner"}, NewOrderedMemStore(), nil)
	g, funcs := joinGrouping(t)
	c := &JoinCombine{Join: f.j, Grouper: g, Topic: "parts", Funcs: funcs}
	f.j.Output = c.Output
	for _, s := range []string{"l a x@1", "r a y@2", "r a z@3", "l b x@4", "r b y@5"} {
		f.step(t, s)
	}
	if c.comb == nil || len(c.comb.groups) != 2 {
		t.Fatalf("partials %+v, want two groups", c.comb)
	}
	c.Recover()
	var n int
	if err := c.Flush(func(log.ProduceRecord) { n++ }); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d records after Recover, want 0", n)
	}
}
