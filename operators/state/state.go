// Package state provides the key-value state stores of stateful tasks
// (aggregations, windows, materialized tables). A store's writes are made
// durable together with the task's output records and input offsets: in the
// embedded log in the same Pebble batch (embedded.Log.CommitWith), in Kafka
// mode as changelog records in the same Kafka transaction, from which the
// store is restored when a task starts (the tail since the local copy's
// checkpoint, or all of it).
//
// It knows nothing of SQL rows: keys and values are bytes.
package state

// Store is one task's state: a sorted key-value map. Reads see the store's
// own uncommitted writes. A Store is used by its task's goroutine only,
// except Snapshot readers (pull queries), which may run concurrently.
type Store interface {
	// Get returns the value of key; ok is false when it is absent. The
	// returned slice is the caller's.
	Get(key []byte) (value []byte, ok bool, err error)
	// Put sets key to value (both copied).
	Put(key, value []byte) error
	// Delete removes key.
	Delete(key []byte) error
	// Scan calls fn for every key in [start, end) in key order (nil end:
	// to the last key), seeing uncommitted writes, until fn returns false.
	// The slices passed to fn are valid only during the call.
	Scan(start, end []byte, fn func(key, value []byte) bool) error
}

// The rest of this package's API, implemented in manager.go:
//
//	type Options struct {
//		Log log.Log        // the log the task commits to
//		DB  *pebble.DB     // where stores live: the embedded log's own DB
//		                   // (embedded.Log.DB()), or a local DB in Kafka mode
//		Logger *slog.Logger
//	}
//	func NewManager(opts Options) (*Manager, error)
//
//	// Spec names one task's store.
//	type Spec struct {
//		// Name is unique per query, stage and partition, e.g.
//		// "CTAS_X_3/agg/0". Stores of different names never see each
//		// other's keys.
//		Name string
//		// Changelog is the compacted topic partition the store is restored
//		// from and written to in Kafka mode; ignored when the log commits
//		// state in its own batches (embedded).
//		Changelog log.TopicPartition
//	}
//
//	// Open restores the store (Kafka mode: from its changelog, replacing
//	// the local copy) and returns it.
//	func (m *Manager) Open(ctx context.Context, spec Spec) (*TaskStore, error)
//
//	// TaskStore is a Store whose writes are pending until Commit.
//	func (s *TaskStore) Commit(ctx context.Context, txn log.Txn) error
//	//   commits txn and the pending writes atomically (embedded:
//	//   CommitWith, one Pebble batch; Kafka: the writes become changelog
//	//   records in txn, then are applied locally after the commit).
//	func (s *TaskStore) Abort()   // drops pending writes
//	func (s *TaskStore) Close()
//
//	// Reader reads the committed state of a store by name, concurrently
//	// with its task (pull queries).
//	func (m *Manager) Reader(name string) *Reader
//	func (r *Reader) Get(key []byte) ([]byte, bool, error)
//	func (r *Reader) Scan(start, end []byte, fn func(key, value []byte) bool) error
//
//	// Drop deletes a store's local state (a terminated query).
//	func (m *Manager) Drop(ctx context.Context, name string) error
//
// Both Store implementations (TaskStore, and an in-memory one for tests)
// are checked with `var _ Store = ...`.
