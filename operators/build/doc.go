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
// partition of its input (a whole stage, one task over every partition of
// its inputs: a foreign-key join); a task commits its output records, its
// state changes and its input offsets in one log transaction.
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
// keys (the planner puts a Repartition under an input that is not). Its
// task reads partition p of each, merged in event-time order by the one
// operators.Task (operators/merge.go: ties to the input listed first, an
// idle input waited for only while its reader is behind the partition's
// end), and commits both positions in one transaction with its outputs
// and state. join.go builds the stream-table join (INNER, LEFT):
//
//	Sink                                   stage 2: a task per partition p of
//	 └─ Project                              the table, reading users/p and
//	     └─ [Filter]                         _runnel_<id>_join_repartition/p
//	         └─ Join STREAM-TABLE        ─┐  (the table first: it wins ties);
//	             ├─ Repartition ──────────┼─ store <id>/join/<p> holds the
//	             │   └─ Scan clicks       │  table's latest row per key
//	             └─ Scan users           ─┘
//	                                        stage 1 (only when the stream is
//	                                        not keyed by its join key, in the
//	                                        table's key format and partition
//	                                        count): clicks/p → the internal
//	                                        topic, keyed by the join key
//
// Over a join a GROUP BY adds its repartition topic (_runnel_<id>_repartition)
// and aggregation stage as it does over a source. A new query reads the
// join's table from its first offset (planner.Plan.FromStart): a table is
// its whole changelog.
//
// A transient push join needs no repartition: one goroutine merges every
// partition of the table, read from its start, with every partition of the
// stream, read from where the session's 'auto.offset.reset' says, and
// keeps the table's rows in memory.
//
// join_table.go builds the joins of two tables, whose results are tables.
// A join on the primary key is a stage like the stream-table one: a task
// per partition p reads partition p of both tables (co-partitioned: the
// planner refuses different counts, and the builder keys that serialize
// differently, since tables are never repartitioned), and its store
// <id>/join/<p> holds both tables' latest rows. Every change on either
// side recomputes its key's result row from the two rows (operators
// TableTableJoin).
//
// A foreign-key join is one stage of one task that reads every partition
// of both tables (a whole stage), merged by event time, and keeps both
// tables' rows and an index of the left rows by foreign key in its store
// <id>/join/0 (operators ForeignKeyJoin):
//
//	Sink user_managers             one task: users/0..3 + regions/0..1,
//	 └─ Project                    merged by ROWTIME (the left table
//	     └─ Join FOREIGN KEY  ───── first); store <id>/join/0: users'
//	         ├─ Scan users          rows, regions' rows, the index
//	         └─ Scan regions        foreign key → users
//
// Kafka Streams joins on a foreign key through two internal topics: each
// left row subscribes, keyed by its foreign key, in the right table's
// partitions, which respond with the right row, routed back to the left
// row's partition, where a response for a left row that has changed since
// is dropped. That spreads the join over every partition of both tables,
// but what it emits depends on timing: a response that arrives after the
// left row changed again is lost, so the intermediate results a replay
// or a slower run would give are not the same. Here one task sees every
// change of both tables in event-time order: every result row's changes
// are deterministic (the spec pins them per key), a foreign-key change
// retracts the old match at once, any partition counts and key formats
// work, and the state is both tables' rows once (plus the index) —
// bounded by the tables' sizes. The price is one task's throughput for
// the whole join, and a right row's change re-joins every left row that
// points at it in one batch (read from the index a chunk at a time).
//
// A table join's output (operators TableJoinOutput) is a change of a
// result row: its new value, or none. Writing a sink, TableJoinSink
// upserts the rows that pass WHERE and sends a tombstone only for a row
// it wrote before (its store remembers which); under a GROUP BY,
// TableJoinGroups retracts what a row added to its group before adding
// the new one, to the aggregation's repartition topic. A transient push
// join of two tables runs the same operators in one goroutine over every
// partition of both, read from their start, with the state in memory; at
// 'latest' the records already there only build the state, and the rows
// that later changes make are returned.
//
// join_window.go builds the stream-stream join (INNER, LEFT, RIGHT, FULL,
// WITHIN and GRACE PERIOD): one stage reads partition p of both streams,
// the left first (it wins ties), and its store <id>/join/<p> holds both
// sides' records until their windows close (operators/join_window.go).
// A side not keyed by its join key, or not in the join's partition count
// (the larger of the two), is first repartitioned by a stage of its own
// into _runnel_<id>_join_left_repartition or _join_right_repartition,
// keyed as the side that is not repartitioned keys its records. Without
// GRACE PERIOD the grace is ksqlDB's default, max(24 h − 2 × before, 0).
// A transient stream-stream join merges every partition of both streams
// and keeps the open windows in memory (operators.OrderedMemStore).
//
// A join task whose input is a repartition topic waits, when that input
// runs dry, for the stage writing it to pass on what its source held
// (stage.upstream, operators.MergeUpstream): which side the merge takes
// first then does not depend on which stage runs faster.
//
// Both stream kinds run through joinRuntime (join.go), so that a select
// list, a GROUP BY, a sink and a push query are built over either alike.
//
// join_chain.go builds n-way chains that start with a stream (S-T-T,
// S-S-T, S-T-S, S-S-S, ...), as one more joinRuntime: the first join's
// stages as above, writing its rows to an internal topic
// (_runnel_<id>_join2_repartition) keyed by the second join's key and
// partitioned as its table or right stream is; then a stage per later
// join (store <id>/join<k>/<p>) merging that topic with its right input
// and waiting for the stage that writes it. Every later join goes through
// a topic, even when the key stays the same: simplest, and right for any
// partition counts and key formats. A push chain runs in one goroutine,
// each join handing its rows to the next. Chains of tables are refused
// with 0A000 naming their shape.
//

// # Memory
//
// A pull scan streams its rows a chunk at a time; with ORDER BY it keeps
// LIMIT rows when there is a limit, and every kept row otherwise. A push
// aggregation keeps its groups in memory, as a task keeps them in its
// store.
package build
