// Package expr binds SQL expressions to typed expression trees and
// evaluates them over rows: everything about an expression that is not a
// value's representation or text. It owns
//
//	binder.go, call.go      binding: TiDB's AST (with the front end's
//	                        RUNNEL_* conventions, see sql.Query) to Exprs,
//	                        column references resolved to row indexes,
//	                        parameters typed from context
//	ops.go, predicates.go   operators, comparisons and SQL's three-valued
//	                        logic, typed as ksqlDB types them
//	cast.go                 CAST and the implicit coercions
//	registry.go, fn_*.go    ksqlDB's scalar functions, chosen per overload
//	                        once at bind time
//	lambda.go               TRANSFORM, FILTER and REDUCE and their lambdas
//	table.go                the table functions (EXPLODE, CUBE_EXPLODE):
//	                        the planner binds their calls out of a select
//	                        list (BindTableCall); the Binder refuses one
//	                        anywhere else
//	describe.go             what SHOW FUNCTIONS and DESCRIBE FUNCTION say
//	                        about every kind of function (scalar,
//	                        aggregate, table)
//	limits.go               the bound on the values evaluation builds
//
// What stands where: sql/types is the value system every room shares
// (types, values, their text forms: the one Java-double formatter, the
// one decimal formatter, the one type-name parser); this package builds
// on it and never renders a value or parses a type itself. The planner
// binds (TiDB AST -> Expr) against a Scope; the operators evaluate. The
// aggregates are the operators' (operators/agg): this package only knows
// their names, to hand a call to the Binder's Aggregate hook, and their
// descriptions. It knows nothing of the catalog, the log or the wire.
//
// testdata/ksqldb_functions.txt lists ksqlDB 0.29's functions, every
// overload, and which Runnel has; TestKsqlFunctionList keeps it true.
// testdata/eval holds one expression and its result a line.
//
// Bounds (limits.go): a bound tree holds memory linear in its size (node
// text is rendered on demand, AND and OR chains are one n-ary node), and
// every evaluation that can build a value larger than its inputs (LPAD,
// CONCAT, SPLIT, ARRAY[...], CAST AS STRING, TRANSFORM, ...) sizes the
// value first and refuses one over Binder.MaxValueBytes with SQLSTATE
// 54000, an error of that row only. Arithmetic on arguments that
// overflows is 22003.
package expr
