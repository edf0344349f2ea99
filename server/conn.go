package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// conn is one client connection. Its fields belong to the connection
// goroutine (serveConn) except mu, which CancelRequest handling on other
// goroutines takes.
type conn struct {
	srv *Server
	log *slog.Logger
	// rw is the client stream: the accepted net.Conn, or TLS over it.
	rw  net.Conn
	src switchReader
	be  *pgproto3.Backend

	pid    uint32
	secret []byte // set by register before the conn is visible to cancel

	sess    Session
	stmts   map[string]*prepared
	portals map[string]*portal
	// ignoreTillSync is set by an error in the extended protocol: every
	// message up to the next Sync is discarded.
	ignoreTillSync bool
	// writeErr is the first error writing to the client; the connection
	// is finished once it is set.
	writeErr error

	mu struct {
		sync.Mutex
		// cancel cancels the statement running now; nil between
		// statements.
		cancel context.CancelFunc
	}
}

// switchReader lets the pgproto3 Backend keep its buffered input while the
// source changes from the raw socket (handshake) to the reader goroutine's
// pipe (afterwards). Only the connection goroutine reads it.
type switchReader struct{ r io.Reader }

var _ io.Reader = (*switchReader)(nil)

func (s *switchReader) Read(p []byte) (int, error) { return s.r.Read(p) }

// errStartupDone ends a connection that only carried a CancelRequest.
var errStartupDone = errors.New("server: cancel request handled")

// serveConn serves nc until the client leaves, a protocol error, or ctx
// is done, and closes it.
func (s *Server) serveConn(ctx context.Context, nc net.Conn) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Closing the socket is what unblocks reads and writes on shutdown.
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	defer nc.Close()

	c := &conn{
		srv:     s,
		log:     s.opts.Logger.With("remote", nc.RemoteAddr().String()),
		rw:      nc,
		stmts:   make(map[string]*prepared),
		portals: make(map[string]*portal),
	}
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("pgwire connection panicked", "panic", r, "stack", string(debug.Stack()))
		}
	}()

	params, err := c.startup(ctx, nc)
	if err != nil {
		if !errors.Is(err, errStartupDone) {
			c.log.Debug("pgwire startup failed", "err", err)
		}
		return
	}
	s.register(c)
	defer s.unregister(c)
	c.log = c.log.With("pid", c.pid)
	c.sess = s.backend.NewSession(params)
	defer c.sess.Close()
	defer c.closePortals()

	// The reader goroutine keeps reading the socket so that a client that
	// goes away is noticed even while a statement streams rows and nobody
	// waits for a message: its EOF cancels ctx, hence the statement.
	pr, pw := io.Pipe()
	c.src.r = pr
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		buf := make([]byte, 16<<10)
		for {
			n, err := c.rw.Read(buf)
			if n > 0 {
				if _, werr := pw.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				pw.CloseWithError(err)
				cancel()
				return
			}
		}
	}()
	defer func() {
		nc.Close()
		pr.Close()
		<-readerDone
	}()

	c.sendHello(params)
	if err := c.flush(); err != nil {
		return
	}
	err = c.loop(ctx)
	switch {
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed), ctx.Err() != nil:
		c.log.Debug("pgwire connection closed", "err", err)
	default:
		c.log.Warn("pgwire connection closed on error", "err", err)
	}
}

// startup runs the handshake up to the StartupMessage and returns its
// parameters.
func (c *conn) startup(ctx context.Context, nc net.Conn) (map[string]string, error) {
	opts := &c.srv.opts
	_ = nc.SetDeadline(time.Now().Add(opts.StartupTimeout))
	c.src.r = nc
	c.be = pgproto3.NewBackend(&c.src, nc)
	tlsDone := false
	for {
		msg, err := c.be.ReceiveStartupMessage()
		if err != nil {
			return nil, fmt.Errorf("receive startup message: %w", err)
		}
		switch m := msg.(type) {
		case *pgproto3.SSLRequest:
			if opts.TLSConfig == nil || tlsDone {
				if _, err := nc.Write([]byte{'N'}); err != nil {
					return nil, fmt.Errorf("answer SSLRequest: %w", err)
				}
				continue
			}
			if _, err := nc.Write([]byte{'S'}); err != nil {
				return nil, fmt.Errorf("answer SSLRequest: %w", err)
			}
			tc := tls.Server(nc, opts.TLSConfig)
			if err := tc.HandshakeContext(ctx); err != nil {
				return nil, fmt.Errorf("tls handshake: %w", err)
			}
			tlsDone = true
			c.rw = tc
			c.src.r = tc
			// A fresh Backend drops anything the client sent in plain
			// text after the SSLRequest: it must not be trusted.
			c.be = pgproto3.NewBackend(&c.src, tc)
		case *pgproto3.GSSEncRequest:
			if _, err := c.rw.Write([]byte{'N'}); err != nil {
				return nil, fmt.Errorf("answer GSSENCRequest: %w", err)
			}
		case *pgproto3.CancelRequest:
			c.srv.cancel(m.ProcessID, m.SecretKey)
			return nil, errStartupDone
		case *pgproto3.StartupMessage:
			params := maps.Clone(m.Parameters)
			if params == nil {
				params = map[string]string{}
			}
			var unknown []string
			for k := range params {
				if strings.HasPrefix(k, "_pq_.") {
					unknown = append(unknown, k)
					delete(params, k)
				}
			}
			if m.ProtocolVersion != pgproto3.ProtocolVersion30 || len(unknown) > 0 {
				// Offer 3.0: clients that asked for 3.2 fall back.
				c.be.Send(&pgproto3.NegotiateProtocolVersion{NewestMinorProtocol: 0, UnrecognizedOptions: unknown})
			}
			_ = nc.SetDeadline(time.Time{})
			c.be.SetMaxBodyLen(opts.MaxMessageSize)
			return params, nil
		default:
			return nil, fmt.Errorf("unexpected startup message %T", msg)
		}
	}
}

// sendHello sends what follows a StartupMessage: authentication (none),
// the parameters clients read, the cancel key and ReadyForQuery.
func (c *conn) sendHello(params map[string]string) {
	c.be.Send(&pgproto3.AuthenticationOk{})
	status := [][2]string{
		{"server_version", c.srv.opts.ServerVersion},
		{"server_encoding", "UTF8"},
		{"client_encoding", "UTF8"},
		{"DateStyle", "ISO, MDY"},
		{"IntervalStyle", "postgres"},
		{"integer_datetimes", "on"},
		{"standard_conforming_strings", "on"},
		{"TimeZone", "UTC"},
		{"is_superuser", "off"},
		{"session_authorization", params["user"]},
		{"application_name", params["application_name"]},
	}
	for _, kv := range status {
		c.be.Send(&pgproto3.ParameterStatus{Name: kv[0], Value: kv[1]})
	}
	c.be.Send(&pgproto3.BackendKeyData{ProcessID: c.pid, SecretKey: c.secret})
	c.be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
}

// flush writes buffered messages; the first failure is kept in writeErr
// and ends the connection.
func (c *conn) flush() error {
	if c.writeErr != nil {
		return c.writeErr
	}
	if err := c.be.Flush(); err != nil {
		c.writeErr = fmt.Errorf("write to client: %w", err)
	}
	return c.writeErr
}

// setCancel records the cancel function of the statement now running
// (nil when none runs).
func (c *conn) setCancel(f context.CancelFunc) {
	c.mu.Lock()
	c.mu.cancel = f
	c.mu.Unlock()
}

// cancelStatement cancels the running statement, if any. Any goroutine.
func (c *conn) cancelStatement() {
	c.mu.Lock()
	f := c.mu.cancel
	c.mu.Unlock()
	if f != nil {
		f()
	}
}

// sendError sends err as an ErrorResponse.
func (c *conn) sendError(err error) {
	c.be.Send(ErrorResponse(err))
}

// loop reads and answers messages until Terminate, EOF or a fatal error.
func (c *conn) loop(ctx context.Context) error {
	for {
		msg, err := c.be.Receive()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
				// Malformed input: say why, then hang up.
				c.be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: "08P01", Message: "invalid message: " + err.Error()})
				_ = c.flush()
			}
			return fmt.Errorf("receive: %w", err)
		}
		if c.ignoreTillSync {
			switch msg.(type) {
			case *pgproto3.Sync, *pgproto3.Terminate:
			default:
				continue
			}
		}
		switch m := msg.(type) {
		case *pgproto3.Query:
			c.simpleQuery(ctx, m.String)
			c.be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
			_ = c.flush()
		case *pgproto3.Parse:
			c.extended(c.parse(ctx, m))
		case *pgproto3.Bind:
			c.extended(c.bind(m))
		case *pgproto3.Describe:
			c.extended(c.describe(m))
		case *pgproto3.Execute:
			c.extended(c.execute(ctx, m))
		case *pgproto3.Close:
			c.extended(c.close(m))
		case *pgproto3.Sync:
			c.ignoreTillSync = false
			// Without transactions every Sync ends an implicit one, which
			// destroys its portals, as in PostgreSQL's autocommit mode.
			c.closePortals()
			c.be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
			_ = c.flush()
		case *pgproto3.Flush:
			_ = c.flush()
		case *pgproto3.Terminate:
			return nil
		case *pgproto3.FunctionCall:
			c.sendError(valueError(ErrFeatureNotSupported, "function calls are not supported"))
			c.be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
			_ = c.flush()
		case *pgproto3.CopyData, *pgproto3.CopyDone, *pgproto3.CopyFail:
			// Outside COPY these are ignored, as PostgreSQL does.
		default:
			return fmt.Errorf("%w: unexpected message %T", ErrProtocolViolation, msg)
		}
		if c.writeErr != nil {
			return c.writeErr
		}
	}
}

// extended reports the error of an extended-protocol message and starts
// discarding messages until Sync.
func (c *conn) extended(err error) {
	if err != nil {
		c.sendError(err)
		c.ignoreTillSync = true
	}
}
