package state

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"

	"github.com/runnel/runnel/log"
)

// Manager opens the state stores of the tasks of one process, in one
// database. It is safe for concurrent use.
type Manager struct {
	opts   Options
	db     *pebble.DB
	shared sharedLog // non-nil when the log commits state in its own batches
	logger *slog.Logger

	// stats count the restores and standby copies (RestoreStats).
	stats struct {
		restores, fromCheckpoint, records atomic.Int64
		standbys, standbyRecords          atomic.Int64
	}

	mu struct {
		sync.Mutex
		// open holds the names of the stores that are open, so that two
		// tasks never write one store and Drop never deletes under one.
		open map[string]bool
	}
}

// Spec names one task's store.
type Spec struct {
	// Name is unique per query, stage and partition, e.g.
	// "CTAS_X_3/agg/0". Stores of different names never see each
	// other's keys.
	Name string
	// Changelog is the compacted topic partition the store is restored
	// from and written to in Kafka mode; ignored when the log commits
	// state in its own batches (embedded).
	Changelog log.TopicPartition
}

// NewManager returns a Manager over opts.DB. It does not own the database
// nor the log: the caller closes them after the Manager's stores.
func NewManager(opts Options) (*Manager, error) {
	opts.EnsureDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	m := &Manager{opts: opts, db: opts.DB, logger: opts.Logger}
	if s, ok := opts.Log.(sharedLog); ok {
		m.shared = s
	}
	m.mu.open = make(map[string]bool)
	return m, nil
}

// Shared reports whether the stores commit inside the log's own batches
// (the embedded log) rather than through changelog topics.
func (m *Manager) Shared() bool { return m.shared != nil }

// Open restores the store (Kafka mode: from its changelog, the tail since
// the local copy's checkpoint or the whole of it; not with
// Options.DeferRestore, where the first Restore does) and returns it. A
// store is open at most once at a time: Open returns ErrStoreOpen until
// the previous TaskStore of that name is closed.
func (m *Manager) Open(ctx context.Context, spec Spec) (*TaskStore, error) {
	if err := m.acquire(spec.Name); err != nil {
		return nil, err
	}
	s := &TaskStore{m: m, spec: spec, prefix: storePrefix(spec.Name)}
	if m.shared == nil {
		if spec.Changelog.Topic == "" {
			m.release(spec.Name)
			return nil, fmt.Errorf("state: open %q: Spec.Changelog is required with a log that does not share its database", spec.Name)
		}
		if m.opts.DeferRestore {
			// Restore (or Follow) clears it once the copy is current.
			s.err = fmt.Errorf("%w: %q is not restored yet (Options.DeferRestore)", ErrNeedsRestore, spec.Name)
		} else if err := m.restore(ctx, s); err != nil {
			m.release(spec.Name)
			return nil, fmt.Errorf("state: open %q: %w", spec.Name, err)
		}
	}
	s.pending = newPendingWrites()
	return s, nil
}

// Reader reads the committed state of a store by name, concurrently with
// its task (pull queries). It needs no closing and works whether the store
// is open or not.
func (m *Manager) Reader(name string) *Reader {
	return &Reader{db: m.db, prefix: storePrefix(name)}
}

// Drop deletes a store's local state (a terminated query). It returns
// ErrStoreOpen if the store is open. In Kafka mode the changelog topic is
// the caller's to delete.
func (m *Manager) Drop(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := m.acquire(name); err != nil {
		return fmt.Errorf("state: drop %q: %w", name, err)
	}
	defer m.release(name)
	p := storePrefix(name)
	var err error
	if m.shared != nil {
		err = m.shared.DeleteStateRange(ctx, p, PrefixEnd(p))
	} else {
		// The checkpoint goes with the state it describes.
		b := m.db.NewBatch()
		err = b.DeleteRange(p, PrefixEnd(p), nil)
		if err == nil {
			err = b.Delete(checkpointKey(name), nil)
		}
		if err == nil {
			err = b.Commit(pebble.Sync)
		}
		b.Close()
	}
	if err != nil {
		return fmt.Errorf("state: drop %q: %w", name, err)
	}
	return nil
}

// acquire marks name open, or fails if it is.
func (m *Manager) acquire(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mu.open[name] {
		return fmt.Errorf("%w: %q", ErrStoreOpen, name)
	}
	m.mu.open[name] = true
	return nil
}

// release marks name closed.
func (m *Manager) release(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.mu.open, name)
}

// DiskUsage estimates the bytes that the named stores take on disk: the
// tables' share of each store's key range (Pebble's EstimateDiskUsage,
// which counts the data blocks overlapping the range and a share of each
// table's index and filter). It flushes the memtables first, so that the
// writes still in memory are counted as they will be written, once each
// key's older versions in the memtable are dropped; the versions and
// tombstones the compactions have not yet dropped from the levels count.
// It is for benchmarks and diagnostics (a flush costs a table write),
// never the hot path. The stores may be open.
func (m *Manager) DiskUsage(ctx context.Context, names []string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := m.db.Flush(); err != nil {
		return 0, fmt.Errorf("state: disk usage: flush: %w", err)
	}
	var total int64
	for _, name := range names {
		p := storePrefix(name)
		n, err := m.db.EstimateDiskUsage(p, PrefixEnd(p))
		if err != nil {
			return 0, fmt.Errorf("state: disk usage of %q: %w", name, err)
		}
		total += int64(n)
	}
	return total, nil
}
