// Package planner turns a parsed query into a physical plan: it binds names
// and types against the catalog, checks the query's shape, and produces a
// Plan value — the operators each task runs and the topics it reads and
// writes — that EXPLAIN prints and the engine starts.
//
//	sql.Query ──bind (catalog, expr.Binder)──▶ Plan ──engine──▶ operators
//
// The planner never imports the operators or the log: a Plan is data.
package planner
