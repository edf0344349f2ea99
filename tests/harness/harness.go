// Package harness starts a real Runnel — engine and pgwire server — inside a
// test process, on a loopback port, over a fresh data directory, so that
// tests drive it exactly as a client would.
package harness

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/jackc/pgx/v5"

	"github.com/runnel/runnel/engine"
	"github.com/runnel/runnel/log/embedded"
	"github.com/runnel/runnel/server"
)

// Server is a running in-process Runnel.
type Server struct {
	// Addr is the host:port it serves pgwire on.
	Addr string
	// DataDir is its embedded log's directory.
	DataDir string
	// Engine is the running engine.
	Engine *engine.Engine

	cancel context.CancelFunc
	done   chan error
}

// Options tune Start.
type Options struct {
	// DataDir reuses a directory (to test restarts); "" makes a new one.
	DataDir string
	// Kafka points the engine at brokers instead of the embedded log.
	Kafka []string
	// Verbose logs the engine's debug messages to the test log.
	Verbose bool
	// FS and Disk are passed to the engine: a filesystem that runs out of
	// space, and the embedded log's disk limits.
	FS   vfs.FS
	Disk embedded.DiskOptions
	// Engine and Server, when set, adjust the engine's and the pgwire
	// server's options (limits, credentials, TLS) before they start.
	Engine func(*engine.Options)
	Server func(*server.Options)
}

// Start starts a server and stops it when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := start(t, opts)
	if err != nil {
		t.Fatalf("start runnel: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

func start(t testing.TB, opts Options) (*Server, error) {
	dir := opts.DataDir
	if dir == "" {
		dir = t.TempDir()
	}
	var w io.Writer = io.Discard
	level := slog.LevelInfo
	if opts.Verbose || os.Getenv("RUNNEL_TEST_VERBOSE") != "" {
		w, level = testWriter{t}, slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	eopts := engine.Options{DataDir: dir, Kafka: opts.Kafka, Logger: logger, FS: opts.FS, Disk: opts.Disk}
	if len(opts.Kafka) > 0 {
		// A cluster's nodes reach each other at their advertised
		// addresses (pull queries are forwarded): the listener is made
		// first so that the engine advertises where it really serves.
		eopts.Advertise = ln.Addr().String()
	}
	if opts.Engine != nil {
		opts.Engine(&eopts)
	}
	eng, err := engine.Open(ctx, eopts)
	if err != nil {
		ln.Close()
		return nil, err
	}
	sctx, scancel := context.WithCancel(context.Background())
	s := &Server{Addr: ln.Addr().String(), DataDir: dir, Engine: eng, cancel: scancel, done: make(chan error, 1)}
	sopts := server.Options{Logger: logger}
	if opts.Server != nil {
		opts.Server(&sopts)
	}
	srv := server.New(eng, sopts)
	go func() { s.done <- srv.Serve(sctx, ln) }()
	return s, nil
}

// Stop stops the server and closes the engine. It is safe to call twice.
func (s *Server) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	<-s.done
	s.Engine.Close()
	s.cancel = nil
}

// DSN is a connection string for the server.
func (s *Server) DSN() string {
	host, port, _ := net.SplitHostPort(s.Addr)
	return fmt.Sprintf("postgres://runnel@%s:%s/runnel?sslmode=disable", host, port)
}

// Connect opens a pgx connection closed at the end of the test.
func (s *Server) Connect(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.DSN())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// testWriter sends log lines to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// Exec runs a statement and fails the test on error.
func Exec(t testing.TB, c *pgx.Conn, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := c.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// Rows runs a query and returns its rows in arrival order, each rendered
// as its values separated by single spaces.
func Rows(t testing.TB, c *pgx.Conn, sql string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rows, err := c.Query(ctx, sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatalf("%s: values: %v", sql, err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = fmt.Sprint(v)
		}
		out = append(out, strings.Join(parts, " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}
