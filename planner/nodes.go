package planner

import (
	"fmt"
	"strings"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/sql"
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// The logical nodes of a plan tree, leaves first. Each says what it is
// (its fields), what it produces (Columns) and what it reads (Children);
// expressions of a node are bound over its child's Columns, by index.

// Scan reads a stream or a table: the leaf of every query over a source.
// Its rows are the source's declared columns, then PseudoColumns, then for
// a windowed table its window bounds (InputColumns).
type Scan struct {
	// Source is the stream or table read.
	Source *catalog.Source
	// Alias is the name given in FROM (FROM pageviews p), or "".
	Alias string
	// Cols is InputColumns(Source).
	Cols []types.Column
	// Materialized is set for a pull query: it reads the table's
	// materialized state (the latest row of each key), not its topic.
	Materialized bool
	// Bounded is set for a stream queried without EMIT: it reads what the
	// topic holds when the query begins, and ends there.
	Bounded bool
	// Lookup, for a materialized scan, is a constant that the table's
	// single key column equals: the scan reads that key only (for a
	// windowed table, that key's windows). The PushKeyLookup rule sets it;
	// nil scans every key.
	Lookup expr.Expr
	// Reads marks, by index in Cols, the columns the nodes above the scan
	// read; nil when every column may be read. The decoder builds only
	// those (it still checks the others). The ReadColumns rule sets it.
	Reads []bool
}

var _ Node = (*Scan)(nil)

// Columns implements Node.
func (s *Scan) Columns() []types.Column { return s.Cols }

// Children implements Node: a scan is a leaf.
func (s *Scan) Children() []Node { return nil }

// WithChildren implements Node.
func (s *Scan) WithChildren(children ...Node) (Node, error) {
	if err := wantChildren(s, children, 0); err != nil {
		return nil, err
	}
	return s, nil
}

// Describe implements Node.
func (s *Scan) Describe() string {
	src := s.Source
	how := "one task each"
	switch {
	case s.Materialized:
		how = "read from the table's materialized state"
	case s.Bounded:
		how = "each read up to its end as the query begins"
	}
	line := fmt.Sprintf("[ SOURCE ] | %s %s | topic: %s (%d partitions, %s) | key format: %s | value format: %s",
		src.Kind, src.Name, src.Topic, src.Partitions, how, src.KeyFormat, src.ValueFormat)
	if s.Lookup != nil {
		if keys := src.KeyColumns(); len(keys) == 1 {
			line += " | key lookup: " + quoteName(keys[0].Name) + " = " + s.Lookup.String()
		}
	}
	return line
}

// Values is the leaf of a query without FROM: one row of no columns, over
// which a Project computes constants (SELECT 1).
type Values struct{}

var _ Node = (*Values)(nil)

// Columns implements Node: the row has no columns.
func (v *Values) Columns() []types.Column { return nil }

// Children implements Node.
func (v *Values) Children() []Node { return nil }

// WithChildren implements Node.
func (v *Values) WithChildren(children ...Node) (Node, error) {
	if err := wantChildren(v, children, 0); err != nil {
		return nil, err
	}
	return v, nil
}

// Describe implements Node.
func (v *Values) Describe() string { return "[ VALUES ] | one row" }

// Filter keeps the rows for which Predicate is TRUE.
type Filter struct {
	Input     Node
	Predicate expr.Expr
	// KeyLookup is set over a table when a top-level AND term of the
	// predicate is `key = constant` on the table's single key column: the
	// constant, of the key's type. A pull query's scan reads only that key
	// (see PushKeyLookup); the whole predicate still applies to what it
	// reads.
	KeyLookup expr.Expr
}

var _ Node = (*Filter)(nil)

// Columns implements Node: a filter passes its input's rows through.
func (f *Filter) Columns() []types.Column { return f.Input.Columns() }

// Children implements Node.
func (f *Filter) Children() []Node { return []Node{f.Input} }

// WithChildren implements Node.
func (f *Filter) WithChildren(children ...Node) (Node, error) {
	if err := wantChildren(f, children, 1); err != nil {
		return nil, err
	}
	c := *f
	c.Input = children[0]
	return &c, nil
}

// Describe implements Node.
func (f *Filter) Describe() string { return "[ FILTER ] | " + f.Predicate.String() }

// PartitionBy re-keys a stream by Keys (PARTITION BY): the Project above it
// marks the projected key expressions as the output's key, and the sink's
// records are partitioned by that key when they are written. It reads and
// writes no topic of its own: the stage's output topic is where the new
// key takes effect. (A re-key that another stage must read by key, as a
// join's input will, is a Repartition.)
type PartitionBy struct {
	Input Node
	Keys  []expr.Expr
}

var _ Node = (*PartitionBy)(nil)

// Columns implements Node: the rows are the input's.
func (p *PartitionBy) Columns() []types.Column { return p.Input.Columns() }

// Children implements Node.
func (p *PartitionBy) Children() []Node { return []Node{p.Input} }

// WithChildren implements Node.
func (p *PartitionBy) WithChildren(children ...Node) (Node, error) {
	if err := wantChildren(p, children, 1); err != nil {
		return nil, err
	}
	c := *p
	c.Input = children[0]
	return &c, nil
}

// Describe implements Node.
func (p *PartitionBy) Describe() string { return "[ PARTITION BY ] | " + exprList(p.Keys) }

// Project computes each output column from an input row.
type Project struct {
	Input Node
	// Exprs compute the output columns, in order, over Input's columns.
	Exprs []expr.Expr
	// Cols are the output columns; their Key flags mark the output key.
	Cols []types.Column
}

var _ Node = (*Project)(nil)

// Columns implements Node.
func (p *Project) Columns() []types.Column { return p.Cols }

// Children implements Node.
func (p *Project) Children() []Node { return []Node{p.Input} }

// WithChildren implements Node.
func (p *Project) WithChildren(children ...Node) (Node, error) {
	if err := wantChildren(p, children, 1); err != nil {
		return nil, err
	}
	c := *p
	c.Input = children[0]
	return &c, nil
}

// Describe implements Node.
func (p *Project) Describe() string {
	var b strings.Builder
	b.WriteString("[ PROJECT ] | ")
	for i, e := range p.Exprs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(e.String())
		b.WriteString(" AS ")
		b.WriteString(quoteName(p.Cols[i].Name))
	}
	return b.String()
}

// Repartition sends its input's rows through an internal topic keyed by
// Keys, so that the stage above it finds every row of one key in one
// partition: it is where the builder cuts a query into stages. Over a
// table input (Retract), each key's previous row is retracted when the key
// changes or is deleted, so the stage above sees a changelog of rows, not
// only additions.
type Repartition struct {
	Input Node
	// Keys are the new key, over the input row.
	Keys []expr.Expr
	// Purpose names the key in EXPLAIN ("the group key").
	Purpose string
	// Retract is set when the input is a table.
	Retract bool
	// Partitions is the internal topic's partition count; 0 keeps the
	// input's. A join's stream side is repartitioned into the join's
	// count (Join.Partitions).
	Partitions int32
}

var _ Node = (*Repartition)(nil)

// Columns implements Node: the rows are the input's, re-keyed.
func (r *Repartition) Columns() []types.Column { return r.Input.Columns() }

// Children implements Node.
func (r *Repartition) Children() []Node { return []Node{r.Input} }

// WithChildren implements Node.
func (r *Repartition) WithChildren(children ...Node) (Node, error) {
	if err := wantChildren(r, children, 1); err != nil {
		return nil, err
	}
	c := *r
	c.Input = children[0]
	return &c, nil
}

// Describe implements Node.
func (r *Repartition) Describe() string {
	line := "[ REPARTITION ] | by " + r.Purpose + " through an internal topic"
	if r.Partitions > 0 {
		line += fmt.Sprintf(" of %d partitions", r.Partitions)
	}
	if r.Retract {
		line += ", retracting each key's previous row"
	}
	return line
}

// Aggregate groups its input's rows and folds the aggregate calls over
// each group (and window): a table of one row per group. Its rows are laid
// out as Aggregation.Row describes. Its state lives in a store per task.
type Aggregate struct {
	Input Node
	*Aggregation
}

var _ Node = (*Aggregate)(nil)

// Columns implements Node: the post-aggregation row.
func (a *Aggregate) Columns() []types.Column { return a.Row }

// Children implements Node.
func (a *Aggregate) Children() []Node { return []Node{a.Input} }

// WithChildren implements Node.
func (a *Aggregate) WithChildren(children ...Node) (Node, error) {
	if err := wantChildren(a, children, 1); err != nil {
		return nil, err
	}
	c := *a
	c.Input = children[0]
	return &c, nil
}

// Describe implements Node.
func (a *Aggregate) Describe() string {
	calls := make([]string, len(a.Calls))
	for i, c := range a.Calls {
		calls[i] = c.Text
	}
	line := fmt.Sprintf("[ AGGREGATE ] | GROUP BY %s | %s | state store per task", exprList(a.GroupBy), strings.Join(calls, ", "))
	if w := a.Window; w != nil {
		line += " | " + windowString(w)
	}
	if a.Emit == sql.EmitFinal {
		line += " | EMIT FINAL"
	}
	return line
}

// Having keeps the groups of an aggregation for which Predicate is TRUE;
// a group that stops passing it is deleted from the result (a tombstone).
// It is a filter over a table, which is why it is not a Filter: a row that
// fails it retracts what was emitted for its key before.
type Having struct {
	Input     Node
	Predicate expr.Expr
}

var _ Node = (*Having)(nil)

// Columns implements Node.
func (h *Having) Columns() []types.Column { return h.Input.Columns() }

// Children implements Node.
func (h *Having) Children() []Node { return []Node{h.Input} }

// WithChildren implements Node.
func (h *Having) WithChildren(children ...Node) (Node, error) {
	if err := wantChildren(h, children, 1); err != nil {
		return nil, err
	}
	c := *h
	c.Input = children[0]
	return &c, nil
}

// Describe implements Node.
func (h *Having) Describe() string { return "[ HAVING ] | " + h.Predicate.String() }

// OrderItem is one ORDER BY item.
type OrderItem struct {
	Expr expr.Expr
	Desc bool
}

// Sort orders a pull query's rows (ORDER BY). It sits below the Project so
// that it may sort by columns the select list leaves out.
type Sort struct {
	Input Node
	Items []OrderItem
}

var _ Node = (*Sort)(nil)

// Columns implements Node.
func (s *Sort) Columns() []types.Column { return s.Input.Columns() }

// Children implements Node.
func (s *Sort) Children() []Node { return []Node{s.Input} }

// WithChildren implements Node.
func (s *Sort) WithChildren(children ...Node) (Node, error) {
	if err := wantChildren(s, children, 1); err != nil {
		return nil, err
	}
	c := *s
	c.Input = children[0]
	return &c, nil
}

// Describe implements Node.
func (s *Sort) Describe() string {
	var b strings.Builder
	b.WriteString("[ SORT ] | ")
	for i, it := range s.Items {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(it.Expr.String())
		if it.Desc {
			b.WriteString(" DESC")
		}
	}
	return b.String()
}

// Sink writes a persistent query's rows to a stream or table: the root of
// a persistent plan. Its input's columns are the target's, in order.
type Sink struct {
	Input Node
	// Target is the catalog entry of the sink: built by the planner for
	// CREATE ... AS SELECT (Create is then true), or read from the catalog
	// for INSERT INTO ... SELECT.
	Target *catalog.Source
	// Create is set when the sink (and its topic if missing) must be made.
	Create bool
	// CacheMaxBytes is the query's cache.max.bytes.buffering, which the
	// engine sets from the properties the query was created with: the
	// bytes of changed groups an aggregation holds before it emits them,
	// each group's changes merged into one, at the end of each batch.
	// Default 0: ksqlDB's default, DefaultCacheMaxBytes; NoCache turns
	// the cache off (every update is emitted).
	CacheMaxBytes int64
	// Combine lets the first stage of the query's aggregation write a
	// batch's rows of a group as one record of partial aggregates
	// (operators' combine.go), where it can. It is a layout of the
	// repartition topic, so the engine sets it from the properties the
	// query was created with: a query recorded before the layout
	// existed keeps writing a record per row.
	Combine bool
	// CombineWindows lets a time-windowed aggregation's first stage
	// combine too, a group's rows per window (the later layout, set as
	// Combine is); it needs Combine.
	CombineWindows bool
}

// DefaultCacheMaxBytes is ksqlDB's default cache.max.bytes.buffering
// (ksql.streams.cache.max.bytes.buffering), 10,000,000 bytes: on.
const DefaultCacheMaxBytes = 10_000_000

// NoCache is Sink.CacheMaxBytes for cache.max.bytes.buffering = 0: no
// cache, every update of an aggregation is emitted.
const NoCache = -1

var _ Node = (*Sink)(nil)

// Columns implements Node: the target's columns.
func (s *Sink) Columns() []types.Column { return s.Target.Columns }

// Children implements Node.
func (s *Sink) Children() []Node { return []Node{s.Input} }

// WithChildren implements Node.
func (s *Sink) WithChildren(children ...Node) (Node, error) {
	if err := wantChildren(s, children, 1); err != nil {
		return nil, err
	}
	c := *s
	c.Input = children[0]
	return &c, nil
}

// Describe implements Node.
func (s *Sink) Describe() string {
	t := s.Target
	return fmt.Sprintf("[ SINK ] | %s %s | topic: %s | key format: %s | value format: %s", t.Kind, t.Name, t.Topic, t.KeyFormat, t.ValueFormat)
}

// ResultMode is how a transient query reads its source.
type ResultMode int

const (
	// Push streams changes as they are written (EMIT CHANGES), from the
	// end of the topics or, under 'earliest', their start.
	Push ResultMode = iota + 1
	// StreamScan reads what a stream's topic holds when the query begins
	// (a stream queried without EMIT), then ends.
	StreamScan
	// Pull reads a table's materialized state (a table queried without
	// EMIT).
	Pull
	// Constant computes one row without reading anything (no FROM).
	Constant
)

func (m ResultMode) String() string {
	switch m {
	case Push:
		return "push"
	case StreamScan:
		return "scan"
	case Pull:
		return "pull"
	case Constant:
		return "constant"
	}
	return fmt.Sprintf("ResultMode(%d)", int(m))
}

// Result hands a transient query's rows to the client: the root of a
// transient plan.
type Result struct {
	Input Node
	Mode  ResultMode
	// Limit stops after that many rows; 0 means no limit and -1 no rows at
	// all (LIMIT 0).
	Limit int64
}

var _ Node = (*Result)(nil)

// Columns implements Node: the input's columns, as the client gets them.
func (r *Result) Columns() []types.Column { return r.Input.Columns() }

// Children implements Node.
func (r *Result) Children() []Node { return []Node{r.Input} }

// WithChildren implements Node.
func (r *Result) WithChildren(children ...Node) (Node, error) {
	if err := wantChildren(r, children, 1); err != nil {
		return nil, err
	}
	c := *r
	c.Input = children[0]
	return &c, nil
}

// Describe implements Node.
func (r *Result) Describe() string {
	line := "[ OUTPUT ] | " + schemaString(r.Columns())
	switch {
	case r.Limit > 0:
		line += fmt.Sprintf(" | limit: %d", r.Limit)
	case r.Limit < 0:
		line += " | limit: 0"
	}
	return line
}

// exprList renders expressions separated by commas.
func exprList(es []expr.Expr) string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(e.String())
	}
	return b.String()
}
