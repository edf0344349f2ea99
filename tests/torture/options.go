package torture

import (
	"fmt"
	"time"
)

// Options configure a torture run. The zero value of each field means its
// documented default; EnsureDefaults fills them in and Validate refuses
// what cannot work.
type Options struct {
	// Binary is the runnel executable to start. Required (Build makes one).
	Binary string
	// DataDir is the server's data directory (a cluster's nodes get one
	// each under it, n1, n2, ...); it must not exist yet or be empty, as
	// the run creates its schema there. Default: a new
	// temporary directory, removed after a run that found nothing unless
	// Keep.
	DataDir string
	// Keep keeps the data directory and the server's log even when the
	// run found nothing wrong. Default: false (a failed run always keeps
	// them).
	Keep bool

	// Nodes is how many Runnel servers run. 1 is a lone server on the
	// embedded log. More is a cluster in Kafka mode: that many nodes
	// (each its own process, node id, port and data directory) on one
	// kfake cluster that runs inside the test's process, and each kill
	// hits one node drawn at random while the others go on. Default: 1.
	Nodes int
	// Brokers is the number of kfake brokers of a cluster (Nodes > 1);
	// topics get the cluster's default replication factor, min(3,
	// Brokers). Default: 3.
	Brokers int

	// Kills is how many times the server is killed with SIGKILL and
	// restarted on the same directory. Default: 10.
	Kills int
	// Duration is the time the server spends up under load over the whole
	// run, restarts not counted: the Kills+1 stretches of load (before
	// each kill, and after the last restart) are each drawn uniformly
	// from [1/4, 7/4] of Duration/(Kills+1). Default: 10s.
	Duration time.Duration
	// EarlyKills is the fraction of restarts killed again before they
	// answer, at a random instant within the median restart time so far:
	// crashes during recovery. A run of three kills or more has at least
	// one unless EarlyKills is negative. Default: 0.1; negative means none.
	EarlyKills float64
	// Seed drives the kill schedule and the writers' choices of batch and
	// protocol. Default: taken from the clock (the report prints it).
	Seed uint64

	// Writers is the number of writing connections. Default: 2.
	Writers int
	// Rate caps the rows per second all writers send together. Default:
	// 0, as fast as the server acknowledges.
	Rate int
	// MaxBatch is the largest multi-row INSERT; half the INSERTs are
	// single rows, the rest 2..MaxBatch rows. Default: 20.
	MaxBatch int
	// Users is the number of distinct keys (the stateful query's groups).
	// Default: 64.
	Users int
	// Partitions of the source topic. Default: 4.
	Partitions int

	// RestartTimeout bounds how long a restarted server may take to
	// answer. Default: 60s.
	RestartTimeout time.Duration
	// StatementTimeout bounds one INSERT on a server that is up; one that
	// takes longer is a stall, which fails the run. Default: 30s.
	StatementTimeout time.Duration
	// CatchUpTimeout bounds how long the final checks wait for the
	// persistent queries to catch up (the pull queries' timeout) and for
	// each scan. Default: 5m.
	CatchUpTimeout time.Duration

	// ServerLogLevel is the server's --log-level; info shows how long each
	// start spent replaying the catalog. Default: "warn".
	ServerLogLevel string

	// Logf receives progress lines. Default: discard.
	Logf func(format string, args ...any)
}

// EnsureDefaults fills in the defaults of unset fields.
func (o *Options) EnsureDefaults() {
	if o.Nodes == 0 {
		o.Nodes = 1
	}
	if o.Brokers == 0 {
		o.Brokers = 3
	}
	if o.Kills == 0 {
		o.Kills = 10
	}
	if o.Duration == 0 {
		o.Duration = 10 * time.Second
	}
	if o.EarlyKills == 0 {
		o.EarlyKills = 0.1
	} else if o.EarlyKills < 0 {
		o.EarlyKills = 0
	}
	if o.Seed == 0 {
		o.Seed = uint64(time.Now().UnixNano())
	}
	if o.Writers == 0 {
		o.Writers = 2
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = 20
	}
	if o.Users == 0 {
		o.Users = 64
	}
	if o.Partitions == 0 {
		o.Partitions = 4
	}
	if o.RestartTimeout == 0 {
		o.RestartTimeout = 60 * time.Second
	}
	if o.StatementTimeout == 0 {
		o.StatementTimeout = 30 * time.Second
	}
	if o.CatchUpTimeout == 0 {
		o.CatchUpTimeout = 5 * time.Minute
	}
	if o.ServerLogLevel == "" {
		o.ServerLogLevel = "warn"
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
}

// Validate refuses options that cannot make a run. Call it after
// EnsureDefaults.
func (o *Options) Validate() error {
	switch {
	case o.Binary == "":
		return fmt.Errorf("torture: no runnel binary (Options.Binary)")
	case o.Nodes < 1 || o.Nodes > 9:
		return fmt.Errorf("torture: Nodes is %d; it must be within 1..9", o.Nodes)
	case o.Brokers < 1 || o.Brokers > 9:
		return fmt.Errorf("torture: Brokers is %d; it must be within 1..9", o.Brokers)
	case o.Kills < 0:
		return fmt.Errorf("torture: Kills is %d; it must not be negative", o.Kills)
	case o.Duration < 0:
		return fmt.Errorf("torture: Duration is %s; it must not be negative", o.Duration)
	case o.EarlyKills > 1:
		return fmt.Errorf("torture: EarlyKills is %g; it is a fraction of the kills, at most 1", o.EarlyKills)
	case o.Writers < 1:
		return fmt.Errorf("torture: Writers is %d; at least one writer is needed", o.Writers)
	case o.Rate < 0:
		return fmt.Errorf("torture: Rate is %d; it must not be negative", o.Rate)
	case o.Rate > 0 && o.Rate < o.Writers:
		return fmt.Errorf("torture: Rate %d is below one row per second for each of the %d writers", o.Rate, o.Writers)
	case o.MaxBatch < 1:
		return fmt.Errorf("torture: MaxBatch is %d; it must be at least 1", o.MaxBatch)
	case o.Users < 1 || o.Users > 1000:
		return fmt.Errorf("torture: Users is %d; it must be within 1..1000", o.Users)
	case o.Partitions < 1:
		return fmt.Errorf("torture: Partitions is %d; it must be at least 1", o.Partitions)
	case o.RestartTimeout < 0 || o.StatementTimeout < 0 || o.CatchUpTimeout < 0:
		return fmt.Errorf("torture: timeouts must not be negative")
	}
	return nil
}
