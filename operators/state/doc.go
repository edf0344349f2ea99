// Layout and modes (the package documentation is in state.go).
//
// Every store's keys live in one Pebble database under
//
//	'S' | uvarint(len(name)) | name | user key
//
// 'S' is embedded.StatePrefix, the byte the embedded log reserves for state
// stores; the log itself writes only keys starting with 'L'. The length
// prefix makes store prefixes prefix-free: the keys of "a/1" never fall
// inside the range of "a/10" and a scan of one store never sees another's.
//
// A TaskStore buffers its writes until Commit, and its reads see them
// merged with committed state: in pendingWrites (pending.go), one entry
// per key, applied in key order at Commit, while the store seldom scans
// after writing; in a Pebble indexed batch, whose iterators merge them
// with the database, once it scans after its writes more than
// maxSortsPerCommit times in a commit (and for the next commit). Commit works in one of two modes, chosen
// by the log the Manager was given:
//
//   - Shared (embedded log): the log implements CommitWith and the stores
//     live in the log's own database. The pending writes are applied inside
//     the log's commit batch, so records, offsets and state are one atomic,
//     synced Pebble write. Open needs no restore.
//   - Changelog (Kafka): the stores live in a separate local database. Each
//     pending write becomes a record of the store's changelog partition in
//     the Kafka transaction (one per key, its last write, in the order
//     the keys were first written), and the writes are applied locally only
//     after the transaction commits. The local copy is disposable, but
//     kept: with it goes a checkpoint, the changelog offset it holds
//     (checkpoint.go), so Open and Restore read only the changelog's tail
//     since, and rebuild the copy from the changelog's start only when
//     the checkpoint is missing or of another changelog.
//
// Readers (pull queries) read the database directly, so they see committed
// state only, never a task's pending writes.

package state
