package log

import (
	"context"
	"errors"

	"github.com/runnel/runnel/internal/sqlstate"
)

// Record is one entry of a topic partition.
//
// A Record returned by a Reader is owned by the caller: its byte slices are
// not reused by the log, so they may be retained.
type Record struct {
	// Key is the serialized key; nil means no key.
	Key []byte
	// Value is the serialized value; nil is a tombstone (a delete on a
	// compacted topic or a table's changelog).
	Value []byte
	// Timestamp is the record's event time in milliseconds since the epoch.
	// Append sets it to the current time when it is negative (NoTimestamp);
	// zero is the epoch, a valid event time.
	Timestamp int64
	// Headers are carried through unchanged.
	Headers []Header
	// Partition is where the record lives. On Append, a negative value asks
	// the log to choose: murmur2 of the key (Partition) or, for a nil key,
	// round-robin.
	Partition int32
	// Offset is the record's position in its partition. Append ignores it
	// and sets it.
	Offset int64
}

// NoTimestamp asks Append to stamp a record with the current time.
const NoTimestamp int64 = -1

// Header is a record header.
type Header struct {
	Key   string
	Value []byte
}

// TopicConfig describes a topic to create.
type TopicConfig struct {
	// Partitions is the number of partitions; must be at least 1.
	Partitions int32
	// Replicas is the replication factor. The embedded log ignores it;
	// Kafka uses the broker default when it is 0.
	Replicas int16
	// Compacted keeps only the latest record for each key once compaction
	// has run, and removes tombstones.
	Compacted bool
	// DeleteConsumed lets the log delete a partition's records below the
	// offset a consumer group commits for it (Commit or CommitOffsets),
	// moving its start offset up, as Kafka Streams purges its
	// repartition topics (DeleteRecords below the committed offset): for
	// an internal topic that one group reads once, never a user's topic
	// nor a changelog. The log may purge later than the commit, or
	// never (a backend without it: see README); a purge never passes the
	// committed offset, so a consumer restarting from its commit reads
	// everything it has not committed.
	DeleteConsumed bool
}

// TopicInfo describes an existing topic.
type TopicInfo struct {
	Name       string
	Partitions int32
	Replicas   int16
	Compacted  bool
}

// TopicPartition names one partition of one topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// ProduceRecord is a record bound for a topic.
type ProduceRecord struct {
	Topic string
	Record
}

// Txn is an atomic unit of work for a consumer-producer: the records it
// produced and the input offsets it consumed. Commit applies all of it or
// none of it.
type Txn struct {
	// Group is the consumer group whose offsets are committed.
	Group string
	// Records are appended, in order. Their Partition must be set (>= 0)
	// or negative to let the log choose as Append does.
	Records []ProduceRecord
	// Offsets are the next offsets to read, per input partition.
	Offsets map[TopicPartition]int64
}

// Log is a set of partitioned topics: the storage contract of Runnel. The
// embedded Pebble backend and the Kafka backend implement it, and both must
// pass the conformance suite in log/logtest.
//
// All methods are safe for concurrent use by many goroutines.
type Log interface {
	// CreateTopic creates a topic. It returns ErrTopicExists if a topic of
	// that name is present.
	CreateTopic(ctx context.Context, name string, cfg TopicConfig) error
	// DeleteTopic removes a topic and all its records and committed
	// offsets. It returns ErrUnknownTopic if there is none.
	DeleteTopic(ctx context.Context, name string) error
	// Topic describes one topic, or returns ErrUnknownTopic.
	Topic(ctx context.Context, name string) (TopicInfo, error)
	// Topics lists all topics, sorted by name.
	Topics(ctx context.Context) ([]TopicInfo, error)

	// Append writes records to one topic and returns them with Partition,
	// Offset and Timestamp filled in. When Append returns nil the records
	// are durable (synced in the embedded log, acknowledged by all in-sync
	// replicas in Kafka). Records for the same partition keep their order.
	// When it fails, none of the records is acknowledged; an error that
	// wraps ErrDiskFull means none was written either.
	Append(ctx context.Context, topic string, recs []Record) ([]Record, error)

	// Commit applies a Txn atomically: after a crash either every record and
	// offset of it is visible or none is. An error that wraps ErrDiskFull
	// means none is.
	Commit(ctx context.Context, txn Txn) error

	// StartOffsets returns the first readable offset of each partition,
	// indexed by partition.
	StartOffsets(ctx context.Context, topic string) ([]int64, error)
	// EndOffsets returns, indexed by partition, the offset that the next
	// appended record will get (the high watermark).
	EndOffsets(ctx context.Context, topic string) ([]int64, error)

	// NewReader opens a reader of one partition positioned at offset. An
	// offset below the start reads from the start; an offset past the end
	// waits for records to arrive. The caller must Close it.
	NewReader(ctx context.Context, tp TopicPartition, offset int64) (Reader, error)

	// CommitOffsets records the next offsets to read for a consumer group.
	CommitOffsets(ctx context.Context, group string, offsets map[TopicPartition]int64) error
	// CommittedOffsets returns the committed offsets of a group for one
	// topic, by partition; partitions without a commit are absent.
	CommittedOffsets(ctx context.Context, group, topic string) (map[int32]int64, error)

	// Close releases the log. Readers must be closed first.
	Close() error
}

// Reader reads one partition in offset order. A Reader is not safe for
// concurrent use; one goroutine owns it.
type Reader interface {
	// Next blocks until at least one record is available at the reader's
	// position, then returns up to a batch of them and advances past them.
	// It does not spin while waiting. It returns ctx.Err() when ctx is
	// done, and ErrUnknownTopic if the topic is deleted while it waits.
	//
	// Next may return an empty batch and a nil error when it advanced its
	// Position past offsets that hold no record a reader sees (Kafka's
	// transaction markers), so that a caller reading up to an end offset
	// can tell it got there.
	Next(ctx context.Context) ([]Record, error)
	// Position is the offset the reader reads next: one past the last
	// offset it consumed, record or transaction marker. A reader that
	// must stop at an end offset (from EndOffsets) stops when Position
	// reaches it, since the end may follow a marker rather than a record.
	Position() int64
	// Close releases the reader.
	Close() error
}

// Recycler is implemented by a Reader that can reuse the memory of a batch
// it returned. A reader allocates each batch's records and bytes anew,
// since a caller may keep them (Record); a caller that keeps nothing of a
// batch once it is done with it (a stateless query's task, once the
// batch's output is committed) hands it back, and the reader may then
// write a later batch into the same memory instead of allocating it. In
// Nexmark's q0 the batches read were more than half of the bytes the
// query allocated, and each allocation is work for the collector.
//
// Both sides are optional: a caller need never recycle, and a reader may
// keep or drop what it is given (the embedded reader keeps the last batch
// only, and only while it has more to read, so that a parked reader holds
// no memory).
type Recycler interface {
	// Recycle gives back recs, the batch the caller's last Next
	// returned. From the call on, the caller must not read or keep any
	// of recs' records, nor their byte slices. A batch other than the
	// last is ignored. Called by the reader's owner goroutine, as Next.
	Recycle(recs []Record)
}

// AsyncCommitter is implemented by a Log whose commit can go on without
// its caller: CommitAsync hands the Txn to the log and returns while the
// log makes it durable (the embedded log's write-ahead log sync), so that
// the caller can read and process its next batch meanwhile instead of
// leaving its core idle. A stateless task of the embedded log spent a
// third of its time waiting for the sync of its last commit (BENCHMARKS.md).
//
// The Txn is committed, and its records visible to readers, only once
// wait returns nil; until then it may still be lost (a crash) or fail, and
// nothing of it is visible, offsets included. wait must be called exactly
// once, by the caller's goroutine; it blocks until the commit is done
// (the sync of a write-ahead log takes no context) and returns what
// Commit would have. When CommitAsync returns an error, nothing was
// written and there is no wait. Once CommitAsync returns, the log holds
// no reference to txn, its records or their bytes: the caller may reuse
// them at once.
//
// A caller that waits for each commit before it starts the next keeps
// Commit's order and its exactly-once rests on the same atomic batch: the
// next Txn goes to the log only after the last one's wait said it was
// committed.
type AsyncCommitter interface {
	CommitAsync(ctx context.Context, txn Txn) (wait func() error, err error)
}

// LagReader is implemented by a Reader that can tell, without waiting,
// how far behind the partition's visible end it is. A caller holding
// work to finish before it may park (a commit in flight, whose
// completion a pull query may be waiting for) finishes it first when the
// lag is 0; and a caller that overlaps its commits with its next read
// does so only while it is behind by at least a batch, since at the
// tail, where batches are small, a batch read early only leaves the
// records that come next for one more commit (a tail latency measured in
// syncs). Called by the reader's owner goroutine, as Next.
type LagReader interface {
	// Lag is the number of offsets visible past the reader's position
	// (records, and any compacted away or taken by markers): 0 when Next
	// would park.
	Lag() int64
}

// Compactor is implemented by backends that compact on demand (the
// embedded log). Kafka compacts on the broker's own schedule.
type Compactor interface {
	// Compact rewrites a compacted topic so that only the latest record
	// for each key remains and tombstones are gone. Offsets are kept.
	Compact(ctx context.Context, topic string) error
}

// The log's sentinels carry the SQLSTATE a client sees when one reaches
// it unwrapped by a room that knows better.
var (
	// ErrTopicExists is returned when creating a topic that exists.
	ErrTopicExists = sqlstate.New(sqlstate.DuplicateTable, "log: topic already exists")
	// ErrUnknownTopic is returned for a topic that does not exist.
	ErrUnknownTopic = sqlstate.New(sqlstate.UndefinedTable, "log: unknown topic")
	// ErrUnknownPartition is returned for a partition out of range.
	ErrUnknownPartition = errors.New("log: unknown partition")
	// ErrClosed is returned after Close.
	ErrClosed = sqlstate.New(sqlstate.AdminShutdown, "log: closed")
	// ErrDiskFull is wrapped by the error of a write (Append, Commit,
	// CommitOffsets, CreateTopic, ...) refused for lack of storage space.
	// Such a write wrote nothing, so it may simply be retried once space
	// returns. It carries SQLSTATE 53100 (disk_full).
	ErrDiskFull = sqlstate.New(sqlstate.DiskFull, "log: disk full")
)
