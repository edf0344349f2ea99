package planner

import (
	"fmt"
	"strings"
	"time"

	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// The shape of a join, ready for the planner and builder that will fill it
// in. Planning a join still answers 0A000 (see Planner.from); nothing
// builds a Join yet. What a join needs from the runtime — a stage reading
// two co-partitioned topics — is described in operators/build's doc.go.

// JoinKind is what a join joins, which decides its state and its timing.
type JoinKind int

const (
	// StreamStream joins two streams WITHIN a window: windowed state on
	// both sides; an outer join emits an unmatched row once its window
	// closes.
	StreamStream JoinKind = iota + 1
	// StreamTable joins each record of the (left) stream with the (right)
	// table's row for its key at that point; table changes emit nothing.
	StreamTable
	// TableTable joins two tables on their primary keys: a change on
	// either side updates or deletes the result row.
	TableTable
	// ForeignKey joins a table (left) to another table on a column of the
	// left equal to the right's primary key: a change on either side
	// reaches every result row it affects.
	ForeignKey
)

func (k JoinKind) String() string {
	switch k {
	case StreamStream:
		return "STREAM-STREAM"
	case StreamTable:
		return "STREAM-TABLE"
	case TableTable:
		return "TABLE-TABLE"
	case ForeignKey:
		return "FOREIGN KEY"
	}
	return fmt.Sprintf("JoinKind(%d)", int(k))
}

// JoinType is which unmatched rows a join keeps.
type JoinType int

const (
	InnerJoin JoinType = iota + 1
	LeftJoin
	RightJoin
	FullJoin
)

func (t JoinType) String() string {
	switch t {
	case InnerJoin:
		return "INNER"
	case LeftJoin:
		return "LEFT OUTER"
	case RightJoin:
		return "RIGHT OUTER"
	case FullJoin:
		return "FULL OUTER"
	}
	return fmt.Sprintf("JoinType(%d)", int(t))
}

// JoinWindow is a stream-stream join's WITHIN clause: a right row joins a
// left row whose time is at most Before earlier and at most After later
// (WITHIN n is Before = After = n), and a row later than the window's end
// plus Grace is dropped.
type JoinWindow struct {
	Before, After time.Duration
	Grace         time.Duration
	// HasGrace tells an explicit GRACE PERIOD 0 from none.
	HasGrace bool
}

// Join joins two inputs on the equality of key expressions, pairwise:
// LeftKeys[i] = RightKeys[i] for every i (a multi-column key when there
// are several), then Extra over the joined row. Both inputs must be
// partitioned by their keys, co-partitioned (the same partition count and
// the same key serialization): the planner puts a Repartition under an
// input that is not, so the stage that joins finds both sides of a key in
// the same partition of its two input topics.
//
// Its rows are the left's columns followed by the right's. The result's
// key is the join key, and its ROWTIME the larger of the two rows'.
type Join struct {
	Left, Right Node
	Kind        JoinKind
	Type        JoinType
	// LeftKeys are bound over Left's columns, RightKeys over Right's; as
	// many of each, of pairwise comparable types.
	LeftKeys, RightKeys []expr.Expr
	// Within is the window of a stream-stream join; nil for the others.
	Within *JoinWindow
	// Extra is the rest of the ON condition (terms that are not key
	// equalities), bound over the joined row; nil when there is none. A
	// pair of rows that fails it does not match.
	Extra expr.Expr
	// Cols are Left's columns followed by Right's.
	Cols []types.Column
}

var _ Node = (*Join)(nil)

// Columns implements Node.
func (j *Join) Columns() []types.Column { return j.Cols }

// Children implements Node: left, then right.
func (j *Join) Children() []Node { return []Node{j.Left, j.Right} }

// WithChildren implements Node.
func (j *Join) WithChildren(children ...Node) (Node, error) {
	if err := wantChildren(j, children, 2); err != nil {
		return nil, err
	}
	c := *j
	c.Left, c.Right = children[0], children[1]
	return &c, nil
}

// Describe implements Node.
func (j *Join) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[ JOIN ] | %s %s | ON ", j.Type, j.Kind)
	for i := range j.LeftKeys {
		if i > 0 {
			b.WriteString(" AND ")
		}
		b.WriteString(j.LeftKeys[i].String())
		b.WriteString(" = ")
		b.WriteString(j.RightKeys[i].String())
	}
	if j.Extra != nil {
		b.WriteString(" AND ")
		b.WriteString(j.Extra.String())
	}
	if w := j.Within; w != nil {
		if w.Before == w.After {
			fmt.Fprintf(&b, " | WITHIN %s", w.Before)
		} else {
			fmt.Fprintf(&b, " | WITHIN (%s, %s)", w.Before, w.After)
		}
		if w.HasGrace {
			fmt.Fprintf(&b, " GRACE PERIOD %s", w.Grace)
		}
	}
	b.WriteString(" | state store per task")
	return b.String()
}
