package planner

import (
	"errors"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/sql/expr"
)

// The planner's sentinels. Every error it returns wraps one of them and so
// carries its SQLSTATE; callers may test with errors.Is.
var (
	ErrUnsupported      = sqlstate.New(sqlstate.FeatureNotSupported, "not supported")
	ErrSyntax           = sqlstate.New(sqlstate.Syntax, "syntax error")
	ErrUnknownSource    = sqlstate.New(sqlstate.UndefinedTable, "unknown stream or table")
	ErrUnknownColumn    = sqlstate.New(sqlstate.UndefinedColumn, "unknown column")
	ErrDuplicateColumn  = sqlstate.New(sqlstate.DuplicateColumn, "duplicate column")
	ErrAmbiguousColumn  = sqlstate.New(sqlstate.AmbiguousColumn, "ambiguous column")
	ErrTypeMismatch     = sqlstate.New(sqlstate.DatatypeMismatch, "type mismatch")
	ErrInvalidColumnRef = sqlstate.New(sqlstate.InvalidColumnRef, "invalid column reference")
	ErrGrouping         = sqlstate.New(sqlstate.Grouping, "grouping error")
	ErrInvalidProperty  = sqlstate.New(sqlstate.InvalidParameter, "invalid property")
	ErrWrongObjectType  = sqlstate.New(sqlstate.WrongObjectType, "wrong object type")
	ErrReservedName     = sqlstate.New(sqlstate.ReservedName, "reserved name")
	ErrInvalidTableDef  = sqlstate.New(sqlstate.InvalidTableDef, "invalid table definition")
	ErrUnknownFunction  = sqlstate.New(sqlstate.UndefinedFunction, "unknown function")
	// ErrUpgrade refuses a CREATE OR REPLACE whose new schema would break
	// the old one's readers and writers.
	ErrUpgrade = sqlstate.New(sqlstate.FeatureNotSupported, "incompatible upgrade")
)

// positioned is an error about a place in the statement's text: Position
// is the 1-based character position the server sends as the
// ErrorResponse's position (psql's LINE and caret). Its message and
// SQLSTATE are those of the error it wraps, unchanged.
type positioned struct {
	err error
	pos int
}

func (e *positioned) Error() string { return e.err.Error() }

// Unwrap returns the error placed: errors.Is finds the planner's
// sentinels through it.
func (e *positioned) Unwrap() error { return e.err }

// SQLState is the wrapped error's.
func (e *positioned) SQLState() string { return string(sqlstate.Of(e.err)) }

// Position is the 1-based character position in the statement's text.
func (e *positioned) Position() int { return e.pos }

// at places err at node n of the query being planned: where n is written
// in the statement's text (sql.Query.Pos). An error the binder made about
// a node of its own (a column that does not exist, expr.NodeError) is
// placed at that node instead, and one placed already keeps its place:
// the innermost place known wins, as PostgreSQL points at the column, not
// at the condition holding it. Without a known place (n nil or built by
// the planner, the query parsed from text the client did not send) err
// is returned as it is: no position is better than a wrong one. err nil
// is nil.
func (p *Planner) at(n ast.Node, err error) error {
	if err == nil || p.query == nil {
		return err
	}
	var done *positioned
	if errors.As(err, &done) {
		return err
	}
	pos := 0
	var ne *expr.NodeError
	if errors.As(err, &ne) {
		pos = p.query.Pos(ne.Node)
	}
	if pos == 0 && n != nil {
		pos = p.query.Pos(n)
	}
	if pos == 0 {
		return err
	}
	return &positioned{err: err, pos: pos}
}
