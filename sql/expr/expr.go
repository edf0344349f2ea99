// Package expr binds SQL expressions to typed expression trees and
// evaluates them over rows: column references resolved to row indexes,
// operators with SQL's three-valued logic, CAST, struct and array access,
// and ksqlDB's scalar functions.
//
// The planner binds (TiDB AST → Expr) against a Scope; operators evaluate.
// This package knows nothing of the catalog, the log or the wire.
//
// Bounds (limits.go): a bound tree holds memory linear in its size (node
// text is rendered on demand, AND and OR chains are one n-ary node), and
// every evaluation that can build a value larger than its inputs (LPAD,
// CONCAT, SPLIT, ARRAY[...], CAST AS STRING, ...) sizes the value first
// and refuses one over Binder.MaxValueBytes with SQLSTATE 54000, an error
// of that row only. Arithmetic on arguments that overflows is 22003.
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
