// Package catalog holds what Runnel knows about its objects: streams and
// tables (their columns, key columns, formats and topics) and persistent
// queries. Every change is a command appended to the compacted topic
// _runnel_catalog (key = the object's kind and name, a tombstone on drop),
// and Open replays that topic, so every node that reads the topic builds the
// same catalog in the same order.
//
// The catalog knows nothing of SQL text beyond storing it, nor of how a
// query runs: the engine re-plans a persistent query from its statement text
// when it starts it.
package catalog
