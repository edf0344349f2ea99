package planner

import (
	"fmt"
	"strings"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// Pseudo columns every source row carries after its declared columns.
const (
	RowTime      = "ROWTIME"
	RowPartition = "ROWPARTITION"
	RowOffset    = "ROWOFFSET"
)

// PseudoColumns are the pseudo columns in row order.
var PseudoColumns = []types.Column{
	{Name: RowTime, Type: types.Bigint},
	{Name: RowPartition, Type: types.Int},
	{Name: RowOffset, Type: types.Bigint},
}

// Plan is the physical plan of a query over one source: the operators each
// task runs, in order, and the topics it reads and writes. One task runs per
// partition of the source topic.
//
// The row layout through the pipeline: a source row is the source's
// declared columns followed by PseudoColumns (InputWidth values); Filter and
// PartitionBy are evaluated over it; Project maps it to the Output row.
type Plan struct {
	// Source is the stream or table read.
	Source *catalog.Source
	// Input is the source row layout: declared columns then pseudo columns.
	Input []types.Column
	// Filter drops rows for which it is not TRUE; nil keeps every row.
	Filter expr.Expr
	// KeyLookup, for a query over a table, is a constant the WHERE clause
	// requires the table's single key column to equal: a pull query reads
	// that key only. nil means no such constraint.
	KeyLookup expr.Expr
	// PartitionBy re-keys the output by these expressions (PARTITION BY);
	// nil keeps the source key.
	PartitionBy []expr.Expr
	// Aggregate is the grouping stage; nil for a stateless query. When set,
	// Project reads the post-aggregation row (see Aggregation).
	Aggregate *Aggregation
	// Project computes the output columns, in order.
	Project []expr.Expr
	// Output is the output schema; its Key flags mark the key columns.
	Output []types.Column
	// Timestamp computes the output record timestamp; nil keeps ROWTIME.
	Timestamp expr.Expr
	// OrderBy sorts a pull query's rows; its expressions read the input row.
	OrderBy []OrderItem
	// Limit stops a transient query after that many rows; 0 means none.
	Limit int64
	// Sink is where a persistent query writes; nil for a transient query.
	Sink *Sink
	// Emit is the EMIT clause of the query as written.
	Emit string
}

// OrderItem is one ORDER BY item.
type OrderItem struct {
	Expr expr.Expr
	Desc bool
}

// Sink is the destination of a persistent query.
type Sink struct {
	// Source is the catalog entry of the sink, built by the planner for
	// CREATE ... AS SELECT (Create is then true) or read from the catalog
	// for INSERT INTO ... SELECT.
	Source *catalog.Source
	// Create is set when the sink (and its topic if missing) must be made.
	Create bool
}

// KeyIndexes returns the indexes of the key columns of the output.
func (p *Plan) KeyIndexes() []int {
	var out []int
	for i, c := range p.Output {
		if c.Key {
			out = append(out, i)
		}
	}
	return out
}

// Explain renders the plan as an indented operator tree, sink first, in the
// spirit of ksqlDB's EXPLAIN.
func (p *Plan) Explain() string {
	var lines []string
	add := func(depth int, format string, args ...any) {
		lines = append(lines, strings.Repeat("  ", depth)+"> "+fmt.Sprintf(format, args...))
	}
	d := 0
	if p.Sink != nil {
		s := p.Sink.Source
		add(d, "[ SINK ] | %s %s | topic: %s | key format: %s | value format: %s", s.Kind, s.Name, s.Topic, s.KeyFormat, s.ValueFormat)
		d++
	} else {
		limit := ""
		if p.Limit > 0 {
			limit = fmt.Sprintf(" | limit: %d", p.Limit)
		}
		add(d, "[ OUTPUT ] | %s%s", schemaString(p.Output), limit)
		d++
	}
	proj := make([]string, len(p.Project))
	for i, e := range p.Project {
		proj[i] = e.String() + " AS " + quoteName(p.Output[i].Name)
	}
	add(d, "[ PROJECT ] | %s", strings.Join(proj, ", "))
	d++
	if a := p.Aggregate; a != nil {
		if a.Having != nil {
			add(d, "[ HAVING ] | %s", a.Having.String())
			d++
		}
		calls := make([]string, len(a.Calls))
		for i, c := range a.Calls {
			calls[i] = c.Text
		}
		groups := make([]string, len(a.GroupBy))
		for i, g := range a.GroupBy {
			groups[i] = g.String()
		}
		line := fmt.Sprintf("[ AGGREGATE ] | GROUP BY %s | %s | state store per task", strings.Join(groups, ", "), strings.Join(calls, ", "))
		if w := a.Window; w != nil {
			line += " | " + windowString(w)
		}
		if a.Emit == sql.EmitFinal {
			line += " | EMIT FINAL"
		}
		add(d, "%s", line)
		d++
		if a.NeedsRepartition(p.Source) {
			how := ""
			if p.Source.Kind == catalog.KindTable {
				how = ", retracting each key's previous row"
			}
			add(d, "[ REPARTITION ] | by the group key through an internal topic%s", how)
			d++
		}
	}
	if len(p.PartitionBy) > 0 {
		keys := make([]string, len(p.PartitionBy))
		for i, e := range p.PartitionBy {
			keys[i] = e.String()
		}
		add(d, "[ PARTITION BY ] | %s", strings.Join(keys, ", "))
		d++
	}
	if p.Filter != nil {
		add(d, "[ FILTER ] | %s", p.Filter.String())
		d++
	}
	s := p.Source
	add(d, "[ SOURCE ] | %s %s | topic: %s (%d partitions, one task each) | key format: %s | value format: %s",
		s.Kind, s.Name, s.Topic, s.Partitions, s.KeyFormat, s.ValueFormat)
	return strings.Join(lines, "\n")
}

func schemaString(cols []types.Column) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = quoteName(c.Name) + " " + c.Type.String()
		if c.Key {
			parts[i] += " KEY"
		}
	}
	return strings.Join(parts, ", ")
}

// quoteName renders a canonical name as ksqlDB shows it: bare when it is an
// upper-case identifier, back-quoted otherwise.
func quoteName(n string) string {
	for i, r := range n {
		if !(r >= 'A' && r <= 'Z' || r == '_' || (i > 0 && r >= '0' && r <= '9')) {
			return "`" + n + "`"
		}
	}
	return n
}

// windowString renders a WINDOW clause.
func windowString(w *sql.Window) string {
	kind := windowKindName(w.Kind)
	var parts []string
	switch w.Kind {
	case sql.Session:
		parts = append(parts, w.Size.String())
	case sql.Hopping:
		parts = append(parts, "SIZE "+w.Size.String(), "ADVANCE BY "+w.Advance.String())
	default:
		parts = append(parts, "SIZE "+w.Size.String())
	}
	if w.HasGrace {
		parts = append(parts, "GRACE PERIOD "+w.Grace.String())
	}
	if w.Retention > 0 {
		parts = append(parts, "RETENTION "+w.Retention.String())
	}
	return "WINDOW " + kind + " (" + strings.Join(parts, ", ") + ")"
}
