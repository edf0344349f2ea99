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
//	L r <id> <part> <base> 'b'   -> a batch: records from base on (record.go)
//	L r <id> <part> <offset>     -> one record, as written before batches
//	L e <id> <part>              -> end-offset floor, written by compaction
//	L s <id> <part>              -> start and purged key floor (purge.go)
//	L g <id> <len> <group> <part> -> a group's committed offset (int64)
//
// <id> is a big-endian uint64, <part> a big-endian uint32, <offset> a
// big-endian uint64 and <len> a uvarint, so a partition's records iterate in
// offset order and one topic's records and offsets are each a single key
// range.
//
// A write stores each partition's records in batch keys, as Kafka stores a
// producer's batch: one key per run of about 32 KiB of records, keyed by the
// first one's offset, so that Pebble's costs per key (a memtable node, a
// table entry, an iterator step) are paid once per run rather than once per
// record. A reader seeks to the last key at or below the offset it wants
// and skips the batch's records before it. Data directories written before
// batches hold one key per record; a batch key is the record key of its
// base with one byte more, so it sorts after that offset's record key and
// before the next one's, and both kinds read, compact and find the end
// offset in one key range. Compaction rewrites a batch without the records
// it removes, keeping its key.
//
// A write compresses each batch value once, as a Kafka producer
// compresses its batch, when that pays (record.go: a packed batch): the
// write-ahead log, the memtable and the tables carry it compressed, and a
// reader decompresses it once into a buffer it reuses. The value says
// which layout it has, so batches written before, and batches that
// compaction rewrites, are read as they are.
//
// Records are keyed by topic id, never by name, and ids are never
// reused: DeleteTopic is two DeleteRanges, and a topic created again under
// the same name starts empty even if the ranges are still being compacted.
//
// # The LSM under the log
//
// Records are written once, in offset order per partition, and read once
// soon after: lsm.go tunes Pebble for that where the caller leaves it
// unset. Every partition's records get tables of their own, so a
// partition's new records overlap nothing below them and move down the
// levels without being rewritten; DeleteTopic excises a deleted topic's
// tables rather than leaving compactions to read them back.
//
// # Offsets and visibility
//
// Appends reserve offsets under a partition's mutex, write their batch with
// pebble.Sync outside it, then publish: a partition's visible end moves past
// a reservation only once it and every earlier reservation of the partition
// is durable, so readers never see a record that a crash could take back, nor
// a later record before an earlier one. Waiting readers are woken by closing
// the partition's notify channel, which is replaced on every publish.
// CommittedOffsets returns a group's offsets only once every write that may
// have committed them has published its records (flight.go). CommitAsync
// (log.AsyncCommitter) is the same write, whose sync and publish a
// goroutine of its own waits for, so that its caller can read and process
// its next batch meanwhile.
//
// The end offset of a partition is, on open, the larger of its last record's
// offset plus one and the floor compaction recorded (compaction may remove
// the last record; its offset must not be handed out again).
//
// A partition starts at 0 unless its topic is DeleteConsumed: then a
// commit of a group's offset deletes the records below it, in the
// commit's own batch, and moves the start, which its start floor keeps
// (purge.go).
//
// # A full disk
//
// A full disk is an error for the write that needs the space, never a
// crash or a hang. Pebble cannot be left to find out for itself: it treats
// a failed write-ahead log or MANIFEST write as fatal (Logger.Fatalf), and
// it retries a failed flush at once and forever, so a commit waiting for
// room in its memtables blocks for good and its errors flood the log. A
// restart does no better: Pebble flushes the replayed WAL before Open
// returns, and waits for that flush however often it fails. So the log
// keeps Pebble away from ENOSPC, in three layers (disk.go):
//
//   - Admission. Before a batch goes to Pebble, the log asks the
//     filesystem for its free space (statfs, vfs.FS.GetDiskUsage) and
//     refuses the write with log.ErrDiskFull (SQLSTATE 53100) if it would
//     leave less than a reserve. The batch is whole or refused before any
//     offset is reserved, so a refused write writes nothing and leaves no
//     gap; everything acknowledged before stays. Writes in flight are
//     subtracted from the reported space (see diskGuard.admit), so many
//     writers near the limit cannot each take the last room.
//   - Two reserves. Data writes (appends to user topics, task commits,
//     consumer offsets) leave DiskOptions.ReserveBytes free: room for
//     Pebble to flush its memtables and compact, which write before they
//     free anything. System writes (the catalog's topic, creating,
//     deleting and compacting topics, dropping state) leave only the
//     smaller SystemReserveBytes, so DDL such as DROP and TERMINATE, and
//     the catalog's replay marker at a restart, still work once data
//     writes stop. Reads never write and always work.
//   - The emergency ballast, as CockroachDB keeps one: a file of
//     BallastBytes (EMERGENCY_BALLAST) that holds space back for when the
//     disk fills behind the log's back, by another process or past an
//     estimate. Pebble writes through vfs.OnDiskFull: the first write to
//     meet ENOSPC blocks every other write, the log deletes the ballast,
//     and the write is retried, now with room. With no ballast left, the
//     callback waits, rechecking every RecheckInterval, until there is
//     room again (reads go on; writes are refused at admission), rather
//     than let the retry fail fatally. At Open, a disk with too little
//     room to replay the WAL gets the ballast's space too; if even that is
//     not enough, Open fails at once with ErrDiskFull, saying how much
//     is needed, instead of hanging in Pebble's flush. While the ballast
//     is missing, data writes also leave BallastBytes free, and a
//     goroutine owned by the Log makes it again once the disk has room
//     for it above the reserve.
//
// CockroachDB exits when a write meets ENOSPC and leaves deleting the
// ballast to an operator; the log does both by itself, and recovers by
// itself once space is freed: writes are admitted again as soon as the
// free space allows, and the queries whose commits were refused resume
// (operators.Task pauses on ErrDiskFull and retries every second).
//
// Lines about a full disk are rate-limited (LogInterval): the first
// refusal, then one line per interval with a count, and one when space
// returns; Pebble's background errors likewise.
//
// What the log cannot prevent: a write that Pebble holds in the ENOSPC
// callback, with no ballast left, waits until space returns, and its
// caller with it (Pebble's commits take no context). Close does not wait
// for it: it leaves the database open, to be recovered from its WAL at the
// next start, rather than let Pebble fail the write fatally. Only writes
// through the Log are admitted: state stores sharing the database write
// through CommitWith and DeleteStateRange for that reason.
package embedded
