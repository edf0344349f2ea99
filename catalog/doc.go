// Package catalog holds what Runnel knows about its objects: streams and
// tables (their columns, key columns, formats and topics) and persistent
// queries. Every change is a command appended to the topic
// _runnel_catalog, and Open replays that topic, so every node that reads
// the topic builds the same catalog in the same order.
//
// Nodes check statements against what they have read, and two nodes may
// write at once: a command is conditional on what its writer had read
// (its Base) and names what it depends on (a query's sources, the custom
// types a statement used). Every node skips, in the topic's order, a
// command whose keys or dependencies changed after its Base, and a drop
// of a source that a query created since uses. Each command is a record
// under a key of its own, a drop included, so that compaction (the topic
// is created compacted, as it always was) removes no command, and every
// replay, then or later, decides as the nodes did; the topic keeps every
// command, as ksqlDB's command topic does. Records of older versions
// (under the object's kind and name, drops as tombstones) are read as
// they were written. See command in catalog.go.
//
// The catalog knows nothing of SQL text beyond storing it, nor of how a
// query runs: the engine re-plans a persistent query from its statement text
// when it starts it.
package catalog
