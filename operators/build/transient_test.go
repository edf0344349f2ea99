package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/types"
)

// materialize runs the materializer of a table until the test ends.
func (f *fixture) materialize(table string) *Query {
	f.t.Helper()
	q, err := f.b.Materializer(f.ctx, "MAT", f.mustSource(table))
	if err != nil {
		f.t.Fatal(err)
	}
	f.run(q)
	return q
}

func (f *fixture) pull(query string) RowIter {
	f.t.Helper()
	it, err := f.b.Pull(f.ctx, f.transient(query), "MAT")
	if err != nil {
		f.t.Fatalf("%s: %v", query, err)
	}
	return it
}

// TestPull: a pull query reads a table's materialized rows — by key, or
// scanning with a filter, ordered and limited — and sees updates and
// deletes.
func TestPull(t *testing.T) {
	f := newFixture(t)
	f.declare(usersDDL)
	mat := f.materialize("USERS")
	if len(mat.Stores) != 2 || mat.Stores[1] != (Store{"MAT/1", StoreMaterialized}) || mat.Inputs[0] != "users" {
		t.Fatalf("materializer: %+v", mat)
	}
	f.insert("users", rec{"alice", `{"REGION":"eu","AGE":30}`, 1}, rec{"bob", `{"REGION":"eu","AGE":40}`, 2},
		rec{"carol", `{"REGION":"us","AGE":20}`, 3}, rec{"dave", `{"REGION":"us","AGE":40}`, 4}, rec{"erin", `{"REGION":"eu","AGE":25}`, 5})
	f.insert("users", rec{"alice", `{"REGION":"us","AGE":31}`, 6}, rec{"erin", "", 7})
	f.caughtUp(mat)
	for _, tc := range []struct {
		query string
		want  string
		sort  bool // the rows come in no particular order
	}{
		{`SELECT * FROM users WHERE id = 'alice'`, "alice us 31", false},
		{`SELECT id FROM users WHERE id = 'erin'`, "", false},
		{`SELECT id FROM users WHERE id = 'nobody' OR age = 20`, "carol", false},
		{`SELECT id, age FROM users WHERE age > 20`, "alice 31,bob 40,dave 40", true},
		{`SELECT id, age FROM users ORDER BY age DESC, id`, "bob 40,dave 40,alice 31,carol 20", false},
		{`SELECT id FROM users ORDER BY age DESC LIMIT 3`, "bob,dave,alice", false},
		{`SELECT id, age FROM users WHERE region = 'us' ORDER BY age LIMIT 1`, "carol 20", false},
		{`SELECT id FROM users LIMIT 0`, "", false},
		{`SELECT id FROM users ORDER BY id LIMIT 0`, "", false},
	} {
		got := drain(t, f.pull(tc.query), -1)
		if tc.sort {
			sort.Strings(got)
		}
		if strings.Join(got, ",") != tc.want {
			t.Errorf("%s = %q, want %q", tc.query, got, tc.want)
		}
	}
	// LIMIT without ORDER BY: n of the rows.
	if got := drain(t, f.pull(`SELECT id FROM users LIMIT 2`), -1); len(got) != 2 {
		t.Errorf("LIMIT 2 = %q", got)
	}
	// An error evaluating a row fails the query.
	it := f.pull(`SELECT id FROM users WHERE 10 / (age - 40) > 0`)
	defer it.Close()
	var err error
	for err == nil {
		_, err = it.Next(f.ctx)
	}
	if errors.Is(err, io.EOF) || !strings.Contains(err.Error(), "zero") {
		t.Errorf("a division by zero in the filter: %v", err)
	}
}

// TestPullIsBounded: a scan of a table larger than a chunk streams every
// row once, in partition and key order, holding at most a chunk of rows;
// ORDER BY with LIMIT n holds n rows, ORDER BY alone every row.
func TestPullIsBounded(t *testing.T) {
	f := newFixture(t)
	f.declare(usersDDL)
	mat := f.materialize("USERS")
	const n = 5*pullChunk + 17
	recs := make([]rec, n)
	for i := range recs {
		recs[i] = rec{fmt.Sprintf("u%05d", i), fmt.Sprintf(`{"REGION":"r","AGE":%d}`, i), int64(i)}
	}
	f.insert("users", recs...)
	f.caughtUp(mat)

	it := f.pull(`SELECT id, age FROM users`).(*pullIter)
	seen := map[string]bool{}
	var last string
	lastPart := int32(-1)
	for {
		row, err := it.Next(f.ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(it.out) > pullChunk {
			t.Fatalf("the scan holds %d rows, more than a chunk", len(it.out))
		}
		id := row[0].Str()
		if seen[id] {
			t.Fatalf("%s twice", id)
		}
		seen[id] = true
		part := log.PartitionFor([]byte(id), 2)
		if part < lastPart || (part == lastPart && id <= last) {
			t.Fatalf("%s (partition %d) after %s (partition %d)", id, part, last, lastPart)
		}
		last, lastPart = id, part
	}
	it.Close()
	if len(seen) != n {
		t.Fatalf("scanned %d rows of %d", len(seen), n)
	}

	it = f.pull(`SELECT id FROM users WHERE age >= 0 ORDER BY age DESC LIMIT 4`).(*pullIter)
	if got := drain(t, &peek{pullIter: it, max: 4, t: t}, -1); strings.Join(got, ",") !=
		fmt.Sprintf("u%05d,u%05d,u%05d,u%05d", n-1, n-2, n-3, n-4) {
		t.Errorf("ORDER BY age DESC LIMIT 4 = %q", got)
	}
	it = f.pull(`SELECT id FROM users ORDER BY age`).(*pullIter)
	got := drain(t, it, -1)
	if len(got) != n || got[0] != "u00000" || got[n-1] != fmt.Sprintf("u%05d", n-1) {
		t.Errorf("ORDER BY age: %d rows, %q ... %q", len(got), got[0], got[len(got)-1])
	}
}

// peek checks that a sorting scan never holds more than max rows.
type peek struct {
	*pullIter
	max int
	t   *testing.T
}

func (p *peek) Next(ctx context.Context) (types.Row, error) {
	row, err := p.pullIter.Next(ctx)
	if held := len(p.out); held > p.max {
		p.t.Errorf("the sort holds %d rows, more than LIMIT %d", held, p.max)
	}
	return row, err
}

// TestPush: a stream scan reads what the topic holds and ends; a push query
// streams from the start (earliest) or from the end, up to its LIMIT.
func TestPush(t *testing.T) {
	f := newFixture(t)
	f.declare(pageviewsDDL)
	f.insert("pv", rec{"alice", `{"PAGEID":"home","VIEWTIME":50}`, 1}, rec{"bob", `{"PAGEID":"news","VIEWTIME":5}`, 2},
		rec{"carol", `{"PAGEID":"shop","VIEWTIME":11}`, 3}, rec{"dave", `not json`, 4})

	start := func(query string, earliest bool) RowIter {
		t.Helper()
		pq, err := f.b.Push(f.ctx, f.transient(query), earliest)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return pq.Start(f.ctx)
	}
	got := drain(t, start(`SELECT userid, viewtime FROM pv WHERE viewtime > 10`, false), -1)
	sort.Strings(got)
	if strings.Join(got, ",") != "alice 50,carol 11" {
		t.Errorf("scan = %q", got)
	}
	if got := drain(t, start(`SELECT userid FROM pv EMIT CHANGES LIMIT 3`, true), -1); len(got) != 3 {
		t.Errorf("push from the start, LIMIT 3 = %q", got)
	}
	it := start(`SELECT UCASE(userid) AS u FROM pv EMIT CHANGES`, false)
	f.insert("pv", rec{"erin", `{"PAGEID":"home","VIEWTIME":1}`, 5})
	if got := drain(t, it, 1); strings.Join(got, ",") != "ERIN" {
		t.Errorf("push from the end = %q", got)
	}
	if got := drain(t, start(`SELECT userid FROM pv EMIT CHANGES LIMIT 0`, true), -1); len(got) != 0 {
		t.Errorf("LIMIT 0 = %q", got)
	}
}

// TestPushAggregate: a GROUP BY push query aggregates in the caller's
// goroutine; over a table it retracts the rows that updates replace.
func TestPushAggregate(t *testing.T) {
	f := newFixture(t)
	f.declare(`CREATE TABLE users (id VARCHAR PRIMARY KEY, region VARCHAR, age INT) WITH (kafka_topic='users', partitions=1)`)
	f.insert("users", rec{"alice", `{"REGION":"eu","AGE":30}`, 1}, rec{"bob", `{"REGION":"eu","AGE":40}`, 2},
		rec{"alice", `{"REGION":"us","AGE":31}`, 3}, rec{"bob", "", 4})
	pq, err := f.b.Push(f.ctx, f.transient(`SELECT region, COUNT(*) AS n FROM users GROUP BY region HAVING COUNT(*) > 0 EMIT CHANGES LIMIT 4`), true)
	if err != nil {
		t.Fatal(err)
	}
	// eu 1, eu 2, then alice's move: eu 1 (retracted) and us 1; bob's
	// delete empties eu, which is no row.
	if got := drain(t, pq.Start(f.ctx), -1); strings.Join(got, ",") != "eu 1,eu 2,eu 1,us 1" {
		t.Errorf("aggregate push = %q", got)
	}
}

// TestPushSkipsPanics: a record that panics while a push query's reader
// converts it is skipped like one that fails; the first panic of the
// query is logged with its stack, the others only counted.
func TestPushSkipsPanics(t *testing.T) {
	var out lockedBuffer
	f := newFixture(t)
	b, err := New(Env{Log: f.log, State: f.state, Logger: slog.New(slog.NewTextHandler(&out, nil))})
	if err != nil {
		t.Fatal(err)
	}
	conv := b.safeConvert("t", func(rec *log.Record) (types.Row, bool, error) {
		if string(rec.Value) == "bad" {
			var s []int
			_ = s[len(rec.Value)] // an index out of range, as a bug would
		}
		return types.Row{types.NewString(string(rec.Value))}, true, nil
	})
	for i := 0; i < 3; i++ {
		if _, ok, err := conv(&log.Record{Value: []byte("bad")}); ok || err == nil || !strings.HasPrefix(err.Error(), "panic: ") {
			t.Errorf("a panicking record: ok %v, err %v", ok, err)
		}
	}
	if row, ok, err := conv(&log.Record{Value: []byte("good")}); !ok || err != nil || row[0].Str() != "good" {
		t.Errorf("a good record after the panics: %v %v %v", row, ok, err)
	}
	if s := out.String(); strings.Count(s, `msg="push query panicked"`) != 1 || !strings.Contains(s, "stack=") {
		t.Errorf("push query panics logged:\n%s\nwant once per query, with its stack", s)
	}
}

// TestConstant: SELECT without FROM is one row; only such a plan is.
func TestConstant(t *testing.T) {
	f := newFixture(t)
	plan, err := f.p.PlanConstant(f.parse(`SELECT 1 AS one, 'x' || 'y' AS xy`).(*sql.Select).Query)
	if err != nil {
		t.Fatal(err)
	}
	it, err := Constant(plan)
	if err != nil {
		t.Fatal(err)
	}
	if got := drain(t, it, -1); strings.Join(got, ",") != "1 xy" {
		t.Errorf("rows %q", got)
	}
	f.declare(pageviewsDDL)
	if _, err := Constant(f.transient(`SELECT userid FROM pv EMIT CHANGES`)); sqlstate.Of(err) != sqlstate.Internal {
		t.Errorf("Constant of a push query: %v", err)
	}
}

// lockedBuffer collects log output written from any goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
