package planner

import (
	"fmt"
	"strings"
	"time"

	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// The Join node and what describes it. Binding a join (the FROM clause's
// sources, the ON condition's key equalities, the result's key and its
// names) is in joinbind.go; the scope it binds names in is in scope.go.

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
// the same partition of its input topics.
//
// Its rows are laid out as
//
//	Left's columns, Right's columns, one column per key equality, ROWTIME
//
// The key columns hold the join key: the left row's key for INNER and
// LEFT joins (NULL when the left key is NULL), the right row's for RIGHT,
// and the first non-null of the two for FULL. The result's key columns
// read them, whichever side the projection names the key after. The last
// column is the joined row's ROWTIME: the larger of the two rows', or the
// present row's for an unmatched one (issue 7, for every kind of join).
// Neither can be named in SQL except a synthetic key (KeyNames).
type Join struct {
	Left, Right Node
	Kind        JoinKind
	Type        JoinType
	// LeftKeys are bound over Left's columns, RightKeys over Right's; as
	// many of each, of equal types, in the order the ON condition writes
	// them.
	LeftKeys, RightKeys []expr.Expr
	// Within is the window of a stream-stream join; nil for the others.
	Within *JoinWindow
	// Extra is the rest of the ON condition (terms that are not key
	// equalities), bound over the joined row; nil when there is none. A
	// pair of rows that fails it does not match.
	Extra expr.Expr
	// Partitions is the partition count the join runs in: every input
	// topic of its stage has that many (the planner repartitions a stream
	// input that has not).
	Partitions int32
	// Synthetic is set when the key is no source's column (a FULL OUTER
	// join, or expressions on both sides of an equality): the key columns
	// are then named KeyNames (ROWKEY, ROWKEY_1, ...) and a query selects
	// them by that name.
	Synthetic bool
	// KeyNames name the key columns in Cols.
	KeyNames []string
	// Cols are the joined row's columns, laid out as above.
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

// KeyIndex is the index in the joined row of key column i.
func (j *Join) KeyIndex(i int) int { return len(j.Left.Columns()) + len(j.Right.Columns()) + i }

// TimeIndex is the index in the joined row of its ROWTIME.
func (j *Join) TimeIndex() int { return len(j.Cols) - 1 }

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
	if j.Synthetic {
		b.WriteString(" | synthetic key " + strings.Join(j.KeyNames, ", "))
	}
	if j.Partitions > 0 && j.Kind != ForeignKey {
		fmt.Fprintf(&b, " | %d partitions, inputs merged by ROWTIME", j.Partitions)
	}
	switch j.Kind {
	case StreamTable:
		b.WriteString(" | state store per task: the table's rows by key")
	case StreamStream:
		b.WriteString(" | state store per task: both sides' rows within the window")
	case ForeignKey:
		// The tables need not be co-partitioned: one task meets every
		// row of both (operators/build/doc.go).
		b.WriteString(" | one task reads every partition of both tables, merged by ROWTIME | state store: both tables' rows, the left ones indexed by foreign key")
	default:
		b.WriteString(" | state store per task: both tables' rows")
	}
	return b.String()
}

// TimeIndex is the index of ROWTIME in the rows n produces, or -1 when
// they have none: a source's record time, or a join's time, passed
// through filters and repartitions. An operator that stamps its output
// records with their input's time reads it there.
func TimeIndex(n Node) int {
	switch n := n.(type) {
	case *Scan:
		return len(n.Source.Columns)
	case *Join:
		return n.TimeIndex()
	case *Filter, *Repartition, *PartitionBy, *Sort:
		return TimeIndex(n.Children()[0])
	}
	return -1
}
