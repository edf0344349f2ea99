// Package operators runs queries: it decodes records into typed rows,
// evaluates operators over them — filter and project (Pipeline), with
// the table functions' expansion between them (FlatMap, flatmap.go), grouping
// and repartitioning (Grouper, Repartition), aggregation (Aggregator),
// materialization (Materialize), joins (StreamTableJoin in join.go,
// StreamStreamJoin in join_window.go, fed by KeyRepartition) — encodes
// results, and drives the tasks — one per input partition — that read a
// topic (a join's task: partition p of each input, merged in event-time
// order, merge.go) and commit their output records, state changes and
// input offsets in one log transaction. Push queries read every partition
// of a topic through readers of their own (StartPush).
//
//	log.Reader ─▶ Decoder ─▶ Pipeline (filter, [flat map], project) ─▶ Encoder ─▶ log.Txn
//	                     └─▶ Grouper ─▶ [repartition topic] ─▶ Aggregator (state.Store) ─▶ TableSink
//
// Operators know nothing of SQL text, plans, the catalog's storage or the
// wire. One sub-package reads plans: operators/build turns a planner's
// tree into these operators, for persistent, push and pull queries alike.
// The others are the pieces it assembles: record formats (serde),
// aggregate functions (agg), windows (window) and state stores (state).
package operators
