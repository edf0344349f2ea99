// Package build is the one place where plans become running operators. It
// reads the planner's trees and makes, from the same nodes, the three
// things a query can be:
//
//   - the tasks of a persistent query (Persistent), and of the query that
//     materializes a table for pull queries (Materializer);
//   - a push pipeline for a transient query (Push), GROUP BY included;
//   - a pull scan over a table's materialized state (Pull).
//
// It is the only package of the runtime that imports the planner (a test
// in tests/layers holds it to that); the planner imports none of the
// runtime, and takes what it needs from it — aggregate result types,
// format checks — as hooks (ResolveAggregate, CheckFormats). The engine
// gives the builder an Env (the log, the state manager, a logger, the
// processing-log sink, the partition limit) and gets back tasks and
// iterators; it launches, supervises and stops them.
//
// # Stages
//
// A persistent plan is cut into stages at its internal topics: every
// Repartition node ends a stage, whose tasks write the repartition topic,
// and starts the next, whose tasks read it. Each stage runs one task per
// partition of its input; a task commits its output records, its state
// changes and its input offsets in one log transaction.
//
//	Sink                                  stage 2: one task per partition of
//	 └─ Project                             _runnel_<id>_repartition, its
//	     └─ Having                          store <id>/agg/<p>, writing the sink
//	         └─ Aggregate               ─┐
//	             └─ Repartition ─────────┼── internal topic
//	                 └─ Filter          ─┘  stage 1: one task per partition of
//	                     └─ Scan            the source (over a table, its store
//	                                        <id>/rows/<p> keeps each key's row)
//
// Query lists what the engine needs besides the tasks: the input topics
// in pipeline order (a pull query waits on each in turn), the internal
// topics and the stores (TERMINATE removes them). Topic and store names
// are part of a data directory's format and never change.
//
// Some nodes need no operator of their own: a PartitionBy only marks the
// key that the sink's records are partitioned by; a window is how an
// Aggregate keys its state. A push query needs no repartition (its one
// goroutine sees every partition) except for what it does over a table,
// retracting the rows that updates replace.
//
// # Joins
//
// A join stage reads two topics, co-partitioned: the same partition count
// and keys serialized alike, so that partition p of each holds the same
// keys (the planner puts a Repartition under an input that is not). It
// will plug in here as a stage whose inputs are both topics and whose
// task reads partition p of each:
//
//   - The task (operators.Task) reads one partition today. A join task
//     reads several: one reader per input, merged by record timestamp (the
//     smaller first, ties to the first input) so that a replay after a
//     crash processes records in the same order and produces the same
//     output.
//   - Its processor learns which input a record came from (an input index
//     beside the record), updates that side's state and probes the other's,
//     in the task's one store.
//   - It commits every input's position in one transaction: log.Txn's
//     Offsets is already a map from topic partition to offset, and both
//     the embedded log and Kafka commit the map atomically with the
//     records and state. Committed() then reports a position per input,
//     and the engine's catch-up wait reads the one of the topic it waits
//     on.
//
// buildStages refuses a stage of several inputs until that task exists.
// A join stage's state goes in its task's store like an aggregation's,
// named <id>/join/<p>, so TERMINATE finds it in Query.Stores.
//
// # Memory
//
// A pull scan streams its rows a chunk at a time; with ORDER BY it keeps
// LIMIT rows when there is a limit, and every kept row otherwise. A push
// aggregation keeps its groups in memory, as a task keeps them in its
// store.
package build
