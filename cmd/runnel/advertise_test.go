package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestAdvertisesTheServedAddress: without --advertise a node advertises
// the address it serves, the port the system chose for --listen's :0
// included (other nodes forward pull queries to it), not the flag's text.
func TestAdvertisesTheServedAddress(t *testing.T) {
	for _, k := range allVars {
		t.Setenv(k, "")
	}
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--data-dir", t.TempDir()}, &stdout, &stderr)
	}()
	addr := awaitServing(t, &stdout, &stderr, done)
	host, port, _ := strings.Cut(addr, ":")
	cctx, ccancel := context.WithTimeout(ctx, 30*time.Second)
	defer ccancel()
	conn, err := pgx.Connect(cctx, "postgres://runnel@"+host+":"+port+"/runnel?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	var got string
	if err := conn.QueryRow(cctx, "SHOW NODES").Scan(nil, &got, nil, nil, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	conn.Close(cctx)
	if got != addr {
		t.Errorf("SHOW NODES advertises %q, want the served %q", got, addr)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
