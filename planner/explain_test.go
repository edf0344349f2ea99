package planner_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/log/embedded"
	"github.com/runnel/runnel/operators/build"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/expr"
)

// TestExplain runs each file of testdata (explain, groupby, ...), each
// over a catalog of its own: `source` declares streams and tables in a
// real catalog; `ddl` prints the catalog entry CREATE STREAM|TABLE
// binds to, or its error; `explain` prints the plan of a query, CREATE ... AS
// SELECT or INSERT ... SELECT, or the error planning gives and its
// SQLSTATE. Regenerate with -rewrite.
func TestExplain(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) { runExplain(t, path) })
}

func runExplain(t *testing.T, path string) {
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
	// The hooks the engine gives the planner, from the runtime.
	p := &planner.Planner{
		Catalog:    cat,
		NewBinder:  func(sc expr.Scope) *expr.Binder { return &expr.Binder{Scope: sc} },
		Aggregates: build.ResolveAggregate,
		Formats:    build.CheckFormats,
	}
	datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
		stmts, err := sql.Parse(d.Input)
		if err != nil {
			return "error: " + err.Error() + "\n"
		}
		switch d.Cmd {
		case "source":
			for _, st := range stmts {
				cs, ok := st.(*sql.CreateSource)
				if !ok {
					d.Fatalf(t, "source takes CREATE STREAM|TABLE")
				}
				if err := declare(ctx, p, cat, cs); err != nil {
					return fmt.Sprintf("error %s: %v\n", sqlstate.Of(err), err)
				}
			}
			return ""
		case "ddl":
			cs, ok := stmts[0].(*sql.CreateSource)
			if !ok {
				d.Fatalf(t, "ddl takes CREATE STREAM|TABLE")
			}
			src, err := p.PlanSource(cs)
			if err != nil {
				return fmt.Sprintf("error %s: %v\n", sqlstate.Of(err), err)
			}
			return describeSource(src)
		case "explain":
			plan, err := planOf(p, stmts[0])
			if err != nil {
				return fmt.Sprintf("error %s: %v\n", sqlstate.Of(err), err)
			}
			return plan.Explain() + "\n"
		}
		d.Fatalf(t, "unknown command %s", d.Cmd)
		return ""
	})
}

// declare binds DDL with the planner, as the engine does, and records
// the source. The engine takes the partition count from the topic it finds
// or creates; these sources are over topics of four unless their WITH
// says PARTITIONS.
func declare(ctx context.Context, p *planner.Planner, cat *catalog.Catalog, cs *sql.CreateSource) error {
	src, err := p.PlanSource(cs)
	if err != nil {
		return err
	}
	src.Partitions = 4
	if n, ok := cs.With["PARTITIONS"]; ok {
		v, err := strconv.ParseInt(n, 10, 32)
		if err != nil {
			return err
		}
		src.Partitions = int32(v)
	}
	return cat.PutSource(ctx, src)
}

// describeSource prints a bound catalog entry, one property a line.
func describeSource(src *catalog.Source) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s | topic: %s | key format: %s | value format: %s\n", src.Kind, src.Name, src.Topic, src.KeyFormat, src.ValueFormat)
	for _, c := range src.Columns {
		key := ""
		if c.Key {
			key = " KEY"
		}
		fmt.Fprintf(&b, "  %s %s%s\n", c.Name, c.Type, key)
	}
	props := make([]string, 0, len(src.Props))
	for k, v := range src.Props {
		props = append(props, k+"="+v)
	}
	sort.Strings(props)
	for _, p := range props {
		fmt.Fprintf(&b, "  with %s\n", p)
	}
	return b.String()
}

func planOf(p *planner.Planner, st sql.Statement) (*planner.Plan, error) {
	switch st := st.(type) {
	case *sql.Select:
		return p.PlanTransient(st.Query)
	case *sql.CreateSource:
		return p.PlanPersistent(st.Query, planner.SinkSpec{Name: st.Name, Kind: st.Kind, With: st.With, Statement: st.Text()})
	case *sql.Insert:
		return p.PlanPersistent(st.Query, planner.SinkSpec{Name: st.Target, Insert: true})
	}
	return nil, fmt.Errorf("not a query: %s", st.Text())
}
