package embedded

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Options configure Open.
type Options struct {
	// Dir is the directory of the Pebble database. Required.
	Dir string
	// Logger receives the log's own messages and Pebble's. Default:
	// slog.Default(). Pebble's informational chatter is logged at Debug.
	Logger *slog.Logger
	// ReadBatch is the most records one Reader.Next returns. A query task
	// commits, and flushes its processor (an aggregation's emit cache
	// sends one change per group it merged), once per batch it reads, so
	// while a reader is behind, larger batches mean fewer commits and
	// fewer changes for the stages after an aggregation; a reader that
	// keeps up gets what has arrived, however little, so the tail's
	// latency does not depend on it. 32,768 rather than 4,096 took
	// Nexmark's q5 a fifth to two fifths fewer CPU seconds (BENCHMARKS.md,
	// "Read batches"). ReadBatchBytes bounds such a batch's memory.
	// Default: 32768.
	ReadBatch int
	// ReadBatchBytes bounds the bytes (keys, values and headers) of the
	// records one Reader.Next returns, so that a batch of large records
	// stays small; a batch always holds at least one record. Default:
	// 4 MiB.
	ReadBatchBytes int
	// PurgeRecords is how far, in offsets, a commit must move a
	// DeleteConsumed topic's partition past its start for the commit to
	// purge the records below (purge.go); negative never purges.
	// Default (0): 16384.
	PurgeRecords int64
	// PurgeInterval is the least time between two purges of a partition
	// (purge.go), as Kafka Streams' repartition.purge.interval.ms; the
	// first comes an interval after the partition's first commit.
	// Negative purges at every PurgeRecords. Default (0): 30 s.
	PurgeInterval time.Duration
	// now is the purges' clock; tests set it. Default: time.Now.
	now func() time.Time
	// Pebble is the base Pebble configuration, for tuning the cache or
	// memtables of a database that state stores share. Open copies it and
	// sets its Logger, FS and EventListener (teed with the one it has).
	// Default: Pebble's defaults, except for what a log needs otherwise
	// and the caller leaves unset (lsm.go): the newest format with row
	// tables, memtables sized by the disk (at most 64 MiB), 32 KiB data
	// blocks, Pebble's fastest compression, tables split at every
	// partition's records, and L0 compacted at twice Pebble's default
	// read amplification (8 rather than 4).
	Pebble *pebble.Options
	// FS is the filesystem the log writes through. It is for tests, which
	// inject a filesystem that runs out of space (see package quotafs).
	// Default: vfs.Default, the operating system's.
	FS vfs.FS
	// Disk bounds how full the log lets its disk get; see DiskOptions for
	// each field's default.
	Disk DiskOptions
	// SystemTopics are the topics whose appends are system writes, which
	// may use more of the disk's reserve than data writes (see
	// DiskOptions.SystemReserveBytes): the catalog, so that DDL and a
	// restart work while data writes are refused. Default: none.
	SystemTopics []string
}

// EnsureDefaults fills in the defaults of unset options and returns o.
func (o *Options) EnsureDefaults() *Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ReadBatch <= 0 {
		o.ReadBatch = 32768
	}
	if o.ReadBatchBytes <= 0 {
		o.ReadBatchBytes = 4 << 20
	}
	if o.PurgeRecords == 0 {
		o.PurgeRecords = defaultPurgeRecords
	}
	if o.PurgeInterval == 0 {
		o.PurgeInterval = defaultPurgeInterval
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.FS == nil {
		o.FS = vfs.Default
	}
	return o
}

func (o *Options) validate() error {
	if o.Dir == "" {
		return fmt.Errorf("embedded: Options.Dir is required")
	}
	return o.Disk.validate()
}

// pebbleLogger sends Pebble's messages to slog.
type pebbleLogger struct{ l *slog.Logger }

var _ pebble.Logger = pebbleLogger{}

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug(fmt.Sprintf(format, args...), "component", "pebble")
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
}

// Fatalf is called by Pebble for unrecoverable corruption; Pebble expects
// it not to return.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error(msg, "component", "pebble")
	panic("pebble: " + msg)
}
