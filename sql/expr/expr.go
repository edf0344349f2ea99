package expr

import (
	"github.com/runnel/runnel/sql/types"
)

// Expr is a bound, typed expression.
//
// Eval is safe for concurrent use: an Expr holds no mutable state.
type Expr interface {
	// Type is the static result type. An expression whose every value is
	// NULL (a NULL literal) has types.Null.
	Type() types.Type
	// Eval computes the value over row, which is laid out as the Scope it
	// was bound against said. A data error (division by zero, a bad cast of
	// a string) is returned as an error of class 22 (see Error); the caller
	// decides whether to skip the record.
	Eval(row types.Row) (types.Value, error)
	// String renders the expression as SQL, for EXPLAIN and for naming
	// unaliased result columns.
	String() string
}

// Scope resolves column names during binding.
type Scope interface {
	// Resolve returns the row index and type of the column called name,
	// optionally qualified by a source name or alias (qualifier may be "").
	// Names are canonical (upper-cased unless quoted). It returns an error
	// wrapping ErrUnknownColumn or ErrAmbiguousColumn.
	Resolve(qualifier, name string) (index int, t types.Type, err error)
}
