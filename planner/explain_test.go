package planner_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/log/embedded"
	"github.com/runnel/runnel/operators/agg"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// TestExplain runs testdata/explain: `source` declares streams and tables
// in a real catalog; `explain` prints the plan of a query, CREATE ... AS
// SELECT or INSERT ... SELECT, or the error planning gives and its
// SQLSTATE. Regenerate with -rewrite.
func TestExplain(t *testing.T) {
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
	p := &planner.Planner{
		Catalog:   cat,
		NewBinder: func(sc expr.Scope) *expr.Binder { return &expr.Binder{Scope: sc} },
		Aggregates: func(name string, args []types.Type, consts []types.Value, distinct bool) (types.Type, error) {
			f, err := agg.Resolve(name, args, consts, distinct)
			if err != nil {
				return types.Type{}, err
			}
			return f.ResultType(), nil
		},
	}
	datadriven.RunTest(t, "testdata/explain", func(t *testing.T, d *datadriven.TestData) string {
		stmts, err := sql.Parse(d.Input)
		if err != nil {
			return "error: " + err.Error() + "\n"
		}
		switch d.Cmd {
		case "source":
			for _, st := range stmts {
				cs, ok := st.(*sql.CreateSource)
				if !ok || cs.Query != nil {
					d.Fatalf(t, "source takes CREATE STREAM|TABLE with columns")
				}
				if err := cat.PutSource(ctx, sourceOf(cs)); err != nil {
					d.Fatalf(t, "%v", err)
				}
			}
			return ""
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

// sourceOf turns DDL into a catalog entry as the engine would, minus the
// checks the engine makes (these inputs are valid).
func sourceOf(cs *sql.CreateSource) *catalog.Source {
	src := &catalog.Source{Name: cs.Name, Kind: catalog.KindStream, Topic: cs.With["KAFKA_TOPIC"],
		KeyFormat: "KAFKA", ValueFormat: "JSON", Partitions: 4, Statement: cs.Text()}
	if cs.Kind == sql.Table {
		src.Kind = catalog.KindTable
	}
	var keys, vals []types.Column
	for _, c := range cs.Columns {
		col := types.Column{Name: c.Name, Type: c.Type, Key: c.Key}
		if c.Key {
			keys = append(keys, col)
		} else {
			vals = append(vals, col)
		}
	}
	if len(keys) == 0 {
		src.KeyFormat = "NONE"
	}
	src.Columns = append(keys, vals...)
	return src
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
