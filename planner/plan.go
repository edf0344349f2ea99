package planner

import (
	"strings"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/sql"
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

// Plan is a planned statement: a tree of logical nodes (see node.go) whose
// root is a *Sink for a persistent query and a *Result for a transient
// one. The builder (operators/build) turns it into running operators;
// EXPLAIN prints it.
type Plan struct {
	Root Node
}

// Sink is the root of a persistent plan, or nil.
func (p *Plan) Sink() *Sink {
	s, _ := p.Root.(*Sink)
	return s
}

// Result is the root of a transient plan, or nil.
func (p *Plan) Result() *Result {
	r, _ := p.Root.(*Result)
	return r
}

// Output is the layout of the rows the plan produces: the sink's columns,
// or the columns a transient query returns.
func (p *Plan) Output() []types.Column { return p.Root.Columns() }

// Sources are the streams and tables the plan reads, one per scan, left to
// right: what must be healthy for it to run, and what it depends on.
func (p *Plan) Sources() []*catalog.Source {
	var out []*catalog.Source
	Walk(p.Root, func(n Node) bool {
		if s, ok := n.(*Scan); ok {
			out = append(out, s.Source)
		}
		return true
	})
	return out
}

// FromStart reports whether a new persistent query reads src from its
// first offset whatever 'auto.offset.reset' says: a table that a join
// reads, since a table is its whole changelog and a join must meet every
// row it holds, not only the changes made after the query began.
func (p *Plan) FromStart(src *catalog.Source) bool {
	if src.Kind != catalog.KindTable {
		return false
	}
	found := false
	Walk(p.Root, func(n Node) bool {
		if j, ok := n.(*Join); ok {
			for _, side := range []Node{j.Left, j.Right} {
				if s, ok := side.(*Scan); ok && s.Source.Name == src.Name {
					found = true
				}
			}
		}
		return !found
	})
	return found
}

// Explain renders the plan as an indented tree, root first, each node on
// its line and each child two spaces further in, in the spirit of
// ksqlDB's EXPLAIN. What is named after the query id (a chain's internal
// topics) shows UnknownQueryID in its place.
func (p *Plan) Explain() string { return Explain(p.Root) }

// ExplainQuery renders the plan of the running query id as Explain does,
// naming its internal topics and stores.
func (p *Plan) ExplainQuery(id string) string { return explain(p.Root, id) }

// QueryDescriber is a node whose EXPLAIN line names things after the
// query id: DescribeQuery is Describe with the id in its place.
type QueryDescriber interface {
	DescribeQuery(id string) string
}

// Explain renders the tree under n as Plan.Explain does.
func Explain(n Node) string { return explain(n, UnknownQueryID) }

func explain(n Node, id string) string {
	var b strings.Builder
	var walk func(n Node, depth int)
	walk = func(n Node, depth int) {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		for i := 0; i < depth; i++ {
			b.WriteString("  ")
		}
		b.WriteString("> ")
		if qd, ok := n.(QueryDescriber); ok {
			b.WriteString(qd.DescribeQuery(id))
		} else {
			b.WriteString(n.Describe())
		}
		j, _ := n.(*Join)
		for i, k := range n.Children() {
			if j != nil {
				// An input that reaches the join's stage through an
				// internal topic shows the topic's name.
				if line, wrap := j.explainInput(i, id); line != "" {
					b.WriteByte('\n')
					b.WriteString(strings.Repeat("  ", depth+1) + "> " + line)
					if wrap {
						walk(k, depth+2)
					} else {
						for _, kk := range k.Children() {
							walk(kk, depth+2)
						}
					}
					continue
				}
			}
			walk(k, depth+1)
		}
	}
	walk(n, 0)
	return b.String()
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
