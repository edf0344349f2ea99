package planner

import (
	"strings"

	"github.com/runnel/runnel/catalog"
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

// joinSource is one source of a join's scope: where its columns sit in the
// joined row.
type joinSource struct {
	src   *catalog.Source
	alias string
	// off is the index of its first column in the joined row; cols are
	// InputColumns(src).
	off  int
	cols []types.Column
}

// qualifier is how the source is named in messages and generated column
// names: its alias, or its name when it has none.
func (s *joinSource) qualifier() string {
	if s.alias != "" {
		return s.alias
	}
	return s.src.Name
}

// joinScope resolves column names over a join's row: each source's
// columns at its offset, and the synthetic key columns of the join by
// name. A qualified name reads one source (named by its alias or its own
// name); an unqualified one must be a column of exactly one source, and
// the pseudo columns (ROWTIME, ...) belong to every source, so a bare
// ROWTIME is ambiguous in a join, as in ksqlDB.
type joinScope struct {
	sources []joinSource
	// synthetic maps the names of synthetic key columns (ROWKEY) to their
	// index in the row, whose columns are row.
	synthetic map[string]int
	row       []types.Column
}

var _ expr.Scope = (*joinScope)(nil)

// source finds the source a qualifier names, or nil.
func (s *joinScope) source(qualifier string) *joinSource {
	for i := range s.sources {
		js := &s.sources[i]
		if qualifier == js.alias || qualifier == js.src.Name {
			return js
		}
	}
	return nil
}

// Resolve implements expr.Scope.
func (s *joinScope) Resolve(qualifier, name string) (int, types.Type, error) {
	if qualifier != "" {
		js := s.source(qualifier)
		if js == nil {
			return 0, types.Type{}, ErrUnknownSource.Errorf("'%s' is not a valid stream/table name or alias", qualifier)
		}
		for i, c := range js.cols {
			if c.Name == name {
				return js.off + i, c.Type, nil
			}
		}
		return 0, types.Type{}, ErrUnknownColumn.Errorf("column %s.%s cannot be resolved", qualifier, name)
	}
	var found []string
	idx, typ := -1, types.Type{}
	for _, js := range s.sources {
		for i, c := range js.cols {
			if c.Name == name {
				found = append(found, js.qualifier()+"."+name)
				idx, typ = js.off+i, c.Type
			}
		}
	}
	if i, ok := s.synthetic[name]; ok && len(found) == 0 {
		return i, s.row[i].Type, nil
	}
	switch len(found) {
	case 0:
		return 0, types.Type{}, ErrUnknownColumn.Errorf("column %s cannot be resolved", name)
	case 1:
		return idx, typ, nil
	}
	return 0, types.Type{}, ErrAmbiguousColumn.Errorf("Column '%s' is ambiguous. Could be %s or %s.", name,
		strings.Join(found[:len(found)-1], ", "), found[len(found)-1])
}

// clashes reports whether a column name occurs in more than one source
// of the join, or is a pseudo column (which every source has): a
// qualified reference to it is then named ALIAS_NAME in the result.
func (s *joinScope) clashes(name string) bool {
	n := 0
	for _, js := range s.sources {
		if _, ok := js.src.Column(name); ok {
			n++
		}
	}
	return n > 1 || isPseudo(name)
}

// owner returns the source whose columns hold row index i, or nil.
func (s *joinScope) owner(i int) *joinSource {
	for k := range s.sources {
		js := &s.sources[k]
		if i >= js.off && i < js.off+len(js.cols) {
			return js
		}
	}
	return nil
}

// isPseudo reports whether name is a pseudo column every source row has.
func isPseudo(name string) bool {
	for _, c := range PseudoColumns {
		if c.Name == name {
			return true
		}
	}
	return false
}
