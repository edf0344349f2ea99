package build

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/internal/membudget"
	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/operators"
	"github.com/runnel/runnel/operators/state"
)

// Env is what the builder needs from the process that runs queries. It
// holds no engine types: whoever owns a log and a state manager can build.
type Env struct {
	// Log is the log tasks and readers read and write. Required.
	Log log.Log
	// State opens the stores of stateful tasks and reads a table's
	// materialized state for pull queries. Required.
	State *state.Manager
	// Logger receives the builder's and its tasks' messages. Default:
	// slog.Default().
	Logger *slog.Logger
	// OnFailure turns a record a persistent query skipped into a record of
	// the processing log. Default: nil, which only counts skipped records.
	OnFailure operators.FailureSink
	// Memory is the budget the caches of persistent queries' tasks share
	// (aggregations' groups, joins' caches and indexes, their Bloom
	// filters): each query draws from it through an account, Query.Memory.
	// Default: nil, each cache its fixed limit.
	Memory *membudget.Budget
	// MaxPartitions bounds the partitions of a topic that the builder
	// starts a task or a reader per partition of (see Partitions).
	// Default: catalog.DefaultMaxPartitions.
	MaxPartitions int32
}

// EnsureDefaults fills in the defaults of unset fields.
func (e *Env) EnsureDefaults() {
	if e.Logger == nil {
		e.Logger = slog.Default()
	}
	if e.MaxPartitions == 0 {
		e.MaxPartitions = catalog.DefaultMaxPartitions
	}
}

func (e *Env) validate() error {
	switch {
	case e.Log == nil:
		return sqlstate.Errorf(sqlstate.InvalidParameter, "build: Env.Log is required")
	case e.State == nil:
		return sqlstate.Errorf(sqlstate.InvalidParameter, "build: Env.State is required")
	case e.MaxPartitions < 1:
		return sqlstate.Errorf(sqlstate.InvalidParameter, "build: Env.MaxPartitions is %d, want at least 1", e.MaxPartitions)
	}
	return nil
}

// Builder turns plan trees into running operators: the tasks of persistent
// queries and table materializers, push pipelines and pull scans. It is
// safe for concurrent use; it keeps nothing between calls.
type Builder struct {
	env Env
}

// New returns a builder over env.
func New(env Env) (*Builder, error) {
	env.EnsureDefaults()
	if err := env.validate(); err != nil {
		return nil, err
	}
	return &Builder{env: env}, nil
}

// Partitions returns the partition count of topic for a caller about to
// start or allocate something per partition, and refuses a count over
// Env.MaxPartitions. Every such loop goes through here, so that no source
// that slipped past the other checks (a data directory written before the
// limit existed) makes the process allocate without bound.
func (b *Builder) Partitions(ctx context.Context, topic string) (int32, error) {
	info, err := b.env.Log.Topic(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("topic %s: %w", topic, err)
	}
	if err := catalog.CheckPartitions(topic, info.Partitions, b.env.MaxPartitions); err != nil {
		return 0, err
	}
	return info.Partitions, nil
}
