package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Server serves the PostgreSQL wire protocol for a Backend.
type Server struct {
	backend Backend
	opts    Options

	mu struct {
		sync.Mutex
		// conns are the live connections by their BackendKeyData
		// process id, for CancelRequest.
		conns map[uint32]*conn
		// addr is the listener's address while Serve runs.
		addr net.Addr
		// admitted counts the connections past their StartupMessage
		// (authenticating or in session), for MaxConnections.
		admitted int
	}
}

// admit takes a connection slot, or reports that MaxConnections are in
// use.
func (s *Server) admit() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.admitted >= s.opts.MaxConnections {
		return false
	}
	s.mu.admitted++
	return true
}

// release gives back a slot admit took.
func (s *Server) release() {
	s.mu.Lock()
	s.mu.admitted--
	s.mu.Unlock()
}

// New returns a Server for b. opts' zero fields take their defaults.
func New(b Backend, opts Options) *Server {
	s := &Server{backend: b, opts: *opts.EnsureDefaults()}
	s.mu.conns = make(map[uint32]*conn)
	return s
}

// Addr returns the address Serve listens on, or nil when it is not
// serving.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.addr
}

// Serve accepts connections on ln and serves each on its own goroutine
// until ctx is done or ln fails. Then it closes ln and every connection
// (cancelling their running statements) and returns once every connection
// goroutine has exited: nil after ctx is done, the accept error otherwise.
// Serve may be called once per listener; several listeners may be served
// at once.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	s.mu.addr = ln.Addr()
	s.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()

	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel() // before Wait: connections close when ctx ends.
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var te interface{ Temporary() bool }
			if errors.As(err, &te) && te.Temporary() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.opts.Logger.Warn("pgwire accept", "err", err, "retry_in", backoff)
				select {
				case <-time.After(backoff):
					continue
				case <-ctx.Done():
					return nil
				}
			}
			ln.Close()
			return fmt.Errorf("server: accept: %w", err)
		}
		backoff = 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveConn(ctx, nc)
		}()
	}
}

// register gives c a fresh process id and secret and records it for
// CancelRequest.
func (s *Server) register(c *conn) {
	var b [8]byte
	for {
		_, _ = rand.Read(b[:])
		pid := binary.BigEndian.Uint32(b[:4]) & 0x7FFFFFFF
		if pid == 0 {
			continue
		}
		s.mu.Lock()
		if _, taken := s.mu.conns[pid]; taken {
			s.mu.Unlock()
			continue
		}
		c.pid, c.secret = pid, append([]byte(nil), b[4:]...)
		s.mu.conns[pid] = c
		s.mu.Unlock()
		return
	}
}

func (s *Server) unregister(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.conns[c.pid] == c {
		delete(s.mu.conns, c.pid)
	}
}

// cancel handles a CancelRequest: it cancels the statement running on the
// connection with that process id if the secret matches, and does nothing
// otherwise (PostgreSQL says nothing either way).
func (s *Server) cancel(pid uint32, secret []byte) {
	s.mu.Lock()
	c := s.mu.conns[pid]
	s.mu.Unlock()
	if c == nil || subtle.ConstantTimeCompare(c.secret, secret) != 1 {
		s.opts.Logger.Debug("pgwire cancel request ignored", "pid", pid)
		return
	}
	c.cancelStatement()
}
