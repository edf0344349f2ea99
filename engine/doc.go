// Package engine is Runnel's composition root. It opens the log (embedded
// Pebble or Kafka), replays the catalog, restarts the persistent queries the
// catalog records, and executes statements for sessions: DDL becomes catalog
// commands, queries are planned and started as tasks, push queries stream
// their rows back to the session.
//
// The engine builds no operators. The planner binds statements (DDL
// included) into catalog entries and plan trees; operators/build turns a
// tree into tasks, push pipelines and pull scans. What stays here is what
// needs the process: the log and the catalog, a statement's order of
// checks and writes, the topics a statement creates (does one exist, with
// how many partitions), launching, supervising and stopping tasks, waiting
// for a table to catch up before a pull query reads it, failed sources,
// and the processing log.
//
//	session ─▶ planner (plan tree) ─▶ engine (checks, then writes) ─▶ build ─▶ tasks ─▶ launch
//
// Three rules keep one statement, record or data directory from taking
// the server down:
//
//   - A statement that writes (CREATE [OR REPLACE], CREATE ... AS SELECT,
//     INSERT INTO ... SELECT, DROP, TERMINATE) makes every check before its
//     first change: a refused statement leaves no topic, catalog command,
//     offset or stopped query behind (ddl.go).
//   - Topics obey Kafka's naming rules and Options.MaxPartitions. A source
//     found over the limit at start (written by an older version) is
//     marked failed: listed and described as such, refused to readers with
//     54000, and droppable (failed.go). Every loop over a topic's
//     partitions asks partitionsOf first.
//   - No goroutine the engine starts lets a panic out: tasks skip a record
//     that panics or retry from their last commit (operators.Task), push
//     query readers skip the record, the compaction loop logs and goes on.
//
// In Kafka mode a node is one of a cluster: each persistent query is a
// consumer group and its tasks run where the group places them
// (cluster.go); a task's stores are restored from their changelogs only
// when the task arrives on a node. Each node is a static member of every
// query's group, by node id, so a node restarted after a crash takes its
// tasks back at once; every node tails the catalog topic and applies
// other nodes' DDL (cluster_catalog.go). The nodes that follow a stateful
// task's owner keep its stores warm by tailing their changelogs, so that
// a task moving to one restores only the tail (cluster_standby.go). A
// table partition is kept by its owner in the table's group and by
// standbys (cluster_replicas.go), and a pull query on any node reads
// each partition where a caught-up copy is, forwarded over pgwire
// (cluster_pull.go, internal/peer), once the copies have read up to the
// topics' high watermarks: past every acknowledged write, even one
// behind a dead node's open transaction (pull.go, writtenEnds). Every
// node is a member of one more group, _runnel_nodes, which is what SHOW
// NODES lists (cluster_view.go, cluster_show.go).
//
// The engine implements server.Backend; it knows nothing of the wire.
package engine
