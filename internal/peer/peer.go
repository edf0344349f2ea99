// Package peer is how one Runnel node reads what only another node holds:
// the rows of a table partition that the other node materializes, for a
// pull query that arrived elsewhere, and the checkpoints of the standby
// copies the other node keeps, for SHOW QUERIES EXTENDED. It knows nothing of SQL or of the
// engine: a request names a table, a partition, a key range and the
// offset the copy must have reached, and the answer is stored keys and
// values.
//
// The protocol between nodes is the one clients speak, PostgreSQL's wire
// protocol, through pgx (jackc/pgx/v5, which the tests already use as the
// client): every node already listens for it, authenticates it (the
// server's SCRAM-SHA-256 against its auth file, here as the cluster's
// internal user) and encrypts it (TLS when the node has a certificate), so
// forwarding adds no port, no second server and no second security story.
// A request is one statement, ScanPrefix followed by the request as JSON,
// sent with the simple protocol (one round trip, nothing prepared that a
// cache would have to keep); the answer is rows of (key, value) bytea.
// The standbys request is the statement StandbysRequest alone, answered
// with one row per standby copy.
//
// Connections are opened on demand and kept idle for reuse, at most
// Options.MaxIdlePerPeer per node; nothing runs in the background.
package peer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/runnel/runnel/internal/sqlstate"
)

// ScanPrefix starts the text of a scan request. The engine accepts it only
// from the cluster's internal user.
const ScanPrefix = "RUNNEL INTERNAL SCAN "

// MaxLimit bounds the rows one request may ask for, so that one answer
// holds a bounded number of rows on both sides.
const MaxLimit = 1024

// ScanRequest asks a node for stored rows of one partition of a table's
// materialized copy.
type ScanRequest struct {
	// Table is the table's name and Seq the catalog sequence of its
	// creation: a node whose table of that name is another creation
	// refuses.
	Table string `json:"table"`
	Seq   int64  `json:"seq"`
	// Partition is the table topic's partition.
	Partition int32 `json:"partition"`
	// Start and End bound the stored keys, [Start, End); nil is
	// unbounded.
	Start []byte `json:"start,omitempty"`
	End   []byte `json:"end,omitempty"`
	// MinOffset is read-your-writes: the copy must have consumed the
	// table topic's partition up to this offset before it answers.
	MinOffset int64 `json:"min_offset"`
	// Limit is the most rows to return, 1 to MaxLimit.
	Limit int `json:"limit"`
	// WaitMs is how long the node may wait for its copy to reach
	// MinOffset before it answers that it cannot serve.
	WaitMs int64 `json:"wait_ms"`
}

// Text is the statement that carries r.
func (r ScanRequest) Text() string {
	b, err := json.Marshal(r)
	if err != nil {
		// A struct of strings, numbers and byte slices always marshals.
		panic(fmt.Sprintf("peer: marshal scan request: %v", err))
	}
	return ScanPrefix + string(b)
}

// ParseScan reads a scan request from a statement's text; ok is false when
// the text is no scan request at all.
func ParseScan(text string) (r ScanRequest, ok bool, err error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(text), ScanPrefix)
	if !ok {
		return r, false, nil
	}
	if err := json.Unmarshal([]byte(rest), &r); err != nil {
		return r, true, fmt.Errorf("peer: scan request: %w", err)
	}
	if r.Limit < 1 || r.Limit > MaxLimit {
		return r, true, fmt.Errorf("peer: scan request: limit %d is outside 1 to %d", r.Limit, MaxLimit)
	}
	if r.Partition < 0 || r.WaitMs < 0 {
		return r, true, errors.New("peer: scan request: negative partition or wait")
	}
	return r, true, nil
}

// Options configure a Client.
type Options struct {
	// User and Password log in to other nodes: the cluster's internal
	// user, which every node's auth file must list. Default user
	// "_runnel_node"; default password "" (enough for nodes without an
	// auth file).
	User     string
	Password string
	// MaxIdlePerPeer bounds the idle connections kept per node. Default 4.
	MaxIdlePerPeer int
	// ConnectTimeout bounds opening a connection. Default 5 s.
	ConnectTimeout time.Duration
}

// DefaultUser is the internal user's default name.
const DefaultUser = "_runnel_node"

// EnsureDefaults fills in the defaults of unset options and returns o.
func (o *Options) EnsureDefaults() *Options {
	if o.User == "" {
		o.User = DefaultUser
	}
	if o.MaxIdlePerPeer <= 0 {
		o.MaxIdlePerPeer = 4
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 5 * time.Second
	}
	return o
}

// Client sends requests to other nodes. It is safe for concurrent use;
// Close closes its idle connections.
type Client struct {
	opts Options

	mu struct {
		sync.Mutex
		// idle are connections ready for reuse, by node address.
		idle   map[string][]*pgx.Conn
		closed bool
	}
}

// NewClient returns a Client.
func NewClient(opts Options) *Client {
	opts.EnsureDefaults()
	c := &Client{opts: opts}
	c.mu.idle = map[string][]*pgx.Conn{}
	return c
}

// Close closes the idle connections; connections in use are closed when
// their request ends.
func (c *Client) Close() {
	c.mu.Lock()
	idle := c.mu.idle
	c.mu.idle, c.mu.closed = nil, true
	c.mu.Unlock()
	for _, conns := range idle {
		for _, conn := range conns {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			conn.Close(ctx)
			cancel()
		}
	}
}

// Scan sends req to the node at addr and calls fn with each row of its
// answer, in key order, until fn returns false. It returns how many rows
// the node sent. An error the node answered with is a *pgconn.PgError
// (see Retryable); any other is the connection's.
func (c *Client) Scan(ctx context.Context, addr string, req ScanRequest, fn func(key, value []byte) bool) (int, error) {
	n := 0
	err := c.do(ctx, addr, func(conn *pgx.Conn) (err error) {
		n, err = scan(ctx, conn, req, fn)
		return err
	})
	return n, err
}

// do runs one request on a connection to addr, then keeps the connection
// for reuse if the node answered (even with an error: the connection is
// then in a known state), or closes it.
func (c *Client) do(ctx context.Context, addr string, request func(*pgx.Conn) error) error {
	conn, err := c.get(ctx, addr)
	if err != nil {
		return err
	}
	err = request(conn)
	var pgErr *pgconn.PgError
	if (err == nil || errors.As(err, &pgErr)) && !conn.IsClosed() {
		c.put(addr, conn)
	} else {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn.Close(closeCtx)
		cancel()
	}
	return err
}

func scan(ctx context.Context, conn *pgx.Conn, req ScanRequest, fn func(key, value []byte) bool) (int, error) {
	rows, err := conn.Query(ctx, req.Text(), pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	var k, v []byte
	for rows.Next() {
		if err := rows.Scan(&k, &v); err != nil {
			return n, fmt.Errorf("peer: scan answer: %w", err)
		}
		n++
		if !fn(k, v) {
			// The rest of the answer (at most req.Limit rows) is read
			// and dropped by Close.
			break
		}
	}
	rows.Close()
	return n, rows.Err()
}

// get returns an idle connection to addr or opens one.
func (c *Client) get(ctx context.Context, addr string) (*pgx.Conn, error) {
	c.mu.Lock()
	if c.mu.closed {
		c.mu.Unlock()
		return nil, errors.New("peer: client closed")
	}
	if conns := c.mu.idle[addr]; len(conns) > 0 {
		conn := conns[len(conns)-1]
		c.mu.idle[addr] = conns[:len(conns)-1]
		c.mu.Unlock()
		return conn, nil
	}
	c.mu.Unlock()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("peer: node address %q: %w", addr, err)
	}
	// sslmode=prefer: TLS when the node offers it, as the nodes share
	// their certificate setup; the password authenticates the node.
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%s dbname=runnel sslmode=prefer application_name=runnel-peer", host, port))
	if err != nil {
		return nil, fmt.Errorf("peer: node address %q: %w", addr, err)
	}
	cfg.User, cfg.Password = c.opts.User, c.opts.Password
	cfg.ConnectTimeout = c.opts.ConnectTimeout
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, &ConnectError{Addr: addr, Err: err}
	}
	return conn, nil
}

// ConnectError is a failure to open a connection to another node: it
// could not be reached, or refused the login (a wrong cluster password).
// Its SQLSTATE is 08001, as PostgreSQL's postgres_fdw reports a remote
// server it cannot connect to: the login that failed is the node's, not
// the client's, whose error should not read as its own 28P01.
type ConnectError struct {
	Addr string
	Err  error
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("peer: connect to node %s: %v", e.Addr, e.Err)
}

func (e *ConnectError) Unwrap() error { return e.Err }

// SQLState is 08001 (sqlclient_unable_to_establish_sqlconnection).
func (e *ConnectError) SQLState() string { return string(sqlstate.UnableToConnect) }

// put keeps conn for reuse, or closes it when enough are idle.
func (c *Client) put(addr string, conn *pgx.Conn) {
	c.mu.Lock()
	if !c.mu.closed && len(c.mu.idle[addr]) < c.opts.MaxIdlePerPeer {
		c.mu.idle[addr] = append(c.mu.idle[addr], conn)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	conn.Close(ctx)
	cancel()
}

// RetryableCode is the SQLSTATE a node answers with when it cannot serve
// a request now (it holds no caught-up copy of the partition) but another
// node, or the same one later, may: PostgreSQL's serialization_failure,
// which clients already treat as "try again".
const RetryableCode = string(sqlstate.SerializationFailure)

// Retryable reports whether err says the request may succeed elsewhere or
// later: the node answered RetryableCode, is shutting down or starting
// (57P01 to 57P03: an idle connection to a node that stopped gets 57P01),
// dropped the connection (class 08, but for 08P01: a malformed request
// fails anywhere), or could not be reached.
func Retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch code := sqlstate.Code(pgErr.Code); {
		case code == sqlstate.SerializationFailure,
			code.Class() == sqlstate.ConnectionException && code != sqlstate.ProtocolViolation,
			code == sqlstate.AdminShutdown, code == sqlstate.CrashShutdown, code == sqlstate.CannotConnectNow:
			return true
		}
		return false
	}
	return err != nil && !errors.Is(err, context.Canceled)
}

// StandbysRequest is the whole text of a standbys request: a node answers
// with the checkpoints of the standby copies of query stores it keeps, so
// that another node's SHOW QUERIES EXTENDED can show their lag. The engine
// accepts it only from the cluster's internal user.
const StandbysRequest = "RUNNEL INTERNAL STANDBYS"

// IsStandbys reports whether a statement's text is a standbys request.
func IsStandbys(text string) bool {
	return strings.TrimSpace(text) == StandbysRequest
}

// StandbyCheckpoint is one standby copy of a query task's store on the
// node that answered: the changelog partition it tails and the offset its
// checkpoint holds (HasOffset false when it has none yet).
type StandbyCheckpoint struct {
	Query     string
	Task      string
	Topic     string
	Partition int32
	Offset    int64
	HasOffset bool
}

// Standbys asks the node at addr for the checkpoints of the standby
// copies it keeps. The answer has one row per copy the node keeps, so its
// size is bounded by the tasks that exist. Errors are as Scan's.
func (c *Client) Standbys(ctx context.Context, addr string) ([]StandbyCheckpoint, error) {
	var out []StandbyCheckpoint
	err := c.do(ctx, addr, func(conn *pgx.Conn) (err error) {
		out, err = standbys(ctx, conn)
		return err
	})
	return out, err
}

func standbys(ctx context.Context, conn *pgx.Conn) ([]StandbyCheckpoint, error) {
	rows, err := conn.Query(ctx, StandbysRequest, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StandbyCheckpoint
	for rows.Next() {
		var s StandbyCheckpoint
		var off *int64
		if err := rows.Scan(&s.Query, &s.Task, &s.Topic, &s.Partition, &off); err != nil {
			return nil, fmt.Errorf("peer: standbys answer: %w", err)
		}
		if off != nil {
			s.Offset, s.HasOffset = *off, true
		}
		out = append(out, s)
	}
	rows.Close()
	return out, rows.Err()
}
