package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/internal/membudget"
	"github.com/runnel/runnel/internal/peer"
	"github.com/runnel/runnel/log"
	"github.com/runnel/runnel/log/embedded"
	"github.com/runnel/runnel/log/kafka"
	"github.com/runnel/runnel/operators"
	"github.com/runnel/runnel/operators/build"
	"github.com/runnel/runnel/operators/state"
	"github.com/runnel/runnel/server"
)

// Engine runs Runnel: the log, the catalog, and the persistent queries.
type Engine struct {
	opts   Options
	log    log.Log
	cat    *catalog.Catalog
	logger *slog.Logger
	// state holds the state stores of stateful tasks: in the embedded
	// log's own Pebble DB, or in stateDB, a local one, in Kafka mode.
	state   *state.Manager
	stateDB *pebble.DB
	// builder turns plans into tasks, push pipelines and pull scans.
	builder *build.Builder
	// memory is the budget of the persistent queries' caches
	// (Options.CacheBytes); each running query holds an account on it.
	memory *membudget.Budget
	// view is what this node knows of the cluster (cluster_view.go); nil
	// in embedded mode.
	view *clusterView
	// peers forwards pull queries to other nodes (cluster_pull.go); nil
	// in embedded mode.
	peers *peer.Client

	// ctx is the parent of every persistent query's tasks; stop cancels it
	// on Close.
	ctx  context.Context
	stop context.CancelFunc
	// background is closed when the engine's own goroutines (compaction)
	// have returned.
	background chan struct{}
	// tailDone is closed when the catalog tail (cluster_catalog.go) has
	// returned; nil on one embedded node, which has none.
	tailDone chan struct{}
	// closeOnce runs Close's work once; closeErr is its result.
	closeOnce sync.Once
	closeErr  error

	// ddl serializes statements that change the catalog or the set of
	// running queries, so that each one's checks and writes are not
	// interleaved with another's.
	ddl sync.Mutex

	mu struct {
		sync.Mutex
		// running are the persistent queries started by this engine, by id.
		running map[string]*runningQuery
		// materialized are the materializers of tables, by table name.
		materialized map[string]*runningQuery
		// failed are the sources this server cannot use (see failed.go),
		// by name, with the reason.
		failed map[string]error
	}
}

var _ server.Backend = (*Engine)(nil)

// Open opens the log, replays the catalog and starts the persistent
// queries it records.
func Open(ctx context.Context, opts Options) (*Engine, error) {
	opts.EnsureDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	// Only a Kafka-mode node is part of a cluster; an embedded one keeps
	// its data directory as it was (no node-id file) and is "local"
	// unless named.
	nodeID, err := opts.NodeID, error(nil)
	if len(opts.Kafka) > 0 {
		if nodeID, err = resolveNodeID(opts.NodeID, opts.DataDir); err != nil {
			return nil, err
		}
	} else if nodeID == "" {
		nodeID = "local"
	}
	opts.NodeID = nodeID
	e := &Engine{opts: opts, logger: opts.Logger}
	e.mu.running = map[string]*runningQuery{}
	e.mu.materialized = map[string]*runningQuery{}
	e.mu.failed = map[string]error{}
	if len(opts.Kafka) > 0 {
		// The node id in the prefix keeps two nodes from sharing a
		// transactional id, which would make them fence each other.
		e.log, err = kafka.Open(ctx, kafka.Options{Brokers: opts.Kafka, Logger: opts.Logger,
			TransactionalIDPrefix: "runnel-" + nodeID + "-"})
	} else {
		// The catalog's appends are system writes: on a full disk, DDL
		// still works and a restart still replays the catalog.
		e.log, err = embedded.Open(embedded.Options{
			Dir: opts.DataDir, Logger: opts.Logger, Pebble: pebbleOptions(opts.Logger),
			FS: opts.FS, Disk: opts.Disk, SystemTopics: []string{catalog.Topic},
		})
	}
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	if kl, ok := e.log.(*kafka.Log); ok {
		// A transaction of client writes that this node's crash left
		// open is aborted now, not after the transaction timeout (the
		// readers of its topics wait on it until then).
		if err := kl.FenceTransactions(ctx, clientTxnGroup); err != nil {
			e.logger.Warn("abort the client writes a crash left open", "error", err)
		}
	}
	if err := e.openState(); err != nil {
		e.log.Close()
		return nil, err
	}
	e.memory = membudget.New(opts.CacheBytes)
	e.builder, err = build.New(build.Env{
		Log: e.log, State: e.state, Logger: e.logger, MaxPartitions: opts.MaxPartitions, Memory: e.memory,
		OnFailure: func(f operators.Failure) (log.ProduceRecord, bool) { return e.processingLogRecord(f), true },
	})
	if err != nil {
		e.log.Close()
		return nil, err
	}
	start := time.Now()
	e.cat, err = catalog.Open(ctx, e.log, func(done, total int64) {
		e.logger.Info("replaying catalog", "commands", done, "of", total)
	})
	if err != nil {
		e.log.Close()
		return nil, fmt.Errorf("open catalog: %w", err)
	}
	if err := e.ensureProcessingLog(ctx); err != nil {
		e.log.Close()
		return nil, err
	}
	e.ctx, e.stop = context.WithCancel(context.Background())
	if kl, ok := e.log.(*kafka.Log); ok {
		// Joined before any query starts, so that SHOW NODES on another
		// node lists this one as soon as it takes work.
		if err := e.openClusterView(ctx, kl); err != nil {
			e.stop()
			e.log.Close()
			return nil, err
		}
		e.peers = peer.NewClient(peer.Options{User: opts.ClusterUser, Password: opts.ClusterPassword})
	}
	e.findFailedSources(ctx)
	queries := e.cat.Queries()
	for i, q := range queries {
		if err := e.startQuery(q); err != nil {
			// A query that no longer plans is reported, not fatal: the
			// others still run and the user can TERMINATE it.
			e.logger.Error("restart persistent query", "query", q.ID, "error", err)
			e.markFailed(q, err)
			continue
		}
		e.logger.Info("restarted persistent query", "query", q.ID, "n", i+1, "of", len(queries))
	}
	for _, src := range e.cat.Sources() {
		if src.Kind == catalog.KindTable && e.sourceFailure(src) == nil {
			if err := e.startMaterializer(ctx, src); err != nil {
				e.logger.Error("materialize table", "table", src.Name, "error", err)
			}
		}
	}
	e.background = make(chan struct{})
	go e.compactLoop()
	if e.clustered() {
		e.tailDone = make(chan struct{})
		go e.catalogTailLoop(e.tailDone)
	}
	e.logger.Info("catalog ready", "sources", len(e.cat.Sources()), "queries", len(queries), "took", time.Since(start).Round(time.Millisecond))
	return e, nil
}

// Log returns the engine's log, for tools and tests that inspect topics.
func (e *Engine) Log() log.Log { return e.log }

// Close stops every persistent query and closes the log. Calls after the
// first return the first one's result.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() { e.closeErr = e.close() })
	return e.closeErr
}

func (e *Engine) close() error {
	e.stop()
	<-e.background
	if e.tailDone != nil {
		<-e.tailDone
	}
	e.mu.Lock()
	running := make([]*runningQuery, 0, len(e.mu.running)+len(e.mu.materialized))
	for _, rq := range e.mu.running {
		running = append(running, rq)
	}
	for _, rq := range e.mu.materialized {
		running = append(running, rq)
	}
	e.mu.Unlock()
	for _, rq := range running {
		rq.stopAndWait(e.opts.ShutdownTimeout)
	}
	if e.view != nil {
		e.view.close()
		e.peers.Close()
	}
	err := e.log.Close()
	if e.stateDB != nil {
		err = errors.Join(err, e.stateDB.Close())
	}
	return err
}

// pebbleOptions are the options of Runnel's Pebble databases. The block
// cache matters for state stores: with Pebble's 8 MB default their point
// reads missed the cache entirely (measured: ~17µs a Get, ~3µs with 64 MB).
// In the embedded log the topics' blocks pass through the same cache
// (Pebble has no read option that keeps a block out of it), and a join's
// stores are read at random: with 64 MB, Nexmark q4's and q20's
// stream-stream joins read a quarter of their CPU's worth of blocks back
// from disk (block.Reader.doRead 23%); with 256 MB, 4% (q4 over 300,000
// events, a loaded machine: 29.8 CPU seconds before, 22.3 after). The
// cache is a fixed budget, allocated as it fills, outside the Go heap.
func pebbleOptions(logger *slog.Logger) *pebble.Options {
	o := &pebble.Options{CacheSize: 256 << 20, Logger: pebbleLogger{logger}}
	// Bloom filters let a point read of an absent key (a new group or
	// window, the common case in aggregation) skip the tables that cannot
	// hold it: without them each such read seeked every level.
	for i := range o.Levels {
		o.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	return o
}

// pebbleLogger sends Pebble's messages to the engine's logger: its
// informational chatter at debug level.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug("pebble: " + fmt.Sprintf(format, args...))
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error("pebble: " + fmt.Sprintf(format, args...))
}

func (p pebbleLogger) Fatalf(format string, args ...any) {
	p.l.Error("pebble: fatal: " + fmt.Sprintf(format, args...))
	panic(fmt.Sprintf(format, args...))
}

// openState opens the state manager: in the embedded log's DB, whose
// batches then commit state with offsets, or in a local DB under the data
// directory in Kafka mode, restored from changelog topics.
func (e *Engine) openState() error {
	opts := state.Options{Log: e.log, Logger: e.logger}
	if emb, ok := e.log.(*embedded.Log); ok {
		opts.DB = emb.DB()
	} else {
		db, err := pebble.Open(filepath.Join(e.opts.DataDir, "state"), pebbleOptions(e.logger))
		if err != nil {
			return fmt.Errorf("open local state store: %w", err)
		}
		e.stateDB, opts.DB = db, db
		// A node restores a task's stores only when the task arrives
		// here or it stands by for it (cluster.go), never at query
		// start for tasks that run elsewhere.
		opts.DeferRestore = true
	}
	m, err := state.NewManager(opts)
	if err != nil {
		return fmt.Errorf("state manager: %w", err)
	}
	e.state = m
	return nil
}

// NewSession implements server.Backend.
func (e *Engine) NewSession(params map[string]string) server.Session {
	return &session{e: e, props: map[string]string{}, user: params["user"], params: params}
}

// compactLoop compacts the log's compacted topics every
// CompactionInterval until the engine closes, when the log compacts on
// demand. It is owned by the engine: Close waits for it.
func (e *Engine) compactLoop() {
	defer close(e.background)
	c, ok := e.log.(log.Compactor)
	if !ok {
		return
	}
	t := time.NewTicker(e.opts.CompactionInterval)
	defer t.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
		}
		e.compactAll(c)
	}
}

// compactAll compacts every compacted topic once. A panic is logged and
// the loop waits for its next turn: compaction is housekeeping, never
// worth the process.
func (e *Engine) compactAll(c log.Compactor) {
	defer func() {
		if r := recover(); r != nil {
			e.logPanic("compaction", r)
		}
	}()
	topics, err := e.log.Topics(e.ctx)
	if err != nil {
		e.logger.Warn("compaction: list topics", "error", err)
		return
	}
	for _, info := range topics {
		if info.Compacted {
			e.compactTopic(c, info.Name)
		}
	}
}

// compactTopic compacts one topic. A panic is logged and the loop goes on
// to the next topic.
func (e *Engine) compactTopic(c log.Compactor, topic string) {
	defer func() {
		if r := recover(); r != nil {
			e.logPanic("compaction", r, "topic", topic)
		}
	}()
	start := time.Now()
	if err := c.Compact(e.ctx, topic); err != nil {
		if e.ctx.Err() == nil {
			e.logger.Warn("compaction failed", "topic", topic, "error", err)
		}
		return
	}
	e.logger.Debug("compacted topic", "topic", topic, "took", time.Since(start).Round(time.Millisecond))
}
