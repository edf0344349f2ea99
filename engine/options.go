package engine

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/internal/membudget"
	"github.com/runnel/runnel/internal/peer"
	"github.com/runnel/runnel/internal/sqlstate"
	"github.com/runnel/runnel/log/embedded"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/sql/expr"
)

// Options configure an Engine. The zero value of each field means its
// documented default; EnsureDefaults fills them in.
type Options struct {
	// DataDir is where the embedded log keeps its data. Default:
	// "./runnel-data". In Kafka mode it is unused.
	DataDir string
	// Kafka lists seed brokers (host:port). Empty means the embedded log.
	Kafka []string
	// NodeID names this node in a cluster (Kafka mode): it prefixes the
	// node's transactional ids, so that no two nodes share one, and names
	// the node in SHOW NODES and in SHOW QUERIES EXTENDED. It must be
	// stable across restarts and unique in the cluster. Default: the id
	// kept in DataDir's node-id file, generated and kept there on first
	// start. An embedded node keeps no file and defaults to "local".
	NodeID string
	// ClusterSessionTimeout is how long a query's consumer group waits
	// for a node that stopped heartbeating (one that died) before it moves
	// the node's tasks to the others (Kafka mode). A node that comes back
	// sooner with the same NodeID takes its tasks back at once (its group
	// members are static, by node id). Default: 0, franz-go's default of
	// 45s.
	ClusterSessionTimeout time.Duration
	// Advertise is the host:port other nodes and clients use to reach
	// this node, shown by SHOW NODES. Default: "" (cmd/runnel passes its
	// --listen address).
	Advertise string
	// StandbyReplicas is num.standby.replicas (Kafka mode): how many
	// nodes besides a table partition's owner keep a warm copy of it for
	// pull queries, so that a partition that moves (its owner died) is
	// read from a caught-up copy instead of waiting for the new owner to
	// build one. A pull query reads a standby only when it has caught up
	// with the writes acknowledged before the query. As many nodes
	// besides a stateful persistent query task's owner keep its stores
	// warm by tailing their changelogs (cluster_standby.go), so that the
	// task restores only the tail if it moves to one. Default: 0, which
	// means 1 (ksqlDB's default is 0: Runnel keeps one, the cost being a
	// second copy's disk and reads); -1 means none.
	StandbyReplicas int
	// PullTimeout is the default of runnel.pull.timeout.ms: how long a
	// pull query waits for its table to catch up with the writes
	// acknowledged before it, or in a cluster for a partition that is
	// moving, before it fails with a retryable error. Default: 10s.
	PullTimeout time.Duration
	// ClusterUser and ClusterPassword are what a node logs in to other
	// nodes with when it forwards a pull query (Kafka mode): every node's
	// auth file must list this user with this password, and only this
	// user may send the nodes' internal requests. Default user
	// "_runnel_node"; default password "" (nodes without an auth file).
	ClusterUser     string
	ClusterPassword string
	// Logger receives the engine's messages. Default: slog.Default().
	Logger *slog.Logger
	// ProcessingLogTopic is the topic of the RUNNEL_PROCESSING_LOG stream.
	// Default: "runnel_processing_log".
	ProcessingLogTopic string
	// ShutdownTimeout bounds how long Close waits for tasks to stop.
	// Default: 10s.
	ShutdownTimeout time.Duration
	// CompactionInterval is how often compacted topics (the catalog,
	// tables, state changelogs) are compacted, when the log compacts on
	// demand (the embedded log; Kafka compacts on its own). Default: 10m.
	CompactionInterval time.Duration
	// FS is the filesystem under the embedded log. It is for tests, which
	// inject one that runs out of space (log/embedded/quotafs). Default:
	// the operating system's.
	FS vfs.FS
	// Disk bounds how full the embedded log lets its disk get: the free
	// space kept in reserve and the emergency ballast. Each zero field
	// means the default that embedded.DiskOptions documents.
	Disk embedded.DiskOptions
	// MaxPartitions bounds the partitions of a topic the engine creates or
	// uses (PARTITIONS, an existing topic, a sink inheriting its input's
	// count): each partition costs a task per persistent query and a
	// reader per push query. A source found over the bound at start is
	// marked failed: it can be described and dropped, not read. Default:
	// catalog.DefaultMaxPartitions (10,000).
	MaxPartitions int32
	// MaxStatementBytes bounds the text of one statement (or of several
	// sent together), checked before it is parsed; a longer one fails
	// with SQLSTATE 54000. Default: 16 MiB. The parser's own limits
	// (tokens, nesting, identifier length) are in package sql.
	MaxStatementBytes int
	// MaxValueBytes bounds any value a function, cast or constructor
	// builds (LPAD, CONCAT, SPLIT, ARRAY[...], ...), counted as the
	// memory it holds; one that would be larger fails with SQLSTATE
	// 54000, which in a persistent query skips that row only. Default:
	// 16 MiB (expr.DefaultMaxValueBytes).
	MaxValueBytes int
	// MaxTransactionBytes bounds the writes one transaction holds before
	// its COMMIT (an explicit block, the implicit transaction of one
	// Query message or pipeline, or one COPY FROM, all of which reach the
	// log at commit, atomically), counted as the encoded records plus a
	// fixed cost per record; a write past it fails with SQLSTATE 54000.
	// Default: 64 MiB.
	MaxTransactionBytes int64
	// CacheBytes bounds what the caches of every persistent query's tasks
	// hold together, in memory in front of their state stores: the
	// aggregations' groups and DISTINCT counts, the table joins' read
	// caches, the foreign-key joins' index caches, the stream-stream
	// joins' indexes of recent records, and their Bloom filters. Each
	// cache's share is the budget in proportion to its weight (what it
	// held on its own before: 8 MiB a group cache, 32 MiB a join index,
	// ...) among the caches of the tasks running, so the shares shrink
	// as queries and partitions are added, and the memory does not grow
	// with them; each cache evicts at its share (internal/membudget). It
	// is the engine's one statestore.cache.max.bytes (Kafka Streams': 10
	// MiB an instance; ksqlDB's ksql.streams.cache.max.bytes.buffering:
	// 10 MB a query). Default: membudget.DefaultBytes, 256 MiB.
	CacheBytes int64
	// MaxCursors bounds the cursors (DECLARE) a session keeps open at
	// once; each may hold a running query. Default: 100.
	MaxCursors int
	// CacheMaxBytesBuffering is the server's cache.max.bytes.buffering
	// (ksqlDB's ksql.streams.cache.max.bytes.buffering), what a session
	// has until it SETs its own, and its persistent queries keep: how
	// many bytes of changed groups an aggregation holds before it emits
	// each group's latest change, at most once a batch. -1 is 0 bytes,
	// every update emitted (ksqlDB's query-validation tests run so); a
	// count of bytes. Default 0: ksqlDB's 10,000,000
	// (planner.DefaultCacheMaxBytes).
	CacheMaxBytesBuffering int64
}

// EnsureDefaults fills in the defaults of unset fields.
func (o *Options) EnsureDefaults() {
	if o.DataDir == "" {
		o.DataDir = "./runnel-data"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ProcessingLogTopic == "" {
		o.ProcessingLogTopic = "runnel_processing_log"
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = 10 * time.Second
	}
	if o.CompactionInterval == 0 {
		o.CompactionInterval = 10 * time.Minute
	}
	if o.MaxPartitions == 0 {
		o.MaxPartitions = catalog.DefaultMaxPartitions
	}
	if o.MaxStatementBytes == 0 {
		o.MaxStatementBytes = 16 << 20
	}
	if o.MaxValueBytes == 0 {
		o.MaxValueBytes = expr.DefaultMaxValueBytes
	}
	if o.MaxTransactionBytes == 0 {
		o.MaxTransactionBytes = 64 << 20
	}
	if o.MaxCursors == 0 {
		o.MaxCursors = 100
	}
	if o.CacheBytes == 0 {
		o.CacheBytes = membudget.DefaultBytes
	}
	if o.CacheMaxBytesBuffering == 0 {
		o.CacheMaxBytesBuffering = planner.DefaultCacheMaxBytes
	}
	if o.StandbyReplicas == 0 {
		o.StandbyReplicas = 1
	}
	if o.PullTimeout == 0 {
		o.PullTimeout = defaultPullTimeout
	}
	if o.ClusterUser == "" {
		o.ClusterUser = peer.DefaultUser
	}
}

func (o *Options) validate() error {
	if o.MaxPartitions < 1 {
		return sqlstate.Errorf(sqlstate.InvalidParameter, "engine: MaxPartitions is %d, want at least 1", o.MaxPartitions)
	}
	if o.MaxStatementBytes < 0 {
		return sqlstate.Errorf(sqlstate.InvalidParameter, "engine: MaxStatementBytes must be positive, not %d", o.MaxStatementBytes)
	}
	if o.MaxValueBytes < 0 {
		return sqlstate.Errorf(sqlstate.InvalidParameter, "engine: MaxValueBytes must be positive, not %d", o.MaxValueBytes)
	}
	if o.MaxTransactionBytes < 0 {
		return sqlstate.Errorf(sqlstate.InvalidParameter, "engine: MaxTransactionBytes must be positive, not %d", o.MaxTransactionBytes)
	}
	if o.CacheBytes < 0 {
		return sqlstate.Errorf(sqlstate.InvalidParameter, "engine: CacheBytes must be positive, not %d", o.CacheBytes)
	}
	if o.CacheMaxBytesBuffering < -1 {
		return sqlstate.Errorf(sqlstate.InvalidParameter, "engine: CacheMaxBytesBuffering is %d: use -1 for none, 0 for the default or a count of bytes", o.CacheMaxBytesBuffering)
	}
	if o.MaxCursors < 0 {
		return sqlstate.Errorf(sqlstate.InvalidParameter, "engine: MaxCursors must be positive, not %d", o.MaxCursors)
	}
	if o.StandbyReplicas < -1 {
		return sqlstate.Errorf(sqlstate.InvalidParameter, "engine: StandbyReplicas is %d: use -1 for none, 0 for the default or a count", o.StandbyReplicas)
	}
	if o.PullTimeout < 0 {
		return sqlstate.Errorf(sqlstate.InvalidParameter, "engine: PullTimeout must be positive, not %s", o.PullTimeout)
	}
	for _, b := range o.Kafka {
		if b == "" {
			return fmt.Errorf("engine: empty Kafka broker address")
		}
	}
	return nil
}
