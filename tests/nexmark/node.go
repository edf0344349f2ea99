package nexmark

import (
	"context"
	"fmt"
	"net"

	"github.com/jackc/pgx/v5"

	"github.com/runnel/runnel/engine"
	"github.com/runnel/runnel/server"
)

// Node is a Runnel running inside this process: an engine, and its pgwire
// server on a loopback port so that statements go through the front door
// as a client's would. The generator uses one to declare its streams; the
// benchmark, to run the queries.
type Node struct {
	// Engine is the running engine; its Log is where events are written.
	Engine *engine.Engine
	// Addr is the host:port of the pgwire server.
	Addr string

	cancel context.CancelFunc
	done   chan error
}

// StartNode opens an engine with opts (a data directory, or Kafka brokers)
// and serves pgwire for it on 127.0.0.1. Close stops both.
func StartNode(ctx context.Context, opts engine.Options) (*Node, error) {
	eng, err := engine.Open(ctx, opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		eng.Close()
		return nil, fmt.Errorf("listen: %w", err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	n := &Node{Engine: eng, Addr: ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	srv := server.New(eng, server.Options{Logger: opts.Logger})
	go func() { n.done <- srv.Serve(sctx, ln) }()
	return n, nil
}

// DSN is a connection string for the node.
func (n *Node) DSN() string { return DSN(n.Addr) }

// DSN is a connection string for a Runnel at addr (host:port).
func DSN(addr string) string {
	return fmt.Sprintf("postgres://runnel@%s/runnel?sslmode=disable", addr)
}

// Connect opens a client connection to the node; the caller closes it.
func (n *Node) Connect(ctx context.Context) (*pgx.Conn, error) {
	return pgx.Connect(ctx, n.DSN())
}

// Close stops the server, then the engine (its queries and its log).
func (n *Node) Close() error {
	n.cancel()
	err := <-n.done
	if cerr := n.Engine.Close(); cerr != nil {
		return cerr
	}
	if err != nil && err != context.Canceled {
		return err
	}
	return nil
}
