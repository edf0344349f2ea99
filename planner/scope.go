package planner

import (
	"github.com/runnel/runnel/sql/expr"
	"github.com/runnel/runnel/sql/types"
)

// scope resolves column names over one source's row layout.
type scope struct {
	source string
	alias  string
	cols   []types.Column
}

var _ expr.Scope = (*scope)(nil)

// Resolve implements expr.Scope.
func (s *scope) Resolve(qualifier, name string) (int, types.Type, error) {
	if qualifier != "" && qualifier != s.source && qualifier != s.alias {
		return 0, types.Type{}, expr.Errorf(expr.ErrUnknownColumn, "column %s.%s does not exist: there is no %s in FROM", qualifier, name, qualifier)
	}
	for i, c := range s.cols {
		if c.Name == name {
			return i, c.Type, nil
		}
	}
	return 0, types.Type{}, expr.Errorf(expr.ErrUnknownColumn, "column %s does not exist in %s", name, s.source)
}

// NewScope returns a scope over cols, for binding outside a query (the
// engine binds INSERT ... VALUES with an empty one).
func NewScope(source string, cols []types.Column) expr.Scope {
	return &scope{source: source, cols: cols}
}

// columnRef is a bound reference to input column i.
func columnRef(i int, c types.Column) expr.Expr {
	return &expr.Column{Index: i, Name: c.Name, T: c.Type}
}
