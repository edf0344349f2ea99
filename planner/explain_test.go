package planner_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

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
// SQLSTATE; `position` plans the last statement of its input, which must
// fail, and prints the input's lines up to the error's position, a caret
// under it, and the error (showPosition). Regenerate with -rewrite.
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
		case "position":
			st := stmts[len(stmts)-1]
			if e, ok := st.(*sql.Explain); ok {
				st = e.Statement
			}
			_, err := planOf(p, st)
			if err == nil {
				d.Fatalf(t, "planned, want an error")
			}
			return showPosition(d.Input, err)
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

// showPosition prints text's lines up to the one holding err's position
// (Position() int, 1-based characters, as the server sends it), a caret
// under the position, then the position, SQLSTATE and message; an error
// without a position prints as "error CODE (no position): message".
func showPosition(text string, err error) string {
	var p interface{ Position() int }
	if !errors.As(err, &p) || p.Position() <= 0 {
		return fmt.Sprintf("error %s (no position): %v\n", sqlstate.Of(err), err)
	}
	var b strings.Builder
	col := p.Position() - 1
	for _, line := range strings.SplitAfter(text, "\n") {
		n := utf8.RuneCountInString(line)
		b.WriteString(strings.TrimSuffix(line, "\n") + "\n")
		if col < n || !strings.HasSuffix(line, "\n") {
			break
		}
		col -= n
	}
	fmt.Fprintf(&b, "%s^\nerror %s at %d: %v\n", strings.Repeat(" ", col), sqlstate.Of(err), p.Position(), err)
	return b.String()
}
