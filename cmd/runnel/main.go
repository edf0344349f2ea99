// Command runnel serves Runnel over the PostgreSQL wire protocol.
//
//	runnel [--listen 127.0.0.1:6543] [--data-dir ./runnel-data] [--kafka host:port,...] [--node-id id] [--advertise host:port] [--log-level info]
//	       [--standby-replicas 1] [--pull-timeout-ms 10000] [--cluster-user _runnel_node]
//	       [--max-partitions 10000] [--max-statement-bytes 16777216] [--max-value-bytes 16777216]
//	       [--max-transaction-bytes 67108864] [--max-connections 100]
//	       [--auth-file FILE] [--tls-cert FILE --tls-key FILE] [--insecure]
//	runnel nexmark generate|bench|queries [flags]
//
// Every flag can also be set through the environment (RUNNEL_LISTEN,
// RUNNEL_DATA_DIR, RUNNEL_KAFKA, RUNNEL_LOG_LEVEL, RUNNEL_MAX_PARTITIONS,
// RUNNEL_MAX_STATEMENT_BYTES, RUNNEL_MAX_VALUE_BYTES,
// RUNNEL_MAX_TRANSACTION_BYTES, RUNNEL_MAX_CONNECTIONS, RUNNEL_AUTH_FILE,
// RUNNEL_TLS_CERT, RUNNEL_TLS_KEY, RUNNEL_INSECURE, RUNNEL_STANDBY_REPLICAS,
// RUNNEL_PULL_TIMEOUT_MS, RUNNEL_CLUSTER_USER); a flag wins over its
// variable. The password nodes log in to each other with is read from
// RUNNEL_CLUSTER_PASSWORD only, never from a flag (a command line is
// visible to every user of the machine).
//
// With --auth-file every client logs in with a password (SCRAM-SHA-256).
// Without one, runnel refuses to listen on anything but a loopback
// address unless --insecure says so, and then logs a warning at start.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/runnel/runnel/catalog"
	"github.com/runnel/runnel/engine"
	"github.com/runnel/runnel/internal/membudget"
	"github.com/runnel/runnel/planner"
	"github.com/runnel/runnel/server"
)

// config is what flags and environment select.
type config struct {
	listen string
	// nodeID and advertise are engine.Options' NodeID and Advertise.
	nodeID, advertise string
	dataDir           string
	kafka             string
	logLevel          string
	maxPartitions     int
	// maxStatementBytes and maxValueBytes are engine.Options'
	// MaxStatementBytes and MaxValueBytes.
	maxStatementBytes int
	maxValueBytes     int
	// maxTransactionBytes is engine.Options' MaxTransactionBytes.
	maxTransactionBytes int64
	// cacheBytes is engine.Options' CacheBytes.
	cacheBytes int64
	// cacheMaxBytesBuffering is the sessions' default
	// cache.max.bytes.buffering; 0 emits every update (engine.Options'
	// CacheMaxBytesBuffering, whose 0 means the default, takes it as -1).
	cacheMaxBytesBuffering int64
	// maxConnections is server.Options' MaxConnections.
	maxConnections int
	// authFile, tlsCert and tlsKey name the auth file and the TLS
	// certificate and key; insecure allows listening beyond loopback
	// without an auth file.
	authFile, tlsCert, tlsKey string
	insecure                  bool
	// standbyReplicas, pullTimeoutMs and clusterUser are engine.Options'
	// StandbyReplicas (0 here is none), PullTimeout and ClusterUser; the
	// password comes from RUNNEL_CLUSTER_PASSWORD in run.
	standbyReplicas int
	pullTimeoutMs   int
	clusterUser     string
}

// defaultLimitBytes is the default of both size limits: 16 MiB.
const defaultLimitBytes = 16 << 20

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "runnel:", err)
		os.Exit(1)
	}
}

// parseFlags reads flags over environment defaults.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	env := func(name, def string) string {
		if v, ok := os.LookupEnv(name); ok && v != "" {
			return v
		}
		return def
	}
	// envInt reads a numeric variable, def when it is unset or empty.
	envInt := func(name string, def int) (int, error) {
		v := env(name, "")
		if v == "" {
			return def, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("%s: %q is not a number", name, v)
		}
		return n, nil
	}
	var c config
	maxPartitions, err := envInt("RUNNEL_MAX_PARTITIONS", catalog.DefaultMaxPartitions)
	if err != nil {
		return c, err
	}
	maxStatement, err := envInt("RUNNEL_MAX_STATEMENT_BYTES", defaultLimitBytes)
	if err != nil {
		return c, err
	}
	maxValue, err := envInt("RUNNEL_MAX_VALUE_BYTES", defaultLimitBytes)
	if err != nil {
		return c, err
	}
	maxTxn, err := envInt("RUNNEL_MAX_TRANSACTION_BYTES", defaultTransactionBytes)
	if err != nil {
		return c, err
	}
	cacheBytes, err := envInt("RUNNEL_CACHE_BYTES", membudget.DefaultBytes)
	if err != nil {
		return c, err
	}
	cacheBuffering, err := envInt("RUNNEL_CACHE_MAX_BYTES_BUFFERING", planner.DefaultCacheMaxBytes)
	if err != nil {
		return c, err
	}
	maxConns, err := envInt("RUNNEL_MAX_CONNECTIONS", defaultMaxConnections)
	if err != nil {
		return c, err
	}
	standbys, err := envInt("RUNNEL_STANDBY_REPLICAS", 1)
	if err != nil {
		return c, err
	}
	pullTimeout, err := envInt("RUNNEL_PULL_TIMEOUT_MS", 10000)
	if err != nil {
		return c, err
	}
	insecure := false
	if v := env("RUNNEL_INSECURE", ""); v != "" {
		if insecure, err = strconv.ParseBool(v); err != nil {
			return c, fmt.Errorf("RUNNEL_INSECURE: %q is not true or false", v)
		}
	}
	fs := flag.NewFlagSet("runnel", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", env("RUNNEL_LISTEN", "127.0.0.1:6543"), "address to serve pgwire on (env RUNNEL_LISTEN)")
	fs.StringVar(&c.dataDir, "data-dir", env("RUNNEL_DATA_DIR", "./runnel-data"), "directory of the embedded log (env RUNNEL_DATA_DIR)")
	fs.StringVar(&c.kafka, "kafka", env("RUNNEL_KAFKA", ""), "comma-separated Kafka brokers; empty uses the embedded log (env RUNNEL_KAFKA)")
	fs.StringVar(&c.nodeID, "node-id", env("RUNNEL_NODE_ID", ""),
		"this node's id in a cluster (Kafka mode), unique and stable across restarts; empty keeps a generated one in the data directory (env RUNNEL_NODE_ID)")
	fs.StringVar(&c.advertise, "advertise", env("RUNNEL_ADVERTISE", ""),
		"host:port other nodes and clients reach this node at, shown by SHOW NODES; empty means the --listen address (env RUNNEL_ADVERTISE)")
	fs.IntVar(&c.standbyReplicas, "standby-replicas", standbys,
		"num.standby.replicas: nodes besides a table partition's or a stateful task's owner that keep a warm copy (for pull queries; for the task if it moves), in a cluster (env RUNNEL_STANDBY_REPLICAS)")
	fs.IntVar(&c.pullTimeoutMs, "pull-timeout-ms", pullTimeout,
		"default of runnel.pull.timeout.ms: how long a pull query waits for acknowledged writes or a moving partition (env RUNNEL_PULL_TIMEOUT_MS)")
	fs.StringVar(&c.clusterUser, "cluster-user", env("RUNNEL_CLUSTER_USER", "_runnel_node"),
		"user nodes log in to each other as, to forward pull queries; with --auth-file, list it there with RUNNEL_CLUSTER_PASSWORD's password (env RUNNEL_CLUSTER_USER)")
	fs.StringVar(&c.logLevel, "log-level", env("RUNNEL_LOG_LEVEL", "info"), "debug, info, warn or error (env RUNNEL_LOG_LEVEL)")
	fs.IntVar(&c.maxPartitions, "max-partitions", maxPartitions,
		"the most partitions a topic may have: CREATE with more is refused (54000), and a stream or table found over it is marked failed (env RUNNEL_MAX_PARTITIONS)")
	fs.IntVar(&c.maxStatementBytes, "max-statement-bytes", maxStatement,
		"longest statement text accepted, in bytes; a longer one fails with SQLSTATE 54000 (env RUNNEL_MAX_STATEMENT_BYTES)")
	fs.IntVar(&c.maxValueBytes, "max-value-bytes", maxValue,
		"largest value a function, cast or constructor may build, in bytes of memory; a larger one fails its row with SQLSTATE 54000 (env RUNNEL_MAX_VALUE_BYTES)")
	fs.Int64Var(&c.maxTransactionBytes, "max-transaction-bytes", int64(maxTxn),
		"most bytes of writes one transaction (or one COPY FROM) holds until it commits; past it, SQLSTATE 54000 (env RUNNEL_MAX_TRANSACTION_BYTES)")
	fs.Int64Var(&c.cacheBytes, "cache-bytes", int64(cacheBytes),
		"memory the persistent queries' caches in front of their state stores hold together, however many tasks run: each cache's share shrinks as tasks start (statestore.cache.max.bytes for the whole node) (env RUNNEL_CACHE_BYTES)")
	fs.Int64Var(&c.cacheMaxBytesBuffering, "cache-max-bytes-buffering", int64(cacheBuffering),
		"default of cache.max.bytes.buffering: bytes of changed groups an aggregation holds before it emits each group's latest change, at most once a batch; 0 emits every update (env RUNNEL_CACHE_MAX_BYTES_BUFFERING)")
	fs.IntVar(&c.maxConnections, "max-connections", maxConns,
		"most clients served at once; one more gets SQLSTATE 53300 (env RUNNEL_MAX_CONNECTIONS)")
	fs.StringVar(&c.authFile, "auth-file", env("RUNNEL_AUTH_FILE", ""),
		"file of user:password or user:SCRAM-SHA-256$... lines; every client must then log in with a password (SCRAM-SHA-256) (env RUNNEL_AUTH_FILE)")
	fs.StringVar(&c.tlsCert, "tls-cert", env("RUNNEL_TLS_CERT", ""), "PEM certificate (chain) for TLS; with --tls-key, clients may use sslmode=require (env RUNNEL_TLS_CERT)")
	fs.StringVar(&c.tlsKey, "tls-key", env("RUNNEL_TLS_KEY", ""), "PEM private key of --tls-cert (env RUNNEL_TLS_KEY)")
	fs.BoolVar(&c.insecure, "insecure", insecure,
		"allow listening on a non-loopback address without --auth-file, where anyone who reaches it can do anything (env RUNNEL_INSECURE)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: runnel [flags]\n\nRunnel is a streaming SQL engine; connect with psql or any PostgreSQL driver.\n\nFlags:\n")
		fs.VisitAll(func(f *flag.Flag) {
			fmt.Fprintf(stderr, "  --%s %s\n    \t%s (default %q)\n", f.Name, strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_")), f.Usage, f.DefValue)
		})
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if c.maxPartitions < 1 || c.maxPartitions > math.MaxInt32 {
		return c, fmt.Errorf("--max-partitions: %d is not between 1 and %d", c.maxPartitions, math.MaxInt32)
	}
	if c.maxStatementBytes <= 0 {
		return c, fmt.Errorf("--max-statement-bytes must be a positive number of bytes, not %d", c.maxStatementBytes)
	}
	if c.maxValueBytes <= 0 {
		return c, fmt.Errorf("--max-value-bytes must be a positive number of bytes, not %d", c.maxValueBytes)
	}
	if c.maxTransactionBytes <= 0 {
		return c, fmt.Errorf("--max-transaction-bytes must be a positive number of bytes, not %d", c.maxTransactionBytes)
	}
	if c.cacheBytes <= 0 {
		return c, fmt.Errorf("--cache-bytes must be a positive number of bytes, not %d", c.cacheBytes)
	}
	if c.cacheMaxBytesBuffering < 0 {
		return c, fmt.Errorf("--cache-max-bytes-buffering must be 0 or a positive number of bytes, not %d", c.cacheMaxBytesBuffering)
	}
	if c.maxConnections <= 0 {
		return c, fmt.Errorf("--max-connections must be positive, not %d", c.maxConnections)
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return c, fmt.Errorf("--tls-cert and --tls-key go together: give both or neither")
	}
	return c, nil
}

// Defaults of the flags that have no home elsewhere.
const (
	// defaultTransactionBytes is engine.Options' MaxTransactionBytes
	// default: 64 MiB.
	defaultTransactionBytes = 64 << 20
	// defaultMaxConnections is server.Options' MaxConnections default.
	defaultMaxConnections = 100
)

// exposed reports whether a listener on addr can be reached from other
// machines: any address but a loopback one (0.0.0.0 and :: are every
// interface).
func exposed(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return !ok || !tcp.IP.IsLoopback()
}

// exposureWarning is logged at start while the server listens beyond
// loopback without an auth file (--insecure): that is an open door.
const exposureWarning = "no authentication: anyone who can reach this address can read, write and drop every stream, table and query; " +
	"give --auth-file, listen on 127.0.0.1 (--listen) or put a firewall in front"

// errExposed refuses to listen beyond loopback without an auth file.
var errExposed = errors.New("refusing to serve beyond loopback without authentication: anyone who can reach it could read, write and drop " +
	"every stream, table and query. Give --auth-file, listen on 127.0.0.1 (--listen), or pass --insecure if a firewall guards it")

// serverOptions builds the pgwire server's options: credentials from the
// auth file and TLS from the certificate and key.
func serverOptions(c config, logger *slog.Logger) (server.Options, error) {
	opts := server.Options{Logger: logger, MaxConnections: c.maxConnections}
	if c.authFile != "" {
		creds, err := server.LoadCredentials(c.authFile)
		if err != nil {
			return opts, err
		}
		opts.Credentials = creds
	}
	if c.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
		if err != nil {
			return opts, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		opts.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	return opts, nil
}

// run serves until ctx is done (main's is cancelled by SIGINT and
// SIGTERM). `runnel nexmark ...` runs the benchmark's tools instead.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "nexmark" {
		return runNexmark(ctx, args[1:], stdout, stderr)
	}
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	// The auth file, the certificate and an open door are checked before
	// anything opens, so that a mistake costs no replay of the catalog.
	// (The listener's real address is checked again below.)
	sopts, err := serverOptions(c, logger)
	if err != nil {
		return err
	}
	if host, _, err := net.SplitHostPort(c.listen); err == nil && sopts.Credentials == nil && !c.insecure {
		if ip := net.ParseIP(host); host == "" || (ip != nil && !ip.IsLoopback()) {
			return fmt.Errorf("%s: %w", c.listen, errExposed)
		}
	}

	// The listener opens before the engine, so that a node advertises
	// the address it really serves (--listen with port 0 included);
	// clients that connect while the catalog replays wait in its backlog.
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.listen, err)
	}
	defer ln.Close()
	if exposed(ln.Addr()) && sopts.Credentials == nil {
		if !c.insecure {
			return fmt.Errorf("%s: %w", ln.Addr(), errExposed)
		}
		logger.Warn(exposureWarning, "listen", ln.Addr().String())
	}
	advertise := c.advertise
	if advertise == "" {
		advertise = ln.Addr().String()
	}
	opts := engine.Options{DataDir: c.dataDir, NodeID: c.nodeID, Advertise: advertise, Logger: logger, MaxPartitions: int32(c.maxPartitions),
		MaxStatementBytes: c.maxStatementBytes, MaxValueBytes: c.maxValueBytes, MaxTransactionBytes: c.maxTransactionBytes, CacheBytes: c.cacheBytes,
		CacheMaxBytesBuffering: engineCacheBuffering(c.cacheMaxBytesBuffering),
		StandbyReplicas:        c.standbyReplicas, PullTimeout: time.Duration(c.pullTimeoutMs) * time.Millisecond,
		ClusterUser: c.clusterUser, ClusterPassword: os.Getenv("RUNNEL_CLUSTER_PASSWORD")}
	if c.standbyReplicas == 0 {
		opts.StandbyReplicas = -1 // the engine's 0 is its default
	}
	if c.pullTimeoutMs <= 0 {
		return fmt.Errorf("--pull-timeout-ms: %d is not a positive number of milliseconds", c.pullTimeoutMs)
	}
	where := ""
	if c.kafka != "" {
		for _, b := range strings.Split(c.kafka, ",") {
			if b = strings.TrimSpace(b); b != "" {
				opts.Kafka = append(opts.Kafka, b)
			}
		}
		where = "Kafka brokers " + strings.Join(opts.Kafka, ",")
	} else {
		abs, err := filepath.Abs(c.dataDir)
		if err != nil {
			return fmt.Errorf("data dir: %w", err)
		}
		where = "data directory " + abs
	}
	fmt.Fprintf(stdout, "runnel: garbage collector at %s\n", tuneGC(c.cacheBytes))
	fmt.Fprintf(stdout, "runnel: opening %s\n", where)
	eng, err := engine.Open(ctx, opts)
	if err != nil {
		return err
	}
	defer eng.Close()

	host, port, _ := net.SplitHostPort(ln.Addr().String())
	fmt.Fprintf(stdout, "runnel: serving pgwire on %s (%s)\n", ln.Addr(), where)
	fmt.Fprintf(stdout, "runnel: connect with: psql -h %s -p %s -U runnel\n", host, port)

	srv := server.New(eng, sopts)
	err = srv.Serve(ctx, ln)
	fmt.Fprintln(stdout, "runnel: shutting down")
	if err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// engineCacheBuffering is --cache-max-bytes-buffering as engine.Options
// takes it: there 0 is the default and -1 is none.
func engineCacheBuffering(n int64) int64 {
	if n == 0 {
		return -1
	}
	return n
}
