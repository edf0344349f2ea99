package kafka

import (
	"errors"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Options configure a Kafka-backed log. The zero value is not usable:
// Brokers is required. Every other field has a default, applied by
// EnsureDefaults.
type Options struct {
	// Brokers are the seed brokers, as host:port. Required.
	Brokers []string

	// ClientID is the client id every connection announces to the brokers.
	// Default: "runnel".
	ClientID string

	// TransactionalIDPrefix prefixes the transactional id of Commit's
	// producers: the id of a group's producer is the prefix followed by the
	// group's name. Two processes that commit for the same group with the
	// same prefix fence each other (the older one's transactions fail),
	// which is what keeps a zombie instance of a query from committing; so
	// give every node of a cluster a prefix of its own that is stable across
	// its restarts. Default: ClientID + "-".
	TransactionalIDPrefix string

	// TransactionTimeout is how long the broker lets a transaction stay open
	// before aborting it, which bounds how long a crashed committer can hold
	// back read_committed readers. Default: 30s.
	TransactionTimeout time.Duration

	// PurgeInterval is the least time between two purges of a
	// DeleteConsumed topic's records below its group's commits (Kafka
	// Streams' repartition.purge.interval.ms); negative never purges.
	// Default (0): 30s.
	PurgeInterval time.Duration

	// Logger receives franz-go's log lines at Info level and above.
	// Default: a logger that discards everything.
	Logger *slog.Logger

	// ClientOpts are appended to the options of every franz-go client the
	// log creates (TLS, SASL, dialers, ...). They are applied last, so they
	// can also override what this package sets; do so with care.
	// Default: none.
	ClientOpts []kgo.Opt
}

// Defaults.
const (
	defaultClientID           = "runnel"
	defaultTransactionTimeout = 30 * time.Second
	defaultPurgeInterval      = 30 * time.Second
)

// EnsureDefaults fills in the default of every unset field and returns o.
func (o *Options) EnsureDefaults() *Options {
	if o.ClientID == "" {
		o.ClientID = defaultClientID
	}
	if o.TransactionalIDPrefix == "" {
		o.TransactionalIDPrefix = o.ClientID + "-"
	}
	if o.TransactionTimeout <= 0 {
		o.TransactionTimeout = defaultTransactionTimeout
	}
	if o.PurgeInterval == 0 {
		o.PurgeInterval = defaultPurgeInterval
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// validate reports options that cannot work. It expects defaults applied.
func (o *Options) validate() error {
	if len(o.Brokers) == 0 {
		return errors.New("kafka: Options.Brokers is empty")
	}
	for _, b := range o.Brokers {
		if b == "" {
			return errors.New("kafka: Options.Brokers has an empty address")
		}
	}
	return nil
}
