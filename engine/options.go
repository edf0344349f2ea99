package engine

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/runnel/runnel/internal/sqlstate"
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
	if o.MaxStatementBytes == 0 {
		o.MaxStatementBytes = 16 << 20
	}
	if o.MaxValueBytes == 0 {
		o.MaxValueBytes = expr.DefaultMaxValueBytes
	}
}

func (o *Options) validate() error {
	if o.MaxStatementBytes < 0 {
		return sqlstate.Errorf(sqlstate.InvalidParameter, "engine: MaxStatementBytes must be positive, not %d", o.MaxStatementBytes)
	}
	if o.MaxValueBytes < 0 {
		return sqlstate.Errorf(sqlstate.InvalidParameter, "engine: MaxValueBytes must be positive, not %d", o.MaxValueBytes)
	}
	for _, b := range o.Kafka {
		if b == "" {
			return fmt.Errorf("engine: empty Kafka broker address")
		}
	}
	return nil
}
