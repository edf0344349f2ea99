package state

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/runnel/runnel/log"
)

// Options configure a Manager.
type Options struct {
	// Log is the log the tasks commit to. Required.
	Log log.Log
	// DB is where stores live. When Log commits state in its own batches
	// (the embedded log), DB must be that log's database (embedded.Log.DB)
	// and defaults to it. Otherwise (Kafka) it is a local database of its
	// own, required, that Open rebuilds from changelogs.
	DB *pebble.DB
	// Logger receives restore progress. Default: slog.Default().
	Logger *slog.Logger
	// RestoreProgressEvery is how many restored records pass between two
	// progress lines of a restore. Default: 100000.
	RestoreProgressEvery int
	// RestoreBatchBytes is the size at which a restore writes the records
	// it has read so far to the local database. Default: 4 MiB.
	RestoreBatchBytes int
	// CheckpointSyncInterval is how often, at most, a store's commit
	// makes its local copy and checkpoint durable (a synced write) in
	// changelog mode; the commits between are applied without sync,
	// which Pebble keeps in the process's memory until some write syncs.
	// A crash loses what was applied since the last synced one, and the
	// next restore reads it from the changelog again, so this bounds how
	// much of the changelog's tail a restart reads beyond the commits
	// that were in flight. A restore's last batch is always synced.
	// Default: 2s. Negative: never (a crash loses every apply since the
	// last restore).
	CheckpointSyncInterval time.Duration
	// DeferRestore makes Open in changelog mode only reserve the store:
	// its local copy is brought up to the changelog by the first Restore
	// (or Follow, for a standby copy), and until then every read and
	// write returns ErrNeedsRestore. A cluster node opens every task's
	// store when a query starts but runs, or stands by for, only some of
	// them: it must not read the changelogs of the others. Default: false
	// (Open restores). Ignored with a shared database, which is always
	// current.
	DeferRestore bool
}

// Defaults.
const (
	defaultRestoreProgressEvery   = 100_000
	defaultRestoreBatchBytes      = 4 << 20
	defaultCheckpointSyncInterval = 2 * time.Second
)

// EnsureDefaults fills in the defaults of unset options and returns o.
func (o *Options) EnsureDefaults() *Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.RestoreProgressEvery <= 0 {
		o.RestoreProgressEvery = defaultRestoreProgressEvery
	}
	if o.RestoreBatchBytes <= 0 {
		o.RestoreBatchBytes = defaultRestoreBatchBytes
	}
	if o.CheckpointSyncInterval == 0 {
		o.CheckpointSyncInterval = defaultCheckpointSyncInterval
	}
	if o.DB == nil {
		if s, ok := o.Log.(sharedLog); ok {
			o.DB = s.DB()
		}
	}
	return o
}

// validate reports options that cannot work. It expects defaults applied.
func (o *Options) validate() error {
	if o.Log == nil {
		return errors.New("state: Options.Log is required")
	}
	if o.DB == nil {
		return errors.New("state: Options.DB is required when the log does not share its database")
	}
	if s, ok := o.Log.(sharedLog); ok && s.DB() != o.DB {
		// State committed through CommitWith lands in the log's database;
		// reading it from another one would see nothing.
		return errors.New("state: Options.DB must be the log's own database (embedded.Log.DB)")
	}
	return nil
}

// sharedLog is a log that commits state stores' writes in its own batches,
// in the database it exposes: the embedded log. Stores write to that
// database only through it, so that its disk guard admits every write.
type sharedLog interface {
	// CommitWithSize commits txn with extra's writes in one batch,
	// sized for extraBytes of them.
	CommitWithSize(ctx context.Context, txn log.Txn, extraBytes int, extra func(b *pebble.Batch) error) error
	DeleteStateRange(ctx context.Context, lo, hi []byte) error
	DB() *pebble.DB
}
