package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/log/embedded"
	"github.com/runnel/runnel/operators"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// fixture is the real stack under the builder: an embedded log, its
// catalog and state manager, and the planner with the hooks the engine
// gives it. It does by hand the little the engine does around the
// builder (creating topics, recording sources, running tasks).
type fixture struct {
	t     *testing.T
	ctx   context.Context
	log   *embedded.Log
	cat   *catalog.Catalog
	state *state.Manager
	b     *Builder
	p     *planner.Planner
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	// PurgeInterval -1: a commit purges at once what it moves 16,384
	// records past (TestInternalTopicsPurged), not 30 s later.
	l, err := embedded.Open(embedded.Options{Dir: t.TempDir(), Logger: quiet(), PurgeInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	cat, err := catalog.Open(ctx, l, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := state.NewManager(state.Options{Log: l, DB: l.DB(), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	// Skipped records are only counted here; the engine's sink writes
	// them to the processing log.
	b, err := New(Env{Log: l, State: m, Logger: quiet(), OnFailure: func(operators.Failure) (log.ProduceRecord, bool) { return log.ProduceRecord{}, false }})
	if err != nil {
		t.Fatal(err)
	}
	p := &planner.Planner{Catalog: cat, NewBinder: func(sc expr.Scope) *expr.Binder { return &expr.Binder{Scope: sc} },
		Aggregates: ResolveAggregate, Formats: CheckFormats}
	return &fixture{t: t, ctx: ctx, log: l, cat: cat, state: m, b: b, p: p}
}

func (f *fixture) parse(text string) sql.Statement {
	f.t.Helper()
	stmts, err := sql.Parse(text)
	if err != nil {
		f.t.Fatalf("%s: %v", text, err)
	}
	return stmts[0]
}

// declare runs CREATE STREAM|TABLE (columns) WITH (..., partitions=n):
// the topic, then the catalog entry.
func (f *fixture) declare(text string) *catalog.Source {
	f.t.Helper()
	cs := f.parse(text).(*sql.CreateSource)
	src, err := f.p.PlanSource(cs)
	if err != nil {
		f.t.Fatalf("%s: %v", text, err)
	}
	n, err := catalog.ParsePartitions(cs.With["PARTITIONS"], 0)
	if err != nil {
		f.t.Fatal(err)
	}
	src.Partitions = n
	if err := f.log.CreateTopic(f.ctx, src.Topic, log.TopicConfig{Partitions: n, Compacted: src.Kind == catalog.KindTable}); err != nil {
		f.t.Fatal(err)
	}
	if err := f.cat.PutSource(f.ctx, src); err != nil {
		f.t.Fatal(err)
	}
	return src
}

// persistent plans CREATE ... AS SELECT or INSERT INTO ... SELECT and,
// for CREATE, makes its sink as the engine would (topic, catalog entry).
func (f *fixture) persistent(text string) *planner.Plan {
	f.t.Helper()
	plan, err := f.planPersistent(text)
	if err != nil {
		f.t.Fatalf("%s: %v", text, err)
	}
	if s := plan.Sink(); s.Create {
		if err := f.log.CreateTopic(f.ctx, s.Target.Topic, log.TopicConfig{Partitions: s.Target.Partitions}); err != nil {
			f.t.Fatal(err)
		}
		if err := f.cat.PutSource(f.ctx, s.Target); err != nil {
			f.t.Fatal(err)
		}
	}
	return plan
}

func (f *fixture) planPersistent(text string) (*planner.Plan, error) {
	switch st := f.parse(text).(type) {
	case *sql.CreateSource:
		return f.p.PlanPersistent(st.Query, planner.SinkSpec{Name: st.Name, Kind: st.Kind, With: st.With, Statement: st.Text()})
	case *sql.Insert:
		return f.p.PlanPersistent(st.Query, planner.SinkSpec{Name: st.Target, Insert: true})
	}
	return nil, fmt.Errorf("not a persistent query: %s", text)
}

// transient plans a query whose rows go to the client.
func (f *fixture) transient(text string) *planner.Plan {
	f.t.Helper()
	plan, err := f.p.PlanTransient(f.parse(text).(*sql.Select).Query)
	if err != nil {
		f.t.Fatalf("%s: %v", text, err)
	}
	return plan
}

// insert appends JSON-valued records with string keys (nil value: a
// tombstone) and event times.
func (f *fixture) insert(topic string, recs ...rec) {
	f.t.Helper()
	out := make([]log.Record, len(recs))
	for i, r := range recs {
		out[i] = log.Record{Partition: -1, Timestamp: r.ts}
		if r.key != "" {
			out[i].Key = []byte(r.key)
		}
		if r.value != "" {
			out[i].Value = []byte(r.value)
		}
	}
	if _, err := f.log.Append(f.ctx, topic, out); err != nil {
		f.t.Fatal(err)
	}
}

type rec struct {
	key, value string
	ts         int64
}

// run runs q's tasks until the test ends (or stop is called), as the
// engine's launch does: a goroutine each, each closing its store.
func (f *fixture) run(q *Query) (stop func()) {
	ctx, cancel := context.WithCancel(f.ctx)
	var wg sync.WaitGroup
	for _, task := range q.Tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if task.Store != nil {
				defer task.Store.Close()
			}
			if err := task.Run(ctx); err != nil {
				f.t.Errorf("task %s: %v", task, err)
			}
		}()
	}
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	f.t.Cleanup(stop)
	return stop
}

// caughtUp waits until every task of q has committed up to the end of its
// input, stage by stage, as a pull query waits.
func (f *fixture) caughtUp(q *Query) {
	f.t.Helper()
	for _, topic := range q.Inputs {
		ends, err := f.log.EndOffsets(f.ctx, topic)
		if err != nil {
			f.t.Fatal(err)
		}
		for _, task := range q.Tasks {
			for _, in := range task.Inputs {
				if in.Topic != topic {
					continue
				}
				for {
					if off, ok := task.CommittedAt(in); ok && off >= ends[in.Partition] {
						break
					}
					if f.ctx.Err() != nil {
						f.t.Fatalf("task %s never caught up on %s", task, topic)
					}
					time.Sleep(2 * time.Millisecond)
				}
			}
		}
	}
}

// latest reads a table topic's latest value per key, as "key=value"
// lines sorted (a tombstone deletes the key).
func (f *fixture) latest(topic string) []string {
	f.t.Helper()
	m := map[string]string{}
	for _, r := range f.records(topic) {
		if r.Value == nil {
			delete(m, string(r.Key))
		} else {
			m[string(r.Key)] = string(r.Value)
		}
	}
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// records reads every record of topic up to its end offsets.
func (f *fixture) records(topic string) []log.Record {
	f.t.Helper()
	ends, err := f.log.EndOffsets(f.ctx, topic)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []log.Record
	for p, end := range ends {
		if end == 0 {
			continue
		}
		r, err := f.log.NewReader(f.ctx, log.TopicPartition{Topic: topic, Partition: int32(p)}, 0)
		if err != nil {
			f.t.Fatal(err)
		}
		for r.Position() < end {
			recs, err := r.Next(f.ctx)
			if err != nil {
				r.Close()
				f.t.Fatal(err)
			}
			out = append(out, recs...)
		}
		r.Close()
	}
	return out
}

// drain reads an iterator to its end (or n rows) as text, one row a line,
// values separated by spaces, and closes it.
func drain(t *testing.T, it RowIter, n int) []string {
	t.Helper()
	defer it.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []string
	for n < 0 || len(out) < n {
		row, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("after %d rows: %v", len(out), err)
		}
		parts := make([]string, len(row))
		for i, v := range row {
			parts[i] = "NULL"
			if !v.IsNull() {
				parts[i] = types.Format(v, valueType(v))
			}
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

// valueType is a type to print v with.
func valueType(v types.Value) types.Type {
	switch v.Kind() {
	case types.KindInt:
		return types.Int
	case types.KindBigint:
		return types.Bigint
	case types.KindBoolean:
		return types.Boolean
	case types.KindDouble:
		return types.Double
	}
	return types.String
}

// built plans text (a persistent query), checks the plan and builds it as
// query "Q"; its stores and internal topics are removed when t ends.
func (f *fixture) built(t *testing.T, text string) (*Query, *planner.Plan) {
	t.Helper()
	plan := f.persistent(text)
	if err := Check(plan); err != nil {
		t.Fatalf("Check: %v", err)
	}
	q, err := f.b.Persistent(f.ctx, "Q", plan)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.remove(q) })
	return q, plan
}

// remove closes q's stores and deletes them and its topics, as TERMINATE
// does.
func (f *fixture) remove(q *Query) {
	f.t.Helper()
	for _, task := range q.Tasks {
		if task.Store != nil {
			task.Store.Close()
		}
	}
	for _, s := range q.Stores {
		if err := f.state.Drop(f.ctx, s.Name); err != nil {
			f.t.Error(err)
		}
	}
	for _, topic := range q.Topics {
		if err := f.log.DeleteTopic(f.ctx, topic); err != nil {
			f.t.Error(err)
		}
	}
}

// taskInputs lists each task's inputs, topic:partition joined by +.
func taskInputs(q *Query) []string {
	var tasks []string
	for _, task := range q.Tasks {
		var in []string
		for _, tp := range task.Inputs {
			in = append(in, tp.Topic+":"+string(rune('0'+tp.Partition)))
		}
		tasks = append(tasks, strings.Join(in, "+"))
	}
	return tasks
}

// checkStages compares a built query's inputs, internal topics, stores and
// tasks (taskInputs) with what a stage test expects.
func checkStages(t *testing.T, q *Query, inputs, topics []string, stores []Store, tasks []string) {
	t.Helper()
	got := taskInputs(q)
	if !reflect.DeepEqual(q.Inputs, inputs) || !reflect.DeepEqual(q.Topics, topics) ||
		!reflect.DeepEqual(q.Stores, stores) || !reflect.DeepEqual(got, tasks) {
		t.Errorf("inputs %v, topics %v, stores %v, tasks %v\nwant %v, %v, %v, %v", q.Inputs, q.Topics, q.Stores, got,
			inputs, topics, stores, tasks)
	}
}
