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
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/runnel/runnel/internal/sqlstate"
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
	// fatal is set once a FATAL ErrorResponse was sent: the connection
	// ends after it, and nothing but the hang-up follows.
	fatal bool
	// serveCtx is the Server's context: when it is done the server is
	// shutting down, and the connection ends with 57P01.
	serveCtx context.Context
	// recvErr is a failure to read a message outside the main loop (in
	// the middle of a COPY): the loop ends on it as on its own.
	recvErr error
	// terminated is set by a Terminate received in the middle of a COPY.
	terminated bool

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

// Timings of the end of a connection.
const (
	// lingerTime bounds how long a connection that ends on an error keeps
	// reading (and dropping) what the client still sends, after its last
	// words: see hangUp.
	lingerTime = 2 * time.Second
	// shutdownGrace bounds the writes of a connection once the server
	// shuts down: time for 57P01 to go out to a client that reads.
	shutdownGrace = time.Second
)

// serveConn serves nc until the client leaves, a protocol error, or ctx
// is done, and closes it. Every way it ends on an error sends the client
// an ErrorResponse first, unless the client is gone or the TLS handshake
// failed (there is no channel to speak on).
func (s *Server) serveConn(ctx context.Context, nc net.Conn) {
	serveCtx := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// On shutdown, wake whoever reads the socket and bound the last
	// writes: the connection then says 57P01 and ends. The socket is
	// closed when serveConn returns.
	stop := context.AfterFunc(serveCtx, func() {
		_ = nc.SetReadDeadline(time.Now())
		_ = nc.SetWriteDeadline(time.Now().Add(shutdownGrace))
	})
	defer stop()
	// When the client goes away (the reader goroutine cancels ctx), closing
	// the socket unblocks a write stuck on it.
	stopClose := context.AfterFunc(ctx, func() {
		if serveCtx.Err() == nil {
			nc.Close()
		}
	})
	defer stopClose()
	defer nc.Close()

	c := &conn{
		srv:      s,
		log:      s.opts.Logger.With("remote", nc.RemoteAddr().String()),
		rw:       nc,
		stmts:    make(map[string]*prepared),
		portals:  make(map[string]*portal),
		serveCtx: serveCtx,
	}
	// A panic outside any one message (the handshake, the session's
	// creation) ends the connection, with a FATAL error first.
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("pgwire connection panicked", "panic", r, "stack", string(debug.Stack()))
			c.lastWords(fatalError(sqlstate.Internal, fmt.Sprintf("internal error: %v", r)))
		}
	}()

	params, err := c.startup(ctx, nc)
	if err != nil {
		if !errors.Is(err, errStartupDone) {
			c.log.Debug("pgwire startup failed", "err", err)
			if resp := c.startupError(err); resp != nil {
				c.lastWords(resp)
				if serveCtx.Err() == nil {
					c.hangUp(nc)
				}
			}
		}
		return
	}
	if serveCtx.Err() != nil {
		// Shutdown began during the handshake, whose end cleared the
		// deadline that was to wake us.
		c.lastWords(shutdownError())
		return
	}
	if !s.admit() {
		c.lastWords(fatalError(sqlstate.TooManyConnections, "sorry, too many clients already"))
		c.hangUp(nc)
		return
	}
	defer s.release()
	// Authentication is part of the handshake: the same deadline bounds
	// it, so that a client cannot hold a connection slot by stalling.
	_ = nc.SetDeadline(time.Now().Add(s.opts.StartupTimeout))
	if err := c.authenticate(params["user"]); err != nil {
		c.log.Debug("pgwire authentication failed", "user", params["user"], "err", err)
		if resp := c.authError(err); resp != nil {
			c.lastWords(resp)
			if serveCtx.Err() == nil {
				c.hangUp(nc)
			}
		}
		return
	}
	_ = nc.SetDeadline(time.Time{})
	s.register(c)
	defer s.unregister(c)
	c.log = c.log.With("pid", c.pid)
	params[BackendPIDParam] = strconv.FormatUint(uint64(c.pid), 10)
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
	if c.fatal && c.writeErr == nil && serveCtx.Err() == nil {
		c.hangUp(pr)
	}
	switch {
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed), ctx.Err() != nil:
		c.log.Debug("pgwire connection closed", "err", err)
	default:
		c.log.Warn("pgwire connection closed on error", "err", err)
	}
}

func fatalError(code sqlstate.Code, msg string) *pgproto3.ErrorResponse {
	return &pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: string(code), Message: msg}
}

// shutdownError is PostgreSQL's last words to its sessions on shutdown.
func shutdownError() *pgproto3.ErrorResponse {
	return fatalError(sqlstate.AdminShutdown, "terminating connection due to administrator command")
}

// lastWords sends a FATAL error and flushes it; the connection ends
// after. A write that fails (or panics) is given up: the client is gone.
func (c *conn) lastWords(resp *pgproto3.ErrorResponse) {
	if c.be == nil || c.writeErr != nil || c.fatal {
		return
	}
	c.fatal = true
	defer func() {
		if r := recover(); r != nil {
			c.log.Debug("pgwire: could not send the last error", "panic", r)
		}
	}()
	c.be.Send(resp)
	_ = c.flush()
}

// hangUp ends a connection after its last words without losing them.
// Closing a socket that still holds unread input makes the kernel send a
// reset, and a reset can destroy the error in flight before the client
// reads it (a client still sending a message too large to accept would
// see "connection reset" instead of why). So the write side is shut down
// first (the client reads the error, then end of stream), and whatever the
// client still sends is read and dropped until it closes its end or for
// lingerTime at most. in is what reads the socket: the socket itself, or
// the reader goroutine's pipe.
func (c *conn) hangUp(in io.Reader) {
	if cw, ok := c.rw.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	nc := c.rw
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	_ = nc.SetReadDeadline(time.Now().Add(lingerTime))
	_, _ = io.Copy(io.Discard, in)
}

// authError is the FATAL error a client gets when authentication fails:
// the coded error itself, or, when the exchange broke off, what
// startupError says.
func (c *conn) authError(err error) *pgproto3.ErrorResponse {
	if code := sqlstate.Of(err); code != "" {
		resp := ErrorResponse(err)
		resp.Severity, resp.SeverityUnlocalized = "FATAL", "FATAL"
		return resp
	}
	return c.startupError(err)
}

// startupError is the error a client gets when the handshake fails, or nil
// when there is nobody to tell: the client left, or TLS failed.
func (c *conn) startupError(err error) *pgproto3.ErrorResponse {
	var ne net.Error
	switch {
	case c.serveCtx.Err() != nil:
		return shutdownError()
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed), errors.Is(err, errTLS):
		return nil
	case errors.As(err, &ne) && ne.Timeout():
		// The deadline that expired also bounds this write: give it a
		// moment of its own.
		_ = c.rw.SetWriteDeadline(time.Now().Add(shutdownGrace))
		return fatalError(sqlstate.ProtocolViolation, "timeout waiting for the startup message")
	case errors.Is(err, errUnsupportedProtocol):
		return fatalError(sqlstate.FeatureNotSupported, err.Error())
	}
	return fatalError(sqlstate.ProtocolViolation, "invalid startup packet: "+err.Error())
}

// Startup failures that need their own answer.
var (
	errTLS                 = errors.New("tls handshake failed")
	errUnsupportedProtocol = errors.New("unsupported frontend protocol")
)

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
			if strings.HasPrefix(err.Error(), "unknown startup message code") {
				return nil, fmt.Errorf("%w: %v: this server speaks protocol 3.0", errUnsupportedProtocol, err)
			}
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
				return nil, fmt.Errorf("%w: %w", errTLS, err)
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

// sendHello sends what follows authentication: the parameters clients
// read, the cancel key and ReadyForQuery.
func (c *conn) sendHello(params map[string]string) {
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

// sendError sends err as an ErrorResponse. A statement cancelled because
// the server is shutting down ends the connection with 57P01 instead, as
// in PostgreSQL.
func (c *conn) sendError(err error) {
	if c.serveCtx != nil && c.serveCtx.Err() != nil && errors.Is(err, context.Canceled) {
		c.lastWords(shutdownError())
		return
	}
	c.be.Send(ErrorResponse(err))
}

// loop reads and answers messages until Terminate, EOF or a fatal error.
// A fatal error is sent to the client (lastWords) before loop returns.
func (c *conn) loop(ctx context.Context) error {
	for {
		msg, err := c.be.Receive()
		if err != nil {
			return c.receiveFailed(ctx, err)
		}
		if c.ignoreTillSync {
			switch msg.(type) {
			case *pgproto3.Sync, *pgproto3.Terminate:
			default:
				continue
			}
		}
		done, err := c.handle(ctx, msg)
		switch {
		case err != nil:
			return err
		case done, c.terminated:
			return nil
		case c.recvErr != nil:
			return c.receiveFailed(ctx, c.recvErr)
		case c.fatal:
			return errors.New("server: connection ended with a fatal error")
		case c.writeErr != nil:
			return c.writeErr
		}
	}
}

// receiveFailed ends the connection after a failure to read a message:
// malformed input is answered with a FATAL error first.
func (c *conn) receiveFailed(ctx context.Context, err error) error {
	switch {
	case c.serveCtx.Err() != nil:
		c.lastWords(shutdownError())
	case ctx.Err() == nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF):
		// Malformed input: say why, then hang up.
		msg := "invalid message: " + err.Error()
		var big *pgproto3.ExceededMaxBodyLenErr
		if errors.As(err, &big) {
			msg = fmt.Sprintf("message too large: %d bytes, more than this server's limit of %d", big.ActualBodyLen, big.MaxExpectedBodyLen)
		}
		c.lastWords(fatalError(sqlstate.ProtocolViolation, msg))
	}
	return fmt.Errorf("receive: %w", err)
}

// readyForQuery sends ReadyForQuery with the session's transaction
// status, and flushes.
func (c *conn) readyForQuery() {
	c.be.Send(&pgproto3.ReadyForQuery{TxStatus: byte(c.sess.TxStatus())})
	_ = c.flush()
}

// handle answers one message; done is set by Terminate. A panic while
// answering fails that message only, as an error in the statement would:
// the client gets XX000 and the session goes on.
func (c *conn) handle(ctx context.Context, msg pgproto3.FrontendMessage) (done bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("pgwire connection panicked", "message", fmt.Sprintf("%T", msg), "panic", r, "stack", string(debug.Stack()))
			c.setCancel(nil)
			c.fail(fmt.Errorf("server: internal error: %v", r))
			switch msg.(type) {
			case *pgproto3.Query, *pgproto3.Sync, *pgproto3.FunctionCall:
				// The simple protocol (and Sync) answer with
				// ReadyForQuery whatever happened.
				if !c.fatal {
					c.syncSession(ctx)
					c.readyForQuery()
				}
			default:
				c.ignoreTillSync = true
			}
			done, err = false, nil
		}
	}()
	switch m := msg.(type) {
	case *pgproto3.Query:
		c.simpleQuery(ctx, m.String)
		if c.fatal || c.terminated || c.recvErr != nil {
			return false, nil
		}
		if c.sess.TxStatus() == TxIdle {
			// The implicit transaction ended with the message: so do its
			// portals.
			c.closePortals()
		}
		c.readyForQuery()
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
		// Sync ends the implicit transaction; outside a block that ends
		// its portals too. In a block they live on until COMMIT or
		// ROLLBACK (a JDBC fetch size, lib/pq's BeginTx).
		c.syncSession(ctx)
		if c.sess.TxStatus() == TxIdle {
			c.closePortals()
		}
		c.readyForQuery()
	case *pgproto3.Flush:
		_ = c.flush()
	case *pgproto3.Terminate:
		return true, nil
	case *pgproto3.FunctionCall:
		c.fail(valueError(ErrFeatureNotSupported, "function calls are not supported"))
		c.syncSession(ctx)
		c.readyForQuery()
	case *pgproto3.CopyData, *pgproto3.CopyDone, *pgproto3.CopyFail:
		// Outside COPY these are ignored, as PostgreSQL does.
	default:
		// A message a client may send only during authentication (a
		// password, a SASL or GSS response): a protocol violation, which
		// PostgreSQL answers with a FATAL error.
		c.lastWords(fatalError(sqlstate.ProtocolViolation, fmt.Sprintf("unexpected message type %T", msg)))
		return false, fmt.Errorf("%w: unexpected message %T", ErrProtocolViolation, msg)
	}
	return false, nil
}

// extended reports the error of an extended-protocol message, fails the
// session's transaction and starts discarding messages until Sync.
func (c *conn) extended(err error) {
	if err != nil {
		c.fail(err)
		c.ignoreTillSync = true
	}
}
