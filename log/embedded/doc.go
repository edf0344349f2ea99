// Package embedded is the default log.Log backend: every topic of a Runnel
// node in one Pebble database, so a single binary needs nothing else.
//
// # Key layout
//
// Every key the log writes starts with the byte 'L'. The prefix 'S' is
// reserved for the state stores of persistent queries, which share this
// database (see DB and CommitWith) so that a task commits its output
// records, its input offsets and its state changes in one atomic batch.
// Other first bytes are free for future owners; the log never touches them.
//
//	L n                          -> next topic id (uint64)
//	L t <name>                   -> topic metadata: id, partitions, replicas, flags
//	L r <id> <part> <offset>     -> one record (see record.go for the value)
//	L e <id> <part>              -> end-offset floor, written by compaction
//	L g <id> <len> <group> <part> -> a group's committed offset (int64)
//
// <id> is a big-endian uint64, <part> a big-endian uint32, <offset> a
// big-endian uint64 and <len> a uvarint, so a partition's records iterate in
// offset order and one topic's records and offsets are each a single key
// range. Records are keyed by topic id, never by name, and ids are never
// reused: DeleteTopic is two DeleteRanges, and a topic created again under
// the same name starts empty even if the ranges are still being compacted.
//
// # Offsets and visibility
//
// Appends reserve offsets under a partition's mutex, write their batch with
// pebble.Sync outside it, then publish: a partition's visible end moves past
// a reservation only once it and every earlier reservation of the partition
// is durable, so readers never see a record that a crash could take back, nor
// a later record before an earlier one. Waiting readers are woken by closing
// the partition's notify channel, which is replaced on every publish.
//
// The end offset of a partition is, on open, the larger of its last record's
// offset plus one and the floor compaction recorded (compaction may remove
// the last record; its offset must not be handed out again).
package embedded
