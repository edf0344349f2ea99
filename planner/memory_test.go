package planner_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"testing"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/log/embedded"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// maxBytesPerSQLByte bounds what parsing and planning a statement may
// allocate per byte of its text. Measured: about 540 for the chains below
// (a third of it TiDB's parser), the same at 10,000 and 100,000 terms.
// Before expressions rendered their text lazily every AND/OR node held
// its whole subtree's text: 7,500 bytes per byte at 10,000 terms and
// growing with the length (23 GiB for 50,000 terms in a server).
const maxBytesPerSQLByte = 2000

// TestPlanningMemoryIsLinear parses and plans WHERE clauses of 10,000 and
// 100,000 ORed (and ANDed) comparisons against a real catalog, and bounds
// the bytes allocated per byte of SQL, which must not grow with the
// length. The plan must also be right: its filter is evaluated.
func TestPlanningMemoryIsLinear(t *testing.T) {
	l, err := embedded.Open(embedded.Options{Dir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	cat, err := catalog.Open(ctx, l, nil)
	if err != nil {
		t.Fatal(err)
	}
	ddl, err := sql.Parse("CREATE STREAM s (k VARCHAR KEY, a INT) WITH (kafka_topic='s')")
	if err != nil {
		t.Fatal(err)
	}
	p := &planner.Planner{Catalog: cat, NewBinder: func(sc expr.Scope) *expr.Binder { return &expr.Binder{Scope: sc} }}
	if err := declare(ctx, p, cat, ddl[0].(*sql.CreateSource)); err != nil {
		t.Fatal(err)
	}

	where := func(n int, term, op string) string {
		var b strings.Builder
		b.WriteString("SELECT k FROM s WHERE ")
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteString(op)
			}
			fmt.Fprintf(&b, term, i)
		}
		return b.String()
	}
	// row is the input row the filter reads: K, A, then the pseudo
	// columns (ROWTIME, ROWPARTITION, ROWOFFSET).
	row := func(a int32) types.Row {
		r := make(types.Row, len(planner.InputColumns(mustSource(t, cat, "S"))))
		r[0], r[1] = types.NewString("k"), types.NewInt(a)
		return r
	}
	for _, tc := range []struct {
		name      string
		term, op  string
		match, no int32 // values of A the filter keeps and drops
	}{
		{"OR", "a = %d", " OR ", 7, -1},
		{"AND", "a <> %d", " AND ", -1, 7},
	} {
		var perByte []float64
		for _, n := range []int{10_000, 100_000} {
			text := where(n, tc.term, tc.op)
			runtime.GC()
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			stmts, err := sql.Parse(text)
			if err != nil {
				t.Fatalf("%s of %d terms: parse: %v", tc.name, n, err)
			}
			plan, err := p.PlanTransient(stmts[0].(*sql.Select).Query)
			if err != nil {
				t.Fatalf("%s of %d terms: plan: %v", tc.name, n, err)
			}
			runtime.ReadMemStats(&m1)
			pb := float64(m1.TotalAlloc-m0.TotalAlloc) / float64(len(text))
			t.Logf("%s of %d terms: %d bytes of SQL, %.0f bytes allocated per byte", tc.name, n, len(text), pb)
			if pb > maxBytesPerSQLByte {
				t.Fatalf("%s of %d terms: %.0f bytes allocated per byte of SQL, over %d", tc.name, n, pb, maxBytesPerSQLByte)
			}
			perByte = append(perByte, pb)
			filter := planner.Find[*planner.Filter](plan.Root)
			if filter == nil {
				t.Fatalf("%s of %d terms: the plan has no filter:\n%s", tc.name, n, plan.Explain())
			}
			for a, want := range map[int32]bool{tc.match: true, tc.no: false} {
				v, err := filter.Predicate.Eval(row(a))
				if err != nil || v.IsNull() || v.Bool() != want {
					t.Fatalf("%s of %d terms: filter(A=%d) = %v, %v; want %v", tc.name, n, a, v, err, want)
				}
			}
			// EXPLAIN renders the filter in time and memory linear in it.
			runtime.ReadMemStats(&m0)
			out := plan.Explain()
			runtime.ReadMemStats(&m1)
			if !strings.Contains(out, fmt.Sprintf("(A %s %d)", strings.Fields(tc.term)[1], n-1)) {
				t.Fatalf("%s: EXPLAIN lacks the last term", tc.name)
			}
			if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > uint64(20*len(out)) {
				t.Errorf("%s: EXPLAIN of %d bytes allocated %d", tc.name, len(out), alloc)
			}
		}
		if perByte[1] > 1.5*perByte[0] {
			t.Errorf("%s: bytes per byte of SQL grew from %.0f to %.0f with ten times the terms", tc.name, perByte[0], perByte[1])
		}
	}
}

// TestDeepArithmeticIsRefused: 20,000 terms of 1 + 1 + ... nest 20,000
// levels deep (+ is not associative, so it is not flattened): the parser
// refuses it with 54001 before building more than its input's worth.
func TestDeepArithmeticIsRefused(t *testing.T) {
	text := "SELECT " + strings.Repeat("1 + ", 19_999) + "1 AS x FROM s"
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	_, err := sql.Parse(text)
	runtime.ReadMemStats(&m1)
	if sqlstate.Of(err) != sqlstate.StatementTooComplex {
		t.Fatalf("20,000 terms of 1 + 1: %v", err)
	}
	if pb := float64(m1.TotalAlloc-m0.TotalAlloc) / float64(len(text)); pb > maxBytesPerSQLByte {
		t.Fatalf("refusing it allocated %.0f bytes per byte", pb)
	}
}

func mustSource(t *testing.T, cat *catalog.Catalog, name string) *catalog.Source {
	t.Helper()
	s, err := cat.Source(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
