// Package engine is Runnel's composition root. It opens the log (embedded
// Pebble or Kafka), replays the catalog, restarts the persistent queries the
// catalog records, and executes statements for sessions: DDL becomes catalog
// commands, queries are planned and started as tasks, push queries stream
// their rows back to the session.
//
// The engine implements server.Backend; it knows nothing of the wire.
package engine
